/* lib/job/job_impl.h - the job object and the setters the YAML reader and the
 * command line share.
 *
 * A job is plain owned data: every string is a heap copy, freed by
 * sl_job_destroy. The YAML reader (job.c) and the command line (override.c)
 * set stage fields through the same functions, so a value is checked, and
 * its error worded, the same way wherever it came from. */
#ifndef SLUICE_JOB_IMPL_H
#define SLUICE_JOB_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include <sluice/job.h>

struct sl_job {
    char *name;   /* `job:` or the file's base name without extension */
    char *path;   /* the path or name given to load/parse */
    char *output; /* NULL when neither the file nor -o named one */
    char *text;   /* the YAML text as read, NUL-terminated */
    int threads;  /* 0 when not given */
    size_t nstages;
    sl_job_stage *stages;
    sl_job_dist dist; /* all zero (the defaults) until a setting arrives */
};

/* Limits of the fixed stage keys; the messages quote them. */
#define SL_JOB_CONCURRENCY_MAX 4096
#define SL_JOB_QUEUE_MAX 1048576
#define SL_JOB_THREADS_MAX INT32_MAX
/* Limits of the failure-policy keys (sluice/policy.h). A nonzero duration
 * or rate lies in MIN .. MAX, so it and 1/rate fit 64-bit nanoseconds. */
#define SL_JOB_RETRIES_MAX 1000
#define SL_JOB_PRIORITY_MAX 1000
#define SL_JOB_BACKOFF_FACTOR_MAX 100.0
#define SL_JOB_DURATION_MIN 1e-9 /* seconds */
#define SL_JOB_DURATION_MAX 1e9  /* seconds, about 31 years */
#define SL_JOB_RATE_MIN 1e-9     /* batches per second */
#define SL_JOB_RATE_MAX 1e9

/* A heap copy of s (NULL when out of memory). */
char *sl__job_strdup(const char *s);

/* True for the keys sl__job_stage_field handles: concurrency, queue, mode, ranks. */
bool sl__job_is_field(const char *key);

/* Sets concurrency, queue, mode or ranks of st from text. Messages read
 * "<origin>: stage '<name>': concurrency=0 is below minimum 1". */
sl_status sl__job_stage_field(sl_job_stage *st, const char *key, const char *text,
                              const char *origin, sl_error *err);

/* True for the failure-policy keys: retries, backoff, backoff.initial,
 * backoff.factor, backoff.cap, on_error, timeout, rate, priority, and any
 * other "backoff.*" (which sl__job_policy_set refuses with a suggestion, so
 * a misspelt backoff key never becomes a stage parameter). */
bool sl__job_is_policy(const char *key);

/* Sets policy KEY of p from text (lib/job/policy.c has the grammar); p is
 * unchanged on failure. "backoff" is backoff.initial. Does not compare
 * backoff.cap with backoff.initial: see sl__job_policy_check. Messages read
 * "stage '<stage>': backoff.factor=0.5 is below minimum 1"; the caller adds
 * the origin. */
sl_status sl__job_policy_set(sl_stage_policy *p, const char *stage, const char *key,
                             const char *text, sl_error *err);

/* Refuses backoff.cap below backoff.initial, once every key of a source is
 * set. The message is about the cap when blame_cap, else the initial delay
 * ("stage 'a': backoff.cap=1s is below backoff.initial=5s (<other>)"); other
 * says where the value not blamed came from, or what to do (NULL: nothing). */
sl_status sl__job_policy_check(const sl_stage_policy *p, const char *stage, bool blame_cap,
                               const char *other, sl_error *err);

/* Sets one policy key of st (as sl__job_policy_set) and checks the backoff
 * against the values st has now; on failure st is unchanged and origin, when
 * given, starts the message. */
sl_status sl__job_stage_policy(sl_job_stage *st, const char *key, const char *text,
                               const char *origin, sl_error *err);

/* Adds key=text to st's params, or replaces the value and origin of an
 * existing key (a later setting wins). Copies all three strings. */
sl_status sl__job_stage_param(sl_job_stage *st, const char *key, const char *text,
                              const char *origin, sl_error *err);

/* Sets the thread count from text (1 .. SL_JOB_THREADS_MAX). */
sl_status sl__job_set_threads(sl_job *job, const char *text, const char *origin, sl_error *err);

/* Frees what st owns (not st itself). */
void sl__job_stage_clear(sl_job_stage *st);

/* A rank list as parsed from `ranks:` text: "all", "rest", or ascending,
 * disjoint, inclusive ranges. Ranges are kept rather than expanded so that
 * "0-2000000000" costs nothing before the rank count bounds it. */
typedef enum sl__ranks_kind { SL__RANKS_LIST, SL__RANKS_ALL, SL__RANKS_REST } sl__ranks_kind;
typedef struct sl__rank_range {
    int lo, hi;
} sl__rank_range;
typedef struct sl__ranks {
    sl__ranks_kind kind;
    size_t n;               /* LIST only */
    sl__rank_range *ranges; /* LIST only; owned, release with sl__ranks_clear */
} sl__ranks;

/* Parses text strictly ("0", "1-3", "0,2, 5-7", "all", "rest"). `what`
 * starts every message ("stage 'primes'"); the caller adds the origin. */
sl_status sl__ranks_parse(sl__ranks *out, const char *text, const char *what, sl_error *err);
void sl__ranks_clear(sl__ranks *r);

/* Sets distribution KEY (schedule, chunk, weights, route, route_weights)
 * from text; a list key takes "1,1,2". origin is the value's "file:line:col"
 * (messages then read "<origin>: distribution: chunk '0' is below minimum
 * 1"), or NULL for the command line ("--chunk: '0' is below minimum 1"). */
sl_status sl__job_dist_set(sl_job *job, const char *key, const char *text, const char *origin,
                           sl_error *err);

/* Sets list key weights or route_weights from n item texts, as a YAML list
 * gives them: item_origins[i] is item i's "file:line:col", origin the list's. */
sl_status sl__job_dist_set_list(sl_job *job, const char *key, const char *const *items,
                                const char *const *item_origins, size_t n, const char *origin,
                                sl_error *err);

/* Records where the `distribution:` mapping starts. */
sl_status sl__job_dist_origin(sl_job *job, const char *origin, sl_error *err);

/* Refuses settings that contradict each other (weights without static
 * blocks, route_weights without route weighted, route weighted without
 * route_weights). The message starts with the origin of the value that
 * does not apply. */
sl_status sl__job_dist_conflicts(const sl_job_dist *d, sl_error *err);

/* Frees what d owns and resets it to the defaults. */
void sl__job_dist_clear(sl_job_dist *d);

#endif
