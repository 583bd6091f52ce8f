/* tests/unit/test_queue.c - the bounded MPMC ring: FIFO, full/empty, capacity, stress.
 *
 * The stress tests move distinct integers (encoded as pointers) through a small
 * queue so that it is full and empty often. Every consumer marks each value in a
 * shared atomic bitmap, which catches a value delivered twice; the total count
 * and sum catch a lost one; and each consumer checks that every producer's
 * values reach it in increasing order (positions are claimed in order).
 * Consumers stop when the count is reached or when the producers are done and
 * the queue is empty, so a lossy queue fails instead of hanging. Threads
 * yield on full/empty because the test machine may have fewer cores than
 * threads, and a spinning thread would starve the one it is waiting for. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <sluice/queue.h>

static sl_queue *make_queue(size_t cap)
{
    sl_error err;
    sl_error_clear(&err);
    sl_queue *q = NULL;
    cr_assert_eq(sl_queue_create(&q, cap, &err), SL_OK, "%s", err.msg);
    cr_assert_not_null(q);
    return q;
}

Test(queue, fifo_with_one_thread)
{
    sl_queue *q = make_queue(8);
    for (uintptr_t i = 0; i < 8; i++)
        cr_assert(sl_queue_try_push_mpmc(q, (void *)i)); /* NULL (i == 0) included */
    cr_assert_eq(sl_queue_size_approx(q), 8);
    for (uintptr_t i = 0; i < 8; i++) {
        void *v = (void *)1;
        cr_assert(sl_queue_try_pop_mpmc(q, &v));
        cr_assert_eq((uintptr_t)v, i);
    }
    /* Many laps of the ring with varying fill levels keep FIFO order. */
    uintptr_t next_in = 100, next_out = 100;
    for (int lap = 0; lap < 1000; lap++) {
        int k = lap % 8 + 1;
        for (int j = 0; j < k; j++)
            cr_assert(sl_queue_try_push_mpmc(q, (void *)next_in++));
        cr_assert_eq(sl_queue_size_approx(q), (size_t)k);
        for (int j = 0; j < k; j++) {
            void *v = NULL;
            cr_assert(sl_queue_try_pop_mpmc(q, &v));
            cr_assert_eq((uintptr_t)v, next_out++);
        }
    }
    cr_assert_eq(next_in, next_out);
    sl_queue_destroy(&q);
    cr_assert_null(q);
    sl_queue_destroy(&q); /* NULL is accepted */
    sl_queue_destroy(NULL);
}

Test(queue, reports_full_and_empty)
{
    sl_queue *q = make_queue(4);
    void *v = (void *)0x1;
    cr_assert_not(sl_queue_try_pop_mpmc(q, &v));
    cr_assert_eq(v, (void *)0x1, "a failed pop leaves *item alone");
    cr_assert_eq(sl_queue_size_approx(q), 0);
    for (uintptr_t i = 1; i <= 4; i++)
        cr_assert(sl_queue_try_push_mpmc(q, (void *)i));
    cr_assert_not(sl_queue_try_push_mpmc(q, (void *)5));
    cr_assert_eq(sl_queue_size_approx(q), 4);
    cr_assert(sl_queue_try_pop_mpmc(q, &v));
    cr_assert_eq((uintptr_t)v, 1);
    cr_assert(sl_queue_try_push_mpmc(q, (void *)5), "one pop frees one slot");
    cr_assert_not(sl_queue_try_push_mpmc(q, (void *)6));
    for (uintptr_t i = 2; i <= 5; i++) {
        cr_assert(sl_queue_try_pop_mpmc(q, &v));
        cr_assert_eq((uintptr_t)v, i);
    }
    cr_assert_not(sl_queue_try_pop_mpmc(q, &v));
    sl_queue_destroy(&q);
}

Test(queue, capacity_rounds_up_to_power_of_two)
{
    sl_queue *q = make_queue(1);
    cr_assert_eq(sl_queue_capacity(q), 1);
    cr_assert(sl_queue_try_push_mpmc(q, NULL));
    cr_assert_not(sl_queue_try_push_mpmc(q, NULL), "capacity 1 holds exactly 1");
    void *v = (void *)1;
    cr_assert(sl_queue_try_pop_mpmc(q, &v));
    cr_assert_null(v);
    sl_queue_destroy(&q);

    q = make_queue(3);
    cr_assert_eq(sl_queue_capacity(q), 4);
    for (uintptr_t i = 0; i < 4; i++)
        cr_assert(sl_queue_try_push_mpmc(q, (void *)i));
    cr_assert_not(sl_queue_try_push_mpmc(q, NULL));
    sl_queue_destroy(&q);

    q = make_queue(1000);
    cr_assert_eq(sl_queue_capacity(q), 1024);
    sl_queue_destroy(&q);
}

Test(queue, rejects_bad_capacity)
{
    sl_error err;
    sl_error_clear(&err);
    sl_queue *q = (sl_queue *)0x1;
    cr_assert_eq(sl_queue_create(&q, 0, &err), SL_EINVAL);
    cr_assert_null(q);
    cr_assert_str_eq(err.msg, "queue capacity 0 is below minimum 1");
    cr_assert_eq(sl_queue_create(&q, SIZE_MAX, &err), SL_ERANGE);
    cr_assert_null(q);
}

