/* tests/e2e/test_jobs.c - the reference jobs end to end: run the sluice
 * command, read the HDF5 file back, check values against public references
 * and independent computations, and check -t 1 and -t 2 give identical data. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_util.h"

static char errbuf[4096];

static void run_ok(const char *args)
{
    int rc = e2e_sluice(NULL, args, errbuf, sizeof errbuf);
    cr_assert_eq(rc, 0, "sluice %s -> exit %d: %s", args, rc, errbuf);
}

Test(job_primes, default_job_prints_pi_and_twins_below_1e10, .timeout = 240)
{
    char out[512], args[1024];
    snprintf(out, sizeof out, "%s/p.h5", e2e_tmpdir());
    snprintf(args, sizeof args, "run jobs/primes.yaml -t 2 -o %s", out);
    run_ok(args);
    cr_assert_eq(e2e_attr_u64(out, "sum_count"), 455052511u);
    cr_assert_eq(e2e_attr_u64(out, "sum_twins"), 27412679u);
    size_t n;
    uint64_t *count = e2e_read_u64(out, "count", &n);
    cr_assert_eq(n, 100);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += count[i];
    cr_assert_eq(total, 455052511u);
    cr_assert_eq(count[0], 5761455u); /* pi(10^8): the first interval */
    free(count);
}

Test(job_primes, rows_sit_at_their_interval_and_match_reference_sums)
{
    char out[512], args[1024];
    snprintf(out, sizeof out, "%s/p.h5", e2e_tmpdir());
    snprintf(args, sizeof args,
             "run jobs/primes.yaml -t 2 -o %s intervals.stop=1e7 intervals.width=99991 "
             "intervals.batch=7",
             out);
    run_ok(args);
    cr_assert_eq(e2e_attr_u64(out, "sum_count"), 664579u);
    cr_assert_eq(e2e_attr_u64(out, "sum_twins"), 58980u);
    size_t n, m;
    uint64_t *lo = e2e_read_u64(out, "lo", &n);
    uint64_t *hi = e2e_read_u64(out, "hi", &m);
    cr_assert_eq(n, (10000000 + 99990) / 99991);
    cr_assert_eq(m, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(lo[i], i * 99991u);
        cr_assert_eq(hi[i], i + 1 == n ? 10000000u : (i + 1) * 99991u);
    }
    free(lo);
    free(hi);
}

static void same_for_threads(const char *job, const char *extra)
{
    const char *dir = e2e_tmpdir();
    char a[512], b[512], args[1024], why[256] = "";
    snprintf(a, sizeof a, "%s/t1.h5", dir);
    snprintf(b, sizeof b, "%s/t2.h5", dir);
    snprintf(args, sizeof args, "run %s -t 1 -o %s %s", job, a, extra);
    run_ok(args);
    snprintf(args, sizeof args, "run %s -t 2 -o %s %s", job, b, extra);
    run_ok(args);
    cr_assert(e2e_same_datasets(a, b, why, sizeof why), "%s: %s", job, why);
}

Test(determinism, primes_datasets_identical_for_1_and_2_threads)
{
    same_for_threads("jobs/primes.yaml", "intervals.stop=3e7 intervals.width=1e6");
}

Test(determinism, fib_datasets_identical_for_1_and_2_threads)
{
    same_for_threads("jobs/fib.yaml", "range.stop=20000 range.batch=97 fib.store=full");
}

Test(determinism, matmul_datasets_identical_for_1_and_2_threads)
{
    same_for_threads("jobs/matmul.yaml", "matgen.n=64 matgen.count=24 matgen.batch=5 matmul.store=full");
}

