/* lib/dist/h5merge.c - one output file from the per-rank part files.
 *
 * Rank 0's part is renamed into place, so its root attributes and its rows
 * cost nothing. Each other part is opened read-only and its root datasets are
 * visited once. A dataset dest lacks is copied whole with H5Ocopy. For a
 * dataset dest has, the part's row ranges are copied in by hyperslab, block by
 * block, so memory stays near 16 MiB whatever a range's length. Ranges are
 * sorted and joined first: ascending writes finish a chunk before moving on,
 * so a compressed chunk shared by two ranges is still in the cache for the
 * second one and is not read back.
 *
 * Rows are read and written with the dataset's own type (types must match
 * anyway), so HDF5 converts nothing and every type works. Variable-length
 * data sits on the heap between the read and the write and is reclaimed after
 * each block.
 *
 * HDF5's automatic error printing is off for the whole merge. A failure keeps
 * only the innermost HDF5 reason, which must be read before the next HDF5
 * call, because every call clears the stack. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "h5/h5_reason.h"
#include "h5merge.h"
#include "util/ranges.h"

#define MERGE_BLOCK_BYTES ((uint64_t)16 << 20)
#define MERGE_CACHE_BYTES ((size_t)4 << 20)
#define MERGE_CACHE_SLOTS 521 /* a prime, as HDF5 recommends for its hash */

typedef struct h5_file {
    const char *path;
    hid_t id;
} h5_file;

/* An open row dataset: d is H5I_INVALID_HID when the name is something else. */
typedef struct rowset {
    hid_t d;
    hid_t type; /* from H5Dget_type: usable as the memory type, vlen included */
    int ndims;
    hsize_t cur[H5S_MAX_RANK], max[H5S_MAX_RANK];
} rowset;

/* One part being merged into dest, and the dataset being copied. */
typedef struct merge_ctx {
    h5_file dest, part;
    sl__row_range *ranges; /* the part's, sorted and joined; owned */
    size_t nranges;
    sl_status status; /* the failure that stopped the link iteration */
    sl_error *err;
    const char *name; /* the dataset being copied, and its two sides */
    const rowset *src, *dst;
    void *buf;
    size_t row_bytes;
    bool vlen; /* rows hold heap memory HDF5 allocated on read */
} merge_ctx;

typedef struct reason_buf {
    char text[256];
} reason_buf;

static const char *h5_reason(reason_buf *r) { return sl__h5_reason(r->text, sizeof r->text); }

/* "u64", "f32be", "vlen of u8": enough to tell two mismatched types apart. */
static const char *type_name(hid_t t, char *buf, size_t n)
{
    H5T_class_t cl = H5Tget_class(t);
    size_t bits = H5Tget_size(t) * 8;
    const char *be = H5Tget_order(t) == H5T_ORDER_BE ? "be" : "";
    if (cl == H5T_INTEGER) {
        snprintf(buf, n, "%c%zu%s", H5Tget_sign(t) == H5T_SGN_NONE ? 'u' : 'i', bits, be);
    } else if (cl == H5T_FLOAT) {
        snprintf(buf, n, "f%zu%s", bits, be);
    } else if (cl == H5T_VLEN) {
        char inner[48];
        hid_t super = H5Tget_super(t);
        snprintf(buf, n, "vlen of %s", super >= 0 ? type_name(super, inner, sizeof inner) : "?");
        H5Tclose(super);
    } else {
        snprintf(buf, n, "HDF5 class %d of %zu bytes", (int)cl, bits / 8);
    }
    return buf;
}

/* "(rows, 3, 3)" */
static const char *shape_name(const rowset *rs, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "(rows");
    for (int i = 1; i < rs->ndims && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, ", %llu", (unsigned long long)rs->cur[i]);
    if (len < n)
        snprintf(buf + len, n - len, ")");
    return buf;
}

static void rowset_close(rowset *rs)
{
    if (rs->type >= 0)
        H5Tclose(rs->type);
    if (rs->d >= 0)
        H5Dclose(rs->d);
    rs->d = rs->type = H5I_INVALID_HID;
}

