/* lib/pipeline/watch.h - who runs what, for the watchdog and the crash
 * message.
 *
 * The executor says on which thread a job starts and ends; the watchdog (a
 * thread of its own while a run is on) uses that to name the stage, batch
 * seq, thread and rank that have been running longest when no batch has
 * finished for p->watchdog_s seconds, and the crash handlers (SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL, SIGABRT; watch_crash.c) use it to name the stage,
 * seq and plugin file a thread was in when it died. See docs/failures.md. */
#ifndef SLUICE_PIPELINE_WATCH_H
#define SLUICE_PIPELINE_WATCH_H

#include <stdint.h>

#include <sluice/error.h>

struct sl_pipeline;

/* Before and after every call into a stage (produce, process), on the
 * calling thread, with no task scheduling point in between. Cheap: no lock,
 * no clock, a few thread-local and relaxed stores. */
void sl__watch_job_begin(struct sl_pipeline *p, int stage, uint64_t seq);
void sl__watch_job_end(struct sl_pipeline *p);

/* Around the batches of a run (sl__executor_run), on the thread that runs
 * them: start installs the crash handlers (once per process), sets up
 * p->watch and starts the watchdog thread when p->watchdog_s > 0; stop wakes
 * and joins it at once and frees p->watch (which then only records whether
 * the watchdog fired, for sl_pipeline_watchdog_fired). */
sl_status sl__watch_start(struct sl_pipeline *p, sl_error *err);
void sl__watch_stop(struct sl_pipeline *p);

/* Stage mode (lib/dist/stage_run.c) runs each segment of a job as a pipeline
 * of its own: inherit gives a segment the whole job's watchdog setting
 * (before its run), collect marks the whole job's pipeline as fired when the
 * segment's watchdog fired (after its run). */
void sl__watch_inherit(struct sl_pipeline *seg, const struct sl_pipeline *full);
void sl__watch_collect(struct sl_pipeline *full, const struct sl_pipeline *seg);

#endif
