/* lib/pipeline/executor.c - runs a pipeline on OpenMP tasks that never block.
 *
 * A job is one batch in one stage. A stage is fired (a job created) only when
 * it holds all three of: a credit in the next stage's input (a slot reserved
 * there, so the finished batch can always be pushed), an idle instance (its
 * concurrency limit), and an input batch (for the source: a seq number).
 * Every job therefore runs to completion without waiting on anything, with
 * one thread, a queue of one, or any mix; backpressure is a missing credit.
 *
 * Who fires: each stage has a poke counter. Whoever changes something a stage
 * consumes (pushes its input, frees one of its instances, returns a credit of
 * its downstream queue, moves an ordered window) pokes it. The poker that
 * raises the counter from 0 becomes that stage's only firer and fires until
 * it has handled every poke that arrived meanwhile. Because a stage has one
 * firer at a time, the resources it grabs and gives back while looking
 * (a credit, an instance) are invisible to everyone else, so no wakeup is
 * lost; and because every change pokes after it is made, and the counter is
 * a read-modify-write chain, the firer's next look sees the change.
 *
 * Ordered stages read from a ring indexed by lidx % window instead of a FIFO.
 * The source does not hand out lidx >= next + window for any ordered stage,
 * so every batch upstream of it has a free ring slot waiting: the ring needs
 * no credits and cannot deadlock, and memory stays bounded.
 *
 * A finishing job pokes the next stage first and its own stage second (drain
 * before fill) and carries on itself with the first job that frees up, which
 * is usually its own batch one stage further: fewer tasks, warm caches.
 * End of stream is a count: when no job is running and none can fire, the
 * OpenMP region ends; the counts then say whether every batch got through.
 *
 * Failure policy (docs/failures.md). A failed job with retries left is
 * parked: it keeps its instance (so an ordered stage cannot overtake it and
 * memory stays bounded by the concurrency) but gives back its downstream
 * credit and the library token, and waits for its backoff in p->parked. The
 * stage's firer takes a due parked job before new input. Nothing sleeps in
 * a task: whoever finishes a job after p->wake_ns pokes the stages with
 * timers, and the run loop sleeps until wake_ns when a round ends with only
 * timers left. A batch given up (skip, deadletter) counts in p->dropped, so
 * the end of stream by count holds, and leaves a tombstone in the ring of
 * every ordered stage after it, so their windows move past it. A rate limit
 * is a timer too: the stage does not fire before rate_next_ns. */
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipeline_impl.h"
#include "pipeline/metrics.h"
#include "pipeline/rebatch.h"
#include "pipeline/watch.h"
#include "util/ticks.h"

typedef struct pl_job {
    int stage; /* -1: no job */
    int inst;
    uint64_t lidx;
    uint64_t seq; /* the source's jobs: the batch to make */
    sl_batch *b;
    sl_batch *orig;   /* with retries: the input as it came, for the next attempt */
    unsigned attempt; /* 0 for the first */
    bool ckpt;        /* a checkpoint of the writer, not a batch (checkpoint.c) */
} pl_job;

struct pl_parked {
    pl_job j;
    uint64_t due_ns;
};

/* Failure messages and slow-batch warnings printed per stage; the rest are
 * only counted. */
#define PL_MAX_NOTES 10
#define PL_MAX_SLOW_NOTES 100

#define PL_TOMB(p) ((sl_batch *)(void *)&(p)->tomb)

static void poke(sl_pipeline *p, size_t i, pl_job *keep);


/* --- per-thread figures ------------------------------------------------------ */

static pl_tcount *tcount(const pl_tcounts *tc, int t, size_t i)
{
    return (pl_tcount *)(void *)(tc->data + (size_t)t * tc->row) + i;
}

/* Only the calling thread writes its own counters: a plain add. */
static void tc_add(atomic_uint_fast64_t *c, uint64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* A finished job's figures, on the thread's own row (a thread outside the
 * team, which the executor never makes, would count on the shared base). */
static void count_job(sl_pipeline *p, size_t i, uint64_t rows, uint64_t busy, bool done)
{
    /* Relaxed: the rows were published before the team started. */
    const pl_tcounts *tc = atomic_load_explicit(&p->tc, memory_order_relaxed);
    int t = omp_get_thread_num();
    if (__builtin_expect(!tc || t < 0 || t >= tc->threads, 0)) {
        pl_stage *st = &p->stages[i];
        atomic_fetch_add_explicit(&st->busy_ns, busy, memory_order_relaxed);
        if (done) {
            atomic_fetch_add_explicit(&st->rows, rows, memory_order_relaxed);
            atomic_fetch_add_explicit(&st->completed, 1, memory_order_relaxed);
        }
        return;
    }
    pl_tcount *c = tcount(tc, t, i);
    tc_add(&c->busy_ns, busy);
    if (done) {
        tc_add(&c->rows, rows);
        tc_add(&c->completed, 1);
    }
}

static uint64_t stage_sum(const sl_pipeline *p, size_t i, size_t field)
{
    const pl_stage *st = &p->stages[i];
    const atomic_uint_fast64_t *base[3] = {&st->completed, &st->rows, &st->busy_ns};
    uint64_t s = atomic_load_explicit(base[field], memory_order_relaxed);
    const pl_tcounts *tc = atomic_load_explicit(&p->tc, memory_order_acquire);
    for (int t = 0; tc && i < tc->nstages && t < tc->threads; t++) {
        const pl_tcount *c = tcount(tc, t, i);
        const atomic_uint_fast64_t *v[3] = {&c->completed, &c->rows, &c->busy_ns};
        s += atomic_load_explicit(v[field], memory_order_relaxed);
    }
    return s;
}

uint64_t sl__stage_completed(const sl_pipeline *p, size_t i) { return stage_sum(p, i, 0); }
uint64_t sl__stage_rows(const sl_pipeline *p, size_t i) { return stage_sum(p, i, 1); }
uint64_t sl__stage_busy_ns(const sl_pipeline *p, size_t i) { return stage_sum(p, i, 2); }

void sl__stage_counts_clear(sl_pipeline *p, size_t i)
{
    pl_tcounts *tc = atomic_load(&p->tc);
    for (int t = 0; tc && i < tc->nstages && t < tc->threads; t++) {
        pl_tcount *c = tcount(tc, t, i);
        atomic_store_explicit(&c->completed, 0, memory_order_relaxed);
        atomic_store_explicit(&c->rows, 0, memory_order_relaxed);
        atomic_store_explicit(&c->busy_ns, 0, memory_order_relaxed);
    }
}

/* A slot per stage instance for the pending jobs, the queue of them, and
 * which stages take a batch straight from the stage before. */
static sl_status jobs_reset(sl_pipeline *p, sl_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nstages; i++) {
        pl_stage *st = &p->stages[i];
        st->slot0 = n;
        n += (size_t)st->conc;
        /* Not: an ordered stage (its ring keeps the order), the rebatch and
         * the checkpointing writer (their firer decides what a job does),
         * a stage sharing the library token or with a rate (their firer
         * holds those), one with a priority (its jobs are tasks with the
         * hint), or after a rebatch (its own job path). */
        st->inline_ok = i > 0 && st->mode != SL_MODE_ORDERED && i != p->rebatch &&
                        i - 1 != p->rebatch && i != p->ckpt_stage && !st->rate_gap_ns &&
                        !st->pol.priority && !(st->desc->flags & SL_STAGE_EXCLUSIVE_LIBRARY);
    }
    p->team = 1; /* until the round's team says how many it has */
    if (n != p->njobslots || !p->pending) {
        free(p->jobslots);
        sl_queue_destroy(&p->pending);
        p->njobslots = 0;
        p->jobslots = calloc(n, sizeof *p->jobslots);
        SL_CHECK(p->jobslots, SL_ENOMEM, "out of memory for %zu job slots", n);
        SL_TRY(sl_queue_create(&p->pending, n, err));
        p->njobslots = n;
    }
    return SL_OK;
}

