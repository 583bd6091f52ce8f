/* tests/e2e/test_limits.c - limits and abuse, through the sluice command:
 * plugin search paths that are relative or writable by others, output paths
 * a job file may not name, existing outputs that survive refused, failed and
 * stopped runs, plans too large to number, and values near 2^64.
 *
 * Every refusal is one line on stderr, checked word for word, with exit
 * status 2 (bad input) or 1 (a run that failed or was stopped). Runs happen
 * in a directory of the test's own, since a job file's output is relative
 * to the current directory. docs/limits.md says what each rule is for. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <primesieve.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e_util.h"

#define SLUICE SL_TEST_BINARY_DIR "/bin/sluice"
#define STAGES SL_TEST_BINARY_DIR "/stages"

static char errbuf[4096];

/* Writes text to path. */
static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* The whole of path (at most 255 bytes) in a static buffer; "" when missing. */
static const char *slurp(const char *path)
{
    static char buf[256];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static int exists_l(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Runs `env sluice ARGS` in directory cwd; stderr into errbuf. Exit status. */
static int run_in(const char *cwd, const char *env, const char *args)
{
    char errfile[] = "/tmp/sluice-limits-err-XXXXXX";
    int fd = mkstemp(errfile);
    cr_assert(fd >= 0);
    close(fd);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && %s '%s' %s >/dev/null 2>'%s'", cwd, env ? env : "",
             SLUICE, args, errfile);
    int rc = system(cmd);
    errbuf[0] = '\0';
    FILE *f = fopen(errfile, "r");
    if (f) {
        size_t n = fread(errbuf, 1, sizeof errbuf - 1, f);
        errbuf[n] = '\0';
        fclose(f);
    }
    unlink(errfile);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

/* Expects status and exactly the one stderr line "sluice: " want. */
static void expect_line(int rc, int status, const char *want)
{
    char line[2048];
    snprintf(line, sizeof line, "sluice: %s\n", want);
    cr_assert_eq(rc, status, "exit %d (want %d): %s", rc, status, errbuf);
    cr_assert_str_eq(errbuf, line);
}

/* A fresh directory for the test, made 0755 (mkdtemp gives 0700). */
static const char *workdir(void)
{
    const char *d = e2e_tmpdir();
    cr_assert_eq(chmod(d, 0755), 0);
    return d;
}

#define SMALL_JOB(out)                                                                   \
    "job: t\noutput: " out "\nstages:\n  - stage: range\n    params: {stop: 100, batch: 10}\n" \
    "  - stage: h5sink\n"

/* ---- plugin search path ---------------------------------------------------- */

Test(limits_plugins, relative_stage_path_entry_is_refused)
{
    char dir[512], job[600];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(job, sizeof job, "%s/job.yaml", dir);
    put(job, SMALL_JOB("o.h5"));
    int rc = run_in(dir, "SLUICE_STAGE_PATH=plugins", "run job.yaml");
    expect_line(rc, 2, "SLUICE_STAGE_PATH: 'plugins' is relative; plugins are loaded only from "
                       "absolute directories");
}

Test(limits_plugins, empty_stage_path_entries_are_skipped)
{
    char dir[512], job[600], env[600];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(job, sizeof job, "%s/job.yaml", dir);
    put(job, "job: t\nstages:\n  - stage: range\n    params: {stop: 10}\n  - stage: sum\n"
             "    params: {columns: [n]}\n");
    snprintf(env, sizeof env, "SLUICE_STAGE_PATH=::%s:", dir);
    cr_assert_eq(run_in(dir, env, "run job.yaml -q"), 0, "%s", errbuf);
}

Test(limits_plugins, plugin_in_world_writable_directory_is_refused)
{
    char dir[512], ww[600], cmd[1400], env[700], want[2048];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(ww, sizeof ww, "%s/drop", dir);
    cr_assert_eq(mkdir(ww, 0700), 0);
    cr_assert_eq(chmod(ww, 01777), 0); /* sticky, like /tmp: still anyone may add a file */
    snprintf(cmd, sizeof cmd, "cp '%s/range.so' '%s/'", STAGES, ww);
    cr_assert_eq(system(cmd), 0);
    char job[700];
    snprintf(job, sizeof job, "%s/job.yaml", dir);
    put(job, "job: t\nstages:\n  - stage: range\n  - stage: sum\n    params: {columns: [n]}\n");
    snprintf(env, sizeof env, "SLUICE_STAGE_PATH=%s", ww);
    int rc = run_in(dir, env, "run job.yaml");
    /* The first range.so on the path is refused; no other one is tried. */
    snprintf(want, sizeof want,
             "job.yaml:3:5: %s/range.so: refused: directory %s is writable by everyone (mode "
             "1777), so anyone can put a plugin there (move the plugins to a directory only you "
             "can write, or chmod o-w %s if it is yours)",
             ww, ww, ww);
    expect_line(rc, 2, want);
    snprintf(cmd, sizeof cmd, "%s/range.so", ww);
    cr_assert_eq(chmod(ww, 0755), 0);
    cr_assert_eq(chmod(cmd, 0666), 0);
    rc = run_in(dir, env, "run job.yaml");
    snprintf(want, sizeof want,
             "job.yaml:3:5: %s: refused: file %s is writable by everyone (mode 0666): chmod o-w %s",
             cmd, cmd, cmd);
    expect_line(rc, 2, want);
    cr_assert_eq(chmod(cmd, 0644), 0);
    cr_assert_eq(run_in(dir, env, "run job.yaml -q"), 0, "%s", errbuf);
}

/* ---- output paths named by a job file ---------------------------------------- */

Test(limits_output, absolute_output_in_job_file_is_refused_but_allowed_with_o)
{
    char dir[512], job[600], yaml[1024], out[600], args[1400], want[2048];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(out, sizeof out, "%s/abs.h5", dir);
    snprintf(job, sizeof job, "%s/job.yaml", dir);
    snprintf(yaml, sizeof yaml, SMALL_JOB("%s"), out);
    put(job, yaml);
    int rc = run_in(dir, NULL, "run job.yaml");
    snprintf(want, sizeof want,
             "job.yaml: output '%s' is an absolute path; a job file may only write under the "
             "current directory (use -o PATH to write elsewhere)",
             out);
    expect_line(rc, 2, want);
    cr_assert_not(exists_l(out));
    rc = run_in(dir, NULL, "validate job.yaml");
    expect_line(rc, 2, want);
    snprintf(args, sizeof args, "run job.yaml -q -o %s", out);
    cr_assert_eq(run_in(dir, NULL, args), 0, "%s", errbuf);
    cr_assert(exists_l(out));
}

Test(limits_output, output_climbing_out_with_dotdot_is_refused)
{
    char dir[512], work[600], job[700];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(work, sizeof work, "%s/work", dir);
    cr_assert_eq(mkdir(work, 0755), 0);
    snprintf(job, sizeof job, "%s/sub", work);
    cr_assert_eq(mkdir(job, 0755), 0);
    snprintf(job, sizeof job, "%s/job.yaml", work);
    put(job, SMALL_JOB("sub/../../escaped.h5"));
    int rc = run_in(work, NULL, "run job.yaml");
    expect_line(rc, 2, "job.yaml: output 'sub/../../escaped.h5' climbs out of the current "
                       "directory; a job file may only write under the current directory (use "
                       "-o PATH to write elsewhere)");
    char esc[700];
    snprintf(esc, sizeof esc, "%s/escaped.h5", dir);
    cr_assert_not(exists_l(esc));
    /* `..` that stays inside is fine. */
    put(job, SMALL_JOB("sub/../inside.h5"));
    cr_assert_eq(run_in(work, NULL, "run job.yaml -q"), 0, "%s", errbuf);
    snprintf(esc, sizeof esc, "%s/inside.h5", work);
    cr_assert(exists_l(esc));
}

Test(limits_output, output_through_symlink_leaving_the_directory_is_refused)
{
    char dir[512], work[600], outside[600], link[700], job[700], want[2048], path[800];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(work, sizeof work, "%s/work", dir);
    snprintf(outside, sizeof outside, "%s/outside", dir);
    cr_assert_eq(mkdir(work, 0755), 0);
    cr_assert_eq(mkdir(outside, 0755), 0);
    snprintf(link, sizeof link, "%s/link", work);
    cr_assert_eq(symlink(outside, link), 0);
    snprintf(job, sizeof job, "%s/job.yaml", work);
    put(job, SMALL_JOB("link/o.h5"));
    int rc = run_in(work, NULL, "run job.yaml");
    snprintf(want, sizeof want,
             "job.yaml: output 'link/o.h5' leads outside the current directory ('link' is %s); "
             "a job file may only write under the current directory (use -o PATH to write "
             "elsewhere)",
             outside);
    expect_line(rc, 2, want);
    snprintf(path, sizeof path, "%s/o.h5", outside);
    cr_assert_not(exists_l(path));
    /* A link that stays inside the directory is fine. */
    snprintf(path, sizeof path, "%s/sub", work);
    cr_assert_eq(mkdir(path, 0755), 0);
    snprintf(link, sizeof link, "%s/in", work);
    cr_assert_eq(symlink("sub", link), 0);
    put(job, SMALL_JOB("in/o.h5"));
    cr_assert_eq(run_in(work, NULL, "run job.yaml -q"), 0, "%s", errbuf);
    snprintf(path, sizeof path, "%s/sub/o.h5", work);
    cr_assert(exists_l(path));
}

Test(limits_output, temporary_that_is_a_symlink_is_refused_and_left_alone)
{
    char dir[512], job[600], victim[600], link[600];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(victim, sizeof victim, "%s/victim", dir);
    put(victim, "precious");
    snprintf(link, sizeof link, "%s/o.h5.part", dir);
    cr_assert_eq(symlink(victim, link), 0);
    snprintf(job, sizeof job, "%s/job.yaml", dir);
    put(job, SMALL_JOB("o.h5"));
    int rc = run_in(dir, NULL, "run job.yaml --force");
    expect_line(rc, 2, "output 'o.h5': 'o.h5.part' is a symbolic link; remove it (sluice writes "
                       "the output there first)");
    cr_assert_str_eq(slurp(victim), "precious");
    cr_assert(exists_l(link), "the refused link was removed");
}

/* ---- existing outputs ---------------------------------------------------------- */

Test(limits_existing, dangling_symlink_counts_as_existing)
{
    char dir[512], job[600], link[600];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(link, sizeof link, "%s/o.h5", dir);
    cr_assert_eq(symlink("/nonexistent/target", link), 0);
    snprintf(job, sizeof job, "%s/job.yaml", dir);
    put(job, SMALL_JOB("o.h5"));
    int rc = run_in(dir, NULL, "run job.yaml");
    expect_line(rc, 2, "output 'o.h5' exists (use --force to replace it)");
    char target[64] = "";
    cr_assert_gt(readlink(link, target, sizeof target - 1), 0);
    cr_assert_str_eq(target, "/nonexistent/target");
}

Test(limits_existing, failed_forced_run_keeps_the_old_file)
{
    char dir[512], out[600], args[1400];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(out, sizeof out, "%s/o.h5", dir);
    put(out, "precious");
    /* fib refuses n >= 2^32: every batch fails once the run is under way. */
    snprintf(args, sizeof args,
             "run %s/jobs/fib.yaml -o o.h5 --force range.start=4294967296 "
             "range.stop=4294967306 range.batch=1",
             SL_TEST_SOURCE_DIR);
    int rc = run_in(dir, NULL, args);
    cr_assert_eq(rc, 1, "%s", errbuf);
    /* Every batch fails; with several threads any of them may be first. */
    cr_assert(strstr(errbuf, "stage 'fib', batch ") && strstr(errbuf, "is above maximum 4294967295"),
              "%s", errbuf);
    cr_assert_str_eq(slurp(out), "precious");
    char part[700];
    snprintf(part, sizeof part, "%s.sluice/r0-0.h5.tmp", out); /* the sink's first segment */
    cr_assert_not(exists_l(part));
}

/* Starts sluice in cwd with stderr to errfile; returns its pid. */
static pid_t spawn(const char *cwd, char *const argv[], const char *errfile)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_WRONLY);
        if (fd < 0 || nul < 0 || chdir(cwd) != 0)
            _exit(127);
        dup2(fd, 2);
        dup2(nul, 1);
        execv(SLUICE, argv);
        _exit(127);
    }
    return pid;
}

