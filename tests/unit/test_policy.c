/* tests/unit/test_policy.c - the failure policy in the executor, with
 * in-process stages: retries restore the stage's input (process() works in
 * place), give up after the last attempt as on_error says, dead letters are
 * listed in seq order, ordered stages move past dropped batches, deadlines
 * fail an attempt (cooperatively or after the fact), backoff and rate limits
 * wait without blocking a task, a stop during a backoff ends the run, and
 * live batches stay within the bound. Every figure is exact. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sluice/sluice.h>

#define MAXB 512

static struct {
    uint64_t batches, rows;
    /* flaky: seq -> how many attempts fail before one succeeds (UINT32_MAX: all) */
    unsigned fail_first[MAXB];
    atomic_uint attempts[MAXB];
    unsigned sleep_seq;  /* flaky sleeps on this seq (UINT32_MAX: never) */
    double sleep_s;
    bool sleep_polls;    /* checks sl_ctx_should_stop while sleeping */
    unsigned src_fail_first[MAXB];
    atomic_uint src_attempts[MAXB];
    atomic_uint_fast64_t sink_sum, sink_count, order_errors;
    uint64_t order_next;
    unsigned char seen[MAXB];
    atomic_int in_ordered;
} T;

static void reset(uint64_t batches, uint64_t rows)
{
    memset(&T, 0, sizeof T);
    T.batches = batches;
    T.rows = rows;
    T.sleep_seq = UINT32_MAX;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static sl_status st_create(void **state, const sl_params *p, sl_ctx *c, sl_error *err)
{
    *state = NULL;
    return SL_OK;
}

static sl_status src_plan(void *s, sl_source_plan *plan, sl_error *err)
{
    plan->batches = T.batches;
    plan->rows = T.batches * T.rows;
    return SL_OK;
}

static sl_status src_produce(void *s, uint64_t seq, sl_batch *out, sl_ctx *c, sl_error *err)
{
    unsigned a = atomic_fetch_add(&T.src_attempts[seq], 1);
    SL_CHECK(a >= T.src_fail_first[seq], SL_EKERNEL, "source attempt %u fails", a + 1);
    sl_batch_set_rows(out, seq * T.rows, T.rows);
    void *d;
    SL_TRY(sl_batch_add(out, "v", SL_TYPE_U64, 0, NULL, &d, err));
    for (uint64_t r = 0; r < T.rows; r++)
        ((uint64_t *)d)[r] = seq * T.rows + r;
    return SL_OK;
}

/* Adds 1000 to every value in place, then fails the first fail_first[seq]
 * attempts: a retry that did not restore the input would add twice. */
static sl_status flaky_process(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    uint64_t seq = sl_batch_seq(b);
    void *d;
    SL_TRY(sl_batch_get(b, "v", SL_TYPE_U64, (const void **)&d, err));
    for (size_t r = 0; r < sl_batch_nrows(b); r++)
        ((uint64_t *)d)[r] += 1000;
    if (seq == T.sleep_seq) {
        double end = now_s() + T.sleep_s;
        while (now_s() < end && !(T.sleep_polls && sl_ctx_should_stop(c))) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
        SL_CHECK(!sl_ctx_should_stop(c), SL_ECANCELED, "stopped sleeping");
    }
    unsigned a = atomic_fetch_add(&T.attempts[seq], 1);
    SL_CHECK(a >= T.fail_first[seq], SL_EKERNEL, "flaky: attempt %u of batch %llu fails", a + 1,
             (unsigned long long)seq);
    return SL_OK;
}

static sl_status ordered_process(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    if (atomic_fetch_add(&T.in_ordered, 1) != 0)
        atomic_fetch_add(&T.order_errors, 1);
    if (sl_batch_seq(b) < T.order_next)
        atomic_fetch_add(&T.order_errors, 1);
    T.order_next = sl_batch_seq(b) + 1;
    atomic_fetch_sub(&T.in_ordered, 1);
    return SL_OK;
}

static sl_status sink_process(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    const void *d;
    SL_TRY(sl_batch_get(b, "v", SL_TYPE_U64, &d, err));
    for (size_t r = 0; r < sl_batch_nrows(b); r++)
        atomic_fetch_add(&T.sink_sum, ((const uint64_t *)d)[r]);
    T.seen[sl_batch_seq(b)]++;
    atomic_fetch_add(&T.sink_count, 1);
    return SL_OK;
}

#define DESC(var, nm, knd, md, ...)                                                      \
    static const sl_stage_desc var = {.abi = SL_STAGE_ABI, .size = sizeof(sl_stage_desc), \
                                      .name = nm, .summary = "test", .version = "0",      \
                                      .kind = knd, .mode = md, .create = st_create,       \
                                      __VA_ARGS__}
DESC(src_desc, "src", SL_KIND_SOURCE, SL_MODE_PARALLEL, .plan = src_plan, .produce = src_produce);
DESC(flaky_desc, "flaky", SL_KIND_TRANSFORM, SL_MODE_PARALLEL, .process = flaky_process);
DESC(ordered_desc, "ordered", SL_KIND_TRANSFORM, SL_MODE_ORDERED, .process = ordered_process);
DESC(sink_desc, "sink", SL_KIND_SINK, SL_MODE_SERIAL, .process = sink_process);

static sl_params *no_params(const char *owner)
{
    sl_params *p = NULL;
    sl_error err;
    cr_assert_eq(sl_params_create(&p, NULL, owner, &err), SL_OK, "%s", err.msg);
    return p;
}

static void add(sl_pipeline *p, const sl_stage_desc *d, const char *name, int mode,
                const sl_stage_policy *pol)
{
    sl_error err;
    sl_stage_opts so = {0, 0, mode, pol};
    cr_assert_eq(sl_pipeline_add(p, d, name, no_params(name), &so, &err), SL_OK, "%s", err.msg);
}

/* src -> flaky(pol) [-> ordered] -> sink */
static sl_status run(int threads, const sl_stage_policy *src_pol, const sl_stage_policy *pol,
                     bool ordered, sl_pipeline **out, sl_error *err)
{
    sl_pipeline_opts o = {.threads = threads};
    sl_pipeline *p;
    cr_assert_eq(sl_pipeline_create(&p, &o, err), SL_OK, "%s", err->msg);
    add(p, &src_desc, "src", 0, src_pol);
    add(p, &flaky_desc, "flaky", 0, pol);
    if (ordered)
        add(p, &ordered_desc, "ord", 0, NULL);
    add(p, &sink_desc, "sink", 0, NULL);
    sl_status s = sl_pipeline_run(p, err);
    *out = p;
    return s;
}

/* Sum the sink sees when the batches in `skip` never arrive. */
static uint64_t expected_sum(const unsigned char *skip)
{
    uint64_t sum = 0;
    for (uint64_t seq = 0; seq < T.batches; seq++)
        for (uint64_t r = 0; !skip[seq] && r < T.rows; r++)
            sum += seq * T.rows + r + 1000;
    return sum;
}

static sl_stage_policy pol_retries(unsigned n, sl_on_error e)
{
    sl_stage_policy q = SL_STAGE_POLICY_DEFAULT;
    q.retries = n;
    q.backoff_s = 0.001;
    q.on_error = e;
    return q;
}

Test(policy, retries_restore_the_input_and_everything_arrives)
{
    for (int threads = 1; threads <= 4; threads *= 2) {
        reset(200, 3);
        T.fail_first[5] = 1;
        T.fail_first[77] = 3;
        T.fail_first[199] = 2;
        sl_stage_policy q = pol_retries(3, SL_ON_ERROR_ABORT);
        sl_pipeline *p;
        sl_error err;
        cr_assert_eq(run(threads, NULL, &q, true, &p, &err), SL_OK, "%d threads: %s", threads,
                     err.msg);
        unsigned char none[MAXB] = {0};
        cr_assert_eq(T.sink_count, 200);
        cr_assert_eq(T.sink_sum, expected_sum(none), "%d threads: a retry saw its own output",
                     threads);
        cr_assert_eq(T.order_errors, 0);
        sl_stage_stats st;
        sl_pipeline_stage_stats(p, 1, &st);
        cr_assert_eq(st.retries, 1 + 3 + 2);
        cr_assert_eq(st.dropped, 0);
        cr_assert_eq(st.batches, 200);
        cr_assert_eq(T.attempts[77], 4);
        cr_assert_leq(sl_pipeline_peak_batches(p), sl_pipeline_batch_bound(p));
        sl_pipeline_destroy(&p);
    }
}

Test(policy, out_of_retries_aborts_naming_stage_and_batch)
{
    reset(50, 1);
    T.fail_first[9] = 5;
    sl_stage_policy q = pol_retries(2, SL_ON_ERROR_ABORT);
    sl_pipeline *p;
    sl_error err;
    cr_assert_eq(run(2, NULL, &q, false, &p, &err), SL_EKERNEL);
    cr_assert(strstr(err.msg, "stage 'flaky', batch 9") && strstr(err.msg, "attempt 3"),
              "got: %s", err.msg);
    cr_assert_eq(T.attempts[9], 3);
    sl_pipeline_destroy(&p);
}

Test(policy, skip_drops_the_batch_and_the_run_succeeds)
{
    for (int threads = 1; threads <= 2; threads++) {
        reset(100, 2);
        T.fail_first[3] = UINT32_MAX;
        T.fail_first[50] = UINT32_MAX;
        sl_stage_policy q = pol_retries(1, SL_ON_ERROR_SKIP);
        sl_pipeline *p;
        sl_error err;
        cr_assert_eq(run(threads, NULL, &q, false, &p, &err), SL_OK, "%s", err.msg);
        unsigned char skip[MAXB] = {0};
        skip[3] = skip[50] = 1;
        cr_assert_eq(T.sink_count, 98);
        cr_assert_eq(T.sink_sum, expected_sum(skip));
        cr_assert_eq(T.seen[3] + T.seen[50], 0);
        cr_assert_eq(sl_pipeline_dropped(p), 2);
        cr_assert_eq(sl_ctx_deadletter_count(sl_pipeline_ctx(p)), 0, "skip lists nothing");
        cr_assert_eq(T.attempts[3], 2);
        sl_pipeline_destroy(&p);
    }
}

Test(policy, dead_letters_are_listed_in_seq_order_and_ordered_stages_move_past_them)
{
    static const unsigned bad[] = {0, 7, 8, 63, 127, 255};
    for (int threads = 1; threads <= 4; threads *= 2) {
        reset(256, 1);
        unsigned char skip[MAXB] = {0};
        for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
            T.fail_first[bad[k]] = UINT32_MAX;
            skip[bad[k]] = 1;
        }
        sl_stage_policy q = pol_retries(2, SL_ON_ERROR_DEADLETTER);
        sl_pipeline *p;
        sl_error err;
        cr_assert_eq(run(threads, NULL, &q, true, &p, &err), SL_OK, "%s", err.msg);
        cr_assert_eq(T.sink_count, 250);
        cr_assert_eq(T.sink_sum, expected_sum(skip));
        cr_assert_eq(T.order_errors, 0);
        const sl_ctx *c = sl_pipeline_ctx(p);
        cr_assert_eq(sl_ctx_deadletter_count(c), 6);
        for (size_t k = 0; k < 6; k++) {
            uint64_t seq;
            const char *stage, *error;
            unsigned attempts;
            sl_ctx_deadletter_get(c, k, &seq, &stage, &attempts, &error);
            cr_assert_eq(seq, bad[k], "dead letter %zu is batch %llu", k,
                         (unsigned long long)seq);
            cr_assert_str_eq(stage, "flaky");
            cr_assert_eq(attempts, 3);
            cr_assert(strstr(error, "flaky: attempt 3 of batch"), "got: %s", error);
        }
        cr_assert_leq(sl_pipeline_peak_batches(p), sl_pipeline_batch_bound(p));
        sl_pipeline_destroy(&p);
    }
}

