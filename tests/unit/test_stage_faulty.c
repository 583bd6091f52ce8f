/* test_stage_faulty.c - the `faulty` stage's kernel: seq sets, seeded
 * decisions, fail_times and the shared attempts tables, the cancellable sleep.
 * The crashes and the stage itself run end to end (tests/e2e/test_faulty.c). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faulty_attempts.h"
#include "faulty_kernel.h"

static sl_faulty_seqs parse_ok(const char *text)
{
    sl_faulty_seqs s;
    sl_error err;
    sl_error_clear(&err);
    cr_assert_eq(sl_faulty_seqs_parse(&s, text, "fail_seqs", &err), SL_OK, "'%s': %s", text,
                 err.msg);
    return s;
}

/* Parses bad text; checks the status, that *out stays empty, and that the
 * message names the parameter and contains `part`. */
static void parse_bad(const char *text, const char *part)
{
    sl_faulty_seqs s = {(sl_faulty_range *)&s, 99}; /* garbage the parser must clear */
    sl_error err;
    sl_error_clear(&err);
    cr_assert_eq(sl_faulty_seqs_parse(&s, text, "crash_seqs", &err), SL_EINVAL, "'%s'", text);
    cr_assert_null(s.r);
    cr_assert_eq(s.n, 0);
    cr_assert(strstr(err.msg, "parameter 'crash_seqs'"), "%s", err.msg);
    cr_assert(strstr(err.msg, part), "wanted '%s' in: %s", part, err.msg);
    cr_assert_null(strchr(err.msg, '\n'), "not one line: %s", err.msg);
}

Test(stage_faulty, seq_set_holds_single_seqs_and_inclusive_ranges)
{
    sl_faulty_seqs s = parse_ok("3,10-12");
    for (uint64_t q = 0; q < 20; q++)
        cr_assert_eq(sl_faulty_seqs_has(&s, q), q == 3 || (q >= 10 && q <= 12), "seq %llu",
                     (unsigned long long)q);
    sl_faulty_seqs_free(&s);
    cr_assert_null(s.r);
}

Test(stage_faulty, seq_set_ignores_blanks_around_items_numbers_and_dashes)
{
    sl_faulty_seqs a = parse_ok(" 3 ,\t10 - 12 , 7"), b = parse_ok("3,7,10-12");
    cr_assert_eq(a.n, b.n);
    for (uint64_t q = 0; q < 20; q++)
        cr_assert_eq(sl_faulty_seqs_has(&a, q), sl_faulty_seqs_has(&b, q));
    sl_faulty_seqs_free(&a);
    sl_faulty_seqs_free(&b);
}

Test(stage_faulty, seq_set_merges_overlaps_and_neighbours_in_any_order)
{
    sl_faulty_seqs s = parse_ok("20-25, 5-10, 8-12, 13, 3, 3");
    cr_assert_eq(s.n, 3); /* [3], [5, 13], [20, 25] */
    cr_assert_eq(s.r[1].lo, 5);
    cr_assert_eq(s.r[1].hi, 13);
    cr_assert(!sl_faulty_seqs_has(&s, 4));
    cr_assert(sl_faulty_seqs_has(&s, 13));
    cr_assert(!sl_faulty_seqs_has(&s, 14));
    cr_assert(sl_faulty_seqs_has(&s, 25));
    sl_faulty_seqs_free(&s);
}

Test(stage_faulty, open_range_runs_to_the_largest_seq)
{
    sl_faulty_seqs s = parse_ok("100-, 7, 18446744073709551615");
    cr_assert_eq(s.n, 2);
    cr_assert(sl_faulty_seqs_has(&s, 7));
    cr_assert(!sl_faulty_seqs_has(&s, 99));
    cr_assert(sl_faulty_seqs_has(&s, 100));
    cr_assert(sl_faulty_seqs_has(&s, UINT64_MAX));
    sl_faulty_seqs_free(&s);
}

Test(stage_faulty, empty_or_blank_text_is_the_empty_set)
{
    const char *texts[] = {"", "   ", "\t"};
    for (size_t i = 0; i < 3; i++) {
        sl_faulty_seqs s = parse_ok(texts[i]);
        cr_assert_eq(s.n, 0);
        cr_assert(!sl_faulty_seqs_has(&s, 0));
        sl_faulty_seqs_free(&s);
    }
}

