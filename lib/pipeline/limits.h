/* lib/pipeline/limits.h - bounds on what a job may ask for, checked while the
 * pipeline is built (see limits.c and docs/limits.md). Private to lib/pipeline. */
#ifndef SLUICE_PIPELINE_LIMITS_H
#define SLUICE_PIPELINE_LIMITS_H

#include <stdint.h>

#include <sluice/error.h>

/* The most batches a source may plan: 2^63. */
#define SL__MAX_BATCHES ((uint64_t)1 << 63)

/* Checks an output path that a job file named (not the command line): it
 * must be relative, its `..` must never climb above the current directory,
 * and its directory, when it exists, must resolve to the current directory
 * or below it. `file` is the job file, for the message. Borrows both. */
sl_status sl__limit_job_output(const char *path, const char *file, sl_error *err);

/* Checks a source's plan against SL__MAX_BATCHES. `where` is the stage's
 * "file:line:col" (or NULL), `stage` its name. */
sl_status sl__limit_batches(uint64_t batches, const char *stage, const char *where,
                            sl_error *err);

#endif
