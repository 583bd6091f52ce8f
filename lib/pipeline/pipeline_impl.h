/* lib/pipeline/pipeline_impl.h - the pipeline's private state, shared by the
 * builder (pipeline.c, build.c), the run context (ctx.c), the output file
 * handling (output.c) and the executor (executor.c).
 *
 * Concurrency contract: everything here is written single-threaded while the
 * pipeline is built; during a run only the fields marked "atomic" change,
 * plus the rings and queues, which are lock-free. Counters that many threads
 * bump sit on cache lines of their own so stages do not slow each other. */
#ifndef SLUICE_PIPELINE_IMPL_H
#define SLUICE_PIPELINE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <sluice/batch.h>
#include <sluice/pipeline.h>
#include <sluice/queue.h>
#include <sluice/stage.h>

#include "pipeline/phase.h"

#define PL_CACHELINE 64
#define PL_MAX_FOLDS 64 /* distinct result names batches may contribute to */

struct sl_ctx {
    struct sl_pipeline *p;
    int stage; /* index of the stage this context belongs to */
};

typedef struct pl_stage {
    const sl_stage_desc *desc; /* borrowed from the registry or the caller */
    char *name;
    sl_params *params;         /* owned */
    sl_stage_mode mode;
    int conc;                  /* instances, = the most batches in the stage at once */
    int qcap;                  /* input capacity (0 for the source) */
    void **inst;               /* conc instance states */
    int ninst_created;         /* how many create() calls succeeded */
    bool finished;
    /* The inputs it named (sl_ctx_input): key the name, value its identity. */
    struct pl_kv *inputs;
    size_t ninputs;
    /* The columns after this stage (sluice/schema.h); NULL: unknown. */
    struct sl_schema *schema;
    /* A job of the stage before may hand its batch straight to a job of
     * this one on the same thread (executor.c inline_next). */
    bool inline_ok;
    size_t slot0;              /* its first job slot in p->jobslots */
    sl_queue *free_inst;       /* indices of idle instances: the concurrency limit */
    sl_queue *inq;             /* FIFO input (parallel/serial stages after the first) */
    _Atomic(sl_batch *) *ring; /* ordered input, indexed by lidx % qcap */
    struct sl_ctx ctx;
    sl_stage_policy pol;
    uint64_t rate_gap_ns;      /* with a rate: this rank's least time between two fires */
    uint64_t timeout_ns;       /* 0: no deadline */
    uint64_t warn_slow_ns;     /* 0: no slow-batch warnings */

    /* Credits of the input queue: free slots not yet promised to an upstream
     * task. atomic. */
    _Alignas(PL_CACHELINE) atomic_long credits;
    /* Ordered stages: the lidx they take next. atomic. */
    _Alignas(PL_CACHELINE) atomic_uint_fast64_t next;
    /* Requests to look at this stage again; the thread that takes it from 0
     * is the stage's only firer until it brings it back to 0. atomic. */
    _Alignas(PL_CACHELINE) atomic_uint_fast64_t poke;
    /* Figures: the run counts them per thread (p->tc) and these hold
     * what was set from outside (sl__run_set_stage_figures); read through
     * sl__stage_completed/rows/busy_ns, which add both. atomic. */
    _Alignas(PL_CACHELINE) atomic_uint_fast64_t completed;
    atomic_uint_fast64_t rows;
    atomic_uint_fast64_t busy_ns;
    /* Failures (failure policy): retries made, attempts that timed out,
     * batches given up (skipped or dead-lettered). atomic. */
    atomic_uint_fast64_t retried, timeouts, dropped;
    /* Jobs of this stage waiting for their retry (in p->parked). atomic. */
    atomic_int nparked;
    atomic_uint_fast64_t notes; /* failure lines printed (executor.c note) */
    atomic_uint_fast64_t slow, slow_notes; /* attempts over warn_slow; lines printed */
    /* Rebatch (SL_STAGE_REBATCH, rebatch.c): rows per batch out; the rows
     * gathered so far and an input held back because its rows do not follow
     * them. Touched by the stage's one job, or its firer while no job runs. */
    uint64_t rebatch_rows;
    sl_batch *acc, *held;
    atomic_uint_fast64_t taken; /* inputs taken from the ring (rebatch only) */
    /* Rate limit: the earliest time the stage may fire again (ns). Written
     * by the stage's firer only. atomic. */
    atomic_uint_fast64_t rate_next_ns;
} pl_stage;

