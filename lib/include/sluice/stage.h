/* sluice/stage.h - the whole plugin ABI: what a stage exports and may call.
 *
 * A stage plugin is a shared object exporting one function, sl_stage_entry,
 * that returns a pointer to a const sl_stage_desc. The loader checks `abi`,
 * `size`, `kind` and the callbacks the kind needs, and says why it rejects a
 * file. New fields are only ever appended (taking room from `reserved`).
 *
 * Stage lifecycle, guaranteed by the core:
 *  1. create() runs once per instance after the parameters validated. A stage
 *     gets one instance per concurrency slot, so process() needs no locks on
 *     its own state. If create() fails, destroy() is not called for it.
 *     Returning SL_ENOTAVAIL declines quietly (e.g. no GPU on this node).
 *  2. Sources: plan() runs once on the first instance and says how many
 *     batches there are. produce(seq) then builds batch `seq` on demand, for
 *     any seq in [0, batches), in any order, on any instance, any number of
 *     times: the same seq must always give the same batch.
 *  3. process() runs many times, never concurrently on the same instance. It
 *     reads the batch's columns and may add or drop columns in place. Sinks
 *     (last stage) consume the batch; the core recycles it afterwards.
 *  4. finish() runs once per instance, single-threaded, after every batch went
 *     through and only when the run succeeded; it may publish results.
 *  5. destroy() runs exactly once per successful create(), even after a
 *     failure. Batches given to a callback are borrowed and valid only until
 *     it returns. Stages never call MPI and never start threads of their own
 *     without being told to (kernels with thread pools run single-threaded).
 *
 * Error handling: a callback returns SL_OK or fills err (SL_CHECK / SL_FAIL)
 * and returns the status; the core prefixes the stage name and batch seq. */
#ifndef SLUICE_STAGE_H
#define SLUICE_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/batch.h>
#include <sluice/error.h>
#include <sluice/param.h>
#include <sluice/schema.h>
#include <sluice/stats.h>
#include <sluice/version.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { SL_KIND_SOURCE = 1, SL_KIND_TRANSFORM, SL_KIND_SINK } sl_stage_kind;

/* parallel: many batches at once, any order. serial: one at a time, any
 * order. ordered: one at a time, in seq order (local seq order per rank). */
typedef enum { SL_MODE_PARALLEL = 1, SL_MODE_SERIAL, SL_MODE_ORDERED } sl_stage_mode;

/* The stage keeps one instance whatever the job asks (a file handle, say);
 * the job may still choose serial or ordered. */
#define SL_STAGE_SINGLE_INSTANCE 0x1u
/* The stage writes the run's output file (sl_ctx_output_path): a run needs an
 * output path, and the file is published only when the run succeeds. */
#define SL_STAGE_WRITES_FILE 0x2u
/* The stage calls a library that is not thread-safe (HDF5 here). The
 * executor never runs two jobs of such stages of one pipeline at once (one
 * token, taken when the job is fired, like a credit), so no task ever waits
 * for another to leave the library. The stage still takes sl_library_lock
 * around its calls: that covers other pipelines in the process (a rank that
 * hosts two segments in stage mode), where it may wait. */
#define SL_STAGE_EXCLUSIVE_LIBRARY 0x4u
/* The executor does the stage's work itself: it joins and splits batches to
 * the row count of the stage's `rows` parameter (stages/rebatch; see
 * docs/job-files.md). Its process() is never called. */
#define SL_STAGE_REBATCH 0x8u

/* What a source knows up front. rows is SL_ROWS_UNKNOWN when it cannot say. */
#define SL_ROWS_UNKNOWN UINT64_MAX
typedef struct sl_source_plan {
    uint64_t batches;
    uint64_t rows;
} sl_source_plan;

/* The run as a stage sees it; borrowed by every callback. */
typedef struct sl_ctx sl_ctx;

typedef struct sl_stage_desc {
    uint32_t abi;             /* SL_STAGE_ABI the stage was built with */
    uint32_t size;            /* sizeof(sl_stage_desc) as the stage saw it */
    const char *name;         /* "primes": lower_snake, also the file name */
    const char *summary;      /* one line for `sluice stages` */
    const char *version;      /* the stage's own version, "1.0.0" */
    sl_stage_kind kind;
    sl_stage_mode mode;       /* default mode; the job file may change it */
    uint32_t flags;           /* SL_STAGE_* */
    const sl_param_spec *params; /* ends with SL_PARAM_END; may be NULL */

    sl_status (*create)(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err);
    sl_status (*plan)(void *state, sl_source_plan *plan, sl_error *err);          /* sources */
    sl_status (*produce)(void *state, uint64_t seq, sl_batch *out, sl_ctx *ctx,
                         sl_error *err);                                          /* sources */
    sl_status (*process)(void *state, sl_batch *b, sl_ctx *ctx, sl_error *err);   /* others */
    sl_status (*finish)(void *state, sl_ctx *ctx, sl_error *err);                 /* optional */
    void (*destroy)(void *state);                                                 /* optional */
    /* Sinks that write the output (SL_STAGE_WRITES_FILE), optional: close the
     * file so that every byte written is in it; the next process() writes to
     * sl_ctx_output_path, which then names a new file. Called between
     * batches, never during one. Without it a run cannot be resumed
     * (docs/resume.md). */
    sl_status (*checkpoint)(void *state, sl_ctx *ctx, sl_error *err);
    /* Optional (sluice/schema.h): the columns after this stage. `in` holds
     * those that reach it (NULL for a source) and `out` starts as a copy of
     * it; the stage checks what it needs (sl_schema_need) and sets what it
     * adds, replaces or drops. Called once, on the first instance, when the
     * stage is added, so before any batch (and by `sluice validate`). Not
     * called when the columns reaching it are unknown (a stage before it
     * has no such callback). */
    sl_status (*columns)(void *state, const sl_schema *in, sl_schema *out, sl_ctx *ctx,
                         sl_error *err);

    void *reserved[6];
} sl_stage_desc;

