/* tests/unit/test_placement.c - resolving `ranks:` into groups and segments.
 *
 * Resolution needs only the job and a rank count, so these tests run the
 * rules of sluice/placement.h for many rank counts without MPI. Every error
 * is asserted word for word, position included: it is printed once the job
 * has been launched on many ranks, where a vague message costs the most. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include <sluice/job.h>
#include <sluice/placement.h>

/* The common layout: the source and the sink on rank 0, the kernel on the rest. */
static const char layout[] = "stages:\n"
                             "  - stage: intervals\n"
                             "    ranks: 0\n"
                             "  - stage: primes\n"
                             "    ranks: rest\n"
                             "  - stage: h5sink\n"
                             "    ranks: 0\n";

static sl_job *parse_ok(const char *text)
{
    sl_job *job = NULL;
    sl_error err;
    sl_error_clear(&err);
    cr_assert_eq(sl_job_parse(&job, text, strlen(text), "t.yaml", &err), SL_OK, "%s", err.msg);
    return job;
}

static sl_placement *resolve_ok(const sl_job *job, int nranks)
{
    sl_placement *pl = NULL;
    sl_error err;
    sl_error_clear(&err);
    cr_assert_eq(sl_placement_resolve(&pl, job, nranks, &err), SL_OK, "%d ranks: %s", nranks,
                 err.msg);
    cr_assert_not_null(pl);
    return pl;
}

/* Resolves text on nranks expecting `code`; returns the one-line message. */
static const char *resolve_fails(const char *text, int nranks, sl_status code)
{
    static sl_error err;
    sl_job *job = parse_ok(text);
    sl_placement *pl = (sl_placement *)&err; /* must be reset to NULL on failure */
    sl_error_clear(&err);
    sl_status s = sl_placement_resolve(&pl, job, nranks, &err);
    sl_job_destroy(&job);
    cr_assert_eq(s, code, "status %d, expected %d: %s", s, code, err.msg);
    cr_assert_null(pl);
    cr_assert_null(strchr(err.msg, '\n'), "message is not one line: %s", err.msg);
    return err.msg;
}

/* Group g holds exactly ranks lo..hi. */
static void expect_group(const sl_placement *pl, size_t g, int lo, int hi)
{
    size_t n = 0;
    const int *r = sl_placement_ranks(pl, g, &n);
    cr_assert_not_null(r, "group %zu", g);
    cr_assert_eq(n, (size_t)(hi - lo + 1), "group %zu has %zu ranks", g, n);
    for (size_t k = 0; k < n; k++)
        cr_expect_eq(r[k], lo + (int)k, "group %zu rank %zu", g, k);
}

static void expect_segment(const sl_placement *pl, size_t k, size_t first, size_t last, int group)
{
    size_t f = 99, l = 99;
    int g = 99;
    sl_placement_segment(pl, k, &f, &l, &g);
    cr_expect_eq(f, first, "segment %zu first", k);
    cr_expect_eq(l, last, "segment %zu last", k);
    cr_expect_eq(g, group, "segment %zu group", k);
}

/* The source/sink on rank 0 and the kernel on the rest, for ranks=1..5:
 * one rank leaves `rest` empty; from two on, the kernel gets 1..n-1. */
static void check_layout(const char *text)
{
    sl_job *job = parse_ok(text);
    cr_expect(sl_job_stage_mode(job));
    for (int n = 2; n <= 5; n++) {
        sl_placement *pl = resolve_ok(job, n);
        cr_assert_eq(sl_placement_ngroups(pl), 2, "%d ranks", n);
        expect_group(pl, 0, 0, 0);
        expect_group(pl, 1, 1, n - 1);
        cr_expect_eq(sl_placement_group_of(pl, 0), 0);
        cr_expect_eq(sl_placement_group_of(pl, 1), 1);
        cr_expect_eq(sl_placement_group_of(pl, 2), 0);
        cr_assert_eq(sl_placement_nsegments(pl), 3, "%d ranks", n);
        expect_segment(pl, 0, 0, 0, 0);
        expect_segment(pl, 1, 1, 1, 1);
        expect_segment(pl, 2, 2, 2, 0);
        cr_expect_null(sl_placement_warning(pl), "%d ranks: %s", n, sl_placement_warning(pl));
        sl_placement_destroy(&pl);
        cr_expect_null(pl);
    }
    sl_job_destroy(&job);
}

Test(placement, source_and_sink_on_rank0_kernel_on_rest_for_2_to_5_ranks)
{
    check_layout(layout);
}

