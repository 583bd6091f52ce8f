/* sum_kernel.h - sums of numeric arrays for the `sum` stage.
 *
 * Integers are summed modulo 2^64 into a u64 (signed values are sign-extended
 * first, so the total read back as int64 is right while it fits); floats are
 * summed in double. Pure, sequential, reentrant. */
#ifndef SL_SUM_KERNEL_H
#define SL_SUM_KERNEL_H

#include <stddef.h>
#include <stdint.h>

uint64_t sl_sum_u64(const uint64_t *restrict x, size_t n);
uint64_t sl_sum_i64(const int64_t *restrict x, size_t n);
uint64_t sl_sum_u32(const uint32_t *restrict x, size_t n);
uint64_t sl_sum_i32(const int32_t *restrict x, size_t n);
double sl_sum_f64(const double *restrict x, size_t n);
double sl_sum_f32(const float *restrict x, size_t n);

#endif
