/* faulty_kernel.h - what the `faulty` stage decides and does: seq sets, the
 * seeded per-seq decisions, the cancellable sleep and the crashes.
 *
 * Every decision is a pure function of (seed, seq, action), so the same
 * batches fail, sleep or crash for any thread count, rank count, instance or
 * call order. Everything here is reentrant; only sl_faulty_crash has an
 * effect beyond its arguments (it ends the process). */
#ifndef SL_FAULTY_KERNEL_H
#define SL_FAULTY_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/error.h>

/* --- Seq sets: "3, 10-12, 100-" --- */

/* Inclusive range of seqs. */
typedef struct sl_faulty_range {
    uint64_t lo, hi;
} sl_faulty_range;

/* Sorted, disjoint, non-adjacent ranges (overlaps are merged on parsing). */
typedef struct sl_faulty_seqs {
    sl_faulty_range *r; /* owned; NULL when empty */
    size_t n;
} sl_faulty_seqs;

/* Parses a comma-separated list of items, each a decimal seq "7", a range
 * "10-12" (both ends included) or an open range "100-" (to the last seq).
 * Blanks around items, numbers and '-' are ignored; empty or blank text is
 * the empty set. Anything else fails with SL_EINVAL and one line naming
 * `param` and the bad item: "parameter 'fail_seqs': '12-10' is not a seq or
 * a range A-B with A <= B". Owned by caller: out->r (sl_faulty_seqs_free);
 * on failure *out is empty. */
sl_status sl_faulty_seqs_parse(sl_faulty_seqs *out, const char *text, const char *param,
                               sl_error *err);
bool sl_faulty_seqs_has(const sl_faulty_seqs *s, uint64_t seq);
/* Accepts an empty set; leaves it empty. */
void sl_faulty_seqs_free(sl_faulty_seqs *s);

/* --- Decisions --- */

typedef enum { SL_FAULTY_FAIL = 0, SL_FAULTY_SLEEP, SL_FAULTY_CRASH } sl_faulty_action;

/* A uniform number in [0, 1) for (seed, seq, action): the seq-th output of a
 * splitmix64 stream whose state starts at splitmix64(seed ^ salt(action)).
 * Counter-based, so no state and no order. */
double sl_faulty_uniform(uint64_t seed, uint64_t seq, sl_faulty_action a);

/* When an action hits: seqs listed, or a coin with probability rate. */
typedef struct sl_faulty_rule {
    sl_faulty_seqs seqs;
    double rate; /* 0 .. 1 */
} sl_faulty_rule;

typedef enum { SL_FAULTY_MISS = 0, SL_FAULTY_BY_SEQS, SL_FAULTY_BY_RATE } sl_faulty_hit;

/* Whether rule r hits seq for action a, and why (the list wins over the rate). */
sl_faulty_hit sl_faulty_decide(const sl_faulty_rule *r, uint64_t seed, uint64_t seq,
                               sl_faulty_action a);

/* Whether a hit batch fails on this attempt (1-based): on its first `times`
 * attempts, or on every attempt when times is 0. */
bool sl_faulty_fails_on(uint64_t attempt, uint64_t times);

/* --- Sleeping and crashing --- */

/* Asked between slices of a sleep; true means stop sleeping. */
typedef bool (*sl_faulty_stop_fn)(const void *arg);

/* Sleeps ms milliseconds in slices of at most 10 ms, calling stop(arg)
 * before each slice (stop may be NULL). Returns true when the whole sleep
 * happened, false when stop() said to stop; *slept_ms (may be NULL) gets the
 * milliseconds actually slept. */
bool sl_faulty_sleep(uint64_t ms, sl_faulty_stop_fn stop, const void *arg, uint64_t *slept_ms);

typedef enum {
    SL_FAULTY_SEGV = 0, /* a store through a NULL pointer: a real fault */
    SL_FAULTY_BUS,      /* raise(SIGBUS) */
    SL_FAULTY_FPE,      /* raise(SIGFPE) */
    SL_FAULTY_ABORT     /* abort() */
} sl_faulty_crash_kind;

#define SL_FAULTY_CRASH_CHOICES "segv|bus|fpe|abort"

/* The kind named "segv", "bus", "fpe" or "abort"; -1 for anything else. */
int sl_faulty_crash_kind_of(const char *name);
/* The name of kind k ("segv", ...). */
const char *sl_faulty_crash_name(sl_faulty_crash_kind k);

/* Ends the process by the kind's signal. When a handler catches a raised
 * signal and returns, the default action is restored and the signal raised
 * again, and as a last resort the process aborts: this function never
 * returns. (A handler returning from SIGSEGV re-runs the faulting store.) */
_Noreturn void sl_faulty_crash(sl_faulty_crash_kind k);

#endif
