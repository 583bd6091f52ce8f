/* test_stage_fib.c - the `fib` kernel: digits, F(n) mod 2^64 and text.
 *
 * Checked against reference/fibonacci.tsv, an independent unsigned __int128
 * iteration for n <= 186 (F(186) < 2^128), and the length of GMP's decimal
 * text where the log estimate is nearest an integer. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fib_kernel.h"

static sl_fib fib;

static void setup(void) { sl_fib_init(&fib); }
static void teardown(void) { sl_fib_clear(&fib); }

TestSuite(stage_fib, .init = setup, .fini = teardown);

__extension__ typedef unsigned __int128 u128; /* GCC/Clang, silences -Wpedantic */

/* Decimal text of v into buf (at least 40 bytes). */
static const char *u128_text(u128 v, char *buf)
{
    char tmp[48];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (int j = 0; j < i; j++)
        buf[j] = tmp[i - 1 - j];
    buf[i] = '\0';
    return buf;
}

Test(stage_fib, matches_reference_table)
{
    FILE *f = fopen(SL_TEST_REFERENCE_DIR "/fibonacci.tsv", "r");
    cr_assert_not_null(f);
    char line[512], value[256];
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long n, digits, mod;
        if (sscanf(line, "%llu %llu %llu %255s", &n, &digits, &mod, value) != 4)
            continue;
        sl_fib_compute(&fib, n);
        cr_assert_eq(sl_fib_digits(&fib, n), digits, "digits of F(%llu)", n);
        cr_assert_eq(sl_fib_low64(&fib), mod, "F(%llu) mod 2^64", n);
        if (strcmp(value, "-") != 0) {
            size_t len = 0;
            const char *t = sl_fib_text(&fib, &len);
            cr_assert_str_eq(t, value, "F(%llu)", n);
            cr_assert_eq(len, strlen(value));
        }
        rows++;
    }
    fclose(f);
    cr_assert_geq(rows, 12);
}

Test(stage_fib, matches_int128_iteration_up_to_186)
{
    u128 a = 0, b = 1; /* F(n), F(n+1) */
    char want[48];
    for (uint64_t n = 0; n <= 186; n++) {
        u128_text(a, want);
        sl_fib_compute(&fib, n);
        size_t len = 0;
        const char *t = sl_fib_text(&fib, &len);
        cr_assert_str_eq(t, want, "F(%lu)", n);
        cr_assert_eq(len, strlen(want));
        cr_assert_eq(sl_fib_digits(&fib, n), strlen(want), "digits of F(%lu)", n);
        cr_assert_eq(sl_fib_low64(&fib), (uint64_t)a, "F(%lu) mod 2^64", n);
        u128 c = a + b;
        a = b;
        b = c;
    }
}

Test(stage_fib, digits_exact_where_estimate_is_nearest_an_integer)
{
    /* The 16 n < 20000 whose estimate has the smallest distance to an integer. */
    enum { K = 16 };
    uint64_t best_n[K];
    long double best_d[K];
    for (int k = 0; k < K; k++) {
        best_n[k] = 0;
        best_d[k] = 1.0L;
    }
    const long double l_phi = log10l((1.0L + sqrtl(5.0L)) / 2.0L), l5 = log10l(5.0L) / 2.0L;
    for (uint64_t n = 94; n < 20000; n++) {
        long double x = (long double)n * l_phi - l5;
        long double d = fabsl(x - roundl(x));
        int w = 0;
        for (int k = 1; k < K; k++)
            if (best_d[k] > best_d[w])
                w = k;
        if (d < best_d[w]) {
            best_d[w] = d;
            best_n[w] = n;
        }
    }
    for (int k = 0; k < K; k++) {
        uint64_t n = best_n[k];
        sl_fib_compute(&fib, n);
        size_t len = 0;
        cr_assert_not_null(sl_fib_text(&fib, &len));
        cr_assert_eq(sl_fib_digits(&fib, n), len, "digits of F(%lu) (distance %Lg)", n, best_d[k]);
        cr_assert_eq(sl_fib_digits_exact(&fib, fib.f), len);
    }
}

Test(stage_fib, digits_exact_for_every_n_below_3000)
{
    for (uint64_t n = 0; n < 3000; n++) {
        sl_fib_compute(&fib, n);
        size_t len = 0;
        cr_assert_not_null(sl_fib_text(&fib, &len));
        cr_assert_eq(sl_fib_digits(&fib, n), len, "digits of F(%lu)", n);
    }
}

Test(stage_fib, exact_digit_count_corrects_sizeinbase)
{
    mpz_t x;
    mpz_init(x);
    const unsigned long v[] = {0, 1, 9, 10, 99, 100, 999999, 1000000};
    const uint64_t d[] = {1, 1, 1, 2, 2, 3, 6, 7};
    for (size_t i = 0; i < 8; i++) {
        mpz_set_ui(x, v[i]);
        cr_assert_eq(sl_fib_digits_exact(&fib, x), d[i], "digits of %lu", v[i]);
    }
    mpz_ui_pow_ui(x, 10, 500); /* 10^500: 501 digits; 10^500 - 1: 500 */
    cr_assert_eq(sl_fib_digits_exact(&fib, x), 501);
    mpz_sub_ui(x, x, 1);
    cr_assert_eq(sl_fib_digits_exact(&fib, x), 500);
    mpz_clear(x);
}
