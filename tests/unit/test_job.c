/* tests/unit/test_job.c - job files: structure, positions in messages, overrides,
 * the distribution settings and stage ranks.
 *
 * Positions are asserted exactly (1-based line:col of the value), because a
 * parameter error found much later, when the pipeline is built, can only
 * point into the file through the origin recorded here. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/job.h>
#include <sluice/placement.h>
#include <sluice/stage.h>

static const char full_job[] = "job: primes_run\n"
                               "output: out/primes.h5\n"
                               "threads: 4\n"
                               "stages:\n"
                               "  - stage: intervals\n"
                               "    params: {start: 0, stop: 1e10, width: 64K}\n"
                               "  - stage: primes\n"
                               "    name: p1\n"
                               "    mode: ordered\n"
                               "    concurrency: 2\n"
                               "    queue: 1M\n"
                               "    params:\n"
                               "      twins: true\n"
                               "      shows: [count, twins]\n"
                               "      label: \"a b\"\n";

static sl_job *parse_ok(const char *text, const char *name)
{
    sl_job *job = NULL;
    sl_error err;
    sl_error_clear(&err);
    cr_assert_eq(sl_job_parse(&job, text, strlen(text), name, &err), SL_OK, "%s", err.msg);
    cr_assert_not_null(job);
    return job;
}

/* Parses text expecting failure with `code`; returns the message. */
static const char *parse_fails(const char *text, sl_status code)
{
    static sl_error err;
    sl_job *job = (sl_job *)&err; /* must be reset to NULL on failure */
    sl_error_clear(&err);
    sl_status s = sl_job_parse(&job, text, strlen(text), "t.yaml", &err);
    cr_assert_eq(s, code, "status %d, expected %d: %s", s, code, err.msg);
    cr_assert_null(job);
    cr_assert_null(strchr(err.msg, '\n'), "message is not one line: %s", err.msg);
    return err.msg;
}

static const sl_job_kv *param(const sl_job_stage *st, const char *key)
{
    for (size_t i = 0; i < st->nparams; i++)
        if (strcmp(st->params[i].key, key) == 0)
            return &st->params[i];
    return NULL;
}

static void expect_param(const sl_job_stage *st, const char *key, const char *value,
                         const char *origin)
{
    const sl_job_kv *kv = param(st, key);
    cr_assert_not_null(kv, "no param '%s' in stage '%s'", key, st->name);
    cr_expect_str_eq(kv->value, value, "%s", key);
    cr_expect_str_eq(kv->origin, origin, "%s", key);
}

Test(job, parses_a_full_job_with_positions)
{
    sl_job *job = parse_ok(full_job, "jobs/full.yaml");
    cr_expect_str_eq(sl_job_name(job), "primes_run");
    cr_expect_str_eq(sl_job_path(job), "jobs/full.yaml");
    cr_expect_str_eq(sl_job_output(job), "out/primes.h5");
    cr_expect_str_eq(sl_job_text(job), full_job);
    cr_expect_eq(sl_job_threads(job), 4);
    cr_assert_eq(sl_job_nstages(job), 2);
    cr_expect_null(sl_job_stage_at(job, 2));

    const sl_job_stage *a = sl_job_stage_at(job, 0);
    cr_expect_str_eq(a->name, "intervals");
    cr_expect_str_eq(a->plugin, "intervals");
    cr_expect_str_eq(a->origin, "jobs/full.yaml:5:5");
    cr_expect_eq(a->mode, 0);
    cr_expect_eq(a->concurrency, 0);
    cr_expect_eq(a->queue, 0);
    cr_assert_eq(a->nparams, 3);
    expect_param(a, "start", "0", "jobs/full.yaml:6:21");
    expect_param(a, "stop", "1e10", "jobs/full.yaml:6:30");
    expect_param(a, "width", "64K", "jobs/full.yaml:6:43");
    cr_expect_str_eq(a->params[0].key, "start"); /* file order is kept */

    const sl_job_stage *b = sl_job_stage_at(job, 1);
    cr_expect_str_eq(b->name, "p1");
    cr_expect_str_eq(b->plugin, "primes");
    cr_expect_str_eq(b->origin, "jobs/full.yaml:7:5");
    cr_expect_eq(b->mode, SL_MODE_ORDERED);
    cr_expect_eq(b->concurrency, 2);
    cr_expect_eq(b->queue, 1048576);
    cr_assert_eq(b->nparams, 3);
    expect_param(b, "twins", "true", "jobs/full.yaml:13:14");
    expect_param(b, "shows", "count,twins", "jobs/full.yaml:14:14");
    expect_param(b, "label", "a b", "jobs/full.yaml:15:14");
    sl_job_destroy(&job);
    cr_expect_null(job);
    sl_job_destroy(&job);
    sl_job_destroy(NULL);
}

Test(job, name_defaults_to_file_base_name)
{
    sl_job *job = parse_ok("stages:\n  - stage: a\n", "some/dir/my.job.yaml");
    cr_expect_str_eq(sl_job_name(job), "my.job");
    cr_expect_null(sl_job_output(job));
    cr_expect_eq(sl_job_threads(job), 0);
    cr_expect_eq(sl_job_stage_at(job, 0)->nparams, 0);
    sl_job_destroy(&job);
}