Test(stage_faulty, bad_seq_text_fails_naming_the_parameter_and_the_bad_part)
{
    parse_bad("3,x1", "'x1' is not a seq");
    parse_bad("3x", "'3x' is not a seq");
    parse_bad("-5", "'-5' is not a seq");
    parse_bad("1-2-3", "'1-2-3' is not a seq");
    parse_bad("1.5", "'1.5' is not a seq");
    parse_bad("0x10", "'0x10' is not a seq");
    parse_bad("4, 12-10", "range '12-10' runs backwards");
    parse_bad("18446744073709551616", "'18446744073709551616' has a seq above");
    parse_bad("3,,4", "item 2 of '3,,4' is empty");
    parse_bad("3,", "item 2 of '3,' is empty");
    parse_bad(",3", "item 1 of ',3' is empty");
}

Test(stage_faulty, uniform_is_in_unit_interval_and_a_pure_function)
{
    for (uint64_t q = 0; q < 10000; q++) {
        double u = sl_faulty_uniform(1, q, SL_FAULTY_FAIL);
        cr_assert(u >= 0.0 && u < 1.0);
        cr_assert_eq(u, sl_faulty_uniform(1, q, SL_FAULTY_FAIL));
    }
    /* Actions draw from separate streams. */
    int same = 0;
    for (uint64_t q = 0; q < 1000; q++)
        same += sl_faulty_uniform(1, q, SL_FAULTY_FAIL) == sl_faulty_uniform(1, q, SL_FAULTY_SLEEP);
    cr_assert_eq(same, 0);
}

#define NSEQ 100000u

/* Marks in hit[] the seqs of [0, NSEQ) that the rate hits, visiting them in
 * the order given by step (coprime with NSEQ); returns the count. */
static unsigned hits(double rate, uint64_t seed, sl_faulty_action a, uint64_t step, bool *hit)
{
    sl_faulty_rule r = {{NULL, 0}, rate};
    unsigned n = 0;
    for (uint64_t i = 0, q = 0; i < NSEQ; i++, q = (q + step) % NSEQ) {
        hit[q] = sl_faulty_decide(&r, seed, q, a) != SL_FAULTY_MISS;
        n += hit[q];
    }
    return n;
}

Test(stage_faulty, decisions_do_not_depend_on_call_order)
{
    bool *fwd = calloc(NSEQ, 1), *odd = calloc(NSEQ, 1);
    unsigned a = hits(0.1, 42, SL_FAULTY_SLEEP, 1, fwd);
    unsigned b = hits(0.1, 42, SL_FAULTY_SLEEP, 7919, odd); /* a scattered order */
    cr_assert_eq(a, b);
    cr_assert_eq(memcmp(fwd, odd, NSEQ), 0);
    free(fwd);
    free(odd);
}

Test(stage_faulty, rate_hits_about_its_share_and_the_set_follows_the_seed)
{
    bool *s1 = calloc(NSEQ, 1), *again = calloc(NSEQ, 1), *s2 = calloc(NSEQ, 1);
    unsigned n1 = hits(0.01, 1, SL_FAULTY_FAIL, 1, s1);
    cr_assert(n1 >= 900 && n1 <= 1100, "%u hits of 10^5 at rate 0.01", n1);
    cr_assert_eq(hits(0.01, 1, SL_FAULTY_FAIL, 1, again), n1);
    cr_assert_eq(memcmp(s1, again, NSEQ), 0, "same seed, different set");
    unsigned n2 = hits(0.01, 2, SL_FAULTY_FAIL, 1, s2);
    cr_assert(n2 >= 900 && n2 <= 1100, "%u hits with seed 2", n2);
    unsigned both = 0;
    for (unsigned q = 0; q < NSEQ; q++)
        both += s1[q] && s2[q];
    /* Independent sets of ~1000 share ~10 seqs; 100 would mean correlated seeds. */
    cr_assert(both < 100, "seeds 1 and 2 share %u of %u hits", both, n1);
    free(s1);
    free(again);
    free(s2);
}

Test(stage_faulty, rate_zero_hits_nothing_and_rate_one_hits_everything)
{
    bool *hit = calloc(NSEQ, 1);
    cr_assert_eq(hits(0.0, 1, SL_FAULTY_CRASH, 1, hit), 0);
    cr_assert_eq(hits(1.0, 1, SL_FAULTY_CRASH, 1, hit), NSEQ);
    free(hit);
}

