/* fib_kernel.h - Fibonacci numbers with GMP: digit count, low limb, text.
 *
 * Pure, sequential and reentrant: an sl_fib holds the caller's scratch (the
 * big integers and a text buffer), reused from one n to the next. F(0) = 0,
 * F(1) = 1; F(0) has one digit. */
#ifndef SL_FIB_KERNEL_H
#define SL_FIB_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include <gmp.h>

/* Largest n accepted: F(2^32-1) already needs ~340 MiB. */
#define SL_FIB_MAX_N UINT64_C(4294967295)

typedef struct sl_fib {
    mpz_t f;    /* F(n) after sl_fib_compute */
    mpz_t pow;  /* scratch for the exact digit check */
    char *text; /* decimal text buffer, grown on demand */
    size_t cap;
} sl_fib;

void sl_fib_init(sl_fib *s);
void sl_fib_clear(sl_fib *s);

/* s->f = F(n). n <= SL_FIB_MAX_N. */
void sl_fib_compute(sl_fib *s, uint64_t n);

/* Exact number of decimal digits of s->f = F(n). Uses the estimate
 * n*log10(phi) - log10(5)/2 and compares with 10^(d-1) only when the estimate
 * is within a small margin of an integer. */
uint64_t sl_fib_digits(sl_fib *s, uint64_t n);

/* Exact digit count of any non-negative mpz (sizeinbase, then one compare). */
uint64_t sl_fib_digits_exact(sl_fib *s, const mpz_t x);

/* s->f mod 2^64. */
uint64_t sl_fib_low64(const sl_fib *s);

/* Decimal text of s->f (no sign, NUL-terminated; *len excludes the NUL).
 * Borrowed from s, valid until the next call. NULL when out of memory. */
const char *sl_fib_text(sl_fib *s, size_t *len);

#endif
