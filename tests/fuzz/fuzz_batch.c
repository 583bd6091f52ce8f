/* tests/fuzz/fuzz_batch.c - libFuzzer harness for batch messages (sluice/batch.h).
 *
 * The input is a message as another rank would send it. Two readers get it:
 *  1. sl_batch_unpack, into a fresh batch and into one that already holds
 *     columns of other shapes (pooled batches keep their buffers). When it
 *     accepts the message, the format is canonical: packing the batch again
 *     gives back exactly the input. The meta form of that batch then travels
 *     as an MPI channel moves it (pack_meta, unpack_meta, data copied into
 *     the columns, check_offsets) and must arrive as the same batch; a broken
 *     offset must be refused.
 *  2. sl_batch_unpack_meta, directly: when it accepts, pack_meta gives back
 *     the input, and valid offsets written into the columns pass the check.
 * A failure must leave the batch empty and keep the error promises
 * (fuzz_util.h). Sizes a meta message asks for are bounded by
 * SL_BATCH_MAX_BYTES (1 TiB); sizes below it are legal, so the harness
 * makes ASan refuse allocations over 1 GiB (__asan_default_options below):
 * the library must then fail cleanly with SL_ENOMEM, as when memory runs
 * out. Allowed through, a 20 GiB column costs nothing until it is freed,
 * when ASan writes 2.5 GiB of shadow and trips libFuzzer's RSS limit. Since
 * the fuzzer then cannot tell a refused size from a declined allocation,
 * LLVMFuzzerInitialize checks the bound itself, once per process. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/batch.h>

#include "fuzz_util.h"

/* Allocations over 1 GiB return NULL instead of aborting the run. Refused
 * inside ASan's allocator, they never reach libFuzzer's -malloc_limit_mb. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1:max_allocation_size_mb=1024";
}

static sl_batch *new_batch(void)
{
    sl_batch *b = NULL;
    sl_error err;
    FUZZ_ASSERT(sl_batch_create(&b, &err) == SL_OK, "sl_batch_create: %s", err.msg);
    return b;
}

static void check_empty(const sl_batch *b, const char *after)
{
    FUZZ_ASSERT(sl_batch_ncols(b) == 0 && sl_batch_nrows(b) == 0 && sl_batch_seq(b) == 0 &&
                    sl_batch_row0(b) == 0 && sl_batch_lidx(b) == 0,
                "a failed %s left the batch non-empty", after);
}

/* A batch whose kept buffers have other shapes and sizes than most inputs. */
static sl_batch *dirty_batch(void)
{
    sl_batch *b = new_batch();
    sl_error err;
    void *data = NULL;
    int col = 0;
    uint64_t dims[2] = {2, 3};
    sl_batch_set_rows(b, 5, 3);
    FUZZ_ASSERT(sl_batch_add(b, "a", SL_TYPE_U64, 0, NULL, &data, &err) == SL_OK, "%s", err.msg);
    memset(data, 0xab, 3 * 8);
    FUZZ_ASSERT(sl_batch_add(b, "m", SL_TYPE_F64, 2, dims, &data, &err) == SL_OK, "%s", err.msg);
    memset(data, 0, 3 * 6 * 8);
    FUZZ_ASSERT(sl_batch_add_bytes(b, "s", &col, &err) == SL_OK, "%s", err.msg);
    for (int i = 0; i < 3; i++)
        FUZZ_ASSERT(sl_batch_append_bytes(b, col, "hello", (size_t)i * 2, &err) == SL_OK, "%s",
                    err.msg);
    return b;
}

static unsigned char *packed(const sl_batch *b, bool meta, size_t *len)
{
    size_t n = meta ? sl_batch_meta_size(b) : sl_batch_packed_size(b), used = 0;
    unsigned char *buf = malloc(n ? n : 1);
    FUZZ_ASSERT(buf, "out of memory");
    sl_error err;
    sl_status s = meta ? sl_batch_pack_meta(b, buf, n, &used, &err)
                       : sl_batch_pack(b, buf, n, &used, &err);
    FUZZ_ASSERT(s == SL_OK && used == n, "%s of a batch that was read fails (%zu of %zu bytes): %s",
                meta ? "pack_meta" : "pack", used, n, err.msg);
    *len = n;
    return buf;
}

