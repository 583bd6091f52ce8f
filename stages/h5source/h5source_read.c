/* stages/h5source/h5source_read.c - the file, its datasets, and batches read from them.
 *
 * Opening does all the checking: the file exists and is HDF5 (a truncated or
 * corrupted one fails here, in HDF5's own words), lists no dead letters
 * (unless allowed), and every column's dataset opens, has a type and shape a
 * batch can hold, the same length as the first, and a chunk index that reads.
 * So a bad input fails in the stage's create(), before any output. Damaged
 * raw data is found only when its chunk is read, and only when the file has
 * checksums (h5sink gives its numeric columns one): that batch then fails.
 *
 * Batch seq is rows [seq*batch, min((seq+1)*batch, rows)): any instance on
 * any rank reads any batch, from a hyperslab, without coordination. Reads are
 * chunk-aware: one H5Dread per column per batch, so HDF5 reads and inflates
 * each chunk the slab touches once, not once per row; and each chunked
 * dataset is opened with a chunk cache that holds every chunk one batch
 * touches (h5source_spec.c sizes it), so the chunk a batch shares with the
 * next one is still cached when the next batch is read, instead of being read
 * and decompressed again. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5source_impl.h"

#if H5_VERSION_GE(1, 12, 0)
#define H5R_RECLAIM(t, sp, buf) H5Treclaim((t), (sp), H5P_DEFAULT, (buf))
#define H5R_IS_HDF5(path) H5Fis_accessible((path), H5P_DEFAULT)
#else
#define H5R_RECLAIM(t, sp, buf) H5Dvlen_reclaim((t), (sp), H5P_DEFAULT, (buf))
#define H5R_IS_HDF5(path) H5Fis_hdf5(path)
#endif

/* Errors a plain open(2) explains better than HDF5: missing, unreadable, a directory. */
static sl_status check_path(const char *path, sl_error *err)
{
    int fd = open(path, O_RDONLY);
    SL_CHECK(fd >= 0, SL_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    bool dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
    close(fd);
    SL_CHECK(!dir, SL_EINVAL, "%s: is a directory, not an HDF5 file", path);
    return SL_OK;
}

static sl_status open_file(sl_h5r *r, sl_error *err)
{
    SL_TRY(check_path(r->path, err));
    htri_t is = H5R_IS_HDF5(r->path);
    if (is < 0)
        return H5R_FAIL(r->path, NULL, "cannot open");
    SL_CHECK(is > 0, SL_EINVAL, "%s: not an HDF5 file (no HDF5 signature found)", r->path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    /* Strong close: closing the file also closes anything a failure left open. */
    bool ok = fapl >= 0 && H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) >= 0;
    if (ok)
        r->file = H5Fopen(r->path, H5F_ACC_RDONLY, fapl);
    /* The message first: every HDF5 call, H5Pclose included, resets the stack. */
    sl_status s = ok && r->file >= 0 ? SL_OK : H5R_FAIL(r->path, NULL, "cannot open");
    H5Pclose(fapl);
    return s;
}

/* Reopens a chunked dataset with a chunk cache sized for one batch. */
static sl_status set_cache(sl_h5r *r, h5r_col *col, sl_error *err)
{
    hid_t dcpl = H5Dget_create_plist(col->dset), ft = H5Dget_type(col->dset);
    hsize_t chunk[1 + SL_MAX_DIMS];
    int rank = -1;
    bool ok = dcpl >= 0 && ft >= 0;
    bool chunked = ok && H5Pget_layout(dcpl) == H5D_CHUNKED;
    col->chunked = chunked;
    if (chunked)
        rank = H5Pget_chunk(dcpl, 1 + SL_MAX_DIMS, chunk);
    size_t elem = ok ? H5Tget_size(ft) : 0;
    sl_status s = ok && (!chunked || rank == 1 + col->ndims)
                      ? SL_OK
                      : H5R_FAIL(r->path, col->path, "cannot read the chunk layout");
    H5Pclose(dcpl);
    H5Tclose(ft);
    if (s != SL_OK || !chunked)
        return s;
    uint64_t dims[1 + SL_MAX_DIMS] = {col->rows}, ch[1 + SL_MAX_DIMS];
    for (int d = 0; d < rank; d++) {
        ch[d] = chunk[d];
        if (d > 0)
            dims[d] = col->dims[d - 1];
    }
    sl_h5r_cache c = sl_h5r_cache_for(rank, dims, ch, elem, r->batch);
    /* Closed first: a dataset opened twice shares the first open's cache. */
    H5Dclose(col->dset);
    col->dset = H5I_INVALID_HID;
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    /* w0 = 1: chunks read whole go first, so a chunk shared with the next
     * batch (read only in part so far) is the one that stays. */
    if (dapl >= 0 && H5Pset_chunk_cache(dapl, c.nslots, c.nbytes, 1.0) >= 0)
        col->dset = H5Dopen2(r->file, col->path, dapl);
    s = col->dset >= 0 ? SL_OK : H5R_FAIL(r->path, col->path, "cannot set the chunk cache");
    H5Pclose(dapl);
    return s;
}

static sl_status open_column(sl_h5r *r, h5r_col *col, sl_error *err)
{
    col->dset = H5Dopen2(r->file, col->path, H5P_DEFAULT);
    if (col->dset < 0)
        return H5R_FAIL(r->path, col->path, "cannot open dataset");
    SL_TRY(sl__h5r_classify(r->path, col, err));
    SL_TRY(set_cache(r, col, err));
    if (col->chunked)
        SL_TRY(sl__h5r_check_index(r->path, col, err));
    const h5r_col *first = &r->cols[0];
    SL_CHECK(col->rows == first->rows, SL_EINVAL,
             "%s: datasets '%s' (%llu rows) and '%s' (%llu rows) differ in length; every "
             "column needs the same number of rows",
             r->path, first->path, (unsigned long long)first->rows, col->path,
             (unsigned long long)col->rows);
    return SL_OK;
}

/* Opens every column of spec, taking its paths. */
static sl_status open_columns(sl_h5r *r, sl_h5r_spec *spec, sl_error *err)
{
    for (int i = 0; i < spec->n; i++) {
        h5r_col *col = &r->cols[i];
        memcpy(col->name, spec->col[i].name, sizeof col->name);
        col->path = spec->col[i].path;
        spec->col[i].path = NULL;
        r->ncols = i + 1;
        SL_TRY(open_column(r, col, err));
    }
    r->rows = r->ncols ? r->cols[0].rows : 0;
    return SL_OK;
}

sl_status sl_h5r_open(sl_h5r **out, const sl_h5r_opts *o, sl_error *err)
{
    SL_CHECK(out && o && o->path && *o->path, SL_EINVAL, "h5source: no file given");
    SL_CHECK(o->batch >= 1, SL_EINVAL, "h5source: batch 0 is below minimum 1");
    *out = NULL;
    sl_h5r *r = calloc(1, sizeof *r);
    SL_CHECK(r, SL_ENOMEM, "out of memory");
    r->file = H5I_INVALID_HID;
    r->batch = o->batch;
    for (int i = 0; i < SL_BATCH_MAX_COLUMNS; i++)
        r->cols[i].dset = r->cols[i].memtype = H5I_INVALID_HID;
    r->path = strdup(o->path);
    sl__h5r_quiet();
    sl_h5r_spec spec;
    sl_status s = sl_h5r_spec_parse(&spec, o->columns, err);
    if (s == SL_OK && !r->path)
        s = SL_FAIL(SL_ENOMEM, "out of memory");
    if (s == SL_OK)
        s = open_file(r, err);
    if (s == SL_OK && !o->allow_holes)
        s = sl__h5r_check_holes(r->file, r->path, err);
    if (s == SL_OK && spec.n == 0)
        s = sl__h5r_list_root(r->file, r->path, &spec, err);
    if (s == SL_OK)
        s = open_columns(r, &spec, err);
    sl_h5r_spec_free(&spec);
    if (s != SL_OK) {
        sl_h5r_destroy(&r);
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    *out = r;
    return SL_OK;
}

uint64_t sl_h5r_rows(const sl_h5r *r) { return r->rows; }
int sl_h5r_ncols(const sl_h5r *r) { return r->ncols; }
const char *sl_h5r_col_name(const sl_h5r *r, int i) { return r->cols[i].name; }
const char *sl_h5r_col_path(const sl_h5r *r, int i) { return r->cols[i].path; }

uint64_t sl_h5r_batches(const sl_h5r *r)
{
    return r->rows / r->batch + (r->rows % r->batch != 0);
}

/* Room in r->scratch for n rows of col's read buffer, zeroed (so reclaiming
 * after a failed read frees only NULL pointers). */
static sl_status scratch_for(sl_h5r *r, const h5r_col *col, size_t n, void **buf, sl_error *err)
{
    size_t elem = col->kind == H5R_VLEN      ? sizeof(hvl_t)
                  : col->kind == H5R_VSTRING ? sizeof(char *)
                                             : col->str_size;
    SL_CHECK(elem == 0 || n <= SIZE_MAX / elem, SL_ERANGE,
             "%s: dataset '%s': %zu rows of %zu bytes overflow", r->path, col->path, n, elem);
    size_t need = n * elem > 0 ? n * elem : 1;
    if (need > r->scratch_cap) {
        void *p = realloc(r->scratch, need);
        SL_CHECK(p, SL_ENOMEM, "%s: dataset '%s': out of memory for %zu rows", r->path,
                 col->path, n);
        r->scratch = p;
        r->scratch_cap = need;
    }
    memset(r->scratch, 0, need);
    *buf = r->scratch;
    return SL_OK;
}

/* Bytes of fixed-length string row p (size bytes) without its padding. */
static size_t fstring_len(const char *p, size_t size, bool space_pad)
{
    size_t len = strnlen(p, size);
    while (space_pad && len > 0 && p[len - 1] == ' ')
        len--;
    return len;
}

/* Appends the n rows just read into buf to BYTES column `idx` of out. */
static sl_status append_rows(const h5r_col *col, const void *buf, size_t n, sl_batch *out,
                             int idx, sl_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const void *p;
        size_t len;
        if (col->kind == H5R_VLEN) {
            p = ((const hvl_t *)buf)[i].p;
            len = ((const hvl_t *)buf)[i].len;
        } else if (col->kind == H5R_VSTRING) {
            p = ((char *const *)buf)[i];
            len = p ? strlen(p) : 0;
        } else {
            p = (const char *)buf + i * col->str_size;
            len = fstring_len(p, col->str_size, col->space_pad);
        }
        SL_TRY(sl_batch_append_bytes(out, idx, p, len, err));
    }
    return SL_OK;
}

/* The batch's storage for col: the column's own data, or scratch for BYTES. */
static sl_status column_buffer(sl_h5r *r, const h5r_col *col, size_t n, sl_batch *out,
                               void **buf, int *idx, sl_error *err)
{
    if (col->kind == H5R_FIXED)
        return sl_batch_add(out, col->name, col->type, col->ndims, col->dims, buf, err);
    SL_TRY(sl_batch_add_bytes(out, col->name, idx, err));
    return scratch_for(r, col, n, buf, err);
}

static sl_status read_column(sl_h5r *r, const h5r_col *col, uint64_t row0, size_t n,
                             sl_batch *out, sl_error *err)
{
    hsize_t start[1 + SL_MAX_DIMS] = {row0}, count[1 + SL_MAX_DIMS] = {n};
    for (int d = 0; d < col->ndims; d++)
        count[1 + d] = col->dims[d];
    void *buf = NULL;
    int idx = -1;
    SL_TRY(column_buffer(r, col, n, out, &buf, &idx, err));
    hid_t fs = H5Dget_space(col->dset), ms = H5Screate_simple(1 + col->ndims, count, NULL);
    bool ok = fs >= 0 && ms >= 0 &&
              H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
              H5Dread(col->dset, col->memtype, ms, fs, H5P_DEFAULT, buf) >= 0;
    sl_status s = SL_OK;
    if (!ok) {
        char what[96];
        snprintf(what, sizeof what, "cannot read rows %llu..%llu", (unsigned long long)row0,
                 (unsigned long long)(row0 + n - 1));
        s = H5R_FAIL(r->path, col->path, what);
    }
    if (ok && col->kind != H5R_FIXED)
        s = append_rows(col, buf, n, out, idx, err);
    /* HDF5 allocated every variable-length row; zeroed rows free as NULL. */
    if (ms >= 0 && (col->kind == H5R_VLEN || col->kind == H5R_VSTRING))
        H5R_RECLAIM(col->memtype, ms, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    return s;
}

sl_status sl_h5r_read(sl_h5r *r, uint64_t seq, sl_batch *out, sl_error *err)
{
    uint64_t batches = sl_h5r_batches(r);
    SL_CHECK(seq < batches, SL_ERANGE, "%s: batch %llu is past the last batch (%llu batches)",
             r->path, (unsigned long long)seq, (unsigned long long)batches);
    uint64_t row0 = seq * r->batch, left = r->rows - row0;
    size_t n = (size_t)(left < r->batch ? left : r->batch);
    sl_batch_set_rows(out, row0, n);
    sl__h5r_quiet();
    for (int i = 0; i < r->ncols; i++)
        SL_TRY(read_column(r, &r->cols[i], row0, n, out, err));
    return SL_OK;
}

void sl_h5r_destroy(sl_h5r **rp)
{
    if (!rp || !*rp)
        return;
    sl_h5r *r = *rp;
    sl__h5r_quiet();
    for (int i = 0; i < r->ncols; i++) {
        h5r_col *col = &r->cols[i];
        if (col->dset >= 0)
            H5Dclose(col->dset);
        if (col->own_memtype && col->memtype >= 0)
            H5Tclose(col->memtype);
        free(col->path);
    }
    if (r->file >= 0)
        H5Fclose(r->file);
    H5Eclear2(H5E_DEFAULT);
    free(r->scratch);
    free(r->path);
    free(r);
    *rp = NULL;
}
