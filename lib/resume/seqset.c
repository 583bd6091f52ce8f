/* lib/resume/seqset.c - the finished and unfinished seqs of a resumed run
 * (seqset.h). */
#include "resume/seqset.h"
#include "util/ranges.h"

#include <stdlib.h>
#include <string.h>

sl_status sl__seqset_build(sl__seqset *s, uint64_t total, const sl__row_range *r, size_t n,
                           sl_error *err)
{
    memset(s, 0, sizeof *s);
    s->total = total;
    sl__row_range *v = malloc((n ? n : 1) * sizeof *v);
    SL_CHECK(v, SL_ENOMEM, "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t lo = r[i].lo, hi = r[i].hi < total ? r[i].hi : total;
        if (lo < hi)
            v[m++] = (sl__row_range){lo, hi};
    }
    size_t k = sl__row_ranges_coalesce(v, m);
    uint64_t *before = malloc((k ? k : 1) * sizeof *before);
    if (!before) {
        free(v);
        return SL_FAIL(SL_ENOMEM, "out of memory");
    }
    uint64_t done = 0;
    for (size_t i = 0; i < k; i++) {
        before[i] = v[i].lo - done;
        done += v[i].hi - v[i].lo;
    }
    s->done = v;
    s->ndone = k;
    s->todo_before = before;
    s->ntodo = total - done;
    return SL_OK;
}

void sl__seqset_free(sl__seqset *s)
{
    free(s->done);
    free(s->todo_before);
    memset(s, 0, sizeof *s);
}

bool sl__seqset_done(const sl__seqset *s, uint64_t seq)
{
    size_t lo = 0, hi = s->ndone;
    while (lo < hi) { /* the first range with hi > seq */
        size_t mid = lo + (hi - lo) / 2;
        if (s->done[mid].hi <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->ndone && s->done[lo].lo <= seq;
}

uint64_t sl__seqset_todo(const sl__seqset *s, uint64_t k)
{
    /* The unfinished seq k lies after the last range with fewer than k + 1
     * unfinished seqs before it: seq = k + the finished seqs below it. */
    size_t lo = 0, hi = s->ndone;
    while (lo < hi) { /* ranges [0, lo) have todo_before <= k */
        size_t mid = lo + (hi - lo) / 2;
        if (s->todo_before[mid] <= k)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Ranges [0, lo) lie below the seq; done[lo-1].hi - todo_before[lo-1]
     * is how many finished seqs they hold. */
    uint64_t done_below = lo > 0 ? s->done[lo - 1].hi - s->todo_before[lo - 1] : 0;
    return k + done_below;
}
