/* apps/sluice/cmd_run.c - `sluice run JOB`: load, override, build, run, report.
 *
 * Settings stack as everywhere in sluice: the job file, then the command
 * line (-t, -o, STAGE.PARAM=VALUE), later wins. Everything up to a built
 * pipeline is the user's input, so a failure there exits 2; once the run has
 * started a failure exits 1. A relative output path is taken as it is, i.e.
 * relative to the current directory, not to the job file.
 *
 * SIGINT and SIGTERM ask the running pipeline to stop (the run then fails
 * and leaves no output); a second signal of the same kind kills at once.
 *
 * Under mpirun or srun every rank runs this same code: each loads the job
 * and builds the pipeline, the ranks agree after each step (so a problem on
 * any rank stops all of them, with one message), and only rank 0 prints. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/dist.h>
#include <sluice/placement.h>

#include "cli.h"

#define RUN_MAX_THREADS 4096

typedef struct run_args {
    const char *job;
    int threads; /* 0: not given */
    const char *output;
    bool force, quiet;
    const char *schedule, *chunk, *weights;
    char **assign;
    int nassign;
} run_args;

static const char run_help[] =
    "usage: sluice run JOB [options] [STAGE.PARAM=VALUE ...]\n\n"
    "Runs the pipeline described by the YAML job file JOB.\n\n"
    "options:\n"
    "  -t, --threads N    worker threads (default: the job's 'threads', else OpenMP's)\n"
    "  -o, --output PATH  file the sink writes (default: the job's 'output'); a relative\n"
    "                     path is relative to the current directory\n"
    "      --force        replace PATH if it exists\n"
    "  -q, --quiet        print nothing on success\n"
    "      --schedule S   how ranks share the batches: static, dynamic or guided\n"
    "      --chunk N      batches per chunk of the schedule\n"
    "      --weights LIST static: relative share of each rank, e.g. 1,1,2\n"
    "  -h, --help         show this help\n\n"
    "STAGE.PARAM=VALUE sets a parameter of the stage named STAGE in the job (or one of\n"
    "concurrency, queue, mode), after the job file's own settings.\n"
    "The output appears under PATH only when the run succeeds.\n"
    "Under mpirun (or srun) every rank runs its share of the batches; the output and\n"
    "the totals are the same for any rank count (see docs/distributed.md).\n\n"
    "exit status: 0 success, 1 the run failed, 2 bad input or usage (job file,\n"
    "parameters, unknown stage, output path, command line).\n";

/* The pipeline SIGINT/SIGTERM should stop; set only while it runs. */
static sl_pipeline *volatile run_active;

static void on_signal(int sig)
{
    sl_pipeline *p = run_active;
    if (p)
        sl_pipeline_request_stop(p);
}

static void set_signals(bool on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sa.sa_flags = on ? SA_RESETHAND : 0; /* a second signal ends the process */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static bool parse_threads(const char *text, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < 1 || v > RUN_MAX_THREADS)
        return false;
    *out = (int)v;
    return true;
}

/* Returns -1 to go on, else the exit status (help shown or usage error). */
static int parse_args(int argc, char **argv, run_args *a)
{
    static const struct option longopts[] = {
        {"threads", required_argument, NULL, 't'}, {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},         {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},          {"schedule", required_argument, NULL, 'S'},
        {"chunk", required_argument, NULL, 'C'},   {"weights", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0}};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":t:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (!parse_threads(optarg, &a->threads))
                return cli_usage("run", "-t wants a thread count from 1 to %d, not '%s'",
                                 RUN_MAX_THREADS, optarg);
            break;
        case 'o': a->output = optarg; break;
        case 'f': a->force = true; break;
        case 'q': a->quiet = true; break;
        case 'S': a->schedule = optarg; break;
        case 'C': a->chunk = optarg; break;
        case 'W': a->weights = optarg; break;
        case 'h': fputs(run_help, stdout); return CLI_OK;
        default: return cli_bad_option("run", c, argv, optind, optopt);
        }
    }
    if (optind >= argc)
        return cli_usage("run", "no job file given");
    a->job = argv[optind];
    a->assign = argv + optind + 1;
    a->nassign = argc - optind - 1;
    return -1;
}

