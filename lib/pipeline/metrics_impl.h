/* lib/pipeline/metrics_impl.h - what the metrics files share: the per-stage
 * figures (mergeable over threads and ranks), the time series, and the
 * metrics object a pipeline keeps from its first run (or set_trace) until it
 * is destroyed.
 *
 * Files: metrics.c (per-thread counting, start, stop, merge), metrics_sampler.c
 * (the sampler thread and the series), stats.c (public figures, bottleneck),
 * stats_json.c (the JSON text), trace.c (the Chrome trace). */
#ifndef SLUICE_PIPELINE_METRICS_IMPL_H
#define SLUICE_PIPELINE_METRICS_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <sluice/stats.h>

struct sl_pipeline;

/* Latency histogram: values below 8 ns exactly, then 8 sub-buckets per power
 * of two of nanoseconds (HdrHistogram's layout), so a bucket is at most 1/8
 * of its lower bound wide and its midpoint within 1/16 of any value in it. */
#define MET_SUB_BITS 3
#define MET_SUB (1u << MET_SUB_BITS)
#define MET_BUCKETS (MET_SUB + (64 - MET_SUB_BITS) * MET_SUB)

/* One stage's figures on one rank, or summed. Only uint64_t, so that a rank's
 * figures travel as one array of words (lib/dist/stats_gather.c). */
typedef struct sl__stage_fig {
    uint64_t batches_in, batches_out, rows_in, rows_out;
    uint64_t attempts, failed, busy_ns, max_ns;
    uint64_t retries, timeouts, dropped;
    /* Sampler counts: looks, looks starved / blocked / with a full queue,
     * and the sums of queue length and running instances over the looks. */
    uint64_t samples, starved, blocked, full, queue_sum, running_sum;
    uint64_t hosted;  /* ranks that ran the stage */
    uint64_t spans_dropped; /* attempts the trace did not keep (its cap) */
    uint64_t hist[MET_BUCKETS];
} sl__stage_fig;
#define MET_FIG_WORDS (sizeof(sl__stage_fig) / sizeof(uint64_t))

/* Per stage, over time since the run started: batches done (cumulative),
 * input queue length and running instances, as the sampler saw them. At most
 * MET_SERIES_MAX points: when full, every other point goes and the interval
 * doubles, so a long run keeps its whole history at a coarser step. */
#define MET_SERIES_MAX 2048
#define MET_SERIES_COLS 3 /* batches_done, queue, busy */
typedef struct met_series {
    double interval; /* seconds between points (nominal) */
    size_t n;        /* points */
    size_t nst;      /* stages */
    double *t;       /* [MET_SERIES_MAX]: seconds since the start */
    double *v;       /* [nst][MET_SERIES_COLS][MET_SERIES_MAX] */
} met_series;
#define MET_V(s, st, col, k) ((s)->v[((size_t)(st) * MET_SERIES_COLS + (col)) * MET_SERIES_MAX + (k)])

/* One thread's counts of one stage; written by that thread only. */
typedef struct met_stage {
    uint64_t attempts, failed, ok, rows_in, max_ns, spans_dropped;
    uint64_t hist[MET_BUCKETS];
} met_stage;

/* One attempt, for the trace. */
typedef struct met_span {
    uint64_t t0, t1, seq;
    int32_t stage;
    uint32_t ok;
} met_span;

/* A thread's slot: claimed at its first attempt of the run, then written by
 * that thread alone, on cache lines of its own. */
typedef struct met_thread {
    _Alignas(64) met_stage *st; /* [nstages], its own allocation */
    met_span *spans;
    size_t nspans, cap_spans;
    int tid; /* the OpenMP thread number */
} met_thread;

struct sl__metrics {
    /* Settings, kept across runs. */
    bool off;         /* SLUICE_METRICS=0 */
    char *trace_path; /* NULL: no trace */
    int segment;      /* stage mode: the segment this pipeline runs; -1: none */
    uint64_t trace_segs; /* stage mode, whole job's pipeline: segments that trace */
    const struct sl_pipeline *speaker; /* stats of this pipeline speak for ours */
    bool silent;      /* a rank other than 0 after a multi-rank run */

