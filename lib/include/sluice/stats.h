/* sluice/stats.h - what each stage of a run did: figures, the bottleneck,
 * the stats file and the trace (docs/stats.md).
 *
 * A run measures itself: every attempt of every stage is counted on the
 * thread that ran it (batches, rows, time, a latency histogram), and a
 * sampler thread looks at the queues every 10 ms (how often each stage is
 * starved of input, blocked on its downstream queue, or has a full input
 * queue). The figures are merged when the batches end and stay on the
 * pipeline until it is destroyed. In a multi-rank run rank 0 holds the job's
 * figures (sums over ranks) and every rank's own; the other ranks hold none
 * after the run. SLUICE_METRICS=0 in the environment turns all of it off. */
#ifndef SLUICE_STATS_H
#define SLUICE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_pipeline sl_pipeline;

/* One stage's figures, for the whole job or one rank. Times in seconds
 * unless the name says otherwise; fractions from 0 to 1. */
typedef struct sl_stage_metrics {
    const char *name;       /* borrowed from the pipeline */
    const char *plugin;     /* the descriptor's name, e.g. "primes"; borrowed */
    int mode;               /* sl_stage_mode as resolved */
    int concurrency;        /* instances per rank */
    int queue;              /* input capacity (0 for the source) */
    int ranks;              /* ranks that ran the stage (1 for one rank's figures) */
    uint64_t batches_in;    /* batches that entered: batches_out + dropped */
    uint64_t batches_out;   /* batches it completed and passed on */
    uint64_t rows_in;       /* input rows of the completed batches (0 for a source) */
    uint64_t rows_out;      /* rows of the completed batches */
    uint64_t attempts;      /* calls of produce()/process(), retries included */
    uint64_t failed;        /* attempts that failed or timed out */
    uint64_t retries, timeouts, dropped;
    double busy_s;          /* summed time inside the stage's callbacks */
    double utilisation;     /* busy_s / (wall_s x concurrency x ranks) */
    double busy_frac;       /* sampled: mean share of its instances running */
    double starved_frac;    /* sampled: an idle instance and no input */
    double blocked_frac;    /* sampled: an idle instance, input, no downstream credit */
    double queue_mean;      /* sampled: mean batches in its input queue */
    double queue_full_frac; /* sampled: its input queue full */
    uint64_t samples;       /* sampler looks the fractions are made of */
    double p50_ms, p90_ms, p99_ms, max_ms; /* per attempt; within 1/16 (histogram) */
} sl_stage_metrics;

/* The job's figures of stage i (rank < 0), or rank `rank`'s. false when
 * there are none (no run, metrics off, a rank other than 0 after a
 * multi-rank run, i or rank out of range). Not thread-safe. */
#define SL_STATS_JOB (-1)
bool sl_pipeline_stage_metrics(const sl_pipeline *p, size_t i, int rank, sl_stage_metrics *out);
/* Ranks whose figures the pipeline holds (0: none). */
int sl_pipeline_stats_ranks(const sl_pipeline *p);

/* The stage that limits the run, why, and what to change. */
typedef struct sl_bottleneck {
    int stage;           /* index; -1 when there are no figures */
    double utilisation;  /* that stage's */
    char reason[256];    /* "primes is busy 97% and its input queue is full 90% of the time" */
    char suggestion[256]; /* "raise primes.concurrency (now 2; 8 threads)" */
} sl_bottleneck;
/* Fills *out and returns out->stage. */
int sl_pipeline_bottleneck(const sl_pipeline *p, sl_bottleneck *out);

/* The figures as JSON (schema "sluice-stats/1", docs/stats.md). Owned by
 * caller: the text (free()); NULL without figures or out of memory. */
char *sl_pipeline_stats_json(const sl_pipeline *p);
sl_status sl_pipeline_write_stats_json(const sl_pipeline *p, const char *path, sl_error *err);

/* Records a span per attempt per stage, thread and rank, written when the
 * batches end to `path` in the Chrome trace event format (Perfetto opens it).
 * Under MPI every rank writes PATH.r<K>.json and rank 0 joins them into PATH
 * at the end of a successful run. At most 1e6 spans per rank are kept; the
 * rest are counted. NULL: off (the default). Call before the run; not
 * collective (every rank calls it with the same path). Copies path. */
sl_status sl_pipeline_set_trace(sl_pipeline *p, const char *path, sl_error *err);

#ifdef __cplusplus
}
#endif
#endif
