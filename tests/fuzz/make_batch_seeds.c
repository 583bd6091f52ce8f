/* tests/fuzz/make_batch_seeds.c - writes the seed corpus of fuzz_batch: packed batches.
 *
 * Usage: make_batch_seeds DIR. Writes DIR/<name>.pack (sl_batch_pack) and
 * DIR/<name>.meta (sl_batch_pack_meta) for batches chosen to cover the
 * format: no columns, every type, names whose padding differs (lengths 1, 7,
 * 8, 9 and 63), arrays of one to three dimensions, BYTES with empty rows and
 * with no rows, zero-row fixed columns and the maximum number of columns.
 * The build runs it into the build tree; a few of its outputs are kept in
 * tests/fuzz/corpus/fuzz_batch so a checkout has seeds without building. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/batch.h>

static const char *out_dir;
static int failures;

static void check(sl_status s, const sl_error *err, const char *what)
{
    if (s != SL_OK) {
        fprintf(stderr, "make_batch_seeds: %s: %s\n", what, err->msg);
        exit(1);
    }
}

static void write_file(const char *name, const char *ext, const void *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", out_dir, name, ext);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len) {
        fprintf(stderr, "make_batch_seeds: cannot write %s\n", path);
        failures++;
    }
    if (f)
        fclose(f);
}

/* Writes both forms of b and frees it. */
static void emit(const char *name, sl_batch *b)
{
    sl_error err;
    size_t n = sl_batch_packed_size(b), used = 0;
    void *buf = malloc(n);
    check(sl_batch_pack(b, buf, n, &used, &err), &err, name);
    write_file(name, "pack", buf, used);
    free(buf);
    n = sl_batch_meta_size(b);
    buf = malloc(n);
    check(sl_batch_pack_meta(b, buf, n, &used, &err), &err, name);
    write_file(name, "meta", buf, used);
    free(buf);
    sl_batch_destroy(&b);
}

static sl_batch *batch(uint64_t seq, uint64_t row0, size_t nrows)
{
    sl_batch *b = NULL;
    sl_error err;
    check(sl_batch_create(&b, &err), &err, "create");
    sl_batch_set_seq(b, seq, seq % 3);
    sl_batch_set_rows(b, row0, nrows);
    return b;
}

/* Adds a fixed column filled with a byte pattern. */
static void fixed(sl_batch *b, const char *name, sl_type t, int ndims, const uint64_t *dims)
{
    sl_error err;
    void *data = NULL;
    check(sl_batch_add(b, name, t, ndims, dims, &data, &err), &err, name);
    const sl_column *c = sl_batch_col(b, sl_batch_find(b, name));
    for (size_t i = 0; i < c->nbytes; i++)
        ((unsigned char *)data)[i] = (unsigned char)(i * 37 + 11);
}

static void bytes(sl_batch *b, const char *name, const char *const *rows)
{
    sl_error err;
    int col = 0;
    check(sl_batch_add_bytes(b, name, &col, &err), &err, name);
    for (size_t i = 0; i < sl_batch_nrows(b); i++)
        check(sl_batch_append_bytes(b, col, rows[i], strlen(rows[i]), &err), &err, name);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_batch_seeds DIR\n");
        return 2;
    }
    out_dir = argv[1];
    static const char *const words[] = {"", "a", "hello", "", "sluice \xff"};
    uint64_t d1[1] = {3}, d2[2] = {2, 3}, d3[3] = {2, 1, 3};

    emit("empty", batch(7, 0, 0));

    sl_batch *b = batch(1, 100, 4);
    fixed(b, "n", SL_TYPE_U64, 0, NULL);
    emit("u64", b);

    b = batch(2, 3, 3); /* 3 rows of 4 bytes: data padded */
    fixed(b, "i", SL_TYPE_I32, 0, NULL);
    fixed(b, "seven77", SL_TYPE_F32, 0, NULL);
    fixed(b, "eight888", SL_TYPE_U32, 0, NULL);
    fixed(b, "nine99999", SL_TYPE_I64, 0, NULL);
    emit("scalars", b);

    b = batch(3, 0, 2);
    fixed(b, "vec", SL_TYPE_F64, 1, d1);
    fixed(b, "mat", SL_TYPE_F64, 2, d2);
    fixed(b, "cube", SL_TYPE_U32, 3, d3);
    emit("arrays", b);

    b = batch(4, 8, 5);
    bytes(b, "s", words);
    fixed(b, "x", SL_TYPE_I64, 0, NULL);
    emit("bytes", b);

    b = batch(5, 0, 0);
    bytes(b, "s", words);
    fixed(b, "m", SL_TYPE_F32, 2, d2);
    emit("zero_rows", b);

    b = batch(6, 1, 1);
    for (int i = 0; i < SL_BATCH_MAX_COLUMNS; i++) {
        char name[SL_COLUMN_NAME_MAX];
        if (i == 0) /* the longest name */
            snprintf(name, sizeof name, "%0*d", SL_COLUMN_NAME_MAX - 1, 0);
        else
            snprintf(name, sizeof name, "c%d", i);
        if (i % 4 == 3)
            bytes(b, name, words + 2);
        else
            fixed(b, name, (sl_type)(SL_TYPE_I32 + i % 6), 0, NULL);
    }
    emit("max_columns", b);
    return failures ? 1 : 0;
}
