/* lib/util/ranges.h - sets of [lo, hi) ranges (rows or seqs): sorted and
 * joined, as the merge, the journal and the resume's seq set need them. */
#ifndef SLUICE_UTIL_RANGES_H
#define SLUICE_UTIL_RANGES_H

#include <stddef.h>

#include "pipeline/phase.h" /* sl__row_range */

/* Sorts ranges by lo, joins adjacent or overlapping ones and drops empty ones
 * (lo >= hi); returns the new count, the result being r[0..count). */
size_t sl__row_ranges_coalesce(sl__row_range *r, size_t n);

#endif
