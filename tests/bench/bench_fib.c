/* tests/bench/bench_fib.c - the reference for the fib row: a plain loop of
 * GMP's mpz_fib_ui doing what jobs/fib.yaml does.
 *
 * usage: bench_fib START STOP BATCH THREADS
 *
 * For every n in [START, STOP): F(n) with mpz_fib_ui, its exact decimal
 * digit count and F(n) mod 2^64, stored in two arrays (the job's `digits`
 * and `mod` columns), through the fib stage's own kernel (sl_fib_compute,
 * sl_fib_digits, sl_fib_low64: one mpz_fib_ui, a long-double estimate and
 * the low limb), so both sides do exactly the same work per n; then the sum
 * of the digit counts (the job's `sum` stage). What the job does beyond
 * that (the HDF5 file, the batches) is the framework's and counts against
 * it. Timed: from before the arrays are allocated to after the sum (no
 * process start, which the sluice side does pay).
 *
 * THREADS > 1: an OpenMP loop, schedule(dynamic, BATCH) (F(n) costs more as
 * n grows, and the job hands out batches of BATCH n dynamically too), one
 * sl_fib scratch per thread.
 * Prints: fib start A stop B batch C threads T seconds S sum_digits D mod_xor X */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fib_kernel.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_fib START STOP BATCH THREADS\n");
        return 2;
    }
    uint64_t start = strtoull(argv[1], NULL, 10), stop = strtoull(argv[2], NULL, 10);
    long batch = atol(argv[3]);
    int threads = atoi(argv[4]);
    if (stop <= start || stop - 1 > SL_FIB_MAX_N || batch < 1 || threads < 1) {
        fprintf(stderr, "bench_fib: want START < STOP <= 2^32, BATCH >= 1, THREADS >= 1\n");
        return 2;
    }
    omp_set_num_threads(threads);
    size_t count = (size_t)(stop - start);
    double t0 = now_s();
    uint64_t *dig = malloc(count * sizeof *dig), *mod = malloc(count * sizeof *mod);
    if (!dig || !mod) {
        fprintf(stderr, "bench_fib: out of memory\n");
        return 1;
    }
    uint64_t sum = 0;
#pragma omp parallel reduction(+ : sum)
    {
        sl_fib f;
        sl_fib_init(&f);
#pragma omp for schedule(dynamic, batch)
        for (size_t i = 0; i < count; i++) {
            uint64_t n = start + i;
            sl_fib_compute(&f, n);
            dig[i] = sl_fib_digits(&f, n);
            mod[i] = sl_fib_low64(&f);
            sum += dig[i];
        }
        sl_fib_clear(&f);
    }
    double secs = now_s() - t0;
    uint64_t x = 0;
    for (size_t i = 0; i < count; i++)
        x ^= mod[i];
    printf("fib start %llu stop %llu batch %ld threads %d seconds %.6f sum_digits %llu "
           "mod_xor %llu\n",
           (unsigned long long)start, (unsigned long long)stop, batch, threads, secs,
           (unsigned long long)sum, (unsigned long long)x);
    free(dig);
    free(mod);
    return 0;
}
