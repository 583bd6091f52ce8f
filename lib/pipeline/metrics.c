/* lib/pipeline/metrics.c - per-stage counting on the threads that run the
 * batches, merged when they end.
 *
 * The executor reports each finished attempt (sl__metrics_job) on the thread
 * that ran it. A thread claims a slot of the run at its first attempt (one
 * atomic add per thread and run, never per batch; the slot is remembered in
 * a thread-local variable keyed by the run's id), and from then on only
 * bumps plain counters and a log-bucketed latency histogram in its own slot:
 * no lock, no shared atomic, no cache line another thread writes. With a
 * trace, the attempt is also appended to the slot's span buffer (up to a
 * cap; the rest are counted). Threads beyond the expected team size (none
 * in practice) share one slot under a mutex.
 *
 * sl__metrics_stop runs after the team is gone: it stops the sampler
 * (metrics_sampler.c), adds the slots up into the run's figures, writes the
 * trace, and frees the slots. The figures live on until the pipeline is
 * destroyed; the distribution layer may replace them by the job's. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <omp.h>

#include "pipeline/metrics.h"
#include "pipeline/metrics_impl.h"
#include "pipeline/pipeline_impl.h"
#include "util/ticks.h"

#define MET_TRACE_MAX 1000000u /* spans kept per rank (per pipeline) */
#define MET_CALIBRATE 4096

typedef struct met_tls {
    uint64_t run;     /* id of the run whose slot this is; 0: none */
    met_thread *slot;
} met_tls;

/* initial-exec: as cheap as a global (libsluice is linked, not dlopen'ed). */
static _Thread_local met_tls met_tl __attribute__((tls_model("initial-exec")));

/* Numbers the runs of the process (a new metrics object may reuse a freed
 * one's address, so threads cannot tell runs apart by the pointer). */
static atomic_uint_fast64_t met_ids;

/* --- the per-batch path ------------------------------------------------- */

static inline unsigned bucket(uint64_t v)
{
    if (v < MET_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= MET_SUB_BITS */
    return MET_SUB + (e - MET_SUB_BITS) * MET_SUB +
           (unsigned)((v >> (e - MET_SUB_BITS)) & (MET_SUB - 1));
}

static void span(struct sl__metrics *m, met_thread *t, met_stage *s, const met_span *sp)
{
    if (t->nspans == t->cap_spans) {
        size_t cap = t->cap_spans ? 2 * t->cap_spans : 1024;
        if (cap > m->trace_cap)
            cap = m->trace_cap;
        met_span *n = cap > t->cap_spans ? realloc(t->spans, cap * sizeof *n) : NULL;
        if (!n) { /* at the cap, or out of memory: counted, said at the end */
            s->spans_dropped++;
            return;
        }
        t->spans = n;
        t->cap_spans = cap;
    }
    t->spans[t->nspans++] = *sp;
}

/* The counts of one attempt that took d ns. */
static inline void count(met_stage *s, uint64_t d, uint64_t rows_in, bool ok)
{
    s->attempts++;
    if (d > s->max_ns)
        s->max_ns = d;
    s->hist[bucket(d)]++;
    if (ok) {
        s->ok++;
        s->rows_in += rows_in;
    } else {
        s->failed++;
    }
}

/* A thread's first attempt of the run m. */
static void claim(met_tls *tl, struct sl__metrics *m)
{
    int k = atomic_fetch_add_explicit(&m->nclaimed, 1, memory_order_relaxed);
    tl->slot = k < m->nslots ? &m->slots[k] : m->overflow;
    tl->run = m->id;
    if (k < m->nslots)
        tl->slot->tid = omp_get_thread_num();
}

/* Everything but the common case: a thread's first attempt of the run, a
 * thread without a slot of its own, a trace. Kept out of line so that the
 * common case needs no stack frame. */
static __attribute__((noinline)) void job_slow(struct sl__metrics *m, const met_span *sp,
                                               uint64_t rows_in)
{
    met_tls *tl = &met_tl;
    if (tl->run != m->id)
        claim(tl, m);
    met_thread *t = tl->slot;
    bool shared = t == m->overflow;
    if (shared)
        pthread_mutex_lock(&m->ovf_lock);
    count(&t->st[sp->stage], sp->t1 - sp->t0, rows_in, sp->ok);
    if (m->trace_cap)
        span(m, t, &t->st[sp->stage], sp);
    if (shared)
        pthread_mutex_unlock(&m->ovf_lock);
}

void sl__metrics_job(struct sl_pipeline *p, int stage, uint64_t seq, uint64_t t0_ns,
                     uint64_t t1_ns, uint64_t rows_in, uint64_t rows_out, bool ok)
{
    (void)rows_out; /* the executor counts the rows of the batches it passes on */
    struct sl__metrics *m = p->metrics;
    if (!m || !m->slots)
        return;
    const met_tls *tl = &met_tl;
    if (__builtin_expect(tl->run != m->id || tl->slot == m->overflow || m->trace_cap, 0)) {
        met_span sp = {t0_ns, t1_ns, seq, stage, ok};
        job_slow(m, &sp, rows_in);
        return;
    }
    count(&tl->slot->st[stage], t1_ns - t0_ns, rows_in, ok);
}

/* --- figures ---------------------------------------------------------------- */

void sl__fig_add(sl__stage_fig *dst, const sl__stage_fig *src)
{
    uint64_t mx = dst->max_ns > src->max_ns ? dst->max_ns : src->max_ns;
    uint64_t *d = (uint64_t *)dst;
    const uint64_t *s = (const uint64_t *)src;
    for (size_t w = 0; w < MET_FIG_WORDS; w++)
        d[w] += s[w];
    dst->max_ns = mx; /* a maximum, not a sum */
}

double sl__fig_quantile_ns(const sl__stage_fig *f, double q)
{
    uint64_t total = 0;
    for (unsigned b = 0; b < MET_BUCKETS; b++)
        total += f->hist[b];
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)total + 0.999999);
    want = want < 1 ? 1 : want > total ? total : want;
    uint64_t seen = 0;
    for (unsigned b = 0; b < MET_BUCKETS; b++) {
        seen += f->hist[b];
        if (seen < want)
            continue;
        if (b < MET_SUB)
            return (double)b;
        unsigned k = b - MET_SUB, e = k / MET_SUB + MET_SUB_BITS, sub = k % MET_SUB;
        double width = (double)(UINT64_C(1) << (e - MET_SUB_BITS));
        double mid = (double)(MET_SUB + sub) * width + width / 2;
        return mid > (double)f->max_ns ? (double)f->max_ns : mid;
    }
    return (double)f->max_ns;
}