Test(stage_faulty, listed_seqs_hit_whatever_the_rate_and_say_so)
{
    sl_faulty_rule r = {parse_ok("7"), 0.0};
    cr_assert_eq(sl_faulty_decide(&r, 1, 7, SL_FAULTY_FAIL), SL_FAULTY_BY_SEQS);
    cr_assert_eq(sl_faulty_decide(&r, 1, 8, SL_FAULTY_FAIL), SL_FAULTY_MISS);
    r.rate = 1.0;
    cr_assert_eq(sl_faulty_decide(&r, 1, 7, SL_FAULTY_FAIL), SL_FAULTY_BY_SEQS);
    cr_assert_eq(sl_faulty_decide(&r, 1, 8, SL_FAULTY_FAIL), SL_FAULTY_BY_RATE);
    sl_faulty_seqs_free(&r.seqs);
}

Test(stage_faulty, fail_times_fails_the_first_n_attempts_then_passes)
{
    for (uint64_t k = 1; k <= 5; k++)
        cr_assert(sl_faulty_fails_on(k, 0), "times 0 fails every attempt");
    cr_assert(sl_faulty_fails_on(1, 2));
    cr_assert(sl_faulty_fails_on(2, 2));
    cr_assert(!sl_faulty_fails_on(3, 2));
    cr_assert(!sl_faulty_fails_on(4, 2));
}

Test(stage_faulty, attempts_count_per_seq_and_are_shared_under_one_key)
{
    static const int key_a = 0, key_b = 0;
    sl_faulty_attempts *a1 = NULL, *a2 = NULL, *b = NULL;
    sl_error err;
    uint64_t k = 0;
    cr_assert_eq(sl_faulty_attempts_acquire(&a1, &key_a, &err), SL_OK);
    cr_assert_eq(sl_faulty_attempts_acquire(&a2, &key_a, &err), SL_OK);
    cr_assert_eq(sl_faulty_attempts_acquire(&b, &key_b, &err), SL_OK);
    cr_assert_eq(a1, a2, "two instances of one stage share the table");
    cr_assert_neq(a1, b);
    /* A retry on another instance sees the earlier attempts. */
    cr_assert_eq(sl_faulty_attempts_next(a1, 7, &k, &err), SL_OK);
    cr_assert_eq(k, 1);
    cr_assert_eq(sl_faulty_attempts_next(a2, 7, &k, &err), SL_OK);
    cr_assert_eq(k, 2);
    cr_assert_eq(sl_faulty_attempts_next(a1, UINT64_MAX, &k, &err), SL_OK);
    cr_assert_eq(k, 1, "seqs count separately");
    cr_assert_eq(sl_faulty_attempts_next(b, 7, &k, &err), SL_OK);
    cr_assert_eq(k, 1, "another stage counts separately");
    sl_faulty_attempts_release(&a1);
    cr_assert_null(a1);
    cr_assert_eq(sl_faulty_attempts_next(a2, 7, &k, &err), SL_OK);
    cr_assert_eq(k, 3, "the table lives while one instance holds it");
    sl_faulty_attempts_release(&a2);
    sl_faulty_attempts_release(&b);
    sl_faulty_attempts_release(&b); /* NULL: nothing */
    /* After the last release the key starts afresh. */
    cr_assert_eq(sl_faulty_attempts_acquire(&a1, &key_a, &err), SL_OK);
    cr_assert_eq(sl_faulty_attempts_next(a1, 7, &k, &err), SL_OK);
    cr_assert_eq(k, 1);
    sl_faulty_attempts_release(&a1);
}

Test(stage_faulty, attempts_table_grows_to_many_seqs)
{
    static const int key = 0;
    sl_faulty_attempts *t = NULL;
    sl_error err;
    uint64_t k = 0;
    cr_assert_eq(sl_faulty_attempts_acquire(&t, &key, &err), SL_OK);
    for (int round = 1; round <= 2; round++)
        for (uint64_t q = 0; q < 50000; q++) {
            uint64_t seq = q * 0x10001u; /* spread, to probe collisions */
            cr_assert_eq(sl_faulty_attempts_next(t, seq, &k, &err), SL_OK);
            cr_assert_eq(k, (uint64_t)round, "seq %llu", (unsigned long long)seq);
        }
    sl_faulty_attempts_release(&t);
}

