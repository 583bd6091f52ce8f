/* lib/dist/resume_run.c - a run that can be resumed (docs/resume.md), on one
 * rank or many, batch mode.
 *
 * Rank 0 opens OUT.sluice/ (new, replaced, or resumed after checking the
 * job's fingerprint) before any other rank reads it. Every rank then makes
 * the unfinished seqs its schedule gives it (the schedule is made for the
 * number left, and its positions are mapped to seqs), writing segments and
 * journalling them at checkpoints. A run that stops checkpoints what every
 * rank finished (the caller exits "resumable"); one that fails keeps its
 * earlier checkpoints, and no state at all when there are none. At a
 * successful end every rank
 * but 0 checkpoints what it has; rank 0's open segment gets the job's
 * metadata and totals from the sink's finish() and becomes the base of the
 * stitch: every journalled segment's rows are copied into it, it is renamed
 * OUT.part, then OUT, and only then the state is removed. A crash during the
 * stitch leaves the state whole (the stitch reads segments, never changes
 * them), so the next resume stitches again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dist/dist_impl.h"
#include "dist/h5merge.h"
#include "util/durable.h"

#include <sluice/stage.h>

static bool state_exists(const sl_pipeline *p)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s.sluice", sl__run_output(p));
    struct stat st;
    return lstat(buf, &st) == 0;
}

static sl_status open_state(sl_dist *d, sl_pipeline *p, int rank, sl_error *err)
{
    bool retry, force;
    double ck;
    bool resume = sl__run_resume_wanted(p, &retry, &ck, &force);
    sl__ckpt_opts o = {.interval_s = ck > 0 ? ck : 0, .retry_deadletters = retry,
                       .restore = rank == 0, .keep_last = rank == 0};
    sl_status s = SL_OK;
    if (rank == 0) {
        sl__ckpt_mode mode = force ? SL__CKPT_REPLACE : SL__CKPT_FRESH;
        if (resume && state_exists(p))
            mode = SL__CKPT_RESUME;
        else if (resume)
            fprintf(stderr, "sluice: nothing to resume for '%s' (no state): starting from the "
                            "beginning\n", sl__run_output(p));
        s = sl__ckpt_open(p, mode, &o, err);
    }
    s = sl_dist_agree(d, s, err, false);
    if (s == SL_OK && rank != 0)
        s = sl__ckpt_open(p, SL__CKPT_JOIN, &o, err);
    return sl_dist_agree(d, s, err, true);
}

/* Rank 0: the base (its open segment, finished by the sink) and every
 * journalled segment into OUT.part, then OUT; then the state goes. */
static sl_status stitch(sl_pipeline *p, sl_error *err)
{
    sl__ckpt_seg *segs = NULL;
    size_t n = 0;
    SL_TRY(sl__ckpt_segments(p, &segs, &n, err));
    const char **parts = calloc(n + 1, sizeof *parts);
    const sl__row_range **ranges = calloc(n + 1, sizeof *ranges);
    size_t *nranges = calloc(n + 1, sizeof *nranges);
    sl_status s = parts && ranges && nranges ? SL_OK : SL_FAIL(SL_ENOMEM, "out of memory");
    if (s == SL_OK) {
        parts[0] = sl__run_sink_path(p);
        for (size_t i = 0; i < n; i++) {
            parts[i + 1] = segs[i].path;
            ranges[i + 1] = segs[i].rows;
            nranges[i + 1] = segs[i].nrows;
        }
        /* A crashed stitch may have left it; it was never published. */
        unlink(sl__run_output_tmp(p));
        s = sl__h5merge(sl__run_output_tmp(p), parts, (int)n + 1, ranges, nranges, err);
    }
    free(parts);
    free(ranges);
    free(nranges);
    sl__ckpt_segments_free(segs, n);
    /* The output is on disk before the segments may go. */
    if (s == SL_OK)
        s = sl__fsync_path(sl__run_output_tmp(p), false, err);
    if (s == SL_OK)
        s = sl__run_commit(p, err);
    if (s == SL_OK)
        s = sl__fsync_parent(sl__run_output(p), err);
    /* With dead letters a small state stays, for --retry-deadletters. */
    size_t ndead = sl_ctx_deadletter_count(sl_pipeline_ctx(p));
    if (s == SL_OK)
        s = ndead ? sl__ckpt_keep(p, err) : sl__ckpt_remove(p, err);
    return s;
}

/* After the batches succeeded everywhere: results, figures and dead letters
 * to rank 0 (which adds the earlier runs'), the sink's finish(), the
 * stitch. */
