/* apps/sluice/cmd_run.c - `sluice run JOB`: load, override, build, run, report.
 *
 * Settings stack as everywhere in sluice: the job file, then the environment
 * (SLUICE_WATCHDOG), then the command line (-t, -o, --watchdog,
 * STAGE.PARAM=VALUE), later wins. Everything up to a built pipeline is the
 * user's input, so a failure there exits 2; once the run has started a
 * failure exits 1, or 4 when the watchdog found the run hung. A relative
 * output path is taken as it is, i.e. relative to the current directory, not
 * to the job file.
 *
 * The watchdog is on by default here (RUN_WATCHDOG_DEFAULT_S), unlike in the
 * library: a command in a batch job must not sit on its allocation until the
 * time limit because one batch hangs.
 *
 * SIGINT, SIGTERM and SIGUSR1 (Slurm's warning before the time limit, see
 * docs/slurm.md) ask the running pipeline to stop: the first lets the
 * batches in flight go through, the second abandons them, and either way
 * the run checkpoints what finished and exits 3, resumable (a third signal
 * ends the process at once; the last checkpoint is still there). See
 * docs/resume.md.
 *
 * Under mpirun or srun every rank runs this same code: each loads the job
 * and builds the pipeline, the ranks agree after each step (so a problem on
 * any rank stops all of them, with one message), and only rank 0 prints. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sluice/dist.h>
#include <sluice/placement.h>

#include "cli.h"
#include "run_stats.h"
#include "progress.h"

#define RUN_MAX_THREADS 4096
/* 15 minutes: far above any batch a pipeline should be cut into (seconds),
 * yet a hang costs at most that much of an allocation. Jobs whose batches
 * take longer raise it (--watchdog or SLUICE_WATCHDOG). */
#define RUN_WATCHDOG_DEFAULT_S 900.0

