/* faulty_attempts.h - how many times each seq has reached a `faulty` stage,
 * shared by all instances of that stage in the process.
 *
 * `fail_times` makes a batch fail only on its first N attempts, so a retry
 * can succeed. The core gives a stage one instance per concurrency slot and a
 * retry may land on any of them, so the count cannot live in an instance: it
 * lives in one table per job stage, found through a process-wide registry
 * keyed by an address the instances share (the stage uses its sl_params,
 * one object per job stage that outlives every instance). The registry is
 * process-wide because the stage API has no hook for state shared between
 * instances; once the core passes the attempt number to process(), the
 * table can go.
 *
 * Thread-safe: one mutex per table, one for the registry. */
#ifndef SL_FAULTY_ATTEMPTS_H
#define SL_FAULTY_ATTEMPTS_H

#include <stdint.h>

#include <sluice/error.h>

typedef struct sl_faulty_attempts sl_faulty_attempts;

/* The table registered under key, made empty on first use. Every successful
 * acquire needs one release; the table is freed by the last. Borrows: key
 * (only its address is used, and it must stay unique while acquired). */
sl_status sl_faulty_attempts_acquire(sl_faulty_attempts **out, const void *key, sl_error *err);

/* Counts one more attempt of seq and stores its number (1 for the first
 * call with this seq) in *attempt. Fails only when out of memory. */
sl_status sl_faulty_attempts_next(sl_faulty_attempts *t, uint64_t seq, uint64_t *attempt,
                                  sl_error *err);

/* Accepts NULL and *t == NULL; sets *t = NULL. */
void sl_faulty_attempts_release(sl_faulty_attempts **t);

#endif
