/* apps/sluice/progress.c - the progress line of `sluice run` (see progress.h).
 *
 * One thread samples sl_pipeline_progress every PROGRESS_SAMPLE_S and keeps
 * the last PROGRESS_WINDOW_S of samples, so the rate (and the ETA from it)
 * follows the recent pace rather than the average since the start. It sleeps
 * on a condition variable, so progress_stop ends it at once. Each line is
 * one write(2): it never interleaves mid-line with other stderr output.
 *
 * Under MPI only rank 0 prints, and it knows only its own batches (no MPI
 * call is made for a progress line): the line then says "rank 0" and
 * measures against rank 0's equal share of the job, total / ranks, marked
 * "~" since a weighted or dynamic schedule gives it more or less. */
#include "progress.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_SAMPLE_S 0.5
#define PROGRESS_WINDOW_S 10.0
#define PROGRESS_RING 32 /* > PROGRESS_WINDOW_S / PROGRESS_SAMPLE_S + 1 */

typedef struct sample {
    double t;
    uint64_t done;
} sample;

struct run_progress {
    const sl_pipeline *p;
    progress_opts o;
    bool tty;   /* rewrite one line in place */
    bool shown; /* a terminal line is on the screen */
    double t0;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC */
    bool stop;           /* under lock */
    sample ring[PROGRESS_RING];
    size_t head, n; /* oldest sample, number kept */
};

bool progress_parse_mode(const char *text, progress_mode *out)
{
    static const char *const names[] = {"auto", "always", "never"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (progress_mode)i;
            return true;
        }
    }
    return false;
}

bool progress_parse_interval(const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);
    /* Decimal only: strtod would also take hex, inf and nan. */
    if (end == text || *end || text[strspn(text, "0123456789.eE+-")] ||
        !(v >= 0.1 && v <= PROGRESS_INTERVAL_MAX_S))
        return false;
    *out = v;
    return true;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void add_sample(run_progress *pr, double t, uint64_t done)
{
    if (pr->n == PROGRESS_RING) {
        pr->head = (pr->head + 1) % PROGRESS_RING;
        pr->n--;
    }
    pr->ring[(pr->head + pr->n) % PROGRESS_RING] = (sample){t, done};
    pr->n++;
    /* Keep the newest sample plus those within the window. */
    while (pr->n > 2 && t - pr->ring[(pr->head + 1) % PROGRESS_RING].t >= PROGRESS_WINDOW_S) {
        pr->head = (pr->head + 1) % PROGRESS_RING;
        pr->n--;
    }
}

/* Batches per second over the samples kept. */
static double rate(const run_progress *pr)
{
    if (pr->n < 2)
        return 0;
    const sample *a = &pr->ring[pr->head];
    const sample *b = &pr->ring[(pr->head + pr->n - 1) % PROGRESS_RING];
    return b->t > a->t && b->done >= a->done ? (double)(b->done - a->done) / (b->t - a->t) : 0;
}

/* "0:19", "1:02:03", or "?" when unknown. */
static void format_eta(char *buf, size_t cap, double s)
{
    if (!(s >= 0) || s > 99 * 86400.0) {
        snprintf(buf, cap, "?");
        return;
    }
    long v = (long)ceil(s);
    if (v >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", v / 3600, v / 60 % 60, v % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", v / 60, v % 60);
}

/* The line without "\r", escape codes or "\n". */
static void format_line(const run_progress *pr, uint64_t done, uint64_t total, char *buf,
                        size_t cap)
{
    double r = rate(pr);
    char rtxt[32], eta[32];
    snprintf(rtxt, sizeof rtxt, r >= 0.1 || r == 0 ? "%.1f" : "%.3f", r);
    bool share = pr->o.ranks > 1;
    if (share && total) {
        uint64_t t = total / (uint64_t)pr->o.ranks + (total % (uint64_t)pr->o.ranks != 0);
        total = t > done ? t : done;
    }
    if (!total) {
        snprintf(buf, cap, "progress: %s%llu batches, %s batches/s", share ? "rank 0 " : "",
                 (unsigned long long)done, rtxt);
        return;
    }
    format_eta(eta, sizeof eta, done >= total ? 0 : r > 0 ? (double)(total - done) / r : -1);
    snprintf(buf, cap, "progress: %s%llu/%s%llu batches (%.1f%%), %s batches/s, ETA %s",
             share ? "rank 0 " : "", (unsigned long long)done, share ? "~" : "",
             (unsigned long long)total, 100.0 * (double)done / (double)total, rtxt, eta);
}