/* A batch given up by a stage with on_error: deadletter. */
typedef struct pl_dead {
    uint64_t seq;
    char *stage;
    unsigned attempts;
    char *error;
    bool journaled; /* a checkpoint recorded it (checkpoint.c) */
} pl_dead;

struct pl_parked;

typedef struct pl_kv {
    char *key;
    char *value;
} pl_kv;

/* One team thread's figures of one stage. Only that thread writes them (a
 * relaxed load and store, no read-modify-write: no locked instruction and no
 * cache line shared with another writer on the per-batch path); anyone may
 * read them during the run. */
typedef struct pl_tcount {
    atomic_uint_fast64_t completed, rows, busy_ns;
} pl_tcount;

/* All threads' rows: threads rows of nstages pl_tcount, each row `row`
 * bytes (whole cache lines) from data. */
typedef struct pl_tcounts {
    int threads;
    size_t nstages, row;
    _Alignas(64) unsigned char data[];
} pl_tcounts;

typedef struct pl_result {
    char *key;
    sl_type type;
    uint64_t u;
    double f;
} pl_result;

struct sl_pipeline {
    int threads;
    bool force;
    bool validate_only;
    bool ran;
    char *output;      /* the user's path, or NULL */
    char *output_tmp;  /* where the output is until the run succeeds */
    char *sink_path;   /* where the sink writes, when not output_tmp (a rank's part) */
    int rank, nranks;
    char *job_name;
    char *job_text;

    pl_stage *stages;
    size_t nstages, cap_stages;

    /* The source's plan, and where this rank's seqs come from (NULL: all of
     * them in order). lidx is the rank's own ordinal of a batch: the n-th
     * seq it claimed. Only the source's firer claims, so feed_end is written
     * by one thread at a time and read after the parallel region. */
    uint64_t total_batches, total_rows;
    const sl__feed *feed;
    atomic_bool feed_end; /* release after next_lidx's last store: a rebatch reads both */
    atomic_long *tail_credits; /* NULL: the last stage needs none */
    bool tail_keeps;           /* the last stage owns the batches it took */
    sl__waiter waiter;
    _Alignas(PL_CACHELINE) atomic_uint_fast64_t next_lidx; /* atomic */

    /* SL_STAGE_EXCLUSIVE_LIBRARY stages share one token: 1 while one of their
     * jobs runs. atomic. */
    _Alignas(PL_CACHELINE) atomic_int excl_busy;

    /* Failure policy (executor.c). Parked jobs wait for a retry; dead letters
     * are the batches given up with on_error: deadletter. Both under
     * fail_lock: only failing batches take it. wake_ns is the earliest time
     * a parked job or a rate-limited stage wants another look (UINT64_MAX:
     * none). dropped counts every batch given up, so that end of stream by
     * count still works. */
    pthread_mutex_t fail_lock;
    struct pl_parked *parked;
    size_t nparked, cap_parked;
    pl_dead *dead;
    size_t ndead, cap_dead;
    char tomb; /* its address marks a dropped batch in an ordered ring */
    _Alignas(PL_CACHELINE) atomic_uint_fast64_t wake_ns;
    atomic_uint_fast64_t dropped;
    /* The rebatch stage's index (SIZE_MAX: none), the batches it absorbed
     * (inputs whose rows it took) and emitted: the end of the stream is
     * then last stage's + dropped + absorbed == claimed + emitted. */
    size_t rebatch;
    bool rebatch_told; /* the source's firer told the rebatch the input ended */
    atomic_uint_fast64_t absorbed, emitted;

    _Alignas(PL_CACHELINE) atomic_int failed;  /* atomic: 1 once a batch failed */
    atomic_int stop;                           /* atomic: a stop was requested */
    sl_error run_err;                          /* written once, by the first failure */

    /* Jobs fired and waiting for a thread (executor.c dispatch): pointers
     * into jobslots, one slot per stage instance (a fired job holds its
     * instance, so no two waiting jobs share a slot). workers: threads in
     * the loop that takes them, the spawned and not yet started included;
     * at most threads. */
    sl_queue *pending;
    struct pl_job *jobslots;
    size_t njobslots;
    int team; /* threads OpenMP gave this round (at most threads) */
    _Alignas(PL_CACHELINE) atomic_int workers;

    /* Per-thread figures, made at the first run. Published with release:
     * a progress thread may read them while the run starts. */
    _Atomic(pl_tcounts *) tc;

