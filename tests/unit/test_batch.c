/* tests/unit/test_batch.c - batches, their flat form and the batch pool.
 *
 * The unpack tests treat the decoder as a parser of hostile input: every proper
 * prefix of a valid message and thousands of single-byte corruptions must give
 * SL_OK or SL_EINVAL, never a crash, and a failure must leave the batch empty.
 * Buffers handed to unpack are malloc'ed to their exact length so that
 * AddressSanitizer sees any read past the end. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/batch.h>

static sl_error err;

static sl_batch *new_batch(void)
{
    sl_error_clear(&err);
    sl_batch *b = NULL;
    cr_assert_eq(sl_batch_create(&b, &err), SL_OK, "%s", err.msg);
    return b;
}

static const sl_type fixed_types[] = {SL_TYPE_I32, SL_TYPE_I64, SL_TYPE_U32,
                                      SL_TYPE_U64, SL_TYPE_F32, SL_TYPE_F64};
#define NFIXED (sizeof fixed_types / sizeof fixed_types[0])

/* Value k of a column of type t, so every column has distinct, checkable data. */
static void put_value(sl_type t, void *data, size_t k)
{
    switch (t) {
    case SL_TYPE_I32: ((int32_t *)data)[k] = -(int32_t)k * 3; break;
    case SL_TYPE_I64: ((int64_t *)data)[k] = -(int64_t)k * 1000000007; break;
    case SL_TYPE_U32: ((uint32_t *)data)[k] = (uint32_t)k * 5 + 1; break;
    case SL_TYPE_U64: ((uint64_t *)data)[k] = (uint64_t)k << 40; break;
    case SL_TYPE_F32: ((float *)data)[k] = (float)k * 0.5f; break;
    case SL_TYPE_F64: ((double *)data)[k] = (double)k * 0.25 - 1.0; break;
    default: cr_assert_fail("not a fixed type");
    }
}

static bool has_value(sl_type t, const void *data, size_t k)
{
    switch (t) {
    case SL_TYPE_I32: return ((const int32_t *)data)[k] == -(int32_t)k * 3;
    case SL_TYPE_I64: return ((const int64_t *)data)[k] == -(int64_t)k * 1000000007;
    case SL_TYPE_U32: return ((const uint32_t *)data)[k] == (uint32_t)k * 5 + 1;
    case SL_TYPE_U64: return ((const uint64_t *)data)[k] == (uint64_t)k << 40;
    case SL_TYPE_F32: return ((const float *)data)[k] == (float)k * 0.5f;
    case SL_TYPE_F64: return ((const double *)data)[k] == (double)k * 0.25 - 1.0;
    default: return false;
    }
}

static const char *const words[] = {"ab", "", "xyz", "", "a longer row of bytes"};

/* A batch with a column of every fixed type, an n x n f64 matrix, a 3-d u32
 * array and a BYTES column with empty rows. */
static void fill_batch(sl_batch *b, size_t nrows)
{
    sl_batch_set_seq(b, 42, 7);
    sl_batch_set_rows(b, 1000, nrows);
    for (size_t i = 0; i < NFIXED; i++) {
        void *d = NULL;
        char name[16];
        snprintf(name, sizeof name, "c_%s", sl_type_name(fixed_types[i]));
        cr_assert_eq(sl_batch_add(b, name, fixed_types[i], 0, NULL, &d, &err), SL_OK, "%s",
                     err.msg);
        for (size_t k = 0; k < nrows; k++)
            put_value(fixed_types[i], d, k);
    }
    void *d = NULL;
    const uint64_t n = 4, mat[2] = {n, n}, cube[3] = {2, 3, 4};
    cr_assert_eq(sl_batch_add(b, "matrix", SL_TYPE_F64, 2, mat, &d, &err), SL_OK, "%s", err.msg);
    for (size_t k = 0; k < nrows * n * n; k++)
        put_value(SL_TYPE_F64, d, k);
    cr_assert_eq(sl_batch_add(b, "cube", SL_TYPE_U32, 3, cube, &d, &err), SL_OK, "%s", err.msg);
    for (size_t k = 0; k < nrows * 24; k++)
        put_value(SL_TYPE_U32, d, k);
    int col = -1;
    cr_assert_eq(sl_batch_add_bytes(b, "text", &col, &err), SL_OK, "%s", err.msg);
    for (size_t k = 0; k < nrows; k++) {
        const char *w = words[k % 5];
        cr_assert_eq(sl_batch_append_bytes(b, col, w, strlen(w), &err), SL_OK, "%s", err.msg);
    }
}

