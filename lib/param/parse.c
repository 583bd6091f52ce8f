/* lib/param/parse.c - numbers and booleans from text typed by people, exactly.
 *
 * Integer text never goes through a double: "1e19" and "18446744073709551615"
 * must come out exact, and "1.5" must be refused rather than rounded. The
 * mantissa is kept as a decimal digit string, so scientific notation, a
 * binary suffix (K M G T P E = 2^10 .. 2^60, either case) and fractions that
 * the suffix makes whole ("1.5K" = 1536) are all decided exactly. Grammar:
 *
 *   [+|-] 0x HEX            hex, '_' between digits, no suffix or exponent
 *   [+|-] DEC[.DEC][e[+|-]DEC][K|M|G|T|P|E]
 *
 * A trailing 'e'/'E' with no exponent digits is the exa suffix ("1E" = 2^60).
 * '_' is allowed only between two digits. Floats use strtod on the whole text
 * and fall back to the integer grammar, so "64K" and "1_000" work there too.
 * Messages quote the text as given (sl_error_set escapes control characters). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sluice/param.h>


/* Longer text is refused; the bound keeps the digit buffer on the stack. */
#define NUM_MAX_TEXT 1024
/* Exponents beyond this are clamped: the answer (overflow, not an integer or
 * zero) no longer depends on the exact value. */
#define NUM_MAX_EXP 100000L

typedef enum { NUM_OK, NUM_SYNTAX, NUM_FRACTION, NUM_OVERFLOW } num_result;

/* A decimal literal: value = dig * 10^(exp - nf) * 2^shift. */
typedef struct dec_text {
    char dig[NUM_MAX_TEXT]; /* significant digits, leading zeros dropped */
    size_t nd;
    long nf;        /* digits written after the point */
    long exp;       /* the written exponent */
    unsigned shift; /* 10 * k bits for a binary suffix */
} dec_text;

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Scans a run of digits with single '_' between them. */
static const char *scan_digits(const char *p, dec_text *d, bool frac, bool *any)
{
    const char *start = p;
    for (;;) {
        if (is_digit(*p)) {
            if (d->nd || *p != '0')
                d->dig[d->nd++] = *p;
            d->nf += frac;
            *any = true;
            p++;
        } else if (*p == '_' && p > start && is_digit(p[-1]) && is_digit(p[1])) {
            p++;
        } else {
            return p;
        }
    }
}

static const char *scan_exponent(const char *p, long *exp)
{
    bool neg = *p == '-';
    if (*p == '+' || *p == '-')
        p++;
    long v = 0;
    while (is_digit(*p)) {
        if (v < NUM_MAX_EXP)
            v = v * 10 + (*p - '0');
        p++;
    }
    *exp = neg ? -v : v;
    return p;
}

static num_result scan_decimal(const char *p, dec_text *d)
{
    bool any = false;
    p = scan_digits(p, d, false, &any);
    if (*p == '.')
        p = scan_digits(p + 1, d, true, &any);
    if (!any)
        return NUM_SYNTAX;
    /* 'e' starts an exponent only when a digit (after an optional sign) follows. */
    if ((*p == 'e' || *p == 'E') &&
        (is_digit(p[1]) || ((p[1] == '+' || p[1] == '-') && is_digit(p[2]))))
        p = scan_exponent(p + 1, &d->exp);
    if (*p) {
        static const char suffixes[] = "KMGTPE";
        const char *s = strchr(suffixes, toupper((unsigned char)*p));
        if (!s || p[1])
            return NUM_SYNTAX;
        d->shift = 10u * (unsigned)(s - suffixes + 1);
    }
    return NUM_OK;
}

/* Divides the digit string by 5 in place; false when it does not divide. */
static bool digits_div5(dec_text *d)
{
    unsigned rem = 0;
    size_t out = 0;
    for (size_t i = 0; i < d->nd; i++) {
        unsigned cur = rem * 10 + (unsigned)(d->dig[i] - '0');
        char q = (char)('0' + cur / 5);
        rem = cur % 5;
        if (out || q != '0')
            d->dig[out++] = q;
    }
    d->nd = out;
    return rem == 0;
}

static num_result digits_to_u64(const dec_text *d, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < d->nd; i++) {
        unsigned dg = (unsigned)(d->dig[i] - '0');
        if (v > (UINT64_MAX - dg) / 10)
            return NUM_OVERFLOW;
        v = v * 10 + dg;
    }
    *out = v;
    return NUM_OK;
}

static num_result shift_u64(uint64_t *v, unsigned bits)
{
    if (bits >= 64 ? *v != 0 : *v > (UINT64_MAX >> bits))
        return NUM_OVERFLOW;
    if (bits < 64)
        *v <<= bits;
    return NUM_OK;
}

/* value = dig * 10^e * 2^shift with dig's last digit nonzero. */
static num_result decimal_value(dec_text *d, long e, uint64_t *out)
{
    if (e >= 0) {
        if ((long)d->nd + e > 20) /* at least 10^20 > 2^64 */
            return NUM_OVERFLOW;
        uint64_t v;
        if (digits_to_u64(d, &v) != NUM_OK)
            return NUM_OVERFLOW;
        for (long i = 0; i < e; i++) {
            if (v > UINT64_MAX / 10)
                return NUM_OVERFLOW;
            v *= 10;
        }
        *out = v;
        return shift_u64(out, d->shift);
    }
    /* dig ends in a nonzero digit, so it is not a multiple of 10: 10^m divides
     * dig * 2^shift only when m <= shift and 5^m divides dig. */
    long m = -e;
    if (m > (long)d->shift)
        return NUM_FRACTION;
    if ((long)d->nd - m > 20)
        return NUM_OVERFLOW;
    for (long i = 0; i < m; i++)
        if (!digits_div5(d))
            return NUM_FRACTION;
    if (digits_to_u64(d, out) != NUM_OK)
        return NUM_OVERFLOW;
    return shift_u64(out, d->shift - (unsigned)m);
}