/* True once process pid catches SIGINT (sluice does so only while it runs). */
static bool catches_sigint(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    bool yes = false;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "SigCgt:", 7) == 0)
            yes = (strtoull(line + 7, NULL, 16) >> (SIGINT - 1)) & 1u;
    if (f)
        fclose(f);
    return yes;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Waits (up to 60 s) until the run is going and `ready` exists (if given),
 * then sends SIGINT; returns the exit status. */
static int stop_when_running(pid_t pid, const char *ready)
{
    for (int i = 0; i < 6000 && !(catches_sigint(pid) && (!ready || exists_l(ready))); i++)
        sleep_ms(10);
    sleep_ms(200); /* let some batches through */
    cr_assert_eq(kill(pid, SIGINT), 0);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "sluice died of signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return WEXITSTATUS(st);
}

Test(limits_existing, stopped_forced_run_keeps_the_old_file, .timeout = 120)
{
    char dir[512], out[600], part[700], errfile[700], job[700];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(out, sizeof out, "%s/o.h5", dir);
    snprintf(part, sizeof part, "%s.sluice/r0-0.h5.tmp", out); /* the sink's first segment */
    snprintf(errfile, sizeof errfile, "%s/err.txt", dir);
    snprintf(job, sizeof job, "%s/jobs/fib.yaml", SL_TEST_SOURCE_DIR);
    put(out, "precious");
    char *argv[] = {"sluice", "run", job, "-o", "o.h5", "--force", "-t", "2",
                    "range.stop=1e12", "range.batch=1000", NULL};
    pid_t pid = spawn(dir, argv, errfile);
    int rc = stop_when_running(pid, part); /* the sink has begun writing */
    snprintf(errbuf, sizeof errbuf, "%s", slurp(errfile));
    cr_assert_eq(rc, 3, "%s", errbuf); /* stopped by a signal: resumable */
    cr_assert(strstr(errbuf, "run stopped on request after "), "%s", errbuf);
    cr_assert_str_eq(slurp(out), "precious");
    cr_assert_not(exists_l(part));
}

