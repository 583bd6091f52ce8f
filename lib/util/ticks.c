/* lib/util/ticks.c - the time-stamp counter's rate, measured once. */
#include <pthread.h>

#include "util/ticks.h"

#ifdef SL__HAVE_TSC
#include <cpuid.h>
#endif

sl__ticks_rate sl__ticks;

static pthread_once_t ticks_once = PTHREAD_ONCE_INIT;

static void measure(void)
{
    sl__ticks.tsc = false;
#ifdef SL__HAVE_TSC
    unsigned a, b, c, d;
    /* Invariant TSC: a constant rate across P-states and C-states. Without
     * it (old CPUs, some hypervisors) the counter may not measure time. */
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
        return;
    __get_cpuid(0x80000007u, &a, &b, &c, &d);
    if (!(d & (1u << 8)))
        return;
    /* Brackets each reading of the system clock between two of the TSC, so
     * a preemption between them shows as a wide bracket and is retried. */
    uint64_t n0 = 0, k0 = 0, n1, k1;
    for (int tries = 0; tries < 10; tries++) {
        uint64_t before = __rdtsc();
        n0 = sl__mono_ns();
        uint64_t after = __rdtsc();
        k0 = before + (after - before) / 2;
        if (after - before < 1000)
            break;
    }
    for (;;) {
        uint64_t before = __rdtsc();
        n1 = sl__mono_ns();
        uint64_t after = __rdtsc();
        k1 = before + (after - before) / 2;
        if (after - before < 1000 && n1 - n0 >= 10000000u)
            break;
    }
    if (k1 <= k0)
        return;
    sl__ticks.ns_per = (double)(n1 - n0) / (double)(k1 - k0);
    sl__ticks.tick0 = k1;
    sl__ticks.ns0 = n1;
    sl__ticks.tsc = true;
#endif
}

void sl__ticks_init(void) { pthread_once(&ticks_once, measure); }
