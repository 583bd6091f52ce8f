/* stages/h5sink/h5sink.h - the HDF5 writer behind the h5sink stage (private).
 *
 * The writer knows nothing of the run: it gets a path, chunking and
 * compression, then batches and attributes, so the unit test drives it
 * without an executor. One column becomes one dataset at the root, named
 * after the column, shaped (rows, dims...); a batch's rows land at
 * sl_batch_row0, which is what makes the file the same for any thread or
 * rank count. Not thread-safe (nor is the HDF5 build): the stage is serial
 * and single-instance, so calls never overlap.
 *
 * Every failure is one line: "<file>: dataset '<col>': <what>: <HDF5's
 * innermost reason>". */
#ifndef SLUICE_H5SINK_H
#define SLUICE_H5SINK_H

#include <stdbool.h>
#include <stdint.h>

#include <sluice/batch.h>
#include <sluice/error.h>
#include <sluice/stage.h> /* SL_ROWS_UNKNOWN */

typedef struct sl_h5w sl_h5w;

typedef struct sl_h5w_opts {
    const char *path;     /* copied */
    uint64_t chunk_rows;  /* 0: rows for about 1 MiB per chunk */
    unsigned compression; /* gzip level 0..9; 0: none */
} sl_h5w_opts;

/* Makes a writer; touches no file yet. Owned by caller: *out. */
sl_status sl_h5w_create(sl_h5w **out, const sl_h5w_opts *o, sl_error *err);

/* Creates the file (truncating) and one dataset per column of `first`
 * (NULL: a file without datasets). total_rows fixes the datasets' length, or
 * SL_ROWS_UNKNOWN makes them extendible. Once only. */
sl_status sl_h5w_begin(sl_h5w *w, const sl_batch *first, uint64_t total_rows, sl_error *err);
bool sl_h5w_started(const sl_h5w *w);

/* Writes b's rows at sl_batch_row0(b). b must have exactly the first batch's
 * columns (names, types, shapes); the error names the column that differs. */
sl_status sl_h5w_write(sl_h5w *w, const sl_batch *b, sl_error *err);

/* Root attributes (replaced when the key exists). */
sl_status sl_h5w_attr_str(sl_h5w *w, const char *key, const char *value, sl_error *err);
sl_status sl_h5w_attr_u64(sl_h5w *w, const char *key, uint64_t v, sl_error *err);
sl_status sl_h5w_attr_f64(sl_h5w *w, const char *key, double v, sl_error *err);

/* Closes every dataset and the file, reporting the first failure. */
/* Writes the run's dead letters (sl_ctx_deadletter_get) as the group
 * /deadletters; nothing when there are none. */
sl_status sl_h5w_deadletters(sl_h5w *w, const sl_ctx *ctx, sl_error *err);
/* Writes the run's statistics (sl_ctx_stats_json): the root attribute
 * stats_json and the group /stats, one row per stage; nothing where the run
 * holds none (metrics off, ranks other than 0). Timing figures differ from
 * run to run, so they never go into root datasets. */
sl_status sl_h5w_stats(sl_h5w *w, const sl_ctx *ctx, sl_error *err);
sl_status sl_h5w_close(sl_h5w *w, sl_error *err);

/* Closes whatever is still open, ignoring errors (after a failure), and frees
 * w. Accepts NULL and *w == NULL; sets *w = NULL. */
void sl_h5w_destroy(sl_h5w **w);

#endif
