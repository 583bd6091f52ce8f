/* lib/dist/stage_run.c - a pipeline whose stages are placed on rank groups.
 *
 * The placement (sluice/placement.h) cuts the pipeline into segments: runs
 * of consecutive stages on the same group. A rank runs, for each segment of
 * its group, a pipeline of its own: that segment's stages, headed by a
 * channel receiver when batches come from another group, and ended by a
 * channel sender when they go on to one. Each such pipeline runs on its own
 * thread with its own team; the rank's main thread does all the MPI (the
 * channels, and the work counter when the source's group shares seqs
 * dynamically), and wakes the pipelines when input or credits arrive.
 *
 * Ending: when every local pipeline is done and every channel has had its
 * counts acknowledged, the rank enters a non-blocking barrier and keeps
 * answering messages until all ranks are there. When a pipeline fails, or a
 * stop is asked for, the rank tells every other rank (ABORT), all ranks stop
 * their pipelines, drain what is in flight without sending anything new, and
 * meet in the same barrier: nobody waits for a batch that will not come.
 * Then, as in batch mode: agree, finish, reduce to rank 0, finish the sink,
 * merge, publish. The stage that writes the file runs on a group that
 * includes rank 0, which publishes the output. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sluice/placement.h>

#include "dist/channel.h"
#include "dist/dist_impl.h"
#include "pipeline/metrics.h"
#include "pipeline/watch.h"

#define TAG_ABORT 999
#define IDLE_NS 200000L
#define CHAN_DEFAULT_SLOTS 8

typedef struct seg_run {
    size_t first, last; /* job stages */
    size_t head;        /* 1 when a channel heads it, else 0 */
    sl_pipeline *sub;
    sl__chan *in, *out;
    const sl__feed *feed;
    struct stage_rt *rt;
    pthread_t th;
    bool started;
    atomic_bool done;
    sl_status status;
    sl_error err;
} seg_run;

typedef struct stage_rt {
    sl_dist *d;
    sl_pipeline *full;
    const sl_job *job;
    sl_placement *pl;
    MPI_Comm group;
    sl__sched *sched;
    seg_run *segs;
    size_t nsegs;
    sl__chan **chans; /* per boundary, NULL where this rank takes no part */
    size_t nchans;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned long gen; /* under mu: bumped by every wake */
    bool aborted, induced;
} stage_rt;

/* Wake-ups carry a generation number, so a wake that comes between a look
 * and the wait is not lost: the wait only sleeps while nothing happened. */
static void wake(void *self)
{
    stage_rt *rt = self;
    pthread_mutex_lock(&rt->mu);
    rt->gen++;
    pthread_cond_broadcast(&rt->cv);
    pthread_mutex_unlock(&rt->mu);
}

static unsigned long generation(stage_rt *rt)
{
    pthread_mutex_lock(&rt->mu);
    unsigned long g = rt->gen;
    pthread_mutex_unlock(&rt->mu);
    return g;
}

static void timed_wait(stage_rt *rt, long ns, unsigned long seen)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_nsec += ns;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&rt->mu);
    while (rt->gen == seen &&
           pthread_cond_timedwait(&rt->cv, &rt->mu, &t) == 0)
        ;
    pthread_mutex_unlock(&rt->mu);
}

/* Between rounds of a segment's pipeline: input or credits may come. */
static void seg_wait(void *self, const atomic_int *stop)
{
    /* A round just ended with nothing to fire; what changes that comes
     * with a wake, but the wake may have come already: wait briefly. */
    if (!atomic_load(stop))
        timed_wait(self, 200000L, generation(self));
}

static void *seg_main(void *arg)
{
    seg_run *g = arg;
    g->status = sl__run_batches(g->sub, g->feed, &g->err);
    if (g->out)
        sl__chan_sender_done(g->out);
    atomic_store(&g->done, true);
    wake(g->rt);
    return NULL;
}

/* --- building ------------------------------------------------------------- */

static bool in_group(const sl_placement *pl, int g, int rank)
{
    size_t n;
    const int *r = sl_placement_ranks(pl, (size_t)g, &n);
    for (size_t i = 0; i < n; i++)
        if (r[i] == rank)
            return true;
    return false;
}

