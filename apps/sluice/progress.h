/* apps/sluice/progress.h - the progress line of `sluice run`.
 *
 * A thread started before the run and stopped after it reads how far the
 * pipeline is (sl_pipeline_progress) and prints on stderr: on a terminal one
 * line rewritten in place ("\r" and erase to end of line), elsewhere (a
 * Slurm .out file, a pipe) a plain line every interval, never an escape
 * code. Nothing is printed during the first PROGRESS_DELAY_S seconds, so
 * short runs stay quiet. See docs/report.md. */
#ifndef SLUICE_APP_PROGRESS_H
#define SLUICE_APP_PROGRESS_H

#include <stdbool.h>

#include <sluice/pipeline.h>

#define PROGRESS_DELAY_S 2.0       /* no line before the run is this old */
#define PROGRESS_INTERVAL_S 30.0   /* plain lines: default seconds between two */
#define PROGRESS_INTERVAL_MAX_S 86400.0
#define PROGRESS_TTY_REFRESH_S 0.5 /* a terminal's line: seconds between updates */

typedef enum { PROGRESS_AUTO, PROGRESS_ALWAYS, PROGRESS_NEVER } progress_mode;

typedef struct progress_opts {
    progress_mode mode;
    double interval_s; /* plain lines; > 0 */
    int rank, ranks;   /* only rank 0 prints; ranks > 1 changes the wording */
    bool quiet;        /* --quiet: auto means never */
} progress_opts;

typedef struct run_progress run_progress;

/* "auto", "always", "never". */
bool progress_parse_mode(const char *text, progress_mode *out);
/* Seconds between plain lines, from 0.1 to PROGRESS_INTERVAL_MAX_S. */
bool progress_parse_interval(const char *text, double *out);

/* Starts the thread when this process should print (rank 0, mode and
 * stderr agree); otherwise sets *out to NULL, which progress_stop accepts.
 * Borrows: p (must outlive the progress, i.e. until progress_stop).
 * Owned by caller: *out. Returns false only when the thread could not start
 * (the run then goes on without a progress line). */
bool progress_start(run_progress **out, const sl_pipeline *p, const progress_opts *o);

/* Stops and joins the thread; on a terminal erases the line it left.
 * Accepts NULL and *pr == NULL; sets *pr = NULL. */
void progress_stop(run_progress **pr);

#endif
