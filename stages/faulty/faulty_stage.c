/* faulty_stage.c - the `faulty` transform: fails, sleeps or crashes on chosen
 * batches, for testing and demonstrating failure handling.
 *
 * Batches pass through unchanged unless an action hits them. For each batch,
 * in this order: sleep (sleep_ms, cancellable), crash (the whole process,
 * for real), fail (SL_EKERNEL). An action hits a batch when its seq is in the
 * action's list (*_seqs) or when a seeded coin says so (*_rate): the coin is
 * a pure function of (seed, seq, action), so the same batches are hit for any
 * thread or rank count and any order. fail_times counts attempts per seq in
 * a table shared by the stage's instances (faulty_attempts.h).
 *
 * once_dir makes crashes and failures happen once per batch across runs, as
 * a resume test needs (a crashed batch must succeed when made again): a hit
 * on batch seq first creates once_dir/seq and does nothing when it exists. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

#include <sluice/stage.h>

#include "faulty_attempts.h"
#include "faulty_kernel.h"

typedef struct faulty_state {
    sl_faulty_rule fail, sleep, crash;
    uint64_t fail_times, sleep_ms, seed;
    sl_faulty_crash_kind crash_kind;
    sl_faulty_attempts *attempts; /* shared with the stage's other instances */
    char once_dir[4096];          /* "": every hit acts */
} faulty_state;

static const sl_param_spec faulty_params[] = {
    SL_PARAM_STRING("fail_seqs", "", "Batches that fail: seqs and ranges, e.g. 3,10-12,100-"),
    SL_PARAM_FLOAT("fail_rate", 0.0, 0.0, 1.0, "Probability that any other batch fails (seeded)"),
    SL_PARAM_UINT("fail_times", 0, 0, UINT64_MAX,
                  "A failing batch fails on its first N attempts only (0: on every attempt)"),
    SL_PARAM_UINT("sleep_ms", 0, 0, 86400000, "Milliseconds a slow batch sleeps (stops early "
                                              "when the run stops)"),
    SL_PARAM_STRING("sleep_seqs", "", "Batches that sleep sleep_ms: seqs and ranges"),
    SL_PARAM_FLOAT("sleep_rate", 0.0, 0.0, 1.0, "Probability that any other batch sleeps (seeded)"),
    SL_PARAM_STRING("crash_seqs", "", "Batches that crash the process: seqs and ranges"),
    SL_PARAM_FLOAT("crash_rate", 0.0, 0.0, 1.0,
                   "Probability that any other batch crashes the process (seeded)"),
    SL_PARAM_ENUM("crash", "segv", SL_FAULTY_CRASH_CHOICES,
                  "How the process crashes: NULL store, SIGBUS, SIGFPE or abort()"),
    SL_PARAM_UINT("seed", 1, 0, UINT64_MAX, "Seed of every *_rate decision"),
    SL_PARAM_STRING("once_dir", "", "An existing directory: a crash or failure hits a batch "
                                    "only once across runs (marked by a file named by its seq)"),
    SL_PARAM_END,
};

static void faulty_destroy(void *state)
{
    faulty_state *s = state;
    if (!s)
        return;
    sl_faulty_seqs_free(&s->fail.seqs);
    sl_faulty_seqs_free(&s->sleep.seqs);
    sl_faulty_seqs_free(&s->crash.seqs);
    sl_faulty_attempts_release(&s->attempts);
    free(s);
}

static sl_status read_rule(sl_faulty_rule *r, const sl_params *p, const char *seqs,
                           const char *rate, sl_error *err)
{
    r->rate = sl_params_float(p, rate);
    return sl_faulty_seqs_parse(&r->seqs, sl_params_str(p, seqs), seqs, err);
}

static sl_status faulty_create(void **state, const sl_params *p, sl_ctx *ctx, sl_error *err)
{
    faulty_state *s = calloc(1, sizeof *s);
    SL_CHECK(s, SL_ENOMEM, "faulty: out of memory");
    s->fail_times = sl_params_uint(p, "fail_times");
    s->sleep_ms = sl_params_uint(p, "sleep_ms");
    s->seed = sl_params_uint(p, "seed");
    snprintf(s->once_dir, sizeof s->once_dir, "%s", sl_params_str(p, "once_dir"));
    int kind = sl_faulty_crash_kind_of(sl_params_str(p, "crash"));
    s->crash_kind = kind < 0 ? SL_FAULTY_SEGV : (sl_faulty_crash_kind)kind; /* enum-checked */
    sl_status st = read_rule(&s->fail, p, "fail_seqs", "fail_rate", err);
    if (st == SL_OK)
        st = read_rule(&s->sleep, p, "sleep_seqs", "sleep_rate", err);
    if (st == SL_OK)
        st = read_rule(&s->crash, p, "crash_seqs", "crash_rate", err);
    /* The params object is one per job stage and outlives every instance:
     * the key under which the instances share their attempt counts. */
    if (st == SL_OK)
        st = sl_faulty_attempts_acquire(&s->attempts, p, err);
    if (st != SL_OK) {
        faulty_destroy(s);
        return st;
    }
    *state = s;
    return SL_OK;
}