Test(policy, the_source_is_retried_from_its_seq)
{
    reset(40, 2);
    T.src_fail_first[0] = 1;
    T.src_fail_first[39] = 2;
    T.src_fail_first[20] = UINT32_MAX;
    sl_stage_policy sq = pol_retries(2, SL_ON_ERROR_DEADLETTER);
    sl_pipeline *p;
    sl_error err;
    cr_assert_eq(run(2, &sq, NULL, true, &p, &err), SL_OK, "%s", err.msg);
    unsigned char skip[MAXB] = {0};
    skip[20] = 1;
    cr_assert_eq(T.sink_count, 39);
    cr_assert_eq(T.sink_sum, expected_sum(skip));
    cr_assert_eq(sl_ctx_deadletter_count(sl_pipeline_ctx(p)), 1);
    sl_stage_stats st;
    sl_pipeline_stage_stats(p, 0, &st);
    cr_assert_eq(st.retries, 1 + 2 + 2);
    sl_pipeline_destroy(&p);
}

Test(policy, a_cooperative_stage_stops_at_its_deadline)
{
    reset(20, 1);
    T.sleep_seq = 4;
    T.sleep_s = 30;
    T.sleep_polls = true;
    sl_stage_policy q = pol_retries(0, SL_ON_ERROR_DEADLETTER);
    /* 1 s, not less: every batch runs under it, and on a loaded machine a
     * fast one can be descheduled for a good fraction of a second. */
    q.timeout_s = 1.0;
    sl_pipeline *p;
    sl_error err;
    double t0 = now_s();
    cr_assert_eq(run(2, NULL, &q, false, &p, &err), SL_OK, "%s", err.msg);
    double dt = now_s() - t0;
    cr_assert(dt >= 1.0 && dt < 20, "the run took %.2f s", dt);
    sl_stage_stats st;
    sl_pipeline_stage_stats(p, 1, &st);
    cr_assert_eq(st.timeouts, 1);
    cr_assert_eq(st.dropped, 1);
    cr_assert_eq(T.sink_count, 19);
    const char *error;
    uint64_t seq;
    sl_ctx_deadletter_get(sl_pipeline_ctx(p), 0, &seq, NULL, NULL, &error);
    cr_assert_eq(seq, 4);
    cr_assert(strstr(error, "timed out after") && strstr(error, "timeout 1 s"), "got: %s", error);
    sl_pipeline_destroy(&p);
}

