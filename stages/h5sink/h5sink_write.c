/* stages/h5sink/h5sink_write.c - the HDF5 file and its datasets, batch by batch.
 *
 * The first batch fixes the columns: one chunked dataset each, (rows, dims...)
 * with the run's total length when the source knew it, else extendible and
 * grown to cover every batch that arrives (batches come in any order, so the
 * extent is the largest row0 + nrows seen). Rows go in with a hyperslab at
 * row0: where a row lands depends on its batch, never on arrival order.
 *
 * Every numeric column's dataset carries a Fletcher32 checksum per chunk
 * (after compression, so it is of the stored bytes): h5source and any HDF5
 * reader then refuse a chunk damaged on disk rather than read it.
 *
 * Chunks hold about 1 MiB (at most the total rows) because smaller chunks
 * bloat the chunk index and bigger ones make readers of a few rows pay for
 * many. Each dataset gets a chunk cache of a few chunks, since a chunk that
 * spans two batches is written twice and, when compressed, must be found in
 * the cache to avoid a read-back. */
#include <stdlib.h>
#include <string.h>

#include "h5sink_impl.h"

#define H5W_CHUNK_BYTES ((size_t)1 << 20)
#define H5W_CACHE_BYTES ((size_t)4 << 20)
#define H5W_CACHE_SLOTS 521 /* a prime, as HDF5 recommends for its hash */

sl_status sl_h5w_create(sl_h5w **out, const sl_h5w_opts *o, sl_error *err)
{
    SL_CHECK(out && o && o->path && *o->path, SL_EINVAL, "h5sink: no output file given");
    SL_CHECK(o->compression <= 9, SL_ERANGE, "h5sink: compression %u is above 9", o->compression);
    sl_h5w *w = calloc(1, sizeof *w);
    SL_CHECK(w, SL_ENOMEM, "h5sink: out of memory");
    w->path = strdup(o->path);
    if (!w->path) {
        free(w);
        SL_CHECK(false, SL_ENOMEM, "h5sink: out of memory");
    }
    w->chunk_rows = o->chunk_rows;
    w->compression = o->compression;
    w->file = H5I_INVALID_HID;
    *out = w;
    return SL_OK;
}

bool sl_h5w_started(const sl_h5w *w)
{
    return w->started;
}

/* The file type a column is stored as, and the memory type it is read from.
 * For BYTES both are new vlen types the caller closes. */
static void col_types(sl_type t, hid_t *file_t, hid_t *mem_t)
{
    switch (t) {
    case SL_TYPE_I32: *file_t = H5T_STD_I32LE; *mem_t = H5T_NATIVE_INT32; return;
    case SL_TYPE_I64: *file_t = H5T_STD_I64LE; *mem_t = H5T_NATIVE_INT64; return;
    case SL_TYPE_U32: *file_t = H5T_STD_U32LE; *mem_t = H5T_NATIVE_UINT32; return;
    case SL_TYPE_U64: *file_t = H5T_STD_U64LE; *mem_t = H5T_NATIVE_UINT64; return;
    case SL_TYPE_F32: *file_t = H5T_IEEE_F32LE; *mem_t = H5T_NATIVE_FLOAT; return;
    case SL_TYPE_F64: *file_t = H5T_IEEE_F64LE; *mem_t = H5T_NATIVE_DOUBLE; return;
    case SL_TYPE_BYTES:
        *file_t = H5Tvlen_create(H5T_STD_U8LE);
        *mem_t = H5Tvlen_create(H5T_NATIVE_UINT8);
        return;
    }
    *file_t = *mem_t = H5I_INVALID_HID;
}

static hsize_t chunk_rows_for(const sl_h5w *w, const sl_column *c, uint64_t total)
{
    size_t row_bytes = c->type == SL_TYPE_BYTES ? sizeof(hvl_t) : sl_type_size(c->type) * c->row_elems;
    uint64_t rows = w->chunk_rows;
    if (rows == 0)
        rows = row_bytes && row_bytes < H5W_CHUNK_BYTES ? H5W_CHUNK_BYTES / row_bytes : 1;
    if (w->fixed && rows > total)
        rows = total;
    return rows ? rows : 1;
}

