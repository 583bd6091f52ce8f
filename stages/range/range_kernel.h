/* range_kernel.h - batch arithmetic of the `range` source: n in [start, stop).
 *
 * Pure, sequential and reentrant. Every function is overflow-safe for any
 * 64-bit start, stop and batch (batch >= 1): nothing computes start + k*batch
 * unless it is known to be below stop. */
#ifndef SL_RANGE_KERNEL_H
#define SL_RANGE_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* Number of batches: ceil((stop - start) / batch), 0 when stop <= start. */
uint64_t sl_range_batches(uint64_t start, uint64_t stop, uint64_t batch);

/* Rows of batch seq, and its first value in *first (start + seq*batch).
 * Returns 0 (and leaves *first alone) when seq is past the last batch. */
uint64_t sl_range_batch_rows(uint64_t start, uint64_t stop, uint64_t batch, uint64_t seq,
                             uint64_t *first);

/* out[i] = first + i for i < n. The caller ensures first + n - 1 does not wrap. */
void sl_range_fill(uint64_t first, size_t n, uint64_t *restrict out);

#endif