/* ---- plans and values near 2^64 ------------------------------------------------ */

#define RANGE_SUM_JOB(stop)                                                                 \
    "job: big\nstages:\n  - stage: range\n    params: {start: 0, stop: " stop ", batch: 1}\n" \
    "  - stage: sum\n    params: {columns: [n]}\n"

Test(limits_plan, more_than_2_to_the_63_batches_is_refused_before_running)
{
    char dir[512], job[600];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(job, sizeof job, "%s/job.yaml", dir);
    put(job, RANGE_SUM_JOB("18446744073709551615"));
    int rc = run_in(dir, NULL, "run job.yaml");
    expect_line(rc, 2, "job.yaml:3:5: stage 'range' plans 18446744073709551615 batches, more "
                       "than the 9223372036854775808 (2^63) a run can number; give it fewer, "
                       "larger batches");
    rc = run_in(dir, NULL, "validate job.yaml range.stop=9223372036854775809");
    expect_line(rc, 2, "job.yaml:3:5: stage 'range' plans 9223372036854775809 batches, more "
                       "than the 9223372036854775808 (2^63) a run can number; give it fewer, "
                       "larger batches");
    /* Exactly 2^63 is allowed, and so is 2^64 - 1 rows in larger batches. */
    cr_assert_eq(run_in(dir, NULL, "validate job.yaml range.stop=9223372036854775808"), 0, "%s",
                 errbuf);
    cr_assert_eq(run_in(dir, NULL, "validate job.yaml range.batch=2"), 0, "%s", errbuf);
}

