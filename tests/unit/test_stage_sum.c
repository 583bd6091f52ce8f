/* test_stage_sum.c - the `sum` kernels: wrapping integer sums, float sums. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "sum_kernel.h"

Test(stage_sum, integers_sum_modulo_2_64)
{
    const uint64_t u[] = {UINT64_MAX, 2, 5};
    cr_assert_eq(sl_sum_u64(u, 3), 6);
    const int64_t i[] = {-7, 3, 1};
    cr_assert_eq((int64_t)sl_sum_i64(i, 3), -3);
    const int32_t j[] = {-2147483647 - 1, -1, 5};
    cr_assert_eq((int64_t)sl_sum_i32(j, 3), -2147483644LL);
    const uint32_t k[] = {UINT32_MAX, UINT32_MAX};
    cr_assert_eq(sl_sum_u32(k, 2), 2ull * UINT32_MAX);
    cr_assert_eq(sl_sum_u64(u, 0), 0);
}

Test(stage_sum, floats_sum_in_double)
{
    const double d[] = {0.5, 0.25, -1.0};
    cr_assert_float_eq(sl_sum_f64(d, 3), -0.25, 0.0);
    const float f[] = {16777216.0f, 1.0f, 1.0f}; /* exceeds float precision, not double */
    cr_assert_float_eq(sl_sum_f32(f, 3), 16777218.0, 0.0);
}
