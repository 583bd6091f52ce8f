/* lib/pipeline/progress.c - how far a running pipeline is, for progress lines.
 *
 * Read from another thread while the executor runs: the counters are the
 * executor's own atomics (the last stage's completed count, p->dropped, and a
 * rebatch's absorbed and emitted), read
 * relaxed, since a progress line needs no ordering with the batches. The
 * plan's size is written before the run starts (and, in the distribution
 * layer, between phases, when no batches run), so a plain read sees it. */
#include "pipeline/pipeline_impl.h"

void sl_pipeline_progress(const sl_pipeline *p, uint64_t *done, uint64_t *total)
{
    uint64_t d = 0;
    if (p && p->nstages > 0) {
        d = sl__stage_completed(p, p->nstages - 1) +
            atomic_load_explicit(&p->dropped, memory_order_relaxed);
        /* After a rebatch the last stage counts re-cut batches: count the
         * source's instead (absorbed into it, less the ones it made). */
        if (p->rebatch != SIZE_MAX) {
            uint64_t in = atomic_load_explicit(&p->absorbed, memory_order_relaxed),
                     out = atomic_load_explicit(&p->emitted, memory_order_relaxed);
            d = d + in > out ? d + in - out : 0;
        }
    }
    if (done)
        *done = d;
    if (total)
        *total = p ? p->total_batches : 0;
}