Test(job, reports_yaml_syntax_error_with_position)
{
    const char *msg = parse_fails("job: x\nstages: [a, b\noutput: y\n", SL_ESYNTAX);
    cr_expect(strncmp(msg, "t.yaml:3:7: YAML syntax error: ", 31) == 0, "%s", msg);
    cr_expect(strstr(msg, "(while parsing a flow sequence)"), "%s", msg);
    msg = parse_fails("stages:\n  - stage: a\n   bad: x\n", SL_ESYNTAX);
    cr_expect(strncmp(msg, "t.yaml:3:", 9) == 0, "%s", msg);
    cr_expect(strstr(msg, "YAML syntax error: "), "%s", msg);
}

Test(job, unknown_top_level_key_suggests_nearest)
{
    const char *msg = parse_fails("job: x\nstage:\n  - stage: a\n", SL_ENOTFOUND);
    cr_expect_str_eq(msg, "t.yaml:2:1: unknown key 'stage' (did you mean 'stages'?)");
    msg = parse_fails("colour: red\nstages:\n  - stage: a\n", SL_ENOTFOUND);
    cr_expect_str_eq(msg, "t.yaml:1:1: unknown key 'colour' (expected one of: job, output, "
                          "threads, stages, distribution)");
}

Test(job, refuses_a_job_without_stages)
{
    cr_expect_str_eq(parse_fails("job: x\nstages: []\n", SL_EINVAL),
                     "t.yaml:2:9: the job has no stages");
    cr_expect_str_eq(parse_fails("job: x\nstages:\n", SL_EINVAL),
                     "t.yaml:2:8: the job has no stages");
    cr_expect_str_eq(parse_fails("job: x\n", SL_EINVAL), "t.yaml:1:1: the job has no stages");
    cr_expect_str_eq(parse_fails("", SL_EINVAL), "t.yaml:1:1: the job has no stages");
}

Test(job, refuses_stage_entry_without_stage_key)
{
    const char *msg = parse_fails("stages:\n  - stage: a\n  - name: b\n    queue: 2\n", SL_EINVAL);
    cr_expect_str_eq(msg, "t.yaml:3:5: stage entry 2 has no 'stage' key (the plugin to run)");
    msg = parse_fails("stages:\n  - stage: a\n    concurency: 2\n", SL_ENOTFOUND);
    cr_expect_str_eq(msg, "t.yaml:3:5: stage entry: unknown key 'concurency' (did you mean "
                          "'concurrency'?)");
    msg = parse_fails("stages:\n  - just_a_name\n", SL_EINVAL);
    cr_expect_str_eq(msg, "t.yaml:2:5: stage entry 1 must be a mapping with a 'stage' key");
}

Test(job, refuses_duplicate_stage_names_naming_both)
{
    const char *msg = parse_fails("stages:\n  - stage: primes\n  - stage: primes\n", SL_EEXIST);
    cr_expect(strncmp(msg, "t.yaml:3:5: stage name 'primes' is used twice (first at "
                           "t.yaml:2:5)", 67) == 0, "%s", msg);
    sl_job *job = parse_ok("stages:\n  - stage: primes\n  - stage: primes\n    name: p2\n",
                           "t.yaml");
    cr_expect_str_eq(sl_job_stage_at(job, 1)->name, "p2");
    sl_job_destroy(&job);
}

Test(job, checks_mode_concurrency_and_queue)
{
    const char *msg = parse_fails("stages:\n  - stage: a\n    mode: fast\n", SL_EINVAL);
    cr_expect_str_eq(msg, "t.yaml:3:11: stage 'a': mode='fast' is not one of "
                          "parallel|serial|ordered");
    msg = parse_fails("stages:\n  - stage: a\n    mode: seral\n", SL_EINVAL);
    cr_expect(strstr(msg, "(did you mean 'serial'?)"), "%s", msg);
    msg = parse_fails("stages:\n  - stage: a\n    concurrency: 0\n", SL_ERANGE);
    cr_expect_str_eq(msg, "t.yaml:3:18: stage 'a': concurrency=0 is below minimum 1");
    msg = parse_fails("stages:\n  - stage: a\n    concurrency: 5000\n", SL_ERANGE);
    cr_expect_str_eq(msg, "t.yaml:3:18: stage 'a': concurrency=5000 exceeds maximum 4096");
    msg = parse_fails("stages:\n  - stage: a\n    concurrency: two\n", SL_EINVAL);
    cr_expect_str_eq(msg, "t.yaml:3:18: stage 'a': concurrency='two' is not an integer");
    msg = parse_fails("stages:\n  - stage: a\n    queue: 2M\n", SL_ERANGE);
    cr_expect_str_eq(msg, "t.yaml:3:12: stage 'a': queue=2M exceeds maximum 1048576");
    msg = parse_fails("threads: 0\nstages:\n  - stage: a\n", SL_ERANGE);
    cr_expect_str_eq(msg, "t.yaml:1:10: threads=0 is below minimum 1");

    sl_job *job = parse_ok("stages:\n  - stage: a\n    mode: serial\n    concurrency: 4K\n", "x");
    cr_expect_eq(sl_job_stage_at(job, 0)->concurrency, 4096);
    cr_expect_eq(sl_job_stage_at(job, 0)->mode, SL_MODE_SERIAL);
    sl_job_destroy(&job);
}

