/* test_stage_matmul.c - dgemm kernel, trace and Frobenius against naive loops. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <cblas.h>

#include "matmul_kernel.h"

static double *random_matrix(size_t n, uint64_t *state)
{
    double *m = malloc(n * n * sizeof *m);
    for (size_t i = 0; i < n * n; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        m[i] = (double)(*state >> 11) * 0x1p-52 - 1.0;
    }
    return m;
}

static void naive(size_t n, const double *a, const double *b, double *c)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            long double s = 0;
            for (size_t k = 0; k < n; k++)
                s += (long double)a[i * n + k] * b[k * n + j];
            c[i * n + j] = (double)s;
        }
}

static void assert_close(double got, double want, double tol, const char *what, size_t n)
{
    double scale = fabs(want) > 1.0 ? fabs(want) : 1.0;
    cr_assert(fabs(got - want) <= tol * scale, "%s n=%zu: got %.17g want %.17g", what, n, got, want);
}

Test(stage_matmul, dgemm_matches_naive_product)
{
    openblas_set_num_threads(1);
    const size_t sizes[] = {1, 2, 3, 7, 64};
    uint64_t st = 99;
    for (size_t s = 0; s < 5; s++) {
        size_t n = sizes[s];
        double *a = random_matrix(n, &st), *b = random_matrix(n, &st);
        double *c = malloc(n * n * sizeof *c), *r = malloc(n * n * sizeof *r);
        sl_matmul(n, a, b, c);
        naive(n, a, b, r);
        double tr = 0, fro = 0;
        for (size_t i = 0; i < n * n; i++) {
            /* Entries are sums of n products of magnitude <= 1: scale by n. */
            cr_assert(fabs(c[i] - r[i]) <= 1e-12 * (double)n, "c[%zu] n=%zu: %.17g vs %.17g", i, n,
                      c[i], r[i]);
            fro += r[i] * r[i];
        }
        for (size_t i = 0; i < n; i++)
            tr += r[i * n + i];
        assert_close(sl_mat_trace(n, c), tr, 1e-12 * (double)n, "trace", n);
        assert_close(sl_mat_frobenius(n, c), sqrt(fro), 1e-12, "frobenius", n);
        free(a);
        free(b);
        free(c);
        free(r);
    }
}

Test(stage_matmul, identity_times_b_is_b)
{
    enum { N = 5 };
    double id[N * N] = {0}, b[N * N], c[N * N];
    for (int i = 0; i < N; i++)
        id[i * N + i] = 1.0;
    for (int i = 0; i < N * N; i++)
        b[i] = i - 12.5;
    sl_matmul(N, id, b, c);
    for (int i = 0; i < N * N; i++)
        cr_assert_float_eq(c[i], b[i], 0.0);
    cr_assert_float_eq(sl_mat_trace(N, id), 5.0, 0.0);
    cr_assert_float_eq(sl_mat_frobenius(N, id), sqrt(5.0), 1e-15);
}
