/* tests/unit/test_job.c - job files: structure, positions in messages, overrides.
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
                          "threads, stages)");
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

    const char *msg = parse_fails("stages:\n  - stage: a\n    params: {x: {y: 1}}\n", SL_EINVAL);
    cr_expect_str_eq(msg, "t.yaml:3:17: stage 'a': parameter 'x' must be a value or a list of "
                          "values, not a mapping");
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
