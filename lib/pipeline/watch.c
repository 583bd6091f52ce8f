/* lib/pipeline/watch.c - who runs what, for the watchdog and the crash message.
 *
 * The executor calls sl__watch_job_begin/end around every stage call. Begin
 * records the job (stage, seq) twice: in thread-local variables, which the
 * crash handlers read on the crashing thread, and in the thread's slot of the
 * run's slot array, which the watchdog thread reads. Neither takes a lock,
 * reads a clock or asks OpenMP which thread it is on: a thread claims its
 * slot at its first job of the run, and a slot carries a job counter instead
 * of a start time; the watchdog, waking about once a second, dates a job by
 * the look at which it first saw that counter (to within a second: plenty
 * for a limit of minutes, and it keeps clock_gettime off the per-batch
 * path).
 *
 * The watchdog's measure of progress is the sum of the stages' completed,
 * retried and given-up counters (a failing attempt is not a hang). When it has not moved for watchdog_s seconds, the watchdog prints
 * the running jobs (longest first), asks the run to stop, and if the run has
 * not stopped after a grace period, removes the run's temporary output and
 * ends the process with status SL_WATCHDOG_EXIT_STATUS.
 *
 * Crash handlers (watch_crash.c) are process-wide by nature; they read the
 * thread-local record kept here. */
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/pipeline_impl.h"
#include "pipeline/watch.h"
#include "pipeline/watch_impl.h"

#define WATCH_PERIOD_MAX_S 1.0 /* the longest the watchdog sleeps between looks */
#define WATCH_GRACE_MAX_S 5.0  /* the longest a cooperative stop may take */

/* One per thread that runs jobs, on a cache line of its own: only its
 * thread writes it, the watchdog reads it. A thread claims a slot at its
 * first job of the run (so no call per job asks OpenMP who it is, and no
 * two threads ever share a slot). A seqlock: gen is odd while a job runs
 * (begin makes it odd, end even again), so it also numbers the slot's jobs.
 * thread is the OpenMP thread number, written once before the first gen. */
typedef struct watch_slot {
    _Alignas(PL_CACHELINE) atomic_uint_fast64_t gen;
    atomic_uint_fast64_t seq;
    atomic_int stage;
    atomic_int thread;
} watch_slot;

/* What the watchdog last saw in a slot, and since when (its own data). */
typedef struct watch_seen {
    uint64_t gen;
    double since;
} watch_seen;

typedef struct watch_job {
    int thread, stage;
    uint64_t seq;
    double since;
} watch_job;

struct sl__watch {
    struct sl_pipeline *p;
    uint64_t id;           /* unique in the process: threads know their run by it */
    atomic_int nclaimed;   /* slots claimed (may pass nslots: those go without) */
    const char **plugin; /* per stage: the shared object its code is in; NULL:
                          * built into the program */
    /* The watchdog; the rest is unused (slots NULL) when it is off. */
    double limit_s;
    int nslots;
    watch_slot *slots;
    watch_seen *seen;
    watch_job *jobs;
    double last_look; /* the watchdog's: when it last looked at the slots */
    pthread_t thread;
    bool thread_on;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool quit; /* under mu */
    atomic_bool fired;
};

/* After the run, p->watch points here when the watchdog fired, so that
 * sl_pipeline_watchdog_fired can still answer (the pipeline has no hook to
 * free a watch object later). Never written. */
static struct sl__watch watch_fired = {.fired = true};

/* Numbers the watch objects of the process (a new one may reuse a freed
 * one's address, so threads cannot tell runs apart by the pointer). */
static atomic_uint_fast64_t watch_ids;

_Thread_local sl__watch_tls sl__watch_tl
    __attribute__((tls_model("initial-exec"))) = {.stage = -1, .slot = -1};

/* --- the per-batch path ---------------------------------------------------- */

/* A thread's first job of the run w. */
static void claim(sl__watch_tls *tl, struct sl__watch *w)
{
    if (!tl->ready)
        sl__watch_thread_setup();
    tl->w = w;
    tl->wid = w->id;
    tl->thread = omp_get_thread_num();
    int k = atomic_fetch_add_explicit(&w->nclaimed, 1, memory_order_relaxed);
    tl->slot = w->slots && k < w->nslots ? k : -1;
    if (tl->slot >= 0) /* published by the release store of gen in begin */
        atomic_store_explicit(&w->slots[k].thread, tl->thread, memory_order_relaxed);
}

