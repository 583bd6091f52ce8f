/* tests/unit/test_batch_meta.c - the batch split into a meta message and its
 * column data (sl_batch_pack_meta / sl_batch_unpack_meta), as MPI channels
 * send it: the receiver allocates from the meta, the data land in place. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/batch.h>

static sl_error err;

/* A batch with a scalar, a 2x3 f64 array per row and variable-length bytes. */
static sl_batch *sample(size_t nrows)
{
    sl_batch *b;
    cr_assert_eq(sl_batch_create(&b, &err), SL_OK);
    sl_batch_set_seq(b, 41, 3);
    sl_batch_set_rows(b, 1000, nrows);
    uint64_t *u;
    cr_assert_eq(sl_batch_add(b, "u", SL_TYPE_U64, 0, NULL, (void **)&u, &err), SL_OK);
    uint64_t dims[2] = {2, 3};
    double *m;
    cr_assert_eq(sl_batch_add(b, "m", SL_TYPE_F64, 2, dims, (void **)&m, &err), SL_OK);
    int col;
    cr_assert_eq(sl_batch_add_bytes(b, "s", &col, &err), SL_OK);
    for (size_t i = 0; i < nrows; i++) {
        u[i] = 7 * i + 1;
        for (int k = 0; k < 6; k++)
            m[6 * i + (size_t)k] = (double)i + 0.25 * k;
        char text[32];
        int n = snprintf(text, sizeof text, "row-%zu", i * i);
        cr_assert_eq(sl_batch_append_bytes(b, col, text, i % 3 ? (size_t)n : 0, &err), SL_OK);
    }
    return b;
}

/* What an MPI receive does: copy each column's data, then its offsets. */
static void fill_from(sl_batch *dst, const sl_batch *src)
{
    cr_assert_eq(sl_batch_ncols(dst), sl_batch_ncols(src));
    for (int i = 0; i < sl_batch_ncols(src); i++) {
        const sl_column *s = sl_batch_col(src, i), *d = sl_batch_col(dst, i);
        cr_assert_eq(d->nbytes, s->nbytes, "column %s", s->name);
        memcpy(d->data, s->data, s->nbytes);
        if (s->type == SL_TYPE_BYTES)
            memcpy(d->offsets, s->offsets, (sl_batch_nrows(src) + 1) * sizeof(uint64_t));
    }
}

static void *pack_meta(const sl_batch *b, size_t *len)
{
    size_t cap = sl_batch_meta_size(b);
    void *buf = malloc(cap);
    cr_assert_eq(sl_batch_pack_meta(b, buf, cap, len, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(*len, cap);
    return buf;
}

Test(batch_meta, round_trip_gives_an_identical_batch)
{
    sl_batch *b = sample(9), *c;
    cr_assert_eq(sl_batch_create(&c, &err), SL_OK);
    size_t len;
    void *meta = pack_meta(b, &len);
    cr_assert_lt(len, 400, "the meta carries no data: %zu bytes", len);
    cr_assert_eq(sl_batch_unpack_meta(c, meta, len, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_batch_seq(c), 41);
    cr_assert_eq(sl_batch_row0(c), 1000);
    cr_assert_eq(sl_batch_nrows(c), 9);
    fill_from(c, b);
    cr_assert_eq(sl_batch_check_offsets(c, &err), SL_OK, "%s", err.msg);
    /* Equal batches pack to equal bytes. */
    size_t n1 = sl_batch_packed_size(b), n2 = sl_batch_packed_size(c), u1, u2;
    cr_assert_eq(n1, n2);
    char *p1 = malloc(n1), *p2 = malloc(n2);
    cr_assert_eq(sl_batch_pack(b, p1, n1, &u1, &err), SL_OK);
    cr_assert_eq(sl_batch_pack(c, p2, n2, &u2, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(memcmp(p1, p2, n1), 0);
    free(p1);
    free(p2);
    free(meta);
    sl_batch_destroy(&b);
    sl_batch_destroy(&c);
}

Test(batch_meta, bad_offsets_after_the_data_are_refused)
{
    sl_batch *b = sample(4), *c;
    cr_assert_eq(sl_batch_create(&c, &err), SL_OK);
    size_t len;
    void *meta = pack_meta(b, &len);
    cr_assert_eq(sl_batch_unpack_meta(c, meta, len, &err), SL_OK, "%s", err.msg);
    fill_from(c, b);
    sl_column *s = (sl_column *)sl_batch_col(c, 2);
    s->offsets[2] = s->offsets[1] - 1 + (s->offsets[1] == 0 ? 2 : 0); /* out of order */
    s->offsets[1] = s->offsets[2] + 1;
    cr_assert_eq(sl_batch_check_offsets(c, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "column 's'"), "%s", err.msg);
    free(meta);
    sl_batch_destroy(&b);
    sl_batch_destroy(&c);
}

Test(batch_meta, a_meta_is_not_a_packed_batch_and_truncation_fails)
{
    sl_batch *b = sample(3), *c;
    cr_assert_eq(sl_batch_create(&c, &err), SL_OK);
    size_t len;
    void *meta = pack_meta(b, &len);
    /* The two forms never pass for each other. */
    cr_assert_eq(sl_batch_unpack(c, meta, len, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "magic"), "%s", err.msg);
    for (size_t cut = 0; cut < len; cut++) {
        cr_assert_eq(sl_batch_unpack_meta(c, meta, cut, &err), SL_EINVAL, "prefix %zu", cut);
        cr_assert_eq(sl_batch_ncols(c), 0, "a failed unpack leaves the batch empty");
    }
    free(meta);
    sl_batch_destroy(&b);
    sl_batch_destroy(&c);
}

Test(batch_meta, empty_batch)
{
    sl_batch *b, *c;
    cr_assert_eq(sl_batch_create(&b, &err), SL_OK);
    cr_assert_eq(sl_batch_create(&c, &err), SL_OK);
    sl_batch_set_seq(b, 5, 0);
    size_t len;
    void *meta = pack_meta(b, &len);
    cr_assert_eq(sl_batch_unpack_meta(c, meta, len, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_batch_seq(c), 5);
    cr_assert_eq(sl_batch_ncols(c), 0);
    free(meta);
    sl_batch_destroy(&b);
    sl_batch_destroy(&c);
}