static sl_status check_layout(stage_rt *rt, sl_error *err)
{
    size_t n = sl_job_nstages(rt->job), writer = sl__run_writer(rt->full);
    if (writer < n) {
        int g = sl_placement_group_of(rt->pl, writer);
        SL_CHECK(in_group(rt->pl, g, 0), SL_EINVAL,
                 "%s: stage '%s' writes the output file and must run on a group that includes "
                 "rank 0",
                 sl_job_stage_at(rt->job, writer)->origin, sl_job_stage_at(rt->job, writer)->name);
    }
    size_t first0, last0;
    int g0;
    sl_placement_segment(rt->pl, 0, &first0, &last0, &g0);
    for (size_t i = last0 + 1; i < n; i++)
        SL_CHECK(sl__run_stage_mode(rt->full, i) != SL_MODE_ORDERED, SL_EINVAL,
                 "%s: stage '%s' is ordered, but batches reach it from another rank group in "
                 "arrival order; place it with the source or make it serial",
                 sl_job_stage_at(rt->job, i)->origin, sl_job_stage_at(rt->job, i)->name);
    return SL_OK;
}

static sl_status make_channels(stage_rt *rt, sl_error *err)
{
    const sl_job_dist *how = sl_job_distribution(rt->job);
    size_t nseg = sl_placement_nsegments(rt->pl);
    rt->nchans = nseg ? nseg - 1 : 0;
    rt->chans = calloc(rt->nchans ? rt->nchans : 1, sizeof *rt->chans);
    SL_CHECK(rt->chans, SL_ENOMEM, "out of memory");
    for (size_t k = 0; k + 1 < nseg; k++) {
        size_t f0, l0, f1, l1;
        int g0, g1;
        sl_placement_segment(rt->pl, k, &f0, &l0, &g0);
        sl_placement_segment(rt->pl, k + 1, &f1, &l1, &g1);
        size_t ns, nr;
        const int *snd = sl_placement_ranks(rt->pl, (size_t)g0, &ns);
        const int *rcv = sl_placement_ranks(rt->pl, (size_t)g1, &nr);
        if (!in_group(rt->pl, g0, rt->d->rank) && !in_group(rt->pl, g1, rt->d->rank))
            continue;
        char name[96];
        snprintf(name, sizeof name, "%s -> %s", sl_job_stage_at(rt->job, l0)->name,
                 sl_job_stage_at(rt->job, f1)->name);
        /* A channel's credits cover a round trip between ranks, not a
         * hand-over between threads: unless the receiving stage's queue is
         * set, it holds CHAN_DEFAULT_SLOTS batches per receiver. */
        int q = sl_job_stage_at(rt->job, f1)->queue ? sl__run_stage_queue(rt->full, f1)
                                                    : CHAN_DEFAULT_SLOTS;
        sl__chan_cfg cfg = {
            .comm = rt->d->comm,
            .me = rt->d->rank,
            .index = (int)k,
            .senders = snd,
            .nsend = (int)ns,
            .receivers = rcv,
            .nrecv = (int)nr,
            .capacity = q > 0 ? q : 2,
            .route = how->route,
            .weights = how->nroute_weights == nr ? how->route_weights : NULL,
            .name = name,
        };
        SL_TRY(sl__chan_create(&rt->chans[k], &cfg, err));
        sl__chan_set_wake(rt->chans[k], wake, rt);
    }
    return SL_OK;
}

