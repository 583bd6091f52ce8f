/* test_stage_intervals.c - arithmetic of the `intervals` source. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>

#include "intervals_kernel.h"

Test(stage_intervals, uneven_last_interval_and_batch)
{
    /* [3, 26) in width 5: [3,8) [8,13) [13,18) [18,23) [23,26). */
    cr_assert_eq(sl_intervals_count(3, 26, 5), 5);
    cr_assert_eq(sl_intervals_batches(3, 26, 5, 2), 3);
    uint64_t first = 0, lo[2], hi[2];
    uint64_t n = sl_intervals_batch_rows(3, 26, 5, 2, 2, &first);
    cr_assert_eq(n, 1);
    cr_assert_eq(first, 4);
    sl_intervals_fill(3, 26, 5, first, n, lo, hi);
    cr_assert_eq(lo[0], 23);
    cr_assert_eq(hi[0], 26);
    n = sl_intervals_batch_rows(3, 26, 5, 2, 1, &first);
    cr_assert_eq(n, 2);
    sl_intervals_fill(3, 26, 5, first, n, lo, hi);
    cr_assert_eq(lo[0], 13);
    cr_assert_eq(hi[0], 18);
    cr_assert_eq(lo[1], 18);
    cr_assert_eq(hi[1], 23);
    cr_assert_eq(sl_intervals_batch_rows(3, 26, 5, 2, 3, &first), 0);
}

Test(stage_intervals, batches_tile_the_range)
{
    const uint64_t start = 1000, stop = 98765, width = 333, batch = 7;
    uint64_t nb = sl_intervals_batches(start, stop, width, batch), next = start, rows = 0;
    for (uint64_t seq = 0; seq < nb; seq++) {
        uint64_t first = 0;
        uint64_t n = sl_intervals_batch_rows(start, stop, width, batch, seq, &first);
        cr_assert_eq(first, seq * batch);
        uint64_t *lo = malloc(n * sizeof *lo), *hi = malloc(n * sizeof *hi);
        sl_intervals_fill(start, stop, width, first, n, lo, hi);
        for (uint64_t i = 0; i < n; i++) {
            cr_assert_eq(lo[i], next);
            cr_assert(hi[i] > lo[i] && hi[i] - lo[i] <= width);
            next = hi[i];
        }
        rows += n;
        free(lo);
        free(hi);
    }
    cr_assert_eq(next, stop);
    cr_assert_eq(rows, sl_intervals_count(start, stop, width));
}

Test(stage_intervals, empty_when_stop_not_above_start)
{
    cr_assert_eq(sl_intervals_count(5, 5, 1), 0);
    cr_assert_eq(sl_intervals_count(6, 5, 1), 0);
    cr_assert_eq(sl_intervals_batches(6, 5, 1, 1), 0);
    uint64_t first = 0;
    cr_assert_eq(sl_intervals_batch_rows(6, 5, 1, 1, 0, &first), 0);
}

Test(stage_intervals, stop_at_uint64_max_does_not_overflow)
{
    const uint64_t start = UINT64_MAX - 25, stop = UINT64_MAX, width = 10;
    cr_assert_eq(sl_intervals_count(start, stop, width), 3);
    uint64_t lo[3], hi[3], first = 0;
    uint64_t n = sl_intervals_batch_rows(start, stop, width, 8, 0, &first);
    cr_assert_eq(n, 3);
    sl_intervals_fill(start, stop, width, first, n, lo, hi);
    cr_assert_eq(lo[2], UINT64_MAX - 5);
    cr_assert_eq(hi[2], UINT64_MAX);
    /* One interval of width 2^64-1 covering everything; and width 2^63. */
    cr_assert_eq(sl_intervals_count(0, UINT64_MAX, UINT64_MAX), 1);
    cr_assert_eq(sl_intervals_count(0, UINT64_MAX, (uint64_t)1 << 63), 2);
    sl_intervals_fill(0, UINT64_MAX, (uint64_t)1 << 63, 1, 1, lo, hi);
    cr_assert_eq(lo[0], (uint64_t)1 << 63);
    cr_assert_eq(hi[0], UINT64_MAX);
    cr_assert_eq(sl_intervals_batches(0, UINT64_MAX, 1, UINT64_MAX), 1);
}
