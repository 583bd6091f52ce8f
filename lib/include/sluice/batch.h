/* sluice/batch.h - the unit that flows: a header plus named, typed columns.
 *
 * A batch is `nrows` rows of named columns. A column holds fixed-size numbers,
 * a fixed-shape array per row (an n x n matrix: ndims 2, dims {n, n}), or
 * variable-length bytes. A column maps onto one HDF5 dataset and the whole
 * batch onto one flat message (sl_batch_pack / sl_batch_unpack).
 *
 * The header: `seq` is the global batch number the source was asked for and
 * fixes where the rows land (`row0` is the global index of the first row), so
 * output is the same for any thread or rank count. `lidx` is the executor's
 * local ordinal, used by ordered stages; stages never set it.
 *
 * A batch is not thread-safe; the executor hands it to one task at a time.
 * Storage is kept across sl_batch_reset so pooled batches stop allocating. */
#ifndef SLUICE_BATCH_H
#define SLUICE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SL_TYPE_I32 = 1,
    SL_TYPE_I64,
    SL_TYPE_U32,
    SL_TYPE_U64,
    SL_TYPE_F32,
    SL_TYPE_F64,
    SL_TYPE_BYTES /* variable-length bytes per row */
} sl_type;

#define SL_COLUMN_NAME_MAX 64 /* including the NUL */
#define SL_MAX_DIMS 3         /* dimensions of one row's array */
#define SL_BATCH_MAX_COLUMNS 32
/* The most column storage (data plus BYTES offsets, all columns together) a
 * meta message may ask sl_batch_unpack_meta to allocate: 1 TiB. The message
 * itself is small whatever sizes it names, so this bound, not the message
 * length, is what stops a corrupt one from asking for absurd allocations. */
#define SL_BATCH_MAX_BYTES ((uint64_t)1 << 40)

/* One column. Stages read these fields; they change them only through the
 * functions below. For fixed types `data` holds nrows * row_elems elements,
 * row-major. For SL_TYPE_BYTES, row i is data[offsets[i] .. offsets[i+1]). */
typedef struct sl_column {
    char name[SL_COLUMN_NAME_MAX];
    sl_type type;
    int ndims;                 /* 0 for one number per row */
    uint64_t dims[SL_MAX_DIMS];
    size_t row_elems;          /* product of dims; 1 for scalars and BYTES */
    void *data;
    uint64_t *offsets;         /* BYTES only: nrows + 1 entries */
    size_t nbytes;             /* bytes of data in use */
    size_t cap_data;           /* allocation sizes, kept across resets */
    size_t cap_offsets;
    bool in_use;
} sl_column;

typedef struct sl_batch sl_batch;

/* Size in bytes of one element of a fixed type; 1 for SL_TYPE_BYTES. */
size_t sl_type_size(sl_type t);
const char *sl_type_name(sl_type t); /* "u64", ... */

/* Creates an empty batch. Owned by caller: *out (sl_batch_destroy). */
sl_status sl_batch_create(sl_batch **out, sl_error *err);
/* Accepts NULL and *b == NULL; sets *b = NULL. */
void sl_batch_destroy(sl_batch **b);

/* Drops every column and zeroes the header; keeps the storage for reuse. */
void sl_batch_reset(sl_batch *b);

uint64_t sl_batch_seq(const sl_batch *b);
uint64_t sl_batch_row0(const sl_batch *b);
uint64_t sl_batch_lidx(const sl_batch *b);
size_t sl_batch_nrows(const sl_batch *b);
void sl_batch_set_seq(sl_batch *b, uint64_t seq, uint64_t lidx);
/* Sources call this before adding columns: rows [row0, row0 + nrows). */
void sl_batch_set_rows(sl_batch *b, uint64_t row0, size_t nrows);

/* Adds a fixed-type column with room for nrows rows (contents undefined) and
 * returns its storage in *data (valid until the column is dropped or the batch
 * reset). dims may be NULL when ndims is 0. Fails on a duplicate name, a bad
 * type or shape, or too many columns. */
sl_status sl_batch_add(sl_batch *b, const char *name, sl_type type, int ndims,
                       const uint64_t *dims, void **data, sl_error *err);

/* Adds an empty BYTES column; fill it with one sl_batch_append_bytes per row,
 * in row order. *col receives its index. */
sl_status sl_batch_add_bytes(sl_batch *b, const char *name, int *col, sl_error *err);
sl_status sl_batch_append_bytes(sl_batch *b, int col, const void *p, size_t len,
                                sl_error *err);

/* Index of the column called name, or -1. */
int sl_batch_find(const sl_batch *b, const char *name);
int sl_batch_ncols(const sl_batch *b);
/* Column i in insertion order (0 <= i < ncols); borrowed from b. */
const sl_column *sl_batch_col(const sl_batch *b, int i);

