/* tests/unit/test_stats.c - the run's figures (sluice/stats.h) with
 * in-process stages: counts and rows are exact, a slow stage is named the
 * bottleneck with its input queue full, latency percentiles of known sleeps
 * land in the right range, failed attempts and retries are counted, the
 * stats JSON parses and has every field docs/stats.md lists, the trace is
 * valid JSON with exactly one span per batch per stage, and SLUICE_METRICS=0
 * turns it all off. No assertion depends on exact timings. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sluice/sluice.h>

static struct {
    uint64_t batches, rows;
    long sleep_us;     /* the slow stage sleeps this long per batch */
    uint64_t fail_seq; /* the flaky stage fails its first attempt at this seq */
    atomic_int failed_once;
} T;

static void reset(uint64_t batches, uint64_t rows)
{
    memset(&T, 0, sizeof T);
    T.batches = batches;
    T.rows = rows;
    T.fail_seq = UINT64_MAX;
}

static sl_status st_create(void **state, const sl_params *p, sl_ctx *c, sl_error *err)
{
    static char dummy;
    *state = &dummy;
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
    sl_batch_set_rows(out, seq * T.rows, T.rows);
    return SL_OK;
}

static sl_status pass(void *s, sl_batch *b, sl_ctx *c, sl_error *err) { return SL_OK; }

static sl_status slow(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    struct timespec ts = {T.sleep_us / 1000000, 1000 * (T.sleep_us % 1000000)};
    nanosleep(&ts, NULL);
    return SL_OK;
}

static sl_status flaky(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    SL_CHECK(sl_batch_seq(b) != T.fail_seq || atomic_exchange(&T.failed_once, 1), SL_EKERNEL,
             "injected failure");
    return SL_OK;
}

#define DESC(var, nm, knd, ...)                                                          \
    static const sl_stage_desc var = {.abi = SL_STAGE_ABI, .size = sizeof(sl_stage_desc), \
                                      .name = nm, .summary = "test", .version = "0",      \
                                      .kind = knd, .mode = SL_MODE_PARALLEL,              \
                                      .create = st_create, __VA_ARGS__}
DESC(src_desc, "src", SL_KIND_SOURCE, .plan = src_plan, .produce = src_produce);
DESC(pass_desc, "pass", SL_KIND_TRANSFORM, .process = pass);
DESC(slow_desc, "slow", SL_KIND_TRANSFORM, .process = slow);
DESC(flaky_desc, "flaky", SL_KIND_TRANSFORM, .process = flaky);
DESC(sink_desc, "sink", SL_KIND_SINK, .process = pass);

static sl_pipeline *make(int threads)
{
    sl_error err;
    sl_pipeline_opts o = {.threads = threads};
    sl_pipeline *p = NULL;
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
    return p;
}

static void add(sl_pipeline *p, const sl_stage_desc *d, const char *name, int conc,
                const sl_stage_policy *pol)
{
    sl_error err;
    sl_params *params = NULL;
    cr_assert_eq(sl_params_create(&params, NULL, name, &err), SL_OK, "%s", err.msg);
    sl_stage_opts so = {conc, 0, 0, pol};
    cr_assert_eq(sl_pipeline_add(p, d, name, params, &so, &err), SL_OK, "%s", err.msg);
}

static void run(sl_pipeline *p)
{
    sl_error err;
    cr_assert_eq(sl_pipeline_run(p, &err), SL_OK, "%s", err.msg);
}

static sl_stage_metrics stage(const sl_pipeline *p, size_t i)
{
    sl_stage_metrics m;
    cr_assert(sl_pipeline_stage_metrics(p, i, SL_STATS_JOB, &m), "no figures for stage %zu", i);
    return m;
}

