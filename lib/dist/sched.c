/* lib/dist/sched.c - which rank makes which batch.
 *
 * Sources are addressable, so handing out work is handing out seq numbers.
 *
 * static   No communication. Without a chunk size each rank takes one
 *          contiguous block, sized by its weight (equal by default); with a
 *          chunk size, chunks of `chunk` seqs go round robin (chunk k to rank
 *          k mod P), which evens out work that grows along seq.
 * dynamic  A 64-bit counter on rank 0, in an MPI window; a rank takes the
 *          next `chunk` seqs with one MPI_Fetch_and_op. No rank hands out
 *          work in a loop: the counter is a remote atomic.
 * guided   The same counter, but a take is max(chunk, remaining / (2 P)),
 *          where remaining is estimated from the rank's previous take (what
 *          it left, less one such take per other rank): big chunks early,
 *          small ones at the end. Still one MPI_Fetch_and_op per
 *          take; compare-and-swap would size chunks exactly, but Open MPI
 *          4.1's shared-memory emulation of it crashes (a segfault in
 *          mca_btl_vader_emu_acswap, seen here), and the estimate is off
 *          only by what other ranks took since.
 *
 * dynamic and guided take chunks on the rank's main thread (the only thread
 * that calls MPI), while the team makes batches on another thread. The two
 * meet in a reserve: a single-producer single-consumer ring of chunks. The
 * main thread keeps one chunk in reserve beyond the one being made, so the
 * source rarely waits for the network, and a rank never holds more than two
 * chunks of work that others could have taken. The consumer is the source's
 * firer, one thread at a time, so the ring needs no more than acquire and
 * release on its two indices. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dist/dist_impl.h"

#define SCHED_RING 4       /* chunks in the reserve ring (power of two) */
#define SCHED_RESERVE 1    /* chunks kept ready beyond the current one */
/* How long the main thread sleeps when it has nothing to do. It is woken at
 * once when the source starts on the reserve; the timeout only matters for
 * rank 0, whose looks into MPI let other ranks' counter operations complete
 * on networks without hardware atomics. Each wake-up preempts a core that
 * makes batches (0.5 ms cost ~5% of a 2-rank run here), so: */
#define SCHED_POLL_NS_HOST 2000000L   /* rank 0: 2 ms */
#define SCHED_POLL_NS_OTHER 20000000L /* others: 20 ms */

struct sl__sched {
    sl__feed feed;
    MPI_Comm comm; /* the ranks that share the seqs (all, or the source's group) */
    int rank, size;
    bool mpi;
    sl_schedule kind;
    uint64_t total, chunk;

    /* static: contiguous block [lo, hi), or round-robin chunks */
    uint64_t lo, hi, next;
    bool cyclic;

