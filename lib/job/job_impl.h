/* lib/job/job_impl.h - the job object and the setters job.c and override.c share.
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
};

/* Limits of the fixed stage keys; the messages quote them. */
#define SL_JOB_CONCURRENCY_MAX 4096
#define SL_JOB_QUEUE_MAX 1048576
#define SL_JOB_THREADS_MAX INT32_MAX

/* A heap copy of s (NULL when out of memory). */
char *sl__job_strdup(const char *s);

/* True for the keys sl__job_stage_field handles: concurrency, queue, mode. */
bool sl__job_is_field(const char *key);

/* Sets concurrency, queue or mode of st from text. Messages read
 * "<origin>: stage '<name>': concurrency=0 is below minimum 1". */
sl_status sl__job_stage_field(sl_job_stage *st, const char *key, const char *text,
                              const char *origin, sl_error *err);

/* Adds key=text to st's params, or replaces the value and origin of an
 * existing key (a later setting wins). Copies all three strings. */
sl_status sl__job_stage_param(sl_job_stage *st, const char *key, const char *text,
                              const char *origin, sl_error *err);

/* Sets the thread count from text (1 .. SL_JOB_THREADS_MAX). */
sl_status sl__job_set_threads(sl_job *job, const char *text, const char *origin, sl_error *err);

/* Frees what st owns (not st itself). */
void sl__job_stage_clear(sl_job_stage *st);

#endif
