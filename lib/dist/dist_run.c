/* lib/dist/dist_run.c - one pipeline run over all ranks (batch mode).
 *
 * Every rank runs the whole pipeline on the seqs its schedule gives it; the
 * sink of rank k writes OUTPUT.r<k>.part. Then, in this order:
 *   1. the ranks agree on the outcome of the batches (the lowest failing
 *      rank's error is everyone's);
 *   2. the stages before the sink finish (sum publishes its partial totals),
 *      and rank 0 gathers the results and figures: its totals become the
 *      job's;
 *   3. the sink finishes on every rank (rank 0's part file records the job's
 *      totals and metadata);
 *   4. rank 0 merges the other parts into OUTPUT.part, which is renamed to
 *      OUTPUT only then; every part file is removed, whatever happened.
 * Every step ends with an agreement, so no rank goes on alone, and a failure
 * on one rank is a clean, one-line failure on all of them.
 *
 * dynamic and guided schedules take work over MPI while the batches run:
 * the team then runs on a thread of its own and this (main) thread keeps the
 * schedule's communication going until the batches are done. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dist/dist_impl.h"
#include "dist/h5merge.h"

#include <sluice/placement.h>

typedef struct batch_thread {
    sl_pipeline *p;
    const sl__feed *feed;
    sl__sched *sched;
    sl_status status;
    sl_error err;
    atomic_bool done;
} batch_thread;

static void *batch_main(void *arg)
{
    batch_thread *bt = arg;
    bt->status = sl__run_batches(bt->p, bt->feed, &bt->err);
    atomic_store(&bt->done, true);
    sl__sched_wake(bt->sched);
    return NULL;
}

sl_status sl__dist_run_batches(sl_dist *d, sl_pipeline *p, sl__sched *sched,
                               const sl__feed *feed, sl_error *err)
{
    if (!sched || !sl__sched_needs_progress(sched))
        return sl__run_batches(p, feed, err);
    batch_thread bt = {.p = p, .feed = feed, .sched = sched};
    sl_error_clear(&bt.err);
    pthread_t th;
    SL_CHECK(pthread_create(&th, NULL, batch_main, &bt) == 0, SL_ENOMEM,
             "rank %d: cannot start the thread that runs the batches", d->rank);
    sl_status s = SL_OK;
    while (!atomic_load(&bt.done)) {
        s = sl__sched_progress(sched, sl__run_failed_or_stopping(p), err);
        if (s != SL_OK) {
            sl_pipeline_request_stop(p); /* the batches cannot get more work */
            break;
        }
    }
    pthread_join(th, NULL);
    if (bt.status != SL_OK) {
        sl_error_copy(err, &bt.err);
        return bt.status;
    }
    return s;
}

static char *part_path(const char *output, int rank)
{
    size_t n = strlen(output) + 32;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s.r%d.part", output, rank);
    return s;
}

/* Rank 0: the other ranks' parts into OUTPUT.part, then OUTPUT. */
sl_status sl__merge_parts(sl_dist *d, sl_pipeline *p, sl__row_range **ranges, size_t *nranges,
                          sl_error *err)
{
    const char *output = sl__run_output(p);
    char **parts = calloc((size_t)d->size, sizeof *parts);
    SL_CHECK(parts, SL_ENOMEM, "out of memory");
    sl_status s = SL_OK;
    for (int k = 0; k < d->size && s == SL_OK; k++)
        if (!(parts[k] = part_path(output, k)))
            s = SL_FAIL(SL_ENOMEM, "out of memory");
    for (int k = 1; k < d->size && s == SL_OK; k++)
        nranges[k] = sl__row_ranges_coalesce(ranges[k], nranges[k]);
    if (s == SL_OK)
        s = sl__h5merge(sl__run_output_tmp(p), (const char *const *)parts, d->size,
                        (const sl__row_range *const *)ranges, nranges, err);
    if (s == SL_OK)
        s = sl__run_commit(p, err);
    for (int k = 0; k < d->size; k++)
        free(parts[k]);
    free(parts);
    return s;
}

static void remove_parts(sl_dist *d, sl_pipeline *p, bool all_failed)
{
    const char *sink = sl__run_sink_path(p);
    if (sink && strcmp(sink, sl__run_output_tmp(p)) != 0)
        unlink(sink);
    if (all_failed && d->rank == 0 && sl__run_output_tmp(p))
        unlink(sl__run_output_tmp(p));
}

