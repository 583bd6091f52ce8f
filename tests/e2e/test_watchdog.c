/* tests/e2e/test_watchdog.c - the watchdog and the crash message in real runs
 * of the sluice command (docs/failures.md).
 *
 * A run whose batch hangs exits 4 within seconds of --watchdog, after naming
 * the stage, batch, thread and rank, whether the stuck stage stops when asked
 * (faulty's sleep) or not (the hang fixture: the process is ended); either way
 * nothing is left at the output path and a file that was there is unchanged.
 * A crash in a stage names the stage, batch and plugin file and the process
 * still dies by its signal. --watchdog 0 turns it off, SLUICE_WATCHDOG sets
 * it, bad values are one line and exit 2.
 *
 * Every run is started by fork/exec and killed after a limit, so a bug can
 * never hang the suite. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e_util.h"

#define LIMIT_S 60 /* no run of this file may take longer */

static char errbuf[8192];

typedef struct run {
    char dir[256], job[512], out[512], part[600], errfile[600];
} run;

/* range (100 batches of 10 rows) -> STAGE{params} -> sum -> h5sink in a fresh
 * directory; out is <dir>/o.h5. */
static void make_job(run *r, const char *stage, const char *params)
{
    snprintf(r->dir, sizeof r->dir, "%s", e2e_tmpdir());
    snprintf(r->job, sizeof r->job, "%s/job.yaml", r->dir);
    snprintf(r->out, sizeof r->out, "%s/o.h5", r->dir);
    /* Where the sink writes: the first segment of the run's state. */
    snprintf(r->part, sizeof r->part, "%s.sluice/r0-0.h5.tmp", r->out);
    snprintf(r->errfile, sizeof r->errfile, "%s/stderr", r->dir);
    FILE *f = fopen(r->job, "w");
    cr_assert(f);
    fprintf(f,
            "job: watchdog\nstages:\n"
            "  - stage: range\n    params: {stop: 1000, batch: 10}\n"
            "  - stage: %s\n    params: %s\n"
            "  - stage: sum\n    params: {columns: [n]}\n"
            "  - stage: h5sink\n",
            stage, params);
    fclose(f);
}

/* Runs `sluice run JOB -o OUT -t 2 ARGS...` (NULL-terminated) with env
 * settings ("VAR=value" or "VAR" to unset, NULL-terminated) and the hang
 * fixture on the stage path. Returns the wait status; stderr in errbuf;
 * *secs the time it took. */
static int run_sluice(const run *r, const char *const *env, const char *const *args, double *secs)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        /* Sanitizers (if built in) leave the fatal signals to us. */
        setenv("ASAN_OPTIONS", "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0", 1);
        setenv("SLUICE_STAGE_PATH", SL_TEST_RUN_FIXTURE_DIR, 1);
        unsetenv("SLUICE_WATCHDOG");
        for (int i = 0; env && env[i]; i++) {
            char kv[256];
            snprintf(kv, sizeof kv, "%s", env[i]);
            char *eq = strchr(kv, '=');
            if (eq) {
                *eq = '\0';
                setenv(kv, eq + 1, 1);
            } else
                unsetenv(kv);
        }
        if (!freopen("/dev/null", "w", stdout) || !freopen(r->errfile, "w", stderr))
            _exit(125);
        char bin[512];
        snprintf(bin, sizeof bin, "%s/bin/sluice", SL_TEST_BINARY_DIR);
        const char *argv[32] = {bin, "run", r->job, "-o", r->out, "-t", "2"};
        int n = 7;
        for (int i = 0; args && args[i] && n < 31; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(bin, (char **)argv);
        _exit(126);
    }
    int status = 0;
    bool done = false;
    for (int i = 0; i < LIMIT_S * 100 && !done; i++) {
        done = waitpid(pid, &status, WNOHANG) == pid;
        if (!done)
            usleep(10000);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    errbuf[0] = '\0';
    FILE *f = fopen(r->errfile, "r");
    if (f) {
        size_t k = fread(errbuf, 1, sizeof errbuf - 1, f);
        errbuf[k] = '\0';
        fclose(f);
    }
    cr_assert(done, "sluice still ran after %d s; stderr: %s", LIMIT_S, errbuf);
    return status;
}

