/* tests/unit/test_job_policy.c - the failure-policy keys of a job stage
 * (retries, backoff, on_error, timeout, rate, priority): exact values from
 * the file and the command line, the defaults, and one-line errors that
 * point at the value.
 *
 * Durations are compared with ==: 250ms must be exactly 0.25 and 2m exactly
 * 120, because the executor's retry schedule is checked against them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sluice/job.h>
#include <sluice/policy.h>

static sl_job *parse_ok(const char *text)
{
    sl_job *job = NULL;
    sl_error err;
    sl_error_clear(&err);
    cr_assert_eq(sl_job_parse(&job, text, strlen(text), "t.yaml", &err), SL_OK, "%s: %s", text,
                 err.msg);
    cr_assert_not_null(job);
    return job;
}

/* The policy of the only stage of "stages: [- stage: faulty + lines]". */
static sl_stage_policy policy_of(const char *lines)
{
    char text[512];
    snprintf(text, sizeof text, "stages:\n  - stage: faulty\n%s", lines);
    sl_job *job = parse_ok(text);
    sl_stage_policy p = sl_job_stage_at(job, 0)->policy;
    sl_job_destroy(&job);
    return p;
}

static void expect_policy_eq(const sl_stage_policy *got, const sl_stage_policy *want,
                             const char *what)
{
    cr_expect_eq(got->retries, want->retries, "%s: retries", what);
    cr_expect_eq(got->backoff_s, want->backoff_s, "%s: backoff_s %g", what, got->backoff_s);
    cr_expect_eq(got->backoff_factor, want->backoff_factor, "%s: backoff_factor %g", what,
                 got->backoff_factor);
    cr_expect_eq(got->backoff_cap_s, want->backoff_cap_s, "%s: backoff_cap_s %g", what,
                 got->backoff_cap_s);
    cr_expect_eq(got->on_error, want->on_error, "%s: on_error", what);
    cr_expect_eq(got->timeout_s, want->timeout_s, "%s: timeout_s %g", what, got->timeout_s);
    cr_expect_eq(got->rate, want->rate, "%s: rate %g", what, got->rate);
    cr_expect_eq(got->priority, want->priority, "%s: priority", what);
}

Test(job_policy, defaults_when_the_file_says_nothing)
{
    const sl_stage_policy def = SL_STAGE_POLICY_DEFAULT;
    sl_job *job = parse_ok("stages:\n  - stage: intervals\n  - stage: faulty\n    mode: serial\n"
                           "    params: {fail_seqs: 3}\n  - stage: sum\n    retries: 4\n");
    expect_policy_eq(&sl_job_stage_at(job, 0)->policy, &def, "stage 0");
    expect_policy_eq(&sl_job_stage_at(job, 1)->policy, &def, "stage 1");
    sl_stage_policy want = def;
    want.retries = 4;
    expect_policy_eq(&sl_job_stage_at(job, 2)->policy, &want, "stage 2: only retries");
    sl_job_destroy(&job);

    /* The literal values policy.h promises, so a changed macro is noticed. */
    cr_expect_eq(def.retries, 0);
    cr_expect_eq(def.backoff_s, 0.1);
    cr_expect_eq(def.backoff_factor, 2.0);
    cr_expect_eq(def.backoff_cap_s, 30.0);
    cr_expect_eq(def.on_error, SL_ON_ERROR_ABORT);
    cr_expect_eq(def.timeout_s, 0.0);
    cr_expect_eq(def.rate, 0.0);
    cr_expect_eq(def.priority, 0);
}

