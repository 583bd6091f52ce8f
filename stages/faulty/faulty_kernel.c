/* faulty_kernel.c - seq sets, seeded decisions, the cancellable sleep and the
 * crashes of the `faulty` stage (see faulty_kernel.h). */
#include "faulty_kernel.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- Seq sets --- */

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    return p;
}

/* Reads decimal digits at *p into *v. 0: no digit, -1: above 2^64-1, 1: ok. */
static int read_u64(const char **p, const char *end, uint64_t *v)
{
    const char *q = *p;
    uint64_t x = 0;
    if (q == end || !isdigit((unsigned char)*q))
        return 0;
    for (; q < end && isdigit((unsigned char)*q); q++) {
        unsigned d = (unsigned)(*q - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *p = q;
    *v = x;
    return 1;
}

/* Parses one item [p, end) (blanks trimmed) into *r. */
static sl_status parse_item(const char *p, const char *end, const char *param,
                            sl_faulty_range *r, sl_error *err)
{
    const char *q = p;
    int ok = read_u64(&q, end, &r->lo);
    if (ok == 1) {
        r->hi = r->lo;
        q = skip_blanks(q, end);
        if (q < end && *q == '-') {
            q = skip_blanks(q + 1, end);
            r->hi = UINT64_MAX; /* "100-": open range */
            if (q < end)
                ok = read_u64(&q, end, &r->hi);
        }
    }
    SL_CHECK(ok != -1, SL_EINVAL, "parameter '%s': '%.*s' has a seq above %llu", param,
             (int)(end - p), p, (unsigned long long)UINT64_MAX);
    SL_CHECK(ok == 1 && q == end, SL_EINVAL,
             "parameter '%s': '%.*s' is not a seq (7), a range (10-12) or an open range (100-)",
             param, (int)(end - p), p);
    SL_CHECK(r->lo <= r->hi, SL_EINVAL, "parameter '%s': range '%.*s' runs backwards", param,
             (int)(end - p), p);
    return SL_OK;
}

static int range_cmp(const void *a, const void *b)
{
    const sl_faulty_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges overlapping or adjacent ranges in place. */
static void normalise(sl_faulty_seqs *s)
{
    if (s->n < 2)
        return;
    qsort(s->r, s->n, sizeof *s->r, range_cmp);
    size_t k = 0;
    for (size_t i = 1; i < s->n; i++) {
        sl_faulty_range *last = &s->r[k];
        /* hi + 1 would wrap at UINT64_MAX, which then covers everything anyway. */
        if (last->hi == UINT64_MAX || s->r[i].lo <= last->hi + 1) {
            if (s->r[i].hi > last->hi)
                last->hi = s->r[i].hi;
        } else {
            s->r[++k] = s->r[i];
        }
    }
    s->n = k + 1;
}

static sl_status seqs_push(sl_faulty_seqs *s, size_t *cap, sl_faulty_range r, sl_error *err)
{
    if (s->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        sl_faulty_range *nr = realloc(s->r, nc * sizeof *nr);
        SL_CHECK(nr, SL_ENOMEM, "out of memory parsing a seq list");
        s->r = nr;
        *cap = nc;
    }
    s->r[s->n++] = r;
    return SL_OK;
}

sl_status sl_faulty_seqs_parse(sl_faulty_seqs *out, const char *text, const char *param,
                               sl_error *err)
{
    *out = (sl_faulty_seqs){NULL, 0};
    const char *end = text + strlen(text);
    if (skip_blanks(text, end) == end)
        return SL_OK;
    size_t cap = 0, item = 0;
    sl_status s = SL_OK;
    for (const char *p = text; s == SL_OK && p <= end; item++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        const char *a = skip_blanks(p, e), *b = e;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        sl_faulty_range r = {0, 0};
        if (a == b)
            s = SL_FAIL(SL_EINVAL, "parameter '%s': item %zu of '%s' is empty", param, item + 1,
                        text);
        else if ((s = parse_item(a, b, param, &r, err)) == SL_OK)
            s = seqs_push(out, &cap, r, err);
        p = e + 1;
    }
    if (s != SL_OK) {
        sl_faulty_seqs_free(out);
        return s;
    }
    normalise(out);
    return SL_OK;
}

bool sl_faulty_seqs_has(const sl_faulty_seqs *s, uint64_t seq)
{
    /* The last range with lo <= seq, by binary search over sorted ranges. */
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->r[mid].lo <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && seq <= s->r[lo - 1].hi;
}

void sl_faulty_seqs_free(sl_faulty_seqs *s)
{
    free(s->r);
    *s = (sl_faulty_seqs){NULL, 0};
}

/* --- Decisions --- */

#define GOLDEN_GAMMA 0x9e3779b97f4a7c15ull

/* The splitmix64 output function (Steele, Lea, Flood 2014). */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double sl_faulty_uniform(uint64_t seed, uint64_t seq, sl_faulty_action a)
{
    /* "fail", "sleep", "crash" in ASCII: one independent stream per action. */
    static const uint64_t salt[] = {0x6661696c00000000ull, 0x736c656570000000ull,
                                    0x6372617368000000ull};
    uint64_t key = mix64(seed ^ salt[a]);
    uint64_t x = mix64(key + (seq + 1) * GOLDEN_GAMMA);
    return (double)(x >> 11) * 0x1p-53; /* the top 53 bits: exact in a double, < 1 */
}

sl_faulty_hit sl_faulty_decide(const sl_faulty_rule *r, uint64_t seed, uint64_t seq,
                               sl_faulty_action a)
{
    if (sl_faulty_seqs_has(&r->seqs, seq))
        return SL_FAULTY_BY_SEQS;
    if (r->rate > 0 && sl_faulty_uniform(seed, seq, a) < r->rate)
        return SL_FAULTY_BY_RATE;
    return SL_FAULTY_MISS;
}

bool sl_faulty_fails_on(uint64_t attempt, uint64_t times) { return times == 0 || attempt <= times; }

/* --- Sleeping and crashing --- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool sl_faulty_sleep(uint64_t ms, sl_faulty_stop_fn stop, const void *arg, uint64_t *slept_ms)
{
    const uint64_t slice = 10 * 1000000u, t0 = now_ns();
    /* Against a deadline rather than by counting slices, so that slow wake-ups
     * do not stretch the sleep. */
    const uint64_t want = ms > UINT64_MAX / 1000000u ? UINT64_MAX : ms * 1000000u;
    bool whole = true;
    for (uint64_t done = 0; done < want; done = now_ns() - t0) {
        if (stop && stop(arg)) {
            whole = false;
            break;
        }
        uint64_t left = want - done, d = left < slice ? left : slice;
        struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
        nanosleep(&ts, NULL); /* EINTR only shortens a slice; the loop goes on */
    }
    if (slept_ms)
        *slept_ms = (now_ns() - t0) / 1000000u;
    return whole;
}

static const char *const crash_names[] = {"segv", "bus", "fpe", "abort"};

int sl_faulty_crash_kind_of(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, crash_names[i]) == 0)
            return i;
    return -1;
}

const char *sl_faulty_crash_name(sl_faulty_crash_kind k) { return crash_names[k]; }

_Noreturn void sl_faulty_crash(sl_faulty_crash_kind k)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGABRT};
    int sig = sigs[k];
    if (k == SL_FAULTY_SEGV) {
        /* The pointer is read from a volatile object, so the compiler cannot
         * see it is NULL and must emit the store: a real page fault, not a
         * trap instruction or a raise(). */
        volatile int *volatile nowhere = NULL;
        *nowhere = 1;
    } else if (k == SL_FAULTY_ABORT) {
        abort();
    } else {
        raise(sig);
    }
    /* A handler caught the signal and returned: die by its default action. */
    signal(sig, SIG_DFL);
    raise(sig);
    abort();
}
