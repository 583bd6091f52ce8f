/* tests/e2e/test_faulty.c - the `faulty` stage in real runs of the sluice
 * command: a failing batch fails the run with its stage and seq and leaves no
 * output; a crash kills the process by the chosen signal and leaves nothing
 * under the user's name; sleeps change nothing in the output and stop when
 * the run stops (a failure elsewhere, SIGTERM).
 *
 * The crash and SIGTERM cases start sluice with fork/exec rather than
 * e2e_sluice, to see which signal ended it and to signal it themselves. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e_util.h"

static char errbuf[4096];

/* range (100 batches of 10 rows) -> faulty(params) -> sum -> h5sink, as a job
 * file in a fresh directory. Writes the job path to job, the output to out. */
static void faulty_job(const char *params, char *job, char *out, size_t cap)
{
    const char *dir = e2e_tmpdir();
    snprintf(job, cap, "%s/job.yaml", dir);
    snprintf(out, cap, "%s/o.h5", dir);
    FILE *f = fopen(job, "w");
    cr_assert(f);
    fprintf(f,
            "job: faulty\noutput: o.h5\nstages:\n"
            "  - stage: range\n    params: {stop: 1000, batch: 10}\n"
            "%s%s%s"
            "  - stage: sum\n    params: {columns: [n]}\n"
            "  - stage: h5sink\n",
            params ? "  - stage: faulty\n    params: " : "", params ? params : "",
            params ? "\n" : "");
    fclose(f);
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static int exists_part(const char *out)
{
    char part[600];
    snprintf(part, sizeof part, "%s.part", out);
    return e2e_file_exists(part);
}

/* Runs the job with extra args; expects exit 1, one stderr line holding
 * want, and neither the output nor its .part left. */
static void expect_failure(const char *params, const char *extra, const char *want)
{
    char job[512], out[512], args[1400];
    faulty_job(params, job, out, sizeof job);
    snprintf(args, sizeof args, "run %s -o %s %s", job, out, extra);
    int rc = e2e_sluice(NULL, args, errbuf, sizeof errbuf);
    cr_assert_eq(rc, 1, "sluice %s -> %d: %s", args, rc, errbuf);
    cr_assert_eq(lines(errbuf), 1, "not one line: <%s>", errbuf);
    cr_assert(strstr(errbuf, want), "wanted '%s' in: %s", want, errbuf);
    cr_assert(!e2e_file_exists(out), "%s was left behind", out);
    cr_assert(!exists_part(out), "%s.part was left behind", out);
}

Test(faulty, listed_seq_fails_the_run_naming_stage_and_batch)
{
    expect_failure("{fail_seqs: 7}", "-t 2",
                   "stage 'faulty', batch 7: faulty: batch 7 fails (fail_seqs), attempt 1");
}

Test(faulty, yaml_list_of_seqs_and_fail_times_in_the_message)
{
    /* No retries yet: the first of fail_times attempts fails the run. */
    expect_failure("{fail_seqs: [40-42], fail_times: 3}", "-t 1",
                   "fails (fail_seqs), attempt 1 of 3");
}

Test(faulty, seeded_rate_failure_says_so)
{
    expect_failure("{fail_rate: 0.5, seed: 9}", "-t 2", "fails (fail_rate 0.5), attempt 1");
}

Test(faulty, bad_seq_text_is_bad_input_naming_the_parameter)
{
    char job[512], out[512], args[1400];
    faulty_job("{}", job, out, sizeof job);
    snprintf(args, sizeof args, "run %s -o %s faulty.sleep_seqs=4,12-10", job, out);
    int rc = e2e_sluice(NULL, args, errbuf, sizeof errbuf);
    cr_assert_eq(rc, 2, "-> %d: %s", rc, errbuf);
    cr_assert_eq(lines(errbuf), 1, "not one line: <%s>", errbuf);
    cr_assert(strstr(errbuf, "stage 'faulty': parameter 'sleep_seqs': range '12-10' runs "
                             "backwards"),
              "%s", errbuf);
    cr_assert(!e2e_file_exists(out));
}

Test(faulty, sleeps_and_a_zero_rate_leave_the_output_unchanged)
{
    char job[512], out[512], ref[512], rjob[512], args[1400], why[256] = "";
    faulty_job("{fail_rate: 0, sleep_ms: 1, sleep_rate: 1}", job, out, sizeof job);
    faulty_job(NULL, rjob, ref, sizeof rjob);
    snprintf(args, sizeof args, "run %s -o %s -t 2", job, out);
    cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 0, "%s", errbuf);
    snprintf(args, sizeof args, "run %s -o %s -t 2", rjob, ref);
    cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 0, "%s", errbuf);
    cr_assert(e2e_same_datasets(out, ref, why, sizeof why), "%s", why);
    cr_assert_eq(e2e_attr_u64(out, "sum_n"), 999u * 1000u / 2);
    cr_assert_eq(e2e_attr_u64(ref, "sum_n"), 999u * 1000u / 2);
}