static sl_status build_segment(stage_rt *rt, seg_run *g, size_t k, sl_registry *reg,
                               sl_error *err)
{
    size_t n = sl_job_nstages(rt->job), writer = sl__run_writer(rt->full);
    bool writes = writer >= g->first && writer <= g->last;
    sl_pipeline_opts o = {
        .threads = sl_pipeline_threads(rt->full),
        .output = writes ? sl__run_output(rt->full) : NULL,
        .force = true, /* the whole job's pipeline checked the path with the user's --force */
        .job_name = sl_job_name(rt->job),
        .job_text = sl_job_text(rt->job),
    };
    SL_TRY(sl_pipeline_create(&g->sub, &o, err));
    sl__watch_inherit(g->sub, rt->full);
    sl__metrics_inherit(g->sub, rt->full, (int)k);
    g->in = k > 0 ? rt->chans[k - 1] : NULL;
    g->out = g->last + 1 < n ? rt->chans[k] : NULL;
    if (g->in) {
        char name[64];
        snprintf(name, sizeof name, "from %s", sl_job_stage_at(rt->job, g->first - 1)->name);
        sl_stage_opts so = {1, 0, 0, NULL};
        SL_TRY(sl_pipeline_add(g->sub, &sl__chan_recv_desc, name, NULL, &so, err));
        g->head = 1;
    }
    for (size_t i = g->first; i <= g->last; i++)
        SL_TRY(sl__run_add_job_stage(g->sub, sl_job_stage_at(rt->job, i), reg, err));
    if (g->out) {
        char name[64];
        snprintf(name, sizeof name, "to %s", sl_job_stage_at(rt->job, g->last + 1)->name);
        sl_stage_opts so = {1, 0, 0, NULL};
        SL_TRY(sl_pipeline_add(g->sub, &sl__chan_send_desc, name, NULL, &so, err));
        *sl__run_instance(g->sub, sl_pipeline_nstages(g->sub) - 1, 0) = g->out;
        sl__run_set_tail_credits(g->sub, sl__chan_credits(g->out));
        sl__run_set_tail_keeps(g->sub, true);
    }
    sl__run_set_plan(g->sub, sl__run_total_batches(rt->full), sl_ctx_total_rows(sl_pipeline_ctx(rt->full)));
    sl__waiter w = {rt, seg_wait};
    sl__run_set_waiter(g->sub, &w);
    return SL_OK;
}

/* --- running ---------------------------------------------------------------- */

static void stop_all(stage_rt *rt)
{
    for (size_t i = 0; i < rt->nsegs; i++)
        sl_pipeline_request_stop(rt->segs[i].sub);
    for (size_t k = 0; k < rt->nchans; k++)
        if (rt->chans[k])
            sl__chan_set_drain(rt->chans[k]);
}

static void send_abort(stage_rt *rt)
{
    static const int one = 1;
    for (int r = 0; r < rt->d->size; r++)
        if (r != rt->d->rank)
            MPI_Send(&one, 1, MPI_INT, r, TAG_ABORT, rt->d->comm); /* eager: does not wait */
}

static void take_aborts(stage_rt *rt)
{
    for (;;) {
        int flag = 0, v;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_ABORT, rt->d->comm, &flag, &st);
        if (!flag)
            return;
        MPI_Recv(&v, 1, MPI_INT, st.MPI_SOURCE, TAG_ABORT, rt->d->comm, MPI_STATUS_IGNORE);
        if (!rt->aborted) {
            rt->aborted = rt->induced = true;
            stop_all(rt);
        }
    }
}

static sl_status progress_all(stage_rt *rt, bool *busy, sl_error *err)
{
    for (size_t k = 0; k < rt->nchans; k++)
        if (rt->chans[k])
            SL_TRY(sl__chan_progress(rt->chans[k], busy, wake, rt, err));
    return SL_OK;
}

/* The main thread's loop while the segments run; returns this rank's own
 * failure (a channel's), the segments' are in their seg_run. */
