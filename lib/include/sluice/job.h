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
 *
 * The loader checks structure only (keys, types of the fixed keys); values of
 * stage parameters stay text with their file:line:column, and are checked
 * against each stage's table when the pipeline is built. */
#ifndef SLUICE_JOB_H
#define SLUICE_JOB_H

#include <stddef.h>

#include <sluice/error.h>

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
} sl_job_stage;

typedef struct sl_job sl_job;

/* Reads and parses a job file. Every error starts with "path:line:col: ". */
sl_status sl_job_load(sl_job **out, const char *path, sl_error *err);
/* Parses YAML text; `name` stands for the file in messages. */
sl_status sl_job_parse(sl_job **out, const char *text, size_t len, const char *name,
                       sl_error *err);

/* Applies "STAGE.KEY=VALUE" from the command line. KEY may be a parameter or
 * one of concurrency, queue, mode. An unknown STAGE suggests the nearest. */
sl_status sl_job_override(sl_job *job, const char *assignment, sl_error *err);
/* Replaces the output path or thread count (from -o / -t). */
sl_status sl_job_set_output(sl_job *job, const char *path, sl_error *err);

const char *sl_job_name(const sl_job *job);
const char *sl_job_path(const sl_job *job);   /* the file it came from, or the name */
const char *sl_job_output(const sl_job *job); /* NULL when the file names none */
const char *sl_job_text(const sl_job *job);   /* the YAML text as read */
int sl_job_threads(const sl_job *job);        /* 0 when the file names none */
size_t sl_job_nstages(const sl_job *job);
const sl_job_stage *sl_job_stage_at(const sl_job *job, size_t i);

void sl_job_destroy(sl_job **job);

#ifdef __cplusplus
}
#endif
#endif