Test(stats, counts_and_rows_in_and_out_are_exact)
{
    reset(300, 7);
    sl_pipeline *p = make(2);
    add(p, &src_desc, "src", 0, NULL);
    add(p, &pass_desc, "pass", 0, NULL);
    add(p, &sink_desc, "sink", 0, NULL);
    run(p);
    cr_assert_eq(sl_pipeline_stats_ranks(p), 1);
    for (size_t i = 0; i < 3; i++) {
        sl_stage_metrics m = stage(p, i), r;
        cr_assert_eq(m.batches_in, 300, "%s in %llu", m.name, (unsigned long long)m.batches_in);
        cr_assert_eq(m.batches_out, 300);
        cr_assert_eq(m.attempts, 300);
        cr_assert_eq(m.failed, 0);
        cr_assert_eq(m.rows_in, i == 0 ? 0 : 300 * 7, "%s rows in", m.name);
        cr_assert_eq(m.rows_out, 300 * 7);
        cr_assert_eq(m.ranks, 1);
        cr_assert(m.p50_ms <= m.p90_ms && m.p90_ms <= m.p99_ms && m.p99_ms <= m.max_ms);
        cr_assert(sl_pipeline_stage_metrics(p, i, 0, &r));
        cr_assert_eq(r.batches_out, m.batches_out);
        cr_assert_eq(r.rows_in, m.rows_in);
        cr_assert_not(sl_pipeline_stage_metrics(p, i, 1, &r), "only one rank");
    }
    cr_assert_str_eq(stage(p, 1).plugin, "pass");
    cr_assert_not(sl_pipeline_stage_metrics(p, 3, SL_STATS_JOB, &(sl_stage_metrics){0}));
    sl_pipeline_destroy(&p);
}

Test(stats, slow_stage_is_the_bottleneck_with_its_queue_full)
{
    reset(150, 1);
    T.sleep_us = 2000;
    sl_pipeline *p = make(2);
    add(p, &src_desc, "src", 0, NULL);
    add(p, &slow_desc, "slow", 1, NULL);
    add(p, &sink_desc, "sink", 0, NULL);
    run(p);
    sl_bottleneck b;
    cr_assert_eq(sl_pipeline_bottleneck(p, &b), 1, "bottleneck %d: %s", b.stage, b.reason);
    sl_stage_metrics m = stage(p, 1);
    cr_assert_gt(m.samples, 5);
    /* Sampled fractions: a loaded machine (CI under ASan, other tenants)
     * deschedules the source now and then, so "most of the time" is asked
     * as "a good part of it" (CI saw 0.46 once); a stage that is not the
     * bottleneck shows about 0. */
    cr_assert_gt(m.queue_full_frac, 0.2, "queue full %.2f", m.queue_full_frac);
    cr_assert_gt(m.utilisation, 0.3, "utilisation %.2f", m.utilisation);
    cr_assert(strstr(b.reason, "slow is busy"), "%s", b.reason);
    cr_assert(strstr(b.reason, "input queue is full"), "%s", b.reason);
    cr_assert(strstr(b.suggestion, "raise slow.concurrency"), "%s", b.suggestion);
    /* The source waits for room in slow's queue, the sink for input. */
    cr_assert_gt(stage(p, 0).blocked_frac, 0.2, "src blocked %.2f", stage(p, 0).blocked_frac);
    cr_assert_gt(stage(p, 2).starved_frac, 0.2, "sink starved %.2f", stage(p, 2).starved_frac);
    sl_pipeline_destroy(&p);
}

Test(stats, latency_percentiles_of_a_known_sleep)
{
    reset(40, 1);
    T.sleep_us = 5000;
    sl_pipeline *p = make(2);
    add(p, &src_desc, "src", 0, NULL);
    add(p, &slow_desc, "slow", 2, NULL);
    add(p, &sink_desc, "sink", 0, NULL);
    run(p);
    sl_stage_metrics m = stage(p, 1);
    cr_assert(m.p50_ms >= 4 && m.p50_ms <= 50, "p50 %.3f ms", m.p50_ms);
    cr_assert(m.p90_ms >= m.p50_ms && m.p99_ms >= m.p90_ms && m.max_ms >= m.p99_ms);
    cr_assert(m.max_ms >= 5, "max %.3f ms", m.max_ms);
    cr_assert(m.busy_s >= 40 * 0.005, "busy %.3f s", m.busy_s);
    sl_pipeline_destroy(&p);
}