/* The per-thread rows for this run's team, zeroed. Made once: the team
 * size and the stages do not change between runs of a pipeline (were they
 * to, the old rows would stay allocated until the pipeline goes, since a
 * progress thread may be reading them). */
static sl_status tcount_reset(sl_pipeline *p, sl_error *err)
{
    pl_tcounts *tc = atomic_load_explicit(&p->tc, memory_order_relaxed);
    if (!tc || tc->threads < p->threads || tc->nstages < p->nstages) {
        SL_CHECK(!tc, SL_EINVAL, "internal error: the pipeline changed between runs");
        size_t row = (p->nstages * sizeof(pl_tcount) + PL_CACHELINE - 1) / PL_CACHELINE *
                     PL_CACHELINE;
        size_t size = (sizeof *tc + row * (size_t)p->threads + PL_CACHELINE - 1) /
                      PL_CACHELINE * PL_CACHELINE;
        tc = aligned_alloc(PL_CACHELINE, size);
        SL_CHECK(tc, SL_ENOMEM, "out of memory for the per-thread figures");
        tc->threads = p->threads;
        tc->nstages = p->nstages;
        tc->row = row;
        for (int t = 0; t < tc->threads; t++)
            for (size_t i = 0; i < tc->nstages; i++) {
                pl_tcount *c = tcount(tc, t, i);
                atomic_init(&c->completed, 0);
                atomic_init(&c->rows, 0);
                atomic_init(&c->busy_ns, 0);
            }
        atomic_store_explicit(&p->tc, tc, memory_order_release);
        return SL_OK;
    }
    for (size_t i = 0; i < p->nstages; i++)
        sl__stage_counts_clear(p, i);
    return SL_OK;
}

static bool stopping(const sl_pipeline *p)
{
    /* Relaxed: seeing a failure one job late only costs that job. */
    return atomic_load_explicit(&p->failed, memory_order_relaxed) ||
           atomic_load_explicit(&p->stop, memory_order_relaxed);
}