void sl__metrics_sum_ranks(struct sl__metrics *m)
{
    memset(m->job, 0, m->nstages * sizeof *m->job);
    for (int r = 0; r < m->nranks; r++)
        for (size_t i = 0; i < m->nstages; i++)
            sl__fig_add(&m->job[i], &m->rank_figs[(size_t)r * m->nstages + i]);
}

sl_status sl__metrics_results_alloc(struct sl__metrics *m, size_t n, sl_error *err)
{
    free(m->local);
    free(m->rank_figs);
    free(m->job);
    free(m->rank_wall);
    sl__series_free(&m->series);
    m->rank_wall = NULL;
    m->nstages = n;
    m->nranks = 1;
    m->have = false;
    size_t k = n ? n : 1;
    m->local = calloc(k, sizeof *m->local);
    m->rank_figs = calloc(k, sizeof *m->rank_figs);
    m->job = calloc(k, sizeof *m->job);
    SL_CHECK(m->local && m->rank_figs && m->job, SL_ENOMEM, "out of memory for the metrics");
    return sl__series_init(&m->series, n);
}

struct sl__metrics *sl__metrics_get(struct sl_pipeline *p)
{
    if (p->metrics)
        return p->metrics;
    struct sl__metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->segment = -1;
    pthread_mutex_init(&m->ovf_lock, NULL);
    const char *env = getenv("SLUICE_METRICS");
    m->off = env && (strcmp(env, "0") == 0 || strcasecmp(env, "off") == 0 ||
                     strcasecmp(env, "false") == 0 || strcasecmp(env, "no") == 0);
    p->metrics = m;
    return m;
}

/* --- start and stop ------------------------------------------------------------- */

static void slots_free(struct sl__metrics *m)
{
    for (int k = 0; m->slots && k <= m->nslots; k++) {
        free(m->slots[k].st);
        free(m->slots[k].spans);
    }
    free(m->slots);
    m->slots = m->overflow = NULL;
}

static sl_status slots_alloc(struct sl__metrics *m, int nslots, sl_error *err)
{
    m->nslots = nslots;
    m->slots = aligned_alloc(64, (size_t)(nslots + 1) * sizeof *m->slots);
    SL_CHECK(m->slots, SL_ENOMEM, "out of memory for the metrics of %d threads", nslots);
    memset(m->slots, 0, (size_t)(nslots + 1) * sizeof *m->slots);
    size_t bytes = (m->nstages ? m->nstages : 1) * sizeof(met_stage);
    bytes = (bytes + 63) / 64 * 64; /* aligned_alloc wants a multiple */
    for (int k = 0; k <= nslots; k++) {
        m->slots[k].st = aligned_alloc(64, bytes);
        if (!m->slots[k].st) {
            slots_free(m);
            return SL_FAIL(SL_ENOMEM, "out of memory for the metrics of %d threads", nslots);
        }
        memset(m->slots[k].st, 0, bytes);
        m->slots[k].tid = -1;
    }
    m->overflow = &m->slots[nslots];
    return SL_OK;
}