Test(policy, an_attempt_past_its_deadline_fails_even_if_it_returned_ok)
{
    reset(10, 1);
    T.sleep_seq = 2;
    T.sleep_s = 1.5;
    T.sleep_polls = false; /* does not look: it returns late, and fine */
    sl_stage_policy q = pol_retries(0, SL_ON_ERROR_ABORT);
    q.timeout_s = 0.5;
    sl_pipeline *p;
    sl_error err;
    cr_assert_eq(run(1, NULL, &q, false, &p, &err), SL_ETIMEDOUT);
    cr_assert(strstr(err.msg, "stage 'flaky', batch 2") && strstr(err.msg, "timed out"),
              "got: %s", err.msg);
    sl_pipeline_destroy(&p);
}

Test(policy, backoff_waits_between_attempts)
{
    reset(4, 1);
    T.fail_first[1] = 2;
    sl_stage_policy q = pol_retries(2, SL_ON_ERROR_ABORT);
    q.backoff_s = 0.1;
    q.backoff_factor = 2;
    /* Equal jitter: the waits are in [0.05, 0.1) and [0.1, 0.2). */
    sl_pipeline *p;
    sl_error err;
    double t0 = now_s();
    cr_assert_eq(run(2, NULL, &q, false, &p, &err), SL_OK, "%s", err.msg);
    double dt = now_s() - t0;
    cr_assert(dt >= 0.15, "two retries after %.3f s", dt);
    cr_assert_eq(T.sink_count, 4);
    sl_pipeline_destroy(&p);
}

