/* tests/fuzz/fuzz_param.c - libFuzzer harness for parameter text (sluice/param.h).
 *
 * Input: one selector byte, then the text (cut at its first NUL, as a C
 * string would be). The text goes through every typed parser, and through
 * sl_params_set for the key of a fixed table that the selector picks (the
 * table has every type, bounded, half-open and unbounded ranges, and enums
 * with odd choices); selectors from 0xf0 up use the text as the key instead,
 * for the unknown-key suggestions. Besides crashes, the harness aborts when:
 *  - a failure breaks the error promises (fuzz_util.h: code, one line);
 *  - a parsed number does not read back the same from its canonical text
 *    (plain decimal, %.17g), or the parsers disagree: an int the text gives
 *    is the uint it gives (for values > 0) and the float it gives;
 *  - a value sl_params_set accepted is outside the key's range, or setting
 *    the canonical text again changes what sl_params_format prints. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sluice/param.h>

#include "fuzz_util.h"

static const sl_param_spec spec[] = {
    SL_PARAM_INT("count", 10, -1000, 1000000, "bounded both sides"),
    SL_PARAM_INT("offset", 0, INT64_MIN, INT64_MAX, "open: bounds at the extremes"),
    SL_PARAM_INT("at_least", 5, 1, 0, "min only (max 0 with min > 0)"),
    SL_PARAM_UINT("size", 64, 1, (uint64_t)1 << 40, "bounded both sides"),
    SL_PARAM_UINT("any", 0, 0, 0, "unbounded"),
    SL_PARAM_FLOAT("ratio", 0.5, 0.0, 1.0, "bounded both sides"),
    SL_PARAM_FLOAT("scale", 1.0, -DBL_MAX, DBL_MAX, "open"),
    SL_PARAM_FLOAT("positive", 1e-3, 1e-300, 0.0, "min only"),
    SL_PARAM_BOOL("flag", true, "a switch"),
    SL_PARAM_STRING("label", "x", "free text"),
    SL_PARAM_STRING("empty", "", "free text, empty default"),
    SL_PARAM_ENUM("window", "hann", "hann|kaiser|box", "one of three"),
    SL_PARAM_ENUM("odd", "a", "a||b|", "empty choices"),
    SL_PARAM_END};
#define NKEYS (sizeof spec / sizeof spec[0] - 1)

static void parse_int_again(int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    int64_t w = 0;
    sl_error err;
    FUZZ_ASSERT(sl_parse_int(buf, "x", &w, &err) == SL_OK && w == v, "int %s reads back as %" PRId64,
                buf, w);
}

static void parse_uint_again(uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    uint64_t w = 0;
    sl_error err;
    FUZZ_ASSERT(sl_parse_uint(buf, "x", &w, &err) == SL_OK && w == v,
                "uint %s reads back as %" PRIu64, buf, w);
}

static void parse_float_again(double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", v);
    double w = 0;
    sl_error err;
    FUZZ_ASSERT(sl_parse_float(buf, "x", &w, &err) == SL_OK && w == v,
                "float %s reads back as %.17g", buf, w);
}

static void parsers(const char *text)
{
    sl_error err;
    sl_error_clear(&err);
    const char *what = text[0] == 'w' ? NULL : "value"; /* NULL: the default word */
    int64_t i = 0;
    uint64_t u = 0;
    double f = 0;
    bool b = false;
    sl_status si = sl_parse_int(text, what, &i, &err);
    fuzz_check_error(si, &err, "sl_parse_int");
    sl_status su = sl_parse_uint(text, what, &u, &err);
    fuzz_check_error(su, &err, "sl_parse_uint");
    sl_status sf = sl_parse_float(text, what, &f, &err);
    fuzz_check_error(sf, &err, "sl_parse_float");
    sl_status sb = sl_parse_bool(text, what, &b, &err);
    fuzz_check_error(sb, &err, "sl_parse_bool");

    if (si == SL_OK) {
        parse_int_again(i);
        FUZZ_ASSERT(i <= 0 || (su == SL_OK && u == (uint64_t)i),
                    "'%s': int %" PRId64 " but uint %s %" PRIu64, text, i, sl_status_name(su), u);
        FUZZ_ASSERT(sf == SL_OK && f == (double)i, "'%s': int %" PRId64 " but float %s %.17g",
                    text, i, sl_status_name(sf), f);
    }
    if (su == SL_OK) {
        parse_uint_again(u);
        FUZZ_ASSERT(u > INT64_MAX || (si == SL_OK && (uint64_t)i == u),
                    "'%s': uint %" PRIu64 " but int %s", text, u, sl_status_name(si));
    }
    if (sf == SL_OK) {
        FUZZ_ASSERT(isfinite(f), "'%s': float %g is not finite", text, f);
        parse_float_again(f);
    }
    if (sb == SL_OK)
        FUZZ_ASSERT(strcasecmp(text, b ? "true" : "false") == 0 ||
                        strcasecmp(text, b ? "yes" : "no") == 0 ||
                        strcasecmp(text, b ? "on" : "off") == 0 || strcmp(text, b ? "1" : "0") == 0,
                    "'%s' read as %s", text, b ? "true" : "false");
}

