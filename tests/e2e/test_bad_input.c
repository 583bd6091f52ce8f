/* tests/e2e/test_bad_input.c - every kind of bad input gets one line on
 * stderr naming the file:line:col, stage or parameter, exit status 2 (1 for a
 * run that fails midway), and leaves no output file behind. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_util.h"

static char errbuf[4096];

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Writes a job file into a fresh directory; returns its path. */
static const char *job_file(const char *yaml, char *dir_out)
{
    static char path[512];
    const char *dir = e2e_tmpdir();
    strcpy(dir_out, dir);
    snprintf(path, sizeof path, "%s/job.yaml", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(yaml, f);
    fclose(f);
    return path;
}

/* Runs and checks: status, one stderr line containing `want`, no output. */
static void expect_error(const char *args, int status, const char *want, const char *out)
{
    int rc = e2e_sluice(NULL, args, errbuf, sizeof errbuf);
    cr_assert_eq(rc, status, "sluice %s -> %d (want %d): %s", args, rc, status, errbuf);
    cr_assert_eq(lines(errbuf), 1, "not one line: <%s>", errbuf);
    cr_assert(strstr(errbuf, want), "wanted '%s' in: %s", want, errbuf);
    if (out) {
        char part[600];
        snprintf(part, sizeof part, "%s.part", out);
        cr_assert(!e2e_file_exists(out), "%s was left behind", out);
        cr_assert(!e2e_file_exists(part), "%s was left behind", part);
    }
}

#define PRIMES_STAGES                                                                      \
    "  - stage: intervals\n    params: {stop: 1000, width: 100}\n  - stage: primes\n"      \
    "  - stage: h5sink\n"

Test(bad_input, unknown_stage_suggests_the_nearest)
{
    char dir[256], args[1024];
    const char *job = job_file("output: o.h5\nstages:\n  - stage: intervals\n  - stage: prims\n", dir);
    snprintf(args, sizeof args, "run %s -o %s/o.h5", job, dir);
    expect_error(args, 2, "job.yaml:4:5: unknown stage 'prims' (did you mean 'primes'?)", NULL);
}

Test(bad_input, unknown_parameter_suggests_the_nearest)
{
    char args[1024], out[512];
    snprintf(out, sizeof out, "%s/o.h5", e2e_tmpdir());
    snprintf(args, sizeof args, "run jobs/primes.yaml -o %s primes.twin=true", out);
    expect_error(args, 2, "unknown parameter 'twin' (did you mean 'twins'?)", out);
}

Test(bad_input, value_of_wrong_type_names_stage_and_parameter)
{
    char args[1024], out[512];
    snprintf(out, sizeof out, "%s/o.h5", e2e_tmpdir());
    snprintf(args, sizeof args, "run jobs/primes.yaml -o %s intervals.stop=lots", out);
    expect_error(args, 2, "stage 'intervals': parameter 'stop'", out);
}

Test(bad_input, value_out_of_range_names_the_limit)
{
    char args[1024], out[512];
    snprintf(out, sizeof out, "%s/o.h5", e2e_tmpdir());
    snprintf(args, sizeof args, "run jobs/primes.yaml -o %s intervals.width=0", out);
    expect_error(args, 2, "parameter 'width'=0 is below minimum 1", out);
}

Test(bad_input, yaml_syntax_error_has_file_line_and_column)
{
    char dir[256], args[1024];
    const char *job = job_file("job: x\nstages:\n  - stage: range\n   params: {stop: 10\n", dir);
    snprintf(args, sizeof args, "validate %s", job);
    expect_error(args, 2, "job.yaml:4:", NULL);
    cr_assert(strstr(errbuf, "YAML syntax error"), "%s", errbuf);
}

Test(bad_input, empty_pipeline_is_refused)
{
    char dir[256], args[1024];
    const char *job = job_file("job: x\nstages: []\n", dir);
    snprintf(args, sizeof args, "run %s -o %s/o.h5", job, dir);
    expect_error(args, 2, "the job has no stages", NULL);
}

Test(bad_input, source_that_is_not_first_is_refused)
{
    char dir[256], args[1024];
    const char *job = job_file("stages:\n  - stage: intervals\n  - stage: range\n", dir);
    snprintf(args, sizeof args, "validate %s", job);
    expect_error(args, 2, "stage 'range' (range) is a source but is not first", NULL);
}

Test(bad_input, sink_that_is_not_last_is_refused)
{
    char dir[256], args[1024];
    const char *job = job_file(
        "output: o.h5\nstages:\n  - stage: intervals\n  - stage: h5sink\n  - stage: primes\n", dir);
    snprintf(args, sizeof args, "validate %s", job);
    expect_error(args, 2, "comes after the sink 'h5sink'", NULL);
}

Test(bad_input, output_in_a_missing_directory)
{
    expect_error("run jobs/primes.yaml -o /nonexistent/dir/p.h5", 2,
                 "directory '/nonexistent/dir' does not exist", "/nonexistent/dir/p.h5");
}

Test(bad_input, output_in_an_unwritable_directory)
{
    /* /proc/self refuses writes even to root, which ignores file modes. */
    expect_error("run jobs/primes.yaml -o /proc/self/p.h5", 2, "is not writable", NULL);
}

Test(bad_input, existing_output_needs_force_and_stays_untouched)
{
    char out[512], args[1024];
    snprintf(out, sizeof out, "%s/o.h5", e2e_tmpdir());
    FILE *f = fopen(out, "w");
    fputs("precious", f);
    fclose(f);
    snprintf(args, sizeof args, "run jobs/primes.yaml -o %s", out);
    expect_error(args, 2, "exists (use --force to replace it)", NULL);
    char buf[32] = "";
    f = fopen(out, "r");
    cr_assert(fgets(buf, sizeof buf, f));
    fclose(f);
    cr_assert_str_eq(buf, "precious");
    snprintf(args, sizeof args, "run jobs/primes.yaml -o %s --force intervals.stop=1e6", out);
    cr_assert_eq(e2e_sluice(NULL, args, errbuf, sizeof errbuf), 0, "%s", errbuf);
    cr_assert_eq(e2e_attr_u64(out, "sum_count"), 78498u);
}

Test(bad_input, failing_run_leaves_no_output_and_exits_1)
{
    /* fib refuses n >= 2^32 (F(n) would not fit in memory): the batch fails. */
    char out[512], args[1024];
    snprintf(out, sizeof out, "%s/o.h5", e2e_tmpdir());
    snprintf(args, sizeof args,
             "run jobs/fib.yaml -o %s range.start=4294967296 range.stop=4294967306 range.batch=1",
             out);
    expect_error(args, 1, "stage 'fib', batch", out);
}

Test(bad_input, bad_override_syntax)
{
    expect_error("validate jobs/primes.yaml primes.twins", 2, "is not STAGE.PARAM=VALUE", NULL);
}

Test(bad_input, unknown_stage_in_override_suggests)
{
    expect_error("validate jobs/primes.yaml prime.twins=true", 2, "did you mean 'primes'", NULL);
}

/* A batch too large to allocate (4096 pairs of 4096x4096 matrices: 512 GiB)
 * is a clear failure of the stage that asked for it, not a crash. */
Test(bad_input, batch_too_large_to_allocate_fails_cleanly)
{
    char out[512], args[1024];
    snprintf(out, sizeof out, "%s/big.h5", e2e_tmpdir());
    snprintf(args, sizeof args,
             "run jobs/matmul.yaml -t 1 -o %s matgen.n=4096 matgen.batch=4096 matgen.count=4096",
             out);
    expect_error(args, 1, "stage 'matgen', batch 0: column 'a': cannot allocate", out);
}
