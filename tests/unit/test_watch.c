/* tests/unit/test_watch.c - the watchdog and the crash handlers through the
 * library (lib/pipeline/watch.c, watch_crash.c), with in-process stages: off
 * unless set; when no batch finishes in time the run is stopped and fails,
 * the report names stage, batch, thread and rank, and
 * sl_pipeline_watchdog_fired says so; a stage deaf to the stop ends the
 * process with status 4; a crash still ends the process by its signal. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sluice/sluice.h>

/* A sanitizer's own handler runs after ours (chained) and ends the process
 * its way (exit 1, a report), not by the signal: the crash tests then say
 * nothing about us. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* Set before each run; the stages read it. */
static struct {
    uint64_t batches;
    uint64_t slow_seq; /* UINT64_MAX: none */
    unsigned slow_ms;
    bool deaf;         /* the slow batch ignores the stop flag */
    int crash_sig;     /* 0: none; else raised in the slow batch */
} T;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static sl_status src_plan(void *s, sl_source_plan *plan, sl_error *err)
{
    plan->batches = T.batches;
    plan->rows = T.batches;
    return SL_OK;
}

static sl_status src_produce(void *s, uint64_t seq, sl_batch *out, sl_ctx *c, sl_error *err)
{
    sl_batch_set_rows(out, seq, 1);
    return SL_OK;
}

static sl_status slow_process(void *s, sl_batch *b, sl_ctx *c, sl_error *err)
{
    if (sl_batch_seq(b) != T.slow_seq)
        return SL_OK;
    if (T.crash_sig)
        raise(T.crash_sig);
    double end = now_s() + 1e-3 * T.slow_ms;
    while (now_s() < end) {
        SL_CHECK(T.deaf || !sl_ctx_should_stop(c), SL_ECANCELED, "slow: stopped");
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
    }
    return SL_OK;
}

static sl_status pass(void *s, sl_batch *b, sl_ctx *c, sl_error *err) { return SL_OK; }

static sl_status no_state(void **state, const sl_params *p, sl_ctx *c, sl_error *err)
{
    *state = NULL;
    return SL_OK;
}
static void no_destroy(void *state) {}

#define DESC(var, nm, knd, md, ...)                                                      \
    static const sl_stage_desc var = {.abi = SL_STAGE_ABI, .size = sizeof(sl_stage_desc), \
                                      .name = nm, .summary = "test", .version = "0",      \
                                      .kind = knd, .mode = md, .create = no_state,        \
                                      .destroy = no_destroy, __VA_ARGS__}
DESC(src_desc, "src", SL_KIND_SOURCE, SL_MODE_PARALLEL, .plan = src_plan, .produce = src_produce);
DESC(slow_desc, "slowkind", SL_KIND_TRANSFORM, SL_MODE_PARALLEL, .process = slow_process);
DESC(sink_desc, "sink", SL_KIND_SINK, SL_MODE_SERIAL, .process = pass);

static void add(sl_pipeline *p, const sl_stage_desc *d, const char *name)
{
    sl_error err;
    sl_params *params = NULL;
    cr_assert_eq(sl_params_create(&params, NULL, name, &err), SL_OK, "%s", err.msg);
    sl_stage_opts so = {0, 0, 0, NULL};
    cr_assert_eq(sl_pipeline_add(p, d, name, params, &so, &err), SL_OK, "%s", err.msg);
}

/* src -> slow -> sink on `threads` threads. */
static sl_pipeline *make(int threads, uint64_t batches, uint64_t slow_seq, unsigned slow_ms)
{
    memset(&T, 0, sizeof T);
    T.batches = batches;
    T.slow_seq = slow_seq;
    T.slow_ms = slow_ms;
    sl_pipeline *p = NULL;
    sl_error err;
    sl_pipeline_opts o = {.threads = threads};
    cr_assert_eq(sl_pipeline_create(&p, &o, &err), SL_OK, "%s", err.msg);
    add(p, &src_desc, "src");
    add(p, &slow_desc, "slow");
    add(p, &sink_desc, "sink");
    return p;
}

