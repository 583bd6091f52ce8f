/* sluice/policy.h - what the run does when a stage's batch fails, and how
 * hard a stage may be driven: per-stage settings of a job file.
 *
 *   - stage: faulty
 *     retries: 3                              # attempts after the first failure
 *     backoff: {initial: 0.1, factor: 2, cap: 10}   # or `backoff: 0.1`
 *     on_error: deadletter                    # abort | skip | deadletter
 *     timeout: 30                             # seconds for one batch
 *     rate: 100                               # batches per second, whole job
 *     priority: 1                             # OpenMP task priority hint
 *     warn_slow: 10s                          # log batches slower than this
 *
 * See docs/failures.md for the semantics. */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#ifdef __cplusplus
extern "C" {
#endif

/* After the last retry of a batch failed. */
typedef enum sl_on_error {
    SL_ON_ERROR_ABORT = 0,  /* the run fails, no output is published */
    SL_ON_ERROR_SKIP,       /* the batch is dropped and counted */
    SL_ON_ERROR_DEADLETTER  /* dropped, counted, and listed in the output */
} sl_on_error;

typedef struct sl_stage_policy {
    unsigned retries;      /* further attempts after a failure; 0: none */
    double backoff_s;      /* delay before the first retry (s) */
    double backoff_factor; /* each further delay is this many times the last (>= 1) */
    double backoff_cap_s;  /* no delay longer than this (s) */
    sl_on_error on_error;
    double timeout_s;      /* deadline of one attempt at one batch (s); 0: none */
    double rate;           /* at most this many batches per second; 0: no limit */
    int priority;          /* OpenMP task priority hint (>= 0) */
    double warn_slow_s;    /* log attempts that take longer than this (s); 0: never */
} sl_stage_policy;

/* Defaults: no retries, backoff 0.1 s x2 up to 30 s, abort, no timeout, no
 * rate limit, priority 0, no slow-batch warning. */
#define SL_STAGE_POLICY_DEFAULT                                                                  \
    ((sl_stage_policy){.retries = 0,                                                             \
                       .backoff_s = 0.1,                                                         \
                       .backoff_factor = 2.0,                                                    \
                       .backoff_cap_s = 30.0,                                                    \
                       .on_error = SL_ON_ERROR_ABORT,                                            \
                       .timeout_s = 0.0,                                                         \
                       .rate = 0.0,                                                              \
                       .priority = 0,                                                    \
                       .warn_slow_s = 0.0})

const char *sl_on_error_name(sl_on_error e);

#ifdef __cplusplus
}
#endif

#endif