static sl_status drive(stage_rt *rt, sl_error *err)
{
    sl_status s = SL_OK;
    for (;;) {
        unsigned long seen = generation(rt);
        bool busy = false, done = true, failed = s != SL_OK;
        for (size_t i = 0; i < rt->nsegs; i++) {
            done &= atomic_load(&rt->segs[i].done);
            failed |= atomic_load(&rt->segs[i].done) && rt->segs[i].status != SL_OK;
        }
        failed |= sl__run_failed_or_stopping(rt->full);
        if (failed && !rt->aborted) {
            rt->aborted = true;
            stop_all(rt);
            send_abort(rt);
        }
        take_aborts(rt);
        if (s == SL_OK)
            s = progress_all(rt, &busy, err);
        if (rt->sched && sl__sched_needs_progress(rt->sched) && s == SL_OK)
            s = sl__sched_progress(rt->sched, rt->aborted, err);
        bool closed = true;
        for (size_t k = 0; k < rt->nchans; k++)
            closed &= !rt->chans[k] || sl__chan_closed(rt->chans[k]);
        if (done && (rt->aborted || closed))
            break;
        if (!busy)
            timed_wait(rt, IDLE_NS, seen);
    }
    /* Everyone meets here; until all have, keep answering, so that a batch
     * or a count in flight towards us still finds its receive. */
    MPI_Request bar;
    MPI_Ibarrier(rt->d->comm, &bar);
    for (;;) {
        int flag = 0;
        MPI_Test(&bar, &flag, MPI_STATUS_IGNORE);
        if (flag)
            break;
        bool busy = false;
        take_aborts(rt);
        sl_error ignore;
        sl_error_clear(&ignore);
        progress_all(rt, &busy, &ignore);
        if (!busy)
            timed_wait(rt, IDLE_NS, generation(rt));
    }
    return s;
}

/* Results of every local segment into the whole job's pipeline, reduced to
 * rank 0, plus each channel's credit figures. */
static sl_status gather_results(stage_rt *rt, sl_error *err)
{
    for (size_t i = 0; i < rt->nsegs; i++) {
        sl_pipeline *sub = rt->segs[i].sub;
        for (size_t k = 0; k < sl__run_nresults(sub); k++) {
            const char *key;
            sl_type t;
            uint64_t u;
            double f;
            sl__run_result(sub, k, &key, &t, &u, &f);
            SL_TRY(sl__run_result_add(rt->full, key, t, u, f, err));
        }
    }
    SL_TRY(sl__reduce_results(rt->d, rt->full, err));
    for (size_t k = 0; k < rt->nchans + 0; k++) {
        uint64_t mine[2] = {0, 0}, all[2] = {0, 0};
        if (rt->chans[k])
            sl__chan_sender_figures(rt->chans[k], &mine[0], &mine[1]);
        SL_CHECK(mine[1] <= mine[0], SL_EINVAL,
                 "internal error: channel %zu had %llu batches in flight on %llu credits", k + 1,
                 (unsigned long long)mine[1], (unsigned long long)mine[0]);
        SL_CHECK(MPI_Reduce(mine, all, 2, MPI_UINT64_T, MPI_MAX, 0, rt->d->comm) == MPI_SUCCESS,
                 SL_EMPI, "reducing channel figures failed");
        if (rt->d->rank == 0) {
            char key[64];
            snprintf(key, sizeof key, "channel_%zu_credits", k + 1);
            SL_TRY(sl__run_result_add(rt->full, key, SL_TYPE_U64, all[0], 0, err));
            snprintf(key, sizeof key, "channel_%zu_peak_in_flight", k + 1);
            SL_TRY(sl__run_result_add(rt->full, key, SL_TYPE_U64, all[1], 0, err));
        }
    }
    return SL_OK;
}

static void local_figures(stage_rt *rt)
{
    size_t n = sl_pipeline_nstages(rt->full);
    double wall = 0;
    for (size_t i = 0; i < n; i++) {
        sl__run_set_stage_figures(rt->full, i, 0, 0, 0);
        sl__run_set_stage_failures(rt->full, i, 0, 0, 0, 0);
    }
    for (size_t i = 0; i < rt->nsegs; i++) {
        seg_run *g = &rt->segs[i];
        for (size_t j = g->first; j <= g->last; j++) {
            sl_stage_stats st;
            sl_pipeline_stage_stats(g->sub, g->head + (j - g->first), &st);
            sl__run_set_stage_figures(rt->full, j, st.batches, st.rows, st.busy_s);
            sl__run_set_stage_failures(rt->full, j, st.retries, st.timeouts, st.dropped, st.slow);
            sl__metrics_copy_stage(rt->full, j, g->sub, g->head + (j - g->first));
        }
        double w = sl_pipeline_wall(g->sub);
        wall = w > wall ? w : wall;
    }
    sl_error ignore;
    sl_error_clear(&ignore);
    sl__run_set_wall(rt->full, wall, &ignore);
}

