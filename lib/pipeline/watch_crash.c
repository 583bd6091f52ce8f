/* lib/pipeline/watch_crash.c - the crash message: which stage, batch and
 * plugin a thread was in when it died.
 *
 * Handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT are installed once
 * per process, at the first run, and stay. A handler writes one line built by
 * hand with write(2) (async-signal-safe: no stdio, no malloc, no locks), then
 * puts back the action that was there before (the default, Open MPI's, a
 * sanitizer's) and hands the signal on: it calls the previous handler, or for
 * the default action raises the signal again, which is delivered when the
 * handler returns (a fault also recurs when the instruction is run again). The
 * process therefore dies by the same signal, and MPI or a sanitizer still
 * reports it. SIGABRT is included because assert() in a plugin ends there.
 *
 * Signal actions belong to the process, so their state here (the previous
 * actions, the rank) is static, against the rule that state lives in context
 * objects: a handler has no other way to find it. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/watch_impl.h"

#define CRASH_ALTSTACK_MIN (64 * 1024) /* room for a chained handler's backtrace */
#define CRASH_LINE_MAX 1024
#define CRASH_NAME_MAX 300 /* longest piece of a name or path in the line */

static const int crash_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static const char *const crash_names[] = {"SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT"};
#define NCRASH (sizeof crash_sigs / sizeof crash_sigs[0])

static struct sigaction crash_old[NCRASH]; /* written before our handler is in place */
static atomic_int crash_rank = -1;
static pthread_once_t crash_once = PTHREAD_ONCE_INIT;
static pthread_key_t altstack_key; /* its destructor frees a thread's stack */
static bool altstack_key_ok;

/* --- the line, by hand ------------------------------------------------------ */

typedef struct crash_line {
    char buf[CRASH_LINE_MAX];
    size_t n;
} crash_line;

static void put(crash_line *l, const char *s)
{
    for (size_t k = 0; s[k] && k < CRASH_NAME_MAX && l->n < sizeof l->buf - 1; k++)
        l->buf[l->n++] = s[k];
}

static void put_u(crash_line *l, uint64_t v)
{
    char d[24];
    size_t k = sizeof d;
    d[--k] = '\0';
    do
        d[--k] = (char)('0' + v % 10);
    while ((v /= 10) && k > 0);
    put(l, d + k);
}

static void put_i(crash_line *l, int v)
{
    if (v < 0) {
        put(l, "-");
        put_u(l, (uint64_t)-(int64_t)v);
    } else
        put_u(l, (uint64_t)v);
}

static void write_all(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* --- the handler ------------------------------------------------------------ */

static void say(size_t which)
{
    crash_line l;
    l.n = 0;
    put(&l, "sluice: crash: ");
    put(&l, crash_names[which]);
    /* Stage first: begin writes it last, after the rest of the record. */
    int stage = sl__watch_tl.stage;
    atomic_signal_fence(memory_order_acquire);
    const struct sl__watch *w = sl__watch_tl.w;
    int rank = atomic_load_explicit(&crash_rank, memory_order_relaxed);
    if (stage >= 0 && w) {
        const char *name, *plugin, *kind;
        sl__watch_describe(w, stage, &name, &plugin, &kind, &rank);
        put(&l, " in stage '");
        put(&l, name);
        put(&l, plugin ? "' (plugin " : "' (built-in stage '");
        put(&l, plugin ? plugin : kind);
        put(&l, plugin ? "), batch " : "'), batch ");
        put_u(&l, sl__watch_tl.seq);
        put(&l, ", thread ");
        put_i(&l, sl__watch_tl.thread);
        put(&l, ", rank ");
        put_i(&l, rank);
        put(&l, "; the batch was not finished, a rerun or resume redoes it");
    } else {
        put(&l, " outside any stage");
        if (rank >= 0) {
            put(&l, " (rank ");
            put_i(&l, rank);
            put(&l, ")");
        }
    }
    l.buf[l.n++] = '\n';
    write_all(l.buf, l.n);
}

static void on_crash(int sig, siginfo_t *info, void *uctx)
{
    int saved = errno;
    size_t which = 0;
    while (which < NCRASH - 1 && crash_sigs[which] != sig)
        which++;
    say(which);
    const struct sigaction *old = &crash_old[which];
    sigaction(sig, old, NULL);
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction)
            old->sa_sigaction(sig, info, uctx);
    } else if (old->sa_handler == SIG_DFL) {
        /* Blocked while we run: delivered, by the default action, as soon as
         * we return. */
        raise(sig);
    } else if (old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
    }
    errno = saved;
}

/* --- installation ------------------------------------------------------------ */

static void altstack_release(void *mem)
{
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == mem && !(cur.ss_flags & SS_ONSTACK)) {
        stack_t off;
        memset(&off, 0, sizeof off);
        off.ss_flags = SS_DISABLE;
        sigaltstack(&off, NULL);
    }
    free(mem);
}

static void install(void)
{
    altstack_key_ok = pthread_key_create(&altstack_key, altstack_release) == 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_crash;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NCRASH; i++)
        /* The previous action is read first: our handler must never find
         * crash_old unset. */
        if (sigaction(crash_sigs[i], NULL, &crash_old[i]) == 0)
            sigaction(crash_sigs[i], &sa, NULL);
}

void sl__watch_crash_install(int rank)
{
    atomic_store_explicit(&crash_rank, rank, memory_order_relaxed);
    pthread_once(&crash_once, install);
}

void sl__watch_thread_setup(void)
{
    sl__watch_tl.ready = true;
    stack_t cur;
    /* A thread that has one keeps it (a sanitizer's, say). */
    if (!altstack_key_ok || sigaltstack(NULL, &cur) != 0 || !(cur.ss_flags & SS_DISABLE))
        return;
    size_t size = CRASH_ALTSTACK_MIN;
#ifdef _SC_SIGSTKSZ
    long min = sysconf(_SC_SIGSTKSZ);
    if (min > 0 && 4 * (size_t)min > size)
        size = 4 * (size_t)min;
#endif
    void *mem = malloc(size);
    if (!mem)
        return;
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = mem;
    ss.ss_size = size;
    if (sigaltstack(&ss, NULL) != 0) {
        free(mem);
        return;
    }
    if (pthread_setspecific(altstack_key, mem) != 0) /* then it cannot be freed: give it up */
        altstack_release(mem);
}
