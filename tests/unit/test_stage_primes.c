/* test_stage_primes.c - prime and twin counts of the `primes` kernel.
 *
 * Checked against the published values in reference/primes.tsv (summed over
 * uneven splits and over one interval), a naive sieve for small ranges, and
 * Miller-Rabin for windows near 2^63 and 2^64 (trial division there would
 * take ~10^9 divisions per prime). */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "primes_kernel.h"

static sl_primes_cursor it;

static void setup(void)
{
    primesieve_set_num_threads(1);
    sl_primes_cursor_init(&it);
}

static void teardown(void) { sl_primes_cursor_free(&it); }

TestSuite(stage_primes, .init = setup, .fini = teardown);

/* Counts over [lo, hi) through both kernel paths; asserts they agree on count. */
static void count(uint64_t lo, uint64_t hi, uint64_t *np, uint64_t *nt)
{
    cr_assert_eq(sl_primes_count_twins(&it, lo, hi, np, nt), 0);
    cr_assert_eq(sl_primes_count(lo, hi), *np, "count [%lu, %lu)", lo, hi);
}

Test(stage_primes, matches_reference_table_up_to_1e8)
{
    FILE *f = fopen(SL_TEST_REFERENCE_DIR "/primes.tsv", "r");
    cr_assert_not_null(f);
    char line[256];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long stop, pi, tw;
        if (sscanf(line, "%llu %llu %llu", &stop, &pi, &tw) != 3 || stop > 100000000ull)
            continue;
        uint64_t np, nt;
        count(0, stop, &np, &nt);
        cr_assert_eq(np, pi, "pi(%llu)", stop);
        cr_assert_eq(nt, tw, "twins(%llu)", stop);
        /* Uneven splits: widths growing quadratically, then a ragged tail. */
        for (uint64_t parts = 2; parts <= 11; parts += 3) {
            uint64_t sp = 0, st = 0, lo = 0;
            for (uint64_t k = 1; k <= parts; k++) {
                uint64_t hi = k == parts ? stop : stop * k * k / (parts * parts) + k;
                if (hi > stop)
                    hi = stop;
                count(lo, hi, &np, &nt);
                sp += np;
                st += nt;
                lo = hi;
            }
            cr_assert_eq(sp, pi, "pi(%llu) in %lu parts", stop, parts);
            cr_assert_eq(st, tw, "twins(%llu) in %lu parts", stop, parts);
        }
        rows++;
    }
    fclose(f);
    cr_assert_geq(rows, 8);
}

Test(stage_primes, matches_naive_sieve_below_1e5)
{
    enum { N = 100000 };
    bool *comp = calloc(N + 3, 1);
    comp[0] = comp[1] = true;
    for (uint64_t i = 2; i * i < N + 3; i++)
        if (!comp[i])
            for (uint64_t j = i * i; j < N + 3; j += i)
                comp[j] = true;
    uint64_t lo = 0, rng = 12345, tot = 0;
    while (lo < N) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t w = (rng >> 33) % 3000; /* includes empty and tiny intervals */
        uint64_t hi = lo + w > N ? N : lo + w;
        uint64_t ep = 0, et = 0, np, nt;
        for (uint64_t p = lo; p < hi; p++) {
            ep += !comp[p];
            et += !comp[p] && !comp[p + 2];
        }
        count(lo, hi, &np, &nt);
        cr_assert_eq(np, ep, "primes in [%lu, %lu)", lo, hi);
        cr_assert_eq(nt, et, "twins in [%lu, %lu)", lo, hi);
        tot += np;
        lo = hi;
    }
    cr_assert_eq(tot, 9592);
    free(comp);
}

Test(stage_primes, edges_of_small_intervals)
{
    const struct { uint64_t lo, hi, p, t; } c[] = {
        {0, 0, 0, 0}, {0, 1, 0, 0}, {0, 2, 0, 0}, {2, 3, 1, 0}, {0, 3, 1, 0}, {3, 4, 1, 1},
        {0, 4, 2, 1}, {4, 10, 2, 1}, {5, 6, 1, 1}, {7, 8, 1, 0}, {10, 5, 0, 0}, {11, 12, 1, 1},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        uint64_t np = 99, nt = 99;
        count(c[i].lo, c[i].hi, &np, &nt);
        cr_assert_eq(np, c[i].p, "primes in [%lu, %lu)", c[i].lo, c[i].hi);
        cr_assert_eq(nt, c[i].t, "twins in [%lu, %lu)", c[i].lo, c[i].hi);
    }
}

Test(stage_primes, twin_straddling_a_boundary_counts_once)
{
    uint64_t a, b, c, d;
    count(0, 4, &a, &b);
    count(4, 10, &c, &d);
    cr_assert_eq(b + d, 2);
    /* (29, 31) and (41, 43): split between the pair members. */
    count(0, 30, &a, &b);
    count(30, 42, &c, &d);
    cr_assert_eq(b, 5); /* 3 5 11 17 29 */
    cr_assert_eq(d, 1); /* 41 */
}