/* Every rank's dead letters to rank 0's writer segment, which stores them,
 * and to the full pipeline, which the summary reads. */
static sl_status gather_dead(stage_rt *rt, seg_run *ws, sl_error *err)
{
    sl_pipeline **subs = calloc(rt->nsegs ? rt->nsegs : 1, sizeof *subs);
    SL_CHECK(subs, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < rt->nsegs; i++)
        subs[i] = rt->segs[i].sub;
    sl_pipeline *dst = rt->d->rank == 0 ? (ws ? ws->sub : rt->full) : NULL;
    sl_status s = sl__reduce_deadletters(rt->d, subs, rt->nsegs, dst, err);
    free(subs);
    if (s != SL_OK || !dst || dst == rt->full)
        return s;
    sl__run_clear_dead(rt->full);
    const sl_ctx *c = sl_pipeline_ctx(dst);
    for (size_t i = 0; i < sl_ctx_deadletter_count(c) && s == SL_OK; i++) {
        uint64_t seq;
        unsigned a;
        const char *stage, *error;
        sl_ctx_deadletter_get(c, i, &seq, &stage, &a, &error);
        s = sl__run_add_dead(rt->full, seq, stage, a, error, err);
    }
    return s;
}

static seg_run *writer_seg(stage_rt *rt)
{
    size_t w = sl__run_writer(rt->full);
    for (size_t i = 0; i < rt->nsegs; i++)
        if (w >= rt->segs[i].first && w <= rt->segs[i].last)
            return &rt->segs[i];
    return NULL;
}

static sl_status conclude(stage_rt *rt, sl_error *err)
{
    sl_dist *d = rt->d;
    seg_run *ws = writer_seg(rt);
    size_t wpos = ws ? ws->head + (sl__run_writer(rt->full) - ws->first) : 0;
    sl_status s = SL_OK;
    for (size_t i = 0; i < rt->nsegs && s == SL_OK; i++) {
        seg_run *g = &rt->segs[i];
        s = sl__run_finish(g->sub, 0, g == ws ? wpos : sl_pipeline_nstages(g->sub), err);
    }
    SL_TRY(sl_dist_agree(d, s, err, true));
    s = gather_results(rt, err);
    local_figures(rt);
    if (s == SL_OK)
        s = sl__reduce_figures(d, rt->full, err);
    if (s == SL_OK)
        s = sl__stats_gather(d, rt->full, ws ? ws->sub : NULL, err);
    if (s == SL_OK)
        s = gather_dead(rt, ws, err);
    if (s == SL_OK && ws && d->rank == 0) {
        /* Rank 0's writer records the job's totals. */
        sl__run_clear_results(ws->sub);
        for (size_t k = 0; k < sl__run_nresults(rt->full) && s == SL_OK; k++) {
            const char *key;
            sl_type t;
            uint64_t u;
            double f;
            sl__run_result(rt->full, k, &key, &t, &u, &f);
            s = sl__run_result_add(ws->sub, key, t, u, f, err);
        }
        if (s == SL_OK)
            s = sl__run_set_wall(ws->sub, sl_pipeline_wall(rt->full), err);
    }
    SL_TRY(sl_dist_agree(d, s, err, true));
    if (ws)
        s = sl__run_finish(ws->sub, wpos, sl_pipeline_nstages(ws->sub), err);
    SL_TRY(sl_dist_agree(d, s, err, true));
    if (sl__run_writer(rt->full) == sl_pipeline_nstages(rt->full) || !sl__run_output(rt->full))
        return SL_OK;
    int wg = sl_placement_group_of(rt->pl, sl__run_writer(rt->full));
    size_t nw;
    sl_placement_ranks(rt->pl, (size_t)wg, &nw);
    if (nw == 1) {
        s = d->rank == 0 ? sl__run_commit(ws->sub, err) : SL_OK;
        return sl_dist_agree(d, s, err, true);
    }
    sl__row_range **ranges = NULL;
    size_t *nranges = NULL;
    s = sl__reduce_rows(d, ws ? ws->sub : rt->full, &ranges, &nranges, err);
    if (s == SL_OK && d->rank == 0)
        s = sl__merge_parts(d, ws->sub, ranges, nranges, err);
    sl__reduce_rows_free(d, ranges, nranges);
    return sl_dist_agree(d, s, err, true);
}

