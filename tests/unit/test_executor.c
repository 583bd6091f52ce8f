/* tests/unit/test_executor.c - the executor's promises, with in-process stages:
 * every batch arrives exactly once in every mode, thread count and queue size
 * (no deadlock with one thread and queues of one), ordered stages see seq in
 * order, live batches never exceed what capacities and concurrencies allow,
 * and a failing batch stops the run with a message naming stage and seq. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sluice/sluice.h>

/* Shared test state: set before each run; stages read it. */
static struct {
    uint64_t batches, rows;
    uint64_t fail_seq; /* UINT64_MAX: never */
    int jitter_us;     /* sleep up to this long in the shuffle stage */
    atomic_uint_fast64_t order_errors, order_seen, sink_count, sink_sum, in_ordered, in_sink;
    unsigned char *seen;
} T;

static void reset_state(uint64_t batches, uint64_t rows)
{
    free(T.seen);
    memset(&T, 0, sizeof T);
    T.batches = batches;
    T.rows = rows;
    T.fail_seq = UINT64_MAX;
    T.seen = calloc(batches ? batches : 1, 1);
}

static sl_status inst_create(void **state, const sl_params *p, sl_ctx *c, sl_error *err)
{
    uint64_t *next = calloc(1, sizeof *next); /* per-instance: ordered check */
    SL_CHECK(next, SL_ENOMEM, "oom");
    *state = next;
    return SL_OK;
}
static void inst_destroy(void *state) { free(state); }

static sl_status src_plan(void *s, sl_source_plan *plan, sl_error *err)
{
    plan->batches = T.batches;
    plan->rows = T.batches * T.rows;
    return SL_OK;
}

static sl_status src_produce(void *s, uint64_t seq, sl_batch *out, sl_ctx *c, sl_error *err)
{
    sl_batch_set_rows(out, seq * T.rows, T.rows);
    void *d;
    SL_TRY(sl_batch_add(out, "v", SL_TYPE_U64, 0, NULL, &d, err));
    uint64_t *v = d;
    for (uint64_t r = 0; r < T.rows; r++)
        v[r] = seq * T.rows + r;
    return SL_OK;
}

static sl_status shuffle_process(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    SL_CHECK(sl_batch_seq(b) != T.fail_seq, SL_EKERNEL, "injected failure");
    if (T.jitter_us) {
        struct timespec ts = {0, 1000L * (long)((sl_batch_seq(b) * 7919u) % (uint64_t)T.jitter_us)};
        nanosleep(&ts, NULL);
    }
    return SL_OK;
}

static sl_status ordered_process(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    uint64_t *next = s;
    if (atomic_fetch_add(&T.in_ordered, 1) != 0) /* never two at once */
        atomic_fetch_add(&T.order_errors, 1);
    if (sl_batch_seq(b) != *next)
        atomic_fetch_add(&T.order_errors, 1);
    *next = sl_batch_seq(b) + 1;
    atomic_fetch_add(&T.order_seen, 1);
    atomic_fetch_sub(&T.in_ordered, 1);
    return SL_OK;
}

static sl_status sink_process(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    if (atomic_fetch_add(&T.in_sink, 1) != 0) /* serial: never two at once */
        atomic_fetch_add(&T.order_errors, 1);
    const void *d;
    SL_TRY(sl_batch_get(b, "v", SL_TYPE_U64, &d, err));
    const uint64_t *v = d;
    for (size_t r = 0; r < sl_batch_nrows(b); r++)
        atomic_fetch_add(&T.sink_sum, v[r]);
    T.seen[sl_batch_seq(b)]++; /* the sink is serial: one at a time */
    atomic_fetch_add(&T.sink_count, 1);
    atomic_fetch_sub(&T.in_sink, 1);
    return SL_OK;
}

#define DESC(var, nm, knd, md, ...)                                                      \
    static const sl_stage_desc var = {.abi = SL_STAGE_ABI, .size = sizeof(sl_stage_desc), \
                                      .name = nm, .summary = "test", .version = "0",      \
                                      .kind = knd, .mode = md, .create = inst_create,     \
                                      .destroy = inst_destroy, __VA_ARGS__}
DESC(src_desc, "src", SL_KIND_SOURCE, SL_MODE_PARALLEL, .plan = src_plan, .produce = src_produce);
DESC(shuffle_desc, "shuffle", SL_KIND_TRANSFORM, SL_MODE_PARALLEL, .process = shuffle_process);
DESC(ordered_desc, "ordered", SL_KIND_TRANSFORM, SL_MODE_ORDERED, .process = ordered_process);
DESC(sink_desc, "sink", SL_KIND_SINK, SL_MODE_SERIAL, .process = sink_process);

static sl_params *no_params(const char *owner)
{
    sl_params *p = NULL;
    sl_error err;
    cr_assert_eq(sl_params_create(&p, NULL, owner, &err), SL_OK, "%s", err.msg);
    return p;
}