static sl_batch *full_batch(size_t nrows)
{
    sl_batch *b = new_batch();
    fill_batch(b, nrows);
    return b;
}

static void *pack_alloc(const sl_batch *b, size_t *len)
{
    size_t need = sl_batch_packed_size(b);
    void *buf = malloc(need);
    cr_assert_not_null(buf);
    cr_assert_eq(sl_batch_pack(b, buf, need, len, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(*len, need);
    return buf;
}

static void assert_same(const sl_batch *a, const sl_batch *b)
{
    cr_assert_eq(sl_batch_seq(a), sl_batch_seq(b));
    cr_assert_eq(sl_batch_row0(a), sl_batch_row0(b));
    cr_assert_eq(sl_batch_lidx(a), sl_batch_lidx(b));
    cr_assert_eq(sl_batch_nrows(a), sl_batch_nrows(b));
    cr_assert_eq(sl_batch_ncols(a), sl_batch_ncols(b));
    for (int i = 0; i < sl_batch_ncols(a); i++) {
        const sl_column *x = sl_batch_col(a, i), *y = sl_batch_col(b, i);
        cr_assert_str_eq(x->name, y->name);
        cr_assert_eq(x->type, y->type);
        cr_assert_eq(x->ndims, y->ndims);
        cr_assert_eq(memcmp(x->dims, y->dims, sizeof x->dims), 0, "%s dims", x->name);
        cr_assert_eq(x->row_elems, y->row_elems);
        cr_assert_eq(x->nbytes, y->nbytes, "%s", x->name);
        cr_assert_eq(memcmp(x->data, y->data, x->nbytes), 0, "%s data", x->name);
        cr_assert_eq((uintptr_t)y->data % 64, 0, "%s is 64-byte aligned", y->name);
        if (x->type == SL_TYPE_BYTES)
            cr_assert_eq(memcmp(x->offsets, y->offsets, (sl_batch_nrows(a) + 1) * 8), 0);
    }
}

static void assert_empty(const sl_batch *b)
{
    cr_assert_eq(sl_batch_ncols(b), 0);
    cr_assert_eq(sl_batch_nrows(b), 0);
    cr_assert_eq(sl_batch_seq(b), 0);
    cr_assert_eq(sl_batch_row0(b), 0);
    cr_assert_eq(sl_batch_lidx(b), 0);
}

/* ---- columns ----------------------------------------------------------- */

Test(batch, type_sizes_and_names)
{
    cr_assert_eq(sl_type_size(SL_TYPE_I32), 4);
    cr_assert_eq(sl_type_size(SL_TYPE_F32), 4);
    cr_assert_eq(sl_type_size(SL_TYPE_U64), 8);
    cr_assert_eq(sl_type_size(SL_TYPE_F64), 8);
    cr_assert_eq(sl_type_size(SL_TYPE_BYTES), 1);
    cr_assert_str_eq(sl_type_name(SL_TYPE_U64), "u64");
    cr_assert_str_eq(sl_type_name(SL_TYPE_F64), "f64");
    cr_assert_str_eq(sl_type_name(SL_TYPE_BYTES), "bytes");
    cr_assert_eq(sl_type_size((sl_type)99), 0);
}

Test(batch, add_find_get_every_type)
{
    sl_batch *b = full_batch(5);
    cr_assert_eq(sl_batch_seq(b), 42);
    cr_assert_eq(sl_batch_lidx(b), 7);
    cr_assert_eq(sl_batch_row0(b), 1000);
    cr_assert_eq(sl_batch_nrows(b), 5);
    cr_assert_eq(sl_batch_ncols(b), (int)NFIXED + 3);
    for (size_t i = 0; i < NFIXED; i++) {
        char name[16];
        snprintf(name, sizeof name, "c_%s", sl_type_name(fixed_types[i]));
        cr_assert_eq(sl_batch_find(b, name), (int)i);
        const sl_column *c = sl_batch_col(b, (int)i);
        cr_assert_str_eq(c->name, name);
        cr_assert_eq(c->type, fixed_types[i]);
        cr_assert_eq(c->ndims, 0);
        cr_assert_eq(c->row_elems, 1);
        cr_assert_eq(c->nbytes, 5 * sl_type_size(fixed_types[i]));
        cr_assert_eq((uintptr_t)c->data % 64, 0);
        const void *d = NULL;
        cr_assert_eq(sl_batch_get(b, name, fixed_types[i], &d, &err), SL_OK, "%s", err.msg);
        cr_assert_eq(d, c->data);
        for (size_t k = 0; k < 5; k++)
            cr_assert(has_value(fixed_types[i], d, k), "%s[%zu]", name, k);
    }
    cr_assert_null(sl_batch_col(b, -1));
    cr_assert_null(sl_batch_col(b, sl_batch_ncols(b)));
    cr_assert_eq(sl_batch_find(b, "nope"), -1);
    sl_batch_destroy(&b);
    cr_assert_null(b);
    sl_batch_destroy(&b);
    sl_batch_destroy(NULL);
}

Test(batch, matrix_column_is_row_major_n_by_n)
{
    sl_batch *b = full_batch(3);
    const sl_column *c = sl_batch_col(b, sl_batch_find(b, "matrix"));
    cr_assert_eq(c->ndims, 2);
    cr_assert_eq(c->dims[0], 4);
    cr_assert_eq(c->dims[1], 4);
    cr_assert_eq(c->row_elems, 16);
    cr_assert_eq(c->nbytes, 3 * 16 * sizeof(double));
    const void *d = NULL;
    cr_assert_eq(sl_batch_get(b, "matrix", SL_TYPE_F64, &d, &err), SL_OK);
    const double *m = d;
    /* Row 2, element (1, 3) is element 2*16 + 1*4 + 3 of the column. */
    cr_assert_eq(m[2 * 16 + 1 * 4 + 3], (double)(2 * 16 + 7) * 0.25 - 1.0);
    const sl_column *cube = sl_batch_col(b, sl_batch_find(b, "cube"));
    cr_assert_eq(cube->row_elems, 24);
    cr_assert_eq(cube->nbytes, 3 * 24 * 4);
    sl_batch_destroy(&b);
}

Test(batch, bytes_column_appends_rows_in_order)
{
    sl_batch *b = new_batch();
    sl_batch_set_rows(b, 0, 3);
    int col = -1;
    cr_assert_eq(sl_batch_add_bytes(b, "s", &col, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(col, 0);
    cr_assert_eq(sl_batch_append_bytes(b, col, "ab", 2, &err), SL_OK);
    cr_assert_eq(sl_batch_append_bytes(b, col, NULL, 0, &err), SL_OK);
    cr_assert_eq(sl_batch_append_bytes(b, col, "xyz", 3, &err), SL_OK);
    const sl_column *c = sl_batch_col(b, col);
    cr_assert_eq(c->type, SL_TYPE_BYTES);
    cr_assert_eq(c->nbytes, 5);
    const uint64_t offs[4] = {0, 2, 2, 5};
    cr_assert_eq(memcmp(c->offsets, offs, sizeof offs), 0);
    cr_assert_eq(memcmp(c->data, "abxyz", 5), 0);
    cr_assert_eq(sl_batch_append_bytes(b, col, "z", 1, &err), SL_ERANGE);
    cr_assert_str_eq(err.msg, "column 's': cannot append row 3, the batch has 3 rows");
    cr_assert_eq(sl_batch_append_bytes(b, 5, "z", 1, &err), SL_EINVAL);
    const void *d = NULL;
    cr_assert_eq(sl_batch_get(b, "s", SL_TYPE_BYTES, &d, &err), SL_OK);
    cr_assert_eq(d, c->data);
    /* Growth keeps the contents: 1000 rows of 100 bytes. */
    sl_batch_set_rows(b, 0, 1000);
    cr_assert_eq(sl_batch_add_bytes(b, "big", &col, &err), SL_OK);
    char row[100];
    for (int k = 0; k < 1000; k++) {
        memset(row, 'a' + k % 26, sizeof row);
        cr_assert_eq(sl_batch_append_bytes(b, col, row, sizeof row, &err), SL_OK, "%s", err.msg);
    }
    c = sl_batch_col(b, col);
    cr_assert_eq(c->offsets[1000], 100000);
    cr_assert_eq(((const char *)c->data)[999 * 100 + 50], 'a' + 999 % 26);
    cr_assert_eq((uintptr_t)c->data % 64, 0);
    sl_batch_destroy(&b);
}

Test(batch, get_names_missing_column_and_wrong_type)
{
    sl_batch *b = new_batch();
    sl_batch_set_rows(b, 0, 2);
    cr_assert_eq(sl_batch_add(b, "n", SL_TYPE_F64, 0, NULL, NULL, &err), SL_OK);
    const void *d = (const void *)0x1;
    cr_assert_eq(sl_batch_get(b, "m", SL_TYPE_U64, &d, &err), SL_ENOTFOUND);
    cr_assert_str_eq(err.msg, "batch has no column 'm'");
    cr_assert_eq(sl_batch_get(b, "n", SL_TYPE_U64, &d, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "column 'n' is f64, expected u64");
    cr_assert_eq(d, (const void *)0x1, "a failed get leaves *data alone");
    sl_batch_destroy(&b);
}

Test(batch, add_rejects_bad_names_types_and_shapes)
{
    sl_batch *b = new_batch();
    sl_batch_set_rows(b, 0, 4);
    const uint64_t zero[2] = {3, 0}, ok[1] = {2};
    cr_assert_eq(sl_batch_add(b, "x", SL_TYPE_I32, 0, NULL, NULL, &err), SL_OK);
    cr_assert_eq(sl_batch_add(b, "x", SL_TYPE_F64, 0, NULL, NULL, &err), SL_EEXIST);
    cr_assert_str_eq(err.msg, "batch already has a column 'x'");
    cr_assert_eq(sl_batch_add_bytes(b, "x", NULL, &err), SL_EEXIST);
    cr_assert_eq(sl_batch_add(b, "", SL_TYPE_I32, 0, NULL, NULL, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "column name is empty");
    cr_assert_eq(sl_batch_add(b, NULL, SL_TYPE_I32, 0, NULL, NULL, &err), SL_EINVAL);
    char name[SL_COLUMN_NAME_MAX + 1];
    memset(name, 'n', sizeof name);
    name[SL_COLUMN_NAME_MAX] = '\0'; /* 64 characters: one too many */
    cr_assert_eq(sl_batch_add(b, name, SL_TYPE_I32, 0, NULL, NULL, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "longer than the limit of 63 bytes"), "%s", err.msg);
    name[SL_COLUMN_NAME_MAX - 1] = '\0'; /* 63: fits */
    cr_assert_eq(sl_batch_add(b, name, SL_TYPE_I32, 0, NULL, NULL, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_batch_add(b, "t", (sl_type)0, 0, NULL, NULL, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "column 't': type 0 is not an sl_type");
    cr_assert_eq(sl_batch_add(b, "t", (sl_type)99, 0, NULL, NULL, &err), SL_EINVAL);
    cr_assert_eq(sl_batch_add(b, "t", SL_TYPE_BYTES, 0, NULL, NULL, &err), SL_EINVAL);
    cr_assert_eq(sl_batch_add(b, "t", SL_TYPE_F64, -1, ok, NULL, &err), SL_EINVAL);
    cr_assert_eq(sl_batch_add(b, "t", SL_TYPE_F64, SL_MAX_DIMS + 1, ok, NULL, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "column 't': ndims=4 is outside 0..3");
    cr_assert_eq(sl_batch_add(b, "t", SL_TYPE_F64, 1, NULL, NULL, &err), SL_EINVAL);
    cr_assert_eq(sl_batch_add(b, "t", SL_TYPE_F64, 2, zero, NULL, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "column 't': dims[1]=0, every dimension must be > 0");
    const uint64_t huge[2] = {UINT64_C(1) << 31, UINT64_C(1) << 31};
    cr_assert_eq(sl_batch_add(b, "t", SL_TYPE_F64, 2, huge, NULL, &err), SL_ERANGE);
    cr_assert(strstr(err.msg, "column 't': 4 rows"), "%s", err.msg);
    const uint64_t wrap[3] = {UINT64_MAX, 2, 2};
    cr_assert_eq(sl_batch_add(b, "t", SL_TYPE_U64, 3, wrap, NULL, &err), SL_ERANGE);
    cr_assert_eq(sl_batch_ncols(b), 2, "failed adds add nothing");
    for (int i = 2; i < SL_BATCH_MAX_COLUMNS; i++) {
        char nm[8];
        snprintf(nm, sizeof nm, "k%d", i);
        cr_assert_eq(sl_batch_add(b, nm, SL_TYPE_U32, 0, NULL, NULL, &err), SL_OK, "%s", err.msg);
    }
    cr_assert_eq(sl_batch_add(b, "one_more", SL_TYPE_U32, 0, NULL, NULL, &err), SL_ERANGE);
    cr_assert(strstr(err.msg, "'one_more'"), "%s", err.msg);
    sl_batch_destroy(&b);
}

Test(batch, drop_keeps_order_of_the_others)
{
    sl_batch *b = new_batch();
    sl_batch_set_rows(b, 0, 2);
    const char *names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(sl_batch_add(b, names[i], SL_TYPE_U64, 0, NULL, NULL, &err), SL_OK);
    sl_batch_drop(b, "b");
    sl_batch_drop(b, "missing"); /* no-op */
    cr_assert_eq(sl_batch_ncols(b), 3);
    cr_assert_str_eq(sl_batch_col(b, 0)->name, "a");
    cr_assert_str_eq(sl_batch_col(b, 1)->name, "c");
    cr_assert_str_eq(sl_batch_col(b, 2)->name, "d");
    cr_assert_eq(sl_batch_find(b, "b"), -1);
    cr_assert_eq(sl_batch_find(b, "d"), 2);
    cr_assert_eq(sl_batch_add(b, "b", SL_TYPE_F32, 0, NULL, NULL, &err), SL_OK);
    cr_assert_eq(sl_batch_find(b, "b"), 3, "a re-added column goes last");
    cr_assert_eq(sl_batch_col(b, 3)->type, SL_TYPE_F32);
    sl_batch_drop(b, "a");
    sl_batch_drop(b, "b");
    cr_assert_eq(sl_batch_ncols(b), 2);
    cr_assert_str_eq(sl_batch_col(b, 0)->name, "c");
    cr_assert_str_eq(sl_batch_col(b, 1)->name, "d");
    sl_batch_destroy(&b);
}

Test(batch, reset_and_drop_reuse_storage)
{
    sl_batch *b = full_batch(100);
    void *x = NULL, *y = NULL;
    cr_assert_eq(sl_batch_add(b, "x", SL_TYPE_F64, 0, NULL, &x, &err), SL_OK);
    const sl_column *t = sl_batch_col(b, sl_batch_find(b, "text"));
    void *tdata = t->data;
    uint64_t *toffs = t->offsets;
    sl_batch_reset(b);
    assert_empty(b);
    sl_batch_set_rows(b, 0, 100);
    cr_assert_eq(sl_batch_add(b, "x", SL_TYPE_F64, 0, NULL, &y, &err), SL_OK);
    cr_assert_eq(y, x, "same size after reset: same buffer");
    int col;
    cr_assert_eq(sl_batch_add_bytes(b, "text", &col, &err), SL_OK);
    cr_assert_eq(sl_batch_col(b, col)->data, tdata, "BYTES data buffer kept");
    cr_assert_eq(sl_batch_col(b, col)->offsets, toffs, "BYTES offsets kept");
    sl_batch_drop(b, "x");
    cr_assert_eq(sl_batch_add(b, "z", SL_TYPE_U64, 0, NULL, &y, &err), SL_OK);
    cr_assert_eq(y, x, "a dropped column's buffer serves a new one of the same size");
    sl_batch_destroy(&b);
}

Test(batch, steady_state_refill_allocates_nothing)
{
    sl_batch *b = full_batch(50);
    const int n = sl_batch_ncols(b);
    void *data[16];
    uint64_t *offs[16];
    for (int i = 0; i < n; i++) {
        data[i] = sl_batch_col(b, i)->data;
        offs[i] = sl_batch_col(b, i)->offsets;
    }
    for (int round = 0; round < 3; round++) {
        sl_batch_reset(b);
        fill_batch(b, 50);
        cr_assert_eq(sl_batch_ncols(b), n);
        for (int i = 0; i < n; i++) {
            cr_assert_eq(sl_batch_col(b, i)->data, data[i], "round %d column %d", round, i);
            cr_assert_eq(sl_batch_col(b, i)->offsets, offs[i]);
        }
    }
    /* Fewer rows fit in the kept buffers too, though best fit may pair them
     * differently: every buffer must be one of the old ones. */
    sl_batch_reset(b);
    fill_batch(b, 10);
    for (int i = 0; i < n; i++) {
        int found = 0;
        for (int j = 0; j < n; j++)
            found += sl_batch_col(b, i)->data == data[j];
        cr_assert_eq(found, 1, "column %d got a new buffer", i);
    }
    sl_batch_destroy(&b);
}

/* ---- pack / unpack ----------------------------------------------------- */

static void round_trip(sl_batch *b)
{
    size_t len = 0;
    void *buf = pack_alloc(b, &len);
    cr_assert_eq(len % 8, 0);
    sl_batch *c = new_batch();
    /* unpack replaces whatever c held. */
    sl_batch_set_rows(c, 5, 1);
    cr_assert_eq(sl_batch_add(c, "old", SL_TYPE_I32, 0, NULL, NULL, &err), SL_OK);
    cr_assert_eq(sl_batch_unpack(c, buf, len, &err), SL_OK, "%s", err.msg);
    assert_same(b, c);
    size_t len2 = 0;
    void *buf2 = pack_alloc(c, &len2);
    cr_assert_eq(len2, len);
    cr_assert_eq(memcmp(buf, buf2, len), 0, "packing is canonical");
    free(buf);
    free(buf2);
    sl_batch_destroy(&c);
}

Test(batch, pack_round_trip_every_type)
{
    sl_batch *b = full_batch(7);
    round_trip(b);
    size_t small = 0;
    char tiny[16];
    cr_assert_eq(sl_batch_pack(b, tiny, sizeof tiny, &small, &err), SL_ERANGE);
    cr_assert(strstr(err.msg, "buffer holds 16 bytes"), "%s", err.msg);
    sl_batch_destroy(&b);
}

Test(batch, pack_round_trip_empty_batches)
{
    sl_batch *b = new_batch();
    round_trip(b); /* no rows, no columns */
    sl_batch_set_seq(b, 3, 1);
    sl_batch_set_rows(b, 99, 0);
    round_trip(b); /* header only */
    sl_batch_destroy(&b);
    b = full_batch(0); /* every column, zero rows */
    cr_assert_eq(sl_batch_col(b, 0)->nbytes, 0);
    round_trip(b);
    sl_batch_destroy(&b);
}

Test(batch, pack_round_trip_bytes_with_empty_rows)
{
    sl_batch *b = new_batch();
    sl_batch_set_rows(b, 0, 4);
    int col;
    cr_assert_eq(sl_batch_add_bytes(b, "e", &col, &err), SL_OK);
    for (int k = 0; k < 4; k++)
        cr_assert_eq(sl_batch_append_bytes(b, col, "", 0, &err), SL_OK);
    round_trip(b);
    cr_assert_eq(sl_batch_add_bytes(b, "mixed", &col, &err), SL_OK);
    const char *rows[] = {"", "a", "", "bcdefghij"};
    for (int k = 0; k < 4; k++)
        cr_assert_eq(sl_batch_append_bytes(b, col, rows[k], strlen(rows[k]), &err), SL_OK);
    round_trip(b);
    sl_batch_destroy(&b);
}

Test(batch, pack_refuses_unfilled_bytes_column)
{
    sl_batch *b = new_batch();
    sl_batch_set_rows(b, 0, 2);
    int col;
    cr_assert_eq(sl_batch_add_bytes(b, "s", &col, &err), SL_OK);
    cr_assert_eq(sl_batch_append_bytes(b, col, "a", 1, &err), SL_OK);
    char buf[256];
    cr_assert_eq(sl_batch_pack(b, buf, sizeof buf, NULL, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "cannot pack column 's': it holds 1 of 2 rows, the batch has 2");
    sl_batch_destroy(&b);
}

Test(batch, unpack_fails_cleanly_on_every_proper_prefix)
{
    sl_batch *b = full_batch(3);
    size_t len = 0;
    void *buf = pack_alloc(b, &len);
    sl_batch *c = new_batch();
    for (size_t n = 0; n < len; n++) {
        void *part = malloc(n ? n : 1);
        memcpy(part, buf, n);
        sl_error_clear(&err);
        cr_assert_eq(sl_batch_unpack(c, part, n, &err), SL_EINVAL, "prefix of %zu/%zu", n, len);
        cr_assert(strncmp(err.msg, "batch message: ", 15) == 0, "%s", err.msg);
        assert_empty(c);
        free(part);
    }
    cr_assert_eq(sl_batch_unpack(c, buf, len, &err), SL_OK);
    sl_batch_destroy(&b);
    sl_batch_destroy(&c);
    free(buf);
}

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: deterministic, so a failure reproduces */
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

Test(batch, unpack_survives_random_single_byte_corruption)
{
    sl_batch *b = full_batch(3);
    size_t len = 0;
    unsigned char *buf = pack_alloc(b, &len);
    unsigned char *bad = malloc(len);
    sl_batch *c = new_batch();
    uint64_t seed = 12345;
    int ok = 0, rejected = 0;
    for (int i = 0; i < 10000; i++) {
        memcpy(bad, buf, len);
        size_t at = rng_next(&seed) % len;
        bad[at] ^= (unsigned char)(rng_next(&seed) % 255 + 1); /* always changes the byte */
        sl_status s = sl_batch_unpack(c, bad, len, &err);
        cr_assert(s == SL_OK || s == SL_EINVAL, "byte %zu: %s", at, sl_status_name(s));
        if (s == SL_EINVAL) {
            assert_empty(c);
            rejected++;
            continue;
        }
        /* Accepted (a data byte or a header value changed): still a valid batch. */
        ok++;
        size_t len2 = 0;
        void *again = pack_alloc(c, &len2);
        cr_assert_eq(len2, len);
        cr_assert_eq(memcmp(again, bad, len), 0);
        free(again);
    }
    cr_assert_gt(ok, 0);
    cr_assert_gt(rejected, 0);
    free(bad);
    free(buf);
    sl_batch_destroy(&b);
    sl_batch_destroy(&c);
}

/* Finds the 8-byte-aligned field holding value v at or after from. */
static size_t find_u64(const unsigned char *buf, size_t len, size_t from, uint64_t v)
{
    for (size_t at = from; at + 8 <= len; at += 8) {
        uint64_t x;
        memcpy(&x, buf + at, 8);
        if (x == v)
            return at;
    }
    cr_assert_fail("value %llu not found", (unsigned long long)v);
    return 0;
}

/* Two rows: "aa" u64 and "ab" BYTES {"xyz", "pq"}, so offsets end the message. */
static unsigned char *crafted_message(size_t *len)
{
    sl_batch *b = new_batch();
    sl_batch_set_rows(b, 0, 2);
    int col;
    void *d;
    cr_assert_eq(sl_batch_add(b, "aa", SL_TYPE_U64, 0, NULL, &d, &err), SL_OK);
    ((uint64_t *)d)[0] = 100; /* values that the searches below cannot mistake */
    ((uint64_t *)d)[1] = 200;
    cr_assert_eq(sl_batch_add_bytes(b, "ab", &col, &err), SL_OK);
    cr_assert_eq(sl_batch_append_bytes(b, col, "xyz", 3, &err), SL_OK);
    cr_assert_eq(sl_batch_append_bytes(b, col, "pq", 2, &err), SL_OK);
    unsigned char *buf = pack_alloc(b, len);
    sl_batch_destroy(&b);
    return buf;
}

Test(batch, unpack_rejects_bad_names_and_trailing_bytes)
{
    size_t len;
    unsigned char *buf = crafted_message(&len);
    unsigned char *m = malloc(len + 8);
    sl_batch *c = new_batch();
    memcpy(m, buf, len);
    memset(m + len, 0, 8);
    cr_assert_eq(sl_batch_unpack(c, m, len + 8, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "batch message: 8 bytes of trailing garbage after the last column");

    memcpy(m, buf, len);
    unsigned char *second = memmem(m + 48 + 16, len - 64, "ab", 2);
    cr_assert_not_null(second);
    second[1] = 'a';
    cr_assert_eq(sl_batch_unpack(c, m, len, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "batch message: column 1: duplicate column name 'aa'");
    second[1] = '\0';
    cr_assert_eq(sl_batch_unpack(c, m, len, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "batch message: column 1: name contains a NUL byte");
    assert_empty(c);
    cr_assert_eq(sl_batch_unpack(c, NULL, 0, &err), SL_EINVAL);
    free(m);
    free(buf);
    sl_batch_destroy(&c);
}

Test(batch, unpack_rejects_bad_offsets_and_counts)
{
    size_t len;
    unsigned char *m = crafted_message(&len);
    unsigned char *orig = malloc(len);
    memcpy(orig, m, len);
    sl_batch *c = new_batch();
    /* Offsets are the last three fields {0, 3, 5}. {0, 6, 5} points past the
     * data; {0, 3, 2} goes backwards; {1, 3, 5} does not start at 0. */
    const struct { size_t from_end; uint64_t v; const char *msg; } offs[] = {
        {16, 6, "column 'ab': offsets[1]=6 breaks"},
        {8, 2, "column 'ab': offsets[2]=2 breaks"},
        {24, 1, "column 'ab': offsets[0]=1 breaks"},
    };
    for (size_t k = 0; k < 3; k++) {
        memcpy(m, orig, len);
        memcpy(m + len - offs[k].from_end, &offs[k].v, 8);
        cr_assert_eq(sl_batch_unpack(c, m, len, &err), SL_EINVAL);
        cr_assert(strstr(err.msg, offs[k].msg), "%s", err.msg);
    }
    memcpy(m, orig, len);
    uint64_t ncols = 33;
    memcpy(m + 40, &ncols, 8);
    cr_assert_eq(sl_batch_unpack(c, m, len, &err), SL_EINVAL);
    cr_assert_str_eq(err.msg, "batch message: ncols=33 exceeds the maximum 32");
    /* A data length that wraps when padded must not pass the bounds check. */
    memcpy(m, orig, len);
    size_t at = find_u64(m, len, 48, 5); /* the BYTES column's data_len */
    uint64_t wrap = UINT64_MAX - 2;
    memcpy(m + at, &wrap, 8);
    cr_assert_eq(sl_batch_unpack(c, m, len, &err), SL_EINVAL);
    assert_empty(c);
    free(m);
    free(orig);
    sl_batch_destroy(&c);
}

/* ---- pool -------------------------------------------------------------- */

Test(batch_pool, get_put_reuses_batches_and_counts)
{
    sl_batch_pool *p = NULL;
    cr_assert_eq(sl_batch_pool_create(&p, 2, &err), SL_OK, "%s", err.msg);
    sl_batch *a, *b2, *c;
    cr_assert_eq(sl_batch_pool_get(p, &a, &err), SL_OK);
    cr_assert_eq(sl_batch_pool_alive(p), 1);
    sl_batch_set_rows(a, 0, 10);
    void *d;
    cr_assert_eq(sl_batch_add(a, "x", SL_TYPE_F64, 0, NULL, &d, &err), SL_OK);
    sl_batch_pool_put(p, a);
    cr_assert_eq(sl_batch_pool_alive(p), 0);
    cr_assert_eq(sl_batch_pool_peak(p), 1);

    cr_assert_eq(sl_batch_pool_get(p, &b2, &err), SL_OK);
    cr_assert_eq(b2, a, "the cached batch comes back");
    assert_empty(b2);
    sl_batch_set_rows(b2, 0, 10);
    void *d2;
    cr_assert_eq(sl_batch_add(b2, "x", SL_TYPE_F64, 0, NULL, &d2, &err), SL_OK);
    cr_assert_eq(d2, d, "and keeps its storage");

    cr_assert_eq(sl_batch_pool_get(p, &c, &err), SL_OK);
    cr_assert_neq(c, b2);
    sl_batch *more[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(sl_batch_pool_get(p, &more[i], &err), SL_OK);
    cr_assert_eq(sl_batch_pool_alive(p), 5);
    cr_assert_eq(sl_batch_pool_peak(p), 5);
    /* Only max_cached = 2 are kept; the other three are freed (LSan checks). */
    for (int i = 0; i < 3; i++)
        sl_batch_pool_put(p, more[i]);
    sl_batch_pool_put(p, b2);
    sl_batch_pool_put(p, c);
    cr_assert_eq(sl_batch_pool_alive(p), 0);
    cr_assert_eq(sl_batch_pool_peak(p), 5);
    sl_batch *g[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(sl_batch_pool_get(p, &g[i], &err), SL_OK);
    cr_assert(g[0] == more[0] && g[1] == more[1], "the first two put are cached, in order");
    for (int i = 0; i < 3; i++)
        sl_batch_pool_put(p, g[i]);
    sl_batch_pool_destroy(&p);
    cr_assert_null(p);
    sl_batch_pool_destroy(&p);
}

Test(batch_pool, zero_cache_frees_everything)
{
    sl_batch_pool *p = NULL;
    cr_assert_eq(sl_batch_pool_create(&p, 0, &err), SL_OK, "%s", err.msg);
    sl_batch *a;
    cr_assert_eq(sl_batch_pool_get(p, &a, &err), SL_OK);
    sl_batch_pool_put(p, a);
    cr_assert_eq(sl_batch_pool_alive(p), 0);
    cr_assert_eq(sl_batch_pool_peak(p), 1);
    sl_batch_pool_destroy(&p);
}

static void *pool_worker(void *arg)
{
    sl_batch_pool *p = arg;
    sl_error e;
    sl_error_clear(&e);
    for (int i = 0; i < 20000; i++) {
        sl_batch *x = NULL, *y = NULL;
        if (sl_batch_pool_get(p, &x, &e) != SL_OK || sl_batch_pool_get(p, &y, &e) != SL_OK)
            return (void *)1;
        if (sl_batch_ncols(x) != 0 || sl_batch_ncols(y) != 0 || x == y)
            return (void *)1;
        sl_batch_set_rows(x, 0, 4);
        if (sl_batch_add(x, "v", SL_TYPE_U64, 0, NULL, NULL, &e) != SL_OK)
            return (void *)1;
        sl_batch_pool_put(p, x);
        sl_batch_pool_put(p, y);
    }
    return NULL;
}

Test(batch_pool, threads_share_a_pool, .timeout = 60)
{
    sl_batch_pool *p = NULL;
    cr_assert_eq(sl_batch_pool_create(&p, 4, &err), SL_OK);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, pool_worker, p), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        cr_assert_null(r, "worker %d saw a bad batch", i);
    }
    cr_assert_eq(sl_batch_pool_alive(p), 0);
    cr_assert_geq(sl_batch_pool_peak(p), 2);
    cr_assert_leq(sl_batch_pool_peak(p), 8);
    sl_batch_pool_destroy(&p);
}
