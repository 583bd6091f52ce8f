/* lib/job/policy.c - the failure-policy keys of a job stage, from text.
 *
 * retries, backoff (initial, factor, cap), on_error, timeout, rate,
 * priority and warn_slow arrive as text from the YAML reader (job.c) and from
 * STAGE.KEY=VALUE (override.c), and are checked here, so both word their
 * errors alike: "stage 'faulty': backoff.factor=0.5 is below minimum 1".
 * The caller puts the origin in front.
 *
 * A duration is a decimal number of seconds with an optional unit: 0.5,
 * 1e-3, 250ms, 1.5s, 2m, 1h. Its grammar is its own: the number forms of
 * parameters have binary suffixes, which would make "2m" two mebi instead
 * of two minutes. The bounds (a nonzero duration or rate lies in 1e-9 ..
 * 1e9) keep every value, and every interval 1/rate, convertible to 64-bit
 * nanoseconds, so the executor never casts an out-of-range double. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/param.h>

#include "job/job_impl.h"

#define DURATION_SYNTAX "seconds, or a number with ms, s, m or h: 0.5, 250ms, 1.5s, 2m, 1h"

static const char *const on_error_names[] = {"abort", "skip", "deadletter"};
#define NON_ERROR (sizeof on_error_names / sizeof on_error_names[0])

/* Every key sl__job_policy_set takes; "backoff" is backoff.initial. */
static const char *const policy_keys[] = {"retries",        "backoff",     "backoff.initial",
                                          "backoff.factor", "backoff.cap", "on_error",
                                          "timeout",        "rate",        "priority",
                                          "warn_slow"};
#define NPOLICY_KEYS (sizeof policy_keys / sizeof policy_keys[0])

const char *sl_on_error_name(sl_on_error e)
{
    return (unsigned)e < NON_ERROR ? on_error_names[e] : "unknown";
}

bool sl__job_is_policy(const char *key)
{
    for (size_t i = 0; i < NPOLICY_KEYS; i++)
        if (strcmp(key, policy_keys[i]) == 0)
            return true;
    return strncmp(key, "backoff.", 8) == 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The end of DIGITS[.DIGITS][e[+|-]DIGITS] at p (".5" and "5." count), or
 * NULL when the mantissa has no digit. An 'e' without exponent digits is
 * left for the unit, which then refuses it. */
static const char *scan_decimal(const char *p)
{
    size_t nd = 0;
    for (; is_digit(*p); p++)
        nd++;
    if (*p == '.')
        for (p++; is_digit(*p); p++)
            nd++;
    if (nd == 0)
        return NULL;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        if (*q == '+' || *q == '-')
            q++;
        if (is_digit(*q)) {
            while (is_digit(*q))
                q++;
            p = q;
        }
    }
    return p;
}

/* The seconds of one unit as mul / div ("" is seconds); false for anything
 * else. Milliseconds divide: 250 / 1000 is exactly 0.25, 250 * 1e-3 is not. */
static bool unit_scale(const char *unit, double *mul, double *div)
{
    static const struct {
        const char *name;
        double mul, div;
    } units[] = {{"", 1, 1}, {"s", 1, 1}, {"ms", 1, 1000}, {"m", 60, 1}, {"h", 3600, 1}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(unit, units[i].name) == 0) {
            *mul = units[i].mul;
            *div = units[i].div;
            return true;
        }
    }
    return false;
}

/* A duration in seconds: 0, or 1e-9 .. 1e9. `what` starts every message. */
static sl_status parse_duration(const char *text, const char *what, double *out, sl_error *err)
{
    const char *num = text[0] == '-' ? text + 1 : text;
    const char *end = scan_decimal(num);
    double mul = 0, div = 1;
    SL_CHECK(end && unit_scale(end, &mul, &div), SL_EINVAL, "%s='%s' is not a duration (%s)",
             what, text, DURATION_SYNTAX);
    SL_CHECK(num == text, SL_ERANGE, "%s=%s is negative", what, text);
    errno = 0;
    double v = strtod(num, NULL); /* reads exactly up to end: the grammar is strtod's */
    bool underflow = errno == ERANGE && v < 1;
    v = v * mul / div;
    SL_CHECK(isfinite(v) && v <= SL_JOB_DURATION_MAX, SL_ERANGE, "%s=%s exceeds maximum 1e9s",
             what, text);
    SL_CHECK(!underflow && (v == 0 || v >= SL_JOB_DURATION_MIN), SL_ERANGE,
             "%s=%s is nonzero but below minimum 1e-9s", what, text);
    *out = v;
    return SL_OK;
}

/* A finite number in lo .. hi; text as strtod or the integer forms read it. */
static sl_status number_in(const char *text, const char *what, double lo, double hi, double *out,
                           sl_error *err)
{
    double v = 0;
    SL_TRY(sl_parse_float(text, what, &v, err));
    SL_CHECK(v >= lo, SL_ERANGE, "%s=%s is below minimum %g", what, text, lo);
    SL_CHECK(v <= hi, SL_ERANGE, "%s=%s exceeds maximum %g", what, text, hi);
    *out = v;
    return SL_OK;
}

/* An integer >= 0; the caller checks the maximum. */
static sl_status count(const char *text, const char *what, int64_t *out, sl_error *err)
{
    int64_t v = 0;
    SL_TRY(sl_parse_int(text, what, &v, err));
    SL_CHECK(v >= 0, SL_ERANGE, "%s=%s is below minimum 0", what, text);
    *out = v;
    return SL_OK;
}

