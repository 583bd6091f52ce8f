/* lib/batch/batch.c - batches: a header plus named, typed, 64-byte aligned columns.
 *
 * Column buffers outlive their columns. sl_batch_reset and sl_batch_drop only
 * mark slots free; sl_batch_add picks the free slot whose kept buffer fits the
 * new column best, so a pooled batch that sees the same shapes again stops
 * allocating. Buffers are released only by sl_batch_destroy. cap_data counts
 * bytes and cap_offsets counts uint64_t entries.
 *
 * Every size is overflow-checked before it reaches the allocator, because
 * shapes come from job files and from the network (sl_batch_unpack). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/batch_impl.h"

size_t sl_type_size(sl_type t)
{
    switch (t) {
    case SL_TYPE_I32:
    case SL_TYPE_U32:
    case SL_TYPE_F32:
        return 4;
    case SL_TYPE_I64:
    case SL_TYPE_U64:
    case SL_TYPE_F64:
        return 8;
    case SL_TYPE_BYTES:
        return 1;
    }
    return 0; /* not a type: callers validate with this */
}

const char *sl_type_name(sl_type t)
{
    switch (t) {
    case SL_TYPE_I32: return "i32";
    case SL_TYPE_I64: return "i64";
    case SL_TYPE_U32: return "u32";
    case SL_TYPE_U64: return "u64";
    case SL_TYPE_F32: return "f32";
    case SL_TYPE_F64: return "f64";
    case SL_TYPE_BYTES: return "bytes";
    }
    return "invalid";
}

/* At least one line, so a zero-row column still has a valid, aligned pointer
 * and callers may memcpy 0 bytes from it. */
static void *alloc_aligned(size_t bytes, size_t *cap)
{
    if (bytes > SIZE_MAX - SL__BATCH_ALIGN)
        return NULL;
    size_t n = bytes < SL__BATCH_ALIGN ? SL__BATCH_ALIGN
                                       : (bytes + SL__BATCH_ALIGN - 1) / SL__BATCH_ALIGN * SL__BATCH_ALIGN;
    void *p = aligned_alloc(SL__BATCH_ALIGN, n);
    if (p)
        *cap = n;
    return p;
}

sl_status sl_batch_create(sl_batch **out, sl_error *err)
{
    SL_CHECK(out, SL_EINVAL, "batch: output pointer is NULL");
    *out = calloc(1, sizeof **out);
    SL_CHECK(*out, SL_ENOMEM, "batch: cannot allocate %zu bytes", sizeof **out);
    return SL_OK;
}

void sl_batch_destroy(sl_batch **b)
{
    if (!b || !*b)
        return;
    for (int i = 0; i < SL_BATCH_MAX_COLUMNS; i++) {
        free((*b)->slots[i].col.data);
        free((*b)->slots[i].col.offsets);
    }
    free(*b);
    *b = NULL;
}

void sl_batch_reset(sl_batch *b)
{
    for (int i = 0; i < b->ncols; i++)
        b->slots[i].col.in_use = false;
    b->ncols = 0;
    b->seq = b->row0 = b->lidx = 0;
    b->nrows = 0;
    b->nresults = 0;
}

uint64_t sl_batch_seq(const sl_batch *b) { return b->seq; }
uint64_t sl_batch_row0(const sl_batch *b) { return b->row0; }
uint64_t sl_batch_lidx(const sl_batch *b) { return b->lidx; }
size_t sl_batch_nrows(const sl_batch *b) { return b->nrows; }
int sl_batch_ncols(const sl_batch *b) { return b->ncols; }

void sl_batch_set_seq(sl_batch *b, uint64_t seq, uint64_t lidx)
{
    b->seq = seq;
    b->lidx = lidx;
}

/* Columns added before a change of nrows keep their old row count; pack and
 * append_bytes report the mismatch rather than read past their buffers. */
void sl_batch_set_rows(sl_batch *b, uint64_t row0, size_t nrows)
{
    b->row0 = row0;
    b->nrows = nrows;
}