/* The value of key i is inside its declared range. */
static void check_range(const sl_params *p, size_t i)
{
    const sl_param_spec *s = &spec[i];
    switch (s->type) {
    case SL_PARAM_T_INT: {
        int64_t v = sl_params_int(p, s->name);
        FUZZ_ASSERT(v >= s->min_i && (s->max_i == 0 || v <= s->max_i), "%s=%" PRId64, s->name, v);
        break;
    }
    case SL_PARAM_T_UINT: {
        uint64_t v = sl_params_uint(p, s->name);
        bool open = s->min_u == 0 && s->max_u == 0;
        FUZZ_ASSERT(open || (v >= s->min_u && v <= s->max_u), "%s=%" PRIu64, s->name, v);
        break;
    }
    case SL_PARAM_T_FLOAT: {
        double v = sl_params_float(p, s->name);
        FUZZ_ASSERT(isfinite(v) && v >= s->min_f && (s->max_f == 0 || v <= s->max_f), "%s=%.17g",
                    s->name, v);
        break;
    }
    case SL_PARAM_T_BOOL:
        (void)sl_params_bool(p, s->name);
        break;
    default:
        FUZZ_ASSERT(sl_params_str(p, s->name) != NULL, "%s is NULL", s->name);
        break;
    }
}

static char *formatted(const sl_params *p)
{
    size_t n = sl_params_format(p, NULL, 0);
    char *buf = malloc(n + 1);
    FUZZ_ASSERT(buf, "out of memory");
    FUZZ_ASSERT(sl_params_format(p, buf, n + 1) == n && strlen(buf) == n, "format length");
    return buf;
}

/* Sets key i from text; when accepted, its canonical form must be a fixed point. */
static void set_key(sl_params *p, size_t i, const char *text, const char *origin)
{
    const sl_param_spec *s = &spec[i];
    sl_error err;
    sl_error_clear(&err);
    sl_status st = sl_params_set(p, s->name, text, origin, &err);
    fuzz_check_error(st, &err, "sl_params_set");
    if (st != SL_OK)
        return;
    FUZZ_ASSERT(sl_params_is_set(p, s->name), "%s not marked set", s->name);
    check_range(p, i);
    char *before = formatted(p);
    /* The canonical text is the key's line of the format, after "key=". */
    size_t klen = strlen(s->name);
    const char *line = before;
    for (size_t k = 0; k < i; k++)
        line = strchr(line, '\n') + 1;
    FUZZ_ASSERT(strncmp(line, s->name, klen) == 0 && line[klen] == '=', "format order");
    if (s->type != SL_PARAM_T_STRING) { /* a string may itself hold '\n' */
        size_t vlen = strcspn(line + klen + 1, "\n");
        char *canon = malloc(vlen + 1);
        FUZZ_ASSERT(canon, "out of memory");
        memcpy(canon, line + klen + 1, vlen);
        canon[vlen] = '\0';
        st = sl_params_set(p, s->name, canon, NULL, &err);
        FUZZ_ASSERT(st == SL_OK, "%s: canonical '%s' of '%s' is refused: %s", s->name, canon, text,
                    err.msg);
        char *after = formatted(p);
        FUZZ_ASSERT(strcmp(before, after) == 0, "%s: '%s' and its canonical '%s' differ", s->name,
                    text, canon);
        free(after);
        free(canon);
    }
    free(before);
}

static void params(uint8_t sel, const char *text)
{
    sl_error err;
    sl_error_clear(&err);
    sl_params *p = NULL;
    sl_status s = sl_params_create(&p, spec, sel & 1 ? "fuzz" : NULL, &err);
    FUZZ_ASSERT(s == SL_OK, "the table's defaults are refused: %s", err.msg);
    for (size_t i = 0; i < NKEYS; i++)
        check_range(p, i);
    const char *origin = sel & 2 ? "fuzz.yaml:3:7" : NULL;
    if (sel >= 0xf0) {
        s = sl_params_set(p, text, "1", origin, &err);
        fuzz_check_error(s, &err, "sl_params_set");
    } else {
        set_key(p, sel % NKEYS, text, origin);
    }
    const char *names[NKEYS];
    for (size_t i = 0; i < NKEYS; i++)
        names[i] = spec[i].name;
    const char *near = sl_nearest(text, names, NKEYS);
    bool found = near == NULL;
    for (size_t i = 0; i < NKEYS && !found; i++)
        found = near == names[i];
    FUZZ_ASSERT(found, "sl_nearest returned a word that is not a candidate");
    sl_params_destroy(&p);
    FUZZ_ASSERT(p == NULL, "sl_params_destroy left the pointer set");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    parsers(text);
    params(data[0], text);
    free(text);
    return 0;
}