static sl_status parse_on_error(const char *text, const char *what, sl_on_error *out,
                                sl_error *err)
{
    for (size_t i = 0; i < NON_ERROR; i++) {
        if (strcmp(text, on_error_names[i]) == 0) {
            *out = (sl_on_error)i;
            return SL_OK;
        }
    }
    const char *near = sl_nearest(text, on_error_names, NON_ERROR);
    char hint[64] = "";
    if (near)
        snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
    return SL_FAIL(SL_EINVAL, "%s='%s' is not one of abort|skip|deadletter%s", what, text, hint);
}

/* A rate: 0 (no limit) or 1e-9 .. 1e9 batches per second. */
static sl_status parse_rate(const char *text, const char *what, double *out, sl_error *err)
{
    double v = 0;
    SL_TRY(number_in(text, what, 0, HUGE_VAL, &v, err));
    SL_CHECK(v <= SL_JOB_RATE_MAX, SL_ERANGE, "%s=%s exceeds maximum 1e9", what, text);
    SL_CHECK(v == 0 || v >= SL_JOB_RATE_MIN, SL_ERANGE,
             "%s=%s is nonzero but below minimum 1e-9 (0 means no limit)", what, text);
    *out = v == 0 ? 0 : v; /* -0 is no limit too, and must print as 0 */
    return SL_OK;
}

static sl_status unknown_policy_key(const char *stage, const char *key, sl_error *err)
{
    const char *near = sl_nearest(key, policy_keys, NPOLICY_KEYS);
    if (near)
        return SL_FAIL(SL_ENOTFOUND, "stage '%s': unknown key '%s' (did you mean '%s'?)", stage,
                       key, near);
    return SL_FAIL(SL_ENOTFOUND, "stage '%s': unknown key '%s' (backoff.initial, backoff.factor "
                   "and backoff.cap are the backoff keys)", stage, key);
}

sl_status sl__job_policy_set(sl_stage_policy *p, const char *stage, const char *key,
                             const char *text, sl_error *err)
{
    char what[256];
    snprintf(what, sizeof what, "stage '%s': %s", stage, key);
    int64_t n = 0;
    sl_status s;
    if (strcmp(key, "retries") == 0) {
        s = count(text, what, &n, err);
        if (s == SL_OK && n > SL_JOB_RETRIES_MAX)
            s = SL_FAIL(SL_ERANGE, "%s=%s exceeds maximum %d (more is surely a typo)", what, text,
                        SL_JOB_RETRIES_MAX);
        if (s == SL_OK)
            p->retries = (unsigned)n;
    } else if (strcmp(key, "priority") == 0) {
        s = count(text, what, &n, err);
        if (s == SL_OK && n > SL_JOB_PRIORITY_MAX)
            s = SL_FAIL(SL_ERANGE, "%s=%s exceeds maximum %d", what, text, SL_JOB_PRIORITY_MAX);
        if (s == SL_OK)
            p->priority = (int)n;
    } else if (strcmp(key, "backoff") == 0 || strcmp(key, "backoff.initial") == 0) {
        s = parse_duration(text, what, &p->backoff_s, err);
    } else if (strcmp(key, "backoff.cap") == 0) {
        s = parse_duration(text, what, &p->backoff_cap_s, err);
    } else if (strcmp(key, "backoff.factor") == 0) {
        s = number_in(text, what, 1, SL_JOB_BACKOFF_FACTOR_MAX, &p->backoff_factor, err);
    } else if (strcmp(key, "on_error") == 0) {
        s = parse_on_error(text, what, &p->on_error, err);
    } else if (strcmp(key, "timeout") == 0) {
        s = parse_duration(text, what, &p->timeout_s, err);
    } else if (strcmp(key, "rate") == 0) {
        s = parse_rate(text, what, &p->rate, err);
    } else if (strcmp(key, "warn_slow") == 0) {
        s = parse_duration(text, what, &p->warn_slow_s, err);
    } else {
        s = unknown_policy_key(stage, key, err);
    }
    return s;
}

sl_status sl__job_policy_check(const sl_stage_policy *p, const char *stage, bool blame_cap,
                               const char *other, sl_error *err)
{
    if (p->backoff_cap_s >= p->backoff_s)
        return SL_OK;
    char where[SL_ERROR_MSG_MAX / 2] = "";
    if (other)
        snprintf(where, sizeof where, " (%s)", other);
    if (blame_cap)
        return SL_FAIL(SL_ERANGE, "stage '%s': backoff.cap=%gs is below backoff.initial=%gs%s",
                       stage, p->backoff_cap_s, p->backoff_s, where);
    return SL_FAIL(SL_ERANGE, "stage '%s': backoff.initial=%gs exceeds backoff.cap=%gs%s", stage,
                   p->backoff_s, p->backoff_cap_s, where);
}

sl_status sl__job_stage_policy(sl_job_stage *st, const char *key, const char *text,
                               const char *origin, sl_error *err)
{
    sl_stage_policy p = st->policy; /* a copy: a refused value changes nothing */
    sl_status s = sl__job_policy_set(&p, st->name, key, text, err);
    /* One key at a time, so the way out may be to set the other one first. */
    bool cap = strcmp(key, "backoff.cap") == 0;
    if (s == SL_OK && strncmp(key, "backoff", 7) == 0)
        s = sl__job_policy_check(&p, st->name, cap,
                                 cap ? "lower backoff.initial first" : "raise backoff.cap first",
                                 err);
    if (s != SL_OK) {
        if (origin)
            sl_error_prefix(err, "%s", origin);
        return s;
    }
    st->policy = p;
    return SL_OK;
}