int sl_batch_find(const sl_batch *b, const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < b->ncols; i++)
        if (strcmp(b->slots[i].col.name, name) == 0)
            return i;
    return -1;
}

const sl_column *sl_batch_col(const sl_batch *b, int i)
{
    if (i < 0 || i >= b->ncols)
        return NULL;
    return &b->slots[i].col;
}

bool sl__batch_shape_bytes(sl_type type, int ndims, const uint64_t *dims, size_t nrows,
                           size_t *row_elems, size_t *bytes)
{
    const uint64_t limit = PTRDIFF_MAX;
    const uint64_t size = sl_type_size(type);
    if (size == 0)
        return false;
    uint64_t elems = 1;
    for (int d = 0; d < ndims; d++) {
        if (dims[d] == 0 || dims[d] > limit / elems)
            return false;
        elems *= dims[d];
    }
    if (elems > limit / size)
        return false;
    uint64_t row = elems * size; /* >= 1 */
    if ((uint64_t)nrows > limit / row)
        return false;
    *row_elems = (size_t)elems;
    *bytes = (size_t)(row * nrows);
    return true;
}

/* Index of the free slot to reuse: the one that last held a column of this
 * name if its buffers fit (a re-added column gets its old storage back), else
 * the smallest kept buffer that fits a fixed column, the largest one that fits
 * a BYTES column (it will grow), else the largest buffer overall (it is then
 * regrown and the smaller ones stay for smaller columns). */
static int pick_slot(const sl_batch *b, const char *name, size_t data_bytes, size_t offsets_n)
{
    int best = -1, largest = b->ncols;
    for (int i = b->ncols; i < SL_BATCH_MAX_COLUMNS; i++) {
        const sl_column *c = &b->slots[i].col;
        if (c->cap_data > b->slots[largest].col.cap_data)
            largest = i;
        if (c->cap_data < data_bytes || c->cap_offsets < offsets_n || !c->data)
            continue;
        if (strcmp(c->name, name) == 0)
            return i;
        if (best < 0)
            best = i;
        else if (offsets_n == 0 ? c->cap_data < b->slots[best].col.cap_data
                                : c->cap_data > b->slots[best].col.cap_data)
            best = i;
    }
    return best >= 0 ? best : largest;
}

static sl_status ensure_buffers(sl_column *c, size_t data_bytes, size_t offsets_n, sl_error *err)
{
    if (!c->data || c->cap_data < data_bytes) {
        free(c->data);
        c->data = alloc_aligned(data_bytes, &c->cap_data);
        if (!c->data) {
            c->cap_data = 0;
            return SL_FAIL(SL_ENOMEM, "column '%s': cannot allocate %zu bytes of data",
                           c->name, data_bytes);
        }
    }
    if (offsets_n > 0 && (!c->offsets || c->cap_offsets < offsets_n)) {
        free(c->offsets);
        size_t cap = 0;
        c->offsets = alloc_aligned(offsets_n * sizeof(uint64_t), &cap);
        c->cap_offsets = cap / sizeof(uint64_t);
        SL_CHECK(c->offsets, SL_ENOMEM, "column '%s': cannot allocate %zu row offsets", c->name,
                 offsets_n);
    }
    return SL_OK;
}

sl_status sl__batch_claim(sl_batch *b, const char *name, sl_type type, size_t data_bytes,
                          size_t offsets_n, sl__batch_slot **out, sl_error *err)
{
    SL_CHECK(b->ncols < SL_BATCH_MAX_COLUMNS, SL_ERANGE,
             "cannot add column '%s': batch already has %d columns, the maximum", name,
             SL_BATCH_MAX_COLUMNS);
    int i = pick_slot(b, name, data_bytes, offsets_n);
    sl__batch_slot tmp = b->slots[i];
    b->slots[i] = b->slots[b->ncols];
    b->slots[b->ncols] = tmp;

    sl__batch_slot *s = &b->slots[b->ncols];
    sl_column *c = &s->col;
    snprintf(c->name, sizeof c->name, "%s", name);
    SL_TRY(ensure_buffers(c, data_bytes, offsets_n, err));
    c->type = type;
    c->ndims = 0;
    memset(c->dims, 0, sizeof c->dims);
    c->row_elems = 1;
    c->nbytes = data_bytes;
    c->in_use = true;
    s->rows = b->nrows;
    s->filled = b->nrows;
    b->ncols++;
    *out = s;
    return SL_OK;
}

