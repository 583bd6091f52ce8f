/* intervals_kernel.h - arithmetic of the `intervals` source.
 *
 * [start, stop) is cut into intervals of `width` (the last may be shorter):
 * interval k = [start + k*width, min(start + (k+1)*width, stop)). Batches hold
 * `batch` consecutive intervals. Pure, sequential, reentrant, and overflow-safe
 * for any 64-bit inputs with width, batch >= 1 (up to stop = 2^64-1). */
#ifndef SL_INTERVALS_KERNEL_H
#define SL_INTERVALS_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* Number of intervals: ceil((stop - start) / width), 0 when stop <= start. */
uint64_t sl_intervals_count(uint64_t start, uint64_t stop, uint64_t width);

/* Number of batches: ceil(intervals / batch). */
uint64_t sl_intervals_batches(uint64_t start, uint64_t stop, uint64_t width, uint64_t batch);

/* Intervals in batch seq (0 when seq is past the last batch); *first receives
 * the index of its first interval. */
uint64_t sl_intervals_batch_rows(uint64_t start, uint64_t stop, uint64_t width, uint64_t batch,
                                 uint64_t seq, uint64_t *first);

/* Writes intervals first .. first+n-1 into lo[] and hi[]. The caller ensures
 * they exist (first + n <= sl_intervals_count). */
void sl_intervals_fill(uint64_t start, uint64_t stop, uint64_t width, uint64_t first, size_t n,
                       uint64_t *restrict lo, uint64_t *restrict hi);

#endif
