/* tests/unit/test_journal.c - the resume journal (lib/resume/journal.h):
 * records read back exactly (ranges, integer and floating results to the
 * last bit); a journal cut at any byte of its last record reads as the
 * records before it, flagged torn; a damaged record ends the reading; a
 * field of a later version is skipped; separators in names are refused. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "resume/journal.h"

static char dir[] = "/tmp/sluice-journal-XXXXXX";
static char path[128];

static void setup(void)
{
    cr_assert(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal.r0", dir);
}

static void teardown(void)
{
    unlink(path);
    rmdir(dir);
}

TestSuite(journal, .init = setup, .fini = teardown);

static sl__jrec rec(const char *seg, uint64_t seq0, size_t nseq, double f)
{
    static sl__row_range seqs[4], rows[4];
    static sl__jresult res[2];
    for (size_t i = 0; i < nseq; i++) {
        seqs[i] = (sl__row_range){seq0 + 10 * i, seq0 + 10 * i + 3};
        rows[i] = (sl__row_range){100 * seqs[i].lo, 100 * seqs[i].hi};
    }
    res[0] = (sl__jresult){.key = "sum_n", .type = SL_TYPE_U64, .u = UINT64_MAX - seq0};
    res[1] = (sl__jresult){.key = "sum_x", .type = SL_TYPE_F64, .f = f};
    sl__jrec r = {.seqs = seqs, .nseqs = nseq, .rows = rows, .nrows = nseq, .res = res, .nres = 2};
    snprintf(r.segment, sizeof r.segment, "%s", seg);
    return r;
}

static void append(sl__jrec r)
{
    sl__journal *j;
    sl_error err;
    cr_assert_eq(sl__journal_open(&j, path, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl__journal_append(j, &r, &err), SL_OK, "%s", err.msg);
    sl__journal_close(&j);
}

static size_t read_all(sl__jrec **recs, bool *torn)
{
    size_t n;
    sl_error err;
    cr_assert_eq(sl__journal_read(path, recs, &n, torn, &err), SL_OK, "%s", err.msg);
    return n;
}

Test(journal, records_read_back_exactly)
{
    append(rec("r0-0.h5", 0, 3, 0.1));
    append(rec("r0-1.h5", 7, 1, -1e-300));
    sl__jrec e = {.segment = "r0-2.h5"}; /* no seqs, rows or results */
    append(e);
    sl__jrec *r;
    bool torn;
    cr_assert_eq(read_all(&r, &torn), 3);
    cr_assert(!torn);
    cr_assert_str_eq(r[0].segment, "r0-0.h5");
    cr_assert_eq(r[0].nseqs, 3);
    cr_assert_eq(r[0].seqs[2].lo, 20);
    cr_assert_eq(r[0].seqs[2].hi, 23);
    cr_assert_eq(r[0].rows[1].lo, 1000);
    cr_assert_eq(r[0].nres, 2);
    cr_assert_str_eq(r[0].res[0].key, "sum_n");
    cr_assert_eq(r[0].res[0].u, UINT64_MAX);
    cr_assert_eq(r[0].res[1].type, SL_TYPE_F64);
    cr_assert(r[0].res[1].f == 0.1, "0.1 came back as %a", r[0].res[1].f);
    cr_assert(r[1].res[1].f == -1e-300);
    cr_assert_eq(r[1].res[0].u, UINT64_MAX - 7);
    cr_assert_eq(r[2].nseqs + r[2].nrows + r[2].nres, 0);
    sl__jrecs_free(r, 3);
}

Test(journal, a_journal_cut_anywhere_in_its_last_record_keeps_the_others)
{
    append(rec("r0-0.h5", 0, 2, 1.5));
    append(rec("r0-1.h5", 50, 2, 2.5));
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    off_t first = 0;
    { /* the end of the first line */
        FILE *f = fopen(path, "r");
        int c;
        while ((c = fgetc(f)) != EOF && c != '\n')
            first++;
        first++;
        fclose(f);
    }
    char *whole = malloc((size_t)st.st_size);
    int fd = open(path, O_RDONLY);
    cr_assert_eq(read(fd, whole, (size_t)st.st_size), st.st_size);
    close(fd);
    for (off_t cut = first; cut <= st.st_size; cut++) {
        fd = open(path, O_WRONLY | O_TRUNC);
        cr_assert_eq(write(fd, whole, (size_t)cut), cut);
        close(fd);
        sl__jrec *r;
        bool torn;
        size_t n = read_all(&r, &torn);
        size_t want = cut == st.st_size ? 2 : 1;
        cr_assert_eq(n, want, "cut at %lld of %lld: %zu records", (long long)cut,
                     (long long)st.st_size, n);
        cr_assert_eq(torn, cut != st.st_size && cut != first, "cut at %lld: torn %d",
                     (long long)cut, torn);
        cr_assert_str_eq(r[0].segment, "r0-0.h5");
        sl__jrecs_free(r, n);
    }
    free(whole);
}

Test(journal, a_damaged_record_ends_the_reading)
{
    append(rec("r0-0.h5", 0, 1, 1));
    append(rec("r0-1.h5", 10, 1, 2));
    append(rec("r0-2.h5", 20, 1, 3));
    /* Flip one digit inside the second record. */
    FILE *f = fopen(path, "r+");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    char *second = strchr(buf, '\n') + 1;
    char *digit = strstr(second, "seqs=") + 5;
    *digit = *digit == '1' ? '2' : '1';
    rewind(f);
    fwrite(buf, 1, n, f);
    fclose(f);
    sl__jrec *r;
    bool torn;
    cr_assert_eq(read_all(&r, &torn), 1, "the records after a bad one are not trusted");
    cr_assert(torn);
    sl__jrecs_free(r, 1);
}

Test(journal, fields_of_a_later_version_are_skipped)
{
    /* The checksum covers the fields: compute it as the writer does. */
    append(rec("r0-0.h5", 0, 1, 1));
    sl__jrec *r;
    bool torn;
    cr_assert_eq(read_all(&r, &torn), 1);
    sl__jrecs_free(r, 1);
    FILE *f = fopen(path, "a");
    const char *body = "seg=r0-9.h5 seqs=90-91 future=yes rows=9000-9100 res=-";
    fprintf(f, "J1 %08lx %s\n", (unsigned long)crc32(0L, (const Bytef *)body, (uInt)strlen(body)),
            body);
    fclose(f);
    cr_assert_eq(read_all(&r, &torn), 2);
    cr_assert(!torn);
    cr_assert_str_eq(r[1].segment, "r0-9.h5");
    cr_assert_eq(r[1].rows[0].hi, 9100);
    sl__jrecs_free(r, 2);
}

Test(journal, separators_in_names_are_refused_and_a_missing_journal_is_empty)
{
    sl__journal *j;
    sl_error err;
    sl__jrec *r;
    bool torn;
    cr_assert_eq(read_all(&r, &torn), 0);
    cr_assert_eq(sl__journal_open(&j, path, &err), SL_OK, "%s", err.msg);
    sl__jrec bad = rec("r0 0.h5", 0, 1, 1);
    cr_assert_eq(sl__journal_append(j, &bad, &err), SL_EINVAL);
    cr_assert(strstr(err.msg, "holds a separator"), "got: %s", err.msg);
    sl__jrec badkey = rec("r0-0.h5", 0, 1, 1);
    strcpy(badkey.res[0].key, "a,b");
    cr_assert_eq(sl__journal_append(j, &badkey, &err), SL_EINVAL);
    sl__journal_close(&j);
    cr_assert_eq(read_all(&r, &torn), 0, "refused appends wrote nothing");
}