/* Property lists for one dataset; the caller closes both (also on failure). */
static bool make_plists(const sl_h5w *w, const sl_column *c, uint64_t total, hid_t *dcpl,
                        hid_t *dapl)
{
    hsize_t chunk[1 + SL_MAX_DIMS];
    chunk[0] = chunk_rows_for(w, c, total);
    for (int d = 0; d < c->ndims; d++)
        chunk[1 + d] = c->dims[d];
    *dcpl = H5Pcreate(H5P_DATASET_CREATE);
    *dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (*dcpl < 0 || *dapl < 0 || H5Pset_chunk(*dcpl, 1 + c->ndims, chunk) < 0)
        return false;
    if (w->compression && H5Pset_deflate(*dcpl, w->compression) < 0)
        return false;
    /* Last in the pipeline, so the checksum covers the bytes as stored: a
     * reader finds a changed byte instead of passing on wrong numbers. HDF5
     * refuses it on variable-length data, whose chunks hold only references
     * into its (unchecksummed) global heap anyway. */
    if (c->type != SL_TYPE_BYTES && H5Pset_fletcher32(*dcpl) < 0)
        return false;
    return H5Pset_chunk_cache(*dapl, H5W_CACHE_SLOTS, H5W_CACHE_BYTES, 1.0) >= 0;
}

static sl_status tag_bytes(sl_h5w *w, h5w_col *col, sl_error *err)
{
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    bool ok = t >= 0 && sp >= 0 && H5Tset_size(t, 5) >= 0;
    if (ok)
        a = H5Acreate2(col->dset, "sluice_type", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    ok = ok && a >= 0 && H5Awrite(a, t, "bytes") >= 0;
    sl_status s = ok ? SL_OK : H5W_FAIL(w, col->name, "cannot tag as bytes");
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    return s;
}

/* Creates the dataset for column c at the root. */
static sl_status create_dataset(sl_h5w *w, h5w_col *col, const sl_column *c, uint64_t total,
                                sl_error *err)
{
    hsize_t cur[1 + SL_MAX_DIMS], max[1 + SL_MAX_DIMS];
    cur[0] = w->fixed ? total : 0;
    max[0] = w->fixed ? total : H5S_UNLIMITED;
    for (int d = 0; d < c->ndims; d++)
        cur[1 + d] = max[1 + d] = c->dims[d];
    hid_t ftype, dcpl = H5I_INVALID_HID, dapl = H5I_INVALID_HID;
    col_types(c->type, &ftype, &col->memtype);
    hid_t space = H5Screate_simple(1 + c->ndims, cur, max);
    bool ok = ftype >= 0 && col->memtype >= 0 && space >= 0 && make_plists(w, c, total, &dcpl, &dapl);
    if (ok)
        col->dset = H5Dcreate2(w->file, c->name, ftype, space, H5P_DEFAULT, dcpl, dapl);
    sl_status s = ok && col->dset >= 0 ? SL_OK : H5W_FAIL(w, c->name, "cannot create dataset");
    col->extent = cur[0];
    if (c->type == SL_TYPE_BYTES)
        H5Tclose(ftype);
    H5Pclose(dcpl);
    H5Pclose(dapl);
    H5Sclose(space);
    if (s == SL_OK && c->type == SL_TYPE_BYTES)
        s = tag_bytes(w, col, err);
    return s;
}

static sl_status create_file(sl_h5w *w, sl_error *err)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* Strong close: closing the file also closes anything a failure left open. */
    bool ok = fapl >= 0 && H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) >= 0 &&
              H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0;
    if (ok)
        w->file = H5Fcreate(w->path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    /* The message first: every HDF5 call, H5Pclose included, resets the stack. */
    sl_status s = ok && w->file >= 0 ? SL_OK : H5W_FAIL(w, NULL, "cannot create file");
    H5Pclose(fapl);
    return s;
}

