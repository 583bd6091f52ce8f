/* lib/job/ranks.c - the text of a stage's `ranks:` value, parsed strictly.
 *
 *   ranks := "all" | "rest" | item ("," " "* item)*
 *   item  := N | N "-" N          N := decimal digits, at most INT_MAX - 1
 *
 * Strict because a placement typo runs: "1-3," or "1 -3" read generously
 * would still start the job, on ranks nobody asked for. Ranges stay ranges
 * (see sl__ranks in job_impl.h); the rank count, known only at run time,
 * bounds them in placement.c. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/param.h>

#include "job/job_impl.h"

#define RANKS_SHAPE "a rank list like 0, 1-3, 0,2,5-7, rest or all"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Scans one rank number at *p; advances *p past it. */
static sl_status rank_number(const char **p, const char *text, const char *what, int *out,
                             sl_error *err)
{
    const char *s = *p;
    SL_CHECK(*s != '-', SL_ERANGE, "%s: ranks '%s': a rank is never negative", what, text);
    SL_CHECK(is_digit(*s), SL_EINVAL, "%s: ranks '%s' is not %s", what, text, RANKS_SHAPE);
    long long v = 0;
    const char *e = s;
    for (; is_digit(*e); e++)
        if (v < INT_MAX)
            v = v * 10 + (*e - '0');
    SL_CHECK(v <= INT_MAX - 1, SL_ERANGE, "%s: ranks '%s': rank %.*s exceeds maximum %d", what,
             text, (int)(e - s), s, INT_MAX - 1);
    *out = (int)v;
    *p = e;
    return SL_OK;
}

static int by_lo(const void *a, const void *b)
{
    const sl__rank_range *x = a, *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

/* Scans the items; r->ranges has room for one per comma plus one. */
static sl_status scan_items(sl__ranks *r, const char *text, const char *what, sl_error *err)
{
    const char *p = text;
    for (;;) {
        sl__rank_range g;
        SL_TRY(rank_number(&p, text, what, &g.lo, err));
        g.hi = g.lo;
        if (*p == '-') {
            p++;
            SL_TRY(rank_number(&p, text, what, &g.hi, err));
            SL_CHECK(g.lo <= g.hi, SL_EINVAL, "%s: ranks '%s': range %d-%d runs backwards", what,
                     text, g.lo, g.hi);
        }
        r->ranges[r->n++] = g;
        if (!*p)
            return SL_OK;
        SL_CHECK(*p == ',', SL_EINVAL, "%s: ranks '%s' is not %s", what, text, RANKS_SHAPE);
        for (p++; *p == ' '; p++)
            ;
    }
}

sl_status sl__ranks_parse(sl__ranks *out, const char *text, const char *what, sl_error *err)
{
    memset(out, 0, sizeof *out);
    SL_CHECK(*text, SL_EINVAL, "%s: ranks is empty; give %s", what, RANKS_SHAPE);
    if (strcmp(text, "all") == 0 || strcmp(text, "rest") == 0) {
        out->kind = text[0] == 'a' ? SL__RANKS_ALL : SL__RANKS_REST;
        return SL_OK;
    }
    if (!is_digit(text[0]) && text[0] != '-') {
        static const char *const words[] = {"all", "rest"};
        const char *near = sl_nearest(text, words, 2);
        if (near)
            return SL_FAIL(SL_EINVAL, "%s: ranks '%s' is not %s (did you mean '%s'?)", what,
                           text, RANKS_SHAPE, near);
        return SL_FAIL(SL_EINVAL, "%s: ranks '%s' is not %s", what, text, RANKS_SHAPE);
    }
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    sl__ranks r = {.kind = SL__RANKS_LIST, .ranges = malloc(cap * sizeof *r.ranges)};
    SL_CHECK(r.ranges, SL_ENOMEM, "out of memory reading ranks '%s'", text);
    sl_status s = scan_items(&r, text, what, err);
    if (s != SL_OK) {
        sl__ranks_clear(&r);
        return s;
    }
    qsort(r.ranges, r.n, sizeof *r.ranges, by_lo);
    for (size_t i = 1; i < r.n; i++) {
        /* Sorted by lo, so an overlap shows between neighbours, and its first
         * rank is the later range's lo. */
        if (r.ranges[i].lo <= r.ranges[i - 1].hi) {
            int dup = r.ranges[i].lo;
            sl__ranks_clear(&r);
            return SL_FAIL(SL_EINVAL, "%s: ranks '%s': rank %d appears twice", what, text, dup);
        }
    }
    *out = r;
    return SL_OK;
}

void sl__ranks_clear(sl__ranks *r)
{
    free(r->ranges);
    memset(r, 0, sizeof *r);
}