static void add(sl_pipeline *p, const sl_stage_desc *d, const char *name, int mode, int conc, int q)
{
    sl_error err;
    sl_stage_opts so = {conc, q, mode, NULL};
    cr_assert_eq(sl_pipeline_add(p, d, name, no_params(name), &so, &err), SL_OK, "%s", err.msg);
}

/* source -> shuffle(mode) -> ordered -> shuffle2 -> sink */
static sl_status run_chain(int threads, int q, int mode, sl_pipeline **out, sl_error *err)
{
    sl_pipeline_opts o = {.threads = threads};
    sl_pipeline *p;
    cr_assert_eq(sl_pipeline_create(&p, &o, err), SL_OK, "%s", err->msg);
    add(p, &src_desc, "src", 0, 0, 0);
    add(p, &shuffle_desc, "a", mode, 0, q);
    add(p, &ordered_desc, "ord", 0, 0, q);
    add(p, &shuffle_desc, "b", SL_MODE_PARALLEL, 0, q);
    add(p, &sink_desc, "sink", 0, 0, q);
    sl_status s = sl_pipeline_run(p, err);
    *out = p;
    return s;
}

static void check_all_arrived(sl_pipeline *p)
{
    uint64_t n = T.batches * T.rows;
    cr_assert_eq(atomic_load(&T.sink_count), T.batches);
    cr_assert_eq(atomic_load(&T.sink_sum), n ? n * (n - 1) / 2 : 0);
    for (uint64_t s = 0; s < T.batches; s++)
        cr_assert_eq(T.seen[s], 1, "batch %llu arrived %d times", (unsigned long long)s, T.seen[s]);
    cr_assert_eq(atomic_load(&T.order_errors), 0);
    cr_assert_eq(atomic_load(&T.order_seen), T.batches);
    cr_assert_leq(sl_pipeline_peak_batches(p), sl_pipeline_batch_bound(p),
                  "peak %zu > bound %zu", sl_pipeline_peak_batches(p), sl_pipeline_batch_bound(p));
    cr_assert_eq(sl_pipeline_batches(p), T.batches);
    cr_assert_eq(sl_pipeline_rows(p), n);
    /* Each thread counts on its own row: the rows add up to every batch. */
    for (size_t i = 0; i < sl_pipeline_nstages(p); i++) {
        sl_stage_stats st;
        sl_pipeline_stage_stats(p, i, &st);
        cr_assert_eq(st.batches, T.batches, "stage %zu: %llu batches", i,
                     (unsigned long long)st.batches);
        cr_assert_eq(st.rows, n, "stage %zu: %llu rows", i, (unsigned long long)st.rows);
    }
}

Test(executor, every_mode_thread_and_queue_size_delivers_each_batch_once)
{
    int threads[] = {1, 2, 4};
    int queues[] = {1, 2, 7};
    int modes[] = {SL_MODE_PARALLEL, SL_MODE_SERIAL, SL_MODE_ORDERED};
    for (size_t t = 0; t < 3; t++)
        for (size_t q = 0; q < 3; q++)
            for (size_t m = 0; m < 3; m++) {
                reset_state(300, 3);
                sl_error err;
                sl_pipeline *p;
                cr_assert_eq(run_chain(threads[t], queues[q], modes[m], &p, &err), SL_OK, "%s",
                             err.msg);
                check_all_arrived(p);
                sl_pipeline_destroy(&p);
            }
}

Test(executor, ordered_stage_sees_seq_in_order_under_many_threads)
{
    reset_state(400, 1);
    T.jitter_us = 200; /* parallel stage finishes batches out of order */
    sl_error err;
    sl_pipeline *p;
    cr_assert_eq(run_chain(8, 3, SL_MODE_PARALLEL, &p, &err), SL_OK, "%s", err.msg);
    check_all_arrived(p);
    sl_pipeline_destroy(&p);
}

Test(executor, live_batches_stay_within_queue_and_concurrency_bound)
{
    /* 1 thread, queue 1, every stage concurrency 1: bound is 5 instances + 4
     * queue slots = 9 however many batches go through. */
    reset_state(5000, 1);
    sl_error err;
    sl_pipeline_opts o = {.threads = 1};
    sl_pipeline *p;
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK);
    add(p, &src_desc, "src", 0, 1, 0);
    add(p, &shuffle_desc, "a", 0, 1, 1);
    add(p, &ordered_desc, "ord", 0, 1, 1);
    add(p, &shuffle_desc, "b", 0, 1, 1);
    add(p, &sink_desc, "sink", 0, 1, 1);
    cr_assert_eq(sl_pipeline_batch_bound(p), 9, "bound %zu", sl_pipeline_batch_bound(p));
    cr_assert_eq(sl_pipeline_run(p, &err), SL_OK, "%s", err.msg);
    check_all_arrived(p);
    cr_assert_geq(sl_pipeline_peak_batches(p), 1);
    sl_pipeline_destroy(&p);
}

