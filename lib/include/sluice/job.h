/* sluice/job.h - job files: a YAML description of one pipeline run.
 *
 *   job: primes                 # name (defaults to the file name)
 *   output: primes.h5           # what the sink writes (-o overrides)
 *   threads: 2                  # optional; -t overrides
 *   stages:
 *     - stage: intervals        # plugin name
 *       params: {start: 0, stop: 1e10, width: 1e8, batch: 1}
 *     - stage: primes
 *       name: primes            # instance name, unique (defaults to stage)
 *       mode: parallel          # parallel | serial | ordered
 *       concurrency: 2          # at most this many batches in it at once
 *       queue: 4                # capacity of its input queue
 *       params: {twins: true}
 *       ranks: rest             # stage mode only: the ranks that run it
 *       retries: 2              # failure policy (sluice/policy.h): retries,
 *       on_error: deadletter    # backoff, on_error, timeout, rate, priority
 *   distribution:               # optional: how the work is spread over MPI ranks
 *     schedule: dynamic         # static | dynamic | guided
 *     chunk: 4
 *
 * The loader checks structure only (keys, types of the fixed keys); values of
 * stage parameters stay text with their file:line:column, and are checked
 * against each stage's table when the pipeline is built. */
#ifndef SLUICE_JOB_H
#define SLUICE_JOB_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/error.h>
#include <sluice/policy.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_job_kv {
    char *key;
    char *value;
    char *origin; /* "file:line:col" or "command line" */
} sl_job_kv;

typedef struct sl_job_stage {
    char *name;   /* instance name, unique in the job */
    char *plugin; /* stage (plugin) name */
    char *origin; /* where the entry starts, "file:line:col" */
    int concurrency; /* 0: the default (the thread count; 1 for serial/ordered) */
    int queue;       /* 0: the default input queue capacity */
    int mode;        /* 0: the plugin's default, else an sl_stage_mode */
    size_t nparams;
    sl_job_kv *params;
    char *ranks;        /* `ranks:` as written ("1-3", "rest"); NULL when not given */
    char *ranks_origin; /* where it came from; NULL when not given */
    /* retries, backoff, on_error, timeout, rate, priority (sluice/policy.h);
     * SL_STAGE_POLICY_DEFAULT where the file says nothing. */
    sl_stage_policy policy;
} sl_job_stage;

/* How batch mode hands seqs to ranks (see docs/job-files.md). */
typedef enum sl_schedule { SL_SCHED_STATIC = 0, SL_SCHED_DYNAMIC, SL_SCHED_GUIDED } sl_schedule;
/* How stage mode picks the receiving rank of a group for each batch. */
typedef enum sl_route {
    SL_ROUTE_ROUND_ROBIN = 0,
    SL_ROUTE_LEAST_OUTSTANDING,
    SL_ROUTE_WEIGHTED
} sl_route;

/* The `distribution:` mapping, merged with the command line. Every origin is
 * "file:line:col" or "command line", and NULL while the value is the default;
 * the per-value origins let a check made at run time (weights against the
 * rank count) point at the value. */
typedef struct sl_job_dist {
    sl_schedule schedule;
    uint64_t chunk;                       /* seqs per chunk; 0: not given */
    double *weights;                      /* static only: share per rank; NULL: equal */
    size_t nweights;
    sl_route route;
    double *route_weights;                /* route weighted: per receiving rank of a group */
    size_t nroute_weights;
    char *origin;                         /* the mapping, or "command line" when only it set any */
    char *schedule_origin, *chunk_origin, *weights_origin, *route_origin, *route_weights_origin;
} sl_job_dist;

typedef struct sl_job sl_job;

/* Reads and parses a job file. Every error starts with "path:line:col: ". */
sl_status sl_job_load(sl_job **out, const char *path, sl_error *err);
/* Parses YAML text; `name` stands for the file in messages. */
sl_status sl_job_parse(sl_job **out, const char *text, size_t len, const char *name,
                       sl_error *err);

/* Applies "STAGE.KEY=VALUE" from the command line. KEY may be a parameter,
 * one of concurrency, queue, mode, ranks, or a failure-policy key: retries,
 * backoff (a duration: the initial delay), backoff.initial, backoff.factor,
 * backoff.cap, on_error, timeout, rate, priority (any other backoff.* is
 * refused with the nearest key). These keys win over a parameter of the
 * same name. An unknown STAGE suggests the nearest. A refused value leaves
 * the job unchanged. */
sl_status sl_job_override(sl_job *job, const char *assignment, sl_error *err);
/* Replaces the output path or thread count (from -o / -t). */
sl_status sl_job_set_output(sl_job *job, const char *path, sl_error *err);

/* --schedule, --chunk and --weights: the command line wins over the file.
 * text is as the user typed it; messages start with the option, e.g.
 * "--schedule: 'dynamc' is not static, dynamic or guided (did you mean
 * 'dynamic'?)". chunk takes the integer forms of parameters (64, 1e3, 4K);
 * weights is "1,1,2" (positive numbers, spaces allowed after commas).
 * Weights from the file apply to static blocks only, so a --schedule other
 * than static, or a --chunk, drops them; weights given on the command line
 * are kept, and sl_job_dist_check (sluice/placement.h) refuses the mix. On
 * failure the job is unchanged. */
sl_status sl_job_set_schedule(sl_job *job, const char *text, sl_error *err);
sl_status sl_job_set_chunk(sl_job *job, const char *text, sl_error *err);
sl_status sl_job_set_weights(sl_job *job, const char *text, sl_error *err);

/* The keys a job file may use at each level (for tools, and for the test
 * that keeps docs/job-files.md in step with the loader). Static storage. */
typedef enum sl_job_key_scope {
    SL_JOB_KEYS_TOP,          /* job, output, ... */
    SL_JOB_KEYS_STAGE,        /* a stage entry: stage, name, mode, ... */
    SL_JOB_KEYS_BACKOFF,      /* the backoff mapping: initial, factor, cap */
    SL_JOB_KEYS_DISTRIBUTION  /* the distribution mapping */
} sl_job_key_scope;
const char *const *sl_job_keys(sl_job_key_scope scope, size_t *n);

const char *sl_job_name(const sl_job *job);
const char *sl_job_path(const sl_job *job);   /* the file it came from, or the name */
const char *sl_job_output(const sl_job *job); /* NULL when the file names none */
const char *sl_job_text(const sl_job *job);   /* the YAML text as read */
int sl_job_threads(const sl_job *job);        /* 0 when the file names none */
size_t sl_job_nstages(const sl_job *job);
const sl_job_stage *sl_job_stage_at(const sl_job *job, size_t i);
/* The distribution settings; never NULL for a job (the defaults when neither
 * the file nor the command line set any). Valid until the job changes. */
const sl_job_dist *sl_job_distribution(const sl_job *job);

void sl_job_destroy(sl_job **job);

#ifdef __cplusplus
}
#endif
#endif
