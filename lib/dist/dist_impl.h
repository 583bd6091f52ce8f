/* lib/dist/dist_impl.h - the distribution layer's private state, shared by
 * dist.c (MPI start and agreement), sched.c (who makes which batch),
 * reduce.c (results and figures to rank 0) and run.c (a run over ranks). */
#ifndef SLUICE_DIST_IMPL_H
#define SLUICE_DIST_IMPL_H

#include <mpi.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <sluice/dist.h>

#include "pipeline/phase.h"

struct sl_dist {
    bool mpi;       /* MPI was started by us */
    int rank, size;
    MPI_Comm comm;  /* a duplicate of MPI_COMM_WORLD: our messages never meet a user's */
};

/* sched.c ---------------------------------------------------------------- */

/* A rank's feed of seqs and the communication it needs while batches run.
 * progress() is called by the rank's main thread in a loop while the team
 * runs the batches on another thread (nothing to do for static). */
typedef struct sl__sched sl__sched;

sl_status sl__sched_create(sl__sched **out, sl_dist *d, const sl_job_dist *how,
                           uint64_t total_batches, sl_error *err);
/* The same over the ranks of comm (stage mode: the source's group). */
sl_status sl__sched_create_on(sl__sched **out, MPI_Comm comm, int rank, int size, bool mpi,
                              const sl_job_dist *how, uint64_t total_batches, sl_error *err);
const sl__feed *sl__sched_feed(sl__sched *s);
/* true when the batches must run beside a communication loop */
bool sl__sched_needs_progress(const sl__sched *s);
/* One step of the communication loop: take a chunk when the reserve is low,
 * let MPI progress. Sleeps at most about a millisecond. `failed`: this rank
 * is failing, so the others should stop taking work. */
sl_status sl__sched_progress(sl__sched *s, bool failed, sl_error *err);
/* Wakes whoever sleeps in progress() (the batches ended). */
void sl__sched_wake(sl__sched *s);
/* Collective: frees the MPI window. */
void sl__sched_destroy(sl__sched **s);

/* dist.c: like sl_dist_agree (names the rank), but a failure only caused
 * by another rank's (induced) ranks after every original one. */
sl_status sl__dist_agree_cause(sl_dist *d, sl_status s, sl_error *err, bool induced);

/* dist_run.c: rank 0 merges the ranks' part files of p's output and
 * publishes it. */
sl_status sl__merge_parts(sl_dist *d, sl_pipeline *p, sl__row_range **ranges, size_t *nranges,
                          sl_error *err);

/* dist_run.c: runs p's batches from feed; with a schedule that needs it,
 * on a thread of their own while this thread keeps the schedule going. */
sl_status sl__dist_run_batches(sl_dist *d, sl_pipeline *p, sl__sched *sched,
                               const sl__feed *feed, sl_error *err);

/* resume_run.c: a run that keeps OUT.sluice/ (docs/resume.md), any rank
 * count, batch mode. */
sl_status sl__resume_run(sl_dist *d, sl_pipeline *p, const sl_job *job, sl_error *err);

/* stage_run.c: a run with stages placed on rank groups. */
sl_status sl__stage_run(sl_dist *d, sl_pipeline *full, const sl_job *job, sl_registry *reg,
                        sl_error *err);

/* reduce.c --------------------------------------------------------------- */

/* Rank 0's results become the job's totals (added in rank order). */
sl_status sl__reduce_results(sl_dist *d, sl_pipeline *p, sl_error *err);
/* Rank 0's stage figures become sums over ranks, its wall the longest. */
sl_status sl__reduce_figures(sl_dist *d, sl_pipeline *p, sl_error *err);
/* The dead letters of every rank's pipelines srcs, sorted by seq, into dst
 * on rank 0 (NULL: dropped); every other list is emptied, so that only rank
 * 0's file lists them. Collective. */
sl_status sl__reduce_deadletters(sl_dist *d, sl_pipeline *const *srcs, size_t nsrcs,
                                 sl_pipeline *dst, sl_error *err);
/* Rank 0 gets every rank's completed row ranges: *ranges[k], *nranges[k]
 * (allocated; free with sl__reduce_rows_free). Others get NULL. */
sl_status sl__reduce_rows(sl_dist *d, sl_pipeline *p, sl__row_range ***ranges, size_t **nranges,
                          sl_error *err);
void sl__reduce_rows_free(sl_dist *d, sl__row_range **ranges, size_t *nranges);

/* stats_gather.c: every rank's run figures (sluice/stats.h) to rank 0,
 * which then holds each rank's and the job's, joins the trace parts, and
 * lets writer's stages (NULL: none; p itself allowed) read the job's figures
 * (sl_ctx_stats_json). The other ranks hold none. Collective. */
sl_status sl__stats_gather(sl_dist *d, sl_pipeline *p, sl_pipeline *writer, sl_error *err);

#endif