/* Rows of ../shared/reference/fibonacci.tsv: n, digits, F(n) mod 2^64, value. */
static const struct {
    unsigned n, digits;
    uint64_t mod;
    const char *value;
} fibref[] = {
    {0, 1, 0u, "0"},
    {1, 1, 1u, "1"},
    {2, 1, 1u, "1"},
    {10, 2, 55u, "55"},
    {50, 11, 12586269025u, "12586269025"},
    {93, 20, 12200160415121876738u, "12200160415121876738"},
    {94, 20, 1293530146158671551u, "19740274219868223167"},
    {100, 21, 3736710778780434371u, "354224848179261915075"},
    {1000, 209, 817770325994397771u, NULL},
    {10000, 2090, 15574651946073070043u, NULL},
};

Test(job_fib, exact_values_digits_and_residues_from_the_reference)
{
    char out[512], args[1024];
    snprintf(out, sizeof out, "%s/f.h5", e2e_tmpdir());
    snprintf(args, sizeof args, "run jobs/fib.yaml -t 2 -o %s range.stop=10001 range.batch=37 fib.store=full",
             out);
    run_ok(args);
    size_t n, m;
    uint64_t *digits = e2e_read_u64(out, "digits", &n);
    uint64_t *mod = e2e_read_u64(out, "mod", &m);
    cr_assert_eq(n, 10001);
    for (size_t i = 0; i < sizeof fibref / sizeof fibref[0]; i++) {
        unsigned k = fibref[i].n;
        cr_assert_eq(digits[k], fibref[i].digits, "digits of F(%u)", k);
        cr_assert_eq(mod[k], fibref[i].mod, "F(%u) mod 2^64", k);
        if (fibref[i].value) {
            char *v = e2e_read_bytes_row(out, "value", k);
            cr_assert_str_eq(v, fibref[i].value, "F(%u)", k);
            free(v);
        }
    }
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += digits[i];
    cr_assert_eq(e2e_attr_u64(out, "sum_digits"), total);
    free(digits);
    free(mod);
}

Test(job_matmul, products_match_a_naive_product_of_the_stored_inputs)
{
    const size_t N = 24, COUNT = 7;
    char out[512], args[1024];
    snprintf(out, sizeof out, "%s/m.h5", e2e_tmpdir());
    snprintf(args, sizeof args,
             "run jobs/matmul.yaml -t 2 -o %s matgen.n=%zu matgen.count=%zu matgen.batch=3 "
             "matmul.store=full matmul.keep_inputs=true",
             out, N, COUNT);
    run_ok(args);
    size_t na, nb, nc, nt, nf;
    double *a = e2e_read_f64(out, "a", &na), *b = e2e_read_f64(out, "b", &nb);
    double *c = e2e_read_f64(out, "c", &nc), *tr = e2e_read_f64(out, "trace", &nt);
    double *fr = e2e_read_f64(out, "frobenius", &nf);
    cr_assert_eq(na, COUNT * N * N);
    cr_assert_eq(nt, COUNT);
    double sum_trace = 0;
    for (size_t k = 0; k < COUNT; k++) {
        const double *A = a + k * N * N, *B = b + k * N * N, *C = c + k * N * N;
        double t = 0, f = 0;
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++) {
                double s = 0;
                for (size_t l = 0; l < N; l++)
                    s += A[i * N + l] * B[l * N + j];
                cr_assert(fabs(s - C[i * N + j]) <= 1e-12 * (1 + fabs(s)), "C[%zu][%zu][%zu]", k, i, j);
                if (i == j)
                    t += s;
                f += s * s;
            }
        cr_assert(fabs(t - tr[k]) <= 1e-10 * (1 + fabs(t)), "trace %zu: %g vs %g", k, t, tr[k]);
        cr_assert(fabs(sqrt(f) - fr[k]) <= 1e-10 * sqrt(f), "frobenius %zu", k);
        sum_trace += tr[k];
    }
    cr_assert(fabs(e2e_attr_f64(out, "sum_trace") - sum_trace) <= 1e-9 * (1 + fabs(sum_trace)));
    free(a);
    free(b);
    free(c);
    free(tr);
    free(fr);
}