static bool take_credit(atomic_long *c)
{
    long v = atomic_load_explicit(c, memory_order_relaxed);
    while (v > 0)
        /* Only the upstream firer takes credits; the CAS orders it against
         * the downstream firer giving them back. */
        if (atomic_compare_exchange_weak_explicit(c, &v, v - 1, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return true;
    return false;
}

/* Asks for another look at the stages with timers at time t (ns). */
static void wake_at(sl_pipeline *p, uint64_t t)
{
    uint64_t w = atomic_load_explicit(&p->wake_ns, memory_order_relaxed);
    while (t < w && !atomic_compare_exchange_weak_explicit(&p->wake_ns, &w, t,
                                                            memory_order_acq_rel,
                                                            memory_order_relaxed))
        ;
}

/* A parked job of stage i whose backoff is over, if any; else asks to be
 * woken when the earliest is due. */
static bool unpark(sl_pipeline *p, size_t i, pl_job *j)
{
    uint64_t now = sl__mono_ns(), first = UINT64_MAX;
    bool got = false;
    pthread_mutex_lock(&p->fail_lock);
    size_t best = p->nparked;
    for (size_t k = 0; k < p->nparked; k++) {
        const struct pl_parked *pk = &p->parked[k];
        if (pk->j.stage != (int)i)
            continue;
        if (pk->due_ns <= now && (best == p->nparked || pk->due_ns < p->parked[best].due_ns))
            best = k;
        else if (pk->due_ns > now && pk->due_ns < first)
            first = pk->due_ns;
    }
    if (best < p->nparked) {
        *j = p->parked[best].j;
        p->parked[best] = p->parked[--p->nparked];
        atomic_fetch_sub_explicit(&p->stages[i].nparked, 1, memory_order_relaxed);
        got = true;
    }
    pthread_mutex_unlock(&p->fail_lock);
    if (!got && first != UINT64_MAX)
        wake_at(p, first);
    return got;
}

/* The rank's next seq, from its feed or, without one, the plan in order. */
static bool claim_seq(sl_pipeline *p, uint64_t l, uint64_t *seq, sl_batch **b)
{
    if (!p->feed) {
        if (l >= p->total_batches) {
            atomic_store_explicit(&p->feed_end, true, memory_order_release);
            return false;
        }
        *seq = l;
        return true;
    }
    switch (p->feed->claim(p->feed->self, seq, b)) {
    case SL__FEED_HAVE: return true;
    case SL__FEED_WAIT: return false; /* the round ends; the run loop waits */
    case SL__FEED_END: break;
    }
    atomic_store_explicit(&p->feed_end, true, memory_order_release);
    return false;
}

/* Source: the next lidx and its seq, unless that would overrun an ordered
 * window (checked first: a claimed seq cannot be given back). */
static bool claim_lidx(sl_pipeline *p, uint64_t *lidx, uint64_t *seq, sl_batch **b)
{
    uint64_t l = atomic_load_explicit(&p->next_lidx, memory_order_relaxed);
    if (atomic_load_explicit(&p->feed_end, memory_order_relaxed) ||
        atomic_load_explicit(&p->drain, memory_order_relaxed))
        return false;
    for (size_t k = 1; k < p->nstages; k++) {
        pl_stage *o = &p->stages[k];
        /* Acquire: pairs with take_ordered's release, so the ring slot this
         * lidx will use was emptied before we hand the lidx out. */
        if (o->mode == SL_MODE_ORDERED &&
            l >= atomic_load_explicit(&o->next, memory_order_acquire) + (uint64_t)o->qcap)
            return false;
    }
    if (!claim_seq(p, l, seq, b))
        return false;
    atomic_store_explicit(&p->next_lidx, l + 1, memory_order_relaxed); /* one firer */
    *lidx = l;
    return true;
}

static bool take_ordered(pl_stage *st, sl_batch **b)
{
    uint64_t n = atomic_load_explicit(&st->next, memory_order_relaxed); /* one firer */
    _Atomic(sl_batch *) *slot = &st->ring[n % (uint64_t)st->qcap];
    /* Acquire: pairs with the release in push_down, so the batch's contents
     * written upstream are visible here. */
    sl_batch *got = atomic_load_explicit(slot, memory_order_acquire);
    if (!got)
        return false;
    atomic_store_explicit(slot, NULL, memory_order_relaxed);
    /* Release: the emptied slot must be visible before the source may hand
     * out the lidx that reuses it (claim_lidx's acquire). */
    atomic_store_explicit(&st->next, n + 1, memory_order_release);
    *b = got;
    return true;
}

/* The rebatch stage's next job (its instance is held, so no job of it runs):
 * emit when a batch's worth of rows is gathered; else the input held back,
 * or the next from the ring; else, once everything upstream has gone by, the
 * rows left (*b NULL: emit only). */
static bool rebatch_take(sl_pipeline *p, pl_stage *st, sl_batch **b, bool *moved)
{
    *b = NULL;
    if (st->acc && sl_batch_nrows(st->acc) >= st->rebatch_rows)
        return true;
    if (st->held) {
        *b = st->held;
        st->held = NULL;
        return true;
    }
    while (take_ordered(st, b)) {
        *moved = true;
        if (*b != PL_TOMB(p)) {
            atomic_fetch_add_explicit(&st->taken, 1, memory_order_release);
            return true;
        }
    }
    *b = NULL;
    return st->acc && sl_batch_nrows(st->acc) > 0 && sl__rebatch_upstream_done(p);
}

/* Tries to create one job of stage i: grabs a downstream credit, the library
 * token, then a parked job whose backoff is over or else an instance and an
 * input, and gives back what it took when a later one is missing. *moved:
 * an ordered stage's window moved (it took a batch or a tombstone). */
static bool try_fire(sl_pipeline *p, size_t i, pl_job *j, bool *popped, bool *moved)
{
    if (stopping(p))
        return false;
    pl_stage *st = &p->stages[i];
    uint64_t now = 0;
    if (st->rate_gap_ns) {
        now = sl__mono_ns();
        uint64_t next = atomic_load_explicit(&st->rate_next_ns, memory_order_relaxed);
        if (now < next) {
            wake_at(p, next);
            return false;
        }
    }
    /* No input, nothing parked, no checkpoint to make: nothing to fire, and
     * nothing to take and give back (a credit and an instance on lines the
     * other threads use). Most pokes of a stage end here: the one a job
     * makes when it frees its instance, the second look after a fire. The
     * poke chain orders a push before this look, as it does for the pop. */
    if (i > 0 && i != p->rebatch && i != p->ckpt_stage &&
        atomic_load_explicit(&st->nparked, memory_order_relaxed) == 0) {
        if (st->mode == SL_MODE_ORDERED) {
            uint64_t n = atomic_load_explicit(&st->next, memory_order_relaxed);
            if (!atomic_load_explicit(&st->ring[n % (uint64_t)st->qcap], memory_order_relaxed))
                return false;
        } else if (sl_queue_size_approx(st->inq) == 0) {
            return false;
        }
    }
    pl_stage *down = i + 1 < p->nstages ? &p->stages[i + 1] : NULL;
    bool credit = down && down->mode != SL_MODE_ORDERED;
    atomic_long *cr = credit ? &down->credits : !down ? p->tail_credits : NULL;
    if (cr && !take_credit(cr))
        return false;
    bool excl = st->desc->flags & SL_STAGE_EXCLUSIVE_LIBRARY;
    int idle = 0;
    /* Acq_rel: pairs with the release in execute, so the previous job's
     * library calls happen before ours. */
    if (excl && !atomic_compare_exchange_strong_explicit(&p->excl_busy, &idle, 1,
                                                          memory_order_acq_rel,
                                                          memory_order_relaxed))
        goto no_token;
    if (atomic_load_explicit(&st->nparked, memory_order_relaxed) > 0 && unpark(p, i, j))
        goto fired;
    void *slot;
    if (!sl_queue_try_pop_mpmc(st->free_inst, &slot))
        goto no_instance;
    j->stage = (int)i;
    j->inst = (int)(uintptr_t)slot;
    j->b = NULL;
    j->orig = NULL;
    j->attempt = 0;
    j->ckpt = false;
    /* The writer's only instance is ours, so no batch is being written:
     * the moment for a checkpoint. The clock is read only by the writer's
     * firer. */
    if (i == p->ckpt_stage &&
        sl__mono_ns() >= atomic_load_explicit(&p->ckpt_due_ns, memory_order_relaxed)) {
        j->ckpt = true;
        return true;
    }
    if (i == p->rebatch) {
        if (rebatch_take(p, st, &j->b, moved))
            goto fired;
    } else if (i == 0) {
        if (claim_lidx(p, &j->lidx, &j->seq, &j->b))
            goto fired;
    } else if (st->mode == SL_MODE_ORDERED) {
        while (take_ordered(st, &j->b)) {
            *moved = true;
            if (j->b != PL_TOMB(p))
                goto fired;
            /* A batch dropped upstream: nothing to run for its lidx. */
        }
    } else if (sl_queue_try_pop_mpmc(st->inq, (void **)&j->b)) {
        atomic_fetch_add_explicit(&st->credits, 1, memory_order_acq_rel);
        *popped = true;
        goto fired;
    }
    sl_queue_try_push_mpmc(st->free_inst, slot);
no_instance:
    if (excl)
        atomic_store_explicit(&p->excl_busy, 0, memory_order_release);
no_token:
    if (cr)
        atomic_fetch_add_explicit(cr, 1, memory_order_acq_rel);
    return false;
fired:
    if (st->rate_gap_ns) { /* one firer: a plain update */
        uint64_t next = atomic_load_explicit(&st->rate_next_ns, memory_order_relaxed);
        atomic_store_explicit(&st->rate_next_ns, (next > now ? next : now) + st->rate_gap_ns,
                              memory_order_relaxed);
    }
    return true;
}

static void run_task(sl_pipeline *p, pl_job j);
static void check_timers(sl_pipeline *p, pl_job *keep);
static void work(sl_pipeline *p);

/* Failed looks at the pending jobs before a worker leaves (~ a few µs). */
#define PL_WORKER_SPIN 256

static inline void pl_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* A thread for the pending jobs, when fewer than the team's are at it: an
 * OpenMP task that runs the worker loop. */
static void add_worker(sl_pipeline *p)
{
    int w = atomic_load_explicit(&p->workers, memory_order_relaxed);
    while (w < p->team)
        if (atomic_compare_exchange_weak_explicit(&p->workers, &w, w + 1, memory_order_relaxed,
                                                  memory_order_relaxed)) {
#pragma omp task default(none) firstprivate(p)
            work(p);
            return;
        }
}

/* A fired job: the caller runs the first one itself (keep); the others wait
 * in p->pending for a thread of the worker loop. An OpenMP task per job
 * would cost a task allocation, libgomp's team lock and a futex wake-up each,
 * and wake a thread for a job of a few hundred ns; a worker takes jobs until
 * none is left, and a task is spawned only while a thread of the team has
 * none. A stage with a priority still gets a task per job (the hint is
 * OpenMP's). */
static void dispatch(sl_pipeline *p, pl_job j, pl_job *keep)
{
    if (keep->stage < 0) {
        *keep = j;
        return;
    }
    int prio = p->stages[j.stage].pol.priority; /* a hint: OMP_MAX_TASK_PRIORITY caps it */
    if (prio == 0) {
        pl_job *slot = &p->jobslots[p->stages[j.stage].slot0 + (size_t)j.inst];
        *slot = j;
        /* Cannot fail: the queue holds a slot per instance. */
        if (sl_queue_try_push_mpmc(p->pending, slot)) {
            atomic_thread_fence(memory_order_seq_cst); /* the push, then the count: work() */
            add_worker(p);
            return;
        }
    }
#pragma omp task default(none) firstprivate(p, j) priority(prio)
    run_task(p, j);
}

static void fire_all(sl_pipeline *p, size_t i, pl_job *keep)
{
    bool popped = false, ordered_moved = false;
    pl_job j;
    while (try_fire(p, i, &j, &popped, &ordered_moved))
        dispatch(p, j, keep);
    if (popped)
        poke(p, i - 1, keep); /* credits came back to the stage before */
    if (ordered_moved && i > 0)
        poke(p, 0, keep);     /* the window moved: the source may go on */
    /* The source has seen the end: a rebatch may now send its last rows
     * (only the source's firer gets here with i == 0, so the flag is its). */
    if (i == 0 && p->rebatch != SIZE_MAX && !p->rebatch_told &&
        atomic_load_explicit(&p->feed_end, memory_order_relaxed)) {
        p->rebatch_told = true;
        poke(p, p->rebatch, keep);
    }
}

static void poke(sl_pipeline *p, size_t i, pl_job *keep)
{
    atomic_uint_fast64_t *c = &p->stages[i].poke;
    /* Acq_rel on every update: the counter's RMW chain carries each poker's
     * change (a push, a freed instance) to the firer's next round. */
    if (atomic_fetch_add_explicit(c, 1, memory_order_acq_rel) != 0)
        return; /* the firer will look again for us */
    uint64_t handled = 1;
    for (;;) {
        fire_all(p, i, keep);
        uint64_t left = atomic_fetch_sub_explicit(c, handled, memory_order_acq_rel) - handled;
        if (left == 0)
            return;
        handled = left;
    }
}

static void fail(sl_pipeline *p, const pl_stage *st, const sl_batch *b, uint64_t seq_if_no_b,
                 sl_status s, sl_error *err)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&p->failed, &expect, 1))
        return; /* the first failure is the one reported */
    if (err->code == SL_OK)
        sl_error_set(err, s, __FILE__, __LINE__, __func__, "%s", sl_status_str(s));
    uint64_t seq = b ? sl_batch_seq(b) : seq_if_no_b;
    sl_error_prefix(err, "stage '%s', batch %llu", st->name, (unsigned long long)seq);
    sl_error_copy(&p->run_err, err);
}

