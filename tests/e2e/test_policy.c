/* tests/e2e/test_policy.c - failure policies in real runs of the sluice
 * command (docs/failures.md): a job whose `faulty` stage fails one batch in a
 * hundred finishes with the rest of its output intact, the failed batches
 * listed as dead letters in the file and the summary; the same output for 1
 * and 2 threads; retries that succeed change nothing in the output; skip
 * drops without listing; a timeout turns a stuck batch into a dead letter. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_util.h"

/* range (1000 batches of 10 rows, n = row index) -> faulty -> sum -> h5sink. */
static void write_job(const char *dir, const char *faulty, char *job, size_t cap)
{
    snprintf(job, cap, "%s/job.yaml", dir);
    FILE *f = fopen(job, "w");
    cr_assert(f);
    fprintf(f,
            "job: policy\nstages:\n"
            "  - stage: range\n    params: {stop: 10000, batch: 10}\n"
            "  - stage: faulty\n%s\n"
            "  - stage: sum\n    params: {columns: [n]}\n"
            "  - stage: h5sink\n",
            faulty);
    fclose(f);
}

/* Runs sluice with args; stdout and stderr into *out (malloc'd). */
static int run_capture(const char *args, char **out)
{
    char file[] = "/tmp/sluice-e2e-out-XXXXXX";
    int fd = mkstemp(file);
    cr_assert(fd >= 0);
    close(fd);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/bin/sluice' %s >'%s' 2>&1", SL_TEST_SOURCE_DIR,
             SL_TEST_BINARY_DIR, args, file);
    int rc = system(cmd);
    FILE *f = fopen(file, "r");
    cr_assert(f);
    *out = calloc(1, 1 << 20);
    size_t n = fread(*out, 1, (1 << 20) - 1, f);
    (*out)[n] = '\0';
    fclose(f);
    unlink(file);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* Row i of a variable-length string dataset, malloc'd. */
static char *read_str(const char *file, const char *dset, size_t i)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0);
    hid_t d = H5Dopen2(f, dset, H5P_DEFAULT);
    cr_assert(d >= 0, "%s has no %s", file, dset);
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    cr_assert((hssize_t)i < n);
    char **rows = calloc((size_t)n, sizeof *rows);
    cr_assert(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
    char *r = strdup(rows[i]);
    H5Dvlen_reclaim(t, sp, H5P_DEFAULT, rows);
    free(rows);
    H5Sclose(sp);
    H5Tclose(t);
    H5Dclose(d);
    H5Fclose(f);
    return r;
}

static const uint64_t bad[] = {0, 13, 99, 100, 257, 500, 501, 777, 998, 999}; /* 1 in 100 */
#define NBAD (sizeof bad / sizeof *bad)

static int is_bad(uint64_t seq)
{
    for (size_t k = 0; k < NBAD; k++)
        if (bad[k] == seq)
            return 1;
    return 0;
}

static const char *bad_list(void)
{
    static char buf[256];
    size_t len = 0;
    for (size_t k = 0; k < NBAD; k++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%llu", k ? ", " : "",
                                (unsigned long long)bad[k]);
    return buf;
}

