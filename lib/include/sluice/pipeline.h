/* sluice/pipeline.h - building and running a pipeline on one node.
 *
 * A pipeline is a source, then transforms, then optionally a sink, joined by
 * bounded queues, run on OpenMP tasks that never block (see docs/architecture.md).
 * Build it from a job file (sl_pipeline_from_job) or stage by stage
 * (sl_pipeline_create + sl_pipeline_add, as tests do with in-process stages). */
#ifndef SLUICE_PIPELINE_H
#define SLUICE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/error.h>
#include <sluice/job.h>
#include <sluice/param.h>
#include <sluice/plugin.h>
#include <sluice/policy.h>
#include <sluice/stage.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_pipeline sl_pipeline;

typedef struct sl_pipeline_opts {
    int threads;             /* 0: OpenMP's default */
    const char *output;      /* the file the sink makes; NULL without a sink */
    bool force;              /* replace an existing output file */
    const char *job_name;    /* for metadata; may be NULL */
    const char *job_text;    /* the job's YAML text, recorded by sinks; may be NULL */
    bool validate_only;      /* build and check, never touch the output path */
    /* Resume (docs/resume.md), used by sl_dist_run (sl_pipeline_run keeps no
     * state): a run with an output keeps OUT.sluice/ until it succeeds. */
    bool resume;             /* continue the run OUT.sluice/ holds (or start, if none) */
    bool retry_deadletters;  /* with resume: run the dead letters' batches again */
    bool no_state;           /* keep no state: the run cannot be resumed */
    double checkpoint_s;     /* seconds between checkpoints; 0: 60; < 0: only when stopping */
} sl_pipeline_opts;

typedef struct sl_stage_opts {
    int concurrency;   /* 0: threads for parallel stages, 1 otherwise */
    int queue;         /* 0: default capacity of the input queue */
    int mode;          /* 0: the stage's default */
    const sl_stage_policy *policy; /* NULL: SL_STAGE_POLICY_DEFAULT; copied */
} sl_stage_opts;

/* Per-stage figures after a run. */
typedef struct sl_stage_stats {
    const char *name;
    uint64_t batches;   /* batches that went through */
    uint64_t rows;
    double busy_s;      /* summed time inside the stage's callbacks */
    int concurrency;    /* as resolved */
    int queue;          /* capacity of its input queue (0 for the source) */
    sl_stage_mode mode;
    uint64_t retries;   /* attempts made again after a failure */
    uint64_t timeouts;  /* attempts that ran past the stage's timeout */
    uint64_t dropped;   /* batches given up (on_error: skip or deadletter) */
    uint64_t slow;      /* attempts that took longer than the stage's warn_slow */
} sl_stage_stats;

/* Checks the output path at once (directory exists and is writable; an
 * existing file needs force). Owned by caller: *out. */
sl_status sl_pipeline_create(sl_pipeline **out, const sl_pipeline_opts *opts, sl_error *err);

/* Appends a stage. Borrows: d (must outlive p). Takes ownership: params (also
 * on failure). Creates the stage's instances. Structure errors (a source that
 * is not first, anything after a sink, a bad mode) name the stage. */
sl_status sl_pipeline_add(sl_pipeline *p, const sl_stage_desc *d, const char *name,
                          sl_params *params, const sl_stage_opts *so, sl_error *err);

/* Builds the pipeline a job describes: finds each plugin, checks every
 * parameter against its table (errors carry file:line:col), checks the
 * structure. threads and output from opts win over the job's. */
sl_status sl_pipeline_from_job(sl_pipeline **out, const sl_job *job, sl_registry *reg,
                               const sl_pipeline_opts *opts, sl_error *err);

/* The watchdog: when no batch finishes for `seconds`, the run is declared
 * hung. It prints (stderr) which stage, batch seq, thread and rank have run
 * longest, asks the run to stop (the run then fails; see
 * sl_pipeline_watchdog_fired), and if the run has not stopped within
 * min(5 s, seconds), removes the run's temporary output and ends the process
 * with _exit(SL_WATCHDOG_EXIT_STATUS). seconds <= 0 or NaN: off (the default
 * of a pipeline; the sluice command turns it on); above SL_WATCHDOG_MAX_S:
 * that. Call before sl_pipeline_run. Not thread-safe; not collective (each
 * rank watches itself). See docs/failures.md. */