static sl_status call_stage(sl_pipeline *p, pl_stage *st, pl_job *j, sl_error *err)
{
    void *state = st->inst[j->inst];
    if (j->stage != 0)
        return st->desc->process(state, j->b, &st->ctx, err);
    if (j->b) { /* the feed brought the batch (a channel): it is made */
        sl_batch_set_seq(j->b, sl_batch_seq(j->b), j->lidx);
        return SL_OK;
    }
    SL_TRY(sl_batch_pool_get(p->pool, &j->b, err));
    sl_batch_set_seq(j->b, j->seq, j->lidx);
    return st->desc->produce(state, j->seq, j->b, &st->ctx, err);
}

static void push_down(sl_pipeline *p, size_t i, sl_batch *b)
{
    pl_stage *down = &p->stages[i + 1];
    if (down->mode == SL_MODE_ORDERED) {
        /* Release: pairs with take_ordered's acquire. The slot is free: the
         * source handed out this lidx only once the window covered it. */
        atomic_store_explicit(&down->ring[sl_batch_lidx(b) % (uint64_t)down->qcap], b,
                              memory_order_release);
        return;
    }
    /* Cannot fail: our credit reserved a slot, and the ring holds at least
     * qcap items. */
    bool ok = sl_queue_try_push_mpmc(down->inq, b);
    (void)ok;
}

/* A batch left the pipeline: its result contributions join the totals. */
static void fold_results(sl_pipeline *p, const sl_batch *b)
{
    size_t n = sl_batch_result_count(b);
    if (n == 0)
        return;
    sl_error err;
    sl_error_clear(&err);
    sl_status s = sl__run_fold_results(p, b, &err);
    if (s != SL_OK)
        fail(p, &p->stages[p->nstages - 1], b, 0, s, &err);
}

/* Appends [lo, hi) to a range list, joining it to the last range when they
 * touch (batches mostly finish in order); false when out of memory. */
static bool range_push(sl__row_range **v, size_t *n, size_t *cap, uint64_t lo, uint64_t hi)
{
    if (*n && (*v)[*n - 1].hi == lo) {
        (*v)[*n - 1].hi = hi;
        return true;
    }
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        sl__row_range *r = realloc(*v, c * sizeof *r);
        if (!r)
            return false;
        *v = r;
        *cap = c;
    }
    (*v)[(*n)++] = (sl__row_range){lo, hi};
    return true;
}

/* The batch left the last stage: its rows (and, with checkpoints, its seq)
 * are recorded. With checkpoints the last stage is the single-instance
 * writer, so only its one job appends, and the checkpoint reads while it
 * holds that instance: no lock. Otherwise (a multi-rank run without a
 * state) jobs of the last stage may run side by side. */
static void record_rows(sl_pipeline *p, const sl_batch *b)
{
    uint64_t lo = sl_batch_row0(b), hi = lo + sl_batch_nrows(b);
    bool ok;
    if (p->ckpt) {
        uint64_t seq = sl_batch_seq(b);
        ok = range_push(&p->seqs_done, &p->nseqs_done, &p->cap_seqs_done, seq, seq + 1) &&
             range_push(&p->rows_done, &p->nrows_done, &p->cap_rows_done, lo, hi);
    } else {
        pthread_mutex_lock(&p->rows_lock);
        ok = range_push(&p->rows_done, &p->nrows_done, &p->cap_rows_done, lo, hi);
        pthread_mutex_unlock(&p->rows_lock);
    }
    if (!ok) {
        sl_error err;
        sl_error_clear(&err);
        sl_error_set(&err, SL_ENOMEM, __FILE__, __LINE__, __func__,
                     "out of memory recording the rows written");
        fail(p, &p->stages[p->nstages - 1], b, 0, SL_ENOMEM, &err);
    }
}

/* One line on stderr about a stage's failing batches; after PL_MAX_NOTES of
 * them the rest are only counted (the summary has the totals). */
static void note(sl_pipeline *p, pl_stage *st, const char *fmt, ...)
{
    uint64_t n = atomic_fetch_add_explicit(&st->notes, 1, memory_order_relaxed);
    if (n > PL_MAX_NOTES)
        return;
    char line[SL_ERROR_MSG_MAX + 256], rank[32] = "";
    if (p->nranks > 1)
        snprintf(rank, sizeof rank, "rank %d: ", p->rank);
    if (n == PL_MAX_NOTES) {
        fprintf(stderr, "sluice: %sstage '%s': further failures are counted, not shown\n", rank,
                st->name);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "sluice: %sstage '%s', %s\n", rank, st->name, line);
}

/* warn_slow: one line per slow attempt, the first PL_MAX_SLOW_NOTES of a
 * stage; all are counted. */