static void print_summary(const sl_pipeline *p, const char *output, int ranks)
{
    if (ranks > 1)
        printf("ranks     %d\n", ranks);
    printf("threads   %d%s\nbatches   %llu\nrows      %llu\nwall      %.3f s\n",
           sl_pipeline_threads(p), ranks > 1 ? " per rank" : "",
           (unsigned long long)sl_pipeline_batches(p),
           (unsigned long long)sl_pipeline_rows(p), sl_pipeline_wall(p));
    size_t n = sl_pipeline_nstages(p);
    int w = 5;
    for (size_t i = 0; i < n; i++) {
        sl_stage_stats st;
        sl_pipeline_stage_stats(p, i, &st);
        int len = st.name ? (int)strlen(st.name) : 0;
        w = len > w ? len : w;
    }
    printf("  %-*s %12s %10s\n", w, "stage", "batches", "busy s");
    for (size_t i = 0; i < n; i++) {
        sl_stage_stats st;
        sl_pipeline_stage_stats(p, i, &st);
        printf("  %-*s %12llu %10.3f\n", w, st.name ? st.name : "?",
               (unsigned long long)st.batches, st.busy_s);
    }
    const sl_ctx *ctx = sl_pipeline_ctx(p);
    for (size_t i = 0; ctx && i < sl_ctx_result_count(ctx); i++) {
        const char *key;
        sl_type type;
        uint64_t u = 0;
        double f = 0;
        sl_ctx_result_get(ctx, i, &key, &type, &u, &f);
        if (type == SL_TYPE_F64)
            printf("%s = %.17g\n", key, f);
        else
            printf("%s = %llu\n", key, (unsigned long long)u);
    }
    if (output)
        printf("output    %s\n", output);
}

/* The job file, then the command line on top of it. */
static sl_status load_job(sl_job **out, const run_args *a, sl_error *err)
{
    *out = NULL;
    sl_job *job = NULL;
    SL_TRY(sl_job_load(&job, a->job, err));
    sl_status s = SL_OK;
    for (int i = 0; i < a->nassign && s == SL_OK; i++)
        s = sl_job_override(job, a->assign[i], err);
    if (s == SL_OK && a->schedule)
        s = sl_job_set_schedule(job, a->schedule, err);
    if (s == SL_OK && a->chunk)
        s = sl_job_set_chunk(job, a->chunk, err);
    if (s == SL_OK && a->weights)
        s = sl_job_set_weights(job, a->weights, err);
    if (s != SL_OK) {
        sl_job_destroy(&job);
        return s;
    }
    *out = job;
    return SL_OK;
}

/* Loads, builds and runs the job on this rank; returns the exit status
 * (errors already printed by rank 0). */
static int run_job(sl_dist *d, const run_args *a)
{
    sl_error err;
    sl_error_clear(&err);
    sl_job *job = NULL;
    sl_status s = load_job(&job, a, &err);
    if (s == SL_OK)
        s = sl_job_dist_check(job, sl_dist_size(d), &err);
    s = sl_dist_agree(d, s, &err, false);
    if (s != SL_OK) {
        sl_job_destroy(&job);
        return cli_fail(&err, CLI_USAGE);
    }
    sl_pipeline_opts opts = {
        .threads = a->threads ? a->threads : sl_job_threads(job),
        .output = a->output ? a->output : sl_job_output(job),
        .force = a->force,
        .job_name = sl_job_name(job),
        .job_text = sl_job_text(job),
    };
    sl_registry *reg = NULL;
    sl_pipeline *p = NULL;
    s = sl_registry_create(&reg, &err);
    if (s == SL_OK)
        s = sl_pipeline_from_job(&p, job, reg, &opts, &err);
    const char *warning = NULL;
    if (s == SL_OK)
        s = sl_dist_check(d, p, job, &warning, &err);
    s = sl_dist_agree(d, s, &err, false);
    if (s == SL_OK && warning && sl_dist_rank(d) == 0)
        fprintf(stderr, "sluice: warning: %s\n", warning);
    int rc = s == SL_OK ? CLI_OK : cli_fail(&err, cli_build_status(s));
    if (rc == CLI_OK) {
        run_active = p;
        set_signals(true);
        s = sl_dist_run(d, p, job, reg, &err);
        set_signals(false);
        run_active = NULL;
        rc = s == SL_OK ? CLI_OK : cli_fail(&err, CLI_FAILED);
    }
    if (rc == CLI_OK && !a->quiet && sl_dist_rank(d) == 0)
        print_summary(p, opts.output, sl_dist_size(d));
    /* The pipeline points into plugins the registry keeps loaded. */
    sl_pipeline_destroy(&p);
    sl_registry_destroy(&reg);
    sl_job_destroy(&job);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    run_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    sl_error err;
    sl_error_clear(&err);
    sl_dist *d = NULL;
    if (sl_dist_init(&d, &argc, &argv, &err) != SL_OK)
        return cli_fail(&err, CLI_FAILED);
    cli_quiet_errors = sl_dist_rank(d) != 0; /* rank 0 speaks for all */
    rc = run_job(d, &a);
    sl_dist_finalize(&d);
    return rc;
}