Test(policy, the_backoff_cap_holds)
{
    reset(2, 1);
    T.fail_first[0] = 3;
    sl_stage_policy q = pol_retries(3, SL_ON_ERROR_ABORT);
    q.backoff_s = 0.05;
    q.backoff_factor = 100; /* 0.05, 5, 500 s without the cap */
    q.backoff_cap_s = 0.1;
    sl_pipeline *p;
    sl_error err;
    double t0 = now_s();
    cr_assert_eq(run(1, NULL, &q, false, &p, &err), SL_OK, "%s", err.msg);
    double dt = now_s() - t0;
    cr_assert(dt >= 0.025 + 0.05 + 0.05 && dt < 4, "three capped retries took %.3f s", dt);
    sl_pipeline_destroy(&p);
}

Test(policy, a_rate_limit_spaces_the_batches)
{
    reset(11, 1);
    sl_stage_policy q = SL_STAGE_POLICY_DEFAULT;
    q.rate = 50; /* 11 batches: at least 10 gaps of 20 ms */
    sl_pipeline *p;
    sl_error err;
    double t0 = now_s();
    cr_assert_eq(run(2, NULL, &q, true, &p, &err), SL_OK, "%s", err.msg);
    double dt = now_s() - t0;
    cr_assert(dt >= 0.2, "11 batches at 50/s took %.3f s", dt);
    cr_assert_eq(T.sink_count, 11);
    sl_pipeline_destroy(&p);
}

