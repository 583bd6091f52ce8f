/* range_kernel.c - batch arithmetic of the `range` source (see range_kernel.h). */
#include "range_kernel.h"

uint64_t sl_range_batches(uint64_t start, uint64_t stop, uint64_t batch)
{
    if (stop <= start || batch == 0)
        return 0;
    uint64_t len = stop - start;
    return len / batch + (len % batch != 0);
}

uint64_t sl_range_batch_rows(uint64_t start, uint64_t stop, uint64_t batch, uint64_t seq,
                             uint64_t *first)
{
    if (seq >= sl_range_batches(start, stop, batch))
        return 0;
    /* seq < batches, so seq * batch < stop - start: no overflow below. */
    uint64_t off = seq * batch;
    uint64_t left = stop - start - off;
    *first = start + off;
    return left < batch ? left : batch;
}

void sl_range_fill(uint64_t first, size_t n, uint64_t *restrict out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = first + i;
}