sl_status sl_h5w_begin(sl_h5w *w, const sl_batch *first, uint64_t total_rows, sl_error *err)
{
    SL_CHECK(!w->started, SL_EINVAL, "%s: h5sink began twice", w->path);
    sl__h5w_quiet();
    w->started = true;
    /* A run of 0 rows keeps extendible datasets: HDF5 wants chunks no larger
     * than a fixed extent, and a chunk cannot have 0 rows. */
    w->fixed = total_rows != SL_ROWS_UNKNOWN && total_rows > 0;
    SL_TRY(create_file(w, err));
    int n = first ? sl_batch_ncols(first) : 0;
    for (int i = 0; i < n; i++) {
        const sl_column *c = sl_batch_col(first, i);
        h5w_col *col = &w->cols[i];
        memcpy(col->name, c->name, sizeof col->name);
        col->type = c->type;
        col->ndims = c->ndims;
        memcpy(col->dims, c->dims, sizeof col->dims);
        col->dset = col->memtype = H5I_INVALID_HID;
        w->ncols = i + 1;
        SL_TRY(create_dataset(w, col, c, total_rows, err));
    }
    return SL_OK;
}

/* Checks that b's columns are the first batch's; returns b's index per column in idx. */
static sl_status match_columns(const sl_h5w *w, const sl_batch *b, int *idx, sl_error *err)
{
    for (int i = 0; i < w->ncols; i++) {
        const h5w_col *col = &w->cols[i];
        idx[i] = sl_batch_find(b, col->name);
        SL_CHECK(idx[i] >= 0, SL_EINVAL, "%s: batch %llu has no column '%s' (the first batch had it)",
                 w->path, (unsigned long long)sl_batch_seq(b), col->name);
        const sl_column *c = sl_batch_col(b, idx[i]);
        SL_CHECK(c->type == col->type, SL_EINVAL,
                 "%s: column '%s' is %s in batch %llu but was %s in the first batch", w->path,
                 col->name, sl_type_name(c->type), (unsigned long long)sl_batch_seq(b),
                 sl_type_name(col->type));
        bool same = c->ndims == col->ndims &&
                    memcmp(c->dims, col->dims, sizeof c->dims[0] * (size_t)c->ndims) == 0;
        SL_CHECK(same, SL_EINVAL, "%s: column '%s' changed shape in batch %llu", w->path,
                 col->name, (unsigned long long)sl_batch_seq(b));
    }
    for (int i = 0; i < sl_batch_ncols(b); i++) {
        const char *name = sl_batch_col(b, i)->name;
        bool known = false;
        for (int j = 0; j < w->ncols && !known; j++)
            known = strcmp(w->cols[j].name, name) == 0;
        SL_CHECK(known, SL_EINVAL, "%s: batch %llu has column '%s' that the first batch did not have",
                 w->path, (unsigned long long)sl_batch_seq(b), name);
    }
    return SL_OK;
}

/* Points w->vl at the rows of BYTES column c; HDF5 only reads through them. */
static sl_status fill_vlen(sl_h5w *w, const sl_column *c, size_t nrows, sl_error *err)
{
    if (nrows > w->vl_cap) {
        hvl_t *vl = realloc(w->vl, nrows * sizeof *vl);
        SL_CHECK(vl, SL_ENOMEM, "%s: out of memory for column '%s'", w->path, c->name);
        w->vl = vl;
        w->vl_cap = nrows;
    }
    for (size_t i = 0; i < nrows; i++) {
        w->vl[i].len = (size_t)(c->offsets[i + 1] - c->offsets[i]);
        w->vl[i].p = (unsigned char *)c->data + c->offsets[i];
    }
    return SL_OK;
}

