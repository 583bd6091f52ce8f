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
/* sl_pipeline_destroy: frees what the run kept. */
void sl__metrics_free(struct sl_pipeline *p);

/* --- For the distribution layer (lib/dist), single-threaded after the run. */

/* Stage mode: seg runs segment k of the job whose pipeline is full: it
 * traces to full's path (part PATH.r<rank>.s<k>.json), and full learns it. */
void sl__metrics_inherit(struct sl_pipeline *seg, struct sl_pipeline *full, int k);
/* Stage mode: stage k of seg's figures (and series) become stage j's of
 * full, which then holds this rank's figures. */
void sl__metrics_copy_stage(struct sl_pipeline *full, size_t j, const struct sl_pipeline *seg,
                            size_t k);
/* A rank's figures as words: the same count on every rank of a job. */
size_t sl__metrics_words(const struct sl_pipeline *p);
void sl__metrics_pack(const struct sl_pipeline *p, uint64_t *out);
/* Its series as doubles (out NULL: only the count). */
size_t sl__metrics_series_pack(const struct sl_pipeline *p, double *out);
/* Rank 0: every rank's words (nranks x sl__metrics_words, rank order) and
 * series become p's per-rank figures and the job's; writer (NULL or p
 * itself allowed) speaks with them from then on (sl_ctx_stats_json). Joins
 * the ranks' trace parts into the trace file. */
sl_status sl__metrics_take_ranks(struct sl_pipeline *p, struct sl_pipeline *writer, int nranks,
                                 const uint64_t *words, const double *const *series,
                                 sl_error *err);
/* Other ranks: p (and writer) hold no figures the job's summary could use. */
void sl__metrics_silence(struct sl_pipeline *p, struct sl_pipeline *writer);

#endif
