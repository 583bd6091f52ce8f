/* test_stage_range.c - batch arithmetic of the `range` source. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "range_kernel.h"

Test(stage_range, counts_batches_with_uneven_last_batch)
{
    cr_assert_eq(sl_range_batches(0, 10, 3), 4);
    cr_assert_eq(sl_range_batches(0, 9, 3), 3);
    cr_assert_eq(sl_range_batches(5, 6, 100), 1);
    uint64_t first = 0;
    cr_assert_eq(sl_range_batch_rows(0, 10, 3, 0, &first), 3);
    cr_assert_eq(first, 0);
    cr_assert_eq(sl_range_batch_rows(0, 10, 3, 3, &first), 1);
    cr_assert_eq(first, 9);
    cr_assert_eq(sl_range_batch_rows(0, 10, 3, 4, &first), 0);
}

Test(stage_range, batches_cover_the_range_exactly_once)
{
    const uint64_t start = 17, stop = 1000, batch = 7;
    uint64_t nb = sl_range_batches(start, stop, batch), next = start;
    cr_assert_eq(nb, (stop - start + batch - 1) / batch);
    for (uint64_t seq = 0; seq < nb; seq++) {
        uint64_t first = 0;
        uint64_t n = sl_range_batch_rows(start, stop, batch, seq, &first);
        uint64_t *v = malloc(n * sizeof *v);
        sl_range_fill(first, n, v);
        for (uint64_t i = 0; i < n; i++)
            cr_assert_eq(v[i], next++);
        free(v);
    }
    cr_assert_eq(next, stop);
}

Test(stage_range, empty_when_stop_not_above_start)
{
    uint64_t first = 123;
    cr_assert_eq(sl_range_batches(10, 10, 4), 0);
    cr_assert_eq(sl_range_batches(11, 10, 4), 0);
    cr_assert_eq(sl_range_batch_rows(11, 10, 4, 0, &first), 0);
    cr_assert_eq(first, 123);
}

Test(stage_range, huge_values_near_uint64_max_do_not_overflow)
{
    const uint64_t stop = UINT64_MAX, start = UINT64_MAX - 10;
    cr_assert_eq(sl_range_batches(start, stop, 4), 3);
    cr_assert_eq(sl_range_batches(0, UINT64_MAX, UINT64_MAX), 1);
    cr_assert_eq(sl_range_batches(0, UINT64_MAX, (uint64_t)1 << 63), 2);
    uint64_t first = 0, v[4];
    uint64_t n = sl_range_batch_rows(start, stop, 4, 2, &first);
    cr_assert_eq(n, 2);
    cr_assert_eq(first, UINT64_MAX - 2);
    sl_range_fill(first, n, v);
    cr_assert_eq(v[0], UINT64_MAX - 2);
    cr_assert_eq(v[1], UINT64_MAX - 1);
    /* The second half-range batch of [0, 2^64-1) with batch 2^63. */
    n = sl_range_batch_rows(0, UINT64_MAX, (uint64_t)1 << 63, 1, &first);
    cr_assert_eq(first, (uint64_t)1 << 63);
    cr_assert_eq(n, ((uint64_t)1 << 63) - 1);
    cr_assert_eq(sl_range_batch_rows(start, stop, 4, UINT64_MAX, &first), 0);
}