void sl__watch_job_begin(struct sl_pipeline *p, int stage, uint64_t seq)
{
    struct sl__watch *w = p->watch;
    sl__watch_tls *tl = &sl__watch_tl;
    if (!w) { /* no sl__watch_start: nothing to record, nothing for end to do */
        tl->slot = -1;
        return;
    }
    if (tl->wid != w->id)
        claim(tl, w);
    tl->seq = seq;
    /* A crash handler on this thread reads stage first: the rest is set. */
    atomic_signal_fence(memory_order_release);
    tl->stage = stage;
    if (tl->slot < 0)
        return;
    watch_slot *s = &w->slots[tl->slot];
    uint_fast64_t g = atomic_load_explicit(&s->gen, memory_order_relaxed); /* ours alone */
    /* Release: the previous end's store of gen is ordered before the new
     * contents, so a reader that sees them sees gen change (seqlock). */
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&s->stage, stage, memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq, memory_order_relaxed);
    /* Release: pairs with the watchdog's acquire; stage and seq are set. */
    atomic_store_explicit(&s->gen, g + 1, memory_order_release);
}

void sl__watch_job_end(struct sl_pipeline *p)
{
    sl__watch_tls *tl = &sl__watch_tl;
    tl->stage = -1;
    if (tl->slot < 0) /* set by this run's begin on this thread */
        return;
    watch_slot *s = &p->watch->slots[tl->slot];
    /* Relaxed: the watchdog only needs to see, eventually, that the job
     * ended; the finished batch itself shows in the completed counters. */
    atomic_store_explicit(&s->gen, atomic_load_explicit(&s->gen, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* --- the watchdog thread --------------------------------------------------- */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t progress(const struct sl_pipeline *p)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < p->nstages; i++)
        sum += sl__stage_completed(p, i) +
               atomic_load_explicit(&p->stages[i].retried, memory_order_relaxed) +
               atomic_load_explicit(&p->stages[i].dropped, memory_order_relaxed);
    return sum;
}

/* Looks at every slot: updates what was seen since when, and returns the
 * jobs that run now, in out (nslots entries). A job first seen now began
 * after the previous look: its age is given from then, an upper bound that
 * is at most one period too long. */
static int look(struct sl__watch *w, double now, watch_job *out)
{
    int n = 0;
    for (int t = 0; t < w->nslots; t++) {
        watch_slot *s = &w->slots[t];
        uint64_t g = atomic_load_explicit(&s->gen, memory_order_acquire);
        int stage = atomic_load_explicit(&s->stage, memory_order_relaxed);
        uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
        int thread = atomic_load_explicit(&s->thread, memory_order_relaxed);
        /* Acquire: stage and seq are read before gen is read again; if a new
         * job wrote them, the second read sees its gen (seqlock). */
        atomic_thread_fence(memory_order_acquire);
        uint64_t again = atomic_load_explicit(&s->gen, memory_order_relaxed);
        if (g != w->seen[t].gen) {
            w->seen[t].gen = g;
            w->seen[t].since = w->last_look;
        }
        if ((g & 1) && g == again && stage >= 0 && (size_t)stage < w->p->nstages)
            out[n++] = (watch_job){thread, stage, seq, w->seen[t].since};
    }
    w->last_look = now;
    return n;
}

static int by_age(const void *a, const void *b)
{
    const watch_job *x = a, *y = b;
    if (x->since != y->since)
        return x->since < y->since ? -1 : 1;
    return x->thread - y->thread;
}

/* The header and one line per running job, longest first, in one write so
 * that lines of several ranks do not interleave within the block. */
static void report(struct sl__watch *w, double idle_s, double now)
{
    const struct sl_pipeline *p = w->p;
    int n = look(w, now, w->jobs);
    qsort(w->jobs, (size_t)n, sizeof *w->jobs, by_age);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    FILE *out = f ? f : stderr;
    int prec = w->limit_s < 10 ? 1 : 0; /* tenths only for short limits (tests) */
    fprintf(out, "sluice: watchdog: no batch finished for %.*f s (--watchdog %g); rank %d is %s:\n",
            prec, idle_s, w->limit_s, p->rank, n ? "stuck" : "waiting");
    for (int i = 0; i < n; i++) {
        const watch_job *j = &w->jobs[i];
        const pl_stage *st = &p->stages[j->stage];
        const char *so = w->plugin[j->stage];
        fprintf(out, "sluice: watchdog:   stage '%s' batch %llu on thread %d of rank %d, running "
                     "for %.*f s (%s%s%s)\n",
                st->name, (unsigned long long)j->seq, j->thread, p->rank, prec, now - j->since,
                so ? "plugin " : "built-in stage '", so ? so : st->desc->name, so ? "" : "'");
    }
    if (n == 0)
        fprintf(out, "sluice: watchdog:   no stage is running on rank %d: it is waiting for "
                     "input from other ranks, or for the retry of a failed batch\n",
                p->rank);
    if (f) {
        fclose(f);
        fputs(text, stderr);
        free(text);
    }
    fflush(stderr);
}

/* The run did not stop in time: remove what it wrote and end the process.
 * Only the rank's own temporary file; the user's path is never touched. */
static _Noreturn void give_up(struct sl__watch *w, double grace_s)
{
    const struct sl_pipeline *p = w->p;
    const char *tmp = p->sink_path ? p->sink_path : p->output_tmp;
    bool removed = tmp && unlink(tmp) == 0;
    /* The state stays: other threads may still use it. One with no
     * checkpoint in it is taken over by the next run (state.c). */
    fprintf(stderr, "sluice: watchdog: rank %d did not stop within %g s of the request; %s%s%s"
                    "exiting with status %d\n",
            p->rank, grace_s, removed ? "removed " : "", removed ? tmp : "",
            removed ? ", " : "", SL_WATCHDOG_EXIT_STATUS);
    fflush(stderr);
    _exit(SL_WATCHDOG_EXIT_STATUS);
}

/* Waits up to secs for sl__watch_stop (mu held); true when told to quit. */
static bool wait_quit(struct sl__watch *w, double secs)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    double whole = (double)(time_t)secs;
    dl.tv_sec += (time_t)secs;
    dl.tv_nsec += (long)((secs - whole) * 1e9);
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    while (!w->quit && pthread_cond_timedwait(&w->cv, &w->mu, &dl) != ETIMEDOUT)
        ;
    return w->quit;
}

