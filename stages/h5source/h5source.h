/* stages/h5source/h5source.h - the HDF5 reader behind the h5source stage (private).
 *
 * The reader knows nothing of the run: it gets a file, a column list and the
 * rows per batch, checks every dataset when it opens (so a bad file fails
 * before anything is written), then builds batch `seq` from rows
 * [seq*batch, min((seq+1)*batch, rows)) of every dataset on demand, in any
 * order. The unit test drives it without an executor.
 *
 * Not thread-safe, and neither is the HDF5 build: the caller holds
 * sl_library_lock("hdf5") around every call but the pure ones (spec, cache).
 *
 * Every failure is one line naming the file and, where there is one, the
 * dataset: "<file>: dataset '<path>': <what>: <HDF5's innermost reason>". */
#ifndef SLUICE_H5SOURCE_H
#define SLUICE_H5SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/batch.h>
#include <sluice/error.h>
#include <sluice/schema.h>

/* --- The `columns` parameter (pure). --- */

/* One column to read: its name in the batch and the dataset's path. */
typedef struct sl_h5r_colspec {
    char name[SL_COLUMN_NAME_MAX];
    char *path; /* owned by the spec */
} sl_h5r_colspec;

typedef struct sl_h5r_spec {
    int n; /* 0: every dataset at the file's root */
    sl_h5r_colspec col[SL_BATCH_MAX_COLUMNS];
} sl_h5r_spec;

/* Parses "NAME=/path,/path,..." (spaces around entries, names and paths are
 * ignored). A bare path names its column after its last component. Fails on
 * an empty entry, name or path, a name with '/' or too long, a name given
 * twice, or more than SL_BATCH_MAX_COLUMNS entries. Owned by caller: *out's
 * paths (sl_h5r_spec_free), also after a failure. */
sl_status sl_h5r_spec_parse(sl_h5r_spec *out, const char *text, sl_error *err);
void sl_h5r_spec_free(sl_h5r_spec *s);

/* --- The chunk cache a dataset gets (pure). --- */

typedef struct sl_h5r_cache {
    size_t nslots; /* hash slots: a prime, about 10 per chunk */
    size_t nbytes; /* room for every chunk one batch touches */
} sl_h5r_cache;

/* The cache for a chunked dataset of `rank` dimensions, extent `dims`, chunk
 * shape `chunk` and `elem` bytes per element, read `batch` rows at a time:
 * room for the chunks a batch at any row0 touches (along dim 0 at most
 * batch/chunk[0] + 2 of them), between HDF5's default 1 MiB and 256 MiB. */
sl_h5r_cache sl_h5r_cache_for(int rank, const uint64_t *dims, const uint64_t *chunk, size_t elem,
                              uint64_t batch);

/* --- The reader. --- */

typedef struct sl_h5r sl_h5r;

typedef struct sl_h5r_opts {
    const char *path;    /* the file; copied */
    const char *columns; /* the `columns` text; NULL or "" for every root dataset */
    uint64_t batch;      /* rows per batch, >= 1 */
    bool allow_holes;    /* read a file that lists dead letters anyway */
} sl_h5r_opts;

/* Opens the file read-only and every column's dataset, and checks them: a
 * supported type and shape, the same length (dim 0) for all, and a chunk
 * index that reads (walked once, metadata only). A file whose /deadletters
 * lists batches is refused unless o->allow_holes: those rows were never
 * written. Owned by caller: *out (sl_h5r_destroy). On failure nothing stays
 * open. */
sl_status sl_h5r_open(sl_h5r **out, const sl_h5r_opts *o, sl_error *err);

uint64_t sl_h5r_rows(const sl_h5r *r);    /* dim 0 of every dataset */
uint64_t sl_h5r_batches(const sl_h5r *r); /* ceil(rows / batch); 0 when rows is 0 */
int sl_h5r_ncols(const sl_h5r *r);
/* Column i's name and its dataset's path; borrowed from r. */
const char *sl_h5r_col_name(const sl_h5r *r, int i);
const char *sl_h5r_col_path(const sl_h5r *r, int i);

/* The columns its batches carry (sluice/schema.h), each from "FILE:/path". */
sl_status sl_h5r_columns(const sl_h5r *r, sl_schema *out, sl_error *err);
/* "size N bytes, modified 2026-11-27 07:41:03.123456789 UTC": what a resume
 * compares to see whether the file changed. No HDF5 call. */
sl_status sl_h5r_identity(const sl_h5r *r, char *buf, size_t cap, sl_error *err);

/* Makes batch seq in out (which must be reset): its rows, row0 and one
 * column per dataset, read with one hyperslab H5Dread per column. seq past
 * the last batch is SL_ERANGE. */
sl_status sl_h5r_read(sl_h5r *r, uint64_t seq, sl_batch *out, sl_error *err);

/* Closes everything and frees r. Accepts NULL and *r == NULL; sets *r = NULL. */
void sl_h5r_destroy(sl_h5r **r);

#endif