sl_status sl__batch_grow_data(sl__batch_slot *s, size_t need, sl_error *err)
{
    sl_column *c = &s->col;
    if (need <= c->cap_data)
        return SL_OK;
    size_t want = c->cap_data <= SIZE_MAX / 4 && 2 * c->cap_data > need ? 2 * c->cap_data : need;
    size_t cap = 0;
    void *p = alloc_aligned(want, &cap);
    SL_CHECK(p, SL_ENOMEM, "column '%s': cannot grow data to %zu bytes", c->name, want);
    if (c->nbytes)
        memcpy(p, c->data, c->nbytes);
    free(c->data);
    c->data = p;
    c->cap_data = cap;
    return SL_OK;
}

sl_status sl__batch_grow_offsets(sl__batch_slot *s, size_t n, sl_error *err)
{
    sl_column *c = &s->col;
    if (n <= c->cap_offsets)
        return SL_OK;
    SL_CHECK(n <= SIZE_MAX / (2 * sizeof(uint64_t)), SL_ERANGE,
             "column '%s': %zu row offsets are too many", c->name, n);
    size_t want = 2 * c->cap_offsets > n ? 2 * c->cap_offsets : n, cap = 0;
    uint64_t *o = alloc_aligned(want * sizeof *o, &cap);
    SL_CHECK(o, SL_ENOMEM, "column '%s': cannot grow to %zu row offsets", c->name, want);
    if (c->offsets)
        memcpy(o, c->offsets, (s->rows + 1) * sizeof *o);
    free(c->offsets);
    c->offsets = o;
    c->cap_offsets = cap / sizeof *o;
    return SL_OK;
}

static sl_status check_new_name(const sl_batch *b, const char *name, sl_error *err)
{
    SL_CHECK(name && *name, SL_EINVAL, "column name is empty");
    size_t n = strnlen(name, SL_COLUMN_NAME_MAX);
    SL_CHECK(n < SL_COLUMN_NAME_MAX, SL_EINVAL,
             "column name '%.32s...' is longer than the limit of %d bytes", name,
             SL_COLUMN_NAME_MAX - 1);
    SL_CHECK(sl_batch_find(b, name) < 0, SL_EEXIST, "batch already has a column '%s'", name);
    return SL_OK;
}

static sl_status check_shape(const char *name, int ndims, const uint64_t *dims, sl_error *err)
{
    SL_CHECK(ndims >= 0 && ndims <= SL_MAX_DIMS, SL_EINVAL,
             "column '%s': ndims=%d is outside 0..%d", name, ndims, SL_MAX_DIMS);
    SL_CHECK(ndims == 0 || dims, SL_EINVAL, "column '%s': ndims=%d but dims is NULL", name,
             ndims);
    for (int d = 0; d < ndims; d++)
        SL_CHECK(dims[d] > 0, SL_EINVAL, "column '%s': dims[%d]=0, every dimension must be > 0",
                 name, d);
    return SL_OK;
}

sl_status sl_batch_add(sl_batch *b, const char *name, sl_type type, int ndims,
                       const uint64_t *dims, void **data, sl_error *err)
{
    SL_TRY(check_new_name(b, name, err));
    SL_CHECK(sl_type_size(type) != 0, SL_EINVAL, "column '%s': type %d is not an sl_type", name,
             (int)type);
    SL_CHECK(type != SL_TYPE_BYTES, SL_EINVAL,
             "column '%s': BYTES columns are added with sl_batch_add_bytes", name);
    SL_TRY(check_shape(name, ndims, dims, err));
    size_t row_elems = 0, bytes = 0;
    SL_CHECK(sl__batch_shape_bytes(type, ndims, dims, b->nrows, &row_elems, &bytes), SL_ERANGE,
             "column '%s': %zu rows of %d-dimensional %s arrays exceed the addressable size",
             name, b->nrows, ndims, sl_type_name(type));
    sl__batch_slot *s = NULL;
    SL_TRY(sl__batch_claim(b, name, type, bytes, 0, &s, err));
    s->col.ndims = ndims;
    for (int d = 0; d < ndims; d++)
        s->col.dims[d] = dims[d];
    s->col.row_elems = row_elems;
    if (data)
        *data = s->col.data;
    return SL_OK;
}