#define NTHREADS 4
#define PER_THREAD 2000

static void *count_attempts(void *arg)
{
    sl_faulty_attempts *t = NULL;
    sl_error err;
    uint64_t k;
    /* Each thread acquires on its own, as parallel instances do. */
    if (sl_faulty_attempts_acquire(&t, arg, &err) != SL_OK)
        return NULL;
    for (uint64_t i = 0; i < PER_THREAD; i++)
        sl_faulty_attempts_next(t, i % 100, &k, &err);
    return t;
}

Test(stage_faulty, concurrent_instances_count_every_attempt_once)
{
    static const int key = 0;
    pthread_t th[NTHREADS];
    sl_faulty_attempts *held[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, count_attempts, (void *)&key), 0);
    for (int i = 0; i < NTHREADS; i++) {
        void *r = NULL;
        pthread_join(th[i], &r);
        held[i] = r;
        cr_assert_not_null(held[i]);
    }
    /* 4 threads x 2000 calls over 100 seqs: each seq saw 80 attempts. */
    sl_error err;
    for (uint64_t q = 0; q < 100; q++) {
        uint64_t k = 0;
        cr_assert_eq(sl_faulty_attempts_next(held[0], q, &k, &err), SL_OK);
        cr_assert_eq(k, NTHREADS * PER_THREAD / 100 + 1, "seq %llu", (unsigned long long)q);
    }
    for (int i = 0; i < NTHREADS; i++)
        sl_faulty_attempts_release(&held[i]);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

/* A fake sl_ctx_should_stop: says stop once it was asked *arg times. */
static bool stop_after(const void *arg)
{
    int *left = (int *)(uintptr_t)arg;
    return (*left)-- <= 0;
}

Test(stage_faulty, sleep_lasts_its_time_when_not_stopped)
{
    int left = 1000000;
    uint64_t slept = 0;
    double t0 = now_ms();
    cr_assert(sl_faulty_sleep(50, stop_after, &left, &slept));
    double dt = now_ms() - t0;
    cr_assert(dt >= 50 && dt < 2000, "slept %.1f ms", dt);
    cr_assert(slept >= 50, "reported %llu ms", (unsigned long long)slept);
    /* Slices of at most 10 ms: more than one look at the stop flag. Not
     * "at least 5": under a sanitizer on a loaded machine a 10 ms slice can
     * take 30 ms (CI stop 10 saw 4 looks). */
    cr_assert(1000000 - left >= 2, "stop asked %d times", 1000000 - left);
    cr_assert(sl_faulty_sleep(0, NULL, NULL, NULL));
}

Test(stage_faulty, sleep_stops_within_a_slice_when_asked)
{
    int left = 3; /* stop at the fourth look: after about 30 ms */
    uint64_t slept = 0;
    double t0 = now_ms();
    cr_assert(!sl_faulty_sleep(60000, stop_after, &left, &slept));
    double dt = now_ms() - t0;
    cr_assert(dt >= 20 && dt < 1000, "a 60 s sleep stopped after %.1f ms", dt);
    cr_assert(slept < 1000, "reported %llu ms", (unsigned long long)slept);
    left = 0;
    t0 = now_ms();
    cr_assert(!sl_faulty_sleep(60000, stop_after, &left, &slept));
    cr_assert(now_ms() - t0 < 1000, "an already stopping run does not sleep");
}

Test(stage_faulty, crash_kinds_by_name)
{
    cr_assert_eq(sl_faulty_crash_kind_of("segv"), SL_FAULTY_SEGV);
    cr_assert_eq(sl_faulty_crash_kind_of("bus"), SL_FAULTY_BUS);
    cr_assert_eq(sl_faulty_crash_kind_of("fpe"), SL_FAULTY_FPE);
    cr_assert_eq(sl_faulty_crash_kind_of("abort"), SL_FAULTY_ABORT);
    cr_assert_eq(sl_faulty_crash_kind_of("SEGV"), -1);
    cr_assert_str_eq(sl_faulty_crash_name(SL_FAULTY_FPE), "fpe");
}
