/* sum_kernel.c - integer sums modulo 2^64, float sums in double. */
#include "sum_kernel.h"

uint64_t sl_sum_u64(const uint64_t *restrict x, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

uint64_t sl_sum_i64(const int64_t *restrict x, size_t n)
{
    uint64_t s = 0; /* unsigned: wrapping is defined, two's complement result */
    for (size_t i = 0; i < n; i++)
        s += (uint64_t)x[i];
    return s;
}

uint64_t sl_sum_u32(const uint32_t *restrict x, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

uint64_t sl_sum_i32(const int32_t *restrict x, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (uint64_t)(int64_t)x[i];
    return s;
}

double sl_sum_f64(const double *restrict x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

double sl_sum_f32(const float *restrict x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s;
}