/* Looks up a fixed-type column by name and checks its type; *data borrows it.
 * The error names the column and the types. */
sl_status sl_batch_get(const sl_batch *b, const char *name, sl_type type,
                       const void **data, sl_error *err);

/* Removes a column if present (its storage is kept for reuse). */
void sl_batch_drop(sl_batch *b, const char *name);

/* Appends rows [first, first + n) of src to dst. A dst without columns
 * takes src's (names, types, shapes) and starts at src's row; otherwise the
 * columns must be the same and the rows must follow dst's last one. */
sl_status sl_batch_append_rows(sl_batch *dst, const sl_batch *src, size_t first, size_t n,
                               sl_error *err);
/* Removes the first n rows (row0 moves on by n). */
void sl_batch_drop_front(sl_batch *b, size_t n);

/* A total this batch contributes to: a reducer's share of the run result
 * `key`, added to the result when the batch leaves the pipeline's last
 * stage, so that totals cover exactly the batches that went through (not
 * one given up later by on_error, and, with resume, none counted twice).
 * Under stage placement, the last stage of each rank's part of the pipeline
 * adds them (they do not travel in a channel, nor in sl_batch_pack).
 * Adding to a key already on the batch adds to it; the type must stay the
 * same. At most SL_BATCH_MAX_RESULTS keys. */
#define SL_BATCH_MAX_RESULTS 32
#define SL_BATCH_RESULT_KEY_MAX (SL_COLUMN_NAME_MAX + 16)
sl_status sl_batch_result_add_u64(sl_batch *b, const char *key, uint64_t v, sl_error *err);
sl_status sl_batch_result_add_f64(sl_batch *b, const char *key, double v, sl_error *err);
size_t sl_batch_result_count(const sl_batch *b);
void sl_batch_result_get(const sl_batch *b, size_t i, const char **key, sl_type *type,
                         uint64_t *u, double *f);
/* Moves every contribution of src onto dst (adding), leaving src none. */
sl_status sl_batch_results_move(sl_batch *dst, sl_batch *src, sl_error *err);

/* Makes dst an exact copy of src: header (seq, lidx, rows) and every column
 * with its contents, reusing dst's storage. On failure dst is reset. */
sl_status sl_batch_copy(sl_batch *dst, const sl_batch *src, sl_error *err);

/* Flat serialisation: one contiguous little-endian-native buffer holding the
 * header and every column. pack needs sl_batch_packed_size bytes. unpack
 * validates every length and name (the buffer may come from the network or a
 * fuzzer) and replaces b's contents. */
size_t sl_batch_packed_size(const sl_batch *b);
sl_status sl_batch_pack(const sl_batch *b, void *buf, size_t cap, size_t *used, sl_error *err);
sl_status sl_batch_unpack(sl_batch *b, const void *buf, size_t len, sl_error *err);

/* The same split in two, so the data can travel without a copy (MPI sends
 * them straight from and into the columns): the meta message describes the
 * header and the columns with their sizes but carries no data. unpack_meta
 * validates it and gives b columns of those sizes with undefined contents
 * (each column's data, then for BYTES its nrows + 1 offsets, are then to be
 * filled in column order), refusing a message whose columns together exceed
 * SL_BATCH_MAX_BYTES; check_offsets validates the BYTES offsets once they
 * are in. */
size_t sl_batch_meta_size(const sl_batch *b);
sl_status sl_batch_pack_meta(const sl_batch *b, void *buf, size_t cap, size_t *used,
                             sl_error *err);
sl_status sl_batch_unpack_meta(sl_batch *b, const void *buf, size_t len, sl_error *err);
sl_status sl_batch_check_offsets(const sl_batch *b, sl_error *err);

/* A lock-free pool of batches, safe for any number of threads. get returns a
 * reset batch (cached or new); put resets it and caches it, or frees it once
 * `max_cached` are cached. Owned by caller: the pool and each batch between
 * get and put. Destroying the pool frees the cached batches only. */
typedef struct sl_batch_pool sl_batch_pool;

sl_status sl_batch_pool_create(sl_batch_pool **out, size_t max_cached, sl_error *err);
sl_status sl_batch_pool_get(sl_batch_pool *p, sl_batch **out, sl_error *err);
void sl_batch_pool_put(sl_batch_pool *p, sl_batch *b);
/* Batches handed out and not yet returned: now, and the most at any instant. */
size_t sl_batch_pool_alive(const sl_batch_pool *p);
size_t sl_batch_pool_peak(const sl_batch_pool *p);
void sl_batch_pool_destroy(sl_batch_pool **p);

#ifdef __cplusplus
}
#endif
#endif