static void warn_slow(sl_pipeline *p, pl_stage *st, uint64_t seq, uint64_t ns)
{
    atomic_fetch_add_explicit(&st->slow, 1, memory_order_relaxed);
    uint64_t n = atomic_fetch_add_explicit(&st->slow_notes, 1, memory_order_relaxed);
    if (n > PL_MAX_SLOW_NOTES)
        return;
    char rank[32] = "";
    if (p->nranks > 1)
        snprintf(rank, sizeof rank, "rank %d: ", p->rank);
    if (n == PL_MAX_SLOW_NOTES)
        fprintf(stderr, "sluice: %sstage '%s': further slow batches are counted, not shown\n",
                rank, st->name);
    else
        fprintf(stderr, "sluice: %sstage '%s', batch %llu: slow: took %.3f s (warn_slow %g s)\n",
                rank, st->name, (unsigned long long)seq, 1e-9 * (double)ns, st->pol.warn_slow_s);
}

/* Delay before retry number `retry` (1 for the first) of batch seq:
 * exponential up to the cap, then "equal jitter" ([d/2, d)) drawn from a
 * hash of (stage, seq, retry) rather than a shared generator, so that
 * threads do not contend and a rerun waits the same. */
static uint64_t backoff_ns(const pl_stage *st, unsigned retry, uint64_t seq)
{
    const sl_stage_policy *q = &st->pol;
    double d = q->backoff_s * pow(q->backoff_factor, (double)retry - 1);
    if (!(d <= q->backoff_cap_s))
        d = q->backoff_cap_s;
    uint64_t h = seq * 0x9E3779B97F4A7C15u ^ ((uint64_t)retry << 32) ^ (uint64_t)st->ctx.stage;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9u;
    h ^= h >> 29;
    double u = (double)(h >> 11) * 0x1p-53;
    return (uint64_t)(d * (0.5 + 0.5 * u) * 1e9);
}

/* The downstream credit a job took at fire time, back to where it came. */
static void give_back_credit(sl_pipeline *p, size_t i)
{
    if (i + 1 < p->nstages) {
        if (p->stages[i + 1].mode != SL_MODE_ORDERED)
            atomic_fetch_add_explicit(&p->stages[i + 1].credits, 1, memory_order_acq_rel);
    } else if (p->tail_credits) {
        atomic_fetch_add_explicit(p->tail_credits, 1, memory_order_acq_rel);
    }
}

static void put_batches(sl_pipeline *p, pl_job *j)
{
    if (j->b)
        sl_batch_pool_put(p->pool, j->b);
    if (j->orig)
        sl_batch_pool_put(p->pool, j->orig);
    j->b = j->orig = NULL;
}

/* Parks a failed job for its retry; false when its input cannot be restored
 * (the run then fails). */
static bool park(sl_pipeline *p, pl_stage *st, pl_job *j, uint64_t seq, const sl_error *why,
                 sl_error *err)
{
    if (j->stage == 0) {
        if (j->b) /* the source makes it again from its seq */
            sl_batch_pool_put(p->pool, j->b);
        j->b = NULL;
    } else if (sl_batch_copy(j->b, j->orig, err) != SL_OK) {
        return false;
    }
    j->attempt++;
    uint64_t delay = backoff_ns(st, j->attempt, seq), due = sl__mono_ns() + delay;
    pthread_mutex_lock(&p->fail_lock);
    if (p->nparked == p->cap_parked) {
        size_t cap = p->cap_parked ? 2 * p->cap_parked : 16;
        struct pl_parked *np = realloc(p->parked, cap * sizeof *np);
        if (!np) {
            pthread_mutex_unlock(&p->fail_lock);
            sl_error_set(err, SL_ENOMEM, __FILE__, __LINE__, __func__,
                         "out of memory parking batch %llu for its retry",
                         (unsigned long long)seq);
            return false;
        }
        p->parked = np;
        p->cap_parked = cap;
    }
    p->parked[p->nparked++] = (struct pl_parked){*j, due};
    atomic_fetch_add_explicit(&st->nparked, 1, memory_order_relaxed);
    pthread_mutex_unlock(&p->fail_lock);
    atomic_fetch_add_explicit(&st->retried, 1, memory_order_relaxed);
    wake_at(p, due);
    note(p, st, "batch %llu: attempt %u of %u failed: %s; retrying in %.3g s",
         (unsigned long long)seq, j->attempt, st->pol.retries + 1, why->msg, 1e-9 * (double)delay);
    return true;
}

/* Gives a batch up (on_error skip or deadletter); false when it could not
 * be recorded (the run then fails). */
static bool drop(sl_pipeline *p, size_t i, pl_job *j, uint64_t seq, const sl_error *why,
                 sl_error *err)
{
    pl_stage *st = &p->stages[i];
    uint64_t lidx = j->b ? sl_batch_lidx(j->b) : j->lidx;
    bool dead = st->pol.on_error == SL_ON_ERROR_DEADLETTER;
    if (dead || p->ckpt) {
        /* The dead letter and its finished seq go into the same checkpoint,
         * which takes fail_lock too (checkpoint.c). */
        pthread_mutex_lock(&p->fail_lock);
        sl_status s = dead ? sl__pipeline_dead_add(p, seq, st->name, j->attempt + 1, why->msg, err)
                           : SL_OK;
        if (s == SL_OK && p->ckpt &&
            !range_push(&p->seqs_dropped, &p->nseqs_dropped, &p->cap_seqs_dropped, seq, seq + 1))
            s = SL_FAIL(SL_ENOMEM, "out of memory recording batch %llu as given up",
                        (unsigned long long)seq);
        pthread_mutex_unlock(&p->fail_lock);
        if (s != SL_OK)
            return false;
    }
    put_batches(p, j);
    atomic_fetch_add_explicit(&st->dropped, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->dropped, 1, memory_order_acq_rel);
    note(p, st, "batch %llu %s after %u attempt%s: %s", (unsigned long long)seq,
         dead ? "dead-lettered" : "skipped", j->attempt + 1, j->attempt ? "s" : "", why->msg);
    for (size_t k = i + 1; k < p->nstages; k++) {
        pl_stage *o = &p->stages[k];
        if (o->mode != SL_MODE_ORDERED)
            continue;
        /* Release: pairs with take_ordered's acquire. The slot is free for
         * the same reason as in push_down. */
        atomic_store_explicit(&o->ring[lidx % (uint64_t)o->qcap], PL_TOMB(p),
                              memory_order_release);
    }
    return true;
}

/* The job's attempt failed with s (err): retry it, give it up or fail the
 * run, as the stage's policy says. Returns true when the job was parked
 * (it keeps its instance). */