/* Steps 2-4 of the file comment, after the batches succeeded everywhere. */
static sl_status conclude(sl_dist *d, sl_pipeline *p, sl_error *err)
{
    size_t writer = sl__run_writer(p), n = sl_pipeline_nstages(p);
    sl_status s = sl__run_finish(p, 0, writer, err);
    SL_TRY(sl_dist_agree(d, s, err, true));
    s = sl__reduce_results(d, p, err);
    if (s == SL_OK)
        s = sl__reduce_figures(d, p, err);
    if (s == SL_OK)
        s = sl__stats_gather(d, p, p, err);
    if (s == SL_OK)
        s = sl__reduce_deadletters(d, &p, 1, p, err);
    SL_TRY(sl_dist_agree(d, s, err, true));
    s = sl__run_finish(p, writer, n, err);
    SL_TRY(sl_dist_agree(d, s, err, true));
    if (writer == n || !sl__run_output(p))
        return SL_OK;
    sl__row_range **ranges = NULL;
    size_t *nranges = NULL;
    s = sl__reduce_rows(d, p, &ranges, &nranges, err);
    if (s == SL_OK && d->rank == 0)
        s = sl__merge_parts(d, p, ranges, nranges, err);
    sl__reduce_rows_free(d, ranges, nranges);
    return sl_dist_agree(d, s, err, true);
}

sl_status sl_dist_run(sl_dist *d, sl_pipeline *p, const sl_job *job, sl_registry *reg,
                      sl_error *err)
{
    bool multi = d && d->mpi && d->size > 1;
    bool stage_mode = multi && job && sl_job_stage_mode(job);
    bool retry, force;
    double ck;
    bool resume = sl__run_resume_wanted(p, &retry, &ck, &force);
    const char *why = sl__ckpt_unsupported(p);
    if (stage_mode && !why)
        why = "its stages are placed on rank groups (stage mode)";
    if (resume && why && sl__run_output(p))
        return SL_FAIL(SL_EINVAL, "cannot resume '%s': %s (docs/resume.md)", sl__run_output(p),
                       why);
    if (resume && !sl__run_output(p))
        return SL_FAIL(SL_EINVAL, "cannot resume: the job writes no output");
    if (!why && !sl__run_no_state(p))
        return sl__resume_run(d, p, job, err);
    if (!multi)
        return sl_pipeline_run(p, err);
    if (stage_mode)
        return sl__stage_run(d, p, job, reg, err);
    const sl_job_dist *how = job ? sl_job_distribution(job) : NULL;
    /* sl_job_dist_check said what is wrong with the settings in the user's
     * terms; this only keeps a library caller from reading past weights. */
    SL_CHECK(!how || !how->nweights || how->nweights == (size_t)d->size, SL_EINVAL,
             "%zu weights for %d ranks (see sl_job_dist_check)", how ? how->nweights : 0,
             d->size);
    char *part = sl__run_output(p) ? part_path(sl__run_output(p), d->rank) : NULL;
    sl_status s = sl__run_output(p) && !part ? SL_FAIL(SL_ENOMEM, "out of memory") : SL_OK;
    if (s == SL_OK)
        s = sl__run_begin(p, d->rank, d->size, part, true, err);
    free(part);
    /* Creating the schedule is collective for dynamic and guided: every rank
     * takes part, even one that failed already, and then they agree. */
    sl__sched *sched = NULL;
    sl_error serr;
    sl_error_clear(&serr);
    sl_status ss = sl__sched_create(&sched, d, how, sl__run_total_batches(p), &serr);
    if (s == SL_OK && ss != SL_OK) {
        s = ss;
        sl_error_copy(err, &serr);
    }
    s = sl_dist_agree(d, s, err, false);
    if (s == SL_OK) {
        s = sl__dist_run_batches(d, p, sched, sl__sched_feed(sched), err);
        s = sl_dist_agree(d, s, err, true);
    }
    sl__sched_destroy(&sched);
    if (s == SL_OK)
        s = conclude(d, p, err);
    remove_parts(d, p, s != SL_OK);
    if (s != SL_OK)
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    return SL_OK;
}