typedef struct run_args {
    const char *job;
    int threads; /* 0: not given */
    const char *output;
    bool force, quiet;
    double watchdog; /* seconds; < 0: not given */
    progress_mode progress;
    double progress_interval; /* seconds; < 0: not given */
    const char *schedule, *chunk, *weights;
    const char *stats, *trace; /* --stats, --trace files; NULL: none */
    bool resume, retry_dead;
    double checkpoint; /* seconds; < 0: not given */
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
    "      --force        replace PATH if it exists (and start over, when an\n"
    "                     interrupted run left PATH.sluice/)\n"
    "      --resume       continue the run that PATH.sluice/ holds: skip the batches\n"
    "                     it finished (starts from the beginning when there is none)\n"
    "      --retry-deadletters  with --resume: run the dead letters' batches again\n"
    "      --checkpoint SEC  seconds between checkpoints of the finished batches\n"
    "                     (default 60; 0: only when stopped)\n"
    "  -q, --quiet        print nothing on success\n"
    "      --schedule S   how ranks share the batches: static, dynamic or guided\n"
    "      --chunk N      batches per chunk of the schedule\n"
    "      --weights LIST static: relative share of each rank, e.g. 1,1,2\n"
    "      --stats FILE   write the run's figures as JSON (see docs/stats.md)\n"
    "      --trace FILE   write a span per batch, stage, thread and rank in the\n"
    "                     Chrome trace format (opens in Perfetto)\n"
    "      --watchdog SEC when no batch finishes for SEC seconds, name the stuck\n"
    "                     stage, batch, thread and rank, stop the run and exit with\n"
    "                     status 4 (default: $SLUICE_WATCHDOG, else 900; 0: off)\n"
    "      --progress WHEN auto (default): on a terminal one updating line on\n"
    "                     stderr, elsewhere a plain line every --progress-interval\n"
    "                     seconds, none with --quiet; always: also with --quiet;\n"
    "                     never: none. No line in the first 2 s of a run\n"
    "      --progress-interval SEC  seconds between plain lines (default:\n"
    "                     $SLUICE_PROGRESS_INTERVAL, else 30)\n"
    "  -h, --help         show this help\n\n"
    "STAGE.PARAM=VALUE sets a parameter of the stage named STAGE in the job (or one of\n"
    "concurrency, queue, mode), after the job file's own settings.\n"
    "The output appears under PATH only when the run succeeds.\n"
    "Under mpirun (or srun) every rank runs its share of the batches; the output and\n"
    "the totals are the same for any rank count (see docs/distributed.md).\n\n"
    "exit status: 0 success, 1 the run failed, 2 bad input or usage (job file,\n"
    "parameters, unknown stage, output path, command line), 3 stopped by a signal\n"
    "(SIGTERM, SIGINT, SIGUSR1) and resumable with --resume, 4 the watchdog found the\n"
    "run hung. A crash in a stage (SIGSEGV, SIGBUS, SIGFPE, ...) names the stage,\n"
    "batch and plugin on stderr and ends the process by that signal (128+N in a\n"
    "shell). See docs/failures.md.\n";

/* The pipeline SIGINT/SIGTERM should stop; set only while it runs. */
static sl_pipeline *volatile run_active;
static volatile sig_atomic_t run_signals;
static volatile sig_atomic_t run_speaks; /* rank 0 speaks for every rank */

static void set_signals(bool on);

static void on_signal(int sig)
{
    (void)sig;
    sl_pipeline *p = run_active;
    if (!p)
        return;
    if (run_signals++ == 0) {
        static const char msg[] = "sluice: stopping: letting the batches in flight finish "
                                  "(signal again to abandon them)\n";
        sl_pipeline_request_drain(p);
        if (run_speaks) {
            ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
            (void)w;
        }
    } else {
        sl_pipeline_request_stop(p);
        set_signals(false); /* a third signal ends the process */
    }
}

static void set_signals(bool on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

/* Seconds from 0 (off) to SL_WATCHDOG_MAX_S, in decimal (1.5 and 1e3 too;
 * not hex, inf or nan, which strtod would take). */
static bool parse_seconds(const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end || text[strspn(text, "0123456789.eE+-")] ||
        !(v >= 0 && v <= SL_WATCHDOG_MAX_S))
        return false;
    *out = v;
    return true;
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
        {"stats", required_argument, NULL, 's'},   {"trace", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},          {"schedule", required_argument, NULL, 'S'},
        {"chunk", required_argument, NULL, 'C'},   {"weights", required_argument, NULL, 'W'},
        {"watchdog", required_argument, NULL, 'D'},
        {"progress", required_argument, NULL, 'P'},
        {"progress-interval", required_argument, NULL, 'I'},
        {"resume", no_argument, NULL, 'R'},
        {"retry-deadletters", no_argument, NULL, 'X'},
        {"checkpoint", required_argument, NULL, 'K'}, {NULL, 0, NULL, 0}};
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
        case 's':
        case 'T':
            if (!*optarg)
                return cli_usage("run", "%s wants a file name", c == 's' ? "--stats" : "--trace");
            *(c == 's' ? &a->stats : &a->trace) = optarg;
            break;
        case 'D':
            if (!parse_seconds(optarg, &a->watchdog))
                return cli_usage("run", "--watchdog wants seconds from 0 (off) to %.0f, not '%s'",
                                 SL_WATCHDOG_MAX_S, optarg);
            break;
        case 'P':
            if (!progress_parse_mode(optarg, &a->progress))
                return cli_usage("run", "--progress wants auto, always or never, not '%s'", optarg);
            break;
        case 'I':
            if (!progress_parse_interval(optarg, &a->progress_interval))
                return cli_usage("run",
                                 "--progress-interval wants seconds from 0.1 to %.0f, not '%s'",
                                 PROGRESS_INTERVAL_MAX_S, optarg);
            break;
        case 'R': a->resume = true; break;
        case 'X': a->retry_dead = true; break;
        case 'K':
            if (!parse_seconds(optarg, &a->checkpoint))
                return cli_usage("run", "--checkpoint wants seconds from 0 to %.0f, not '%s'",
                                 SL_WATCHDOG_MAX_S, optarg);
            break;
        case 'h': fputs(run_help, stdout); return CLI_OK;
        default: return cli_bad_option("run", c, argv, optind, optopt);
        }
    }
    const char *env = getenv("SLUICE_WATCHDOG");
    if (a->watchdog < 0 && env && *env && !parse_seconds(env, &a->watchdog))
        return cli_usage("run", "SLUICE_WATCHDOG wants seconds from 0 (off) to %.0f, not '%s'",
                         SL_WATCHDOG_MAX_S, env);
    if (a->watchdog < 0)
        a->watchdog = RUN_WATCHDOG_DEFAULT_S;
    env = getenv("SLUICE_PROGRESS_INTERVAL");
    if (a->progress_interval < 0 && env && *env &&
        !progress_parse_interval(env, &a->progress_interval))
        return cli_usage("run",
                         "SLUICE_PROGRESS_INTERVAL wants seconds from 0.1 to %.0f, not '%s'",
                         PROGRESS_INTERVAL_MAX_S, env);
    if (a->progress_interval < 0)
        a->progress_interval = PROGRESS_INTERVAL_S;
    if (optind >= argc)
        return cli_usage("run", "no job file given");
    if (a->retry_dead && !a->resume)
        return cli_usage("run", "--retry-deadletters goes with --resume");
    if (a->resume && a->force)
        return cli_usage("run", "--resume and --force contradict each other (continue, or "
                                "start over)");
    a->job = argv[optind];
    a->assign = argv + optind + 1;
    a->nassign = argc - optind - 1;
    return -1;
}