static bool on_failure(sl_pipeline *p, size_t i, pl_job *j, sl_status s, bool timed_out,
                       sl_error *err)
{
    pl_stage *st = &p->stages[i];
    uint64_t seq = j->b ? sl_batch_seq(j->b) : j->seq;
    /* A stage that stopped because the run is stopping did not fail: its
     * batch is abandoned (made again by a resume), and the run still
     * checkpoints what finished. A watchdog stop is a failure, though: the
     * stuck batch's own error says what it was doing. */
    if (!timed_out && stopping(p) && !sl_pipeline_watchdog_fired(p)) {
        if (!atomic_load_explicit(&p->failed, memory_order_relaxed))
            note(p, st, "batch %llu abandoned, the run is stopping: %s", (unsigned long long)seq,
                 err->msg);
        put_batches(p, j);
        return false;
    }
    if (j->attempt < st->pol.retries) {
        sl_error why;
        sl_error_copy(&why, err);
        sl_error_clear(err);
        if (park(p, st, j, seq, &why, err))
            return true;
        s = err->code;
    } else if (st->pol.on_error != SL_ON_ERROR_ABORT) {
        sl_error why;
        sl_error_copy(&why, err);
        sl_error_clear(err);
        if (drop(p, i, j, seq, &why, err))
            return false;
        s = err->code;
    }
    fail(p, st, j->b, seq, s, err);
    put_batches(p, j);
    return false;
}

/* A rebatch job: its step (rebatch.c) emits at most one batch, which goes
 * down like any finished batch; without one the job gives its credit back. */
static void execute_rebatch(sl_pipeline *p, pl_job *j, pl_job *keep)
{
    size_t i = (size_t)j->stage;
    pl_stage *st = &p->stages[i];
    sl_error err;
    sl_error_clear(&err);
    sl_batch *out = NULL;
    uint64_t rows_in = j->b ? sl_batch_nrows(j->b) : 0;
    uint64_t t0 = sl__fast_ns();
    sl_status s = sl__rebatch_step(p, st, j->b, &out, &err);
    uint64_t t1 = sl__fast_ns();
    count_job(p, i, out ? sl_batch_nrows(out) : 0, t1 - t0, s == SL_OK && out);
    sl__metrics_job(p, (int)i, out ? sl_batch_seq(out) : 0, t0, t1, rows_in,
                    out ? sl_batch_nrows(out) : 0, s == SL_OK);
    j->b = NULL; /* the step owns the input from here */
    if (s != SL_OK) {
        fail(p, st, out, 0, s, &err);
        if (out)
            sl_batch_pool_put(p->pool, out);
        give_back_credit(p, i);
    } else if (!out) {
        give_back_credit(p, i);
    } else {
        if (i + 1 == p->nstages) {
            fold_results(p, out);
            if (p->record_rows)
                record_rows(p, out);
            if (!p->tail_keeps)
                sl_batch_pool_put(p->pool, out);
        } else {
            push_down(p, i, out);
            poke(p, i + 1, keep);
        }
    }
    sl_queue_try_push_mpmc(st->free_inst, (void *)(uintptr_t)j->inst);
    poke(p, i, keep);
    check_timers(p, keep);
}

/* Gives back what a job of stage i held when it fired (its instance inst,
 * unless -1, and the library token) and pokes whoever may fire with it. */
static void release_job(sl_pipeline *p, size_t i, int inst, pl_job *keep)
{
    pl_stage *st = &p->stages[i];
    if (inst >= 0)
        sl_queue_try_push_mpmc(st->free_inst, (void *)(uintptr_t)inst);
    if (st->desc->flags & SL_STAGE_EXCLUSIVE_LIBRARY) {
        atomic_store_explicit(&p->excl_busy, 0, memory_order_release);
        /* The token is back: every other such stage may fire now. */
        for (size_t k = 0; k < p->nstages; k++)
            if (k != i && (p->stages[k].desc->flags & SL_STAGE_EXCLUSIVE_LIBRARY))
                poke(p, k, keep);
    }
    poke(p, i, keep);
}

/* A checkpoint job: the writer's instance and library token are held, so
 * the sink may close its file (checkpoint.c). */
static void execute_ckpt(sl_pipeline *p, pl_job *j, pl_job *keep)
{
    size_t i = (size_t)j->stage;
    sl_error err;
    sl_error_clear(&err);
    sl_status s = sl__ckpt_write(p, &err);
    if (s != SL_OK) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&p->failed, &expect, 1)) {
            sl_error_prefix(&err, "checkpoint");
            sl_error_copy(&p->run_err, &err);
        }
    }
    give_back_credit(p, i);
    release_job(p, i, j->inst, keep);
    check_timers(p, keep);
}

/* Stage i's job succeeded: when stage i+1 takes a batch straight from it
 * (inline_ok) and it can have an idle instance and a credit downstream at
 * once, the batch becomes i+1's job on this thread (keep) without passing
 * through i+1's queue, its firer, the credits of that queue or the pokes:
 * the hand-over costs two atomic operations instead of a dozen, and the
 * batch stays in this core's cache. Parallel and serial stages make no
 * promise of order, so overtaking batches queued there is allowed; the
 * queued ones are fired when an instance comes back (release_job pokes).
 * The resources are taken in the firer's order (credit, then instance) and
 * a credit given back is followed by a poke of i+1 (the caller's push_down
 * path), so no wake-up is lost. */
static bool inline_next(sl_pipeline *p, size_t i, pl_job *j, pl_job *keep)
{
    pl_stage *nx = &p->stages[i + 1];
    /* Batches already queued there go first: the hand-over must not keep
     * overtaking them. */
    if (!nx->inline_ok || keep->stage >= 0 || stopping(p) ||
        atomic_load_explicit(&nx->nparked, memory_order_relaxed) > 0 ||
        sl_queue_size_approx(nx->inq) != 0)
        return false;
    pl_stage *down = i + 2 < p->nstages ? &p->stages[i + 2] : NULL;
    atomic_long *cr = down ? (down->mode != SL_MODE_ORDERED ? &down->credits : NULL)
                           : p->tail_credits;
    if (cr && !take_credit(cr))
        return false;
    void *slot;
    if (!sl_queue_try_pop_mpmc(nx->free_inst, &slot)) {
        if (cr)
            atomic_fetch_add_explicit(cr, 1, memory_order_acq_rel);
        return false;
    }
    /* The slot this job reserved in i+1's queue is not used: back to i,
     * whose release_job pokes it next. */
    atomic_fetch_add_explicit(&nx->credits, 1, memory_order_acq_rel);
    *keep = (pl_job){.stage = (int)(i + 1), .inst = (int)(uintptr_t)slot, .b = j->b};
    j->b = NULL;
    return true;
}

