/* matgen_kernel.c - counter-based random matrices (see matgen_kernel.h).
 *
 * The key (seed, pair, which) selects a splitmix64 stream start; element e is
 * the e-th output of that stream, mix(start + (e+1)*golden). Streams of
 * distinct keys start at unrelated 64-bit points, so they overlap only with
 * probability ~ elements^2 / 2^64. */
#include "matgen_kernel.h"

#define GOLDEN UINT64_C(0x9e3779b97f4a7c15)

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline uint64_t stream_start(uint64_t seed, uint64_t pair, unsigned which)
{
    uint64_t k = mix64(seed + GOLDEN);
    k = mix64(k ^ ((pair * 2 + (which & 1u) + 1) * GOLDEN));
    return k;
}

/* Top 53 bits scaled to [0, 2), minus 1: exact, and always in [-1, 1). */
static inline double to_unit(uint64_t x) { return (double)(x >> 11) * 0x1p-52 - 1.0; }

double sl_matgen_value(uint64_t seed, uint64_t pair, unsigned which, uint64_t elem)
{
    return to_unit(mix64(stream_start(seed, pair, which) + (elem + 1) * GOLDEN));
}

void sl_matgen_fill(uint64_t seed, uint64_t pair, unsigned which, size_t count,
                    double *restrict out)
{
    uint64_t st = stream_start(seed, pair, which);
    for (size_t e = 0; e < count; e++)
        out[e] = to_unit(mix64(st + ((uint64_t)e + 1) * GOLDEN));
}