sl_status sl_batch_add_bytes(sl_batch *b, const char *name, int *col, sl_error *err)
{
    SL_TRY(check_new_name(b, name, err));
    SL_CHECK(b->nrows < SIZE_MAX / sizeof(uint64_t) - 1, SL_ERANGE,
             "column '%s': %zu rows need too many offsets", name, b->nrows);
    sl__batch_slot *s = NULL;
    SL_TRY(sl__batch_claim(b, name, SL_TYPE_BYTES, 0, b->nrows + 1, &s, err));
    s->col.offsets[0] = 0;
    s->filled = 0;
    if (col)
        *col = b->ncols - 1;
    return SL_OK;
}

sl_status sl_batch_append_bytes(sl_batch *b, int col, const void *p, size_t len, sl_error *err)
{
    SL_CHECK(col >= 0 && col < b->ncols, SL_EINVAL, "batch has no column index %d (it has %d)",
             col, b->ncols);
    sl__batch_slot *s = &b->slots[col];
    sl_column *c = &s->col;
    SL_CHECK(c->type == SL_TYPE_BYTES, SL_EINVAL, "column '%s' is %s, expected bytes", c->name,
             sl_type_name(c->type));
    SL_CHECK(s->rows == b->nrows, SL_EINVAL,
             "column '%s' was added for %zu rows but the batch now has %zu", c->name, s->rows,
             b->nrows);
    SL_CHECK(s->filled < s->rows, SL_ERANGE,
             "column '%s': cannot append row %zu, the batch has %zu rows", c->name, s->filled,
             s->rows);
    SL_CHECK(p || len == 0, SL_EINVAL, "column '%s': row %zu is NULL with length %zu", c->name,
             s->filled, len);
    SL_CHECK(len <= PTRDIFF_MAX - c->nbytes, SL_ERANGE,
             "column '%s': appending %zu bytes to %zu overflows", c->name, len, c->nbytes);
    SL_TRY(sl__batch_grow_data(s, c->nbytes + len, err));
    if (len > 0)
        memcpy((char *)c->data + c->nbytes, p, len);
    c->nbytes += len;
    c->offsets[s->filled + 1] = c->nbytes;
    s->filled++;
    return SL_OK;
}

sl_status sl_batch_get(const sl_batch *b, const char *name, sl_type type, const void **data,
                       sl_error *err)
{
    int i = sl_batch_find(b, name);
    SL_CHECK(i >= 0, SL_ENOTFOUND, "batch has no column '%s'", name ? name : "(null)");
    const sl_column *c = &b->slots[i].col;
    SL_CHECK(c->type == type, SL_EINVAL, "column '%s' is %s, expected %s", name,
             sl_type_name(c->type), sl_type_name(type));
    if (data)
        *data = c->data;
    return SL_OK;
}

void sl_batch_drop(sl_batch *b, const char *name)
{
    int i = sl_batch_find(b, name);
    if (i < 0)
        return;
    sl__batch_slot gone = b->slots[i];
    gone.col.in_use = false;
    /* Shift the later columns down to keep insertion order; park the freed
     * slot (and its buffers) just past the live ones. */
    memmove(&b->slots[i], &b->slots[i + 1], (size_t)(b->ncols - i - 1) * sizeof b->slots[0]);
    b->slots[b->ncols - 1] = gone;
    b->ncols--;
}