Test(stats, failed_attempts_and_retries_are_counted)
{
    reset(50, 2);
    T.fail_seq = 17;
    sl_stage_policy pol = SL_STAGE_POLICY_DEFAULT;
    pol.retries = 2;
    pol.backoff_s = 0.001;
    sl_pipeline *p = make(2);
    add(p, &src_desc, "src", 0, NULL);
    add(p, &flaky_desc, "flaky", 0, &pol);
    add(p, &sink_desc, "sink", 0, NULL);
    run(p);
    sl_stage_metrics m = stage(p, 1);
    cr_assert_eq(m.attempts, 51);
    cr_assert_eq(m.failed, 1);
    cr_assert_eq(m.retries, 1);
    cr_assert_eq(m.batches_in, 50);
    cr_assert_eq(m.batches_out, 50);
    cr_assert_eq(m.rows_in, 100, "the failed attempt's rows are not counted");
    sl_pipeline_destroy(&p);
}

static json_t *get(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(v, "field '%s' missing", key);
    return v;
}

static const char *const stage_fields[] = {
    "batches_in", "batches_out",  "rows_in",      "rows_out",     "attempts",
    "failed_attempts", "retries", "timeouts",     "dropped",      "busy_s",
    "utilisation", "busy_frac",   "starved_frac", "blocked_frac", "queue_mean",
    "queue_full_frac", "samples", "latency_ms"};

static void check_figures(json_t *s)
{
    for (size_t k = 0; k < sizeof stage_fields / sizeof *stage_fields; k++)
        get(s, stage_fields[k]);
    json_t *lat = get(s, "latency_ms");
    const char *const q[] = {"p50", "p90", "p99", "max"};
    for (int k = 0; k < 4; k++)
        cr_assert(json_is_number(get(lat, q[k])));
}

Test(stats, json_parses_and_has_every_documented_field)
{
    reset(120, 3);
    T.sleep_us = 200;
    sl_pipeline *p = make(2);
    add(p, &src_desc, "src", 0, NULL);
    add(p, &slow_desc, "slow", 1, NULL);
    add(p, &sink_desc, "sink", 0, NULL);
    run(p);
    char path[] = "/tmp/sluice-stats-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    sl_error err;
    cr_assert_eq(sl_pipeline_write_stats_json(p, path, &err), SL_OK, "%s", err.msg);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    unlink(path);
    cr_assert(root, "stats.json does not parse: %s (line %d)", je.text, je.line);
    cr_assert_str_eq(json_string_value(get(root, "schema")), "sluice-stats/1");
    const char *const top[] = {"job", "ranks", "threads", "wall_s", "started_utc", "host",
                               "batches", "rows", "stages", "bottleneck", "series", "overhead"};
    for (size_t k = 0; k < sizeof top / sizeof *top; k++)
        get(root, top[k]);
    cr_assert_eq(json_integer_value(get(root, "batches")), 120);
    cr_assert_eq(json_integer_value(get(root, "rows")), 360);
    json_t *stages = get(root, "stages");
    cr_assert_eq(json_array_size(stages), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *s = json_array_get(stages, i);
        const char *const id[] = {"name", "plugin", "mode", "concurrency", "queue", "ranks"};
        for (int k = 0; k < 6; k++)
            get(s, id[k]);
        check_figures(s);
        json_t *pr = get(s, "per_rank");
        cr_assert_eq(json_array_size(pr), 1);
        get(json_array_get(pr, 0), "rank");
        get(json_array_get(pr, 0), "hosted");
        get(json_array_get(pr, 0), "wall_s");
        check_figures(json_array_get(pr, 0));
        cr_assert_eq(json_integer_value(get(s, "batches_out")), 120);
    }
    json_t *b = get(root, "bottleneck");
    cr_assert_str_eq(json_string_value(get(b, "stage")), "slow");
    get(b, "utilisation");
    get(b, "reason");
    get(b, "suggestion");
    json_t *series = get(root, "series");
    get(series, "interval_s");
    size_t n = json_array_size(get(series, "t_s"));
    cr_assert_geq(n, 2, "at least the first and the last point");
    json_t *slow_s = get(get(series, "stages"), "slow");
    const char *const cols[] = {"batches_done", "queue", "busy"};
    for (int k = 0; k < 3; k++)
        cr_assert_eq(json_array_size(get(slow_s, cols[k])), n, "%s", cols[k]);
    json_t *done = get(slow_s, "batches_done");
    cr_assert_eq(json_number_value(json_array_get(done, n - 1)), 120.0, "ends with every batch");
    json_t *o = get(root, "overhead");
    const char *const ov[] = {"per_attempt_ns", "attempts", "estimated_s", "fraction_of_busy",
                              "sampler_period_s", "trace_spans", "trace_dropped"};
    for (size_t k = 0; k < sizeof ov / sizeof *ov; k++)
        get(o, ov[k]);
    cr_assert_eq(json_integer_value(get(o, "attempts")), 360);
    json_decref(root);
    sl_pipeline_destroy(&p);
}

