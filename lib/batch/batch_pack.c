/* lib/batch/batch_pack.c - a batch as one flat buffer (an MPI message, a checkpoint record).
 *
 * Format, version 1. Native byte order (the magic detects a mismatch); every
 * field starts on an 8-byte boundary of the buffer, and padding is zero bytes.
 *
 *   u32 magic 0x54424c53 ("SLBT" on little-endian), u32 version (1)
 *   u64 seq, u64 row0, u64 lidx, u64 nrows, u64 ncols (<= SL_BATCH_MAX_COLUMNS)
 *   ncols times, in column order:
 *     u64 name_len (1 .. SL_COLUMN_NAME_MAX - 1), name bytes (no NUL), pad to 8
 *     u32 type (sl_type), u32 ndims (0 .. SL_MAX_DIMS; 0 for BYTES)
 *     u64 dims[ndims] (each > 0)
 *     u64 data_len, data bytes, pad to 8
 *       fixed types: data_len == nrows * prod(dims) * sl_type_size(type)
 *     BYTES only: u64 offsets[nrows + 1], offsets[0] == 0, non-decreasing,
 *       offsets[nrows] == data_len
 *   nothing after the last column.
 *
 * The meta form (sl_batch_pack_meta) is the same with magic 0x4d424c53
 * ("SLBM") and, for every column, the data bytes and the offsets left out
 * (data_len stays): a receiver allocates the columns from it, then receives
 * the data straight into them (MPI channels: no copy through a buffer).
 *
 * sl_batch_unpack trusts nothing: the buffer comes from other ranks and from a
 * fuzzer. Every read is bounds-checked against the remaining length before it
 * happens, every size product is overflow-checked, and a column is only
 * allocated after its whole description and data were found inside the buffer,
 * so allocations never exceed the buffer length. A meta message carries no
 * data, so there the sizes it names are bounded instead: each by PTRDIFF_MAX,
 * all columns together by SL_BATCH_MAX_BYTES. On any failure the batch is
 * left reset (valid and empty), and control characters of a column name
 * quoted in the message are escaped (any byte but NUL may be in a name). */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "batch/batch_impl.h"

#define PACK_MAGIC 0x54424c53u
#define META_MAGIC 0x4d424c53u
#define PACK_VERSION 1u
#define PACK_HEADER 48u

typedef struct reader {
    const unsigned char *p;
    size_t len, pos;
} reader;

typedef struct writer {
    unsigned char *p;
    size_t pos;
} writer;

/* One column as found in the buffer; pointers borrow the buffer. */
typedef struct col_view {
    char name[SL_COLUMN_NAME_MAX];
    sl_type type;
    int ndims;
    uint64_t dims[SL_MAX_DIMS];
    size_t row_elems;
    const unsigned char *data;
    size_t data_len;
    const unsigned char *offsets; /* BYTES only: nrows + 1 unaligned u64 */
} col_view;

static size_t pad8(size_t n) { return (8 - n % 8) % 8; }