sl_status sl_batch_copy(sl_batch *dst, const sl_batch *src, sl_error *err)
{
    SL_CHECK(dst != src, SL_EINVAL, "a batch cannot be copied onto itself");
    sl_batch_reset(dst);
    dst->seq = src->seq;
    dst->lidx = src->lidx;
    sl_batch_set_rows(dst, src->row0, src->nrows);
    dst->nresults = src->nresults;
    memcpy(dst->results, src->results, (size_t)src->nresults * sizeof *src->results);
    for (int i = 0; i < src->ncols; i++) {
        const sl__batch_slot *from = &src->slots[i];
        const sl_column *c = &from->col;
        sl__batch_slot *s = NULL;
        /* Claimed for the source's own sizes (its row count at add time), so
         * the copy is exact even for a column the source had not filled. */
        bool bytes = c->type == SL_TYPE_BYTES;
        sl_status st =
            sl__batch_claim(dst, c->name, c->type, c->nbytes, bytes ? from->rows + 1 : 0, &s, err);
        if (st != SL_OK) {
            sl_batch_reset(dst);
            return st;
        }
        s->col.ndims = c->ndims;
        memcpy(s->col.dims, c->dims, sizeof c->dims);
        s->col.row_elems = c->row_elems;
        s->rows = from->rows;
        s->filled = from->filled;
        if (c->nbytes)
            memcpy(s->col.data, c->data, c->nbytes);
        if (bytes)
            memcpy(s->col.offsets, c->offsets, (from->rows + 1) * sizeof *c->offsets);
    }
    return SL_OK;
}

static sl_status result_add(sl_batch *b, const char *key, sl_type type, uint64_t u, double f,
                            sl_error *err)
{
    SL_CHECK(key && *key && strlen(key) < SL_BATCH_RESULT_KEY_MAX, SL_EINVAL,
             "result name '%.40s' is empty or longer than %d bytes", key ? key : "",
             SL_BATCH_RESULT_KEY_MAX - 1);
    for (int i = 0; i < b->nresults; i++) {
        sl__batch_result *r = &b->results[i];
        if (strcmp(r->key, key) != 0)
            continue;
        SL_CHECK(r->type == type, SL_EINVAL, "result '%s' was added as %s and now as %s", key,
                 sl_type_name(r->type), sl_type_name(type));
        r->u += u;
        r->f += f;
        return SL_OK;
    }
    SL_CHECK(b->nresults < SL_BATCH_MAX_RESULTS, SL_ERANGE,
             "batch %llu: result '%s' is one more than the %d a batch may carry",
             (unsigned long long)b->seq, key, SL_BATCH_MAX_RESULTS);
    sl__batch_result *r = &b->results[b->nresults++];
    snprintf(r->key, sizeof r->key, "%s", key);
    r->type = type;
    r->u = u;
    r->f = f;
    return SL_OK;
}

sl_status sl_batch_result_add_u64(sl_batch *b, const char *key, uint64_t v, sl_error *err)
{
    return result_add(b, key, SL_TYPE_U64, v, 0, err);
}

sl_status sl_batch_result_add_f64(sl_batch *b, const char *key, double v, sl_error *err)
{
    return result_add(b, key, SL_TYPE_F64, 0, v, err);
}

size_t sl_batch_result_count(const sl_batch *b) { return (size_t)b->nresults; }

void sl_batch_result_get(const sl_batch *b, size_t i, const char **key, sl_type *type,
                         uint64_t *u, double *f)
{
    const sl__batch_result *r = &b->results[i];
    if (key)
        *key = r->key;
    if (type)
        *type = r->type;
    if (u)
        *u = r->u;
    if (f)
        *f = r->f;
}

sl_status sl_batch_results_move(sl_batch *dst, sl_batch *src, sl_error *err)
{
    for (int i = 0; i < src->nresults; i++) {
        const sl__batch_result *r = &src->results[i];
        SL_TRY(result_add(dst, r->key, r->type, r->u, r->f, err));
    }
    src->nresults = 0;
    return SL_OK;
}