static sl_status write_column(sl_h5w *w, h5w_col *col, const sl_column *c, const sl_batch *b,
                              sl_error *err)
{
    size_t nrows = sl_batch_nrows(b);
    hsize_t start[1 + SL_MAX_DIMS] = {sl_batch_row0(b)}, count[1 + SL_MAX_DIMS] = {nrows};
    for (int d = 0; d < col->ndims; d++)
        count[1 + d] = col->dims[d];
    hsize_t end = start[0] + nrows;
    if (!w->fixed && end > col->extent) {
        hsize_t ext[1 + SL_MAX_DIMS] = {end};
        memcpy(ext + 1, count + 1, sizeof(hsize_t) * (size_t)col->ndims);
        if (H5Dset_extent(col->dset, ext) < 0)
            return H5W_FAIL(w, col->name, "cannot extend dataset");
        col->extent = end;
    }
    SL_CHECK(end <= col->extent, SL_ERANGE,
             "%s: dataset '%s': batch %llu writes rows up to %llu but the source announced %llu",
             w->path, col->name, (unsigned long long)sl_batch_seq(b), (unsigned long long)end,
             (unsigned long long)col->extent);
    const void *buf = c->data;
    if (col->type == SL_TYPE_BYTES) {
        SL_TRY(fill_vlen(w, c, nrows, err));
        buf = w->vl;
    }
    hid_t fspace = H5Dget_space(col->dset), mspace = H5Screate_simple(1 + col->ndims, count, NULL);
    bool ok = fspace >= 0 && mspace >= 0 &&
              H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
              H5Dwrite(col->dset, col->memtype, mspace, fspace, H5P_DEFAULT, buf) >= 0;
    sl_status s = ok ? SL_OK : H5W_FAIL(w, col->name, "cannot write rows");
    H5Sclose(mspace);
    H5Sclose(fspace);
    return s;
}

sl_status sl_h5w_write(sl_h5w *w, const sl_batch *b, sl_error *err)
{
    SL_CHECK(w->started && w->file >= 0, SL_EINVAL, "%s: h5sink wrote before it began", w->path);
    sl__h5w_quiet();
    int idx[SL_BATCH_MAX_COLUMNS];
    SL_TRY(match_columns(w, b, idx, err));
    if (sl_batch_nrows(b) == 0)
        return SL_OK; /* HDF5 rejects empty hyperslabs; nothing to write anyway */
    for (int i = 0; i < w->ncols; i++)
        SL_TRY(write_column(w, &w->cols[i], sl_batch_col(b, idx[i]), b, err));
    return SL_OK;
}

/* Closes the datasets and types; returns the first column that failed, or -1. */
static int close_columns(sl_h5w *w)
{
    int bad = -1;
    for (int i = 0; i < w->ncols; i++) {
        h5w_col *col = &w->cols[i];
        if (col->dset >= 0 && H5Dclose(col->dset) < 0 && bad < 0)
            bad = i;
        if (col->type == SL_TYPE_BYTES && col->memtype >= 0)
            H5Tclose(col->memtype);
        col->dset = col->memtype = H5I_INVALID_HID;
    }
    w->ncols = 0;
    return bad;
}

sl_status sl_h5w_close(sl_h5w *w, sl_error *err)
{
    sl__h5w_quiet();
    int bad = close_columns(w); /* names stay readable after the close */
    if (bad >= 0) {
        sl_status s = H5W_FAIL(w, w->cols[bad].name, "cannot close dataset");
        H5Fclose(w->file); /* after the message: every HDF5 call resets the error stack */
        w->file = H5I_INVALID_HID;
        return s;
    }
    hid_t f = w->file;
    w->file = H5I_INVALID_HID;
    return f < 0 || H5Fclose(f) >= 0 ? SL_OK : H5W_FAIL(w, NULL, "cannot close file");
}

void sl_h5w_destroy(sl_h5w **wp)
{
    if (!wp || !*wp)
        return;
    sl_h5w *w = *wp;
    sl__h5w_quiet();
    close_columns(w);
    if (w->file >= 0)
        H5Fclose(w->file);
    H5Eclear2(H5E_DEFAULT);
    free(w->vl);
    free(w->path);
    free(w);
    *wp = NULL;
}
