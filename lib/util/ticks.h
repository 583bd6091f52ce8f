/* lib/util/ticks.h - a cheap clock for timing every batch.
 *
 * The executor times every attempt of every stage (busy time, the latency
 * histogram). clock_gettime(CLOCK_MONOTONIC) costs ~30 ns in a KVM guest,
 * two of them a fifth of an empty stage's whole cost; the time-stamp
 * counter costs ~11 ns. Where the CPU says its TSC runs at a constant rate
 * and never stops (CPUID 0x80000007 EDX bit 8, x86-64 only) and the kernel
 * keeps time with it (clocksource tsc), sl__fast_ns reads it and scales it
 * to CLOCK_MONOTONIC nanoseconds with a rate measured once per process (10
 * ms, at the first sl__ticks_init); elsewhere it is clock_gettime itself.
 * The scaled value drifts from the system clock by the rate's error (about
 * 1e-5: under a second a day), so it is for durations, and a trace's start
 * times in a long-lived process drift by as much; deadlines that
 * sl_ctx_should_stop compares with the system clock use clock_gettime. */
#ifndef SLUICE_UTIL_TICKS_H
#define SLUICE_UTIL_TICKS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define SL__HAVE_TSC 1
#endif

typedef struct sl__ticks_rate {
    bool tsc;         /* the TSC is used */
    double ns_per;    /* nanoseconds per tick */
    uint64_t tick0;   /* a tick count ... */
    uint64_t ns0;     /* ... and CLOCK_MONOTONIC ns at the same moment */
} sl__ticks_rate;

extern sl__ticks_rate sl__ticks;

/* Measures the rate (once per process; thread-safe). Call before the first
 * sl__fast_ns of a run. */
void sl__ticks_init(void);

static inline uint64_t sl__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC nanoseconds, from the TSC where it is trustworthy. */
static inline uint64_t sl__fast_ns(void)
{
#ifdef SL__HAVE_TSC
    if (sl__ticks.tsc)
        return sl__ticks.ns0 + (uint64_t)((double)(__rdtsc() - sl__ticks.tick0) * sl__ticks.ns_per);
#endif
    return sl__mono_ns();
}

#endif