#if defined(__GNUC__)
#define SL_API __attribute__((visibility("default")))
#else
#define SL_API
#endif

typedef const sl_stage_desc *(*sl_stage_entry_fn)(void);
#define SL_STAGE_ENTRY_SYMBOL "sl_stage_entry"
#define SL_STAGE_EXPORT(d) \
    SL_API const sl_stage_desc *sl_stage_entry(void) { return &(d); }

/* --- What a stage may ask of the run (thread-safe unless said otherwise). --- */

const char *sl_ctx_stage_name(const sl_ctx *c); /* this instance's name in the job */
const char *sl_ctx_job_name(const sl_ctx *c);
/* The file a sink must write. The core picks a temporary name and renames it
 * to the user's path only when the run succeeded. NULL when there is none. */
const char *sl_ctx_output_path(const sl_ctx *c);
int sl_ctx_threads(const sl_ctx *c);
int sl_ctx_rank(const sl_ctx *c);
int sl_ctx_nranks(const sl_ctx *c);
double sl_ctx_elapsed(const sl_ctx *c);      /* seconds since the run started */
uint64_t sl_ctx_total_batches(const sl_ctx *c);
uint64_t sl_ctx_total_rows(const sl_ctx *c); /* SL_ROWS_UNKNOWN when unknown */
/* Cheap; true once the run is failing or asked to stop. Long kernels check it
 * between pieces of work and return SL_ECANCELED. */
bool sl_ctx_should_stop(const sl_ctx *c);

/* Run metadata as text (job name, YAML text, version, threads, ranks, wall
 * time...), for sinks to record. Keys are lower_snake. */
/* Dead letters: the batches stages with `on_error: deadletter` gave up, in
 * seq order, complete once the batches are done (read them in finish(), as
 * h5sink does to store them). stage and error are borrowed from the run. */
size_t sl_ctx_deadletter_count(const sl_ctx *c);
void sl_ctx_deadletter_get(const sl_ctx *c, size_t i, uint64_t *seq, const char **stage,
                           unsigned *attempts, const char **error);
/* From create(): an input the stage reads (a file's path) and a short text
 * that changes when the input does (its size and modification time). The
 * resume state keeps them, and `--resume` refuses to continue over an input
 * that changed, naming it (docs/resume.md): the batches already written
 * came from the old data. Calling again with the same name replaces the
 * text (each instance of a stage may call it). A NULL c records nothing. */
sl_status sl_ctx_input(sl_ctx *c, const char *name, const char *identity, sl_error *err);
size_t sl_ctx_meta_count(const sl_ctx *c);
void sl_ctx_meta_get(const sl_ctx *c, size_t i, const char **key, const char **value);

/* Named numeric results of the run (the totals of `sum`): added up across
 * instances (and ranks), printed in the summary, stored by sinks. Call only
 * from finish(). */
sl_status sl_ctx_result_add_u64(sl_ctx *c, const char *key, uint64_t v, sl_error *err);
sl_status sl_ctx_result_add_f64(sl_ctx *c, const char *key, double v, sl_error *err);
size_t sl_ctx_result_count(const sl_ctx *c);
/* *type is SL_TYPE_U64 (value in *u) or SL_TYPE_F64 (value in *f). */
void sl_ctx_result_get(const sl_ctx *c, size_t i, const char **key, sl_type *type, uint64_t *u,
                       double *f);

/* The run's statistics (sluice/stats.h; docs/stats.md), complete in
 * finish(): as JSON text (schema "sluice-stats/1"; borrowed, valid until the
 * next call on this run or the end of the run) and per stage of the job.
 * NULL / 0 / false where the job's figures are not held: with metrics off,
 * and on every rank but 0 of a multi-rank run. */
const char *sl_ctx_stats_json(const sl_ctx *c);
size_t sl_ctx_stats_nstages(const sl_ctx *c);
bool sl_ctx_stats_stage(const sl_ctx *c, size_t i, sl_stage_metrics *out);

/* --- Libraries that are not thread-safe. ---
 *
 * One process-wide recursive lock per library name, shared by every stage:
 * two stages may call the same library from two tasks at once (an HDF5
 * source and the HDF5 sink), so each holds the library's lock around its
 * calls. "hdf5" is the one name defined (any case); any other name, NULL
 * included, maps to one shared catch-all lock. Rules: tasks that call a
 * non-thread-safe library hold it for a short call sequence; never across
 * waiting for other batches. Unlock as many times as you locked, from the
 * same thread. Thread-safe; never fails. */
void sl_library_lock(const char *library);
void sl_library_unlock(const char *library);

#ifdef __cplusplus
}
#endif
#endif