static void stamp(struct sl__metrics *m)
{
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    m->real0_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
    m->t0_ns = sl__mono_ns();
    struct tm tm;
    time_t now = rt.tv_sec;
    gmtime_r(&now, &tm);
    strftime(m->started_utc, sizeof m->started_utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (gethostname(m->host, sizeof m->host) != 0)
        snprintf(m->host, sizeof m->host, "unknown");
    m->host[sizeof m->host - 1] = '\0';
}

sl_status sl__metrics_start(struct sl_pipeline *p, sl_error *err)
{
    struct sl__metrics *m = sl__metrics_get(p);
    SL_CHECK(m, SL_ENOMEM, "out of memory for the metrics");
    SL_TRY(sl__metrics_results_alloc(m, p->nstages, err));
    m->silent = false;
    m->speaker = NULL;
    m->trace_parts = 0;
    if (m->off)
        return SL_OK;
    m->id = atomic_fetch_add(&met_ids, 1) + 1; /* 0: a thread's "none yet" */
    atomic_store(&m->nclaimed, 0);
    int nslots = p->threads > 0 ? p->threads : 1;
    m->trace_cap = m->trace_path ? MET_TRACE_MAX / (size_t)nslots : 0;
    SL_TRY(slots_alloc(m, nslots, err));
    stamp(m);
    sl_status s = sl__sampler_start(p, err);
    if (s != SL_OK)
        slots_free(m);
    return s;
}

/* What one attempt's counting costs on this machine: the same code on a
 * scratch slot, timed over many calls (no trace). */
static double calibrate(void)
{
    met_stage *s = calloc(1, sizeof *s);
    if (!s)
        return 0;
    uint64_t a = sl__mono_ns();
    for (uint64_t i = 0; i < MET_CALIBRATE; i++) {
        count(s, 100 + i * 37, 1, true);
        /* Keeps the compiler from dropping the stores nobody reads. */
        __asm__ volatile("" : : "r"(s) : "memory");
    }
    double ns = (double)(sl__mono_ns() - a) / MET_CALIBRATE;
    free(s);
    return ns;
}

static void merge_slots(struct sl_pipeline *p, struct sl__metrics *m)
{
    for (int k = 0; k <= m->nslots; k++)
        for (size_t i = 0; i < m->nstages; i++) {
            const met_stage *s = &m->slots[k].st[i];
            sl__stage_fig *f = &m->local[i];
            f->attempts += s->attempts;
            f->failed += s->failed;
            f->batches_in += s->ok; /* for now: the successful attempts */
            f->rows_in += s->rows_in;
            f->max_ns = s->max_ns > f->max_ns ? s->max_ns : f->max_ns;
            f->spans_dropped += s->spans_dropped;
            for (unsigned b = 0; b < MET_BUCKETS; b++)
                f->hist[b] += s->hist[b];
        }
    for (size_t i = 0; i < m->nstages; i++) {
        const pl_stage *st = &p->stages[i];
        sl__stage_fig *f = &m->local[i];
        /* Out, rows out and busy time are the executor's own counts (one
         * add per batch it makes anyway), so that a stage whose jobs are not
         * reported one by one still shows; a stage's successful attempts
         * are its batches out, except for a stage that joins batches. */
        f->batches_out = sl__stage_completed(p, i);
        f->rows_out = sl__stage_rows(p, i);
        f->busy_ns = sl__stage_busy_ns(p, i);
        f->retries = atomic_load(&st->retried);
        f->timeouts = atomic_load(&st->timeouts);
        f->dropped = atomic_load(&st->dropped);
        f->batches_in = (f->batches_in > f->batches_out ? f->batches_in : f->batches_out) +
                        f->dropped;
        f->hosted = 1;
        const uint64_t *c = &m->samp[6 * i];
        f->samples = c[0];
        f->starved = c[1];
        f->blocked = c[2];
        f->full = c[3];
        f->queue_sum = c[4];
        f->running_sum = c[5];
    }
}

void sl__metrics_stop(struct sl_pipeline *p)
{
    struct sl__metrics *m = p->metrics;
    if (!m || !m->slots)
        return;
    sl__sampler_stop(p);
    m->wall_s = 1e-9 * (double)(sl__mono_ns() - m->t0_ns);
    merge_slots(p, m);
    m->per_attempt_ns = calibrate();
    if (m->trace_path)
        sl__trace_write(p);
    slots_free(m);
    free(m->samp);
    m->samp = NULL;
    memcpy(m->rank_figs, m->local, m->nstages * sizeof *m->local);
    memcpy(m->job, m->local, m->nstages * sizeof *m->local);
    m->have = true;
}

void sl__metrics_free(struct sl_pipeline *p)
{
    struct sl__metrics *m = p->metrics;
    if (!m)
        return;
    slots_free(m);
    free(m->samp);
    free(m->local);
    free(m->rank_figs);
    free(m->job);
    free(m->rank_wall);
    sl__series_free(&m->series);
    free(m->trace_path);
    free(m->json);
    pthread_mutex_destroy(&m->ovf_lock);
    free(m);
    p->metrics = NULL;
}

sl_status sl_pipeline_set_trace(sl_pipeline *p, const char *path, sl_error *err)
{
    SL_CHECK(p, SL_EINVAL, "no pipeline");
    struct sl__metrics *m = sl__metrics_get(p);
    SL_CHECK(m, SL_ENOMEM, "out of memory");
    char *copy = NULL;
    if (path) {
        SL_CHECK(*path, SL_EINVAL, "the trace file name is empty");
        copy = strdup(path);
        SL_CHECK(copy, SL_ENOMEM, "out of memory");
    }
    free(m->trace_path);
    m->trace_path = copy;
    return SL_OK;
}
