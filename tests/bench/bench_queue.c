/* tests/bench/bench_queue.c - our MPMC ring against Concurrency Kit's ck_ring.
 *
 * usage: bench_queue [-n ITEMS] [-c CAPACITY] [-r RUNS] [-p PAIRS,...]
 *
 * Both sides in one binary: sl_queue (sl_queue_try_push_mpmc and
 * sl_queue_try_pop_mpmc, lib/queue/queue.c) and ck_ring
 * (ck_ring_enqueue_mpmc and ck_ring_dequeue_mpmc over a ck_ring_buffer_t
 * array). For each run and each producer/consumer count P (P producers and P
 * consumers, pthreads), the two sides run back to back, in alternating
 * order (ours first on even runs, ck first on odd ones), so both see the
 * same machine load. P producers push ITEMS items in all (ITEMS / P each,
 * the values 1 .. ITEMS as pointers); P consumers pop until ITEMS items came
 * out. Timed: from a start barrier to the last consumer done.
 *
 * Capacity: both rings get CAPACITY slots (a power of two). sl_queue holds
 * CAPACITY items; ck_ring holds CAPACITY - 1 (it keeps one slot empty to
 * tell full from empty). A thread that finds the ring full (producer) or
 * empty (consumer) retries the same way on both sides: a pause instruction,
 * and sched_yield() after every 64 failed tries, because with 2 P threads on
 * a 2-core machine a spinning thread may hold the core its partner needs.
 *
 * Every run checks that the consumers saw each value once (the sum and the
 * xor of the values popped) and exits 1 otherwise. One line per run and side:
 *   run R impl sl|ck pairs P items N capacity C seconds S mitems_s M
 * Exit status 0, 1 on a failed check or thread error, 2 on bad usage. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ck_ring.h>

#include <sluice/queue.h>

#define MAX_PAIRS 8

enum { IMPL_SL, IMPL_CK };
static const char *const impl_names[] = {"sl", "ck"};

typedef struct bench {
    int impl;
    int pairs;
    uint64_t items;
    sl_queue *q;
    ck_ring_t ring;
    ck_ring_buffer_t *buf;
    pthread_barrier_t start;
    atomic_uint_fast64_t popped; /* items taken by all consumers so far */
} bench;