Test(placement, unplaced_source_runs_on_rank0_and_counts_as_named)
{
    check_layout("stages:\n  - stage: intervals\n  - stage: primes\n    ranks: rest\n"
                 "  - stage: h5sink\n    ranks: 0\n");
    /* Here nothing but the default names rank 0, and `rest` still leaves it out. */
    sl_job *job = parse_ok("stages:\n  - stage: intervals\n  - stage: primes\n    ranks: rest\n");
    sl_placement *pl = resolve_ok(job, 3);
    cr_assert_eq(sl_placement_ngroups(pl), 2);
    expect_group(pl, 0, 0, 0);
    expect_group(pl, 1, 1, 2);
    sl_placement_destroy(&pl);
    sl_job_destroy(&job);
}

Test(placement, one_rank_leaves_rest_empty)
{
    cr_expect_str_eq(resolve_fails(layout, 1, SL_EINVAL),
                     "t.yaml:5:12: stage 'primes': ranks 'rest' is empty: the other stages take "
                     "all of the job's 1 rank (0)");
    cr_expect_str_eq(resolve_fails("stages:\n  - stage: a\n    ranks: 0-1\n  - stage: b\n"
                                   "    ranks: rest\n", 2, SL_EINVAL),
                     "t.yaml:5:12: stage 'b': ranks 'rest' is empty: the other stages take all "
                     "of the job's 2 ranks (0-1)");
}

Test(placement, unplaced_stages_follow_the_stage_before)
{
    sl_job *job = parse_ok("stages:\n  - stage: src\n    ranks: 0\n  - stage: a\n    ranks: rest\n"
                           "  - stage: b\n  - stage: c\n  - stage: sink\n    ranks: 0\n");
    sl_placement *pl = resolve_ok(job, 4);
    cr_assert_eq(sl_placement_ngroups(pl), 2);
    expect_group(pl, 1, 1, 3);
    int want[] = {0, 1, 1, 1, 0};
    for (size_t i = 0; i < 5; i++)
        cr_expect_eq(sl_placement_group_of(pl, i), want[i], "stage %zu", i);
    cr_assert_eq(sl_placement_nsegments(pl), 3);
    expect_segment(pl, 0, 0, 0, 0);
    expect_segment(pl, 1, 1, 3, 1);
    expect_segment(pl, 2, 4, 4, 0);
    sl_placement_destroy(&pl);
    sl_job_destroy(&job);
}

Test(placement, equal_sets_written_differently_are_one_group)
{
    sl_job *job = parse_ok("stages:\n  - stage: src\n    ranks: 0\n  - stage: a\n    ranks: 1-3\n"
                           "  - stage: b\n    ranks: \"3, 1,2\"\n  - stage: c\n    ranks: 4,6\n");
    sl_placement *pl = resolve_ok(job, 7);
    cr_assert_eq(sl_placement_ngroups(pl), 3);
    cr_expect_eq(sl_placement_group_of(pl, 2), 1);
    cr_expect_eq(sl_placement_group_of(pl, 3), 2);
    size_t n = 0;
    const int *r = sl_placement_ranks(pl, 2, &n);
    cr_assert_eq(n, 2);
    cr_expect_eq(r[0], 4);
    cr_expect_eq(r[1], 6);
    cr_assert_eq(sl_placement_nsegments(pl), 3);
    expect_segment(pl, 1, 1, 2, 1);
    expect_segment(pl, 2, 3, 3, 2);
    cr_expect_str_eq(sl_placement_warning(pl),
                     "t.yaml:3:12: rank 5 of 7 runs no stage and stays idle");
    sl_placement_destroy(&pl);
    sl_job_destroy(&job);
}

Test(placement, lists_come_out_ascending)
{
    sl_job *job = parse_ok("stages:\n  - stage: src\n    ranks: \"5-7,0, 2\"\n");
    sl_placement *pl = resolve_ok(job, 8);
    size_t n = 0;
    const int *r = sl_placement_ranks(pl, 0, &n);
    int want[] = {0, 2, 5, 6, 7};
    cr_assert_eq(n, 5);
    for (size_t k = 0; k < n; k++)
        cr_expect_eq(r[k], want[k], "rank %zu", k);
    cr_expect_str_eq(sl_placement_warning(pl),
                     "t.yaml:3:12: ranks 1,3-4 of 8 run no stage and stay idle");
    sl_placement_destroy(&pl);
    sl_job_destroy(&job);
}