/* Opens name in f when it is a row dataset; otherwise leaves rs->d invalid. */
static sl_status open_rows(const h5_file *f, const char *name, hid_t dapl, rowset *rs,
                           sl_error *err)
{
    reason_buf r;
    rs->d = rs->type = H5I_INVALID_HID;
    rs->ndims = 0;
    hid_t o = H5Oopen(f->id, name, H5P_DEFAULT);
    if (o < 0)
        return SL_FAIL(SL_EIO, "%s: dataset '%s': cannot open: %s", f->path, name, h5_reason(&r));
    H5I_type_t t = H5Iget_type(o);
    H5Oclose(o);
    if (t != H5I_DATASET)
        return SL_OK;
    rs->d = H5Dopen2(f->id, name, dapl);
    hid_t sp = rs->d >= 0 ? H5Dget_space(rs->d) : H5I_INVALID_HID;
    rs->type = rs->d >= 0 ? H5Dget_type(rs->d) : H5I_INVALID_HID;
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    bool ok = rs->type >= 0 && nd >= 0 && H5Sget_simple_extent_dims(sp, rs->cur, rs->max) >= 0;
    sl_status s = ok ? SL_OK
                     : SL_FAIL(SL_EIO, "%s: dataset '%s': cannot open: %s", f->path, name,
                               h5_reason(&r));
    if (sp >= 0)
        H5Sclose(sp);
    rs->ndims = ok ? nd : 0;
    if (rs->ndims == 0)
        rowset_close(rs); /* a scalar or a failure: not a row dataset */
    return s;
}

/* Type and trailing dimensions must be dest's; dimension 0 may differ. */
static sl_status check_match(const merge_ctx *c, const rowset *p, const rowset *d)
{
    sl_error *err = c->err;
    reason_buf r;
    char a[96], b[96];
    htri_t eq = H5Tequal(p->type, d->type);
    if (eq < 0)
        return SL_FAIL(SL_EIO, "%s: dataset '%s': cannot compare types: %s", c->part.path, c->name,
                       h5_reason(&r));
    SL_CHECK(eq > 0, SL_EINVAL, "dataset '%s': type %s in '%s' does not match %s in '%s'", c->name,
             type_name(p->type, a, sizeof a), c->part.path, type_name(d->type, b, sizeof b),
             c->dest.path);
    bool same = p->ndims == d->ndims;
    for (int i = 1; same && i < p->ndims; i++)
        same = p->cur[i] == d->cur[i];
    SL_CHECK(same, SL_EINVAL, "dataset '%s': shape %s in '%s' does not match %s in '%s'", c->name,
             shape_name(p, a, sizeof a), c->part.path, shape_name(d, b, sizeof b), c->dest.path);
    return SL_OK;
}

/* Grows dest's dataset to the part's last row, where its maximum allows. */
static sl_status ensure_rows(const merge_ctx *c, rowset *d)
{
    sl_error *err = c->err;
    hsize_t hi = c->ranges[c->nranges - 1].hi; /* sorted and joined: the largest */
    if (hi <= d->cur[0])
        return SL_OK;
    SL_CHECK(d->max[0] == H5S_UNLIMITED || hi <= d->max[0], SL_ERANGE,
             "%s: dataset '%s' has a fixed %llu rows but '%s' has rows up to %llu", c->dest.path,
             c->name, (unsigned long long)d->max[0], c->part.path, (unsigned long long)hi);
    hsize_t ext[H5S_MAX_RANK];
    memcpy(ext, d->cur, sizeof(hsize_t) * (size_t)d->ndims);
    ext[0] = hi;
    reason_buf r;
    if (H5Dset_extent(d->d, ext) < 0)
        return SL_FAIL(SL_EIO, "%s: dataset '%s': cannot extend to %llu rows: %s", c->dest.path,
                       c->name, (unsigned long long)hi, h5_reason(&r));
    d->cur[0] = hi;
    return SL_OK;
}

