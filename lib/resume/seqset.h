/* lib/resume/seqset.h - which batches a resumed run still has to make.
 *
 * The finished seqs come from the journals as ranges, in any order and
 * possibly overlapping (two ranks' records, or a batch finished twice by runs
 * that both crashed after writing it). A seqset joins them, and maps the k-th
 * unfinished seq in O(log ranges), so that the schedules, which hand out
 * positions 0 .. n-1, can hand out the unfinished seqs instead without
 * knowing about resume (docs/resume.md). */
#ifndef SLUICE_RESUME_SEQSET_H
#define SLUICE_RESUME_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/error.h>

#include "pipeline/phase.h" /* sl__row_range */

typedef struct sl__seqset {
    uint64_t total;         /* seqs are 0 .. total-1 */
    sl__row_range *done;    /* sorted, joined, clipped to [0, total) */
    size_t ndone;
    uint64_t *todo_before;  /* unfinished seqs below done[i].lo */
    uint64_t ntodo;         /* unfinished seqs in all */
} sl__seqset;

/* Builds the set from finished ranges (copied; r may be unsorted). */
sl_status sl__seqset_build(sl__seqset *s, uint64_t total, const sl__row_range *r, size_t n,
                           sl_error *err);
void sl__seqset_free(sl__seqset *s);
bool sl__seqset_done(const sl__seqset *s, uint64_t seq);
/* The k-th unfinished seq (0 <= k < s->ntodo). */
uint64_t sl__seqset_todo(const sl__seqset *s, uint64_t k);

#endif