static num_result hex_value(const char *p, uint64_t *out)
{
    uint64_t v = 0;
    const char *start = p;
    if (!*p)
        return NUM_SYNTAX;
    for (; *p; p++) {
        if (*p == '_' && p > start && isxdigit((unsigned char)p[-1]) &&
            isxdigit((unsigned char)p[1]))
            continue;
        if (!isxdigit((unsigned char)*p))
            return NUM_SYNTAX;
        if (v >> 60)
            return NUM_OVERFLOW;
        unsigned dg = (unsigned)(is_digit(*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10);
        v = v << 4 | dg;
    }
    *out = v;
    return NUM_OK;
}

/* Parses the sign and the magnitude of an integer literal. */
static num_result parse_magnitude(const char *text, bool *neg, uint64_t *mag)
{
    if (!text || strlen(text) >= NUM_MAX_TEXT)
        return NUM_SYNTAX;
    const char *p = text;
    *neg = *p == '-';
    if (*p == '+' || *p == '-')
        p++;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return hex_value(p + 2, mag);
    dec_text dt = {.nd = 0};
    num_result r = scan_decimal(p, &dt);
    if (r != NUM_OK)
        return r;
    long e = dt.exp - dt.nf;
    while (dt.nd && dt.dig[dt.nd - 1] == '0') {
        dt.nd--;
        e++;
    }
    if (!dt.nd) {
        *mag = 0;
        return NUM_OK;
    }
    return decimal_value(&dt, e, mag);
}

static const char *what_or_default(const char *what)
{
    return what ? what : "value";
}

static sl_status int_error(num_result r, const char *text, const char *what, sl_error *err)
{
    what = what_or_default(what);
    if (text && strlen(text) >= NUM_MAX_TEXT)
        return SL_FAIL(SL_EINVAL, "%s is too long to be a number (%zu characters)", what,
                       strlen(text));
    if (r == NUM_OVERFLOW)
        return SL_FAIL(SL_ERANGE, "%s='%s' exceeds maximum %" PRIu64, what, text, UINT64_MAX);
    return SL_FAIL(SL_EINVAL, "%s='%s' is not an integer", what, text ? text : "");
}

static sl_status parse_uint(const char *text, const char *what, uint64_t *out, sl_error *err)
{
    bool neg = false;
    uint64_t mag = 0;
    num_result r = parse_magnitude(text, &neg, &mag);
    if (r != NUM_OK)
        return int_error(r, text, what, err);
    SL_CHECK(!neg, SL_ERANGE, "%s='%s' is negative; it must be at least 0",
             what_or_default(what), text);
    *out = mag;
    return SL_OK;
}

static sl_status parse_int(const char *text, const char *what, int64_t *out, sl_error *err)
{
    bool neg = false;
    uint64_t mag = 0;
    num_result r = parse_magnitude(text, &neg, &mag);
    if (r == NUM_OVERFLOW)
        r = NUM_OK, mag = UINT64_MAX; /* reported below with the int64 limit */
    if (r != NUM_OK)
        return int_error(r, text, what, err);
    what = what_or_default(what);
    if (neg) {
        SL_CHECK(mag <= (uint64_t)INT64_MAX + 1, SL_ERANGE, "%s='%s' is below minimum %" PRId64,
                 what, text, INT64_MIN);
        /* -(INT64_MAX + 1) is INT64_MIN; computed without signed overflow. */
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        SL_CHECK(mag <= (uint64_t)INT64_MAX, SL_ERANGE, "%s='%s' exceeds maximum %" PRId64, what,
                 text, INT64_MAX);
        *out = (int64_t)mag;
    }
    return SL_OK;
}

static sl_status parse_float(const char *text, const char *what, double *out, sl_error *err)
{
    what = what_or_default(what);
    SL_CHECK(text && *text && !isspace((unsigned char)*text), SL_EINVAL,
             "%s='%s' is not a number", what, text ? text : "");
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (*end) {
        /* Not C syntax; the integer forms ("64K", "1_000") are numbers too. */
        bool neg = false;
        uint64_t mag = 0;
        SL_CHECK(parse_magnitude(text, &neg, &mag) == NUM_OK, SL_EINVAL,
                 "%s='%s' is not a number", what, text);
        v = neg ? -(double)mag : (double)mag;
    }
    SL_CHECK(isfinite(v), SL_ERANGE, "%s='%s' is not a finite number", what, text);
    *out = v;
    return SL_OK;
}

static sl_status parse_bool(const char *text, const char *what, bool *out, sl_error *err)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; text && i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
            *out = strcasecmp(text, yes[i]) == 0;
            return SL_OK;
        }
    }
    return SL_FAIL(SL_EINVAL, "%s='%s' is not a boolean (true/false, yes/no, on/off, 1/0)",
                   what_or_default(what), text ? text : "");
}

/* The public parsers: the messages above quote the text as given. */
sl_status sl_parse_int(const char *text, const char *what, int64_t *out, sl_error *err)
{
    return parse_int(text, what, out, err);
}

sl_status sl_parse_uint(const char *text, const char *what, uint64_t *out, sl_error *err)
{
    return parse_uint(text, what, out, err);
}

sl_status sl_parse_float(const char *text, const char *what, double *out, sl_error *err)
{
    return parse_float(text, what, out, err);
}

sl_status sl_parse_bool(const char *text, const char *what, bool *out, sl_error *err)
{
    return parse_bool(text, what, out, err);
}
