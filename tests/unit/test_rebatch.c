/* tests/unit/test_rebatch.c - the rebatch stage, run by the executor with
 * in-process stages around it: every row arrives exactly once with its
 * values (fixed-size and variable-length columns), batches have `rows` rows
 * except where a run of contiguous rows ends, splitting and joining both
 * work for 1, 2 and 4 threads, a dropped batch only breaks a run, and an
 * ordered stage after a rebatch is refused. Also sl_batch_append_rows and
 * sl_batch_drop_front directly. */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/sluice.h>

#define MAXROWS 20000

static struct {
    uint64_t batches;
    unsigned rows_mod; /* batch seq has 1 + seq % rows_mod rows */
    uint64_t fail_seq; /* the flaky stage gives this batch up; UINT64_MAX: none */
    atomic_uint seen[MAXROWS];
    atomic_uint_fast64_t out_batches, short_batches, bad_values, bad_size;
    uint64_t want_rows; /* rows per batch after the rebatch */
} T;

static uint64_t rows_of(uint64_t seq) { return 1 + seq % T.rows_mod; }

/* First row of batch seq: the sum of rows_of(k) for k < seq. */
static uint64_t row0_of(uint64_t seq)
{
    uint64_t m = T.rows_mod, full = seq / m, part = seq % m;
    return full * (m * (m + 1) / 2) + part * (part + 1) / 2;
}

static uint64_t total_rows(void) { return row0_of(T.batches); }

static sl_status st_create(void **state, const sl_params *p, sl_ctx *c, sl_error *err)
{
    *state = NULL;
    return SL_OK;
}

static sl_status src_plan(void *s, sl_source_plan *plan, sl_error *err)
{
    plan->batches = T.batches;
    plan->rows = total_rows();
    return SL_OK;
}

static sl_status src_produce(void *s, uint64_t seq, sl_batch *out, sl_ctx *c, sl_error *err)
{
    uint64_t r0 = row0_of(seq), n = rows_of(seq);
    sl_batch_set_rows(out, r0, n);
    void *d;
    SL_TRY(sl_batch_add(out, "v", SL_TYPE_U64, 0, NULL, &d, err));
    int bc;
    SL_TRY(sl_batch_add_bytes(out, "s", &bc, err));
    for (uint64_t r = 0; r < n; r++) {
        ((uint64_t *)d)[r] = r0 + r;
        char txt[32];
        int len = snprintf(txt, sizeof txt, "row-%llu", (unsigned long long)(r0 + r));
        SL_TRY(sl_batch_append_bytes(out, bc, txt, (size_t)len, err));
    }
    return SL_OK;
}

static sl_status flaky_process(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    SL_CHECK(sl_batch_seq(b) != T.fail_seq, SL_EKERNEL, "flaky gives up batch %llu",
             (unsigned long long)sl_batch_seq(b));
    return SL_OK;
}

static sl_status pass_process(void *s, sl_batch *b, sl_ctx *c, sl_error *err) { return SL_OK; }

static sl_status check_process(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    const void *d;
    SL_TRY(sl_batch_get(b, "v", SL_TYPE_U64, &d, err));
    const sl_column *sc = sl_batch_col(b, sl_batch_find(b, "s"));
    size_t n = sl_batch_nrows(b);
    if (n > T.want_rows || n == 0)
        atomic_fetch_add(&T.bad_size, 1);
    if (n < T.want_rows)
        atomic_fetch_add(&T.short_batches, 1);
    if (sl_batch_seq(b) != sl_batch_row0(b))
        atomic_fetch_add(&T.bad_values, 1); /* numbered by the first row */
    for (size_t r = 0; r < n; r++) {
        uint64_t row = sl_batch_row0(b) + r, v = ((const uint64_t *)d)[r];
        char want[32];
        int len = snprintf(want, sizeof want, "row-%llu", (unsigned long long)row);
        uint64_t lo = sc->offsets[r], hi = sc->offsets[r + 1];
        if (v != row || hi - lo != (uint64_t)len ||
            memcmp((const char *)sc->data + lo, want, (size_t)len) != 0)
            atomic_fetch_add(&T.bad_values, 1);
        if (row < MAXROWS)
            atomic_fetch_add(&T.seen[row], 1);
    }
    atomic_fetch_add(&T.out_batches, 1);
    return SL_OK;
}

