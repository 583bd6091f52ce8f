/* lib/pipeline/metrics_sampler.c - a thread that looks at the stages every
 * 10 ms, and the time series it keeps.
 *
 * Starved, blocked and queue occupancy are sampled, not timed per batch: a
 * timing would cost every batch two clock reads and a shared write, while a
 * look every 10 ms reads a few atomics per stage and costs nothing on the
 * batches' path. Each look classifies every stage (see docs/stats.md):
 *   running  instances not idle (free_inst) and not parked for a retry;
 *   starved  an idle instance and nothing in the input (never the source);
 *   blocked  an idle instance, input waiting, and no credit downstream;
 *   full     the input queue (or ordered ring) holds its capacity.
 * All of it is read with relaxed loads of what the executor keeps anyway, so
 * a look may be off by a batch in flight; over hundreds of looks that does
 * not matter.
 *
 * The series takes a point every `interval` (10 ms at first): per stage the
 * batches done so far, the input queue's length and the running instances.
 * When it holds MET_SERIES_MAX points, every other one goes and the interval
 * doubles. The thread sleeps on a condition variable, so stop is immediate. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/metrics_impl.h"
#include "pipeline/pipeline_impl.h"
#include "util/ticks.h"

#define SAMPLE_PERIOD_NS 10000000L /* 10 ms */
#define SERIES_FIRST_S 0.01

/* --- the series ------------------------------------------------------------- */

sl_status sl__series_init(met_series *s, size_t nst)
{
    memset(s, 0, sizeof *s);
    s->interval = SERIES_FIRST_S;
    s->nst = nst;
    s->t = calloc(MET_SERIES_MAX, sizeof *s->t);
    s->v = calloc((nst ? nst : 1) * MET_SERIES_COLS * MET_SERIES_MAX, sizeof *s->v);
    if (s->t && s->v)
        return SL_OK;
    sl__series_free(s);
    return SL_ENOMEM;
}

void sl__series_free(met_series *s)
{
    free(s->t);
    free(s->v);
    s->t = s->v = NULL;
    s->n = 0;
}

/* Keeps every other point; the interval doubles. */
static void compact(met_series *s)
{
    size_t n = 0;
    for (size_t k = 0; k < s->n; k += 2, n++) {
        s->t[n] = s->t[k];
        for (size_t st = 0; st < s->nst; st++)
            for (int c = 0; c < MET_SERIES_COLS; c++)
                MET_V(s, st, c, n) = MET_V(s, st, c, k);
    }
    s->n = n;
    s->interval *= 2;
}

/* A new point at time t: batches done held from the last point, the rest 0. */
static size_t append(met_series *s, double t)
{
    if (s->n == MET_SERIES_MAX)
        compact(s);
    size_t k = s->n++;
    s->t[k] = t;
    for (size_t st = 0; st < s->nst; st++) {
        MET_V(s, st, 0, k) = k ? MET_V(s, st, 0, k - 1) : 0;
        MET_V(s, st, 1, k) = MET_V(s, st, 2, k) = 0;
    }
    return k;
}

sl_status sl__series_add(met_series *dst, size_t dj, const met_series *src, size_t sk,
                         size_t count)
{
    if (!src->t || src->n == 0 || !dst->t)
        return SL_OK;
    if (dst->n == 0) {
        dst->interval = src->interval;
        for (size_t k = 0; k < src->n; k++)
            append(dst, src->t[k]);
    }
    double end = src->t[src->n - 1];
    while (dst->t[dst->n - 1] + 0.5 * dst->interval < end)
        append(dst, dst->t[dst->n - 1] + dst->interval);
    /* Each dst point takes src's last point at or before it; before src's
     * first nothing, after src's last only the batches done. */
    size_t j = 0;
    for (size_t k = 0; k < dst->n; k++) {
        double td = dst->t[k] + 1e-9;
        while (j + 1 < src->n && src->t[j + 1] <= td)
            j++;
        bool before = src->t[j] > td, after = td > end + src->interval;
        for (size_t c = 0; c < count; c++) {
            MET_V(dst, dj + c, 0, k) += before ? 0 : MET_V(src, sk + c, 0, j);
            MET_V(dst, dj + c, 1, k) += before || after ? 0 : MET_V(src, sk + c, 1, j);
            MET_V(dst, dj + c, 2, k) += before || after ? 0 : MET_V(src, sk + c, 2, j);
        }
    }
    return SL_OK;
}

/* --- one look -------------------------------------------------------------------- */

/* Batches in an ordered stage's ring, and whether the next one is there.
 * A big ring is estimated from RING_LOOK_MAX evenly spaced slots. */