sl_status sl_dist_check(sl_dist *d, sl_pipeline *p, const sl_job *job, const char **warning,
                        sl_error *err)
{
    static char warn[SL_ERROR_MSG_MAX];
    *warning = NULL;
    if (!d || !d->mpi || d->size == 1 || !sl_job_stage_mode(job))
        return SL_OK; /* one rank runs every stage, wherever the job put them */
    stage_rt rt = {.d = d, .full = p, .job = job};
    SL_TRY(sl_placement_resolve(&rt.pl, job, d->size, err));
    sl_status s = check_layout(&rt, err);
    const char *w = sl_placement_warning(rt.pl);
    if (w) {
        snprintf(warn, sizeof warn, "%s", w);
        *warning = warn;
    }
    sl_placement_destroy(&rt.pl);
    return s;
}

static sl_status setup(stage_rt *rt, sl_registry *reg, sl_error *err)
{
    SL_TRY(sl_placement_resolve(&rt->pl, rt->job, rt->d->size, err));
    SL_TRY(check_layout(rt, err));
    SL_TRY(make_channels(rt, err));
    size_t nseg = sl_placement_nsegments(rt->pl);
    rt->segs = calloc(nseg, sizeof *rt->segs);
    SL_CHECK(rt->segs, SL_ENOMEM, "out of memory");
    for (size_t k = 0; k < nseg; k++) {
        size_t f, l;
        int g;
        sl_placement_segment(rt->pl, k, &f, &l, &g);
        if (!in_group(rt->pl, g, rt->d->rank))
            continue;
        seg_run *s = &rt->segs[rt->nsegs++];
        s->first = f;
        s->last = l;
        s->rt = rt;
        sl_error_clear(&s->err);
        SL_TRY(build_segment(rt, s, k, reg, err));
    }
    return SL_OK;
}

static sl_status begin_all(stage_rt *rt, sl_error *err)
{
    size_t w = sl__run_writer(rt->full);
    int wg = w < sl_pipeline_nstages(rt->full) ? sl_placement_group_of(rt->pl, w) : -1;
    size_t nw = 0;
    if (wg >= 0)
        sl_placement_ranks(rt->pl, (size_t)wg, &nw);
    for (size_t i = 0; i < rt->nsegs; i++) {
        seg_run *g = &rt->segs[i];
        bool writes = w >= g->first && w <= g->last;
        char *part = NULL;
        if (writes && nw > 1) {
            size_t len = strlen(sl__run_output(rt->full)) + 32;
            part = malloc(len);
            SL_CHECK(part, SL_ENOMEM, "out of memory");
            snprintf(part, len, "%s.r%d.part", sl__run_output(rt->full), rt->d->rank);
        }
        sl_status s = sl__run_begin(g->sub, rt->d->rank, rt->d->size, part, writes && nw > 1, err);
        free(part);
        SL_TRY(s);
        if (g->out)
            sl__chan_set_send_pool(g->out, sl__run_pool(g->sub));
        if (g->in) {
            sl__chan_set_pool(g->in, sl__run_pool(g->sub));
            g->feed = sl__chan_feed(g->in);
        }
    }
    return SL_OK;
}

/* The seqs of the source's group. Collective over all ranks (a split). */
static sl_status make_sched(stage_rt *rt, sl_error *err)
{
    size_t f, l;
    int g0;
    sl_placement_segment(rt->pl, 0, &f, &l, &g0);
    bool mine = in_group(rt->pl, g0, rt->d->rank);
    if (MPI_Comm_split(rt->d->comm, mine ? 0 : MPI_UNDEFINED, rt->d->rank, &rt->group) !=
        MPI_SUCCESS)
        return SL_FAIL(SL_EMPI, "rank %d: MPI_Comm_split failed", rt->d->rank);
    if (!mine)
        return SL_OK;
    int r, n;
    MPI_Comm_rank(rt->group, &r);
    MPI_Comm_size(rt->group, &n);
    SL_TRY(sl__sched_create_on(&rt->sched, rt->group, r, n, true, sl_job_distribution(rt->job),
                               sl__run_total_batches(rt->full), err));
    for (size_t i = 0; i < rt->nsegs; i++)
        if (rt->segs[i].first == 0)
            rt->segs[i].feed = sl__sched_feed(rt->sched);
    return SL_OK;
}