    /* dynamic / guided */
    MPI_Win win;
    uint64_t *counter; /* rank 0's window memory */
    bool poisoned;
    uint64_t seen;                       /* guided: the counter after our last take */
    uint64_t last_take;                  /* guided: the size of our last take */
    uint64_t cur, cur_hi;                /* the consumer's chunk */
    sl__row_range ring[SCHED_RING];
    _Alignas(64) atomic_size_t head;     /* consumer */
    _Alignas(64) atomic_size_t tail;     /* producer */
    atomic_bool exhausted;               /* the counter is past the end */
    unsigned long demand;                /* under mu: chunks taken from the reserve */
    unsigned long demand_seen;           /* main thread: demand at its last look */
    bool wakeup;                         /* under mu: sl__sched_wake was called */
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* --- static ------------------------------------------------------------- */

static sl__feed_status static_claim(void *self, uint64_t *seq, sl_batch **b)
{
    (void)b;
    sl__sched *s = self;
    if (!s->cyclic) {
        if (s->next >= s->hi)
            return SL__FEED_END;
        *seq = s->next++;
        return SL__FEED_HAVE;
    }
    if (s->next >= s->total)
        return SL__FEED_END;
    *seq = s->next++;
    /* Left the chunk: jump to this rank's next one. */
    if (s->next % s->chunk == 0)
        s->next += s->chunk * (uint64_t)(s->size - 1);
    return SL__FEED_HAVE;
}

static void never_wait(void *self, const atomic_int *stop) { (void)self, (void)stop; }

static sl_status static_plan(sl__sched *s, const sl_job_dist *how, sl_error *err)
{
    int P = s->size, r = s->rank;
    if (how && how->chunk) {
        s->cyclic = true;
        s->next = (uint64_t)r * s->chunk;
        return SL_OK;
    }
    /* Block boundaries from cumulative weights; every rank computes all of
     * them the same way, so the blocks tile [0, total) exactly. */
    long double sum = 0, before = 0;
    for (int k = 0; k < P; k++) {
        double w = how && how->nweights ? how->weights[k] : 1.0;
        sum += w;
        if (k < r)
            before += w;
    }
    double wr = how && how->nweights ? how->weights[r] : 1.0;
    s->lo = (uint64_t)floorl((long double)s->total * before / sum);
    s->hi = r == P - 1 ? s->total : (uint64_t)floorl((long double)s->total * (before + wr) / sum);
    s->next = s->lo;
    return SL_OK;
}

/* --- dynamic / guided: the consumer side --------------------------------- */

static sl__feed_status counter_claim(void *self, uint64_t *seq, sl_batch **b)
{
    (void)b;
    sl__sched *s = self;
    if (s->cur >= s->cur_hi) {
        size_t h = atomic_load_explicit(&s->head, memory_order_relaxed);
        /* Acquire: pairs with the producer's release, so the slot is written. */
        if (h == atomic_load_explicit(&s->tail, memory_order_acquire)) {
            /* Read exhausted, then look at the ring again: the producer sets
             * exhausted only after its last push. */
            if (!atomic_load_explicit(&s->exhausted, memory_order_acquire) ||
                h != atomic_load_explicit(&s->tail, memory_order_acquire))
                return SL__FEED_WAIT;
            return SL__FEED_END;
        }
        sl__row_range c = s->ring[h % SCHED_RING];
        /* Release: the slot was read before the producer may reuse it. */
        atomic_store_explicit(&s->head, h + 1, memory_order_release);
        /* A slot is free: ask for the next chunk. Under the mutex, with a
         * count, so the main thread cannot miss it between look and sleep. */
        pthread_mutex_lock(&s->mu);
        s->demand++;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        s->cur = c.lo;
        s->cur_hi = c.hi;
    }
    *seq = s->cur++;
    return SL__FEED_HAVE;
}

static void counter_wait(void *self, const atomic_int *stop)
{
    sl__sched *s = self;
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(stop) && !atomic_load(&s->exhausted) &&
           atomic_load(&s->head) == atomic_load(&s->tail)) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 10 * 1000 * 1000;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &t);
    }
    pthread_mutex_unlock(&s->mu);
}

/* --- dynamic / guided: the main thread's side --------------------------- */

/* Takes the next chunk from rank 0's counter: [*lo, *hi), empty at the end. */
static sl_status take_chunk(sl__sched *s, uint64_t *lo, uint64_t *hi, sl_error *err)
{
    uint64_t n = s->chunk, old = 0;
    if (s->kind == SL_SCHED_GUIDED) {
        /* What is left as we last saw it, less what the others have likely
         * taken since (one take of our size each): without that, the takes
         * right after the start are all sized from an empty counter. */
        uint64_t others = (uint64_t)(s->size - 1) * s->last_take;
        uint64_t left = s->total > s->seen + others ? s->total - s->seen - others : 0;
        uint64_t P2 = 2 * (uint64_t)s->size;
        uint64_t g = (left + P2 - 1) / P2;
        n = g > n ? g : n;
    }
    int rc = MPI_Fetch_and_op(&n, &old, MPI_UINT64_T, 0, 0, MPI_SUM, s->win);
    if (rc == MPI_SUCCESS)
        rc = MPI_Win_flush(0, s->win);
    SL_CHECK(rc == MPI_SUCCESS, SL_EMPI, "rank %d: MPI_Fetch_and_op on the work counter failed",
             s->rank);
    *lo = old < s->total ? old : s->total;
    *hi = old + n < s->total && old + n > old ? old + n : s->total;
    s->seen = *hi;
    s->last_take = n;
    return SL_OK;
}

sl_status sl__sched_progress(sl__sched *s, bool failed, sl_error *err)
{
    if (!sl__sched_needs_progress(s))
        return SL_OK;
    if (failed && !s->poisoned) {
        /* Move the counter past the end: the other ranks stop taking work
         * at their next chunk instead of finishing a doomed run. */
        uint64_t end = s->total, old;
        MPI_Fetch_and_op(&end, &old, MPI_UINT64_T, 0, 0, MPI_REPLACE, s->win);
        MPI_Win_flush(0, s->win);
        s->poisoned = true;
    }
    size_t t = atomic_load_explicit(&s->tail, memory_order_relaxed);
    size_t queued = t - atomic_load_explicit(&s->head, memory_order_acquire);
    if (!atomic_load(&s->exhausted) && !s->poisoned && queued < SCHED_RESERVE) {
        uint64_t lo = 0, hi = 0;
        SL_TRY(take_chunk(s, &lo, &hi, err));
        pthread_mutex_lock(&s->mu);
        if (lo < hi) {
            s->ring[t % SCHED_RING] = (sl__row_range){lo, hi};
            atomic_store_explicit(&s->tail, t + 1, memory_order_release);
        } else
            atomic_store_explicit(&s->exhausted, true, memory_order_release);
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        return SL_OK;
    }
    if (s->poisoned && !atomic_load(&s->exhausted)) {
        atomic_store(&s->exhausted, true);
        pthread_cond_broadcast(&s->cv);
    }
    /* Rank 0 hosts the counter: without hardware atomics the other ranks'
     * operations complete only while it is inside MPI, so it looks in. */
    if (s->rank == 0) {
        int flag;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, s->comm, &flag, MPI_STATUS_IGNORE);
    }
    pthread_mutex_lock(&s->mu);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += s->rank == 0 ? SCHED_POLL_NS_HOST : SCHED_POLL_NS_OTHER;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    if (s->demand == s->demand_seen && !s->wakeup)
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    s->demand_seen = s->demand;
    s->wakeup = false;
    pthread_mutex_unlock(&s->mu);
    return SL_OK;
}