static void execute(sl_pipeline *p, pl_job *j, pl_job *keep)
{
    size_t i = (size_t)j->stage;
    pl_stage *st = &p->stages[i];
    sl_error err;
    sl_error_clear(&err);
    sl_status s = SL_OK;
    if (j->ckpt) {
        execute_ckpt(p, j, keep);
        return;
    }
    if (i == p->rebatch) {
        execute_rebatch(p, j, keep);
        return;
    }
    /* With a retry still possible, keep the input as it came: process()
     * works in place. */
    bool no_copy = false; /* the input could not be kept: no retry can restore it */
    if (i > 0 && j->attempt < st->pol.retries && !j->orig) {
        s = sl_batch_pool_get(p->pool, &j->orig, &err);
        if (s == SL_OK)
            s = sl_batch_copy(j->orig, j->b, &err);
        no_copy = s != SL_OK;
    }
    /* A deadline or a slow warning compares with the system clock; otherwise
     * the cheaper counter times the attempt. */
    bool exact = st->timeout_ns || st->warn_slow_ns;
    uint64_t t0 = exact ? sl__mono_ns() : sl__fast_ns(), t1 = t0;
    bool timed_out = false;
    if (s == SL_OK) {
        uint64_t seq = j->b ? sl_batch_seq(j->b) : j->seq;
        uint64_t rows_in = i > 0 ? sl_batch_nrows(j->b) : 0;
        sl__watch_job_begin(p, (int)i, seq);
        /* Saved and restored: a stage's own OpenMP tasks may run another job
         * on this thread at a scheduling point. */
        uint64_t outer_deadline = sl__tl_deadline_ns;
        sl__tl_deadline_ns = st->timeout_ns ? t0 + st->timeout_ns : 0;
        s = call_stage(p, st, j, &err);
        sl__tl_deadline_ns = outer_deadline;
        sl__watch_job_end(p);
        t1 = exact ? sl__mono_ns() : sl__fast_ns();
        sl__metrics_job(p, (int)i, seq, t0, t1, rows_in, j->b ? sl_batch_nrows(j->b) : 0,
                        s == SL_OK && !(st->timeout_ns && t1 - t0 > st->timeout_ns));
        if (st->warn_slow_ns && t1 - t0 > st->warn_slow_ns)
            warn_slow(p, st, seq, t1 - t0);
        /* Past its deadline the attempt has failed, whatever it returned. */
        if (st->timeout_ns && t1 - t0 > st->timeout_ns) {
            timed_out = true;
            atomic_fetch_add_explicit(&st->timeouts, 1, memory_order_relaxed);
            sl_error_clear(&err);
            sl_error_set(&err, SL_ETIMEDOUT, __FILE__, __LINE__, __func__,
                         "timed out after %.3f s (timeout %g s)", 1e-9 * (double)(t1 - t0),
                         st->pol.timeout_s);
            s = SL_ETIMEDOUT;
        }
    }
    /* Counted before the batch moves on: another thread may take it then. */
    count_job(p, i, s == SL_OK ? sl_batch_nrows(j->b) : 0, t1 - t0, s == SL_OK);
    bool last = i + 1 == p->nstages, parked = false;
    if (s != SL_OK) {
        if (err.code == SL_OK)
            sl_error_set(&err, s, __FILE__, __LINE__, __func__, "%s", sl_status_str(s));
        if (no_copy) {
            fail(p, st, j->b, j->seq, s, &err);
            put_batches(p, j);
        } else {
            parked = on_failure(p, i, j, s, timed_out, &err);
        }
        give_back_credit(p, i);
    } else {
        if (j->orig)
            sl_batch_pool_put(p->pool, j->orig);
        j->orig = NULL;
        if (last) {
            fold_results(p, j->b);
            if (p->record_rows)
                record_rows(p, j->b);
            if (!p->tail_keeps)
                sl_batch_pool_put(p->pool, j->b);
        }
        else if (!inline_next(p, i, j, keep)) {
            push_down(p, i, j->b);
            poke(p, i + 1, keep);
        }
    }
    if (s != SL_OK && !parked && !stopping(p))
        /* A dropped batch: ordered stages after it may move on. */
        for (size_t k = i + 1; k < p->nstages; k++)
            if (p->stages[k].mode == SL_MODE_ORDERED)
                poke(p, k, keep);
    release_job(p, i, parked ? -1 : j->inst, keep); /* a parked job keeps its instance */
    check_timers(p, keep);
}

/* When a parked job's backoff or a rate limit is over, pokes the stages
 * that wait on a timer; the one who resets wake_ns does it, and the stages
 * that must wait longer ask again (wake_at). */
static void check_timers(sl_pipeline *p, pl_job *keep)
{
    uint64_t w = atomic_load_explicit(&p->wake_ns, memory_order_relaxed);
    if (w == UINT64_MAX || sl__mono_ns() < w)
        return;
    if (!atomic_compare_exchange_strong_explicit(&p->wake_ns, &w, UINT64_MAX,
                                                 memory_order_acq_rel, memory_order_relaxed))
        return;
    for (size_t k = p->nstages; k-- > 0;) {
        pl_stage *st = &p->stages[k];
        if (st->rate_gap_ns || atomic_load_explicit(&st->nparked, memory_order_relaxed) > 0)
            poke(p, k, keep);
    }
}

static void run_task(sl_pipeline *p, pl_job j)
{
    for (;;) {
        pl_job next = {.stage = -1};
        execute(p, &j, &next);
        if (next.stage < 0)
            return;
        j = next;
    }
}

/* The worker loop: pending jobs until there are none. A job pushed while a
 * worker leaves is not stranded: the pusher saw the worker still counted
 * (no new task then), so the leaving worker, after it has uncounted itself,
 * looks at the queue once more (the fences order the pusher's push before
 * its look at the count against our uncount before our look at the queue:
 * one of the two sees the other) and takes the job back up if it may. */
static void work(sl_pipeline *p)
{
    void *slot;
    for (;;) {
        /* While another worker runs it may fire more: wait a moment for
         * that before leaving, since a new worker costs a task and a
         * wake-up. */
        for (int idle = 0; idle < PL_WORKER_SPIN;) {
            if (sl_queue_try_pop_mpmc(p->pending, &slot)) {
                run_task(p, *(pl_job *)slot);
                idle = 0;
            } else if (atomic_load_explicit(&p->workers, memory_order_relaxed) > 1 &&
                       !stopping(p)) {
                idle++;
                pl_pause();
            } else {
                break;
            }
        }
        atomic_fetch_sub_explicit(&p->workers, 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_seq_cst);
        if (sl_queue_size_approx(p->pending) == 0)
            return;
        int w = atomic_load_explicit(&p->workers, memory_order_relaxed);
        do {
            if (w >= p->team)
                return; /* enough workers run: one of them takes it */
        } while (!atomic_compare_exchange_weak_explicit(&p->workers, &w, w + 1,
                                                        memory_order_relaxed,
                                                        memory_order_relaxed));
    }
}

/* After a failure, batches can be left in queues, rings and parked jobs:
 * return them. */
static void drain(sl_pipeline *p)
{
    for (size_t k = 0; k < p->nparked; k++)
        put_batches(p, &p->parked[k].j);
    p->nparked = 0;
    if (p->rebatch != SIZE_MAX)
        sl__rebatch_drain(p, &p->stages[p->rebatch]);
    for (size_t i = 1; i < p->nstages; i++) {
        pl_stage *st = &p->stages[i];
        void *b;
        while (st->inq && sl_queue_try_pop_mpmc(st->inq, &b))
            sl_batch_pool_put(p->pool, b);
        for (int k = 0; st->ring && k < st->qcap; k++) {
            sl_batch *rb = atomic_exchange(&st->ring[k], NULL);
            if (rb && rb != PL_TOMB(p))
                sl_batch_pool_put(p->pool, rb);
        }
    }
}

