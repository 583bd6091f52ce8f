/* tests/bench/bench_dgemm.c - the reference for the matmul row of run.sh.
 *
 * usage: bench_dgemm N COUNT [THREADS [SEED]]
 *
 * Generates the same COUNT pairs (A, B) of N x N matrices as the `matgen`
 * stage (sl_matgen_fill with the same seed, global pair index and matrix
 * index), all of them up front and untimed, then times a plain loop of
 * cblas_dgemm C = A*B over them with OpenBLAS on THREADS threads (default 2).
 * One untimed dgemm first starts OpenBLAS's thread pool and faults C in.
 * The trace of each C is summed (O(n) per product, inside the loop) so the
 * caller can check that sluice multiplied the same matrices (its sum_trace).
 *
 * Prints one line: "seconds S gflops G sum_trace T". Exit status 0, or 2 on
 * bad arguments or out of memory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cblas.h>

#include "matgen_kernel.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n, count, threads = 2, seed = 42;
    if (argc < 3 || argc > 5 || parse_u64(argv[1], &n) || parse_u64(argv[2], &count) ||
        (argc > 3 && parse_u64(argv[3], &threads)) || (argc > 4 && parse_u64(argv[4], &seed)) ||
        n == 0 || n > 16384 || count == 0 || threads == 0 || threads > 1024) {
        fprintf(stderr, "usage: bench_dgemm N COUNT [THREADS [SEED]]\n");
        return 2;
    }
    size_t elems = (size_t)(n * n);
    double **a = calloc(count, sizeof *a), **b = calloc(count, sizeof *b);
    double *c = malloc(elems * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "bench_dgemm: out of memory\n");
        return 2;
    }
    for (uint64_t k = 0; k < count; k++) {
        a[k] = malloc(elems * sizeof(double));
        b[k] = malloc(elems * sizeof(double));
        if (!a[k] || !b[k]) {
            fprintf(stderr, "bench_dgemm: out of memory for %llu pairs of %llu x %llu\n",
                    (unsigned long long)count, (unsigned long long)n, (unsigned long long)n);
            return 2;
        }
        sl_matgen_fill(seed, k, 0, elems, a[k]);
        sl_matgen_fill(seed, k, 1, elems, b[k]);
    }

    openblas_set_num_threads((int)threads);
    blasint m = (blasint)n;
    /* Warm-up, untimed: thread pool start, C's pages. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0, a[0], m, b[0], m, 0.0,
                c, m);

    double sum_trace = 0.0;
    double t0 = now_s();
    for (uint64_t k = 0; k < count; k++) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, m, m, 1.0, a[k], m, b[k], m,
                    0.0, c, m);
        double t = 0.0;
        for (size_t i = 0; i < (size_t)n; i++)
            t += c[i * (size_t)n + i];
        sum_trace += t;
    }
    double secs = now_s() - t0;
    double flops = 2.0 * (double)n * (double)n * (double)n * (double)count;
    printf("seconds %.6f gflops %.3f sum_trace %.17g\n", secs, flops / secs * 1e-9, sum_trace);

    for (uint64_t k = 0; k < count; k++) {
        free(a[k]);
        free(b[k]);
    }
    free(a);
    free(b);
    free(c);
    return 0;
}