static void *stop_later(void *arg)
{
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    sl_pipeline_request_stop(arg);
    return NULL;
}

#include <pthread.h>

Test(policy, a_stop_during_a_backoff_ends_the_run)
{
    reset(10, 1);
    T.fail_first[3] = 1;
    sl_stage_policy q = pol_retries(1, SL_ON_ERROR_ABORT);
    q.backoff_s = 60;
    q.backoff_cap_s = 60;
    sl_pipeline_opts o = {.threads = 2};
    sl_pipeline *p;
    sl_error err;
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
    add(p, &src_desc, "src", 0, NULL);
    add(p, &flaky_desc, "flaky", 0, &q);
    add(p, &sink_desc, "sink", 0, NULL);
    pthread_t th;
    pthread_create(&th, NULL, stop_later, p);
    double t0 = now_s();
    cr_assert_eq(sl_pipeline_run(p, &err), SL_ECANCELED, "%s", err.msg);
    pthread_join(th, NULL);
    cr_assert(now_s() - t0 < 10, "the stop waited for the 30-60 s backoff");
    sl_pipeline_destroy(&p);
}

Test(policy, bad_values_from_the_c_api_are_refused)
{
    sl_pipeline_opts o = {.threads = 1};
    sl_pipeline *p;
    sl_error err;
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
    add(p, &src_desc, "src", 0, NULL);
    sl_stage_policy q = SL_STAGE_POLICY_DEFAULT;
    q.backoff_factor = 0.5;
    sl_stage_opts so = {0, 0, 0, &q};
    cr_assert_eq(sl_pipeline_add(p, &flaky_desc, "f", no_params("f"), &so, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "stage 'f'") && strstr(err.msg, "factor 0.5"), "got: %s", err.msg);
    sl_pipeline_destroy(&p);
}

Test(policy, warn_slow_counts_the_slow_attempts)
{
    reset(6, 1);
    T.sleep_seq = 3;
    T.sleep_s = 0.25;
    sl_stage_policy q = SL_STAGE_POLICY_DEFAULT;
    q.warn_slow_s = 0.1;
    sl_pipeline *p;
    sl_error err;
    cr_assert_eq(run(2, NULL, &q, false, &p, &err), SL_OK, "%s", err.msg);
    sl_stage_stats st;
    sl_pipeline_stage_stats(p, 1, &st);
    cr_assert_geq(st.slow, 1, "the 0.25 s batch was not counted slow");
    sl_pipeline_stage_stats(p, 0, &st);
    cr_assert_eq(st.slow, 0, "a stage without warn_slow counts nothing");
    sl_pipeline_destroy(&p);
}