#define DESC(var, nm, knd, md, ...)                                                      \
    static const sl_stage_desc var = {.abi = SL_STAGE_ABI, .size = sizeof(sl_stage_desc), \
                                      .name = nm, .summary = "test", .version = "0",      \
                                      .kind = knd, .mode = md, .create = st_create,       \
                                      __VA_ARGS__}
DESC(src_desc, "src", SL_KIND_SOURCE, SL_MODE_PARALLEL, .plan = src_plan, .produce = src_produce);
DESC(flaky_desc, "flaky", SL_KIND_TRANSFORM, SL_MODE_PARALLEL, .process = flaky_process);
DESC(pass_desc, "pass", SL_KIND_TRANSFORM, SL_MODE_PARALLEL, .process = pass_process);
DESC(check_desc, "check", SL_KIND_SINK, SL_MODE_SERIAL, .process = check_process);

static sl_status no_process(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    return SL_FAIL(SL_EINVAL, "the executor must not call a rebatch's process()");
}
static const sl_param_spec rebatch_params[] = {
    SL_PARAM_UINT("rows", 1024, 1, (uint64_t)1 << 32, "rows"),
    SL_PARAM_END,
};
static const sl_stage_desc rebatch_desc = {
    .abi = SL_STAGE_ABI, .size = sizeof(sl_stage_desc), .name = "rebatch", .summary = "test",
    .version = "0", .kind = SL_KIND_TRANSFORM, .mode = SL_MODE_ORDERED,
    .flags = SL_STAGE_SINGLE_INSTANCE | SL_STAGE_REBATCH, .params = rebatch_params,
    .create = st_create, .process = no_process};

static sl_params *params(const sl_stage_desc *d, const char *owner, const char *rows)
{
    sl_params *p = NULL;
    sl_error err;
    cr_assert_eq(sl_params_create(&p, d->params, owner, &err), SL_OK, "%s", err.msg);
    if (rows)
        cr_assert_eq(sl_params_set(p, "rows", rows, "test", &err), SL_OK, "%s", err.msg);
    return p;
}

static sl_status add(sl_pipeline *p, const sl_stage_desc *d, const char *name, const char *rows,
                     const sl_stage_policy *pol, int mode, sl_error *err)
{
    sl_stage_opts so = {0, 0, mode, pol};
    return sl_pipeline_add(p, d, name, params(d, name, rows), &so, err);
}

static void reset(uint64_t batches, unsigned rows_mod, uint64_t want_rows)
{
    memset(&T, 0, sizeof T);
    T.batches = batches;
    T.rows_mod = rows_mod;
    T.want_rows = want_rows;
    T.fail_seq = UINT64_MAX;
}