/* pack(b) reproduces the message exactly. */
static void same_bytes(const sl_batch *b, bool meta, const uint8_t *data, size_t size,
                       const char *what)
{
    size_t n = 0;
    unsigned char *buf = packed(b, meta, &n);
    FUZZ_ASSERT(n == size && memcmp(buf, data, size) == 0,
                "%s: packing again gives %zu bytes for %zu (not canonical)", what, n, size);
    free(buf);
}

static void same_shape(const sl_batch *a, const sl_batch *b)
{
    FUZZ_ASSERT(sl_batch_seq(a) == sl_batch_seq(b) && sl_batch_row0(a) == sl_batch_row0(b) &&
                    sl_batch_lidx(a) == sl_batch_lidx(b) && sl_batch_nrows(a) == sl_batch_nrows(b) &&
                    sl_batch_ncols(a) == sl_batch_ncols(b),
                "meta round trip changed the header");
    for (int i = 0; i < sl_batch_ncols(a); i++) {
        const sl_column *x = sl_batch_col(a, i), *y = sl_batch_col(b, i);
        FUZZ_ASSERT(strcmp(x->name, y->name) == 0 && x->type == y->type && x->ndims == y->ndims &&
                        memcmp(x->dims, y->dims, sizeof x->dims) == 0 &&
                        x->row_elems == y->row_elems && x->nbytes == y->nbytes,
                    "meta round trip changed column %d ('%s')", i, x->name);
        FUZZ_ASSERT(sl_batch_find(b, x->name) == i, "column '%s' not found", x->name);
    }
}

/* What a channel does: the data go straight into the columns unpack_meta made. */
static void fill_from(sl_batch *dst, const sl_batch *src)
{
    size_t nrows = sl_batch_nrows(src);
    for (int i = 0; i < sl_batch_ncols(src); i++) {
        const sl_column *s = sl_batch_col(src, i), *d = sl_batch_col(dst, i);
        if (s->nbytes)
            memcpy(d->data, s->data, s->nbytes);
        if (s->type == SL_TYPE_BYTES)
            memcpy(d->offsets, s->offsets, (nrows + 1) * sizeof(uint64_t));
    }
}

/* A broken first offset (it must be 0) is refused; then it is put back. */
static void offsets_refused(sl_batch *b)
{
    for (int i = 0; i < sl_batch_ncols(b); i++) {
        const sl_column *c = sl_batch_col(b, i);
        if (c->type != SL_TYPE_BYTES)
            continue;
        sl_error err;
        sl_error_clear(&err);
        uint64_t keep = c->offsets[0];
        c->offsets[0] = 1;
        sl_status s = sl_batch_check_offsets(b, &err);
        FUZZ_ASSERT(s != SL_OK, "offsets[0] = 1 of column '%s' passed", c->name);
        fuzz_check_error(s, &err, "sl_batch_check_offsets");
        c->offsets[0] = keep;
    }
}

static void meta_trip(const sl_batch *b, const uint8_t *data, size_t size)
{
    size_t mlen = 0;
    unsigned char *meta = packed(b, true, &mlen);
    sl_batch *c = new_batch();
    sl_error err;
    sl_error_clear(&err);
    FUZZ_ASSERT(sl_batch_unpack_meta(c, meta, mlen, &err) == SL_OK,
                "the meta of a batch that was read is refused: %s", err.msg);
    same_shape(b, c);
    same_bytes(c, true, meta, mlen, "pack_meta after unpack_meta");
    fill_from(c, b);
    FUZZ_ASSERT(sl_batch_check_offsets(c, &err) == SL_OK, "offsets refused: %s", err.msg);
    same_bytes(c, false, data, size, "pack after the meta round trip");
    offsets_refused(c);
    /* Each form is refused by the other reader (the magics differ). */
    sl_status s = sl_batch_unpack(c, meta, mlen, &err);
    FUZZ_ASSERT(s != SL_OK, "unpack accepted a meta message");
    fuzz_check_error(s, &err, "sl_batch_unpack");
    check_empty(c, "sl_batch_unpack");
    free(meta);
    sl_batch_destroy(&c);
}