    /* The run (metrics.c). id: unique in the process, threads know their
     * run by it. */
    uint64_t id;
    size_t nstages;
    int nslots;
    met_thread *slots;           /* [nslots + 1] */
    met_thread *overflow;        /* the last: threads beyond nslots, under ovf_lock */
    pthread_mutex_t ovf_lock;
    atomic_int nclaimed;
    uint64_t t0_ns;      /* CLOCK_MONOTONIC at start */
    int64_t real0_ns;    /* CLOCK_REALTIME at start */
    size_t trace_cap;    /* spans kept per thread */
    char started_utc[32], host[64];

    /* The sampler (metrics_sampler.c). */
    pthread_t sampler;
    bool sampler_on;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool quit;           /* under mu */
    uint64_t *samp;      /* [nstages][6]: the sampler counts of sl__stage_fig */
    double next_point;   /* seconds: when the series takes its next point */
    double sampler_cpu_s;
    double wall_s;       /* from start to stop */

    /* Results: this run's own figures, each rank's (rank 0 after a gather)
     * and the job's, the series (the job's after a gather). */
    bool have;
    sl__stage_fig *local;  /* [nstages] */
    int nranks;            /* of rank_figs */
    sl__stage_fig *rank_figs; /* [nranks][nstages] */
    double *rank_wall;     /* [nranks] */
    sl__stage_fig *job;    /* [nstages] */
    met_series series;
    double per_attempt_ns; /* the per-attempt cost, calibrated at stop */
    uint64_t trace_parts;  /* parts written: bit 63 PATH.rK.json, bit k PATH.rK.sk.json */
    char *json;            /* the last sl_ctx_stats_json text */
};

/* metrics.c */
void sl__fig_add(sl__stage_fig *dst, const sl__stage_fig *src);
/* Value of quantile q (0..1) of the histogram, ns; 0 when empty. */
double sl__fig_quantile_ns(const sl__stage_fig *f, double q);
/* The job figures from rank_figs (sums). */
void sl__metrics_sum_ranks(struct sl__metrics *m);
/* The metrics object of p, made when missing; NULL when out of memory. */
struct sl__metrics *sl__metrics_get(struct sl_pipeline *p);
/* The result arrays for n stages, zeroed (a previous run's are dropped). */
sl_status sl__metrics_results_alloc(struct sl__metrics *m, size_t n, sl_error *err);

/* metrics_sampler.c */
sl_status sl__sampler_start(struct sl_pipeline *p, sl_error *err);
void sl__sampler_stop(struct sl_pipeline *p);
sl_status sl__series_init(met_series *s, size_t nst);
void sl__series_free(met_series *s);
/* Adds columns [sk, sk + count) of src into [dj, dj + count) of dst, on
 * dst's time axis (src's values held at each dst point; dst grows to cover
 * src). An empty dst takes src's axis. */
sl_status sl__series_add(met_series *dst, size_t dj, const met_series *src, size_t sk,
                         size_t count);

/* stats.c: the job's (or a rank's) figures of stage i, as the public struct. */
void sl__stats_fill(const struct sl_pipeline *p, size_t i, const sl__stage_fig *f, double wall,
                    sl_stage_metrics *out);
/* The pipeline whose figures p speaks with (p itself, or its speaker). */
const struct sl_pipeline *sl__stats_source(const struct sl_pipeline *p);

/* stats_json.c */
void sl__json_str(FILE *f, const char *s);
void sl__json_num(FILE *f, double v);

/* trace.c: writes this pipeline's spans (its own file, or its rank's part). */
void sl__trace_write(struct sl_pipeline *p);
/* Rank 0: joins the parts parts[r] says rank r wrote into the trace file. */
sl_status sl__trace_join(const struct sl_pipeline *p, int nranks, const uint64_t *parts,
                         sl_error *err);

#endif