Test(stage_primes, gaps_of_two_counts_adjacent_pairs)
{
    const uint64_t p[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31};
    cr_assert_eq(sl_primes_gaps_of_two(p, 11), 5);
    cr_assert_eq(sl_primes_gaps_of_two(p, 1), 0);
    cr_assert_eq(sl_primes_gaps_of_two(p, 0), 0);
}

__extension__ typedef unsigned __int128 u128; /* GCC/Clang, silences -Wpedantic */

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) { return (u128)a * b % m; }

static uint64_t powmod(uint64_t a, uint64_t e, uint64_t m)
{
    uint64_t r = 1;
    for (a %= m; e; e >>= 1, a = mulmod(a, a, m))
        if (e & 1)
            r = mulmod(r, a, m);
    return r;
}

/* Deterministic Miller-Rabin for 64-bit n (first 12 prime bases). */
static bool is_prime(uint64_t n)
{
    static const uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2)
        return false;
    for (size_t i = 0; i < 12; i++)
        if (n % bases[i] == 0)
            return n == bases[i];
    uint64_t d = n - 1;
    int s = 0;
    while (!(d & 1)) {
        d >>= 1;
        s++;
    }
    for (size_t i = 0; i < 12; i++) {
        uint64_t x = powmod(bases[i], d, n);
        if (x == 1 || x == n - 1)
            continue;
        bool ok = false;
        for (int r = 1; r < s && !ok; r++)
            ok = (x = mulmod(x, x, n)) == n - 1;
        if (!ok)
            return false;
    }
    return true;
}

/* Checks [lo, hi) split at mid against Miller-Rabin; returns the primes. */
static uint64_t check_window(uint64_t lo, uint64_t mid, uint64_t hi)
{
    uint64_t ep = 0, et = 0;
    for (uint64_t p = lo; p < hi; p++)
        if (is_prime(p)) {
            ep++;
            et += p <= UINT64_MAX - 2 && is_prime(p + 2);
        }
    uint64_t a, b, c, d;
    cr_assert_eq(sl_primes_count_twins(&it, lo, mid, &a, &b), 0);
    cr_assert_eq(sl_primes_count_twins(&it, mid, hi, &c, &d), 0);
    cr_assert_eq(a + c, ep, "primes in [%lu, %lu)", lo, hi);
    cr_assert_eq(b + d, et, "twins in [%lu, %lu)", lo, hi);
    cr_assert_eq(sl_primes_count(lo, hi), ep);
    return ep;
}

Test(stage_primes, window_near_2_pow_63, .timeout = 120)
{
    const uint64_t c = (uint64_t)1 << 63;
    cr_assert_gt(check_window(c - 1500, c - 7, c + 1500), 50);
}

Test(stage_primes, window_at_primesieve_max_stop, .timeout = 120)
{
    cr_assert_eq(primesieve_get_max_stop(), UINT64_MAX);
    /* The largest 64-bit prime is in it; hi = 2^64-1 is the largest hi. */
    cr_assert(is_prime(SL_PRIMES_LARGEST_U64));
    cr_assert_gt(check_window(UINT64_MAX - 1000, SL_PRIMES_LARGEST_U64, UINT64_MAX), 10);
    uint64_t np = 9, nt = 9;
    cr_assert_eq(sl_primes_count_twins(&it, SL_PRIMES_LARGEST_U64 + 1, UINT64_MAX, &np, &nt), 0);
    cr_assert_eq(np + nt, 0);
}

/* The cursor continues its stream only when an interval starts where the
 * last one ended: consecutive, repeated, backwards, overlapping and
 * jumping intervals in one sequence all give the fresh counts (a fresh
 * cursor per interval), and adjacent ones add up to the reference table's
 * pi(10^7) = 664579 and twins(10^7) = 58980. */
Test(stage_primes, cursor_continues_only_where_the_last_interval_ended)
{
    const uint64_t seq[][2] = {{0, 1000003}, {1000003, 2500000}, {2500000, 2500001},
                               {2500001, 2500001}, {2500001, 10000000}, {0, 1000003},
                               {999000, 1000003}, {5000000, 5000100}, {4999900, 5000000},
                               {4999900, 5000000}, {10000000, 10000100}, {7, 8}};
    uint64_t sum_p = 0, sum_t = 0;
    for (size_t k = 0; k < sizeof seq / sizeof seq[0]; k++) {
        uint64_t np, nt, fp, ft;
        count(seq[k][0], seq[k][1], &np, &nt);
        sl_primes_cursor fresh;
        sl_primes_cursor_init(&fresh);
        cr_assert_eq(sl_primes_count_twins(&fresh, seq[k][0], seq[k][1], &fp, &ft), 0);
        sl_primes_cursor_free(&fresh);
        cr_assert(np == fp && nt == ft, "[%lu, %lu): %lu/%lu continued, %lu/%lu fresh",
                  seq[k][0], seq[k][1], np, nt, fp, ft);
        if (k <= 4) {
            sum_p += np;
            sum_t += nt;
        }
    }
    cr_assert_eq(sum_p, 664579);
    cr_assert_eq(sum_t, 58980);
}