#define SL_WATCHDOG_EXIT_STATUS 4
#define SL_WATCHDOG_MAX_S 31536000.0 /* a year */
void sl_pipeline_set_watchdog(sl_pipeline *p, double seconds);

/* Runs to the end. On success the sink's file is in place under the user's
 * name; on failure no output file is left behind and err names the stage and
 * batch seq. Runs once. The first run of a process installs handlers for
 * SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT that print the stage and batch
 * the crashing thread was in, then pass the signal on to the handler that was
 * there before (so the process still dies by it). */
sl_status sl_pipeline_run(sl_pipeline *p, sl_error *err);

/* Asks a running pipeline to stop: no job starts any more, kernels see
 * sl_ctx_should_stop, the run fails with SL_ECANCELED. Async-signal-safe. */
void sl_pipeline_request_stop(sl_pipeline *p);
/* Asks it to stop gently: the sources stop, the batches in flight go
 * through every stage, then the run fails with SL_ECANCELED (a run that
 * keeps a state checkpoints them first). Async-signal-safe. */
void sl_pipeline_request_drain(sl_pipeline *p);
/* After a run that did not succeed: true when OUT.sluice/ (returned by
 * sl_pipeline_state_dir) keeps its finished batches, so that a run with
 * the same job and sl_pipeline_opts.resume continues it (docs/resume.md). */
bool sl_pipeline_resumable(const sl_pipeline *p);
const char *sl_pipeline_state_dir(const sl_pipeline *p);
/* Before a run: whether its state allows it (docs/resume.md): a new run
 * must not meet an interrupted one's OUT.sluice/ (unless force), a resume
 * must meet the same job (else one line per difference). Reads only. */
sl_status sl_pipeline_check_state(const sl_pipeline *p, sl_error *err);
/* Batches earlier runs finished, which this resumed run did not make again. */
uint64_t sl_pipeline_batches_resumed(const sl_pipeline *p);

size_t sl_pipeline_nstages(const sl_pipeline *p);
void sl_pipeline_stage_stats(const sl_pipeline *p, size_t i, sl_stage_stats *out);
int sl_pipeline_threads(const sl_pipeline *p);
double sl_pipeline_wall(const sl_pipeline *p);       /* seconds of the last run */
uint64_t sl_pipeline_batches(const sl_pipeline *p);  /* batches the source made */
uint64_t sl_pipeline_rows(const sl_pipeline *p);
/* The most batches alive at once during the run, and the bound the queue
 * capacities and concurrencies allow (the executor guarantees peak <= bound). */
size_t sl_pipeline_peak_batches(const sl_pipeline *p);
size_t sl_pipeline_batch_bound(const sl_pipeline *p);
/* Batches given up by stages with on_error: skip or deadletter (all
 * stages, this rank); the dead letters themselves are on the run's context
 * (sl_ctx_deadletter_count in sluice/stage.h). */
uint64_t sl_pipeline_dropped(const sl_pipeline *p);
/* How far the running pipeline is, for a progress line: *done = batches that
 * have left the last stage or were given up (this rank), *total = the
 * batches of the job's plan (all ranks; 0 before a plan is known). Safe to
 * call from any thread while sl_pipeline_run runs, and before or after it;
 * each figure is read atomically, the two not together, so *done may lag.
 * Not collective: under MPI each rank sees only its own batches. */
void sl_pipeline_progress(const sl_pipeline *p, uint64_t *done, uint64_t *total);
/* Whether the watchdog declared the run hung (it then asked the run to stop,
 * and the run failed). */
bool sl_pipeline_watchdog_fired(const sl_pipeline *p);
/* The run's results and metadata (as the stages saw them); borrowed. */
const sl_ctx *sl_pipeline_ctx(const sl_pipeline *p);

void sl_pipeline_destroy(sl_pipeline **p);

#ifdef __cplusplus
}
#endif
#endif