Test(executor, zero_batches_complete_at_once)
{
    reset_state(0, 4);
    sl_error err;
    sl_pipeline *p;
    cr_assert_eq(run_chain(2, 2, SL_MODE_PARALLEL, &p, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(atomic_load(&T.sink_count), 0);
    sl_pipeline_destroy(&p);
}

Test(executor, failing_batch_stops_the_run_and_names_stage_and_seq)
{
    for (int threads = 1; threads <= 4; threads *= 2) {
        reset_state(2000, 1);
        T.fail_seq = 777;
        sl_error err;
        sl_pipeline *p;
        cr_assert_eq(run_chain(threads, 2, SL_MODE_PARALLEL, &p, &err), SL_EKERNEL);
        cr_assert(strstr(err.msg, "stage 'a', batch 777: injected failure"), "got: %s", err.msg);
        cr_assert_lt(atomic_load(&T.sink_count), 2000);
        cr_assert_eq(T.seen[777], 0);
        sl_pipeline_destroy(&p);
    }
}

Test(executor, structure_errors_name_the_stage)
{
    sl_error err;
    sl_pipeline_opts o = {.threads = 2};
    sl_pipeline *p;
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK);
    sl_stage_opts so = {0};
    cr_assert_eq(sl_pipeline_add(p, &shuffle_desc, "a", no_params("a"), &so, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "stage 'a' (shuffle) is not a source"), "got: %s", err.msg);
    sl_pipeline_destroy(&p);

    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK);
    add(p, &src_desc, "src", 0, 0, 0);
    cr_assert_eq(sl_pipeline_add(p, &src_desc, "src2", no_params("src2"), &so, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "is a source but is not first"), "got: %s", err.msg);
    add(p, &sink_desc, "sink", 0, 0, 0);
    cr_assert_eq(sl_pipeline_add(p, &shuffle_desc, "late", no_params("late"), &so, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "comes after the sink 'sink'"), "got: %s", err.msg);
    sl_stage_opts serial4 = {4, 0, SL_MODE_SERIAL, NULL};
    cr_assert_eq(sl_pipeline_add(p, &shuffle_desc, "x", no_params("x"), &serial4, &err), SL_EINVAL);
    sl_pipeline_destroy(&p);
}

Test(executor, stop_request_ends_the_run_as_canceled)
{
    reset_state(100000, 1);
    T.jitter_us = 50;
    sl_error err;
    sl_pipeline_opts o = {.threads = 2};
    sl_pipeline *p;
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK);
    add(p, &src_desc, "src", 0, 0, 0);
    add(p, &shuffle_desc, "a", 0, 0, 0);
    add(p, &sink_desc, "sink", 0, 0, 0);
    sl_pipeline_request_stop(p);
    cr_assert_eq(sl_pipeline_run(p, &err), SL_ECANCELED);
    cr_assert(strstr(err.msg, "stopped on request"), "got: %s", err.msg);
    sl_pipeline_destroy(&p);
}

/* Two stages of a non-thread-safe library (SL_STAGE_EXCLUSIVE_LIBRARY), one
 * of them parallel with four instances: never two of their jobs at once,
 * every batch still arrives, for 1 to 4 threads and queues of 1 and 3. */
static atomic_int excl_inside, excl_max;

static sl_status excl_process(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    int now = atomic_fetch_add(&excl_inside, 1) + 1;
    int m = atomic_load(&excl_max);
    while (now > m && !atomic_compare_exchange_weak(&excl_max, &m, now))
        ;
    struct timespec ts = {0, 20000L * (long)(sl_batch_seq(b) % 3)};
    nanosleep(&ts, NULL);
    atomic_fetch_sub(&excl_inside, 1);
    return SL_OK;
}

DESC(excl_a_desc, "excl_a", SL_KIND_TRANSFORM, SL_MODE_PARALLEL, .process = excl_process,
     .flags = SL_STAGE_EXCLUSIVE_LIBRARY);
DESC(excl_sink_desc, "excl_sink", SL_KIND_SINK, SL_MODE_SERIAL, .process = sink_process,
     .flags = SL_STAGE_EXCLUSIVE_LIBRARY);

Test(executor, exclusive_library_stages_never_overlap)
{
    for (int threads = 1; threads <= 4; threads++)
        for (int q = 1; q <= 3; q += 2) {
            reset_state(120, 3);
            atomic_store(&excl_inside, 0);
            atomic_store(&excl_max, 0);
            sl_pipeline_opts o = {.threads = threads};
            sl_pipeline *p;
            sl_error err;
            cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
            add(p, &src_desc, "src", 0, 0, 0);
            add(p, &excl_a_desc, "a", 0, 4, q);
            add(p, &shuffle_desc, "mid", 0, 0, q);
            add(p, &excl_sink_desc, "sink", 0, 0, q);
            cr_assert_eq(sl_pipeline_run(p, &err), SL_OK, "threads %d q %d: %s", threads, q,
                         err.msg);
            cr_assert_eq(atomic_load(&excl_max), 1, "threads %d q %d: %d jobs at once",
                         threads, q, atomic_load(&excl_max));
            cr_assert_eq(atomic_load(&T.sink_count), 120);
            for (uint64_t s = 0; s < 120; s++)
                cr_assert_eq(T.seen[s], 1, "batch %llu", (unsigned long long)s);
            sl_pipeline_destroy(&p);
        }
}
