/* lib/pipeline/phase.h - a run in phases, for the distribution layer.
 *
 * sl_pipeline_run is begin, batches, finish, commit. A multi-rank run
 * (lib/dist) needs its own steps between them: agree on failures, reduce the
 * results before the sink records them, merge the ranks' part files before
 * the output is published. So the phases are exported here, and the pipeline
 * itself stays free of MPI: which batches a rank makes comes through a feed.
 *
 * Exported from libsluice for libsluice_dist only; not a public API. */
#ifndef SLUICE_PIPELINE_PHASE_H
#define SLUICE_PIPELINE_PHASE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/error.h>
#include <sluice/pipeline.h>

typedef enum sl__feed_status {
    SL__FEED_HAVE, /* *seq is this rank's next batch */
    SL__FEED_WAIT, /* none now; more may come (wait() says when) */
    SL__FEED_END   /* this rank gets no more */
} sl__feed_status;

/* Where a rank's seq numbers come from. Without a feed a run makes every
 * batch of the source's plan, in order. */
typedef struct sl__feed {
    void *self;
    /* The next seq, in increasing order. Called by one thread at a time (the
     * source's firer, any thread of the team); must not block. A feed may
     * hand over a whole batch (*b, taken from sl__run_pool: the source's
     * produce() is then skipped), as a channel from another rank does; it
     * leaves *b NULL otherwise. */
    sl__feed_status (*claim)(void *self, uint64_t *seq, sl_batch **b);
    /* Called between rounds, with no job running, after claim said WAIT:
     * returns once claim may say HAVE or END, or *stop is non-zero. */
    void (*wait)(void *self, const atomic_int *stop);
} sl__feed;

/* Rows [lo, hi) of the output. */
typedef struct sl__row_range {
    uint64_t lo, hi;
} sl__row_range;

/* Called between rounds when the run is not over and nothing can fire:
 * returns when something outside the pipeline may have changed (input or
 * credits arrived) or *stop is set. Without one, the feed's wait is used. */
typedef struct sl__waiter {
    void *self;
    void (*wait)(void *self, const atomic_int *stop);
} sl__waiter;

/* Credits for the last stage: when set, it fires only with one taken from
 * *credits (someone outside, a channel, gives them). Set before the run. */
void sl__run_set_tail_credits(sl_pipeline *p, atomic_long *credits);
void sl__run_set_waiter(sl_pipeline *p, const sl__waiter *w);
/* The last stage keeps the batches it processed successfully (a channel
 * sends from their storage and returns them to the pool itself). */
void sl__run_set_tail_keeps(sl_pipeline *p, bool keeps);
/* The plan as the whole job sees it (a segment's head stage does not know). */
void sl__run_set_plan(sl_pipeline *p, uint64_t batches, uint64_t rows);
/* The batches of the run (after sl__run_begin). */
sl_batch_pool *sl__run_pool(sl_pipeline *p);
/* Instance k of stage i, to hand a built-in stage its state. */
void **sl__run_instance(sl_pipeline *p, size_t i, int k);
/* The stage's resolved mode, and its input capacity. */
sl_stage_mode sl__run_stage_mode(const sl_pipeline *p, size_t i);
int sl__run_stage_queue(const sl_pipeline *p, size_t i);
/* A stage of a job file, resolved against the registry, appended to p. */
sl_status sl__run_add_job_stage(sl_pipeline *p, const sl_job_stage *js, sl_registry *reg,
                                sl_error *err);

/* Prepares a run on rank `rank` of `nranks`. sink_path, when not NULL,
 * replaces the file the sink writes (a rank's part file); record_rows keeps
 * the row range of every batch the last stage completes (sl__run_rows). */
sl_status sl__run_begin(sl_pipeline *p, int rank, int nranks, const char *sink_path,
                        bool record_rows, sl_error *err);
/* Runs the batches the feed gives (NULL: all of them); sets the wall time.
 * On failure err names the stage and the batch seq. */
sl_status sl__run_batches(sl_pipeline *p, const sl__feed *feed, sl_error *err);
/* finish() of every instance of stages [from, to). */
sl_status sl__run_finish(sl_pipeline *p, size_t from, size_t to, sl_error *err);
/* Index of the stage that writes the output file; nstages when none. */
size_t sl__run_writer(const sl_pipeline *p);
/* Publishes the output under the user's name / removes what the run wrote. */
sl_status sl__run_commit(sl_pipeline *p, sl_error *err);
void sl__run_discard(sl_pipeline *p);

/* The file the sink writes, the path the output is published from (its
 * ".part"), and the user's path; NULL without output. */
const char *sl__run_sink_path(const sl_pipeline *p);
const char *sl__run_output_tmp(const sl_pipeline *p);
const char *sl__run_output(const sl_pipeline *p);
/* Rows the last stage completed on this rank (with record_rows), unsorted. */
const sl__row_range *sl__run_rows(const sl_pipeline *p, size_t *n);

/* Replaces the run's figures with the job's (sums over ranks, the longest
 * wall time) so that rank 0's summary and file speak for the whole job. */
void sl__run_set_stage_figures(sl_pipeline *p, size_t i, uint64_t batches, uint64_t rows,
                               double busy_s);
sl_status sl__run_set_wall(sl_pipeline *p, double wall, sl_error *err);
/* The same for the failure figures (retries, timeouts, batches dropped,
 * slow attempts); the run's dropped total follows. */
void sl__run_set_stage_failures(sl_pipeline *p, size_t i, uint64_t retries, uint64_t timeouts,
                                uint64_t dropped, uint64_t slow);