/* src -> flaky -> rebatch(rows) -> pass (parallel) -> check; returns the run. */
static sl_pipeline *run(int threads, const char *rows, const sl_stage_policy *flaky_pol)
{
    sl_pipeline_opts o = {.threads = threads};
    sl_pipeline *p;
    sl_error err;
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(add(p, &src_desc, "src", NULL, NULL, 0, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(add(p, &flaky_desc, "flaky", NULL, flaky_pol, 0, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(add(p, &rebatch_desc, "rb", rows, NULL, 0, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(add(p, &pass_desc, "pass", NULL, NULL, 0, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(add(p, &check_desc, "check", NULL, NULL, 0, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_pipeline_run(p, &err), SL_OK, "%s", err.msg);
    return p;
}

static void expect_every_row_once(uint64_t skip_lo, uint64_t skip_hi)
{
    uint64_t n = total_rows();
    cr_assert_leq(n, MAXROWS);
    for (uint64_t r = 0; r < n; r++) {
        unsigned want = r >= skip_lo && r < skip_hi ? 0 : 1;
        cr_assert_eq(atomic_load(&T.seen[r]), want, "row %llu seen %u times",
                     (unsigned long long)r, atomic_load(&T.seen[r]));
    }
    cr_assert_eq(T.bad_values, 0);
    cr_assert_eq(T.bad_size, 0);
}

Test(rebatch, joins_small_batches_into_full_ones)
{
    for (int threads = 1; threads <= 4; threads *= 2) {
        reset(1000, 5, 64); /* batches of 1..5 rows, 3000 rows in all */
        sl_pipeline *p = run(threads, "64", NULL);
        expect_every_row_once(1, 0);
        /* One contiguous run: all batches full but the last. */
        cr_assert_eq(T.out_batches, (3000 + 63) / 64, "%d threads: %llu batches", threads,
                     (unsigned long long)T.out_batches);
        cr_assert_eq(T.short_batches, 1);
        sl_stage_stats st;
        sl_pipeline_stage_stats(p, 2, &st);
        cr_assert_eq(st.batches, T.out_batches);
        cr_assert_eq(st.rows, 3000);
        cr_assert_leq(sl_pipeline_peak_batches(p), sl_pipeline_batch_bound(p));
        sl_pipeline_destroy(&p);
    }
}

Test(rebatch, splits_big_batches)
{
    for (int threads = 1; threads <= 4; threads *= 2) {
        reset(40, 50, 7); /* batches of 1..40 rows, 820 rows */
        sl_pipeline *p = run(threads, "7", NULL);
        expect_every_row_once(1, 0);
        cr_assert_eq(T.out_batches, (820 + 6) / 7);
        cr_assert_eq(T.short_batches, 1);
        sl_pipeline_destroy(&p);
    }
}

Test(rebatch, one_row_per_batch)
{
    reset(30, 4, 1);
    sl_pipeline *p = run(2, "1", NULL);
    expect_every_row_once(1, 0);
    cr_assert_eq(T.out_batches, total_rows());
    cr_assert_eq(T.short_batches, 0);
    sl_pipeline_destroy(&p);
}

Test(rebatch, a_dropped_batch_ends_a_run_and_nothing_else)
{
    for (int threads = 1; threads <= 4; threads *= 2) {
        reset(200, 3, 10); /* 1..3 rows, 399 rows */
        T.fail_seq = 57;   /* rows row0_of(57) .. + rows_of(57) go missing */
        sl_stage_policy q = SL_STAGE_POLICY_DEFAULT;
        q.on_error = SL_ON_ERROR_SKIP;
        sl_pipeline *p = run(threads, "10", &q);
        expect_every_row_once(row0_of(57), row0_of(58));
        /* Two runs of rows, each ending in a short batch (unless it happens
         * to end on a multiple: it does not here). */
        cr_assert_eq(T.short_batches, 2, "%d threads: %llu short batches", threads,
                     (unsigned long long)T.short_batches);
        cr_assert_eq(sl_pipeline_dropped(p), 1);
        sl_pipeline_destroy(&p);
    }
}

Test(rebatch, an_ordered_stage_after_it_is_refused)
{
    reset(10, 3, 8);
    sl_pipeline_opts o = {.threads = 2};
    sl_pipeline *p;
    sl_error err;
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(add(p, &src_desc, "src", NULL, NULL, 0, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(add(p, &rebatch_desc, "rb", "8", NULL, 0, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(add(p, &pass_desc, "late", NULL, NULL, SL_MODE_ORDERED, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "stage 'late' is ordered but comes after the rebatch stage 'rb'"),
              "got: %s", err.msg);
    cr_assert_eq(add(p, &rebatch_desc, "rb2", "8", NULL, 0, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "has a rebatch stage already"), "got: %s", err.msg);
    sl_pipeline_destroy(&p);
}

Test(rebatch, append_rows_and_drop_front)
{
    sl_error err;
    sl_batch *a, *b;
    cr_assert_eq(sl_batch_create(&a, &err), SL_OK);
    cr_assert_eq(sl_batch_create(&b, &err), SL_OK);
    T.rows_mod = 100;
    cr_assert_eq(src_produce(NULL, 9, a, NULL, &err), SL_OK, "%s", err.msg); /* rows 45..54 */
    cr_assert_eq(sl_batch_append_rows(b, a, 3, 4, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_batch_row0(b), 48);
    cr_assert_eq(sl_batch_nrows(b), 4);
    /* Rows that do not follow are refused and change nothing. */
    cr_assert_eq(sl_batch_append_rows(b, a, 0, 1, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "do not follow"), "got: %s", err.msg);
    cr_assert_eq(sl_batch_append_rows(b, a, 7, 3, &err), SL_OK, "%s", err.msg);
    sl_batch_drop_front(b, 2);
    cr_assert_eq(sl_batch_row0(b), 50);
    cr_assert_eq(sl_batch_nrows(b), 5);
    const void *d;
    cr_assert_eq(sl_batch_get(b, "v", SL_TYPE_U64, &d, &err), SL_OK);
    const sl_column *s = sl_batch_col(b, 1);
    for (size_t r = 0; r < 5; r++) {
        cr_assert_eq(((const uint64_t *)d)[r], 50 + r);
        char want[16];
        int len = snprintf(want, sizeof want, "row-%zu", 50 + r);
        cr_assert_eq(s->offsets[r + 1] - s->offsets[r], (uint64_t)len);
        cr_assert_eq(memcmp((const char *)s->data + s->offsets[r], want, (size_t)len), 0);
    }
    cr_assert_eq(sl_batch_append_rows(b, a, 8, 5, &err), SL_ERANGE);
    sl_batch_destroy(&a);
    sl_batch_destroy(&b);
}

/* Review findings, kept as regressions. */
#include <sys/resource.h>
#include <time.h>

static atomic_uint sink_attempts;
static sl_status sink_fails_once(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    SL_CHECK(atomic_fetch_add(&sink_attempts, 1) != 0, SL_EKERNEL, "first attempt fails");
    return check_process(s, b, c, err);
}
DESC(sink1_desc, "sink1", SL_KIND_SINK, SL_MODE_SERIAL, .process = sink_fails_once);

static double cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + 1e-6 * (double)r.ru_utime.tv_usec +
           (double)r.ru_stime.tv_sec + 1e-6 * (double)r.ru_stime.tv_usec;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One batch of 10 rows, with the columns check_process reads. */
static sl_status plan10(void *s, sl_source_plan *plan, sl_error *err)
{
    plan->batches = 1;
    plan->rows = 10;
    return SL_OK;
}
static sl_status produce10(void *s, uint64_t seq, sl_batch *out, sl_ctx *c, sl_error *err)
{
    void *d;
    sl_batch_set_rows(out, 0, 10);
    SL_TRY(sl_batch_add(out, "v", SL_TYPE_U64, 0, NULL, &d, err));
    int bc;
    SL_TRY(sl_batch_add_bytes(out, "s", &bc, err));
    for (uint64_t r = 0; r < 10; r++) {
        ((uint64_t *)d)[r] = r;
        char txt[32];
        int len = snprintf(txt, sizeof txt, "row-%llu", (unsigned long long)r);
        SL_TRY(sl_batch_append_bytes(out, bc, txt, (size_t)len, err));
    }
    return SL_OK;
}
DESC(src10_desc, "src10", SL_KIND_SOURCE, SL_MODE_PARALLEL, .plan = plan10, .produce = produce10);

/* Rows left in the rebatch while the sink's only job waits out a 1 s
 * backoff: the run loop must sleep, not spin (it used to, at 100% CPU). */
Test(rebatch, waiting_for_a_backoff_with_rows_left_does_not_spin)
{
    reset(1, 10, 2); /* src10: 10 rows, five batches of 2 after the rebatch */
    atomic_store(&sink_attempts, 0);
    sl_pipeline_opts o = {.threads = 2};
    sl_pipeline *p;
    sl_error err;
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
    sl_stage_policy q = SL_STAGE_POLICY_DEFAULT;
    q.retries = 1;
    q.backoff_s = q.backoff_cap_s = 1.0;
    cr_assert_eq(add(p, &src10_desc, "src", NULL, NULL, 0, &err), SL_OK, "%s", err.msg);
    sl_stage_opts so = {0, 1, 0, NULL};
    cr_assert_eq(sl_pipeline_add(p, &rebatch_desc, "rb", params(&rebatch_desc, "rb", "2"), &so,
                                 &err),
                 SL_OK, "%s", err.msg);
    sl_stage_opts sk = {0, 1, 0, &q};
    cr_assert_eq(sl_pipeline_add(p, &sink1_desc, "sink", params(&sink1_desc, "sink", NULL), &sk,
                                 &err),
                 SL_OK, "%s", err.msg);
    double c0 = cpu_s(), t0 = wall_s();
    cr_assert_eq(sl_pipeline_run(p, &err), SL_OK, "%s", err.msg);
    double cpu = cpu_s() - c0, wall = wall_s() - t0;
    cr_assert_geq(wall, 0.5, "the backoff (equal jitter: 0.5 .. 1 s) was not waited");
    cr_assert_lt(cpu, 0.4 * wall, "%.2f s of CPU in %.2f s: the run loop spins", cpu, wall);
    cr_assert_eq(T.out_batches, 5);
    sl_pipeline_destroy(&p);
}

/* Zero-row batches' result contributions are not lost in a rebatch. */
static sl_status count_one(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    return sl_batch_result_add_u64(b, "batches", 1, err);
}
DESC(count_desc, "count", SL_KIND_TRANSFORM, SL_MODE_PARALLEL, .process = count_one);
static sl_status zero_produce(void *s, uint64_t seq, sl_batch *out, sl_ctx *c, sl_error *err)
{
    /* Odd batches have 2 rows, even ones none. */
    sl_batch_set_rows(out, seq / 2 * 2, seq % 2 ? 2 : 0);
    void *d;
    return sl_batch_add(out, "v", SL_TYPE_U64, 0, NULL, &d, err);
}
static sl_status zero_plan(void *s, sl_source_plan *plan, sl_error *err)
{
    plan->batches = 20;
    plan->rows = 20;
    return SL_OK;
}
DESC(zsrc_desc, "zsrc", SL_KIND_SOURCE, SL_MODE_PARALLEL, .plan = zero_plan,
     .produce = zero_produce);

Test(rebatch, contributions_of_empty_batches_are_kept)
{
    for (int threads = 1; threads <= 2; threads++) {
        sl_pipeline_opts o = {.threads = threads};
        sl_pipeline *p;
        sl_error err;
        cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
        cr_assert_eq(add(p, &zsrc_desc, "src", NULL, NULL, 0, &err), SL_OK, "%s", err.msg);
        cr_assert_eq(add(p, &count_desc, "count", NULL, NULL, 0, &err), SL_OK, "%s", err.msg);
        cr_assert_eq(add(p, &rebatch_desc, "rb", "3", NULL, 0, &err), SL_OK, "%s", err.msg);
        cr_assert_eq(add(p, &pass_desc, "sink", NULL, NULL, 0, &err), SL_OK, "%s", err.msg);
        cr_assert_eq(sl_pipeline_run(p, &err), SL_OK, "%s", err.msg);
        const sl_ctx *c = sl_pipeline_ctx(p);
        uint64_t n = 0;
        for (size_t i = 0; i < sl_ctx_result_count(c); i++) {
            const char *key;
            uint64_t v;
            sl_ctx_result_get(c, i, &key, NULL, &v, NULL);
            if (strcmp(key, "batches") == 0)
                n = v;
        }
        cr_assert_eq(n, 20, "%d threads: %llu of 20 batches counted", threads,
                     (unsigned long long)n);
        sl_pipeline_destroy(&p);
    }
}

Test(rebatch, a_failure_policy_on_it_is_refused)
{
    reset(10, 3, 8);
    sl_pipeline_opts o = {.threads = 1};
    sl_pipeline *p;
    sl_error err;
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(add(p, &src_desc, "src", NULL, NULL, 0, &err), SL_OK, "%s", err.msg);
    sl_stage_policy q = SL_STAGE_POLICY_DEFAULT;
    q.on_error = SL_ON_ERROR_SKIP;
    cr_assert_eq(add(p, &rebatch_desc, "rb", "8", &q, 0, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "do not apply to a rebatch stage"), "got: %s", err.msg);
    sl_pipeline_destroy(&p);
}
