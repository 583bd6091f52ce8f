/* matgen_kernel.h - counter-based random matrices for the `matgen` source.
 *
 * Element e of matrix `which` (0 = A, 1 = B) of pair `pair` under `seed` is a
 * pure function of that key: a double in [-1, 1) built from the top 53 bits
 * of a splitmix64-style mix. No stream state, so values are the same for any
 * thread count, rank count or order. Pure, sequential, reentrant. */
#ifndef SL_MATGEN_KERNEL_H
#define SL_MATGEN_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* The value for one key. */
double sl_matgen_value(uint64_t seed, uint64_t pair, unsigned which, uint64_t elem);

/* out[e] = sl_matgen_value(seed, pair, which, e) for e < count. */
void sl_matgen_fill(uint64_t seed, uint64_t pair, unsigned which, size_t count,
                    double *restrict out);

#endif