static void cleanup(stage_rt *rt, bool failed)
{
    for (size_t i = 0; i < rt->nsegs; i++) {
        if (failed)
            sl__run_discard(rt->segs[i].sub);
        else if (sl__run_sink_path(rt->segs[i].sub) && sl__run_output_tmp(rt->segs[i].sub) &&
                 strcmp(sl__run_sink_path(rt->segs[i].sub), sl__run_output_tmp(rt->segs[i].sub)))
            unlink(sl__run_sink_path(rt->segs[i].sub));
    }
    sl__sched_destroy(&rt->sched);
    if (rt->group != MPI_COMM_NULL)
        MPI_Comm_free(&rt->group);
    for (size_t k = 0; k < rt->nchans; k++)
        sl__chan_destroy(&rt->chans[k]);
    free(rt->chans);
    for (size_t i = 0; i < rt->nsegs; i++)
        sl_pipeline_destroy(&rt->segs[i].sub);
    free(rt->segs);
    sl_placement_destroy(&rt->pl);
    pthread_cond_destroy(&rt->cv);
    pthread_mutex_destroy(&rt->mu);
}

sl_status sl__stage_run(sl_dist *d, sl_pipeline *full, const sl_job *job, sl_registry *reg,
                        sl_error *err)
{
    stage_rt rt = {.d = d, .full = full, .job = job, .group = MPI_COMM_NULL};
    pthread_mutex_init(&rt.mu, NULL);
    pthread_cond_init(&rt.cv, NULL);
    sl_status s = setup(&rt, reg, err);
    s = sl_dist_agree(d, s, err, false);
    if (s == SL_OK) {
        s = make_sched(&rt, err);
        if (s == SL_OK)
            s = begin_all(&rt, err);
        s = sl_dist_agree(d, s, err, true);
    }
    if (s == SL_OK) {
        for (size_t i = 0; i < rt.nsegs && s == SL_OK; i++) {
            seg_run *g = &rt.segs[i];
            if (pthread_create(&g->th, NULL, seg_main, g) != 0)
                s = SL_FAIL(SL_ENOMEM, "rank %d: cannot start a pipeline thread", d->rank);
            else
                g->started = true;
        }
        if (s != SL_OK) {
            for (size_t i = 0; i < rt.nsegs; i++)
                if (!rt.segs[i].started)
                    atomic_store(&rt.segs[i].done, true), rt.segs[i].status = s;
        }
        sl_status ds = drive(&rt, err);
        for (size_t i = 0; i < rt.nsegs; i++)
            if (rt.segs[i].started)
                pthread_join(rt.segs[i].th, NULL);
        for (size_t i = 0; i < rt.nsegs; i++)
            sl__watch_collect(full, rt.segs[i].sub);
        /* This rank's own failure first; one caused by another rank's abort
         * ranks below the cause in the agreement. */
        if (s == SL_OK)
            s = ds;
        for (size_t i = 0; i < rt.nsegs && s == SL_OK; i++)
            if (rt.segs[i].status != SL_OK) {
                s = rt.segs[i].status;
                sl_error_copy(err, &rt.segs[i].err);
            }
        if (s == SL_OK && rt.aborted)
            s = SL_FAIL(SL_ECANCELED, "stopped because another rank failed");
        s = sl__dist_agree_cause(d, s, err, rt.induced && s == SL_ECANCELED);
        if (s == SL_OK)
            s = conclude(&rt, err);
    }
    cleanup(&rt, s != SL_OK);
    if (s != SL_OK && d->rank == 0 && sl__run_output_tmp(full))
        unlink(sl__run_output_tmp(full));
    return s;
}
