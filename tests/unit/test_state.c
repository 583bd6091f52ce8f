/* tests/unit/test_state.c - the state directory of a run (lib/resume/state.h):
 * a fresh run makes it with the fingerprint and refuses an old one; a resume
 * reads every rank's journal, refuses a changed job with the differences,
 * removes segments no record names and temporaries, and never removes a
 * file that is not its own. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resume/state.h"

static char dir[] = "/tmp/sluice-state-XXXXXX";
static char out[256];

static void setup(void)
{
    cr_assert(mkdtemp(dir));
    snprintf(out, sizeof out, "%s/out.h5", dir);
}

static void touch(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s.sluice/%s", out, name);
    FILE *f = fopen(p, "w");
    cr_assert(f, "%s", p);
    fputs("x", f);
    fclose(f);
}

static bool exists(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s.sluice/%s", out, name);
    return access(p, F_OK) == 0;
}

static void journal(int rank, const char *seg, uint64_t lo, uint64_t hi)
{
    char p[512];
    snprintf(p, sizeof p, "%s.sluice/journal.r%d", out, rank);
    sl__journal *j;
    sl_error err;
    cr_assert_eq(sl__journal_open(&j, p, &err), SL_OK, "%s", err.msg);
    sl__row_range seqs = {lo, hi};
    sl__jrec r = {.seqs = &seqs, .nseqs = 1};
    snprintf(r.segment, sizeof r.segment, "%s", seg);
    cr_assert_eq(sl__journal_append(j, &r, &err), SL_OK, "%s", err.msg);
    sl__journal_close(&j);
}

static const char *FP = "sluice\tfingerprint\t1\nplan\tbatches\t100\n";

TestSuite(state, .init = setup);

Test(state, fresh_then_resume_reads_every_rank)
{
    sl__state st;
    sl_error err;
    cr_assert_eq(sl__state_open(&st, out, FP, SL__STATE_FRESH, &err), SL_OK, "%s", err.msg);
    cr_assert(exists("fingerprint"));
    sl__state_close(&st);
    journal(0, "r0-0.h5", 0, 10);
    journal(2, "r2-0.h5", 50, 60);
    journal(0, "r0-1.h5", 20, 30);
    touch("r0-0.h5");
    touch("r0-1.h5");
    touch("r2-0.h5");
    touch("r2-1.h5");     /* written, never recorded: a crash came between */
    touch("r0-2.h5.tmp"); /* being written when the crash came */
    cr_assert_eq(sl__state_open(&st, out, FP, SL__STATE_RESUME, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(st.nrecs, 3);
    cr_assert_str_eq(st.recs[0].segment, "r0-0.h5");
    cr_assert_str_eq(st.recs[1].segment, "r0-1.h5");
    cr_assert_str_eq(st.recs[2].segment, "r2-0.h5");
    cr_assert_eq(st.recs[2].seqs[0].lo, 50);
    cr_assert_eq(st.removed, 2);
    cr_assert(!exists("r2-1.h5") && !exists("r0-2.h5.tmp"));
    cr_assert(exists("r0-0.h5") && exists("r2-0.h5"));
    /* Another fresh run refuses the state an interrupted one left. */
    sl__state st2;
    cr_assert_eq(sl__state_open(&st2, out, FP, SL__STATE_FRESH, &err), SL_EEXIST);
    cr_assert(strstr(err.msg, "resume with --resume, or start over with --force"), "%s",
              err.msg);
    cr_assert_eq(sl__state_remove(&st, &err), SL_OK, "%s", err.msg);
    sl__state_close(&st);
    struct stat sb;
    cr_assert_neq(stat(dir, &sb), -1);
    char p[512];
    snprintf(p, sizeof p, "%s.sluice", out);
    cr_assert_eq(access(p, F_OK), -1, "the state directory is still there");
}

Test(state, a_changed_job_is_refused_with_what_changed)
{
    sl__state st;
    sl_error err;
    cr_assert_eq(sl__state_open(&st, out, FP, SL__STATE_FRESH, &err), SL_OK, "%s", err.msg);
    sl__state_close(&st);
    const char *fp2 = "sluice\tfingerprint\t1\nplan\tbatches\t200\n";
    cr_assert_eq(sl__state_open(&st, out, fp2, SL__STATE_RESUME, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "cannot resume") &&
                  strstr(err.msg, "the source's plan (batches) was 100, is now 200"),
              "%s", err.msg);
    cr_assert(!strchr(err.msg, '\n'), "not one line: %s", err.msg);
}

Test(state, nothing_to_resume_and_foreign_files_are_left_alone)
{
    sl__state st;
    sl_error err;
    cr_assert_eq(sl__state_open(&st, out, FP, SL__STATE_RESUME, &err), SL_ENOTFOUND);
    cr_assert(strstr(err.msg, "nothing to resume"), "%s", err.msg);
    cr_assert_eq(sl__state_open(&st, out, FP, SL__STATE_FRESH, &err), SL_OK, "%s", err.msg);
    sl__state_close(&st);
    touch("notes.txt");
    cr_assert_eq(sl__state_open(&st, out, FP, SL__STATE_REPLACE, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "'notes.txt', which no run put there"), "%s", err.msg);
    cr_assert(exists("notes.txt"));
}
