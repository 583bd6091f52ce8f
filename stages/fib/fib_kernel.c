/* fib_kernel.c - Fibonacci digit counts, residues and text (see fib_kernel.h).
 *
 * Digits: for n >= 94 (F(n) >= 2^64), log10 F(n) = n*log10(phi) - log10(5)/2
 * up to a relative 5^-1/2 phi^-2n, far below long double precision. The
 * estimate's absolute error is about 1e-19 * n*log10(phi) plus a few ulps, so
 * when its fractional part is farther than `margin` from an integer,
 * floor + 1 is exact. Otherwise mpz_sizeinbase (exact or one too big) and one
 * comparison with 10^(d-1) decide. Both cost nothing next to mpz_fib_ui. */
#include "fib_kernel.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if GMP_NUMB_BITS != 64 || GMP_NAIL_BITS != 0
#error "fib_kernel.c assumes 64-bit GMP limbs without nails"
#endif

void sl_fib_init(sl_fib *s)
{
    mpz_init(s->f);
    mpz_init(s->pow);
    s->text = NULL;
    s->cap = 0;
}

void sl_fib_clear(sl_fib *s)
{
    mpz_clear(s->f);
    mpz_clear(s->pow);
    free(s->text);
    s->text = NULL;
    s->cap = 0;
}

void sl_fib_compute(sl_fib *s, uint64_t n) { mpz_fib_ui(s->f, (unsigned long)n); }

uint64_t sl_fib_low64(const sl_fib *s) { return (uint64_t)mpz_getlimbn(s->f, 0); }

static uint64_t digits_u64(uint64_t v)
{
    uint64_t d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

uint64_t sl_fib_digits_exact(sl_fib *s, const mpz_t x)
{
    if (mpz_fits_ulong_p(x))
        return digits_u64(mpz_get_ui(x));
    uint64_t d = (uint64_t)mpz_sizeinbase(x, 10); /* exact or one too big */
    mpz_ui_pow_ui(s->pow, 10, (unsigned long)(d - 1));
    return mpz_cmp(x, s->pow) < 0 ? d - 1 : d;
}

uint64_t sl_fib_digits(sl_fib *s, uint64_t n)
{
    if (n < 94)
        return digits_u64(mpz_get_ui(s->f));
    const long double log10_phi = 0.20898764024997873376927208923755541L;
    const long double half_log10_5 = 0.34948500216800940239313055263775633L;
    long double x = (long double)n * log10_phi - half_log10_5;
    long double fl = floorl(x);
    long double frac = x - fl;
    long double margin = 1e-9L + x * 1e-16L;
    if (frac > margin && frac < 1.0L - margin)
        return (uint64_t)fl + 1;
    return sl_fib_digits_exact(s, s->f);
}

const char *sl_fib_text(sl_fib *s, size_t *len)
{
    size_t need = mpz_sizeinbase(s->f, 10) + 2; /* + sign slot and NUL, as GMP asks */
    if (need > s->cap) {
        char *p = realloc(s->text, need);
        if (!p)
            return NULL;
        s->text = p;
        s->cap = need;
    }
    mpz_get_str(s->text, 10, s->f);
    *len = strlen(s->text);
    return s->text;
}