/* ---- stress ------------------------------------------------------------ */

typedef struct stress {
    sl_queue *q;
    size_t nitems, nprod, ncons;
    _Atomic size_t consumed;
    _Atomic size_t producers_done;
    _Atomic uint64_t *seen; /* one bit per value */
    _Atomic int dup;        /* first duplicated value + 1, or 0 */
    _Atomic int disorder;
} stress;

typedef struct worker {
    stress *st;
    size_t id;
    size_t count;
    uint64_t sum;
} worker;

/* Producer id sends the values v with v % nprod == id, in increasing order. */
static void *producer(void *arg)
{
    worker *w = arg;
    stress *st = w->st;
    for (size_t v = w->id; v < st->nitems; v += st->nprod) {
        while (!sl_queue_try_push_mpmc(st->q, (void *)(uintptr_t)v))
            sched_yield();
        w->count++;
        w->sum += v;
    }
    atomic_fetch_add(&st->producers_done, 1);
    return NULL;
}

static void *consumer(void *arg)
{
    worker *w = arg;
    stress *st = w->st;
    size_t last[16];
    for (size_t p = 0; p < 16; p++)
        last[p] = SIZE_MAX;
    while (atomic_load(&st->consumed) < st->nitems) {
        void *item;
        /* Read before popping: once every producer is done, all pushes are
         * published, so an empty pop means the items are really gone (a lossy
         * queue then fails the counts below instead of hanging). */
        bool done = atomic_load(&st->producers_done) == st->nprod;
        if (!sl_queue_try_pop_mpmc(st->q, &item)) {
            if (done)
                break;
            sched_yield();
            continue;
        }
        size_t v = (uintptr_t)item, p = v % st->nprod;
        uint64_t bit = UINT64_C(1) << (v % 64);
        if (v >= st->nitems || (atomic_fetch_or(&st->seen[v / 64], bit) & bit))
            atomic_store(&st->dup, (int)v + 1);
        if (last[p] != SIZE_MAX && v <= last[p])
            atomic_store(&st->disorder, 1);
        last[p] = v;
        w->count++;
        w->sum += v;
        atomic_fetch_add(&st->consumed, 1);
    }
    return NULL;
}

static void run_stress(size_t nprod, size_t ncons, size_t nitems, size_t cap)
{
    stress st = {.q = make_queue(cap), .nitems = nitems, .nprod = nprod, .ncons = ncons};
    atomic_init(&st.consumed, 0);
    atomic_init(&st.producers_done, 0);
    atomic_init(&st.dup, 0);
    atomic_init(&st.disorder, 0);
    size_t words = (nitems + 63) / 64;
    st.seen = calloc(words, sizeof *st.seen);
    cr_assert_not_null(st.seen);
    worker w[32] = {{0}};
    pthread_t t[32];
    cr_assert(nprod + ncons <= 32 && nprod <= 16);
    for (size_t i = 0; i < nprod + ncons; i++) {
        w[i] = (worker){.st = &st, .id = i < nprod ? i : i - nprod};
        cr_assert_eq(pthread_create(&t[i], NULL, i < nprod ? producer : consumer, &w[i]), 0);
    }
    for (size_t i = 0; i < nprod + ncons; i++)
        pthread_join(t[i], NULL);

    uint64_t psum = 0, csum = 0;
    size_t pcount = 0, ccount = 0;
    for (size_t i = 0; i < nprod + ncons; i++) {
        *(i < nprod ? &psum : &csum) += w[i].sum;
        *(i < nprod ? &pcount : &ccount) += w[i].count;
    }
    uint64_t expect = (uint64_t)nitems * (nitems - 1) / 2;
    cr_assert_eq(atomic_load(&st.dup), 0, "value %d delivered twice", atomic_load(&st.dup) - 1);
    cr_assert_eq(atomic_load(&st.disorder), 0, "a producer's values overtook each other");
    cr_assert_eq(pcount, nitems);
    cr_assert_eq(ccount, nitems);
    cr_assert_eq(psum, expect);
    cr_assert_eq(csum, expect);
    for (size_t i = 0; i < words; i++) {
        uint64_t full = i + 1 < words || nitems % 64 == 0 ? UINT64_MAX
                                                          : (UINT64_C(1) << (nitems % 64)) - 1;
        cr_assert_eq(atomic_load(&st.seen[i]), full, "values %zu..%zu not all seen", i * 64,
                     i * 64 + 63);
    }
    void *item;
    cr_assert_not(sl_queue_try_pop_mpmc(st.q, &item), "queue is empty at the end");
    free(st.seen);
    sl_queue_destroy(&st.q);
}

Test(queue, stress_2_producers_2_consumers_each_item_once, .timeout = 60)
{
    run_stress(2, 2, 2000000, 64);
}

Test(queue, stress_4_producers_4_consumers_each_item_once, .timeout = 60)
{
    run_stress(4, 4, 2000000, 64);
}
