/* intervals_kernel.c - arithmetic of the `intervals` source (see the header).
 * Every sum is formed only once it is known to stay below stop. */
#include "intervals_kernel.h"

static uint64_t ceil_div(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

uint64_t sl_intervals_count(uint64_t start, uint64_t stop, uint64_t width)
{
    if (stop <= start || width == 0)
        return 0;
    return ceil_div(stop - start, width);
}

uint64_t sl_intervals_batches(uint64_t start, uint64_t stop, uint64_t width, uint64_t batch)
{
    if (batch == 0)
        return 0;
    return ceil_div(sl_intervals_count(start, stop, width), batch);
}

uint64_t sl_intervals_batch_rows(uint64_t start, uint64_t stop, uint64_t width, uint64_t batch,
                                 uint64_t seq, uint64_t *first)
{
    uint64_t k = sl_intervals_count(start, stop, width);
    if (batch == 0 || seq >= ceil_div(k, batch))
        return 0;
    uint64_t off = seq * batch; /* < k, since seq < ceil(k / batch) */
    uint64_t left = k - off;
    *first = off;
    return left < batch ? left : batch;
}

void sl_intervals_fill(uint64_t start, uint64_t stop, uint64_t width, uint64_t first, size_t n,
                       uint64_t *restrict lo, uint64_t *restrict hi)
{
    /* first < count, so first*width < stop - start. */
    uint64_t a = start + first * width;
    for (size_t i = 0; i < n; i++) {
        uint64_t b = stop - a > width ? a + width : stop;
        lo[i] = a;
        hi[i] = b;
        a = b;
    }
}