/* What the failure policies did: retries, batches skipped, dead letters
 * (the first few; the rest are in the output file). */
static void print_failures(const sl_pipeline *p, const sl_ctx *ctx, const char *output)
{
    enum { SHOWN = 10 };
    uint64_t retries = 0, dropped = 0;
    for (size_t i = 0; i < sl_pipeline_nstages(p); i++) {
        sl_stage_stats st;
        sl_pipeline_stage_stats(p, i, &st);
        retries += st.retries;
        dropped += st.dropped;
    }
    size_t ndead = ctx ? sl_ctx_deadletter_count(ctx) : 0;
    uint64_t slow = 0;
    for (size_t i = 0; i < sl_pipeline_nstages(p); i++) {
        sl_stage_stats st;
        sl_pipeline_stage_stats(p, i, &st);
        slow += st.slow;
    }
    if (slow)
        printf("slow      %llu batch%s over warn_slow\n", (unsigned long long)slow,
               slow == 1 ? "" : "es");
    if (retries)
        printf("retries   %llu\n", (unsigned long long)retries);
    if (dropped > ndead)
        printf("skipped   %llu\n", (unsigned long long)(dropped - ndead));
    if (ndead == 0)
        return;
    printf("dead letters %zu%s\n", ndead,
           output ? " (all of them in the group /deadletters of the output)" : "");
    for (size_t i = 0; i < ndead && i < SHOWN; i++) {
        uint64_t seq;
        const char *stage, *error;
        unsigned attempts;
        sl_ctx_deadletter_get(ctx, i, &seq, &stage, &attempts, &error);
        printf("  batch %llu: stage '%s', %u attempt%s: %s\n", (unsigned long long)seq, stage,
               attempts, attempts == 1 ? "" : "s", error);
    }
    if (ndead > SHOWN)
        printf("  ... and %zu more\n", ndead - SHOWN);
}