/* a + b, saturating, so packed_size of an absurd batch fails in pack, not wraps. */
static size_t add_sat(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

static size_t column_meta_size(const sl_column *c)
{
    size_t nlen = strlen(c->name);
    /* name_len, padded name, type+ndims, dims, data_len: all small */
    return 8 + nlen + pad8(nlen) + 8 + 8 * (size_t)c->ndims + 8;
}

static size_t column_packed_size(const sl_column *c, size_t nrows)
{
    size_t n = column_meta_size(c);
    n = add_sat(n, add_sat(c->nbytes, pad8(c->nbytes)));
    if (c->type == SL_TYPE_BYTES)
        n = add_sat(n, nrows < SIZE_MAX / 8 - 1 ? 8 * (nrows + 1) : SIZE_MAX);
    return n;
}

size_t sl_batch_packed_size(const sl_batch *b)
{
    size_t n = PACK_HEADER;
    for (int i = 0; i < b->ncols; i++)
        n = add_sat(n, column_packed_size(&b->slots[i].col, b->nrows));
    return n;
}

static void wr_u64(writer *w, uint64_t v)
{
    memcpy(w->p + w->pos, &v, 8);
    w->pos += 8;
}

static void wr_padded(writer *w, const void *src, size_t n)
{
    if (n > 0)
        memcpy(w->p + w->pos, src, n);
    memset(w->p + w->pos + n, 0, pad8(n));
    w->pos += n + pad8(n);
}

static void pack_column(writer *w, const sl_column *c, size_t nrows, bool meta)
{
    size_t nlen = strlen(c->name);
    wr_u64(w, nlen);
    wr_padded(w, c->name, nlen);
    uint32_t tn[2] = {(uint32_t)c->type, (uint32_t)c->ndims};
    memcpy(w->p + w->pos, tn, 8);
    w->pos += 8;
    for (int d = 0; d < c->ndims; d++)
        wr_u64(w, c->dims[d]);
    wr_u64(w, c->nbytes);
    if (meta)
        return;
    wr_padded(w, c->data, c->nbytes);
    if (c->type == SL_TYPE_BYTES)
        wr_padded(w, c->offsets, (nrows + 1) * sizeof(uint64_t));
}

size_t sl_batch_meta_size(const sl_batch *b)
{
    size_t n = PACK_HEADER;
    for (int i = 0; i < b->ncols; i++)
        n += column_meta_size(&b->slots[i].col);
    return n;
}

static sl_status pack(const sl_batch *b, void *buf, size_t cap, size_t *used, bool meta,
                      sl_error *err)
{
    for (int i = 0; i < b->ncols; i++) {
        const sl__batch_slot *s = &b->slots[i];
        SL_CHECK(s->rows == b->nrows && s->filled == s->rows, SL_EINVAL,
                 "cannot pack column '%s': it holds %zu of %zu rows, the batch has %zu",
                 s->col.name, s->filled, s->rows, b->nrows);
    }
    size_t need = meta ? sl_batch_meta_size(b) : sl_batch_packed_size(b);
    SL_CHECK(need != SIZE_MAX && buf && cap >= need, SL_ERANGE,
             "cannot pack batch %" PRIu64 ": buffer holds %zu bytes, it needs %zu", b->seq,
             buf ? cap : 0, need);
    writer w = {buf, 0};
    uint32_t mv[2] = {meta ? META_MAGIC : PACK_MAGIC, PACK_VERSION};
    memcpy(w.p, mv, 8);
    w.pos = 8;
    wr_u64(&w, b->seq);
    wr_u64(&w, b->row0);
    wr_u64(&w, b->lidx);
    wr_u64(&w, b->nrows);
    wr_u64(&w, (uint64_t)b->ncols);
    for (int i = 0; i < b->ncols; i++)
        pack_column(&w, &b->slots[i].col, b->nrows, meta);
    if (used)
        *used = w.pos;
    return SL_OK;
}

sl_status sl_batch_pack(const sl_batch *b, void *buf, size_t cap, size_t *used, sl_error *err)
{
    return pack(b, buf, cap, used, false, err);
}

sl_status sl_batch_pack_meta(const sl_batch *b, void *buf, size_t cap, size_t *used,
                             sl_error *err)
{
    return pack(b, buf, cap, used, true, err);
}

/* n bytes plus their zero padding, or false when they are not all in the buffer. */
static bool rd_span(reader *r, size_t n, const unsigned char **out)
{
    size_t left = r->len - r->pos;
    if (n > left || pad8(n) > left - n)
        return false;
    for (size_t i = 0; i < pad8(n); i++)
        if (r->p[r->pos + n + i] != 0)
            return false;
    *out = r->p + r->pos;
    r->pos += n + pad8(n);
    return true;
}

static bool rd_u64(reader *r, uint64_t *v)
{
    const unsigned char *p;
    if (!rd_span(r, 8, &p))
        return false;
    memcpy(v, p, 8);
    return true;
}

#define BAD(...) SL_FAIL(SL_EINVAL, "batch message: " __VA_ARGS__)

static sl_status unpack_header(sl_batch *b, reader *r, uint64_t *ncols, bool meta,
                               sl_error *err)
{
    const unsigned char *p;
    if (!rd_span(r, 8, &p))
        return BAD("%zu bytes is shorter than the %u-byte header", r->len, PACK_HEADER);
    uint32_t mv[2];
    memcpy(mv, p, 8);
    uint32_t magic = meta ? META_MAGIC : PACK_MAGIC;
    if (mv[0] != magic)
        return BAD("bad magic 0x%08" PRIx32 ", expected 0x%08x", mv[0], magic);
    if (mv[1] != PACK_VERSION)
        return BAD("format version %" PRIu32 ", this build reads %u", mv[1], PACK_VERSION);
    uint64_t h[5];
    for (int i = 0; i < 5; i++)
        if (!rd_u64(r, &h[i]))
            return BAD("%zu bytes is shorter than the %u-byte header", r->len, PACK_HEADER);
    if ((size_t)h[3] != h[3])
        return BAD("nrows=%" PRIu64 " does not fit in size_t", h[3]);
    if (h[4] > SL_BATCH_MAX_COLUMNS)
        return BAD("ncols=%" PRIu64 " exceeds the maximum %d", h[4], SL_BATCH_MAX_COLUMNS);
    b->seq = h[0];
    b->row0 = h[1];
    b->lidx = h[2];
    b->nrows = (size_t)h[3];
    *ncols = h[4];
    return SL_OK;
}

static sl_status unpack_name(const sl_batch *b, reader *r, int i, col_view *v, sl_error *err)
{
    uint64_t nlen;
    const unsigned char *p;
    if (!rd_u64(r, &nlen))
        return BAD("truncated before column %d", i);
    if (nlen == 0 || nlen >= SL_COLUMN_NAME_MAX)
        return BAD("column %d: name length %" PRIu64 " is outside 1..%d", i, nlen,
                   SL_COLUMN_NAME_MAX - 1);
    if (!rd_span(r, (size_t)nlen, &p))
        return BAD("column %d: name truncated or its padding is not zero", i);
    if (memchr(p, 0, (size_t)nlen))
        return BAD("column %d: name contains a NUL byte", i);
    memcpy(v->name, p, (size_t)nlen);
    v->name[nlen] = '\0';
    if (sl_batch_find(b, v->name) >= 0)
        return BAD("column %d: duplicate column name '%s'", i, v->name);
    return SL_OK;
}

static sl_status unpack_shape(reader *r, col_view *v, sl_error *err)
{
    const unsigned char *p;
    if (!rd_span(r, 8, &p))
        return BAD("column '%s': truncated before its type", v->name);
    uint32_t tn[2];
    memcpy(tn, p, 8);
    if (tn[0] < SL_TYPE_I32 || tn[0] > SL_TYPE_BYTES)
        return BAD("column '%s': type %" PRIu32 " is not an sl_type", v->name, tn[0]);
    v->type = (sl_type)tn[0];
    uint32_t max = v->type == SL_TYPE_BYTES ? 0 : SL_MAX_DIMS;
    if (tn[1] > max)
        return BAD("column '%s': ndims=%" PRIu32 " is outside 0..%" PRIu32 " for %s", v->name,
                   tn[1], max, sl_type_name(v->type));
    v->ndims = (int)tn[1];
    for (int d = 0; d < v->ndims; d++) {
        if (!rd_u64(r, &v->dims[d]))
            return BAD("column '%s': truncated in its dims", v->name);
        if (v->dims[d] == 0)
            return BAD("column '%s': dims[%d]=0, every dimension must be > 0", v->name, d);
    }
    return SL_OK;
}

static sl_status check_offsets_raw(const char *name, const unsigned char *offsets,
                                   size_t data_len, size_t nrows, sl_error *err)
{
    uint64_t prev = 0;
    for (size_t i = 0; i <= nrows; i++) {
        uint64_t o;
        memcpy(&o, offsets + 8 * i, 8);
        if ((i == 0 && o != 0) || o < prev || o > data_len)
            return BAD("column '%s': offsets[%zu]=%" PRIu64 " breaks 0 <= ... <= %zu order",
                       name, i, o, data_len);
        prev = o;
    }
    if (prev != data_len)
        return BAD("column '%s': last offset %" PRIu64 " != data length %zu", name, prev,
                   data_len);
    return SL_OK;
}

static sl_status check_offsets(const col_view *v, size_t nrows, sl_error *err)
{
    return check_offsets_raw(v->name, v->offsets, v->data_len, nrows, err);
}

sl_status sl_batch_check_offsets(const sl_batch *b, sl_error *err)
{
    for (int i = 0; i < b->ncols; i++) {
        const sl_column *c = &b->slots[i].col;
        sl_status s = c->type == SL_TYPE_BYTES
                          ? check_offsets_raw(c->name, (const unsigned char *)c->offsets,
                                              c->nbytes, b->nrows, err)
                          : SL_OK;
        if (s != SL_OK) {
            sl_error_push(err, s, __FILE__, __LINE__, __func__);
            return s;
        }
    }
    return SL_OK;
}

static sl_status unpack_data(reader *r, size_t nrows, col_view *v, bool meta, sl_error *err)
{
    uint64_t dlen;
    if (!rd_u64(r, &dlen))
        return BAD("column '%s': truncated before its data length", v->name);
    size_t expect = 0;
    if (v->type != SL_TYPE_BYTES) {
        if (!sl__batch_shape_bytes(v->type, v->ndims, v->dims, nrows, &v->row_elems, &expect) ||
            dlen != expect)
            return BAD("column '%s': %" PRIu64 " data bytes do not match %zu rows of its shape",
                       v->name, dlen, nrows);
    } else {
        v->row_elems = 1;
    }
    if (meta) {
        /* The data come later, into storage of this size: bound it by what
         * a batch may hold at all, since no buffer bounds it here. */
        if (dlen > PTRDIFF_MAX || (v->type == SL_TYPE_BYTES && nrows >= PTRDIFF_MAX / 8))
            return BAD("column '%s': %" PRIu64 " data bytes is too large", v->name, dlen);
        /* No offsets could ever describe bytes without rows: refuse it now,
         * as unpack does, rather than after the data were received. */
        if (v->type == SL_TYPE_BYTES && nrows == 0 && dlen != 0)
            return BAD("column '%s': %" PRIu64 " data bytes in 0 rows", v->name, dlen);
        v->data_len = (size_t)dlen;
        return SL_OK;
    }
    if (dlen > r->len - r->pos || !rd_span(r, (size_t)dlen, &v->data))
        return BAD("column '%s': %" PRIu64 " data bytes run past the end of the message",
                   v->name, dlen);
    v->data_len = (size_t)dlen;
    if (v->type != SL_TYPE_BYTES)
        return SL_OK;
    if (nrows >= (r->len - r->pos) / 8 || !rd_span(r, 8 * (nrows + 1), &v->offsets))
        return BAD("column '%s': %zu row offsets run past the end of the message", v->name,
                   nrows + 1);
    return check_offsets(v, nrows, err);
}

/* A meta message's columns together may ask for SL_BATCH_MAX_BYTES of
 * storage; *total is what the columns before v asked for. unpack_data has
 * bounded data_len and nrows by PTRDIFF_MAX, so the sum cannot wrap. */
static sl_status meta_budget(const col_view *v, size_t nrows, uint64_t *total, sl_error *err)
{
    uint64_t need = v->data_len;
    if (v->type == SL_TYPE_BYTES)
        need += 8 * ((uint64_t)nrows + 1);
    if (need > SL_BATCH_MAX_BYTES - *total)
        return BAD("column '%s' needs %" PRIu64 " bytes, which takes the batch over the "
                   "limit of %" PRIu64 " bytes (SL_BATCH_MAX_BYTES)", v->name, need,
                   SL_BATCH_MAX_BYTES);
    *total += need;
    return SL_OK;
}

/* The column is entirely validated: only now does b allocate. */
static sl_status commit_column(sl_batch *b, const col_view *v, sl_error *err)
{
    size_t noffs = v->type == SL_TYPE_BYTES ? b->nrows + 1 : 0;
    sl__batch_slot *s = NULL;
    SL_TRY(sl__batch_claim(b, v->name, v->type, v->data_len, noffs, &s, err));
    sl_column *c = &s->col;
    c->ndims = v->ndims;
    memcpy(c->dims, v->dims, sizeof c->dims);
    c->row_elems = v->row_elems;
    if (v->data_len > 0 && v->data)
        memcpy(c->data, v->data, v->data_len);
    if (noffs > 0 && v->offsets)
        memcpy(c->offsets, v->offsets, noffs * sizeof(uint64_t));
    return SL_OK;
}

static sl_status unpack(sl_batch *b, const void *buf, size_t len, bool meta, sl_error *err)
{
    sl_batch_reset(b);
    SL_CHECK(buf || len == 0, SL_EINVAL, "batch message: buffer is NULL with length %zu", len);
    reader r = {buf, len, 0};
    uint64_t ncols = 0, total = 0;
    sl_status s = unpack_header(b, &r, &ncols, meta, err);
    for (uint64_t i = 0; s == SL_OK && i < ncols; i++) {
        col_view v = {.ndims = 0};
        s = unpack_name(b, &r, (int)i, &v, err);
        if (s == SL_OK)
            s = unpack_shape(&r, &v, err);
        if (s == SL_OK)
            s = unpack_data(&r, b->nrows, &v, meta, err);
        if (s == SL_OK && meta)
            s = meta_budget(&v, b->nrows, &total, err);
        if (s == SL_OK)
            s = commit_column(b, &v, err);
    }
    if (s == SL_OK && r.pos != len)
        s = BAD("%zu bytes of trailing garbage after the last column", len - r.pos);
    if (s != SL_OK) {
        sl_batch_reset(b);
        sl_error_push(err, s, __FILE__, __LINE__, __func__);
        return s;
    }
    return SL_OK;
}

sl_status sl_batch_unpack(sl_batch *b, const void *buf, size_t len, sl_error *err)
{
    return unpack(b, buf, len, false, err);
}

sl_status sl_batch_unpack_meta(sl_batch *b, const void *buf, size_t len, sl_error *err)
{
    return unpack(b, buf, len, true, err);
}