Test(job_policy, parses_every_key_exactly)
{
    sl_stage_policy p = policy_of("    retries: 3\n"
                                  "    backoff: {initial: 250ms, factor: 1.5, cap: 2m}\n"
                                  "    on_error: deadletter\n"
                                  "    timeout: 1h\n"
                                  "    rate: 2.5\n"
                                  "    priority: 1000\n");
    const sl_stage_policy want = {.retries = 3,
                                  .backoff_s = 0.25,
                                  .backoff_factor = 1.5,
                                  .backoff_cap_s = 120.0,
                                  .on_error = SL_ON_ERROR_DEADLETTER,
                                  .timeout_s = 3600.0,
                                  .rate = 2.5,
                                  .priority = 1000};
    expect_policy_eq(&p, &want, "flow mapping");

    /* The same as a block mapping, in another key order. */
    p = policy_of("    priority: 1000\n    rate: 2.5\n    timeout: 1h\n"
                  "    on_error: deadletter\n    backoff:\n      cap: 2m\n      factor: 1.5\n"
                  "      initial: 250ms\n    retries: 3\n");
    expect_policy_eq(&p, &want, "block mapping");
}

Test(job_policy, durations_in_every_unit)
{
    static const struct {
        const char *text;
        double seconds;
    } cases[] = {
        {"0", 0.0},        {"0.5", 0.5},      {"30", 30.0},        {"1e-3", 1e-3},
        {".5", 0.5},       {"2.", 2.0},       {"1E2", 100.0},      {"250ms", 0.25},
        {"1500ms", 1.5},   {"1e3ms", 1.0},    {"1.5s", 1.5},       {"0s", 0.0},
        {"2m", 120.0},     {"0.5m", 30.0},    {"1h", 3600.0},      {"1.5h", 5400.0},
        {"1e-9", 1e-9},    {"1e9", 1e9},      {"\"45s\"", 45.0},   {"1e-3ms", 1e-6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char lines[128];
        snprintf(lines, sizeof lines, "    timeout: %s\n    backoff: {initial: %s, cap: %s}\n",
                 cases[i].text, cases[i].text, cases[i].text);
        sl_stage_policy p = policy_of(lines);
        cr_expect_eq(p.timeout_s, cases[i].seconds, "%s: timeout_s %.17g", cases[i].text,
                     p.timeout_s);
        cr_expect_eq(p.backoff_s, cases[i].seconds, "%s: backoff_s %.17g", cases[i].text,
                     p.backoff_s);
        cr_expect_eq(p.backoff_cap_s, cases[i].seconds, "%s: backoff_cap_s", cases[i].text);
    }
}

Test(job_policy, backoff_scalar_sets_the_initial_delay_only)
{
    sl_stage_policy p = policy_of("    backoff: 250ms\n");
    sl_stage_policy want = SL_STAGE_POLICY_DEFAULT;
    want.backoff_s = 0.25;
    expect_policy_eq(&p, &want, "scalar");

    p = policy_of("    backoff: 0\n");
    want.backoff_s = 0.0;
    expect_policy_eq(&p, &want, "no delay");

    /* Any subset of the mapping; the rest keeps its default. */
    p = policy_of("    backoff: {factor: 3}\n");
    want = SL_STAGE_POLICY_DEFAULT;
    want.backoff_factor = 3.0;
    expect_policy_eq(&p, &want, "factor only");

    p = policy_of("    backoff: {cap: 1m}\n");
    want = SL_STAGE_POLICY_DEFAULT;
    want.backoff_cap_s = 60.0;
    expect_policy_eq(&p, &want, "cap only");

    p = policy_of("    backoff: {}\n");
    want = SL_STAGE_POLICY_DEFAULT;
    expect_policy_eq(&p, &want, "empty mapping");

    /* cap may equal initial, and factor its bounds. */
    p = policy_of("    backoff: {initial: 5s, factor: 1, cap: 5000ms}\n");
    cr_expect_eq(p.backoff_s, 5.0);
    cr_expect_eq(p.backoff_factor, 1.0);
    cr_expect_eq(p.backoff_cap_s, 5.0);
    p = policy_of("    backoff: {factor: 100}\n");
    cr_expect_eq(p.backoff_factor, 100.0);
}

Test(job_policy, on_error_rate_priority_and_timeout_values)
{
    static const struct {
        const char *word;
        sl_on_error value;
    } words[] = {{"abort", SL_ON_ERROR_ABORT},
                 {"skip", SL_ON_ERROR_SKIP},
                 {"deadletter", SL_ON_ERROR_DEADLETTER}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char lines[64];
        snprintf(lines, sizeof lines, "    on_error: %s\n", words[i].word);
        cr_expect_eq(policy_of(lines).on_error, words[i].value, "%s", words[i].word);
        cr_expect_str_eq(sl_on_error_name(words[i].value), words[i].word);
    }
    cr_expect_str_eq(sl_on_error_name((sl_on_error)42), "unknown");

    cr_expect_eq(policy_of("    rate: 2.5\n").rate, 2.5);
    cr_expect_eq(policy_of("    rate: 100\n").rate, 100.0);
    cr_expect_eq(policy_of("    rate: 1e3\n").rate, 1000.0);
    cr_expect_eq(policy_of("    rate: 0\n").rate, 0.0);
    cr_expect_eq(policy_of("    rate: 1e-9\n").rate, 1e-9);
    cr_expect_eq(policy_of("    rate: 1e9\n").rate, 1e9);
    cr_expect_eq(policy_of("    priority: 0\n").priority, 0);
    cr_expect_eq(policy_of("    priority: 7\n").priority, 7);
    cr_expect_eq(policy_of("    retries: 0\n").retries, 0);
    cr_expect_eq(policy_of("    retries: 1000\n").retries, 1000);
    cr_expect_eq(policy_of("    retries: 1e2\n").retries, 100);
    cr_expect_eq(policy_of("    timeout: 0\n").timeout_s, 0.0, "0 is allowed: no deadline");
}

/* Parses "stages: [- stage: faulty + lines]" expecting failure with `code`
 * and one line; returns the message. */
static const char *fails(const char *lines, sl_status code)
{
    static sl_error err;
    char text[512];
    snprintf(text, sizeof text, "stages:\n  - stage: faulty\n%s", lines);
    sl_job *job = NULL;
    sl_error_clear(&err);
    sl_status s = sl_job_parse(&job, text, strlen(text), "t.yaml", &err);
    cr_assert_eq(s, code, "%s: status %d, expected %d: %s", lines, s, code, err.msg);
    cr_assert_null(job);
    cr_assert_null(strchr(err.msg, '\n'), "message is not one line: %s", err.msg);
    return err.msg;
}

#define DUR_SYNTAX "(seconds, or a number with ms, s, m or h: 0.5, 250ms, 1.5s, 2m, 1h)"

Test(job_policy, file_errors_point_at_the_value)
{
    static const struct {
        const char *lines;
        sl_status code;
        const char *msg;
    } cases[] = {
        {"    retries: 1001\n", SL_ERANGE,
         "t.yaml:3:14: stage 'faulty': retries=1001 exceeds maximum 1000 (more is surely a typo)"},
        {"    retries: -1\n", SL_ERANGE,
         "t.yaml:3:14: stage 'faulty': retries=-1 is below minimum 0"},
        {"    retries: two\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': retries='two' is not an integer"},
        {"    retries: 1.5\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': retries='1.5' is not an integer"},
        {"    retries: [1]\n", SL_EINVAL, "t.yaml:3:14: stage 'faulty': retries must be a value"},
        {"    priority: 1001\n", SL_ERANGE,
         "t.yaml:3:15: stage 'faulty': priority=1001 exceeds maximum 1000"},
        {"    priority: -3\n", SL_ERANGE,
         "t.yaml:3:15: stage 'faulty': priority=-3 is below minimum 0"},
        {"    on_error: abrot\n", SL_EINVAL,
         "t.yaml:3:15: stage 'faulty': on_error='abrot' is not one of abort|skip|deadletter "
         "(did you mean 'abort'?)"},
        {"    on_error: Skip\n", SL_EINVAL,
         "t.yaml:3:15: stage 'faulty': on_error='Skip' is not one of abort|skip|deadletter "
         "(did you mean 'skip'?)"},
        {"    on_error: retry\n", SL_EINVAL,
         "t.yaml:3:15: stage 'faulty': on_error='retry' is not one of abort|skip|deadletter"},
        {"    timeout: -5\n", SL_ERANGE, "t.yaml:3:14: stage 'faulty': timeout=-5 is negative"},
        {"    timeout: -1ms\n", SL_ERANGE, "t.yaml:3:14: stage 'faulty': timeout=-1ms is negative"},
        {"    timeout: .nan\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': timeout='.nan' is not a duration " DUR_SYNTAX},
        {"    timeout: nan\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': timeout='nan' is not a duration " DUR_SYNTAX},
        {"    timeout: inf\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': timeout='inf' is not a duration " DUR_SYNTAX},
        {"    timeout: 5 min\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': timeout='5 min' is not a duration " DUR_SYNTAX},
        {"    timeout: 1d\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': timeout='1d' is not a duration " DUR_SYNTAX},
        {"    timeout: 2M\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': timeout='2M' is not a duration " DUR_SYNTAX},
        {"    timeout: 0x10\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': timeout='0x10' is not a duration " DUR_SYNTAX},
        {"    timeout: +5\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': timeout='+5' is not a duration " DUR_SYNTAX},
        {"    timeout: 1es\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': timeout='1es' is not a duration " DUR_SYNTAX},
        {"    timeout: \"\"\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': timeout='' is not a duration " DUR_SYNTAX},
        {"    timeout: 1e10\n", SL_ERANGE,
         "t.yaml:3:14: stage 'faulty': timeout=1e10 exceeds maximum 1e9s"},
        {"    timeout: 300000h\n", SL_ERANGE,
         "t.yaml:3:14: stage 'faulty': timeout=300000h exceeds maximum 1e9s"},
        {"    timeout: 1e400\n", SL_ERANGE,
         "t.yaml:3:14: stage 'faulty': timeout=1e400 exceeds maximum 1e9s"},
        {"    timeout: 1e-12\n", SL_ERANGE,
         "t.yaml:3:14: stage 'faulty': timeout=1e-12 is nonzero but below minimum 1e-9s"},
        {"    timeout: 1e-400\n", SL_ERANGE,
         "t.yaml:3:14: stage 'faulty': timeout=1e-400 is nonzero but below minimum 1e-9s"},
        {"    rate: -1\n", SL_ERANGE, "t.yaml:3:11: stage 'faulty': rate=-1 is below minimum 0"},
        {"    rate: fast\n", SL_EINVAL, "t.yaml:3:11: stage 'faulty': rate='fast' is not a number"},
        {"    rate: nan\n", SL_ERANGE,
         "t.yaml:3:11: stage 'faulty': rate='nan' is not a finite number"},
        {"    rate: inf\n", SL_ERANGE,
         "t.yaml:3:11: stage 'faulty': rate='inf' is not a finite number"},
        {"    rate: 2e9\n", SL_ERANGE, "t.yaml:3:11: stage 'faulty': rate=2e9 exceeds maximum 1e9"},
        {"    rate: 1e-10\n", SL_ERANGE,
         "t.yaml:3:11: stage 'faulty': rate=1e-10 is nonzero but below minimum 1e-9 (0 means no "
         "limit)"},
        {"    backoff: -1\n", SL_ERANGE, "t.yaml:3:14: stage 'faulty': backoff=-1 is negative"},
        {"    backoff: soon\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': backoff='soon' is not a duration " DUR_SYNTAX},
        {"    backoff: [1]\n", SL_EINVAL,
         "t.yaml:3:14: stage 'faulty': backoff must be a duration or a mapping with the keys "
         "initial, factor, cap"},
        {"    backoff: 60\n", SL_ERANGE,
         "t.yaml:3:14: stage 'faulty': backoff.initial=60s exceeds backoff.cap=30s (the "
         "default)"},
        {"    backoff: {factor: 0.5}\n", SL_ERANGE,
         "t.yaml:3:23: stage 'faulty': backoff.factor=0.5 is below minimum 1"},
        {"    backoff: {factor: 101}\n", SL_ERANGE,
         "t.yaml:3:23: stage 'faulty': backoff.factor=101 exceeds maximum 100"},
        {"    backoff: {factor: nan}\n", SL_ERANGE,
         "t.yaml:3:23: stage 'faulty': backoff.factor='nan' is not a finite number"},
        {"    backoff: {facter: 3}\n", SL_ENOTFOUND,
         "t.yaml:3:15: stage 'faulty': backoff: unknown key 'facter' (did you mean 'factor'?)"},
        {"    backoff: {jitter: 3}\n", SL_ENOTFOUND,
         "t.yaml:3:15: stage 'faulty': backoff: unknown key 'jitter' (expected one of: initial, "
         "factor, cap)"},
        {"    backoff: {cap: 1, cap: 2}\n", SL_EEXIST,
         "t.yaml:3:23: stage 'faulty': backoff: key 'cap' appears twice (first at 3:20)"},
        {"    backoff: {cap: [1]}\n", SL_EINVAL,
         "t.yaml:3:20: stage 'faulty': backoff.cap must be a value"},
        {"    backoff: {cap: -1}\n", SL_ERANGE,
         "t.yaml:3:20: stage 'faulty': backoff.cap=-1 is negative"},
        {"    backoff: {initial: 1e-10}\n", SL_ERANGE,
         "t.yaml:3:24: stage 'faulty': backoff.initial=1e-10 is nonzero but below minimum 1e-9s"},
        {"    backoff: {initial: 5, cap: 2}\n", SL_ERANGE,
         "t.yaml:3:32: stage 'faulty': backoff.cap=2s is below backoff.initial=5s (t.yaml:3:24)"},
        {"    backoff: {cap: 50ms}\n", SL_ERANGE,
         "t.yaml:3:20: stage 'faulty': backoff.cap=0.05s is below backoff.initial=0.1s (the "
         "default)"},
        {"    backoff: {initial: 1m, factor: 3}\n", SL_ERANGE,
         "t.yaml:3:24: stage 'faulty': backoff.initial=60s exceeds backoff.cap=30s (the "
         "default)"},
        {"    backoff:\n      cap: 1\n      initial: 2\n", SL_ERANGE,
         "t.yaml:4:12: stage 'faulty': backoff.cap=1s is below backoff.initial=2s (t.yaml:5:16)"},
        {"    retires: 3\n", SL_ENOTFOUND,
         "t.yaml:3:5: stage entry: unknown key 'retires' (did you mean 'retries'?)"},
        {"    on-error: skip\n", SL_ENOTFOUND,
         "t.yaml:3:5: stage entry: unknown key 'on-error' (did you mean 'on_error'?)"},
        {"    timeout: 1\n    timeout: 2\n", SL_EEXIST,
         "t.yaml:4:5: stage entry: key 'timeout' appears twice (first at 3:14)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *msg = fails(cases[i].lines, cases[i].code);
        cr_expect_str_eq(msg, cases[i].msg, "case %zu: %s", i, msg);
    }
}

Test(job_policy, errors_name_the_instance_not_the_plugin)
{
    const char *msg = fails("    name: flaky\n    retries: 5000\n", SL_ERANGE);
    cr_expect_str_eq(msg, "t.yaml:4:14: stage 'flaky': retries=5000 exceeds maximum 1000 (more "
                          "is surely a typo)");
}

static const char two_stages[] = "stages:\n  - stage: faulty\n    retries: 2\n"
                                 "    on_error: skip\n  - stage: sum\n";

Test(job_policy, overrides_set_every_key)
{
    sl_job *job = parse_ok(two_stages);
    sl_error err;
    static const char *const sets[] = {
        "faulty.retries=5",      "faulty.backoff=250ms",       "faulty.backoff.factor=1.5",
        "faulty.backoff.cap=2m", "faulty.on_error=deadletter", "faulty.timeout=1h",
        "faulty.rate=2.5",       "faulty.priority=7",
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        cr_assert_eq(sl_job_override(job, sets[i], &err), SL_OK, "%s: %s", sets[i], err.msg);
    const sl_job_stage *st = sl_job_stage_at(job, 0);
    const sl_stage_policy want = {.retries = 5,
                                  .backoff_s = 0.25,
                                  .backoff_factor = 1.5,
                                  .backoff_cap_s = 120.0,
                                  .on_error = SL_ON_ERROR_DEADLETTER,
                                  .timeout_s = 3600.0,
                                  .rate = 2.5,
                                  .priority = 7};
    expect_policy_eq(&st->policy, &want, "after overrides");
    cr_expect_eq(st->nparams, 0, "policy keys are settings, not parameters");
    const sl_stage_policy def = SL_STAGE_POLICY_DEFAULT;
    expect_policy_eq(&sl_job_stage_at(job, 1)->policy, &def, "the other stage");

    cr_assert_eq(sl_job_override(job, "faulty.backoff.initial=1s", &err), SL_OK, "%s", err.msg);
    cr_expect_eq(st->policy.backoff_s, 1.0);
    cr_assert_eq(sl_job_override(job, "faulty.timeout=0", &err), SL_OK, "%s", err.msg);
    cr_expect_eq(st->policy.timeout_s, 0.0);
    cr_assert_eq(sl_job_override(job, "faulty.rate=0", &err), SL_OK, "%s", err.msg);
    cr_expect_eq(st->policy.rate, 0.0);
    cr_assert_eq(sl_job_override(job, "faulty.on_error=abort", &err), SL_OK, "%s", err.msg);
    cr_expect_eq(st->policy.on_error, SL_ON_ERROR_ABORT);
    cr_assert_eq(sl_job_override(job, "sum.retries=1e3", &err), SL_OK, "%s", err.msg);
    cr_expect_eq(sl_job_stage_at(job, 1)->policy.retries, 1000);
    sl_job_destroy(&job);
}

Test(job_policy, refused_overrides_change_nothing)
{
    sl_job *job = parse_ok(two_stages);
    sl_error err;
    cr_assert_eq(sl_job_override(job, "faulty.backoff=1s", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_job_override(job, "faulty.backoff.cap=2m", &err), SL_OK, "%s", err.msg);
    const sl_job_stage *st = sl_job_stage_at(job, 0);
    const sl_stage_policy before = st->policy;
    cr_expect_eq(before.retries, 2);
    cr_expect_eq(before.on_error, SL_ON_ERROR_SKIP);
    static const struct {
        const char *assignment;
        sl_status code;
        const char *msg;
    } cases[] = {
        {"faulty.retries=1001", SL_ERANGE,
         "command line: stage 'faulty': retries=1001 exceeds maximum 1000 (more is surely a "
         "typo)"},
        {"faulty.retries=x", SL_EINVAL, "command line: stage 'faulty': retries='x' is not an "
                                        "integer"},
        {"faulty.backoff=-1", SL_ERANGE, "command line: stage 'faulty': backoff=-1 is negative"},
        {"faulty.backoff={initial: 1}", SL_EINVAL,
         "command line: stage 'faulty': backoff='{initial: 1}' is not a duration " DUR_SYNTAX},
        {"faulty.backoff=3m", SL_ERANGE,
         "command line: stage 'faulty': backoff.initial=180s exceeds backoff.cap=120s (raise "
         "backoff.cap first)"},
        {"faulty.backoff.initial=3m", SL_ERANGE,
         "command line: stage 'faulty': backoff.initial=180s exceeds backoff.cap=120s (raise "
         "backoff.cap first)"},
        {"faulty.backoff.cap=500ms", SL_ERANGE,
         "command line: stage 'faulty': backoff.cap=0.5s is below backoff.initial=1s (lower "
         "backoff.initial first)"},
        {"faulty.backoff.factor=0.5", SL_ERANGE,
         "command line: stage 'faulty': backoff.factor=0.5 is below minimum 1"},
        {"faulty.backoff.factr=3", SL_ENOTFOUND,
         "command line: stage 'faulty': unknown key 'backoff.factr' (did you mean "
         "'backoff.factor'?)"},
        {"faulty.backoff.jitter=3", SL_ENOTFOUND,
         "command line: stage 'faulty': unknown key 'backoff.jitter' (backoff.initial, "
         "backoff.factor and backoff.cap are the backoff keys)"},
        {"faulty.on_error=ignore", SL_EINVAL,
         "command line: stage 'faulty': on_error='ignore' is not one of abort|skip|deadletter"},
        {"faulty.on_error=dedletter", SL_EINVAL,
         "command line: stage 'faulty': on_error='dedletter' is not one of "
         "abort|skip|deadletter (did you mean 'deadletter'?)"},
        {"faulty.timeout=5x", SL_EINVAL,
         "command line: stage 'faulty': timeout='5x' is not a duration " DUR_SYNTAX},
        {"faulty.timeout=inf", SL_EINVAL,
         "command line: stage 'faulty': timeout='inf' is not a duration " DUR_SYNTAX},
        {"faulty.timeout=-2s", SL_ERANGE, "command line: stage 'faulty': timeout=-2s is negative"},
        {"faulty.rate=-2", SL_ERANGE, "command line: stage 'faulty': rate=-2 is below minimum 0"},
        {"faulty.rate=nan", SL_ERANGE,
         "command line: stage 'faulty': rate='nan' is not a finite number"},
        {"faulty.priority=1e4", SL_ERANGE,
         "command line: stage 'faulty': priority=1e4 exceeds maximum 1000"},
        {"faulty.priority=high", SL_EINVAL,
         "command line: stage 'faulty': priority='high' is not an integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_error_clear(&err);
        cr_expect_eq(sl_job_override(job, cases[i].assignment, &err), cases[i].code, "%s: %s",
                     cases[i].assignment, err.msg);
        cr_expect_str_eq(err.msg, cases[i].msg, "case %zu: %s", i, err.msg);
        expect_policy_eq(&st->policy, &before, cases[i].assignment);
        cr_expect_eq(st->nparams, 0, "%s became a parameter", cases[i].assignment);
    }
    /* Each override is checked alone: raising both, the cap goes first. */
    cr_assert_eq(sl_job_override(job, "faulty.backoff.cap=10m", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_job_override(job, "faulty.backoff=3m", &err), SL_OK, "%s", err.msg);
    cr_expect_eq(st->policy.backoff_s, 180.0);
    cr_expect_eq(st->policy.backoff_cap_s, 600.0);
    sl_job_destroy(&job);
}

Test(job_policy, a_loaded_file_names_its_path)
{
    char path[] = "/tmp/sluice_test_policy_XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    fputs("stages:\n  - stage: faulty\n    backoff: {initial: 1, factor: 0.5}\n", f);
    fclose(f);
    sl_job *job = NULL;
    sl_error err;
    sl_status s = sl_job_load(&job, path, &err);
    unlink(path);
    cr_assert_eq(s, SL_ERANGE, "%s", err.msg);
    cr_expect_null(job);
    char want[160];
    snprintf(want, sizeof want, "%s:3:35: stage 'faulty': backoff.factor=0.5 is below minimum 1",
             path);
    cr_expect_str_eq(err.msg, want);
}