static void put(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return; /* a progress line is not worth failing or spinning for */
        s += w;
        n -= (size_t)w;
    }
}

static void show(run_progress *pr, uint64_t done, uint64_t total)
{
    char line[256], out[300];
    format_line(pr, done, total, line, sizeof line);
    /* "\033[K" erases what a longer previous line left to the right. */
    int n = pr->tty ? snprintf(out, sizeof out, "\r%s\033[K", line)
                    : snprintf(out, sizeof out, "%s\n", line);
    if (n > 0)
        put(out, (size_t)n < sizeof out ? (size_t)n : sizeof out - 1);
    pr->shown = pr->tty;
}

/* Sleeps until `until` (seconds on now_s's clock) or a stop; true on stop. */
static bool wait_until(run_progress *pr, double until)
{
    struct timespec ts;
    double whole = floor(until);
    ts.tv_sec = (time_t)whole;
    ts.tv_nsec = (long)((until - whole) * 1e9);
    pthread_mutex_lock(&pr->lock);
    while (!pr->stop && now_s() < until)
        pthread_cond_timedwait(&pr->cond, &pr->lock, &ts);
    bool stop = pr->stop;
    pthread_mutex_unlock(&pr->lock);
    return stop;
}

static void *progress_main(void *arg)
{
    run_progress *pr = arg;
    double step = pr->tty ? PROGRESS_TTY_REFRESH_S : pr->o.interval_s;
    /* Plain lines fall on multiples of the interval, the first at or after
     * the delay; a terminal's line starts at the delay. */
    double next_show = pr->tty ? PROGRESS_DELAY_S : ceil(PROGRESS_DELAY_S / step) * step;
    double next_sample = PROGRESS_SAMPLE_S;
    add_sample(pr, 0, 0);
    for (;;) {
        double due = next_sample < next_show ? next_sample : next_show;
        if (wait_until(pr, pr->t0 + due))
            break;
        double t = now_s() - pr->t0;
        uint64_t done, total;
        sl_pipeline_progress(pr->p, &done, &total);
        if (t >= next_sample) {
            add_sample(pr, t, done);
            next_sample = (floor(t / PROGRESS_SAMPLE_S) + 1) * PROGRESS_SAMPLE_S;
        }
        if (t >= next_show) {
            show(pr, done, total);
            next_show = (floor(t / step) + 1) * step; /* skip what a stall missed */
        }
    }
    return NULL;
}

bool progress_start(run_progress **out, const sl_pipeline *p, const progress_opts *o)
{
    *out = NULL;
    bool tty = isatty(STDERR_FILENO);
    const char *term = getenv("TERM");
    if (term && strcmp(term, "dumb") == 0)
        tty = false; /* cannot erase a line */
    if (o->rank != 0 || o->mode == PROGRESS_NEVER || (o->mode == PROGRESS_AUTO && o->quiet))
        return true;
    run_progress *pr = calloc(1, sizeof *pr);
    if (!pr)
        return false;
    pr->p = p;
    pr->o = *o;
    pr->tty = tty;
    pr->t0 = now_s();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pr->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&pr->lock, NULL);
    /* SIGINT, SIGTERM and SIGUSR1 belong to the main thread (cmd_run.c's handlers);
     * the thread inherits this mask. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&pr->thread, NULL, progress_main, pr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&pr->cond);
        pthread_mutex_destroy(&pr->lock);
        free(pr);
        return false;
    }
    *out = pr;
    return true;
}

void progress_stop(run_progress **ppr)
{
    run_progress *pr = ppr ? *ppr : NULL;
    if (!pr)
        return;
    pthread_mutex_lock(&pr->lock);
    pr->stop = true;
    pthread_cond_signal(&pr->cond);
    pthread_mutex_unlock(&pr->lock);
    pthread_join(pr->thread, NULL);
    if (pr->shown) {
        static const char erase[] = "\r\033[K";
        put(erase, sizeof erase - 1);
    }
    pthread_cond_destroy(&pr->cond);
    pthread_mutex_destroy(&pr->lock);
    free(pr);
    *ppr = NULL;
}