static void *watchdog_main(void *arg)
{
    struct sl__watch *w = arg;
    double period = w->limit_s / 2 < WATCH_PERIOD_MAX_S ? w->limit_s / 2 : WATCH_PERIOD_MAX_S;
    double grace = w->limit_s < WATCH_GRACE_MAX_S ? w->limit_s : WATCH_GRACE_MAX_S;
    uint64_t done = progress(w->p);
    double since = mono_s();
    w->last_look = since;
    pthread_mutex_lock(&w->mu);
    while (!wait_quit(w, period)) {
        double now = mono_s();
        look(w, now, w->jobs);
        uint64_t d = progress(w->p);
        if (d != done) {
            done = d;
            since = now;
            continue;
        }
        if (now - since < w->limit_s)
            continue;
        pthread_mutex_unlock(&w->mu);
        report(w, now - since, now);
        atomic_store(&w->fired, true);
        sl_pipeline_request_stop(w->p);
        pthread_mutex_lock(&w->mu);
        if (!wait_quit(w, grace))
            give_up(w, grace);
        break;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* --- start and stop -------------------------------------------------------- */

static void watch_free(struct sl__watch *w)
{
    if (w->slots) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
    }
    free(w->slots);
    free(w->seen);
    free(w->jobs);
    free(w->plugin);
    free(w);
}

static sl_status start_thread(struct sl__watch *w, sl_error *err)
{
    const struct sl_pipeline *p = w->p;
    w->limit_s = p->watchdog_s;
    w->nslots = p->threads > 0 ? p->threads : 1;
    size_t n = (size_t)w->nslots;
    w->slots = aligned_alloc(PL_CACHELINE, n * sizeof *w->slots); /* a multiple of it */
    w->seen = calloc(n, sizeof *w->seen);
    w->jobs = calloc(n, sizeof *w->jobs);
    if (!w->slots || !w->seen || !w->jobs) {
        free(w->slots);
        w->slots = NULL;
        return SL_FAIL(SL_ENOMEM, "out of memory starting the watchdog");
    }
    for (size_t i = 0; i < n; i++) {
        atomic_init(&w->slots[i].gen, 0);
        atomic_init(&w->slots[i].seq, 0);
        atomic_init(&w->slots[i].stage, -1);
        atomic_init(&w->slots[i].thread, -1);
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* wall-clock jumps do not matter */
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    /* The thread blocks every signal it can, so SIGINT and SIGTERM go to
     * the threads that handle them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&w->thread, NULL, watchdog_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    SL_CHECK(rc == 0, SL_ENOMEM, "rank %d: cannot start the watchdog thread: %s", p->rank,
             strerror(rc));
    w->thread_on = true;
    return SL_OK;
}

sl_status sl__watch_start(struct sl_pipeline *p, sl_error *err)
{
    sl__watch_crash_install(p->rank);
    struct sl__watch *w = calloc(1, sizeof *w);
    SL_CHECK(w, SL_ENOMEM, "out of memory starting the watchdog");
    w->p = p;
    w->id = atomic_fetch_add(&watch_ids, 1) + 1; /* 0: a thread's "none yet" */
    atomic_init(&w->nclaimed, 0);
    atomic_init(&w->fired, false);
    w->plugin = calloc(p->nstages ? p->nstages : 1, sizeof *w->plugin);
    if (!w->plugin) {
        free(w);
        return SL_FAIL(SL_ENOMEM, "out of memory starting the watchdog");
    }
    /* The shared object a stage's descriptor lives in is its plugin (the
     * registry's path is not kept in the pipeline); the program itself has
     * an empty name in the link map. */
    for (size_t i = 0; i < p->nstages; i++) {
        Dl_info info;
        struct link_map *map = NULL;
        if (dladdr1(p->stages[i].desc, &info, (void **)&map, RTLD_DL_LINKMAP) && map &&
            map->l_name && map->l_name[0])
            w->plugin[i] = map->l_name;
    }
    if (p->watchdog_s > 0) {
        sl_status s = start_thread(w, err);
        if (s != SL_OK) {
            watch_free(w);
            return s;
        }
    }
    p->watch = w;
    return SL_OK;
}

void sl__watch_stop(struct sl_pipeline *p)
{
    struct sl__watch *w = p->watch;
    if (!w || w == &watch_fired)
        return;
    if (w->thread_on) {
        pthread_mutex_lock(&w->mu);
        w->quit = true;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    bool fired = atomic_load(&w->fired);
    watch_free(w);
    p->watch = fired ? &watch_fired : NULL;
}

void sl__watch_inherit(struct sl_pipeline *seg, const struct sl_pipeline *full)
{
    seg->watchdog_s = full->watchdog_s;
}

void sl__watch_collect(struct sl_pipeline *full, const struct sl_pipeline *seg)
{
    if (!full->watch && sl_pipeline_watchdog_fired(seg))
        full->watch = &watch_fired;
}

void sl__watch_describe(const struct sl__watch *w, int stage, const char **name,
                        const char **plugin, const char **kind, int *rank)
{
    const pl_stage *st = &w->p->stages[stage];
    *name = st->name;
    *plugin = w->plugin[stage];
    *kind = st->desc->name;
    *rank = w->p->rank;
}

/* --- public ---------------------------------------------------------------- */

void sl_pipeline_set_watchdog(sl_pipeline *p, double seconds)
{
    /* The negation also turns NaN off. */
    p->watchdog_s = !(seconds > 0) ? 0 : seconds > SL_WATCHDOG_MAX_S ? SL_WATCHDOG_MAX_S : seconds;
}

bool sl_pipeline_watchdog_fired(const sl_pipeline *p)
{
    const struct sl__watch *w = p->watch;
    return w && atomic_load(&w->fired);
}
