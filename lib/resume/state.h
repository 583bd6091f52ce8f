/* lib/resume/state.h - a run's state directory, OUT.sluice/ (docs/resume.md).
 *
 * It holds the fingerprint of the job that writes OUT, every rank's journal
 * and segments. A fresh run makes it (an old one is refused unless the run
 * starts over or resumes); a resume checks the fingerprint, reads every
 * journal whatever the rank count was, and removes what no record names
 * (segments a crash left between their write and their record). */
#ifndef SLUICE_RESUME_STATE_H
#define SLUICE_RESUME_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include <sluice/error.h>

#include "resume/journal.h"

typedef struct sl__state {
    char *dir;          /* OUT.sluice */
    sl__jrec *recs;     /* every rank's records, rank by rank */
    size_t nrecs;
    bool torn;          /* a journal had a damaged tail (ignored) */
    size_t removed;     /* files no record named, removed on open */
} sl__state;

typedef enum sl__state_mode {
    SL__STATE_FRESH,  /* a new run: the directory must not exist */
    SL__STATE_REPLACE,/* a new run that replaces an old state (--force) */
    SL__STATE_RESUME, /* continue: the directory must exist with the same fingerprint */
    SL__STATE_JOIN    /* another rank, after the first opened it: read the journals only */
} sl__state_mode;

/* Opens the state of the run writing `output`, whose job has fingerprint
 * fp (sluice/resume.h). On a fingerprint mismatch the error lists every
 * difference ("cannot resume: ..."), one per line after the first. */
sl_status sl__state_open(sl__state *st, const char *output, const char *fp, sl__state_mode mode,
                         sl_error *err);
void sl__state_close(sl__state *st);
/* The checks of sl__state_open without a change: may a run (resume or
 * not, force or not) with fingerprint fp write `output`? */
sl_status sl__state_check(const char *output, const char *fp, bool resume, bool force,
                          sl_error *err);
/* Reads every journal again (after other ranks appended). */
sl_status sl__state_reload(sl__state *st, sl_error *err);
/* Removes the directory and everything in it (after the output is in place):
 * renamed to OUT.sluice.old first, so that a crash halfway leaves no state
 * that looks resumable. */
sl_status sl__state_remove(sl__state *st, sl_error *err);
/* The path of a file in the directory ("journal.r3"), malloc'd. */
char *sl__state_path(const sl__state *st, const char *name);

#endif