void sl__sched_wake(sl__sched *s)
{
    pthread_mutex_lock(&s->mu);
    s->wakeup = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* --- lifecycle ------------------------------------------------------------ */

static uint64_t default_chunk(sl_schedule kind, uint64_t total, int P)
{
    if (kind == SL_SCHED_GUIDED)
        return 1; /* the smallest take; big ones come from the formula */
    /* About 32 chunks per rank. The last chunks decide how unevenly the
     * ranks finish (a rank may hold its chunk and one in reserve when the
     * counter runs out), so they must be a small part of a rank's share;
     * 32 takes per rank are still nothing for the counter (docs/scaling.md). */
    uint64_t c = total / (32 * (uint64_t)P);
    return c ? c : 1;
}

sl_status sl__sched_create(sl__sched **out, sl_dist *d, const sl_job_dist *how,
                           uint64_t total_batches, sl_error *err)
{
    return sl__sched_create_on(out, d->comm, d->rank, d->size, d->mpi, how, total_batches, err);
}

sl_status sl__sched_create_on(sl__sched **out, MPI_Comm comm, int rank, int size, bool mpi,
                              const sl_job_dist *how, uint64_t total_batches, sl_error *err)
{
    *out = NULL;
    /* The settings were checked against the rank count (sl_job_dist_check
     * in sl_dist_run): weights only for static blocks, one per rank. */
    sl__sched *s = calloc(1, sizeof *s);
    SL_CHECK(s, SL_ENOMEM, "out of memory");
    s->comm = comm;
    s->rank = rank;
    s->size = size;
    s->mpi = mpi;
    s->kind = how ? how->schedule : SL_SCHED_STATIC;
    s->total = total_batches;
    s->chunk = how && how->chunk ? how->chunk : default_chunk(s->kind, total_batches, size);
    s->win = MPI_WIN_NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->feed.self = s;
    if (size == 1 || !mpi)
        s->kind = SL_SCHED_STATIC; /* one rank: nothing to share */
    if (s->kind == SL_SCHED_STATIC) {
        s->feed.claim = static_claim;
        s->feed.wait = never_wait;
        sl_status st = static_plan(s, how, err);
        if (st != SL_OK)
            sl__sched_destroy(&s);
        *out = s;
        return st;
    }
    s->feed.claim = counter_claim;
    s->feed.wait = counter_wait;
    MPI_Aint bytes = rank == 0 ? (MPI_Aint)sizeof(uint64_t) : 0;
    int rc = MPI_Win_allocate(bytes, (int)sizeof(uint64_t), MPI_INFO_NULL, comm, &s->counter,
                              &s->win);
    if (rc == MPI_SUCCESS && rank == 0)
        *s->counter = 0;
    /* The counter is set before anyone may touch it. */
    if (rc == MPI_SUCCESS)
        rc = MPI_Barrier(comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Win_lock_all(MPI_MODE_NOCHECK, s->win);
    if (rc != MPI_SUCCESS) {
        sl__sched_destroy(&s);
        return SL_FAIL(SL_EMPI, "rank %d: cannot create the MPI window of the work counter",
                       rank);
    }
    *out = s;
    return SL_OK;
}

const sl__feed *sl__sched_feed(sl__sched *s) { return &s->feed; }

bool sl__sched_needs_progress(const sl__sched *s) { return s->kind != SL_SCHED_STATIC; }

void sl__sched_destroy(sl__sched **sp)
{
    sl__sched *s = *sp;
    if (!s)
        return;
    if (s->win != MPI_WIN_NULL) {
        MPI_Win_unlock_all(s->win);
        MPI_Win_free(&s->win);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *sp = NULL;
}