static sl_status conclude(sl_dist *d, sl_pipeline *p, bool multi, sl_error *err)
{
    size_t writer = sl__run_writer(p), n = sl_pipeline_nstages(p);
    sl_status s = sl__run_finish(p, 0, writer, err);
    SL_TRY(sl_dist_agree(d, s, err, true));
    if (multi)
        s = sl__reduce_results(d, p, err);
    if (s == SL_OK && multi)
        s = sl__reduce_figures(d, p, err);
    if (s == SL_OK && multi)
        s = sl__stats_gather(d, p, p, err);
    if (s == SL_OK && multi)
        s = sl__reduce_deadletters(d, &p, 1, p, err);
    /* Rank 0 now holds the job's figures: add the earlier runs'. */
    if (s == SL_OK && sl_dist_rank(d) == 0)
        s = sl__ckpt_restore(p, err);
    SL_TRY(sl_dist_agree(d, s, err, true));
    s = sl__run_finish(p, writer, n, err);
    SL_TRY(sl_dist_agree(d, s, err, true));
    s = sl_dist_rank(d) == 0 ? stitch(p, err) : SL_OK;
    return sl_dist_agree(d, s, err, true);
}

sl_status sl__resume_run(sl_dist *d, sl_pipeline *p, const sl_job *job, sl_error *err)
{
    bool multi = d && d->mpi && d->size > 1;
    int rank = multi ? d->rank : 0, size = multi ? d->size : 1;
    const sl_job_dist *how = job ? sl_job_distribution(job) : NULL;
    SL_CHECK(!multi || !how || !how->nweights || how->nweights == (size_t)size, SL_EINVAL,
             "%zu weights for %d ranks (see sl_job_dist_check)", how ? how->nweights : 0, size);
    sl_status s = sl__run_begin(p, rank, size, NULL, true, err);
    s = sl_dist_agree(d, s, err, false);
    if (s == SL_OK)
        s = open_state(d, p, rank, err);
    SL_TRY(s);
    /* The schedule hands out positions among the batches left; creating it
     * is collective for dynamic and guided. */
    sl__sched *sched = NULL;
    if (multi) {
        sl_error serr;
        sl_error_clear(&serr);
        s = sl__sched_create(&sched, d, how, sl__ckpt_todo(p), &serr);
        if (s != SL_OK)
            sl_error_copy(err, &serr);
        s = sl_dist_agree(d, s, err, false);
    }
    if (s == SL_OK) {
        const sl__feed *feed = sl__ckpt_feed(p, sched ? sl__sched_feed(sched) : NULL);
        sl_status mine = sl__dist_run_batches(d, p, sched, feed, err);
        s = sl_dist_agree(d, mine, err, true);
        if (s != SL_OK) {
            /* Stopped elsewhere after this rank's share ended (a signal
             * reaches every rank, but one that drained first ends the
             * dynamic schedule for all): a rank that was asked to stop too
             * keeps what it made. Then all wait, so that rank 0 sees every
             * journal before it judges the state. */
            sl_error werr;
            sl_error_clear(&werr);
            if (mine == SL_OK && sl__run_failed_or_stopping(p) && sl__ckpt_write(p, &werr) != SL_OK)
                fprintf(stderr, "sluice: warning: rank %d: last checkpoint: %s\n", rank, werr.msg);
            sl_error_clear(&werr);
            (void)sl_dist_agree(d, SL_OK, &werr, false);
        }
    }
    sl__sched_destroy(&sched);
    /* Every rank's batches are done: all but rank 0 journal their last
     * segment (rank 0's is the stitch's base). */
    if (s == SL_OK) {
        s = rank != 0 ? sl__ckpt_write(p, err) : SL_OK;
        s = sl_dist_agree(d, s, err, true);
    }
    /* Their part is journalled: their handles on the state go before rank 0
     * removes it (an open file there would stay behind on NFS). */
    if (s == SL_OK && rank != 0)
        sl__ckpt_close(p);
    if (s == SL_OK)
        s = conclude(d, p, multi, err);
    if (s != SL_OK) {
        /* Every rank is past its last write (the agreements above): rank 0
         * removes a state that holds nothing worth resuming. */
        sl_error derr;
        sl_error_clear(&derr);
        if (rank == 0) {
            unlink(sl__run_output_tmp(p));
            if (sl__ckpt_drop_if_empty(p, &derr) != SL_OK)
                fprintf(stderr, "sluice: warning: %s\n", derr.msg);
        }
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    return SL_OK;
}
