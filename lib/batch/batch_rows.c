/* lib/batch/batch_rows.c - moving rows between batches, for rebatching.
 *
 * A rebatch stage builds its output by appending row ranges of the batches
 * it takes and then cutting rows off the front. Both keep a batch's promise
 * that it holds the contiguous rows [row0, row0 + nrows): appends must
 * continue where the batch ends, and dropping the front moves row0. */
#include <stdio.h>
#include <string.h>

#include "batch/batch_impl.h"

static size_t row_bytes(const sl_column *c) { return c->row_elems * sl_type_size(c->type); }

/* The same columns in the same order with the same types and shapes. */
static sl_status check_same(const sl_batch *dst, const sl_batch *src, sl_error *err)
{
    SL_CHECK(dst->ncols == src->ncols, SL_EINVAL,
             "batch %llu has %d columns, the rows before it %d: a rebatch joins batches of "
             "one shape only",
             (unsigned long long)src->seq, src->ncols, dst->ncols);
    for (int i = 0; i < src->ncols; i++) {
        const sl_column *a = &dst->slots[i].col, *b = &src->slots[i].col;
        SL_CHECK(strcmp(a->name, b->name) == 0 && a->type == b->type && a->ndims == b->ndims &&
                     memcmp(a->dims, b->dims, sizeof a->dims) == 0,
                 SL_EINVAL,
                 "batch %llu: column %d is '%s' (%s, %d dims), the rows before it have '%s' "
                 "(%s, %d dims)",
                 (unsigned long long)src->seq, i, b->name, sl_type_name(b->type), b->ndims,
                 a->name, sl_type_name(a->type), a->ndims);
    }
    return SL_OK;
}

static sl_status append_column(sl__batch_slot *d, const sl__batch_slot *s, size_t first, size_t n,
                               sl_error *err)
{
    sl_column *dc = &d->col;
    const sl_column *sc = &s->col;
    SL_CHECK(s->filled == s->rows, SL_EINVAL, "column '%s' has %zu of its %zu rows", sc->name,
             s->filled, s->rows);
    if (sc->type != SL_TYPE_BYTES) {
        size_t rb = row_bytes(sc);
        SL_TRY(sl__batch_grow_data(d, dc->nbytes + n * rb, err));
        if (n)
            memcpy((char *)dc->data + dc->nbytes, (const char *)sc->data + first * rb, n * rb);
        dc->nbytes += n * rb;
    } else {
        uint64_t lo = sc->offsets[first], hi = sc->offsets[first + n];
        SL_TRY(sl__batch_grow_offsets(d, d->rows + n + 1, err));
        SL_TRY(sl__batch_grow_data(d, dc->nbytes + (size_t)(hi - lo), err));
        if (hi > lo)
            memcpy((char *)dc->data + dc->nbytes, (const char *)sc->data + lo, (size_t)(hi - lo));
        for (size_t r = 1; r <= n; r++)
            dc->offsets[d->rows + r] = dc->nbytes + (sc->offsets[first + r] - lo);
        dc->nbytes += (size_t)(hi - lo);
    }
    d->rows += n;
    d->filled = d->rows;
    return SL_OK;
}

sl_status sl_batch_append_rows(sl_batch *dst, const sl_batch *src, size_t first, size_t n,
                               sl_error *err)
{
    SL_CHECK(first <= src->nrows && n <= src->nrows - first, SL_ERANGE,
             "rows %zu + %zu of batch %llu: it has %zu", first, n,
             (unsigned long long)src->seq, src->nrows);
    if (dst->ncols == 0) {
        dst->row0 = src->row0 + first;
        dst->nrows = 0;
        for (int i = 0; i < src->ncols; i++) {
            const sl_column *c = &src->slots[i].col;
            sl__batch_slot *s = NULL;
            SL_TRY(sl__batch_claim(dst, c->name, c->type, 0,
                                   c->type == SL_TYPE_BYTES ? 1 : 0, &s, err));
            s->col.ndims = c->ndims;
            memcpy(s->col.dims, c->dims, sizeof c->dims);
            s->col.row_elems = c->row_elems;
            s->rows = s->filled = 0;
            if (c->type == SL_TYPE_BYTES)
                s->col.offsets[0] = 0;
        }
    } else {
        SL_TRY(check_same(dst, src, err));
        SL_CHECK(dst->row0 + dst->nrows == src->row0 + first, SL_EINVAL,
                 "rows from %llu do not follow rows %llu .. %llu",
                 (unsigned long long)(src->row0 + first), (unsigned long long)dst->row0,
                 (unsigned long long)(dst->row0 + dst->nrows));
    }
    for (int i = 0; i < src->ncols; i++)
        SL_TRY(append_column(&dst->slots[i], &src->slots[i], first, n, err));
    dst->nrows += n;
    return SL_OK;
}

void sl_batch_drop_front(sl_batch *b, size_t n)
{
    if (n > b->nrows)
        n = b->nrows;
    for (int i = 0; i < b->ncols; i++) {
        sl__batch_slot *s = &b->slots[i];
        sl_column *c = &s->col;
        if (c->type != SL_TYPE_BYTES) {
            size_t cut = n * row_bytes(c);
            if (c->nbytes > cut) /* data may be NULL when there is none */
                memmove(c->data, (char *)c->data + cut, c->nbytes - cut);
            c->nbytes -= cut;
        } else {
            uint64_t cut = c->offsets[n];
            if (c->nbytes > cut)
                memmove(c->data, (char *)c->data + cut, c->nbytes - (size_t)cut);
            for (size_t r = 0; r + n <= s->rows; r++)
                c->offsets[r] = c->offsets[r + n] - cut;
            c->nbytes -= (size_t)cut;
        }
        s->rows -= n;
        s->filled = s->rows;
    }
    b->row0 += n;
    b->nrows -= n;
}