typedef struct worker {
    bench *b;
    int id;
    uint64_t sum, xr;   /* consumers: the values they took */
    double end;         /* consumers: when they finished */
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The same back-off on both sides. */
static void backoff(unsigned *fails)
{
    if (++*fails % 64 == 0)
        sched_yield();
#if defined(__x86_64__) || defined(__i386__)
    else
        __builtin_ia32_pause();
#endif
}

static void *producer(void *arg)
{
    worker *w = arg;
    bench *b = w->b;
    uint64_t per = b->items / (uint64_t)b->pairs;
    uint64_t lo = (uint64_t)w->id * per + 1;
    uint64_t hi = w->id == b->pairs - 1 ? b->items + 1 : lo + per;
    unsigned fails = 0;
    pthread_barrier_wait(&b->start);
    if (b->impl == IMPL_SL) {
        for (uint64_t v = lo; v < hi; v++)
            while (!sl_queue_try_push_mpmc(b->q, (void *)(uintptr_t)v))
                backoff(&fails);
    } else {
        for (uint64_t v = lo; v < hi; v++)
            while (!ck_ring_enqueue_mpmc(&b->ring, b->buf, (void *)(uintptr_t)v))
                backoff(&fails);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    worker *w = arg;
    bench *b = w->b;
    uint64_t sum = 0, xr = 0;
    unsigned fails = 0;
    pthread_barrier_wait(&b->start);
    /* Relaxed: the counter only says when to stop; the values travel
     * through the ring, whose own ordering makes them visible. */
    while (atomic_load_explicit(&b->popped, memory_order_relaxed) < b->items) {
        void *item;
        bool ok = b->impl == IMPL_SL ? sl_queue_try_pop_mpmc(b->q, &item)
                                     : ck_ring_dequeue_mpmc(&b->ring, b->buf, &item);
        if (!ok) {
            backoff(&fails);
            continue;
        }
        uint64_t v = (uint64_t)(uintptr_t)item;
        sum += v;
        xr ^= v;
        atomic_fetch_add_explicit(&b->popped, 1, memory_order_relaxed);
    }
    w->sum = sum;
    w->xr = xr;
    w->end = now_s();
    return NULL;
}

/* Seconds for one run of one side, or a negative value on failure. */
static double run_once(int impl, int pairs, uint64_t items, unsigned cap)
{
    bench b = {.impl = impl, .pairs = pairs, .items = items};
    sl_error err;
    double secs = -1.0;
    atomic_init(&b.popped, 0);
    if (impl == IMPL_SL) {
        if (sl_queue_create(&b.q, cap, &err) != SL_OK) {
            fprintf(stderr, "bench_queue: %s\n", err.msg);
            return -1.0;
        }
    } else {
        b.buf = aligned_alloc(64, cap * sizeof *b.buf);
        if (!b.buf)
            return -1.0;
        memset(b.buf, 0, cap * sizeof *b.buf);
        ck_ring_init(&b.ring, cap);
    }
    pthread_barrier_init(&b.start, NULL, (unsigned)(2 * pairs + 1));
    pthread_t th[2 * MAX_PAIRS];
    worker w[2 * MAX_PAIRS];
    int started = 0;
    for (int i = 0; i < 2 * pairs; i++) {
        w[i] = (worker){.b = &b, .id = i % pairs};
        if (pthread_create(&th[i], NULL, i < pairs ? producer : consumer, &w[i]) != 0) {
            fprintf(stderr, "bench_queue: cannot start thread %d\n", i);
            exit(1); /* the others wait at the barrier forever */
        }
        started++;
    }
    pthread_barrier_wait(&b.start);
    double t0 = now_s(), t1 = t0;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    uint64_t sum = 0, xr = 0;
    for (int i = pairs; i < 2 * pairs; i++) {
        sum += w[i].sum;
        xr ^= w[i].xr;
        t1 = w[i].end > t1 ? w[i].end : t1;
    }
    uint64_t want_x = 0;
    for (uint64_t v = 1; v <= items; v++)
        want_x ^= v;
    if (sum != items * (items + 1) / 2 || xr != want_x)
        fprintf(stderr, "bench_queue: %s with %d pairs lost or duplicated items (sum %llu, "
                        "want %llu)\n", impl_names[impl], pairs, (unsigned long long)sum,
                (unsigned long long)(items * (items + 1) / 2));
    else
        secs = t1 - t0;
    pthread_barrier_destroy(&b.start);
    sl_queue_destroy(&b.q);
    free(b.buf);
    return secs;
}

static int parse_pairs(char *s, int *out)
{
    int n = 0;
    for (char *tok = strtok(s, ","); tok && n < MAX_PAIRS; tok = strtok(NULL, ",")) {
        int v = atoi(tok);
        if (v < 1 || v > MAX_PAIRS)
            return -1;
        out[n++] = v;
    }
    return n;
}

int main(int argc, char **argv)
{
    uint64_t items = 10000000;
    unsigned long cap = 1024;
    int runs = 5, pairs[MAX_PAIRS] = {1, 2}, npairs = 2;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = val != NULL;
        if (ok && strcmp(opt, "-n") == 0)
            ok = (items = strtoull(val, NULL, 10)) > 0 && items < (UINT64_C(1) << 31);
        else if (ok && strcmp(opt, "-c") == 0)
            ok = (cap = strtoul(val, NULL, 10)) >= 2 && cap <= (1ul << 24) && !(cap & (cap - 1));
        else if (ok && strcmp(opt, "-r") == 0)
            ok = (runs = atoi(val)) > 0;
        else if (ok && strcmp(opt, "-p") == 0)
            ok = (npairs = parse_pairs(val, pairs)) > 0;
        else
            ok = 0;
        if (!ok) {
            fprintf(stderr, "usage: bench_queue [-n ITEMS < 2^31] [-c CAPACITY (power of two >= 2)] "
                            "[-r RUNS] [-p PAIRS,...]\n");
            return 2;
        }
        i++;
    }
    for (int r = 0; r < runs; r++)
        for (int pi = 0; pi < npairs; pi++)
            for (int k = 0; k < 2; k++) {
                int impl = (r % 2 == 0) == (k == 0) ? IMPL_SL : IMPL_CK;
                double s = run_once(impl, pairs[pi], items, (unsigned)cap);
                if (s < 0)
                    return 1;
                printf("run %d impl %s pairs %d items %llu capacity %lu seconds %.6f "
                       "mitems_s %.3f\n",
                       r, impl_names[impl], pairs[pi], (unsigned long long)items, cap, s,
                       (double)items / s * 1e-6);
                fflush(stdout);
            }
    return 0;
}