static void print_summary(const sl_pipeline *p, const char *output, int ranks)
{
    if (ranks > 1)
        printf("ranks     %d\n", ranks);
    if (sl_pipeline_batches_resumed(p))
        printf("resumed   %llu batches finished by earlier runs\n",
               (unsigned long long)sl_pipeline_batches_resumed(p));
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
    /* Failure columns only when something failed: most runs have none. */
    uint64_t retries = 0, dropped = 0;
    for (size_t i = 0; i < n; i++) {
        sl_stage_stats st;
        sl_pipeline_stage_stats(p, i, &st);
        retries += st.retries + st.timeouts;
        dropped += st.dropped;
    }
    bool failures = retries || dropped;
    printf("  %-*s %12s %10s%s\n", w, "stage", "batches", "busy s",
           failures ? "    retries   timeouts    dropped" : "");
    for (size_t i = 0; i < n; i++) {
        sl_stage_stats st;
        sl_pipeline_stage_stats(p, i, &st);
        printf("  %-*s %12llu %10.3f", w, st.name ? st.name : "?",
               (unsigned long long)st.batches, st.busy_s);
        if (failures)
            printf(" %10llu %10llu %10llu", (unsigned long long)st.retries,
                   (unsigned long long)st.timeouts, (unsigned long long)st.dropped);
        printf("\n");
    }
    const sl_ctx *ctx = sl_pipeline_ctx(p);
    print_failures(p, ctx, output);
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

/* After a failed run (every rank gets here: sl_dist_run agrees on the
 * outcome): prints the error and says whether any rank's watchdog fired, so
 * that every rank exits with the same status. Collective. */
static int run_failed(sl_dist *d, const sl_pipeline *p, const sl_error *err, const char *job)
{
    cli_fail(err, CLI_FAILED);
    /* Every rank of a stopped run kept its part: say how to go on. */
    if (sl_pipeline_state_dir(p) && sl_dist_rank(d) == 0)
        fprintf(stderr, "sluice: the finished batches are kept in %s; continue with: sluice run "
                        "%s --resume\n", sl_pipeline_state_dir(p), job);
    sl_error werr;
    sl_error_clear(&werr);
    bool fired = sl_pipeline_watchdog_fired(p);
    if (fired)
        sl_error_set(&werr, SL_ECANCELED, __FILE__, __LINE__, __func__, "the run hung");
    if (sl_dist_agree(d, fired ? SL_ECANCELED : SL_OK, &werr, false) != SL_OK)
        return CLI_HUNG;
    /* The ranks agreed on err, and on keeping a state: the same on all. */
    return err->code == SL_ECANCELED && sl_pipeline_resumable(p) ? CLI_RESUMABLE : CLI_FAILED;
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
        .resume = a->resume,
        .retry_deadletters = a->retry_dead,
        .checkpoint_s = a->checkpoint < 0 ? 0 : a->checkpoint == 0 ? -1 : a->checkpoint,
    };
    /* A requeued job whose run had finished: its output is complete. Rank
     * 0 looks and the others follow, whatever their view of the files. */
    struct stat sb;
    char state[4096];
    snprintf(state, sizeof state, "%s.sluice", opts.output ? opts.output : "");
    bool complete = sl_dist_rank(d) == 0 && a->resume && opts.output &&
                    lstat(opts.output, &sb) == 0 && lstat(state, &sb) != 0;
    if (sl_dist_agree(d, complete ? SL_EEXIST : SL_OK, &err, false) == SL_EEXIST) {
        if (sl_dist_rank(d) == 0 && !a->quiet)
            printf("nothing to resume: %s is complete\n", opts.output);
        sl_job_destroy(&job);
        return CLI_OK;
    }
    sl_registry *reg = NULL;
    sl_pipeline *p = NULL;
    s = sl_registry_create(&reg, &err);
    if (s == SL_OK)
        s = sl_pipeline_from_job(&p, job, reg, &opts, &err);
    const char *warning = NULL;
    if (s == SL_OK)
        s = sl_dist_check(d, p, job, &warning, &err);
    /* Rank 0 alone: the others may find the state rank 0 is making. */
    if (s == SL_OK && sl_dist_rank(d) == 0)
        s = sl_pipeline_check_state(p, &err);
    s = sl_dist_agree(d, s, &err, false);
    if (s == SL_OK && warning && sl_dist_rank(d) == 0)
        fprintf(stderr, "sluice: warning: %s\n", warning);
    int rc = s == SL_OK ? CLI_OK : cli_fail(&err, cli_build_status(s));
    if (rc == CLI_OK) {
        sl_pipeline_set_watchdog(p, a->watchdog);
        if (a->trace && sl_pipeline_set_trace(p, a->trace, &err) != SL_OK)
            fprintf(stderr, "sluice: warning: no trace: %s\n", err.msg);
        run_active = p;
        run_speaks = sl_dist_rank(d) == 0;
        set_signals(true);
        /* Rank 0 knows only its own batches; a job that places stages on rank
         * groups runs them in other pipelines, so it shows no progress. */
        progress_opts po = {.mode = a->progress, .interval_s = a->progress_interval,
                            .rank = sl_dist_rank(d), .ranks = sl_dist_size(d), .quiet = a->quiet};
        if (po.ranks > 1 && sl_job_stage_mode(job))
            po.mode = PROGRESS_NEVER;
        run_progress *prog = NULL;
        progress_start(&prog, p, &po);
        s = sl_dist_run(d, p, job, reg, &err);
        progress_stop(&prog);
        set_signals(false);
        run_active = NULL;
        rc = s == SL_OK ? CLI_OK : run_failed(d, p, &err, a->job);
    }
    if (rc == CLI_OK && !a->quiet && sl_dist_rank(d) == 0)
        print_summary(p, opts.output, sl_dist_size(d));
    if (rc == CLI_OK && sl_dist_rank(d) == 0)
        rc = run_stats_report(p, a->stats, a->quiet);
    /* The pipeline points into plugins the registry keeps loaded. */
    sl_pipeline_destroy(&p);
    sl_registry_destroy(&reg);
    sl_job_destroy(&job);
    return rc;
}

int cmd_run(int argc, char **argv)
{
    run_args a = {.watchdog = -1, .progress_interval = -1, .checkpoint = -1};
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