Test(job, param_values_lists_and_nesting)
{
    sl_job *job = parse_ok("stages:\n  - stage: a\n    params:\n      shows:\n        - count\n"
                           "        - twins\n      empty: []\n      blank:\n",
                           "t.yaml");
    const sl_job_stage *st = sl_job_stage_at(job, 0);
    expect_param(st, "shows", "count,twins", "t.yaml:5:9");
    expect_param(st, "empty", "", "t.yaml:7:14");
    cr_expect_str_eq(param(st, "blank")->value, "");
    sl_job_destroy(&job);

    const char *msg = parse_fails("stages:\n  - stage: a\n    params: {x: {y: {z: 1}}}\n",
                                  SL_EINVAL);
    cr_expect_str_eq(msg, "t.yaml:3:21: stage 'a': parameter 'x': mapping keys and values must "
                          "be plain values");
    msg = parse_fails("stages:\n  - stage: a\n    params: {x: [1, [2]]}\n", SL_EINVAL);
    cr_expect(strncmp(msg, "t.yaml:3:21: stage 'a': parameter 'x': list items", 49) == 0, "%s",
              msg);
    msg = parse_fails("stages:\n  - stage: a\n    params: {x: 1, x: 2}\n", SL_EEXIST);
    cr_expect_str_eq(msg, "t.yaml:3:20: stage 'a': parameter 'x' appears twice (first at "
                          "t.yaml:3:17)");
    msg = parse_fails("stages:\n  - stage: a\n    params: [x]\n", SL_EINVAL);
    cr_expect(strstr(msg, "t.yaml:3:13: stage 'a': params must be a mapping"), "%s", msg);
}