static void unpack(const uint8_t *data, size_t size)
{
    sl_batch *b = new_batch(), *d = dirty_batch();
    sl_error err;
    sl_error_clear(&err);
    sl_status s = sl_batch_unpack(b, data, size, &err);
    fuzz_check_error(s, &err, "sl_batch_unpack");
    sl_error_clear(&err);
    sl_status sd = sl_batch_unpack(d, data, size, &err);
    fuzz_check_error(sd, &err, "sl_batch_unpack (reused batch)");
    FUZZ_ASSERT(s == sd, "a fresh batch says %s, a reused one %s", sl_status_name(s),
                sl_status_name(sd));
    if (s != SL_OK) {
        check_empty(b, "sl_batch_unpack");
        check_empty(d, "sl_batch_unpack");
    } else {
        same_bytes(b, false, data, size, "pack after unpack");
        same_bytes(d, false, data, size, "pack after unpack into a reused batch");
        FUZZ_ASSERT(sl_batch_check_offsets(b, &err) == SL_OK, "offsets refused: %s", err.msg);
        meta_trip(b, data, size);
        /* Again into the same batch: its own buffers are reused. */
        FUZZ_ASSERT(sl_batch_unpack(b, data, size, &err) == SL_OK, "second unpack: %s", err.msg);
        same_bytes(b, false, data, size, "pack after a second unpack");
    }
    sl_batch_destroy(&b);
    sl_batch_destroy(&d);
    FUZZ_ASSERT(b == NULL && d == NULL, "sl_batch_destroy left the pointer set");
}

/* Writes valid offsets (evenly spread) into every BYTES column, when small. */
static void valid_offsets(sl_batch *b)
{
    size_t nrows = sl_batch_nrows(b);
    if (nrows > ((size_t)1 << 16))
        return;
    for (int i = 0; i < sl_batch_ncols(b); i++) {
        const sl_column *c = sl_batch_col(b, i);
        if (c->type != SL_TYPE_BYTES)
            continue;
        for (size_t r = 0; r <= nrows; r++)
            c->offsets[r] = nrows ? (uint64_t)(c->nbytes / nrows * r) : 0;
        c->offsets[nrows] = c->nbytes;
    }
    sl_error err;
    sl_error_clear(&err);
    FUZZ_ASSERT(sl_batch_check_offsets(b, &err) == SL_OK, "valid offsets refused: %s", err.msg);
}

static void unpack_meta(const uint8_t *data, size_t size)
{
    sl_batch *b = new_batch();
    sl_error err;
    sl_error_clear(&err);
    sl_status s = sl_batch_unpack_meta(b, data, size, &err);
    fuzz_check_error(s, &err, "sl_batch_unpack_meta");
    if (s != SL_OK) {
        check_empty(b, "sl_batch_unpack_meta");
    } else {
        same_bytes(b, true, data, size, "pack_meta after unpack_meta");
        valid_offsets(b);
    }
    sl_batch_destroy(&b);
}

/* Meta message of one BYTES column "s" over one row that asks for dlen data
 * bytes: the column's data_len is the last u64 of the message. */
static sl_status meta_asking(uint64_t dlen, sl_error *err)
{
    sl_batch *b = new_batch();
    int col = 0;
    sl_batch_set_rows(b, 0, 1);
    FUZZ_ASSERT(sl_batch_add_bytes(b, "s", &col, err) == SL_OK &&
                    sl_batch_append_bytes(b, col, "x", 1, err) == SL_OK,
                "%s", err->msg);
    size_t len = 0;
    unsigned char *meta = packed(b, true, &len);
    memcpy(meta + len - 8, &dlen, 8);
    sl_error_clear(err);
    sl_status s = sl_batch_unpack_meta(b, meta, len, err);
    free(meta);
    sl_batch_destroy(&b);
    return s;
}

/* Once per process: the SL_BATCH_MAX_BYTES bound is where batch.h says. The
 * fuzzer cannot tell a refused size from an allocation ASan declined. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    sl_error err;
    sl_status s = meta_asking((uint64_t)40 << 40, &err);
    FUZZ_ASSERT(s == SL_EINVAL && strstr(err.msg, "SL_BATCH_MAX_BYTES"),
                "40 TiB in a meta message: %s: %s", sl_status_name(s), err.msg);
    /* data plus two offsets exactly at the bound: allowed (ASan declines it). */
    s = meta_asking(SL_BATCH_MAX_BYTES - 16, &err);
    FUZZ_ASSERT(s != SL_EINVAL, "SL_BATCH_MAX_BYTES itself is refused: %s", err.msg);
    s = meta_asking(SL_BATCH_MAX_BYTES - 15, &err);
    FUZZ_ASSERT(s == SL_EINVAL, "SL_BATCH_MAX_BYTES + 1 passes: %s", err.msg);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unpack(data, size);
    unpack_meta(data, size);
    return 0;
}