/* Rows [lo, lo + n) from the part to dest, through c->buf. */
static sl_status copy_block(const merge_ctx *c, hsize_t lo, hsize_t n)
{
    sl_error *err = c->err;
    reason_buf r;
    int nd = c->dst->ndims;
    hsize_t start[H5S_MAX_RANK] = {lo}, count[H5S_MAX_RANK];
    memcpy(count, c->dst->cur, sizeof(hsize_t) * (size_t)nd);
    count[0] = n;
    if (c->vlen)
        memset(c->buf, 0, (size_t)n * c->row_bytes); /* so a failed read reclaims safely */
    hid_t ms = H5Screate_simple(nd, count, NULL);
    hid_t ps = H5Dget_space(c->src->d), ds = H5Dget_space(c->dst->d);
    bool ok = ms >= 0 && ps >= 0 &&
              H5Sselect_hyperslab(ps, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
              H5Dread(c->src->d, c->dst->type, ms, ps, H5P_DEFAULT, c->buf) >= 0;
    sl_status s = ok ? SL_OK
                     : SL_FAIL(SL_EIO, "%s: dataset '%s': cannot read rows %llu..%llu: %s",
                               c->part.path, c->name, (unsigned long long)lo,
                               (unsigned long long)(lo + n), h5_reason(&r));
    if (s == SL_OK) {
        ok = ds >= 0 && H5Sselect_hyperslab(ds, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
             H5Dwrite(c->dst->d, c->dst->type, ms, ds, H5P_DEFAULT, c->buf) >= 0;
        if (!ok)
            s = SL_FAIL(SL_EIO, "%s: dataset '%s': cannot write rows %llu..%llu: %s",
                        c->dest.path, c->name, (unsigned long long)lo,
                        (unsigned long long)(lo + n), h5_reason(&r));
    }
    if (c->vlen && ms >= 0)
        H5Dvlen_reclaim(c->dst->type, ms, H5P_DEFAULT, c->buf);
    H5Sclose(ms);
    H5Sclose(ps);
    H5Sclose(ds);
    return s;
}

/* Bytes one row takes in memory (0 when it does not fit in 64 bits). */
static uint64_t row_bytes(const rowset *rs)
{
    uint64_t b = H5Tget_size(rs->type);
    for (int i = 1; i < rs->ndims && b; i++) {
        if (rs->cur[i] && b > UINT64_MAX / rs->cur[i])
            return 0;
        b *= rs->cur[i];
    }
    return b;
}

/* Copies every range of the part's rows, in blocks of about MERGE_BLOCK_BYTES. */
static sl_status copy_ranges(merge_ctx *c)
{
    sl_error *err = c->err;
    hsize_t hi = c->ranges[c->nranges - 1].hi, have = c->src->cur[0];
    SL_CHECK(hi <= have, SL_ERANGE, "%s: dataset '%s' has %llu rows but the rank's rows reach %llu",
             c->part.path, c->name, (unsigned long long)have, (unsigned long long)hi);
    for (int i = 1; i < c->dst->ndims; i++)
        if (c->dst->cur[i] == 0)
            return SL_OK; /* rows of no elements: nothing to copy */
    uint64_t rb = row_bytes(c->dst), longest = 0;
    SL_CHECK(rb > 0 && rb <= SIZE_MAX, SL_ERANGE, "%s: dataset '%s': a row does not fit in memory",
             c->dest.path, c->name);
    for (size_t i = 0; i < c->nranges; i++)
        if (c->ranges[i].hi - c->ranges[i].lo > longest)
            longest = c->ranges[i].hi - c->ranges[i].lo;
    uint64_t block = rb < MERGE_BLOCK_BYTES ? MERGE_BLOCK_BYTES / rb : 1;
    if (block > longest)
        block = longest;
    c->row_bytes = (size_t)rb;
    c->buf = malloc((size_t)(block * rb));
    SL_CHECK(c->buf, SL_ENOMEM, "dataset '%s': out of memory for %llu rows of %llu bytes", c->name,
             (unsigned long long)block, (unsigned long long)rb);
    htri_t vl = H5Tdetect_class(c->dst->type, H5T_VLEN);
    /* H5Tdetect_class calls a variable-length string a string, not vlen. */
    htri_t str = H5Tdetect_class(c->dst->type, H5T_STRING);
    c->vlen = vl != 0 || str != 0; /* when unsure, reclaiming is harmless */
    sl_status s = SL_OK;
    for (size_t i = 0; i < c->nranges && s == SL_OK; i++)
        for (uint64_t lo = c->ranges[i].lo; lo < c->ranges[i].hi && s == SL_OK; lo += block)
            s = copy_block(c, lo, c->ranges[i].hi - lo < block ? c->ranges[i].hi - lo : block);
    free(c->buf);
    c->buf = NULL;
    return s;
}

/* Opens dest's dataset with a chunk cache that holds the chunk two ranges share. */
static sl_status open_dest_rows(const merge_ctx *c, rowset *d)
{
    sl_error *err = c->err;
    reason_buf r;
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (dapl < 0 || H5Pset_chunk_cache(dapl, MERGE_CACHE_SLOTS, MERGE_CACHE_BYTES, 1.0) < 0) {
        sl_status s = SL_FAIL(SL_EIO, "%s: dataset '%s': cannot set up access: %s", c->dest.path,
                              c->name, h5_reason(&r));
        H5Pclose(dapl);
        return s;
    }
    sl_status s = open_rows(&c->dest, c->name, dapl, d, err);
    H5Pclose(dapl);
    SL_TRY(s);
    SL_CHECK(d->d >= 0, SL_EINVAL, "%s: '%s' is not a dataset with rows, but it is one in '%s'",
             c->dest.path, c->name, c->part.path);
    return SL_OK;
}

/* Brings one of the part's row datasets into dest. */
static sl_status merge_dataset(merge_ctx *c, const rowset *p)
{
    sl_error *err = c->err;
    reason_buf r;
    htri_t has = H5Lexists(c->dest.id, c->name, H5P_DEFAULT);
    if (has < 0)
        return SL_FAIL(SL_EIO, "%s: dataset '%s': cannot look it up: %s", c->dest.path, c->name,
                       h5_reason(&r));
    if (has == 0) {
        /* Rank 0 never wrote this column (e.g. it had no batch): take it all. */
        if (H5Ocopy(c->part.id, c->name, c->dest.id, c->name, H5P_DEFAULT, H5P_DEFAULT) < 0)
            return SL_FAIL(SL_EIO, "%s: dataset '%s': cannot copy it into '%s': %s", c->part.path,
                           c->name, c->dest.path, h5_reason(&r));
        return SL_OK;
    }
    rowset d;
    SL_TRY(open_dest_rows(c, &d));
    sl_status s = check_match(c, p, &d);
    if (s == SL_OK && c->nranges > 0) {
        s = ensure_rows(c, &d);
        c->src = p;
        c->dst = &d;
        if (s == SL_OK)
            s = copy_ranges(c);
        c->src = c->dst = NULL;
    }
    rowset_close(&d);
    return s;
}

/* H5Literate callback over the part's root links. */
static herr_t merge_link(hid_t root, const char *name, const H5L_info_t *info, void *data)
{
    merge_ctx *c = data;
    if (info->type != H5L_TYPE_HARD)
        return 0; /* soft and external links name objects that live elsewhere */
    rowset p;
    c->name = name;
    c->status = open_rows(&c->part, name, H5P_DEFAULT, &p, c->err);
    if (c->status == SL_OK && p.d >= 0)
        c->status = merge_dataset(c, &p);
    rowset_close(&p);
    c->name = NULL;
    return c->status == SL_OK ? 0 : -1;
}

/* The part's ranges, sorted and joined into c->ranges (check_args vetted them). */
static sl_status take_ranges(merge_ctx *c, const sl__row_range *r, size_t n)
{
    sl_error *err = c->err;
    if (n == 0)
        return SL_OK;
    c->ranges = malloc(n * sizeof *c->ranges);
    SL_CHECK(c->ranges, SL_ENOMEM, "%s: out of memory for %zu row ranges", c->part.path, n);
    memcpy(c->ranges, r, n * sizeof *c->ranges);
    c->nranges = sl__row_ranges_coalesce(c->ranges, n);
    return SL_OK;
}

static sl_status merge_part(const h5_file *dest, const char *path, const sl__row_range *r,
                            size_t n, sl_error *err)
{
    struct stat st;
    if (!path)
        return SL_OK;
    if (stat(path, &st) != 0) {
        SL_CHECK(errno == ENOENT, SL_EIO, "%s: cannot check the part file: %s", path,
                 strerror(errno));
        return SL_OK; /* that rank's sink wrote nothing */
    }
    merge_ctx c = {.dest = *dest, .part = {path, H5I_INVALID_HID}, .err = err};
    SL_TRY(take_ranges(&c, r, n));
    reason_buf why;
    c.part.id = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (c.part.id < 0) {
        free(c.ranges);
        return SL_FAIL(SL_EIO, "%s: cannot open the part file: %s", path, h5_reason(&why));
    }
    hsize_t idx = 0;
    herr_t rc = H5Literate(c.part.id, H5_INDEX_NAME, H5_ITER_INC, &idx, merge_link, &c);
    if (rc < 0 && c.status == SL_OK)
        c.status = SL_FAIL(SL_EIO, "%s: cannot list the root group: %s", path, h5_reason(&why));
    if (H5Fclose(c.part.id) < 0 && c.status == SL_OK)
        c.status = SL_FAIL(SL_EIO, "%s: cannot close the part file: %s", path, h5_reason(&why));
    free(c.ranges);
    return c.status;
}

static sl_status merge_parts(const char *dest, const char *const *parts, int nparts,
                             const sl__row_range *const *ranges, const size_t *nranges,
                             sl_error *err)
{
    reason_buf r;
    h5_file d = {dest, H5Fopen(dest, H5F_ACC_RDWR, H5P_DEFAULT)};
    if (d.id < 0)
        return SL_FAIL(SL_EIO, "%s: cannot open the merged file: %s", dest, h5_reason(&r));
    sl_status s = SL_OK;
    for (int k = 1; k < nparts && s == SL_OK; k++)
        s = merge_part(&d, parts[k], nranges[k] ? ranges[k] : NULL, nranges[k], err);
    /* Only the file is still open: every dataset was closed where it was opened. */
    if (H5Fclose(d.id) < 0 && s == SL_OK)
        s = SL_FAIL(SL_EIO, "%s: cannot close the merged file: %s", dest, h5_reason(&r));
    return s;
}

/* Everything a caller can get wrong is refused before rank 0's part moves. */
static sl_status check_args(const char *dest, const char *const *parts, int nparts,
                            const sl__row_range *const *ranges, const size_t *nranges,
                            sl_error *err)
{
    SL_CHECK(dest && *dest, SL_EINVAL, "h5merge: no merged file name given");
    SL_CHECK(parts && nparts >= 1 && parts[0] && *parts[0], SL_EINVAL,
             "%s: no part file given for rank 0", dest);
    SL_CHECK(nparts == 1 || (ranges && nranges), SL_EINVAL, "%s: no row ranges given for %d parts",
             dest, nparts);
    for (int k = 1; k < nparts; k++) {
        SL_CHECK(nranges[k] == 0 || ranges[k], SL_EINVAL,
                 "%s: rank %d has %zu row ranges but none given", dest, k, nranges[k]);
        for (size_t i = 0; i < nranges[k]; i++) {
            const sl__row_range *r = &ranges[k][i];
            SL_CHECK(r->lo <= r->hi, SL_EINVAL,
                     "%s: rank %d: row range %zu is [%llu, %llu), which is reversed", dest,
                     k, i, (unsigned long long)r->lo, (unsigned long long)r->hi);
        }
    }
    return SL_OK;
}

/* The lstat-then-rename window is harmless: only rank 0 merges, and nothing
 * else of the run writes dest. */
static sl_status rename_base(const char *dest, const char *base, sl_error *err)
{
    struct stat st;
    SL_CHECK(lstat(dest, &st) != 0, SL_EEXIST, "%s: the merged file already exists", dest);
    SL_CHECK(errno == ENOENT, SL_EIO, "%s: cannot check the merged file: %s", dest,
             strerror(errno));
    SL_CHECK(stat(base, &st) == 0, errno == ENOENT ? SL_ENOTFOUND : SL_EIO,
             "%s: cannot find rank 0's part file: %s", base, strerror(errno));
    SL_CHECK(rename(base, dest) == 0, SL_EIO, "cannot rename '%s' to '%s': %s", base, dest,
             strerror(errno));
    return SL_OK;
}

sl_status sl__h5merge(const char *dest, const char *const *parts, int nparts,
                      const sl__row_range *const *ranges, const size_t *nranges, sl_error *err)
{
    SL_TRY(check_args(dest, parts, nparts, ranges, nranges, err));
    SL_TRY(rename_base(dest, parts[0], err));
    H5E_auto2_t old_fn = NULL;
    void *old_data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    sl_status s = merge_parts(dest, parts, nparts, ranges, nranges, err);
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
    return s;
}