static bool exited_with(int status, int code)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

static void expect_in(const char *want)
{
    cr_assert(strstr(errbuf, want), "wanted '%s' in stderr:\n%s", want, errbuf);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(text, f);
    fclose(f);
}

static void expect_text(const char *path, const char *text)
{
    char buf[256] = "";
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s is gone", path);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    cr_assert_str_eq(buf, text, "%s was changed", path);
}

/* --- the watchdog ------------------------------------------------------------ */

Test(watchdog, a_hung_batch_is_named_and_the_run_exits_4, .timeout = 90)
{
    run r;
    make_job(&r, "faulty", "{sleep_ms: 60000, sleep_seqs: 17}");
    const char *old = "the previous output, byte for byte\n";
    write_text(r.out, old);
    double secs;
    const char *args[] = {"--force", "--watchdog", "2", NULL};
    int st = run_sluice(&r, NULL, args, &secs);
    cr_assert(exited_with(st, 4), "status %#x; stderr:\n%s", st, errbuf);
    cr_assert(secs < 10, "the run took %.1f s", secs);
    expect_in("sluice: watchdog: no batch finished for ");
    expect_in(" s (--watchdog 2); rank 0 is stuck:\n");
    expect_in("sluice: watchdog:   stage 'faulty' batch 17 on thread ");
    expect_in(" of rank 0, running for ");
    expect_in("/faulty.so)\n");
    /* The stage stopped when asked: the run failed the ordinary way. */
    expect_in("faulty: batch 17 stopped sleeping after");
    expect_text(r.out, old);
    cr_assert(!e2e_file_exists(r.part), "%s was left behind", r.part);
}

Test(watchdog, a_stage_deaf_to_the_stop_is_ended_and_its_output_removed, .timeout = 90)
{
    /* Batch 50 hangs: earlier batches reached the sink, so the temporary
     * file exists when the process is ended. */
    run r;
    make_job(&r, "hang", "{seq: 50, ms: 60000}");
    const char *old = "keep me\n";
    write_text(r.out, old);
    double secs;
    const char *args[] = {"--force", "--watchdog", "1", NULL};
    int st = run_sluice(&r, NULL, args, &secs);
    cr_assert(exited_with(st, 4), "status %#x; stderr:\n%s", st, errbuf);
    cr_assert(secs < 10, "the run took %.1f s", secs);
    expect_in("sluice: watchdog:   stage 'hang' batch 50 on thread ");
    expect_in("/hang.so)\n");
    char want[700];
    snprintf(want, sizeof want,
             "sluice: watchdog: rank 0 did not stop within 1 s of the request; removed %s, "
             "exiting with status 4\n",
             r.part);
    expect_in(want);
    expect_text(r.out, old);
    cr_assert(!e2e_file_exists(r.part), "%s was left behind", r.part);
}

Test(watchdog, every_running_job_gets_a_line, .timeout = 90)
{
    /* Both threads sleep, one in batch 0, one in batch 1. */
    run r;
    make_job(&r, "faulty", "{sleep_ms: 60000, sleep_seqs: 0-1}");
    double secs;
    const char *args[] = {"--watchdog", "1", NULL};
    int st = run_sluice(&r, NULL, args, &secs);
    cr_assert(exited_with(st, 4), "status %#x; stderr:\n%s", st, errbuf);
    expect_in("stage 'faulty' batch 0 on thread ");
    expect_in("stage 'faulty' batch 1 on thread ");
    expect_in("on thread 0 of rank 0");
    expect_in("on thread 1 of rank 0");
    cr_assert(!strstr(errbuf, "no stage is running"), "%s", errbuf);
    cr_assert(!e2e_file_exists(r.out));
}

