/* lib/util/ranges.c - sorting and joining ranges (ranges.h). */
#include "util/ranges.h"

#include <stdlib.h>

static int range_cmp(const void *a, const void *b)
{
    const sl__row_range *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return (x->hi > y->hi) - (x->hi < y->hi);
}

size_t sl__row_ranges_coalesce(sl__row_range *r, size_t n)
{
    if (!r || n == 0)
        return 0;
    qsort(r, n, sizeof *r, range_cmp);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].hi <= r[i].lo)
            continue; /* covers no row */
        if (out > 0 && r[i].lo <= r[out - 1].hi) {
            if (r[i].hi > r[out - 1].hi)
                r[out - 1].hi = r[i].hi;
        } else {
            r[out++] = r[i];
        }
    }
    return out;
}
