/* tests/bench/bench_overhead.c - what the executor costs per batch and stage.
 *
 * usage: bench_overhead [-n BATCHES] [-k TRANSFORMS] [-r RUNS] [-t THREADS,...]
 *                       [-m MODE,...] [-w]
 *
 * Builds in-process pipelines (no plugins, no file): a source that makes
 * BATCHES batches of one row and no columns, K transforms and a sink whose
 * process() return at once. Every stage, the source included, runs in the
 * mode under test (parallel, serial or ordered) with default queues and
 * concurrency. So the time is the framework's alone: firing, queues, credits,
 * the ordered window, batch recycling, OpenMP tasks.
 *
 * -w runs one untimed warm-up of BATCHES/10 batches per configuration first
 * (OpenMP team started, batch pool and allocator warm).
 * For each run (outer loop) and each thread count and mode (inner loops,
 * so configurations alternate on a noisy machine) prints one line:
 *   run R mode M threads T batches N stages S tokens L seconds W ns_batch X ns_batch_stage Y
 * where S = K + 2 (source and sink included), L = sl_pipeline_batch_bound
 * (the most batches the queue capacities and concurrencies let be alive at
 * once: bench_tbb's max_number_of_live_tokens for the same line),
 * X = W / N and Y = X / S.
 * Exit status 0, 1 when a run fails or loses batches, 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sluice/sluice.h>

static uint64_t g_batches = 200000;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static sl_status b_create(void **st, const sl_params *p, sl_ctx *c, sl_error *err)
{
    static char dummy;
    *st = &dummy;
    return SL_OK;
}

static sl_status b_plan(void *s, sl_source_plan *p, sl_error *err)
{
    p->batches = g_batches;
    p->rows = g_batches;
    return SL_OK;
}

static sl_status b_produce(void *s, uint64_t seq, sl_batch *out, sl_ctx *c, sl_error *err)
{
    sl_batch_set_rows(out, seq, 1);
    return SL_OK;
}

static sl_status b_nothing(void *s, sl_batch *b, sl_ctx *c, sl_error *err) { return SL_OK; }

#define STAGE(nm, knd, ...)                                                                 \
    {.abi = SL_STAGE_ABI, .size = sizeof(sl_stage_desc), .name = nm, .summary = "bench",  \
     .version = "0", .kind = knd, .mode = SL_MODE_PARALLEL, .create = b_create, __VA_ARGS__}
static const sl_stage_desc d_src = STAGE("src", SL_KIND_SOURCE, .plan = b_plan, .produce = b_produce);
static const sl_stage_desc d_mid = STAGE("mid", SL_KIND_TRANSFORM, .process = b_nothing);
static const sl_stage_desc d_snk = STAGE("snk", SL_KIND_SINK, .process = b_nothing);

static const char *const mode_names[] = {"", "parallel", "serial", "ordered"};

/* Seconds for one run, or a negative value on failure; *tokens: the batch bound. */
static double run_once(int threads, int mode, int k, size_t *tokens)
{
    sl_error err;
    sl_pipeline_opts o = {.threads = threads};
    sl_pipeline *p = NULL;
    double secs = -1.0;
    if (sl_pipeline_create(&p, &o, &err) != SL_OK)
        goto out;
    for (int i = 0; i < k + 2; i++) {
        char name[32];
        const sl_stage_desc *d = i == 0 ? &d_src : i == k + 1 ? &d_snk : &d_mid;
        snprintf(name, sizeof name, "%s%d", d->name, i);
        sl_params *params;
        sl_stage_opts so = {0, 0, mode, NULL};
        if (sl_params_create(&params, NULL, name, &err) != SL_OK ||
            sl_pipeline_add(p, d, name, params, &so, &err) != SL_OK)
            goto out;
    }
    *tokens = sl_pipeline_batch_bound(p);
    double t0 = now_s();
    if (sl_pipeline_run(p, &err) != SL_OK)
        goto out;
    secs = now_s() - t0;
    if (sl_pipeline_batches(p) != g_batches) {
        snprintf(err.msg, sizeof err.msg, "%llu batches made, expected %llu",
                 (unsigned long long)sl_pipeline_batches(p), (unsigned long long)g_batches);
        secs = -1.0;
    }
out:
    if (secs < 0)
        fprintf(stderr, "bench_overhead: threads %d mode %s: %s\n", threads, mode_names[mode],
                err.msg);
    sl_pipeline_destroy(&p);
    return secs;
}

static int parse_list(char *s, int *out, int max, int mode_names_ok)
{
    int n = 0;
    for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ",")) {
        int v = 0;
        if (mode_names_ok) {
            for (int m = SL_MODE_PARALLEL; m <= SL_MODE_ORDERED; m++)
                if (strcmp(tok, mode_names[m]) == 0)
                    v = m;
        } else {
            v = atoi(tok);
        }
        if (v <= 0)
            return -1;
        out[n++] = v;
    }
    return n;
}

int main(int argc, char **argv)
{
    int k = 1, runs = 5, warm = 0;
    int threads[8] = {1, 2}, nthreads = 2;
    int modes[3] = {SL_MODE_PARALLEL, SL_MODE_SERIAL, SL_MODE_ORDERED}, nmodes = 3;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "-w") == 0) {
            warm = 1;
            continue;
        }
        char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = val != NULL;
        if (ok && strcmp(opt, "-n") == 0)
            ok = (g_batches = strtoull(val, NULL, 10)) > 0;
        else if (ok && strcmp(opt, "-k") == 0)
            ok = (k = atoi(val)) >= 0 && k <= 64;
        else if (ok && strcmp(opt, "-r") == 0)
            ok = (runs = atoi(val)) > 0;
        else if (ok && strcmp(opt, "-t") == 0)
            ok = (nthreads = parse_list(val, threads, 8, 0)) > 0;
        else if (ok && strcmp(opt, "-m") == 0)
            ok = (nmodes = parse_list(val, modes, 3, 1)) > 0;
        else
            ok = 0;
        if (!ok) {
            fprintf(stderr, "usage: bench_overhead [-n BATCHES] [-k TRANSFORMS] [-r RUNS] "
                            "[-t THREADS,...] [-m parallel,serial,ordered] [-w]\n");
            return 2;
        }
        i++;
    }
    int stages = k + 2;
    size_t tokens = 0;
    if (warm) {
        uint64_t n = g_batches;
        g_batches = n / 10 + 1;
        for (int ti = 0; ti < nthreads; ti++)
            for (int mi = 0; mi < nmodes; mi++)
                if (run_once(threads[ti], modes[mi], k, &tokens) < 0)
                    return 1;
        g_batches = n;
    }
    for (int r = 0; r < runs; r++)
        for (int ti = 0; ti < nthreads; ti++)
            for (int mi = 0; mi < nmodes; mi++) {
                double s = run_once(threads[ti], modes[mi], k, &tokens);
                if (s < 0)
                    return 1;
                double per = s * 1e9 / (double)g_batches;
                printf("run %d mode %s threads %d batches %llu stages %d tokens %zu seconds %.6f "
                       "ns_batch %.1f ns_batch_stage %.1f\n",
                       r, mode_names[modes[mi]], threads[ti], (unsigned long long)g_batches,
                       stages, tokens, s, per, per / stages);
                fflush(stdout);
            }
    return 0;
}