/* Runs p with stderr in a file; returns the status, stderr in text. */
static sl_status run_capturing(sl_pipeline *p, sl_error *err, char *text, size_t cap)
{
    char path[] = "/tmp/sluice-watch-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    sl_status s = sl_pipeline_run(p, err);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, text, cap - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return s;
}

Test(watch, off_unless_set_and_for_nan_or_negative, .timeout = 60)
{
    double bad[] = {NAN, -1.0, 0.0};
    for (int k = -1; k < 3; k++) {
        sl_pipeline *p = make(2, 20, 3, 700);
        if (k >= 0)
            sl_pipeline_set_watchdog(p, bad[k]);
        sl_error err;
        char text[4096];
        cr_assert_eq(run_capturing(p, &err, text, sizeof text), SL_OK, "%s", err.msg);
        cr_assert(!sl_pipeline_watchdog_fired(p));
        cr_assert_eq(text[0], '\0', "stderr: %s", text);
        sl_pipeline_destroy(&p);
    }
}

Test(watch, a_quiet_run_with_the_watchdog_on_is_unchanged, .timeout = 60)
{
    sl_pipeline *p = make(4, 5000, UINT64_MAX, 0);
    sl_pipeline_set_watchdog(p, 30);
    sl_error err;
    cr_assert_eq(sl_pipeline_run(p, &err), SL_OK, "%s", err.msg);
    cr_assert(!sl_pipeline_watchdog_fired(p));
    cr_assert_eq(sl_pipeline_batches(p), 5000);
    sl_pipeline_destroy(&p);
}

Test(watch, a_hung_run_is_stopped_reported_and_marked, .timeout = 60)
{
    sl_pipeline *p = make(2, 20, 3, 30000);
    sl_pipeline_set_watchdog(p, 0.5);
    sl_error err;
    char text[4096];
    double t0 = now_s();
    sl_status s = run_capturing(p, &err, text, sizeof text);
    double took = now_s() - t0;
    cr_assert_neq(s, SL_OK);
    cr_assert(strstr(err.msg, "slow: stopped"), "%s", err.msg);
    cr_assert(sl_pipeline_watchdog_fired(p));
    cr_assert(took < 5, "the run took %.1f s", took);
    cr_assert(strstr(text, "sluice: watchdog: no batch finished for "), "%s", text);
    cr_assert(strstr(text, "(--watchdog 0.5); rank 0 is stuck:\n"), "%s", text);
    cr_assert(strstr(text, "sluice: watchdog:   stage 'slow' batch 3 on thread "), "%s", text);
    cr_assert(strstr(text, "of rank 0, running for "), "%s", text);
    cr_assert(strstr(text, " s (built-in stage 'slowkind')\n"), "%s", text);
    sl_pipeline_destroy(&p);
}

Test(watch, a_stage_deaf_to_the_stop_ends_the_process_with_4, .timeout = 60, .exit_code = 4)
{
    sl_pipeline *p = make(2, 20, 3, 20000);
    T.deaf = true;
    sl_pipeline_set_watchdog(p, 0.3);
    sl_error err;
    sl_pipeline_run(p, &err);
    cr_assert_fail("the run returned: %s", err.msg);
}

Test(watch, a_crash_in_a_stage_still_ends_the_process_by_its_signal, .timeout = 60,
     .signal = SIGFPE, .disabled = SANITIZED)
{
    sl_pipeline *p = make(2, 20, 3, 0);
    T.crash_sig = SIGFPE;
    sl_error err;
    sl_pipeline_run(p, &err);
    cr_assert_fail("the run returned: %s", err.msg);
}

Test(watch, a_crash_outside_any_stage_after_a_run_ends_the_process_by_it, .timeout = 60,
     .signal = SIGBUS, .disabled = SANITIZED)
{
    sl_pipeline *p = make(1, 2, UINT64_MAX, 0);
    sl_error err;
    cr_assert_eq(sl_pipeline_run(p, &err), SL_OK, "%s", err.msg);
    sl_pipeline_destroy(&p);
    raise(SIGBUS);
}
