/* lib/pipeline/metrics.h - what each stage did, for the summary's
 * bottleneck report, --stats, --trace and the HDF5 output (docs/stats.md).
 *
 * The executor reports every finished attempt (one call, on the thread that
 * ran it, with the two clock readings it takes anyway); everything else -
 * per-thread histograms, a sampler of queue occupancy and stage state, the
 * trace buffers, merging at the end - lives in metrics.c. */
#ifndef SLUICE_PIPELINE_METRICS_H
#define SLUICE_PIPELINE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include <sluice/error.h>

struct sl_pipeline;

/* One attempt of stage `stage` at batch seq ran [t0_ns, t1_ns)
 * (CLOCK_MONOTONIC) on this thread; rows_in is the input's row count (0 for a
 * source), rows_out the batch's after the call; ok: it succeeded. Cheap: a
 * few per-thread increments, plus one trace record when tracing. */
void sl__metrics_job(struct sl_pipeline *p, int stage, uint64_t seq, uint64_t t0_ns,
                     uint64_t t1_ns, uint64_t rows_in, uint64_t rows_out, bool ok);

/* Around the batches of a run (sl__executor_run, after sl__watch_start and
 * before sl__watch_stop): set up per-thread state and the sampler; stop
 * merges and keeps the figures on the pipeline. */
sl_status sl__metrics_start(struct sl_pipeline *p, sl_error *err);
void sl__metrics_stop(struct sl_pipeline *p);

#endif
