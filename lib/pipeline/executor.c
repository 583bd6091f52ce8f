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
 * OpenMP region ends; the counts then say whether every batch got through. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipeline_impl.h"
#include "pipeline/watch.h"

typedef struct pl_job {
    int stage; /* -1: no job */
    int inst;
    uint64_t lidx;
    uint64_t seq; /* the source's jobs: the batch to make */
    sl_batch *b;
} pl_job;

static void poke(sl_pipeline *p, size_t i, pl_job *keep);

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

/* The rank's next seq, from its feed or, without one, the plan in order. */
static bool claim_seq(sl_pipeline *p, uint64_t l, uint64_t *seq, sl_batch **b)
{
    if (!p->feed) {
        if (l >= p->total_batches) {
            p->feed_end = true;
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
    p->feed_end = true;
    return false;
}

/* Source: the next lidx and its seq, unless that would overrun an ordered
 * window (checked first: a claimed seq cannot be given back). */
static bool claim_lidx(sl_pipeline *p, uint64_t *lidx, uint64_t *seq, sl_batch **b)
{
    uint64_t l = atomic_load_explicit(&p->next_lidx, memory_order_relaxed);
    if (p->feed_end)
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

/* Tries to create one job of stage i; grabs credit, instance, input in that
 * order and gives back what it took when a later one is missing. */
static bool try_fire(sl_pipeline *p, size_t i, pl_job *j, bool *popped)
{
    if (stopping(p))
        return false;
    pl_stage *st = &p->stages[i];
    pl_stage *down = i + 1 < p->nstages ? &p->stages[i + 1] : NULL;
    bool credit = down && down->mode != SL_MODE_ORDERED;
    atomic_long *cr = credit ? &down->credits : !down ? p->tail_credits : NULL;
    if (cr && !take_credit(cr))
        return false;
    void *slot;
    if (!sl_queue_try_pop_mpmc(st->free_inst, &slot))
        goto no_instance;
    bool excl = st->desc->flags & SL_STAGE_EXCLUSIVE_LIBRARY;
    int idle = 0;
    /* Acq_rel: pairs with the release in execute, so the previous job's
     * library calls happen before ours. */
    if (excl && !atomic_compare_exchange_strong_explicit(&p->excl_busy, &idle, 1,
                                                          memory_order_acq_rel,
                                                          memory_order_relaxed))
        goto no_token;
    j->stage = (int)i;
    j->inst = (int)(uintptr_t)slot;
    j->b = NULL;
    if (i == 0) {
        if (claim_lidx(p, &j->lidx, &j->seq, &j->b))
            return true;
    } else if (st->mode == SL_MODE_ORDERED) {
        if (take_ordered(st, &j->b))
            return true;
    } else if (sl_queue_try_pop_mpmc(st->inq, (void **)&j->b)) {
        atomic_fetch_add_explicit(&st->credits, 1, memory_order_acq_rel);
        *popped = true;
        return true;
    }
    if (excl)
        atomic_store_explicit(&p->excl_busy, 0, memory_order_release);
no_token:
    sl_queue_try_push_mpmc(st->free_inst, slot);
no_instance:
    if (cr)
        atomic_fetch_add_explicit(cr, 1, memory_order_acq_rel);
    return false;
}

static void run_task(sl_pipeline *p, pl_job j);

static void dispatch(sl_pipeline *p, pl_job j, pl_job *keep)
{
    if (keep->stage < 0) {
        *keep = j;
        return;
    }
#pragma omp task default(none) firstprivate(p, j)
    run_task(p, j);
}

static void fire_all(sl_pipeline *p, size_t i, pl_job *keep)
{
    bool popped = false, ordered_moved = false;
    pl_job j;
    while (try_fire(p, i, &j, &popped)) {
        ordered_moved |= p->stages[i].mode == SL_MODE_ORDERED;
        dispatch(p, j, keep);
    }
    if (popped)
        poke(p, i - 1, keep); /* credits came back to the stage before */
    if (ordered_moved && i > 0)
        poke(p, 0, keep);     /* the window moved: the source may go on */
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

static void record_rows(sl_pipeline *p, const sl_batch *b)
{
    uint64_t lo = sl_batch_row0(b), hi = lo + sl_batch_nrows(b);
    pthread_mutex_lock(&p->rows_lock);
    if (p->nrows_done && p->rows_done[p->nrows_done - 1].hi == lo)
        p->rows_done[p->nrows_done - 1].hi = hi; /* in order: the usual case */
    else {
        if (p->nrows_done == p->cap_rows_done) {
            size_t cap = p->cap_rows_done ? 2 * p->cap_rows_done : 64;
            sl__row_range *r = realloc(p->rows_done, cap * sizeof *r);
            if (!r) {
                pthread_mutex_unlock(&p->rows_lock);
                sl_error err;
                sl_error_clear(&err);
                sl_error_set(&err, SL_ENOMEM, __FILE__, __LINE__, __func__,
                             "out of memory recording the rows written");
                fail(p, &p->stages[p->nstages - 1], b, 0, SL_ENOMEM, &err);
                return;
            }
            p->rows_done = r;
            p->cap_rows_done = cap;
        }
        p->rows_done[p->nrows_done++] = (sl__row_range){lo, hi};
    }
    pthread_mutex_unlock(&p->rows_lock);
}

static void execute(sl_pipeline *p, pl_job *j, pl_job *keep)
{
    size_t i = (size_t)j->stage;
    pl_stage *st = &p->stages[i];
    sl_error err;
    sl_error_clear(&err);
    uint64_t t0 = now_ns();
    sl__watch_job_begin(p, (int)i, j->b ? sl_batch_seq(j->b) : j->seq);
    sl_status s = call_stage(p, st, j, &err);
    sl__watch_job_end(p);
    atomic_fetch_add_explicit(&st->busy_ns, now_ns() - t0, memory_order_relaxed);
    bool last = i + 1 == p->nstages;
    if (s != SL_OK) {
        fail(p, st, j->b, j->seq, s, &err);
        if (j->b)
            sl_batch_pool_put(p->pool, j->b);
        if (!last && p->stages[i + 1].mode != SL_MODE_ORDERED)
            atomic_fetch_add(&p->stages[i + 1].credits, 1);
    } else {
        atomic_fetch_add_explicit(&st->rows, sl_batch_nrows(j->b), memory_order_relaxed);
        atomic_fetch_add_explicit(&st->completed, 1, memory_order_relaxed);
        if (last) {
            if (p->record_rows)
                record_rows(p, j->b);
            if (!p->tail_keeps)
                sl_batch_pool_put(p->pool, j->b);
        }
        else {
            push_down(p, i, j->b);
            poke(p, i + 1, keep);
        }
    }
    sl_queue_try_push_mpmc(st->free_inst, (void *)(uintptr_t)j->inst);
    if (st->desc->flags & SL_STAGE_EXCLUSIVE_LIBRARY) {
        atomic_store_explicit(&p->excl_busy, 0, memory_order_release);
        /* The token is back: every other such stage may fire now. */
        for (size_t k = 0; k < p->nstages; k++)
            if (k != i && (p->stages[k].desc->flags & SL_STAGE_EXCLUSIVE_LIBRARY))
                poke(p, k, keep);
    }
    poke(p, i, keep);
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

/* After a failure, batches can be left in queues and rings: return them. */
static void drain(sl_pipeline *p)
{
    for (size_t i = 1; i < p->nstages; i++) {
        pl_stage *st = &p->stages[i];
        void *b;
        while (st->inq && sl_queue_try_pop_mpmc(st->inq, &b))
            sl_batch_pool_put(p->pool, b);
        for (int k = 0; st->ring && k < st->qcap; k++) {
            sl_batch *rb = atomic_exchange(&st->ring[k], NULL);
            if (rb)
                sl_batch_pool_put(p->pool, rb);
        }
    }
}

static void reset_counters(sl_pipeline *p)
{
    atomic_store(&p->next_lidx, 0);
    atomic_store(&p->excl_busy, 0);
    p->feed_end = false;
    p->nrows_done = 0;
    atomic_store(&p->failed, 0);
    for (size_t i = 0; i < p->nstages; i++) {
        pl_stage *st = &p->stages[i];
        atomic_store(&st->credits, st->qcap);
        atomic_store(&st->next, 0);
        atomic_store(&st->poke, 0);
        atomic_store(&st->completed, 0);
        atomic_store(&st->rows, 0);
        atomic_store(&st->busy_ns, 0);
    }
}

/* One round: the team runs until no job runs and none can fire. Every
 * stage is looked at, last first: after a wait, what changed may be a
 * credit of the last stage or input of the first. */
static void run_round(sl_pipeline *p)
{
#pragma omp parallel num_threads(p->threads) default(none) shared(p)
#pragma omp single
    {
        pl_job keep = {.stage = -1};
        for (size_t i = p->nstages; i-- > 0;) {
            poke(p, i, &keep);
            if (keep.stage >= 0) {
                run_task(p, keep);
                keep.stage = -1;
            }
        }
    }
}

sl_status sl__executor_run(sl_pipeline *p, sl_error *err)
{
    reset_counters(p);
    sl_error_clear(&p->run_err);
    SL_TRY(sl__watch_start(p, err));
    /* A round ends early only when the feed has nothing yet: wait for it and
     * go again. The pipeline is empty then, so nothing is held meanwhile. */
    for (;;) {
        run_round(p);
        if (stopping(p))
            break;
        if (p->feed_end && atomic_load(&p->stages[p->nstages - 1].completed) ==
                               atomic_load(&p->next_lidx))
            break;
        if (p->waiter.wait)
            p->waiter.wait(p->waiter.self, &p->stop);
        else if (p->feed && !p->feed_end)
            p->feed->wait(p->feed->self, &p->stop);
        else
            break; /* stalled: reported below */
    }
    sl__watch_stop(p);
    drain(p);
    p->peak_batches = sl_batch_pool_peak(p->pool);
    if (atomic_load(&p->failed)) {
        sl_error_copy(err, &p->run_err);
        return err->code;
    }
    uint64_t done = atomic_load(&p->stages[p->nstages - 1].completed);
    uint64_t claimed = atomic_load(&p->next_lidx);
    if (!(done == claimed && p->feed_end) && atomic_load(&p->stop)) {
        if (p->feed) /* a share of the job: its size is not known here */
            return SL_FAIL(SL_ECANCELED, "run stopped on request after %llu batches here",
                           (unsigned long long)done);
        return SL_FAIL(SL_ECANCELED, "run stopped on request after %llu of %llu batches",
                       (unsigned long long)done, (unsigned long long)p->total_batches);
    }
    SL_CHECK(done == claimed && p->feed_end, SL_EINVAL,
             "internal error: the pipeline stalled after %llu of %llu batches",
             (unsigned long long)done, (unsigned long long)claimed);
    return SL_OK;
}