#define RING_LOOK_MAX 4096
static size_t ring_count(const pl_stage *st, bool *next_ready)
{
    uint64_t next = atomic_load_explicit(&st->next, memory_order_relaxed);
    size_t n = 0, cap = (size_t)st->qcap;
    size_t step = cap > RING_LOOK_MAX ? cap / RING_LOOK_MAX : 1;
    for (size_t k = 0; k < cap; k += step)
        n += atomic_load_explicit(&st->ring[k], memory_order_relaxed) != NULL;
    n = n * step > cap ? cap : n * step;
    *next_ready =
        atomic_load_explicit(&st->ring[next % (uint64_t)st->qcap], memory_order_relaxed) != NULL;
    return n;
}

static bool downstream_credit(const struct sl_pipeline *p, size_t i)
{
    if (i + 1 < p->nstages) {
        const pl_stage *down = &p->stages[i + 1];
        return down->mode == SL_MODE_ORDERED ||
               atomic_load_explicit(&down->credits, memory_order_relaxed) > 0;
    }
    return !p->tail_credits || atomic_load_explicit(p->tail_credits, memory_order_relaxed) > 0;
}

static void look(struct sl_pipeline *p, struct sl__metrics *m, bool point)
{
    size_t k = 0;
    if (point)
        k = append(&m->series, 1e-9 * (double)(sl__mono_ns() - m->t0_ns));
    for (size_t i = 0; i < p->nstages; i++) {
        const pl_stage *st = &p->stages[i];
        long idle = (long)sl_queue_size_approx(st->free_inst);
        long running = st->conc - idle - atomic_load_explicit(&st->nparked, memory_order_relaxed);
        running = running < 0 ? 0 : running;
        size_t q = 0;
        bool input = true;
        if (st->ring)
            q = ring_count(st, &input);
        else if (st->inq)
            input = (q = sl_queue_size_approx(st->inq)) > 0;
        uint64_t *c = &m->samp[6 * i];
        c[0]++;
        c[1] += idle > 0 && !input;
        c[2] += idle > 0 && input && !downstream_credit(p, i);
        c[3] += st->qcap > 0 && q >= (size_t)st->qcap;
        c[4] += q;
        c[5] += (uint64_t)running;
        if (point) {
            MET_V(&m->series, i, 0, k) =
                (double)sl__stage_completed(p, i);
            MET_V(&m->series, i, 1, k) = (double)q;
            MET_V(&m->series, i, 2, k) = (double)running;
        }
    }
}

/* --- the thread ----------------------------------------------------------------- */

static void *sampler_main(void *arg)
{
    struct sl_pipeline *p = arg;
    struct sl__metrics *m = p->metrics;
    pthread_mutex_lock(&m->mu);
    while (!m->quit) {
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_nsec += SAMPLE_PERIOD_NS;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        while (!m->quit && pthread_cond_timedwait(&m->cv, &m->mu, &dl) != ETIMEDOUT)
            ;
        if (m->quit)
            break;
        pthread_mutex_unlock(&m->mu);
        double t = 1e-9 * (double)(sl__mono_ns() - m->t0_ns);
        bool point = t >= m->next_point;
        look(p, m, point);
        if (point)
            m->next_point = m->series.t[m->series.n - 1] + m->series.interval;
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    struct timespec cpu;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    m->sampler_cpu_s = (double)cpu.tv_sec + 1e-9 * (double)cpu.tv_nsec; /* read after join */
    return NULL;
}

sl_status sl__sampler_start(struct sl_pipeline *p, sl_error *err)
{
    struct sl__metrics *m = p->metrics;
    m->samp = calloc(6 * (p->nstages ? p->nstages : 1), sizeof *m->samp);
    SL_CHECK(m->samp, SL_ENOMEM, "out of memory for the metrics sampler");
    m->quit = false;
    m->sampler_cpu_s = 0;
    /* The first point: everything at zero, at time 0. */
    append(&m->series, 0);
    m->next_point = m->series.interval;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&m->sampler, NULL, sampler_main, p) != 0) {
        pthread_mutex_destroy(&m->mu);
        pthread_cond_destroy(&m->cv);
        free(m->samp);
        m->samp = NULL;
        return SL_FAIL(SL_ENOMEM, "cannot start the metrics sampler thread");
    }
    m->sampler_on = true;
    return SL_OK;
}

void sl__sampler_stop(struct sl_pipeline *p)
{
    struct sl__metrics *m = p->metrics;
    if (!m->sampler_on)
        return;
    pthread_mutex_lock(&m->mu);
    m->quit = true;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->sampler, NULL);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    m->sampler_on = false;
    /* The last point: every batch done, nothing queued or running; its
     * classification counts are not taken (the run is over). */
    size_t k = append(&m->series, 1e-9 * (double)(sl__mono_ns() - m->t0_ns));
    for (size_t i = 0; i < p->nstages; i++)
        MET_V(&m->series, i, 0, k) =
            (double)sl__stage_completed(p, i);
}