Test(placement, all_is_every_rank_and_one_segment)
{
    sl_job *job = parse_ok("stages:\n  - stage: src\n    ranks: all\n  - stage: a\n"
                           "  - stage: b\n    ranks: all\n");
    for (int n = 1; n <= 4; n++) {
        sl_placement *pl = resolve_ok(job, n);
        cr_assert_eq(sl_placement_ngroups(pl), 1);
        expect_group(pl, 0, 0, n - 1);
        cr_assert_eq(sl_placement_nsegments(pl), 1);
        expect_segment(pl, 0, 0, 2, 0);
        cr_expect_null(sl_placement_warning(pl));
        sl_placement_destroy(&pl);
    }
    sl_job_destroy(&job);
}

Test(placement, consecutive_rest_stages_share_one_group)
{
    sl_job *job = parse_ok("stages:\n  - stage: src\n    ranks: 0\n  - stage: a\n    ranks: rest\n"
                           "  - stage: b\n  - stage: c\n    ranks: rest\n  - stage: sink\n"
                           "    ranks: 0\n");
    sl_placement *pl = resolve_ok(job, 3);
    cr_assert_eq(sl_placement_ngroups(pl), 2);
    expect_group(pl, 1, 1, 2);
    cr_expect_eq(sl_placement_group_of(pl, 3), 1);
    cr_assert_eq(sl_placement_nsegments(pl), 3);
    expect_segment(pl, 1, 1, 3, 1);
    sl_placement_destroy(&pl);
    sl_job_destroy(&job);
}

Test(placement, idle_ranks_are_a_warning_not_an_error)
{
    static const char text[] = "stages:\n  - stage: src\n    ranks: 0\n  - stage: a\n"
                               "    ranks: 1-2\n  - stage: sink\n    ranks: 0\n";
    sl_job *job = parse_ok(text);
    sl_placement *pl = resolve_ok(job, 3);
    cr_expect_null(sl_placement_warning(pl));
    sl_placement_destroy(&pl);
    pl = resolve_ok(job, 4);
    cr_expect_str_eq(sl_placement_warning(pl),
                     "t.yaml:3:12: rank 3 of 4 runs no stage and stays idle");
    sl_placement_destroy(&pl);
    pl = resolve_ok(job, 6);
    cr_expect_str_eq(sl_placement_warning(pl),
                     "t.yaml:3:12: ranks 3-5 of 6 run no stage and stay idle");
    cr_expect_eq(sl_placement_nsegments(pl), 3);
    sl_placement_destroy(&pl);
    sl_job_destroy(&job);
}

Test(placement, a_batch_mode_job_resolves_to_rank0)
{
    sl_job *job = parse_ok("stages:\n  - stage: src\n  - stage: sink\n");
    cr_expect_not(sl_job_stage_mode(job));
    sl_placement *pl = resolve_ok(job, 3);
    cr_assert_eq(sl_placement_ngroups(pl), 1);
    expect_group(pl, 0, 0, 0);
    cr_assert_eq(sl_placement_nsegments(pl), 1);
    expect_segment(pl, 0, 0, 1, 0);
    cr_expect_str_eq(sl_placement_warning(pl),
                     "t.yaml:2:5: ranks 1-2 of 3 run no stage and stay idle");
    sl_placement_destroy(&pl);
    sl_job_destroy(&job);
}

Test(placement, rank_beyond_the_count_names_stage_rank_and_count)
{
    cr_expect_str_eq(resolve_fails("stages:\n  - stage: src\n    ranks: 0\n  - stage: primes\n"
                                   "    ranks: 1-5\n", 4, SL_ERANGE),
                     "t.yaml:5:12: stage 'primes': ranks '1-5' names rank 4, but the job has "
                     "only 4 ranks (0-3)");
    cr_expect_str_eq(resolve_fails("stages:\n  - stage: src\n    ranks: 0\n  - stage: sink\n"
                                   "    ranks: 2,7\n", 4, SL_ERANGE),
                     "t.yaml:5:12: stage 'sink': ranks '2,7' names rank 7, but the job has "
                     "only 4 ranks (0-3)");
    cr_expect_str_eq(resolve_fails("stages:\n  - stage: src\n    ranks: 1\n", 1, SL_ERANGE),
                     "t.yaml:3:12: stage 'src': ranks '1' names rank 1, but the job has only 1 "
                     "rank (0)");
}