Test(limits_plan, run_of_2_to_the_63_batches_starts_and_stops_on_request, .timeout = 120)
{
    char dir[512], job[600], errfile[700];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(job, sizeof job, "%s/job.yaml", dir);
    snprintf(errfile, sizeof errfile, "%s/err.txt", dir);
    put(job, RANGE_SUM_JOB("9223372036854775808"));
    char *argv[] = {"sluice", "run", "job.yaml", "-t", "2", NULL};
    int rc = stop_when_running(spawn(dir, argv, errfile), NULL);
    snprintf(errbuf, sizeof errbuf, "%s", slurp(errfile));
    cr_assert_eq(rc, 1, "%s", errbuf);
    unsigned long long done = 0;
    /* No output, so no state: exit 1, not 3 (nothing to resume). */
    const char *line = strstr(errbuf, "sluice: run stopped");
    cr_assert(line, "%s", errbuf);
    cr_assert_eq(sscanf(line, "sluice: run stopped on request after %llu of "
                              "9223372036854775808 batches\n", &done), 1, "%s", errbuf);
    cr_assert_gt(done, 0);
}

/* Each primesieve count this close to 2^64 sieves by the primes below 2^32
 * (about 1.5 s), so the range is small: three intervals, two batches. */
Test(limits_plan, intervals_at_the_top_of_u64_count_exact_primes, .timeout = 300)
{
    /* [2^64 - 30000, 2^64 - 1) in intervals of 10^4, 2 per batch: the last
     * interval ends at UINT64_MAX and the last batch holds only it. */
    const uint64_t start = UINT64_MAX - 29999u, width = 10000u;
    char dir[512], yaml[1024], job[600];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(job, sizeof job, "%s/job.yaml", dir);
    snprintf(yaml, sizeof yaml,
             "job: top\noutput: top.h5\nstages:\n  - stage: intervals\n"
             "    params: {start: %llu, stop: %llu, width: %llu, batch: 2}\n"
             "  - stage: primes\n    params: {twins: true}\n"
             "  - stage: sum\n    params: {columns: [count, twins]}\n  - stage: h5sink\n",
             (unsigned long long)start, (unsigned long long)UINT64_MAX,
             (unsigned long long)width);
    put(job, yaml);
    cr_assert_eq(run_in(dir, NULL, "run job.yaml -t 2 -q"), 0, "%s", errbuf);
    char out[600];
    snprintf(out, sizeof out, "%s/top.h5", dir);
    size_t n, m, k, t;
    uint64_t *lo = e2e_read_u64(out, "lo", &n), *hi = e2e_read_u64(out, "hi", &m);
    uint64_t *count = e2e_read_u64(out, "count", &k), *twins = e2e_read_u64(out, "twins", &t);
    cr_assert(n == 3 && m == 3 && k == 3 && t == 3, "%zu rows", n);
    uint64_t total = 0, total_twins = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(lo[i], start + i * width);
        cr_assert_eq(hi[i], i + 1 < n ? start + (i + 1) * width : UINT64_MAX);
        /* primesieve's stop is inclusive. */
        cr_assert_eq(count[i], primesieve_count_primes(lo[i], hi[i] - 1), "row %zu", i);
        total += count[i];
        total_twins += twins[i];
    }
    cr_assert_gt(total, 0);
    /* A twin p < hi has p + 2 <= hi + 1; at the top, p + 2 <= UINT64_MAX. */
    cr_assert_eq(twins[2], primesieve_count_twins(lo[2], UINT64_MAX));
    cr_assert_eq(e2e_attr_u64(out, "sum_count"), total);
    cr_assert_eq(e2e_attr_u64(out, "sum_twins"), total_twins);
    free(lo);
    free(hi);
    free(count);
    free(twins);
}

Test(limits_plan, range_ending_at_u64_max_gives_exact_values)
{
    const uint64_t start = UINT64_MAX - 1000u;
    char dir[512], yaml[1024], job[600];
    snprintf(dir, sizeof dir, "%s", workdir());
    snprintf(job, sizeof job, "%s/job.yaml", dir);
    snprintf(yaml, sizeof yaml,
             "job: top\noutput: top.h5\nstages:\n  - stage: range\n"
             "    params: {start: %llu, stop: %llu, batch: 64}\n  - stage: h5sink\n",
             (unsigned long long)start, (unsigned long long)UINT64_MAX);
    put(job, yaml);
    cr_assert_eq(run_in(dir, NULL, "run job.yaml -t 2 -q"), 0, "%s", errbuf);
    char out[600];
    snprintf(out, sizeof out, "%s/top.h5", dir);
    size_t n;
    uint64_t *v = e2e_read_u64(out, "n", &n);
    cr_assert_eq(n, 1000);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(v[i], start + i);
    cr_assert_eq(v[n - 1], UINT64_MAX - 1);
    free(v);
}