static bool ctx_stops(const void *ctx) { return sl_ctx_should_stop(ctx); }

/* With once_dir: true the first time batch seq is hit (the mark is made,
 * durably, before the fault), false ever after. */
static bool first_hit(const faulty_state *s, uint64_t seq)
{
    if (!s->once_dir[0])
        return true;
    char path[4200];
    snprintf(path, sizeof path, "%s/%llu", s->once_dir, (unsigned long long)seq);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno != EEXIST; /* no directory: act every time, as without it */
    fsync(fd);
    close(fd);
    return true;
}

/* Why a rule hit, for messages: "fail_seqs" or "fail_rate 0.01". */
static void reason(char *buf, size_t cap, const char *action, sl_faulty_hit h, double rate)
{
    if (h == SL_FAULTY_BY_SEQS)
        snprintf(buf, cap, "%s_seqs", action);
    else
        snprintf(buf, cap, "%s_rate %g", action, rate);
}

static sl_status fail_batch(faulty_state *s, uint64_t seq, sl_faulty_hit h, sl_error *err)
{
    uint64_t attempt = 0;
    SL_TRY(sl_faulty_attempts_next(s->attempts, seq, &attempt, err));
    if (!sl_faulty_fails_on(attempt, s->fail_times))
        return SL_OK;
    char why[64];
    reason(why, sizeof why, "fail", h, s->fail.rate);
    if (s->fail_times == 0)
        return SL_FAIL(SL_EKERNEL, "faulty: batch %llu fails (%s), attempt %llu (fail_times 0: "
                                   "every attempt fails)",
                       (unsigned long long)seq, why, (unsigned long long)attempt);
    return SL_FAIL(SL_EKERNEL, "faulty: batch %llu fails (%s), attempt %llu of %llu",
                   (unsigned long long)seq, why, (unsigned long long)attempt,
                   (unsigned long long)s->fail_times);
}

static sl_status faulty_process(void *state, sl_batch *b, sl_ctx *ctx, sl_error *err)
{
    faulty_state *s = state;
    uint64_t seq = sl_batch_seq(b), slept = 0;
    bool sleeps = s->sleep_ms > 0 &&
                  sl_faulty_decide(&s->sleep, s->seed, seq, SL_FAULTY_SLEEP) != SL_FAULTY_MISS;
    if (sleeps)
        SL_CHECK(sl_faulty_sleep(s->sleep_ms, ctx_stops, ctx, &slept), SL_ECANCELED,
                 "faulty: batch %llu stopped sleeping after %llu of %llu ms: the run is stopping",
                 (unsigned long long)seq, (unsigned long long)slept,
                 (unsigned long long)s->sleep_ms);
    if (sl_faulty_decide(&s->crash, s->seed, seq, SL_FAULTY_CRASH) != SL_FAULTY_MISS &&
        first_hit(s, seq)) {
        /* Say what is about to happen: a crash leaves no error message. */
        fprintf(stderr, "faulty: batch %llu crashes the process (crash=%s)\n",
                (unsigned long long)seq, sl_faulty_crash_name(s->crash_kind));
        fflush(stderr);
        sl_faulty_crash(s->crash_kind);
    }
    sl_faulty_hit h = sl_faulty_decide(&s->fail, s->seed, seq, SL_FAULTY_FAIL);
    return h == SL_FAULTY_MISS || !first_hit(s, seq) ? SL_OK : fail_batch(s, seq, h, err);
}

static const sl_stage_desc faulty_desc = {
    .abi = SL_STAGE_ABI,
    .size = sizeof(sl_stage_desc),
    .name = "faulty",
    .summary = "Fails, sleeps or crashes on chosen or seeded-random batches; others pass unchanged",
    .version = "1.0.0",
    .kind = SL_KIND_TRANSFORM,
    .mode = SL_MODE_PARALLEL,
    .params = faulty_params,
    .create = faulty_create,
    .process = faulty_process,
    .destroy = faulty_destroy,
};

SL_STAGE_EXPORT(faulty_desc)