Test(faulty, a_failure_elsewhere_ends_a_long_sleep, .timeout = 60)
{
    /* Batch 0 would sleep a minute; batch 5 fails meanwhile on the other
     * thread, and the sleep notices the run is failing within ~10 ms. */
    time_t t0 = time(NULL);
    expect_failure("{sleep_ms: 60000, sleep_seqs: 0, fail_seqs: 5}", "-t 2",
                   "stage 'faulty', batch 5: faulty: batch 5 fails");
    cr_assert(time(NULL) - t0 < 20, "the run took %lld s", (long long)(time(NULL) - t0));
}

/* --- Runs watched by signal --- */

/* Starts `sluice run job -o out [extra]` with stderr to errfile, no core
 * file, and sanitizers (if built in) leaving fatal signals alone. */
static pid_t spawn(const char *job, const char *out, const char *extra, const char *errfile)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid > 0)
        return pid;
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    setenv("ASAN_OPTIONS", "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0", 1);
    if (!freopen("/dev/null", "w", stdout) || !freopen(errfile, "w", stderr))
        _exit(125);
    char bin[512];
    snprintf(bin, sizeof bin, "%s/bin/sluice", SL_TEST_BINARY_DIR);
    char *argv[] = {bin, "run", (char *)job, "-o", (char *)out, (char *)extra, NULL};
    if (!extra)
        argv[5] = NULL;
    execv(bin, argv);
    _exit(126);
}

/* Waits at most limit_s seconds for pid (then kills it); returns its status. */
static int wait_for(pid_t pid, int limit_s)
{
    int status = 0;
    for (int i = 0; i < limit_s * 100; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    cr_assert_fail("sluice still ran after %d s", limit_s);
    return status;
}

static void read_file(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Crashes batch seq by kind; expects death by sig and no file under the
 * user's name. A crash bypasses the core's clean-up: reports whether the
 * sink's temporary file stayed. */
static void expect_crash(const char *kind, int sig, unsigned seq)
{
    char params[128], job[512], out[512], errfile[600];
    snprintf(params, sizeof params, "{crash_seqs: %u, crash: %s}", seq, kind);
    faulty_job(params, job, out, sizeof job);
    snprintf(errfile, sizeof errfile, "%s.err", job);
    int status = wait_for(spawn(job, out, "-t 2", errfile), 60);
    read_file(errfile, errbuf, sizeof errbuf);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == sig,
              "crash=%s: wanted signal %d, got %s %d; stderr: %s", kind, sig,
              WIFSIGNALED(status) ? "signal" : "exit",
              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), errbuf);
    char want[128];
    snprintf(want, sizeof want, "faulty: batch %u crashes the process (crash=%s)", seq, kind);
    cr_assert(strstr(errbuf, want), "wanted '%s' in: %s", want, errbuf);
    cr_assert(!e2e_file_exists(out), "a crashed run left %s", out);
    cr_log_info("crash=%s at batch %u: %s.part %s", kind, seq, out,
                exists_part(out) ? "was left behind" : "was not there");
}

Test(faulty_crash, segv_kills_the_process_and_leaves_no_output, .timeout = 90)
{
    expect_crash("segv", SIGSEGV, 3);
}

Test(faulty_crash, bus_fpe_and_abort_die_by_their_signals, .timeout = 200)
{
    expect_crash("bus", SIGBUS, 3);
    expect_crash("fpe", SIGFPE, 3);
    expect_crash("abort", SIGABRT, 3);
}

Test(faulty_crash, late_crash_leaves_no_output_under_the_users_name, .timeout = 90)
{
    /* By batch 90 the sink has written earlier batches to its temporary file. */
    expect_crash("segv", SIGSEGV, 90);
}

Test(faulty, sigterm_ends_sleeping_batches_and_the_run, .timeout = 60)
{
    char job[512], out[512], errfile[600];
    faulty_job("{sleep_ms: 60000, sleep_rate: 1}", job, out, sizeof job);
    snprintf(errfile, sizeof errfile, "%s.err", job);
    pid_t pid = spawn(job, out, "-t 2", errfile);
    usleep(500000); /* let the run start and both threads fall asleep */
    time_t t0 = time(NULL);
    /* The first signal lets the batches in flight finish (a minute here);
     * the second abandons them. Stopped by signals: exit 3, resumable. */
    kill(pid, SIGTERM);
    usleep(200000);
    kill(pid, SIGTERM);
    int status = wait_for(pid, 20);
    read_file(errfile, errbuf, sizeof errbuf);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status %#x; stderr: %s", status,
              errbuf);
    cr_assert(strstr(errbuf, "letting the batches in flight finish"), "%s", errbuf);
    cr_assert(time(NULL) - t0 < 10, "stopping took %lld s", (long long)(time(NULL) - t0));
    cr_assert(strstr(errbuf, "abandoned, the run is stopping: faulty: batch"), "%s", errbuf);
    cr_assert(strstr(errbuf, "stopped sleeping after"), "%s", errbuf);
    cr_assert(!e2e_file_exists(out), "%s was left behind", out);
    cr_assert(!exists_part(out), "%s.part was left behind", out);
}