Test(job, overrides_params_and_settings)
{
    sl_job *job = parse_ok(full_job, "jobs/full.yaml");
    sl_error err;
    cr_assert_eq(sl_job_override(job, "p1.twins=false", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_job_override(job, "p1.extra=a=b", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_job_override(job, "p1.concurrency=8", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_job_override(job, "intervals.mode=serial", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_job_override(job, "intervals.queue=16", &err), SL_OK, "%s", err.msg);
    const sl_job_stage *b = sl_job_stage_at(job, 1);
    cr_expect_eq(b->nparams, 4);
    expect_param(b, "twins", "false", "command line");
    expect_param(b, "extra", "a=b", "command line");
    expect_param(b, "shows", "count,twins", "jobs/full.yaml:14:14");
    cr_expect_eq(b->concurrency, 8);
    cr_expect_eq(sl_job_stage_at(job, 0)->mode, SL_MODE_SERIAL);
    cr_expect_eq(sl_job_stage_at(job, 0)->queue, 16);

    cr_assert_eq(sl_job_override(job, "p1.concurrency=0", &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "command line: stage 'p1': concurrency=0 is below minimum 1");
    cr_expect_eq(b->concurrency, 8);
    cr_assert_eq(sl_job_override(job, "p1.mode=fast", &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "command line: stage 'p1': mode='fast' is not one of "
                              "parallel|serial|ordered");
    sl_job_destroy(&job);
}

Test(job, override_unknown_stage_and_malformed)
{
    sl_job *job = parse_ok(full_job, "jobs/full.yaml");
    sl_error err;
    cr_assert_eq(sl_job_override(job, "p2.twins=1", &err), SL_ENOTFOUND);
    cr_expect_str_eq(err.msg, "command line: no stage 'p2' in the job for 'p2.twins=1' (did you "
                              "mean 'p1'?)");
    cr_assert_eq(sl_job_override(job, "zzzzzz.twins=1", &err), SL_ENOTFOUND);
    cr_expect_str_eq(err.msg, "command line: no stage 'zzzzzz' in the job for 'zzzzzz.twins=1' "
                              "(it has: intervals, p1)");
    static const char *const bad[] = {"p1twins=1", "p1.twins", "=1", ".twins=1", "p1.=1",
                                      "p1.twins=", "", "p1=x.y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, "command line: '%s' is not STAGE.PARAM=VALUE", bad[i]);
        cr_expect_eq(sl_job_override(job, bad[i], &err), SL_EINVAL, "%s", bad[i]);
        cr_expect_str_eq(err.msg, want);
    }
    cr_expect_eq(sl_job_stage_at(job, 1)->nparams, 3);
    sl_job_destroy(&job);
}

Test(job, set_output_replaces_path)
{
    sl_job *job = parse_ok(full_job, "jobs/full.yaml");
    sl_error err;
    cr_assert_eq(sl_job_set_output(job, "other.h5", &err), SL_OK);
    cr_expect_str_eq(sl_job_output(job), "other.h5");
    cr_expect_eq(sl_job_set_output(job, "", &err), SL_EINVAL);
    cr_expect_str_eq(sl_job_output(job), "other.h5");
    sl_job_destroy(&job);
}

Test(job, load_names_a_missing_file)
{
    sl_job *job = NULL;
    sl_error err;
    cr_assert_eq(sl_job_load(&job, "/nonexistent/dir/nope.yaml", &err), SL_EIO);
    cr_expect_null(job);
    cr_expect(strncmp(err.msg, "/nonexistent/dir/nope.yaml: cannot open job file: ", 50) == 0,
              "%s", err.msg);
}

Test(job, load_reads_a_real_file)
{
    char path[] = "/tmp/sluice_test_job_XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    fputs(full_job, f);
    fclose(f);

    sl_job *job = NULL;
    sl_error err;
    sl_status s = sl_job_load(&job, path, &err);
    unlink(path);
    cr_assert_eq(s, SL_OK, "%s", err.msg);
    cr_expect_str_eq(sl_job_path(job), path);
    cr_expect_str_eq(sl_job_text(job), full_job);
    char origin[96];
    snprintf(origin, sizeof origin, "%s:13:14", path);
    expect_param(sl_job_stage_at(job, 1), "twins", "true", origin);
    sl_job_destroy(&job);

    /* Errors in a loaded file start with its path. */
    char bad[] = "/tmp/sluice_test_bad_XXXXXX.yaml";
    fd = mkstemps(bad, 5);
    cr_assert_geq(fd, 0);
    f = fdopen(fd, "w");
    fputs("stages: []\n", f);
    fclose(f);
    s = sl_job_load(&job, bad, &err);
    unlink(bad);
    cr_assert_eq(s, SL_EINVAL);
    char want[96];
    snprintf(want, sizeof want, "%s:1:9: the job has no stages", bad);
    cr_expect_str_eq(err.msg, want);
}

/* --- distribution: and ranks: ------------------------------------------- */

static const char dist_job[] = "distribution:\n"
                               "  schedule: static\n"
                               "  chunk: 4K\n"
                               "  route: weighted\n"
                               "  route_weights: [1, 2.5, 1e1]\n"
                               "stages:\n"
                               "  - stage: intervals\n"
                               "    ranks: 0\n"
                               "  - stage: primes\n"
                               "    ranks: \"1-3\"\n"
                               "  - stage: sum\n";

Test(job_dist, defaults_when_absent)
{
    sl_job *job = parse_ok("stages:\n  - stage: a\n", "t.yaml");
    const sl_job_dist *d = sl_job_distribution(job);
    cr_assert_not_null(d);
    cr_expect_eq(d->schedule, SL_SCHED_STATIC);
    cr_expect_eq(d->chunk, 0);
    cr_expect_null(d->weights);
    cr_expect_eq(d->nweights, 0);
    cr_expect_eq(d->route, SL_ROUTE_ROUND_ROBIN);
    cr_expect_null(d->route_weights);
    cr_expect_null(d->origin);
    cr_expect_null(d->schedule_origin);
    cr_expect_null(sl_job_stage_at(job, 0)->ranks);
    cr_expect_null(sl_job_stage_at(job, 0)->ranks_origin);
    cr_expect_not(sl_job_stage_mode(job));
    sl_job_destroy(&job);
    d = sl_job_distribution(NULL);
    cr_assert_not_null(d);
    cr_expect_eq(d->schedule, SL_SCHED_STATIC);
}

Test(job_dist, parses_every_key_with_positions)
{
    sl_job *job = parse_ok(dist_job, "jobs/d.yaml");
    const sl_job_dist *d = sl_job_distribution(job);
    cr_expect_eq(d->schedule, SL_SCHED_STATIC);
    cr_expect_eq(d->chunk, 4096);
    cr_expect_eq(d->route, SL_ROUTE_WEIGHTED);
    cr_assert_eq(d->nroute_weights, 3);
    cr_expect_eq(d->route_weights[0], 1.0);
    cr_expect_eq(d->route_weights[1], 2.5);
    cr_expect_eq(d->route_weights[2], 10.0);
    cr_expect_null(d->weights);
    cr_expect_str_eq(d->origin, "jobs/d.yaml:2:3");
    cr_expect_str_eq(d->schedule_origin, "jobs/d.yaml:2:13");
    cr_expect_str_eq(d->chunk_origin, "jobs/d.yaml:3:10");
    cr_expect_str_eq(d->route_origin, "jobs/d.yaml:4:10");
    cr_expect_str_eq(d->route_weights_origin, "jobs/d.yaml:5:18");
    cr_expect_null(d->weights_origin);

    const sl_job_stage *a = sl_job_stage_at(job, 0), *b = sl_job_stage_at(job, 1);
    cr_expect_str_eq(a->ranks, "0"); /* a YAML int is taken as its text */
    cr_expect_str_eq(a->ranks_origin, "jobs/d.yaml:8:12");
    cr_expect_str_eq(b->ranks, "1-3");
    cr_expect_str_eq(b->ranks_origin, "jobs/d.yaml:10:12");
    cr_expect_null(sl_job_stage_at(job, 2)->ranks);
    cr_expect(sl_job_stage_mode(job));
    sl_job_destroy(&job);

    job = parse_ok("distribution:\n  schedule: guided\n  chunk: 1e3\n"
                   "stages:\n  - stage: a\n", "t.yaml");
    cr_expect_eq(sl_job_distribution(job)->schedule, SL_SCHED_GUIDED);
    cr_expect_eq(sl_job_distribution(job)->chunk, 1000);
    sl_job_destroy(&job);
    job = parse_ok("distribution: {weights: [1, 1, 2]}\nstages:\n  - stage: a\n", "t.yaml");
    const sl_job_dist *w = sl_job_distribution(job);
    cr_assert_eq(w->nweights, 3);
    cr_expect_eq(w->weights[2], 2.0);
    cr_expect_str_eq(w->weights_origin, "t.yaml:1:25");
    sl_job_destroy(&job);
    job = parse_ok("distribution:\n  weights: 1, 3\n  route: least_outstanding\n"
                   "stages:\n  - stage: a\n", "t.yaml");
    cr_assert_eq(sl_job_distribution(job)->nweights, 2);
    cr_expect_eq(sl_job_distribution(job)->weights[1], 3.0);
    cr_expect_eq(sl_job_distribution(job)->route, SL_ROUTE_LEAST_OUTSTANDING);
    sl_job_destroy(&job);
}

Test(job_dist, unknown_key_and_shape_errors)
{
    cr_expect_str_eq(parse_fails("distribution:\n  shedule: dynamic\nstages:\n  - stage: a\n",
                                 SL_ENOTFOUND),
                     "t.yaml:2:3: distribution: unknown key 'shedule' (did you mean 'schedule'?)");
    cr_expect_str_eq(parse_fails("distrbution:\n  schedule: dynamic\nstages:\n  - stage: a\n",
                                 SL_ENOTFOUND),
                     "t.yaml:1:1: unknown key 'distrbution' (did you mean 'distribution'?)");
    cr_expect_str_eq(parse_fails("distribution: dynamic\nstages:\n  - stage: a\n", SL_EINVAL),
                     "t.yaml:1:15: distribution must be a mapping with the keys schedule, chunk, "
                     "weights, route, route_weights");
    cr_expect_str_eq(parse_fails("distribution:\n  chunk: [1]\nstages:\n  - stage: a\n",
                                 SL_EINVAL),
                     "t.yaml:2:10: distribution: chunk must be a value");
    cr_expect_str_eq(parse_fails("distribution:\n  weights: {a: 1}\nstages:\n  - stage: a\n",
                                 SL_EINVAL),
                     "t.yaml:2:12: distribution: weights must be a list of numbers");
    cr_expect_str_eq(parse_fails("distribution:\n  weights: [1, [2]]\nstages:\n  - stage: a\n",
                                 SL_EINVAL),
                     "t.yaml:2:16: distribution: weights item 2 must be a number");
    cr_expect_str_eq(parse_fails("distribution:\n  chunk: 1\n  chunk: 2\nstages:\n  - stage: a\n",
                                 SL_EEXIST),
                     "t.yaml:3:3: distribution: key 'chunk' appears twice (first at 2:10)");
}

Test(job_dist, value_errors_name_the_value_position)
{
    static const struct {
        const char *line;
        sl_status code;
        const char *msg;
    } cases[] = {
        {"  schedule: dynamc\n", SL_EINVAL,
         "t.yaml:2:13: distribution: schedule 'dynamc' is not static, dynamic or guided (did you "
         "mean 'dynamic'?)"},
        {"  schedule: fifo\n", SL_EINVAL,
         "t.yaml:2:13: distribution: schedule 'fifo' is not static, dynamic or guided"},
        {"  route: round-robin\n", SL_EINVAL,
         "t.yaml:2:10: distribution: route 'round-robin' is not round_robin, least_outstanding "
         "or weighted (did you mean 'round_robin'?)"},
        {"  chunk: 0\n", SL_ERANGE, "t.yaml:2:10: distribution: chunk '0' is below minimum 1"},
        {"  chunk: -4\n", SL_ERANGE, "t.yaml:2:10: distribution: chunk '-4' is below minimum 1"},
        {"  chunk: 1.5\n", SL_EINVAL, "t.yaml:2:10: distribution: chunk '1.5' is not an integer"},
        {"  chunk: four\n", SL_EINVAL,
         "t.yaml:2:10: distribution: chunk 'four' is not an integer"},
        {"  chunk: 1e20\n", SL_ERANGE,
         "t.yaml:2:10: distribution: chunk '1e20' exceeds maximum 18446744073709551615"},
        {"  weights: [1, 0, 2]\n", SL_ERANGE,
         "t.yaml:2:16: distribution: weights item 2 '0' is not positive"},
        {"  weights: [1, 2, -1]\n", SL_ERANGE,
         "t.yaml:2:19: distribution: weights item 3 '-1' is not positive"},
        {"  weights: [x]\n", SL_EINVAL,
         "t.yaml:2:13: distribution: weights item 1 'x' is not a number"},
        {"  weights: [inf]\n", SL_ERANGE,
         "t.yaml:2:13: distribution: weights item 1 'inf' is not a finite number"},
        {"  weights: []\n", SL_EINVAL,
         "t.yaml:2:12: distribution: weights is an empty list; leave it out for equal shares"},
        {"  weights: 1,,2\n", SL_EINVAL,
         "t.yaml:2:12: distribution: weights item 2 '' is not a number"},
        {"  route: weighted\n  route_weights: [1, 0]\n", SL_ERANGE,
         "t.yaml:3:22: distribution: route_weights item 2 '0' is not positive"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "distribution:\n%sstages:\n  - stage: a\n", cases[i].line);
        const char *msg = parse_fails(text, cases[i].code);
        cr_expect_str_eq(msg, cases[i].msg, "case %zu: %s", i, msg);
    }
}

Test(job_dist, contradictions_in_the_file_are_errors)
{
    cr_expect_str_eq(
        parse_fails("distribution:\n  schedule: dynamic\n  weights: [1, 2]\n"
                    "stages:\n  - stage: a\n", SL_EINVAL),
        "t.yaml:3:12: distribution: weights apply to schedule static only, but the schedule is "
        "dynamic (t.yaml:2:13)");
    cr_expect_str_eq(
        parse_fails("distribution:\n  weights: [1, 2]\n  chunk: 8\nstages:\n  - stage: a\n",
                    SL_EINVAL),
        "t.yaml:2:12: distribution: weights apply to static blocks, but chunk 8 (t.yaml:3:10) "
        "makes static deal out chunks round robin instead");
    cr_expect_str_eq(
        parse_fails("distribution:\n  route_weights: [1, 2]\nstages:\n  - stage: a\n", SL_EINVAL),
        "t.yaml:2:18: distribution: route_weights apply to route weighted only, but the route "
        "is round_robin (the default)");
    cr_expect_str_eq(
        parse_fails("distribution:\n  route: weighted\nstages:\n  - stage: a\n", SL_EINVAL),
        "t.yaml:2:10: distribution: route 'weighted' needs route_weights: one positive weight "
        "per rank of a receiving group");
}

Test(job_dist, command_line_setters_win_over_the_file)
{
    sl_job *job = parse_ok("distribution:\n  schedule: guided\n  chunk: 2\n"
                           "stages:\n  - stage: a\n", "t.yaml");
    sl_error err;
    cr_assert_eq(sl_job_set_schedule(job, "dynamic", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_job_set_chunk(job, "64K", &err), SL_OK, "%s", err.msg);
    const sl_job_dist *d = sl_job_distribution(job);
    cr_expect_eq(d->schedule, SL_SCHED_DYNAMIC);
    cr_expect_eq(d->chunk, 65536);
    cr_expect_str_eq(d->schedule_origin, "command line");
    cr_expect_str_eq(d->chunk_origin, "command line");
    cr_expect_str_eq(d->origin, "t.yaml:2:3"); /* the file's mapping is still where it starts */
    cr_assert_eq(sl_job_set_chunk(job, "1e3", &err), SL_OK, "%s", err.msg);
    cr_expect_eq(d->chunk, 1000);
    cr_assert_eq(sl_job_set_schedule(job, "static", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_job_set_chunk(job, "1", &err), SL_OK, "%s", err.msg);
    cr_expect_eq(d->schedule, SL_SCHED_STATIC);
    sl_job_destroy(&job);

    job = parse_ok("stages:\n  - stage: a\n", "t.yaml");
    cr_assert_eq(sl_job_set_weights(job, "1,1, 2.5", &err), SL_OK, "%s", err.msg);
    d = sl_job_distribution(job);
    cr_assert_eq(d->nweights, 3);
    cr_expect_eq(d->weights[0], 1.0);
    cr_expect_eq(d->weights[2], 2.5);
    cr_expect_str_eq(d->weights_origin, "command line");
    cr_expect_str_eq(d->origin, "command line");
    sl_job_destroy(&job);
}

Test(job_dist, command_line_errors_name_the_option_and_change_nothing)
{
    sl_job *job = parse_ok("distribution: {schedule: guided, chunk: 3}\nstages:\n  - stage: a\n",
                           "t.yaml");
    sl_error err;
    static const struct {
        sl_status (*set)(sl_job *, const char *, sl_error *);
        const char *text;
        sl_status code;
        const char *msg;
    } cases[] = {
        {sl_job_set_schedule, "dynamc", SL_EINVAL,
         "--schedule: 'dynamc' is not static, dynamic or guided (did you mean 'dynamic'?)"},
        {sl_job_set_schedule, "", SL_EINVAL, "--schedule: '' is not static, dynamic or guided"},
        {sl_job_set_chunk, "0", SL_ERANGE, "--chunk: '0' is below minimum 1"},
        {sl_job_set_chunk, "4 K", SL_EINVAL, "--chunk: '4 K' is not an integer"},
        {sl_job_set_chunk, "1e-1", SL_EINVAL, "--chunk: '1e-1' is not an integer"},
        {sl_job_set_weights, "1,0", SL_ERANGE, "--weights: item 2 '0' is not positive"},
        {sl_job_set_weights, "1 ,2", SL_EINVAL, "--weights: item 1 '1 ' is not a number"},
        {sl_job_set_weights, "1,", SL_EINVAL, "--weights: item 2 '' is not a number"},
        {sl_job_set_weights, "", SL_EINVAL,
         "--weights: '' lists no weights; leave it out for equal shares"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_error_clear(&err);
        cr_expect_eq(cases[i].set(job, cases[i].text, &err), cases[i].code, "case %zu", i);
        cr_expect_str_eq(err.msg, cases[i].msg, "case %zu: %s", i, err.msg);
    }
    const sl_job_dist *d = sl_job_distribution(job);
    cr_expect_eq(d->schedule, SL_SCHED_GUIDED);
    cr_expect_eq(d->chunk, 3);
    cr_expect_null(d->weights);
    cr_expect_str_eq(d->schedule_origin, "t.yaml:1:26");
    cr_expect_eq(sl_job_set_schedule(NULL, "static", &err), SL_EINVAL);
    cr_expect_eq(sl_job_set_chunk(job, NULL, &err), SL_EINVAL);
    sl_job_destroy(&job);
}

Test(job_dist, command_line_schedule_drops_the_files_weights_only)
{
    static const char file_weights[] = "distribution: {weights: [1, 3]}\nstages:\n  - stage: a\n";
    sl_job *job = parse_ok(file_weights, "t.yaml");
    sl_error err;
    cr_expect_eq(sl_job_set_schedule(job, "static", &err), SL_OK);
    cr_expect_eq(sl_job_distribution(job)->nweights, 2, "static keeps them");
    cr_assert_eq(sl_job_set_schedule(job, "dynamic", &err), SL_OK);
    cr_expect_null(sl_job_distribution(job)->weights);
    cr_expect_eq(sl_job_distribution(job)->nweights, 0);
    cr_expect_null(sl_job_distribution(job)->weights_origin);
    cr_expect_eq(sl_job_dist_check(job, 4, &err), SL_OK, "%s", err.msg);
    sl_job_destroy(&job);

    job = parse_ok(file_weights, "t.yaml");
    cr_assert_eq(sl_job_set_chunk(job, "16", &err), SL_OK);
    cr_expect_null(sl_job_distribution(job)->weights);
    sl_job_destroy(&job);

    /* Weights the command line gave are kept, so the mix is refused, in
     * either order of the options. */
    job = parse_ok("stages:\n  - stage: a\n", "t.yaml");
    cr_assert_eq(sl_job_set_weights(job, "1,3", &err), SL_OK);
    cr_assert_eq(sl_job_set_schedule(job, "dynamic", &err), SL_OK);
    cr_expect_eq(sl_job_distribution(job)->nweights, 2);
    cr_expect_eq(sl_job_dist_check(job, 2, &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "--weights apply to schedule static only, but the schedule is "
                              "dynamic (--schedule)");
    sl_job_destroy(&job);

    job = parse_ok("distribution: {schedule: dynamic}\nstages:\n  - stage: a\n", "t.yaml");
    cr_assert_eq(sl_job_set_weights(job, "1,3", &err), SL_OK);
    cr_expect_eq(sl_job_dist_check(job, 2, &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "--weights apply to schedule static only, but the schedule is "
                              "dynamic (t.yaml:1:26)");
    sl_job_destroy(&job);
}

Test(job_dist, check_wants_one_weight_per_rank)
{
    sl_job *job = parse_ok("distribution:\n  weights: [1, 1, 2]\nstages:\n  - stage: a\n",
                           "t.yaml");
    sl_error err;
    cr_expect_eq(sl_job_dist_check(job, 3, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_job_dist_check(job, 4, &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "t.yaml:2:12: distribution: weights has 3 entries, but the job "
                              "runs on 4 ranks; give one per rank");
    cr_assert_eq(sl_job_dist_check(job, 1, &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "t.yaml:2:12: distribution: weights has 3 entries, but the job "
                              "runs on 1 rank; give one per rank");
    cr_expect_eq(sl_job_dist_check(job, 0, &err), SL_EINVAL);
    cr_expect_eq(sl_job_dist_check(NULL, 3, &err), SL_EINVAL);
    sl_job_destroy(&job);
    job = parse_ok("stages:\n  - stage: a\n", "t.yaml");
    cr_expect_eq(sl_job_dist_check(job, 7, &err), SL_OK, "%s", err.msg);
    sl_job_destroy(&job);
}

Test(job_ranks, file_errors_name_the_value_position)
{
    static const struct {
        const char *value;
        sl_status code;
        const char *msg;
    } cases[] = {
        {"3-1", SL_EINVAL, "t.yaml:3:12: stage 'a': ranks '3-1': range 3-1 runs backwards"},
        {"\"0,2, 1-3\"", SL_EINVAL, "t.yaml:3:12: stage 'a': ranks '0,2, 1-3': rank 2 appears "
                                    "twice"},
        {"1,1", SL_EINVAL, "t.yaml:3:12: stage 'a': ranks '1,1': rank 1 appears twice"},
        {"-1", SL_ERANGE, "t.yaml:3:12: stage 'a': ranks '-1': a rank is never negative"},
        {"1--2", SL_ERANGE, "t.yaml:3:12: stage 'a': ranks '1--2': a rank is never negative"},
        {"ress", SL_EINVAL, "t.yaml:3:12: stage 'a': ranks 'ress' is not a rank list like 0, "
                            "1-3, 0,2,5-7, rest or all (did you mean 'rest'?)"},
        {"workers", SL_EINVAL, "t.yaml:3:12: stage 'a': ranks 'workers' is not a rank list like "
                               "0, 1-3, 0,2,5-7, rest or all"},
        {"1-", SL_EINVAL, "t.yaml:3:12: stage 'a': ranks '1-' is not a rank list like 0, 1-3, "
                          "0,2,5-7, rest or all"},
        {"\"1 ,2\"", SL_EINVAL, "t.yaml:3:12: stage 'a': ranks '1 ,2' is not a rank list like "
                                "0, 1-3, 0,2,5-7, rest or all"},
        {"\"1, \"", SL_EINVAL, "t.yaml:3:12: stage 'a': ranks '1, ' is not a rank list like 0, "
                               "1-3, 0,2,5-7, rest or all"},
        {"0x1", SL_EINVAL, "t.yaml:3:12: stage 'a': ranks '0x1' is not a rank list like 0, 1-3, "
                           "0,2,5-7, rest or all"},
        {"3000000000", SL_ERANGE, "t.yaml:3:12: stage 'a': ranks '3000000000': rank 3000000000 "
                                  "exceeds maximum 2147483646"},
        {"\"\"", SL_EINVAL, "t.yaml:3:12: stage 'a': ranks is empty; give a rank list like 0, "
                            "1-3, 0,2,5-7, rest or all"},
        {"[1, 2]", SL_EINVAL, "t.yaml:3:12: stage 'a': ranks must be a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "stages:\n  - stage: a\n    ranks: %s\n", cases[i].value);
        const char *msg = parse_fails(text, cases[i].code);
        cr_expect_str_eq(msg, cases[i].msg, "case %zu: %s", i, msg);
    }
    sl_job *job = parse_ok("stages:\n  - stage: a\n    ranks: 0,2, 5-7,  9\n  - stage: b\n"
                           "    ranks: all\n  - stage: c\n    ranks: rest\n", "t.yaml");
    cr_expect_str_eq(sl_job_stage_at(job, 0)->ranks, "0,2, 5-7,  9");
    cr_expect_str_eq(sl_job_stage_at(job, 1)->ranks, "all");
    cr_expect_str_eq(sl_job_stage_at(job, 2)->ranks, "rest");
    sl_job_destroy(&job);
}

Test(job_ranks, override_sets_ranks_like_the_file)
{
    sl_job *job = parse_ok(full_job, "jobs/full.yaml");
    sl_error err;
    cr_expect_not(sl_job_stage_mode(job));
    cr_assert_eq(sl_job_override(job, "p1.ranks=1-3", &err), SL_OK, "%s", err.msg);
    const sl_job_stage *b = sl_job_stage_at(job, 1);
    cr_expect_str_eq(b->ranks, "1-3");
    cr_expect_str_eq(b->ranks_origin, "command line");
    cr_expect_eq(b->nparams, 3, "ranks is a setting, not a parameter");
    cr_expect(sl_job_stage_mode(job));
    cr_assert_eq(sl_job_override(job, "p1.ranks=rest", &err), SL_OK, "%s", err.msg);
    cr_expect_str_eq(b->ranks, "rest");

    cr_assert_eq(sl_job_override(job, "p1.ranks=3-1", &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "command line: stage 'p1': ranks '3-1': range 3-1 runs backwards");
    cr_assert_eq(sl_job_override(job, "p1.ranks=al", &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "command line: stage 'p1': ranks 'al' is not a rank list like 0, "
                              "1-3, 0,2,5-7, rest or all (did you mean 'all'?)");
    cr_expect_str_eq(b->ranks, "rest", "a refused value changes nothing");
    sl_job_destroy(&job);

    job = parse_ok("stages:\n  - stage: a\n    ranks: 0\n", "t.yaml");
    cr_assert_eq(sl_job_override(job, "a.ranks=0,1", &err), SL_OK, "%s", err.msg);
    cr_expect_str_eq(sl_job_stage_at(job, 0)->ranks, "0,1");
    cr_expect_str_eq(sl_job_stage_at(job, 0)->ranks_origin, "command line");
    sl_job_destroy(&job);
}

Test(job, param_mapping_becomes_key_value_text)
{
    sl_job *job = parse_ok("stages:\n  - stage: h5source\n    params:\n"
                           "      columns: {a: /inputs/A, b: /inputs/B}\n"
                           "      odd: {k: \"/x=y\"}\n      none: {}\n",
                           "t.yaml");
    const sl_job_stage *st = sl_job_stage_at(job, 0);
    expect_param(st, "columns", "a=/inputs/A,b=/inputs/B", "t.yaml:4:16");
    expect_param(st, "odd", "k=/x=y", "t.yaml:5:12"); /* '=' in a value is kept */
    expect_param(st, "none", "", "t.yaml:6:13");
    sl_job_destroy(&job);

    const char *msg = parse_fails("stages:\n  - stage: a\n    params: {c: {a: /x, b: \"/y,z\"}}\n",
                                  SL_EINVAL);
    cr_expect_str_eq(msg, "t.yaml:3:28: stage 'a': parameter 'c': value '/y,z' of key 'b' may "
                          "not contain ','");
    msg = parse_fails("stages:\n  - stage: a\n    params: {c: {\"a=b\": /x}}\n", SL_EINVAL);
    cr_expect_str_eq(msg, "t.yaml:3:18: stage 'a': parameter 'c': key 'a=b' must be non-empty, "
                          "without ',' or '='");
    msg = parse_fails("stages:\n  - stage: a\n    params: {c: {\"a,b\": /x}}\n", SL_EINVAL);
    cr_expect(strstr(msg, "t.yaml:3:18: stage 'a': parameter 'c': key 'a,b'"), "%s", msg);
    msg = parse_fails("stages:\n  - stage: a\n    params: {c: {a: [/x]}}\n", SL_EINVAL);
    cr_expect_str_eq(msg, "t.yaml:3:21: stage 'a': parameter 'c': mapping keys and values must "
                          "be plain values");
    msg = parse_fails("stages:\n  - stage: a\n    params: {c: {a: /x, a: /y}}\n", SL_EEXIST);
    cr_expect_str_eq(msg, "t.yaml:3:25: stage 'a': parameter 'c': key 'a' appears twice");
}