Test(watchdog, zero_turns_it_off_and_the_command_line_beats_the_environment, .timeout = 90)
{
    /* Batch 5 takes 3 s: SLUICE_WATCHDOG=1 ends the run, --watchdog 0 on
     * top of it lets it finish. */
    run r;
    make_job(&r, "faulty", "{sleep_ms: 3000, sleep_seqs: 5}");
    double secs;
    const char *env[] = {"SLUICE_WATCHDOG=1", NULL};
    int st = run_sluice(&r, env, NULL, &secs);
    cr_assert(exited_with(st, 4), "SLUICE_WATCHDOG=1: status %#x; stderr:\n%s", st, errbuf);
    expect_in("(--watchdog 1); rank 0 is stuck:");
    const char *off[] = {"--watchdog", "0", NULL};
    st = run_sluice(&r, env, off, &secs);
    cr_assert(exited_with(st, 0), "--watchdog 0: status %#x; stderr:\n%s", st, errbuf);
    cr_assert(!strstr(errbuf, "watchdog"), "%s", errbuf);
    cr_assert(secs >= 3, "batch 5 did not sleep: %.1f s", secs);
    cr_assert_eq(e2e_attr_u64(r.out, "sum_n"), 999u * 1000u / 2);
}

Test(watchdog, a_slow_batch_under_the_limit_is_left_alone, .timeout = 90)
{
    run r;
    make_job(&r, "faulty", "{sleep_ms: 1500, sleep_seqs: 10}");
    double secs;
    const char *args[] = {"--watchdog", "4", NULL};
    int st = run_sluice(&r, NULL, args, &secs);
    cr_assert(exited_with(st, 0), "status %#x; stderr:\n%s", st, errbuf);
    cr_assert_eq(errbuf[0], '\0', "stderr: %s", errbuf);
}

static void expect_bad(const char *const *env, const char *const *args, const char *want)
{
    run r;
    make_job(&r, "faulty", "{}");
    double secs;
    int st = run_sluice(&r, env, args, &secs);
    cr_assert(exited_with(st, 2), "status %#x; stderr:\n%s", st, errbuf);
    cr_assert(strchr(errbuf, '\n') == errbuf + strlen(errbuf) - 1, "not one line: %s", errbuf);
    expect_in(want);
    cr_assert(!e2e_file_exists(r.out));
}

Test(watchdog, bad_values_are_one_line_and_exit_2, .timeout = 90)
{
    static const char *const bad[] = {"-1", "abc", "", "nan", "inf", "0x10", "1e99", "5s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *args[] = {"--watchdog", bad[i], NULL};
        char want[128];
        snprintf(want, sizeof want,
                 "sluice: --watchdog wants seconds from 0 (off) to 31536000, not '%s'", bad[i]);
        expect_bad(NULL, args, want);
    }
    const char *env[] = {"SLUICE_WATCHDOG=ten", NULL};
    expect_bad(env, NULL, "sluice: SLUICE_WATCHDOG wants seconds from 0 (off) to 31536000, "
                          "not 'ten'");
    const char *none[] = {"--watchdog", NULL};
    expect_bad(NULL, none, "option '--watchdog' needs a value");
}

/* --- crashes ------------------------------------------------------------------ */

static void expect_crash(const char *kind, int sig, const char *name)
{
    run r;
    char params[128];
    snprintf(params, sizeof params, "{crash_seqs: 3, crash: %s}", kind);
    make_job(&r, "faulty", params);
    double secs;
    int st = run_sluice(&r, NULL, NULL, &secs);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == sig, "crash=%s: status %#x; stderr:\n%s", kind,
              st, errbuf);
    char want[256];
    snprintf(want, sizeof want, "sluice: crash: %s in stage 'faulty' (plugin /", name);
    expect_in(want);
    expect_in("/faulty.so), batch 3, thread ");
    expect_in(", rank 0; the batch was not finished, a rerun or resume redoes it\n");
    cr_assert(!e2e_file_exists(r.out), "a crashed run left %s", r.out);
}

Test(crash, segv_names_stage_batch_and_plugin_and_dies_by_it, .timeout = 90)
{
    expect_crash("segv", SIGSEGV, "SIGSEGV");
}

Test(crash, bus_fpe_and_abort_name_it_too, .timeout = 200)
{
    expect_crash("bus", SIGBUS, "SIGBUS");
    expect_crash("fpe", SIGFPE, "SIGFPE");
    expect_crash("abort", SIGABRT, "SIGABRT");
}