static void reset_counters(sl_pipeline *p)
{
    atomic_store(&p->next_lidx, 0);
    atomic_store(&p->excl_busy, 0);
    atomic_store(&p->feed_end, false);
    atomic_store(&p->nfold, 0);
    p->rebatch_told = false;
    atomic_store(&p->absorbed, 0);
    atomic_store(&p->emitted, 0);
    p->nrows_done = 0;
    p->nseqs_done = 0;
    p->nseqs_dropped = 0;
    atomic_store(&p->failed, 0);
    atomic_store(&p->dropped, 0);
    atomic_store(&p->wake_ns, UINT64_MAX);
    for (size_t i = 0; i < p->nstages; i++) {
        pl_stage *st = &p->stages[i];
        atomic_store(&st->retried, 0);
        atomic_store(&st->timeouts, 0);
        atomic_store(&st->dropped, 0);
        atomic_store(&st->nparked, 0);
        atomic_store(&st->notes, 0);
        atomic_store(&st->slow, 0);
        atomic_store(&st->slow_notes, 0);
        atomic_store(&st->taken, 0);
        atomic_store(&st->rate_next_ns, 0);
        /* "At most rate batches per second across the job": each of the
         * nranks ranks gets an equal share. */
        /* Clamped to 2^62 ns (146 years): the cast and the sum with a time
         * stay defined however slow the rate and many the ranks. */
        double gap = st->pol.rate > 0 ? 1e9 * (double)(p->nranks > 0 ? p->nranks : 1) / st->pol.rate : 0;
        st->rate_gap_ns = gap > 0x1p62 ? (uint64_t)1 << 62 : (uint64_t)gap;
        atomic_store(&st->credits, st->qcap);
        atomic_store(&st->next, 0);
        atomic_store(&st->poke, 0);
        atomic_store(&st->completed, 0);
        atomic_store(&st->rows, 0);
        atomic_store(&st->busy_ns, 0);
    }
}

/* Every batch claimed has left the last stage or was given up. */
static bool all_done(sl_pipeline *p)
{
    bool gathered = p->rebatch == SIZE_MAX || sl__rebatch_empty(p);
    return gathered && sl__stage_completed(p, p->nstages - 1) +
                               atomic_load(&p->dropped) + atomic_load(&p->absorbed) ==
                           atomic_load(&p->next_lidx) + atomic_load(&p->emitted);
}

/* Between rounds, with no job running and nothing from outside to wait
 * for: timers (backoffs, rate limits) stand in the way; sleep until the
 * first, in slices so that a stop request is seen. */
static bool timers_pending(sl_pipeline *p)
{
    if (atomic_load(&p->wake_ns) != UINT64_MAX)
        return true;
    for (size_t k = 0; k < p->nstages; k++)
        if (atomic_load(&p->stages[k].nparked) > 0)
            return true;
    return false;
}

static void sleep_for_timers(sl_pipeline *p)
{
    uint64_t w = atomic_load(&p->wake_ns);
    if (w == UINT64_MAX) /* parked jobs waiting for a credit: look again soon */
        w = sl__mono_ns() + 10000000u;
    atomic_store(&p->wake_ns, UINT64_MAX); /* the next round pokes every stage anyway */
    for (uint64_t now = sl__mono_ns(); now < w && !atomic_load(&p->stop); now = sl__mono_ns()) {
        uint64_t d = w - now < 10000000u ? w - now : 10000000u;
        struct timespec ts = {0, (long)d};
        nanosleep(&ts, NULL);
    }
}

/* One round: the team runs until no job runs and none can fire. Every
 * stage is looked at, last first: after a wait, what changed may be a
 * credit of the last stage or input of the first. */
static void run_round(sl_pipeline *p)
{
    atomic_store(&p->workers, 1); /* the thread of the single below */
#pragma omp parallel num_threads(p->threads) default(none) shared(p)
#pragma omp single
    {
        /* OpenMP may give fewer threads (OMP_THREAD_LIMIT, nesting): no
         * more workers than threads that can run them. */
        p->team = omp_get_num_threads();
        pl_job keep = {.stage = -1};
        for (size_t i = p->nstages; i-- > 0;) {
            poke(p, i, &keep);
            if (keep.stage >= 0) {
                run_task(p, keep);
                keep.stage = -1;
            }
        }
        work(p);
    }
}

sl_status sl__executor_run(sl_pipeline *p, sl_error *err)
{
    sl__ticks_init();
    SL_TRY(tcount_reset(p, err));
    reset_counters(p);
    SL_TRY(jobs_reset(p, err));
    sl_error_clear(&p->run_err);
    SL_TRY(sl__watch_start(p, err));
    sl_status ms = sl__metrics_start(p, err);
    if (ms != SL_OK) {
        sl__watch_stop(p);
        return ms;
    }
    /* A round ends early only when the feed has nothing yet: wait for it and
     * go again. The pipeline is empty then, so nothing is held meanwhile. */
    for (;;) {
        run_round(p);
        if (stopping(p) || atomic_load(&p->drain))
            break; /* draining: what was in flight has gone through */
        if (atomic_load(&p->feed_end) && all_done(p))
            break;
        /* Input from outside (a feed, a channel) must not wait for a
         * backoff: with one, wait on it (briefly) and look again. */
        bool outside = p->waiter.wait || (p->feed && p->feed->wait && !atomic_load(&p->feed_end));
        bool timers = timers_pending(p);
        if (timers && !outside) {
            sleep_for_timers(p);
            continue;
        }
        if (p->waiter.wait)
            p->waiter.wait(p->waiter.self, &p->stop);
        else if (p->feed && p->feed->wait && !atomic_load(&p->feed_end))
            p->feed->wait(p->feed->self, &p->stop);
        else
            break; /* stalled: reported below */
    }
    sl__metrics_stop(p);
    sl__watch_stop(p);
    drain(p);
    p->peak_batches = sl_batch_pool_peak(p->pool);
    bool failed = atomic_load(&p->failed);
    bool end = !failed && atomic_load(&p->feed_end) && all_done(p);
    sl_error cerr;
    sl_error_clear(&cerr);
    sl_status cs = SL_OK;
    /* A stopped run checkpoints what it finished. A failed or hung one
     * checkpoints nothing more (its earlier checkpoints stand); at a
     * successful end the run's owner decides (resume_run.c). */
    if (p->ckpt && !failed && !end && !sl_pipeline_watchdog_fired(p))
        cs = sl__ckpt_write(p, &cerr);
    if (failed) {
        sl_error_copy(err, &p->run_err);
        return err->code;
    }
    if (cs != SL_OK) {
        sl_error_copy(err, &cerr);
        sl_error_prefix(err, "checkpoint");
        return cs;
    }
    sl__pipeline_dead_sort(p);
    SL_TRY(sl__run_fold_flush(p, err));
    uint64_t done = sl__stage_completed(p, p->nstages - 1) + atomic_load(&p->dropped);
    uint64_t claimed = atomic_load(&p->next_lidx);
    if (!end && (atomic_load(&p->stop) || atomic_load(&p->drain))) {
        if (p->feed) /* a share of the job: its size is not known here */
            return SL_FAIL(SL_ECANCELED, "run stopped on request after %llu batches here",
                           (unsigned long long)done);
        return SL_FAIL(SL_ECANCELED, "run stopped on request after %llu of %llu batches",
                       (unsigned long long)done, (unsigned long long)p->total_batches);
    }
    SL_CHECK(end, SL_EINVAL,
             "internal error: the pipeline stalled after %llu of %llu batches",
             (unsigned long long)done, (unsigned long long)claimed);
    return SL_OK;
}