Test(policy, one_batch_in_a_hundred_dead_lettered_and_the_rest_intact)
{
    const char *dir = e2e_tmpdir();
    char job[512], faulty[512], o1[600], o2[600], args[2048];
    snprintf(faulty, sizeof faulty,
             "    retries: 2\n    backoff: 1ms\n    on_error: deadletter\n"
             "    params: {fail_seqs: [%s]}",
             bad_list());
    write_job(dir, faulty, job, sizeof job);
    snprintf(o1, sizeof o1, "%s/t1.h5", dir);
    snprintf(o2, sizeof o2, "%s/t2.h5", dir);
    char *out;
    snprintf(args, sizeof args, "run %s -t 1 -o %s", job, o1);
    int rc = run_capture(args, &out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    /* The summary says what happened. */
    cr_assert(strstr(out, "dead letters 10"), "no dead-letter line in:\n%s", out);
    cr_assert(strstr(out, "  batch 13: stage 'faulty', 3 attempts: faulty: batch 13 fails"),
              "summary:\n%s", out);
    free(out);
    snprintf(args, sizeof args, "run %s -t 2 -o %s", job, o2);
    rc = run_capture(args, &out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    free(out);

    /* Every other row is where it belongs; the failed batches' rows keep the
     * fill value 0. */
    size_t n = 0;
    uint64_t *v = e2e_read_u64(o1, "n", &n);
    cr_assert_eq(n, 10000);
    uint64_t want_sum = 0;
    for (size_t r = 0; r < n; r++) {
        uint64_t want = is_bad(r / 10) ? 0 : r;
        cr_assert_eq(v[r], want, "row %zu holds %llu", r, (unsigned long long)v[r]);
        want_sum += want;
    }
    free(v);
    cr_assert_eq(e2e_attr_u64(o1, "sum_n"), want_sum);

    /* The dead letters, in seq order, with stage, attempts and the error. */
    uint64_t *seq = e2e_read_u64(o1, "deadletters/seq", &n);
    cr_assert_eq(n, NBAD);
    uint64_t *att = e2e_read_u64(o1, "deadletters/attempts", &n);
    for (size_t k = 0; k < NBAD; k++) {
        cr_assert_eq(seq[k], bad[k]);
        cr_assert_eq(att[k], 3);
        char *stage = read_str(o1, "deadletters/stage", k);
        char *error = read_str(o1, "deadletters/error", k);
        cr_assert_str_eq(stage, "faulty");
        char want[128];
        snprintf(want, sizeof want, "faulty: batch %llu fails (fail_seqs), attempt 3",
                 (unsigned long long)bad[k]);
        cr_assert(strstr(error, want), "dead letter %zu: %s", k, error);
        free(stage);
        free(error);
    }
    free(seq);
    free(att);

    /* Byte for byte the same with 2 threads. */
    char why[256] = "";
    cr_assert(e2e_same_datasets(o1, o2, why, sizeof why), "%s", why);
}

Test(policy, retries_that_succeed_leave_the_output_of_a_clean_run)
{
    const char *dir = e2e_tmpdir();
    char job[512], clean[600], flaky[600], args[2048];
    write_job(dir, "    params: {}", job, sizeof job);
    snprintf(clean, sizeof clean, "%s/clean.h5", dir);
    snprintf(args, sizeof args, "run %s -t 2 -o %s", job, clean);
    char *out;
    cr_assert_eq(run_capture(args, &out), 0, "%s", out);
    free(out);
    /* fail_times 2: each listed batch fails twice, then passes. */
    write_job(dir,
              "    retries: 2\n    backoff: {initial: 1ms, factor: 2, cap: 10ms}\n"
              "    params: {fail_seqs: [1, 50, 999], fail_times: 2}",
              job, sizeof job);
    snprintf(flaky, sizeof flaky, "%s/flaky.h5", dir);
    snprintf(args, sizeof args, "run %s -t 2 -o %s", job, flaky);
    cr_assert_eq(run_capture(args, &out), 0, "%s", out);
    cr_assert(strstr(out, "retries   6\n"), "no retry count in:\n%s", out);
    free(out);
    size_t n;
    uint64_t *a = e2e_read_u64(clean, "n", &n), *b = e2e_read_u64(flaky, "n", &n);
    cr_assert_eq(memcmp(a, b, n * sizeof *a), 0);
    cr_assert_eq(e2e_attr_u64(clean, "sum_n"), e2e_attr_u64(flaky, "sum_n"));
    free(a);
    free(b);
}

Test(policy, skip_drops_without_listing)
{
    const char *dir = e2e_tmpdir();
    char job[512], o[600], args[2048];
    write_job(dir, "    on_error: skip\n    params: {fail_seqs: [5, 6]}", job, sizeof job);
    snprintf(o, sizeof o, "%s/o.h5", dir);
    snprintf(args, sizeof args, "run %s -t 2 -o %s", job, o);
    char *out;
    cr_assert_eq(run_capture(args, &out), 0, "%s", out);
    cr_assert(strstr(out, "skipped   2\n"), "summary:\n%s", out);
    free(out);
    hid_t f = H5Fopen(o, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0);
    cr_assert_eq(H5Lexists(f, "deadletters", H5P_DEFAULT), 0, "skip must not list");
    H5Fclose(f);
    /* rows 0..9999 minus batches 5 and 6 (rows 50..69) */
    uint64_t want = 9999ull * 10000 / 2 - (50 + 69) * 20 / 2;
    cr_assert_eq(e2e_attr_u64(o, "sum_n"), want);
}

Test(policy, a_timeout_turns_a_stuck_batch_into_a_dead_letter)
{
    const char *dir = e2e_tmpdir();
    char job[512], o[600], args[2048];
    write_job(dir,
              "    timeout: 1s\n    on_error: deadletter\n"
              "    params: {sleep_seqs: [42], sleep_ms: 60000}",
              job, sizeof job);
    snprintf(o, sizeof o, "%s/o.h5", dir);
    snprintf(args, sizeof args, "run %s -t 2 -o %s", job, o);
    char *out;
    cr_assert_eq(run_capture(args, &out), 0, "%s", out);
    free(out);
    size_t n;
    uint64_t *seq = e2e_read_u64(o, "deadletters/seq", &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(seq[0], 42);
    free(seq);
    char *error = read_str(o, "deadletters/error", 0);
    cr_assert(strstr(error, "timed out after") && strstr(error, "timeout 1 s"), "%s", error);
    free(error);
}

Test(policy, out_of_retries_with_abort_fails_the_run_and_writes_nothing)
{
    const char *dir = e2e_tmpdir();
    char job[512], o[600], args[2048];
    write_job(dir, "    retries: 1\n    backoff: 1ms\n    params: {fail_seqs: [3]}", job,
              sizeof job);
    snprintf(o, sizeof o, "%s/o.h5", dir);
    snprintf(args, sizeof args, "run %s -t 2 -o %s", job, o);
    char *out;
    cr_assert_eq(run_capture(args, &out), 1, "%s", out);
    cr_assert(strstr(out, "stage 'faulty', batch 3: faulty: batch 3 fails (fail_seqs), attempt 2"),
              "%s", out);
    free(out);
    cr_assert(!e2e_file_exists(o));
}

Test(policy, warn_slow_names_the_slow_batch)
{
    const char *dir = e2e_tmpdir();
    char job[512], o[600], args[2048];
    write_job(dir, "    warn_slow: 500ms\n    params: {sleep_seqs: [7], sleep_ms: 1500}", job,
              sizeof job);
    snprintf(o, sizeof o, "%s/o.h5", dir);
    snprintf(args, sizeof args, "run %s -t 2 -o %s", job, o);
    char *out;
    cr_assert_eq(run_capture(args, &out), 0, "%s", out);
    cr_assert(strstr(out, "sluice: stage 'faulty', batch 7: slow: took 1.") &&
                  strstr(out, "(warn_slow 0.5 s)"),
              "no slow line for batch 7 in:\n%s", out);
    /* The other 999 batches take microseconds. */
    cr_assert(strstr(out, "slow      1 batch over warn_slow\n"), "summary:\n%s", out);
    free(out);
}

/* rebatch: range's 7-row batches joined into 1000-row ones give the same
 * datasets and totals as range making 1000-row batches itself. */
Test(policy, rebatch_changes_the_batches_not_the_output)
{
    const char *dir = e2e_tmpdir();
    char ref[600], rb[600], jref[600], jrb[600], args[2048];
    snprintf(jref, sizeof jref, "%s/ref.yaml", dir);
    snprintf(jrb, sizeof jrb, "%s/rb.yaml", dir);
    FILE *f = fopen(jref, "w");
    cr_assert(f);
    fprintf(f, "job: rb\nstages:\n  - stage: range\n    params: {stop: 100000, batch: 1000}\n"
               "  - stage: sum\n    params: {columns: [n]}\n  - stage: h5sink\n");
    fclose(f);
    f = fopen(jrb, "w");
    cr_assert(f);
    fprintf(f, "job: rb\nstages:\n  - stage: range\n    params: {stop: 100000, batch: 7}\n"
               "  - stage: rebatch\n    params: {rows: 1000}\n"
               "  - stage: sum\n    params: {columns: [n]}\n  - stage: h5sink\n");
    fclose(f);
    snprintf(ref, sizeof ref, "%s/ref.h5", dir);
    snprintf(rb, sizeof rb, "%s/rb.h5", dir);
    char *out;
    snprintf(args, sizeof args, "run %s -t 2 -o %s", jref, ref);
    cr_assert_eq(run_capture(args, &out), 0, "%s", out);
    free(out);
    for (int t = 1; t <= 2; t++) {
        snprintf(args, sizeof args, "run %s -t %d -o %s --force", jrb, t, rb);
        cr_assert_eq(run_capture(args, &out), 0, "%s", out);
        /* 100000 rows in 1000-row batches: 100 of them after the rebatch. */
        cr_assert(strstr(out, "  rebatch          100 "), "summary:\n%s", out);
        free(out);
        char why[256] = "";
        cr_assert(e2e_same_datasets(ref, rb, why, sizeof why), "%d threads: %s", t, why);
        cr_assert_eq(e2e_attr_u64(rb, "sum_n"), 4999950000ull);
    }
}