Test(placement, partial_overlap_names_both_stages)
{
    cr_expect_str_eq(resolve_fails("stages:\n  - stage: src\n    ranks: 0\n  - stage: primes\n"
                                   "    ranks: 0-2\n", 3, SL_EINVAL),
                     "t.yaml:5:12: stage 'primes': ranks '0-2' share rank 0 with stage 'src' "
                     "(ranks '0' at t.yaml:3:12) but are not the same ranks; groups must be "
                     "identical or disjoint");
    cr_expect_str_eq(resolve_fails("stages:\n  - stage: src\n  - stage: primes\n"
                                   "    ranks: all\n", 2, SL_EINVAL),
                     "t.yaml:4:12: stage 'primes': ranks 'all' share rank 0 with stage 'src' "
                     "(rank 0, the default for the first stage, at t.yaml:2:5) but are not the "
                     "same ranks; groups must be identical or disjoint");
    cr_expect_str_eq(resolve_fails("stages:\n  - stage: a\n    ranks: 0-3\n  - stage: b\n"
                                   "    ranks: 4-5\n  - stage: c\n    ranks: 3-4\n", 6, SL_EINVAL),
                     "t.yaml:7:12: stage 'c': ranks '3-4' share rank 3 with stage 'a' (ranks "
                     "'0-3' at t.yaml:3:12) but are not the same ranks; groups must be "
                     "identical or disjoint");
}

Test(placement, rest_on_separated_stages_is_refused)
{
    cr_expect_str_eq(resolve_fails("stages:\n  - stage: src\n    ranks: 0\n  - stage: a\n"
                                   "    ranks: rest\n  - stage: b\n    ranks: 1\n"
                                   "  - stage: c\n    ranks: rest\n", 4, SL_EINVAL),
                     "t.yaml:9:12: stage 'c': ranks 'rest' again, but stage 'b' runs elsewhere "
                     "since stage 'a' (at t.yaml:5:12) took 'rest'; stages with 'rest' must be "
                     "consecutive");
}

Test(placement, route_weights_must_fit_every_receiving_group)
{
    static const char text[] = "distribution:\n  route: weighted\n  route_weights: [1, 2]\n"
                               "stages:\n  - stage: src\n    ranks: 0\n  - stage: primes\n"
                               "    ranks: rest\n  - stage: sink\n    ranks: 0\n";
    sl_job *job = parse_ok(text);
    sl_placement *pl = resolve_ok(job, 3); /* primes on 2 ranks; the sink's group has 1 */
    sl_placement_destroy(&pl);
    sl_job_destroy(&job);
    cr_expect_str_eq(resolve_fails(text, 4, SL_EINVAL),
                     "t.yaml:3:18: distribution: route_weights has 2 entries, but stage 'primes' "
                     "receives batches on 3 ranks; give one per rank of a receiving group");
}

Test(placement, command_line_ranks_are_resolved_and_reported)
{
    sl_job *job = parse_ok(layout);
    sl_error err;
    cr_assert_eq(sl_job_override(job, "primes.ranks=1-2", &err), SL_OK, "%s", err.msg);
    sl_placement *pl = resolve_ok(job, 3);
    expect_group(pl, 1, 1, 2);
    sl_placement_destroy(&pl);
    cr_assert_eq(sl_placement_resolve(&pl, job, 2, &err), SL_ERANGE);
    cr_expect_null(pl);
    cr_expect_str_eq(err.msg, "command line: stage 'primes': ranks '1-2' names rank 2, but the "
                              "job has only 2 ranks (0-1)");
    sl_job_destroy(&job);
}

Test(placement, bad_arguments_and_accessors_out_of_range)
{
    sl_job *job = parse_ok(layout);
    sl_placement *pl = NULL;
    sl_error err;
    cr_expect_eq(sl_placement_resolve(&pl, job, 0, &err), SL_EINVAL);
    cr_expect_null(pl);
    cr_expect_eq(sl_placement_resolve(&pl, NULL, 2, &err), SL_EINVAL);
    cr_expect_eq(sl_placement_resolve(NULL, job, 2, &err), SL_EINVAL);

    pl = resolve_ok(job, 2);
    size_t n = 7;
    cr_expect_null(sl_placement_ranks(pl, 2, &n));
    cr_expect_eq(n, 0);
    cr_expect_eq(sl_placement_group_of(pl, 3), -1);
    size_t f = 7, l = 7;
    int g = 7;
    sl_placement_segment(pl, 3, &f, &l, &g);
    cr_expect_eq(g, -1);
    cr_expect_eq(f, 0);
    cr_expect_eq(l, 0);
    sl_placement_destroy(&pl);
    sl_placement_destroy(&pl);
    sl_placement_destroy(NULL);
    cr_expect_eq(sl_placement_ngroups(NULL), 0);
    cr_expect_eq(sl_placement_nsegments(NULL), 0);
    cr_expect_null(sl_placement_warning(NULL));
    cr_expect_not(sl_job_stage_mode(NULL));
    sl_job_destroy(&job);
}
