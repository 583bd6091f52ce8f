/* lib/util/ticks.c - the time-stamp counter's rate, measured once. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/ticks.h"

#ifdef SL__HAVE_TSC
#include <cpuid.h>
#endif

sl__ticks_rate sl__ticks;

static pthread_once_t ticks_once = PTHREAD_ONCE_INIT;

#ifdef SL__HAVE_TSC
/* The kernel's own clock is the TSC: then clock_gettime reads it in user
 * space (so a bracket is tight) and the kernel trusts it (not marked
 * unstable). Elsewhere (hpet, acpi_pm, a hypervisor's clock) keep
 * clock_gettime. */
static bool kernel_uses_tsc(void)
{
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (!f)
        return false;
    char name[32] = "";
    bool tsc = fgets(name, sizeof name, f) && strncmp(name, "tsc", 3) == 0 &&
               (name[3] == '\n' || name[3] == '\0');
    fclose(f);
    return tsc;
}

/* One reading of the system clock bracketed by two of the TSC; false when
 * the bracket is wide (a preemption, a slow clock). */
static bool bracket(uint64_t *ns, uint64_t *tick)
{
    uint64_t before = __rdtsc();
    *ns = sl__mono_ns();
    uint64_t after = __rdtsc();
    *tick = before + (after - before) / 2;
    return after - before < 1000;
}

#endif

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
    if (!(d & (1u << 8)) || !kernel_uses_tsc())
        return;
    /* Two tight brackets 10 ms apart; bounded, so a machine where no
     * bracket is tight keeps clock_gettime instead of spinning. */
    uint64_t n0 = 0, k0 = 0, n1 = 0, k1 = 0;
    int tries = 0;
    while (!bracket(&n0, &k0))
        if (++tries == 100)
            return;
    uint64_t give_up = n0 + 100000000u;
    for (;;) {
        if (bracket(&n1, &k1) && n1 - n0 >= 10000000u)
            break;
        if (sl__mono_ns() > give_up)
            return;
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