    sl_batch_pool *pool;
    size_t batch_bound;
    size_t peak_batches;
    double t0, wall;

    /* Row ranges the last stage completed (record_rows): a multi-rank merge
     * copies exactly these rows of this rank's part file. */
    bool record_rows;
    pthread_mutex_t rows_lock;
    /* Batches' result contributions, added up during the run without a lock
     * on the batch path (sl__run_fold_results): one slot per result name,
     * claimed under fold_lock the first time a name is seen (published by
     * nfold, release), then summed with atomic adds. Moved into `results`
     * when the batches are done (sl__run_fold_flush). */
    pthread_mutex_t fold_lock;
    struct pl_fold {
        char key[SL_BATCH_RESULT_KEY_MAX];
        sl_type type;
        atomic_uint_fast64_t v; /* the u64 sum, or the bits of the f64 sum */
    } fold[PL_MAX_FOLDS];
    atomic_size_t nfold;
    sl__row_range *rows_done;
    size_t nrows_done, cap_rows_done;

    /* The watchdog and crash handlers (watch.c). watchdog_s: seconds without a
     * finished batch before the run is declared hung; 0: off. */
    double watchdog_s;
    struct sl__watch *watch;
    /* Metrics (metrics.c): per-thread figures, the sampler, the trace. */
    struct sl__metrics *metrics;

    /* Resume (checkpoint.c, docs/resume.md): the state kept for it, NULL
     * when the run keeps none. The writer (last stage) runs a checkpoint job
     * once ckpt_due_ns has passed. Since the last checkpoint: seqs_done
     * (with rows_done) lists the batches the writer finished, appended by
     * its one job without a lock; seqs_dropped those given up, under
     * fail_lock with the dead letters. drain: the sources stop, the
     * batches in flight go through (a first stop signal). */
    struct sl__ckpt *ckpt;
    bool resume, retry_dead, no_state; /* as the options asked */
    double checkpoint_s;
    size_t ckpt_stage; /* SIZE_MAX: no checkpoints */
    bool ckpt_keep_last; /* at a successful end the open segment stays for finish() */
    bool ckpt_capable;   /* the run kept a state (it may be gone: nothing was in it) */
    _Alignas(PL_CACHELINE) atomic_uint_fast64_t ckpt_due_ns;
    atomic_int drain; /* atomic */
    sl__row_range *seqs_done, *seqs_dropped;
    size_t nseqs_done, cap_seqs_done, nseqs_dropped, cap_seqs_dropped;

    pl_kv *meta;
    size_t nmeta, cap_meta;
    pl_result *results;
    size_t nresults, cap_results;
};

/* ctx.c. The deadline of the job running on this thread (ns,
 * CLOCK_MONOTONIC), 0 for none: sl_ctx_should_stop says true past it. */
extern _Thread_local uint64_t sl__tl_deadline_ns;
sl_status sl__pipeline_meta_set(struct sl_pipeline *p, const char *key, const char *value,
                                sl_error *err);
void sl__pipeline_meta_free(struct sl_pipeline *p);
/* Dead letters: add one (caller holds fail_lock or runs alone), sort them by
 * seq (after the batches), free them. */
sl_status sl__pipeline_dead_add(struct sl_pipeline *p, uint64_t seq, const char *stage,
                                unsigned attempts, const char *error, sl_error *err);
void sl__pipeline_dead_sort(struct sl_pipeline *p);
void sl__pipeline_dead_free(struct sl_pipeline *p);
double sl__now(void);

/* output.c */
sl_status sl__output_prepare(struct sl_pipeline *p, const char *path, bool force,
                             sl_error *err);
sl_status sl__output_commit(struct sl_pipeline *p, sl_error *err);
void sl__output_discard(struct sl_pipeline *p);

/* executor.c */
sl_status sl__executor_run(struct sl_pipeline *p, sl_error *err);
/* Stage i's batches out, rows out and busy time so far (any thread, any
 * time; relaxed). */
uint64_t sl__stage_completed(const struct sl_pipeline *p, size_t i);
uint64_t sl__stage_rows(const struct sl_pipeline *p, size_t i);
uint64_t sl__stage_busy_ns(const struct sl_pipeline *p, size_t i);
/* Forgets the run's own counts of stage i (its figures were set). */
void sl__stage_counts_clear(struct sl_pipeline *p, size_t i);

#endif
