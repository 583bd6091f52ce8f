/* tests/unit/test_seqset.c - the unfinished seqs of a resumed run
 * (lib/resume/seqset.h), checked against a brute-force bitmap on random
 * sets of finished ranges: overlapping, touching, unsorted, past the end. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "resume/seqset.h"

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

Test(seqset, matches_a_bitmap)
{
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 300; round++) {
        uint64_t total = 1 + rnd(&x) % 500;
        size_t n = rnd(&x) % 12;
        sl__row_range r[12];
        unsigned char *done = calloc(total, 1);
        for (size_t i = 0; i < n; i++) {
            uint64_t lo = rnd(&x) % (total + 20), len = rnd(&x) % 60;
            r[i] = (sl__row_range){lo, lo + len};
            for (uint64_t q = lo; q < lo + len && q < total; q++)
                done[q] = 1;
        }
        sl__seqset s;
        sl_error err;
        cr_assert_eq(sl__seqset_build(&s, total, r, n, &err), SL_OK);
        uint64_t k = 0;
        for (uint64_t q = 0; q < total; q++) {
            cr_assert_eq(sl__seqset_done(&s, q), done[q] != 0, "round %d seq %llu", round,
                         (unsigned long long)q);
            if (!done[q]) {
                cr_assert_eq(sl__seqset_todo(&s, k), q, "round %d: todo %llu is %llu, want %llu",
                             round, (unsigned long long)k,
                             (unsigned long long)sl__seqset_todo(&s, k), (unsigned long long)q);
                k++;
            }
        }
        cr_assert_eq(s.ntodo, k);
        for (size_t i = 1; i < s.ndone; i++)
            cr_assert_gt(s.done[i].lo, s.done[i - 1].hi, "ranges not joined");
        sl__seqset_free(&s);
        free(done);
    }
}

Test(seqset, nothing_finished_and_everything_finished)
{
    sl__seqset s;
    sl_error err;
    cr_assert_eq(sl__seqset_build(&s, 10, NULL, 0, &err), SL_OK);
    cr_assert_eq(s.ntodo, 10);
    cr_assert_eq(sl__seqset_todo(&s, 9), 9);
    sl__seqset_free(&s);
    sl__row_range all = {0, 10};
    cr_assert_eq(sl__seqset_build(&s, 10, &all, 1, &err), SL_OK);
    cr_assert_eq(s.ntodo, 0);
    cr_assert(sl__seqset_done(&s, 9));
    sl__seqset_free(&s);
    sl__row_range big = {UINT64_MAX - 5, UINT64_MAX};
    cr_assert_eq(sl__seqset_build(&s, UINT64_MAX, &big, 1, &err), SL_OK);
    cr_assert_eq(s.ntodo, UINT64_MAX - 5);
    cr_assert_eq(sl__seqset_todo(&s, UINT64_MAX - 6), UINT64_MAX - 6);
    sl__seqset_free(&s);
}
