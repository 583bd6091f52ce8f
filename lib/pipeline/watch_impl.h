/* lib/pipeline/watch_impl.h - what the watchdog (watch.c) and the crash
 * handlers (watch_crash.c) share: the thread-local record of the job a
 * thread is running. */
#ifndef SLUICE_PIPELINE_WATCH_IMPL_H
#define SLUICE_PIPELINE_WATCH_IMPL_H

#include <stdbool.h>
#include <stdint.h>

struct sl__watch;

/* Written by sl__watch_job_begin/end on their own thread, read by a crash
 * handler interrupting that thread; plain fields, ordered by a signal fence.
 * initial-exec: no lazy allocation on first access (async-signal-safe), and
 * as cheap as a global; libsluice is linked, not dlopen'ed. */
typedef struct sl__watch_tls {
    const struct sl__watch *w; /* the run of the job below; valid while stage >= 0 */
    uint64_t wid;              /* the id of the run this thread last ran a job of */
    uint64_t seq;
    int stage;                 /* -1: not inside a stage */
    int thread;                /* the OpenMP thread number in the run's team */
    int slot;                  /* the watchdog's slot of this thread; -1: none */
    bool ready;                /* the thread's alternate signal stack is set up */
} sl__watch_tls;

extern _Thread_local sl__watch_tls sl__watch_tl
    __attribute__((tls_model("initial-exec"), visibility("hidden")));

/* The stage's name, the shared object its code is in (NULL: built into the
 * program), its descriptor's name and the rank, for the crash message: plain
 * loads only. */
void sl__watch_describe(const struct sl__watch *w, int stage, const char **name,
                        const char **plugin, const char **kind, int *rank)
    __attribute__((visibility("hidden")));

/* Installs the crash handlers, once per process; rank is the one to name
 * when a thread crashes outside any stage (the latest run's). */
void sl__watch_crash_install(int rank) __attribute__((visibility("hidden")));

/* Gives the calling thread an alternate signal stack (unless it has one),
 * so that a stack overflow still gets its message. Once per thread. */
void sl__watch_thread_setup(void) __attribute__((visibility("hidden")));

#endif