/* Replaces the dead letters (read them with sl_ctx_deadletter_get): clear,
 * add each, sort by seq. Rank 0 holds the job's, the other ranks none, so
 * only rank 0's file lists them. */
void sl__run_clear_dead(sl_pipeline *p);
sl_status sl__run_add_dead(sl_pipeline *p, uint64_t seq, const char *stage, unsigned attempts,
                           const char *error, sl_error *err);
void sl__run_sort_dead(sl_pipeline *p);
/* Results as published so far; replace them with the reduced ones. */
size_t sl__run_nresults(const sl_pipeline *p);
void sl__run_result(const sl_pipeline *p, size_t i, const char **key, sl_type *type, uint64_t *u,
                    double *f);
void sl__run_clear_results(sl_pipeline *p);
/* Adds a batch's result contributions to the run's running totals (any
 * thread; atomic adds, a lock only the first time a name is seen); flush
 * moves the totals into the results once no batch runs. */
sl_status sl__run_fold_results(sl_pipeline *p, const sl_batch *b, sl_error *err);
sl_status sl__run_fold_flush(sl_pipeline *p, sl_error *err);
/* Adds to (or creates) a result, as sl_ctx_result_add_* do. */
sl_status sl__run_result_add(sl_pipeline *p, const char *key, sl_type type, uint64_t u, double f,
                             sl_error *err);
bool sl__run_failed_or_stopping(const sl_pipeline *p);
uint64_t sl__run_total_batches(const sl_pipeline *p);

/* Resume (lib/pipeline/checkpoint.c, docs/resume.md). -------------------- */

typedef enum sl__ckpt_mode {
    SL__CKPT_FRESH,   /* a new run: OUT.sluice/ must not exist */
    SL__CKPT_REPLACE, /* a new run replacing an old state (--force) */
    SL__CKPT_RESUME,  /* continue the state's run (same fingerprint) */
    SL__CKPT_JOIN     /* another rank of a run whose rank 0 opened the state */
} sl__ckpt_mode;

typedef struct sl__ckpt_opts {
    double interval_s;      /* seconds between checkpoints; 0: only the last */
    bool retry_deadletters; /* the dead letters' batches run again */
    bool restore;           /* this rank carries the earlier runs' totals and dead letters */
    bool keep_last;         /* at a successful end the open segment is left for finish() */
} sl__ckpt_opts;

/* Why p cannot keep a resumable state (no output, a sink without a
 * checkpoint callback, a rebatch stage); NULL when it can. */
const char *sl__ckpt_unsupported(const sl_pipeline *p);
/* Opens OUT.sluice/ after sl__run_begin (rank 0 first with FRESH, REPLACE or
 * RESUME, then the others with JOIN), points the sink at this rank's next
 * segment and works out the seqs left to make. */
sl_status sl__ckpt_open(sl_pipeline *p, sl__ckpt_mode mode, const sl__ckpt_opts *o,
                        sl_error *err);
const char *sl__ckpt_dir(const sl_pipeline *p);
/* Batches left to make, and finished by earlier runs. */
uint64_t sl__ckpt_todo(const sl_pipeline *p);
uint64_t sl__ckpt_finished(const sl_pipeline *p);
/* The feed of the seqs left: inner's positions (NULL: 0, 1, 2, ...; a
 * schedule made for sl__ckpt_todo batches) mapped to unfinished seqs. */
const sl__feed *sl__ckpt_feed(sl_pipeline *p, const sl__feed *inner);
/* A checkpoint now (no batch may run in the writer). */
sl_status sl__ckpt_write(sl_pipeline *p, sl_error *err);
/* After the batches, on the rank that speaks for the job: adds the earlier
 * runs' totals and dead letters. */
sl_status sl__ckpt_restore(sl_pipeline *p, sl_error *err);
/* Every segment the journals name (all ranks, all runs), read from disk. */
typedef struct sl__ckpt_seg {
    char *path;
    const sl__row_range *rows; /* borrowed from the state */
    size_t nrows;
} sl__ckpt_seg;
sl_status sl__ckpt_segments(sl_pipeline *p, sl__ckpt_seg **out, size_t *n, sl_error *err);
void sl__ckpt_segments_free(sl__ckpt_seg *v, size_t n);
/* After a failure: removes OUT.sluice/ when no journal (of any rank or
 * run) has a record, as there is nothing to resume (one rank, after the
 * others stopped writing). */
sl_status sl__ckpt_drop_if_empty(sl_pipeline *p, sl_error *err);
/* After the output is in place, when it has dead letters: replaces the
 * state by one record naming the output, its finished seqs (all but the
 * dead letters'), rows, totals and dead letters, so that --resume
 * --retry-deadletters can make those batches again. */
sl_status sl__ckpt_keep(sl_pipeline *p, sl_error *err);
/* Removes OUT.sluice/ (once the output is in place). */
sl_status sl__ckpt_remove(sl_pipeline *p, sl_error *err);
void sl__ckpt_close(sl_pipeline *p);
/* Stop softly: the sources stop, the batches in flight go through. */
void sl__run_request_drain(sl_pipeline *p);
/* What the options asked: resume (returned), retry dead letters, seconds
 * between checkpoints (< 0: none but the last), replace (--force). */
bool sl__run_resume_wanted(const sl_pipeline *p, bool *retry_dead, double *checkpoint_s,
                           bool *force);
bool sl__run_no_state(const sl_pipeline *p);

#endif
