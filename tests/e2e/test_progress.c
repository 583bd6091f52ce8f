/* tests/e2e/test_progress.c - the progress line of `sluice run --progress`.
 *
 * Each run is a job of about 4 s: 100 batches through a `faulty` stage that
 * sleeps 40 ms on every one of them, on one thread. Progress starts 2 s into
 * a run, so with --progress-interval 1 plain lines come at 2 s and 3 s at
 * least. Not on a terminal (stderr is a file here) the lines are plain:
 * never an escape byte. The terminal case runs sluice under script(1),
 * which gives it a pseudo-terminal, and looks for the rewritten line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"

#define JOB_BATCHES 100

static char errbuf[16384];

/* range -> faulty (40 ms a batch) -> sum, in a fresh directory; no output. */
static const char *slow_job(void)
{
    static char job[512];
    snprintf(job, sizeof job, "%s/slow.yaml", e2e_tmpdir());
    FILE *f = fopen(job, "w");
    cr_assert(f);
    fprintf(f, "job: slow\nstages:\n"
               "  - stage: range\n    params: {stop: %d, batch: 1}\n"
               "  - stage: faulty\n    params: {sleep_ms: 40, sleep_seqs: \"0-\"}\n"
               "  - stage: sum\n    params: {columns: [n]}\n",
            JOB_BATCHES);
    fclose(f);
    return job;
}

/* Counts the "progress: D/T batches" lines; checks D <= T == JOB_BATCHES. */
static int progress_lines(const char *err)
{
    int n = 0;
    for (const char *l = err; (l = strstr(l, "progress: ")) != NULL; l++) {
        unsigned long long done, total;
        cr_assert_eq(sscanf(l, "progress: %llu/%llu batches", &done, &total), 2,
                     "not a progress line: %.80s", l);
        cr_assert_leq(done, total, "done above total: %.80s", l);
        cr_assert_eq(total, JOB_BATCHES, "total is not the job's batches: %.80s", l);
        cr_assert(strstr(l, "batches/s, ETA ") != NULL, "no rate or ETA: %.80s", l);
        n++;
    }
    return n;
}

static int run_slow(const char *env, const char *opts)
{
    char args[1024];
    snprintf(args, sizeof args, "run %s -t 1 %s", slow_job(), opts);
    int rc = e2e_sluice(env, args, errbuf, sizeof errbuf);
    cr_assert_eq(rc, 0, "sluice %s -> %d: %s", args, rc, errbuf);
    return progress_lines(errbuf);
}

Test(progress, always_prints_plain_lines_with_done_of_total_and_no_escape_codes)
{
    /* --quiet silences the summary, not --progress always. */
    int n = run_slow(NULL, "-q --progress always --progress-interval 1");
    cr_assert_geq(n, 2, "%d progress lines in: %s", n, errbuf);
    cr_assert_null(memchr(errbuf, 0x1b, strlen(errbuf)), "an escape byte in: %s", errbuf);
    cr_assert_null(strchr(errbuf, '\r'), "a carriage return in: %s", errbuf);
}

Test(progress, auto_off_a_terminal_prints_plain_lines_at_the_env_interval)
{
    int n = run_slow("SLUICE_PROGRESS_INTERVAL=1", "");
    cr_assert_geq(n, 2, "%d progress lines in: %s", n, errbuf);
    cr_assert_null(memchr(errbuf, 0x1b, strlen(errbuf)), "an escape byte in: %s", errbuf);
}

Test(progress, never_prints_nothing)
{
    int n = run_slow(NULL, "--progress never --progress-interval 1");
    cr_assert_eq(n, 0, "progress lines in: %s", errbuf);
}

Test(progress, auto_with_quiet_prints_nothing)
{
    int n = run_slow("SLUICE_PROGRESS_INTERVAL=1", "-q");
    cr_assert_eq(n, 0, "progress lines in: %s", errbuf);
    cr_assert_eq(errbuf[0], '\0', "stderr not empty: %s", errbuf);
}

Test(progress, short_run_prints_nothing)
{
    char args[600];
    snprintf(args, sizeof args,
             "run jobs/fib.yaml range.stop=10000 -q --progress always --progress-interval 0.1 "
             "-o %s/fib.h5",
             e2e_tmpdir());
    int rc = e2e_sluice(NULL, args, errbuf, sizeof errbuf);
    cr_assert_eq(rc, 0, "rc %d: %s", rc, errbuf);
    cr_assert_null(strstr(errbuf, "progress:"), "progress in a short run: %s", errbuf);
}

static void expect_usage(const char *env, const char *opts, const char *want)
{
    char args[600];
    snprintf(args, sizeof args, "run jobs/primes.yaml %s", opts);
    int rc = e2e_sluice(env, args, errbuf, sizeof errbuf);
    cr_assert_eq(rc, 2, "sluice %s -> %d: %s", args, rc, errbuf);
    char *nl = strchr(errbuf, '\n');
    cr_assert(nl && nl[1] == '\0', "not one line: <%s>", errbuf);
    cr_assert(strstr(errbuf, want), "wanted '%s' in: %s", want, errbuf);
}

Test(progress, bad_values_exit_2_with_one_line)
{
    expect_usage(NULL, "--progress sometimes",
                 "--progress wants auto, always or never, not 'sometimes'");
    expect_usage(NULL, "--progress-interval 0", "--progress-interval wants seconds");
    expect_usage(NULL, "--progress-interval 1x", "not '1x'");
    expect_usage(NULL, "--progress-interval nan", "not 'nan'");
    expect_usage("SLUICE_PROGRESS_INTERVAL=-3", "", "SLUICE_PROGRESS_INTERVAL wants seconds");
    expect_usage(NULL, "--progress", "option '--progress' needs a value");
}

/* Under script(1) stdout and stderr both go to the pseudo-terminal, and so
 * into the file script writes; the line is rewritten with "\r" and erased to
 * its end with ESC [ K. */
Test(progress, on_a_terminal_one_line_is_rewritten_in_place)
{
    if (system("command -v script >/dev/null 2>&1") != 0)
        cr_skip_test("script(1) (util-linux) is not installed");
    const char *dir = e2e_tmpdir();
    char typescript[600], cmd[2400];
    snprintf(typescript, sizeof typescript, "%s/typescript", dir);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && SHELL=/bin/sh script -q -e -c \"'%s/bin/sluice' run '%s' -t 1\" '%s' "
             "</dev/null >/dev/null 2>&1",
             SL_TEST_SOURCE_DIR, SL_TEST_BINARY_DIR, slow_job(), typescript);
    int rc = system(cmd);
    cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s -> %d", cmd, rc);
    FILE *f = fopen(typescript, "rb");
    cr_assert(f, "no typescript");
    size_t n = fread(errbuf, 1, sizeof errbuf - 1, f);
    fclose(f);
    errbuf[n] = '\0';
    cr_assert(strstr(errbuf, "\rprogress: ") != NULL, "no rewritten line in: %s", errbuf);
    cr_assert(strstr(errbuf, "\033[K") != NULL, "no erase to end of line in: %s", errbuf);
    cr_assert(strstr(errbuf, "batches/s, ETA ") != NULL, "no rate or ETA in: %s", errbuf);
}