Test(stats, trace_has_one_span_per_batch_per_stage)
{
    reset(250, 1);
    char path[] = "/tmp/sluice-trace-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    sl_pipeline *p = make(2);
    sl_error err;
    cr_assert_eq(sl_pipeline_set_trace(p, path, &err), SL_OK, "%s", err.msg);
    add(p, &src_desc, "src", 0, NULL);
    add(p, &pass_desc, "pass", 0, NULL);
    add(p, &sink_desc, "sink", 0, NULL);
    run(p);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    unlink(path);
    cr_assert(root, "the trace does not parse: %s (line %d)", je.text, je.line);
    json_t *ev = get(root, "traceEvents");
    size_t per[3] = {0}, spans = 0;
    for (size_t k = 0; k < json_array_size(ev); k++) {
        json_t *e = json_array_get(ev, k);
        if (strcmp(json_string_value(get(e, "ph")), "X") != 0)
            continue;
        spans++;
        const char *name = json_string_value(get(e, "name"));
        per[strcmp(name, "src") == 0 ? 0 : strcmp(name, "pass") == 0 ? 1 : 2]++;
        cr_assert_eq(json_integer_value(get(e, "pid")), 0);
        cr_assert(json_is_integer(get(e, "tid")));
        cr_assert(json_is_number(get(e, "ts")) && json_is_number(get(e, "dur")));
        cr_assert(json_is_integer(get(get(e, "args"), "seq")));
    }
    cr_assert_eq(spans, 750);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(per[i], 250, "stage %d: %zu spans", i, per[i]);
    cr_assert_eq(json_integer_value(get(get(root, "otherData"), "spans")), 750);
    cr_assert_eq(json_integer_value(get(get(root, "otherData"), "dropped_spans")), 0);
    json_decref(root);
    sl_pipeline_destroy(&p);
}

Test(stats, nothing_is_kept_with_metrics_off)
{
    setenv("SLUICE_METRICS", "0", 1);
    reset(20, 1);
    sl_pipeline *p = make(2);
    add(p, &src_desc, "src", 0, NULL);
    add(p, &sink_desc, "sink", 0, NULL);
    run(p);
    cr_assert_eq(sl_pipeline_batches(p), 20);
    cr_assert_eq(sl_pipeline_stats_ranks(p), 0);
    sl_bottleneck b;
    cr_assert_eq(sl_pipeline_bottleneck(p, &b), -1);
    cr_assert_null(sl_pipeline_stats_json(p));
    sl_pipeline_destroy(&p);
}

Test(stats, no_figures_before_a_run)
{
    sl_pipeline *p = make(1);
    cr_assert_eq(sl_pipeline_stats_ranks(p), 0);
    sl_error err;
    cr_assert_neq(sl_pipeline_write_stats_json(p, "/tmp/never.json", &err), SL_OK);
    sl_pipeline_destroy(&p);
}
