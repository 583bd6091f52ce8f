/* tests/unit/test_param.c - parameter text parsing, checks, messages and listing.
 *
 * The integer table pins down the exact grammar (scientific notation done on
 * digits, binary suffixes, '_', hex, the int64/uint64 edges); the rest checks
 * that every refusal says where, what, the value and the limit. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <sluice/param.h>

typedef struct int_case {
    const char *text;
    sl_status st; /* SL_OK, SL_EINVAL (not an integer) or SL_ERANGE */
    uint64_t value;
} int_case;

static const int_case uint_cases[] = {
    {"0", SL_OK, 0},
    {"42", SL_OK, 42},
    {"+7", SL_OK, 7},
    {"007", SL_OK, 7},
    {"1_000_000", SL_OK, 1000000},
    {"0x10", SL_OK, 16},
    {"0XfF", SL_OK, 255},
    {"0xdead_beef", SL_OK, 0xdeadbeef},
    {"0xffffffffffffffff", SL_OK, UINT64_MAX},
    {"0x1_0000_0000_0000_0000", SL_ERANGE, 0},
    {"1e10", SL_OK, 10000000000ull},
    {"1E3", SL_OK, 1000},
    {"2.5e3", SL_OK, 2500},
    {"1.25e2", SL_OK, 125},
    {"1e+2", SL_OK, 100},
    {"1000e-3", SL_OK, 1},
    {"0.5e1", SL_OK, 5},
    {"1e19", SL_OK, 10000000000000000000ull},
    {"1e20", SL_ERANGE, 0},
    {"1.8446744073709551615e19", SL_OK, UINT64_MAX},
    {"1.8446744073709551616e19", SL_ERANGE, 0},
    {"0e999999999", SL_OK, 0},
    {"1e999999999", SL_ERANGE, 0},
    {"64K", SL_OK, 65536},
    {"64k", SL_OK, 65536},
    {"1M", SL_OK, 1048576},
    {"1m", SL_OK, 1048576},
    {"2G", SL_OK, 2147483648ull},
    {"1T", SL_OK, 1ull << 40},
    {"1P", SL_OK, 1ull << 50},
    {"1E", SL_OK, 1ull << 60},
    {"15E", SL_OK, 15ull << 60},
    {"16E", SL_ERANGE, 0},
    {"1.5K", SL_OK, 1536},
    {"1e3K", SL_OK, 1024000},
    {"0.1K", SL_EINVAL, 0},
    {"18446744073709551615", SL_OK, UINT64_MAX},
    {"18446744073709551616", SL_ERANGE, 0},
    {"99999999999999999999999", SL_ERANGE, 0},
    {"1.5", SL_EINVAL, 0},
    {"1e-3", SL_EINVAL, 0},
    {"0.5", SL_EINVAL, 0},
    {"", SL_EINVAL, 0},
    {"abc", SL_EINVAL, 0},
    {" 5", SL_EINVAL, 0},
    {"5 ", SL_EINVAL, 0},
    {"_1", SL_EINVAL, 0},
    {"1_", SL_EINVAL, 0},
    {"1__0", SL_EINVAL, 0},
    {"0x", SL_EINVAL, 0},
    {"0x10K", SL_EINVAL, 0},
    {"64KB", SL_EINVAL, 0},
    {"1e+", SL_EINVAL, 0},
    {"K", SL_EINVAL, 0},
    {"-1", SL_ERANGE, 0},
    {"-0", SL_ERANGE, 0},
};

Test(param, parses_uint_table_exactly)
{
    for (size_t i = 0; i < sizeof uint_cases / sizeof uint_cases[0]; i++) {
        const int_case *c = &uint_cases[i];
        sl_error err;
        sl_error_clear(&err);
        uint64_t v = 12345;
        sl_status s = sl_parse_uint(c->text, "n", &v, &err);
        cr_expect_eq(s, c->st, "'%s': status %d, expected %d (%s)", c->text, s, c->st, err.msg);
        if (c->st == SL_OK)
            cr_expect_eq(v, c->value, "'%s' = %" PRIu64 ", expected %" PRIu64, c->text, v,
                         c->value);
        else
            cr_expect_eq(v, 12345, "'%s': output written on failure", c->text);
    }
}

Test(param, parses_int_table_exactly)
{
    static const struct {
        const char *text;
        sl_status st;
        int64_t value;
    } cases[] = {
        {"-5", SL_OK, -5},
        {"-64K", SL_OK, -65536},
        {"-2.5e3", SL_OK, -2500},
        {"-0x10", SL_OK, -16},
        {"9223372036854775807", SL_OK, INT64_MAX},
        {"9223372036854775808", SL_ERANGE, 0},
        {"-9223372036854775808", SL_OK, INT64_MIN},
        {"-9223372036854775809", SL_ERANGE, 0},
        {"0x7fffffffffffffff", SL_OK, INT64_MAX},
        {"-0x8000000000000000", SL_OK, INT64_MIN},
        {"7E", SL_OK, 7ll << 60},
        {"8E", SL_ERANGE, 0},
        {"-8E", SL_OK, INT64_MIN},
        {"-1e-3", SL_EINVAL, 0},
        {"--1", SL_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_error err;
        sl_error_clear(&err);
        int64_t v = 0;
        sl_status s = sl_parse_int(cases[i].text, "n", &v, &err);
        cr_expect_eq(s, cases[i].st, "'%s': status %d (%s)", cases[i].text, s, err.msg);
        if (cases[i].st == SL_OK)
            cr_expect_eq(v, cases[i].value, "'%s' = %" PRId64, cases[i].text, v);
    }
}

Test(param, integer_messages_name_what_value_and_limit)
{
    sl_error err;
    int64_t i;
    uint64_t u;
    cr_assert_eq(sl_parse_int("1.5", "width", &i, &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "width='1.5' is not an integer");
    cr_assert_eq(sl_parse_int("9223372036854775808", "width", &i, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "width='9223372036854775808' exceeds maximum 9223372036854775807");
    cr_assert_eq(sl_parse_int("-1e19", "width", &i, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "width='-1e19' is below minimum -9223372036854775808");
    cr_assert_eq(sl_parse_uint("18446744073709551616", "n", &u, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "n='18446744073709551616' exceeds maximum 18446744073709551615");
    cr_assert_eq(sl_parse_uint("-3", "n", &u, &err), SL_ERANGE);
    cr_expect(strstr(err.msg, "n='-3' is negative"), "%s", err.msg);
}

Test(param, parses_floats)
{
    static const struct {
        const char *text;
        double value;
    } ok[] = {{"0.5", 0.5}, {"-2.25", -2.25}, {"1e10", 1e10}, {"1e-3", 1e-3},
              {"64K", 65536.0}, {"-1M", -1048576.0}, {"1_000", 1000.0}, {"0x10", 16.0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        double v = -1;
        sl_error err;
        cr_expect_eq(sl_parse_float(ok[i].text, "f", &v, &err), SL_OK, "'%s': %s", ok[i].text,
                     err.msg);
        cr_expect_eq(v, ok[i].value, "'%s' = %.17g", ok[i].text, v);
    }
    static const char *const bad[] = {"", "abc", "1.5x", "nan", "inf", "-inf", "1e400", " 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = 0;
        sl_error err;
        cr_expect_neq(sl_parse_float(bad[i], "f", &v, &err), SL_OK, "'%s' accepted", bad[i]);
        cr_expect(strstr(err.msg, "f='"), "'%s': %s", bad[i], err.msg);
    }
    sl_error err;
    double v;
    sl_parse_float("nan", "cutoff", &v, &err);
    cr_expect_str_eq(err.msg, "cutoff='nan' is not a finite number");
}

Test(param, parses_bools_case_insensitively)
{
    static const char *const yes[] = {"true", "TRUE", "Yes", "on", "ON", "1"};
    static const char *const no[] = {"false", "False", "no", "NO", "off", "0"};
    sl_error err;
    for (size_t i = 0; i < 6; i++) {
        bool b = false;
        cr_expect_eq(sl_parse_bool(yes[i], "b", &b, &err), SL_OK);
        cr_expect(b, "%s", yes[i]);
        b = true;
        cr_expect_eq(sl_parse_bool(no[i], "b", &b, &err), SL_OK);
        cr_expect(!b, "%s", no[i]);
    }
    bool b;
    cr_assert_eq(sl_parse_bool("maybe", "twins", &b, &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "twins='maybe' is not a boolean (true/false, yes/no, on/off, 1/0)");
    cr_expect_neq(sl_parse_bool("2", "b", &b, &err), SL_OK);
    cr_expect_neq(sl_parse_bool("", "b", &b, &err), SL_OK);
}

/* A stage table using every type. */
static const sl_param_spec primes_spec[] = {
    SL_PARAM_UINT("width", 100, 1, 64, "Numbers per batch"),
    SL_PARAM_INT("offset", -3, -10, 10, "Shift"),
    SL_PARAM_FLOAT("cutoff", 0.9, 0.0, 1.0, "Fraction"),
    SL_PARAM_BOOL("twins", false, "Count twin primes"),
    SL_PARAM_STRING("label", "primes", "Dataset name"),
    SL_PARAM_ENUM("store", "digits", "digits|full", "What to keep"),
    SL_PARAM_UINT("start", 0, 0, UINT64_MAX, "First number"),
    SL_PARAM_INT("any", 0, 0, 0, "Unbounded"),
    SL_PARAM_END,
};

/* width's default 100 is above its max 64: create must refuse the table. */
Test(param, refuses_table_whose_default_is_out_of_range)
{
    sl_params *p = NULL;
    sl_error err;
    cr_assert_eq(sl_params_create(&p, primes_spec, "primes", &err), SL_ERANGE);
    cr_expect_null(p);
    cr_expect(strstr(err.msg, "stage 'primes': parameter 'width'=100 exceeds maximum 64"), "%s",
              err.msg);
}

static const sl_param_spec good_spec[] = {
    SL_PARAM_UINT("width", 8, 1, 64, "Numbers per batch"),
    SL_PARAM_INT("offset", -3, -10, 10, "Shift"),
    SL_PARAM_FLOAT("cutoff", 0.9, 0.0, 1.0, "Fraction"),
    SL_PARAM_BOOL("twins", false, "Count twin primes"),
    SL_PARAM_STRING("label", "primes", "Dataset name"),
    SL_PARAM_ENUM("store", "digits", "digits|full", "What to keep"),
    SL_PARAM_UINT("start", 0, 0, UINT64_MAX, "First number"),
    SL_PARAM_INT("any", 0, 0, 0, "Unbounded"),
    SL_PARAM_END,
};

static sl_params *make(void)
{
    sl_params *p = NULL;
    sl_error err;
    cr_assert_eq(sl_params_create(&p, good_spec, "primes", &err), SL_OK, "%s", err.msg);
    return p;
}

Test(param, create_holds_defaults_unset)
{
    sl_params *p = make();
    cr_expect_eq(sl_params_uint(p, "width"), 8);
    cr_expect_eq(sl_params_int(p, "offset"), -3);
    cr_expect_eq(sl_params_float(p, "cutoff"), 0.9);
    cr_expect_eq(sl_params_bool(p, "twins"), false);
    cr_expect_str_eq(sl_params_str(p, "label"), "primes");
    cr_expect_str_eq(sl_params_str(p, "store"), "digits");
    cr_expect_not(sl_params_is_set(p, "width"));
    cr_expect_eq(sl_params_spec(p), good_spec);
    cr_expect_str_eq(sl_params_owner(p), "primes");
    sl_params_destroy(&p);
    cr_expect_null(p);
    sl_params_destroy(&p);
    sl_params_destroy(NULL);
}

Test(param, set_stores_typed_values)
{
    sl_params *p = make();
    sl_error err;
    cr_assert_eq(sl_params_set(p, "width", "0x20", "f.yaml:1:1", &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_params_set(p, "offset", "-1e1", NULL, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_params_set(p, "cutoff", "0.25", NULL, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_params_set(p, "twins", "yes", NULL, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_params_set(p, "label", "My Label", NULL, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_params_set(p, "store", "full", NULL, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_params_set(p, "start", "1e19", NULL, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_params_set(p, "any", "-9223372036854775808", NULL, &err), SL_OK);
    cr_expect_eq(sl_params_uint(p, "width"), 32);
    cr_expect_eq(sl_params_int(p, "offset"), -10);
    cr_expect_eq(sl_params_float(p, "cutoff"), 0.25);
    cr_expect(sl_params_bool(p, "twins"));
    cr_expect_str_eq(sl_params_str(p, "label"), "My Label");
    cr_expect_str_eq(sl_params_str(p, "store"), "full");
    cr_expect_eq(sl_params_uint(p, "start"), 10000000000000000000ull);
    cr_expect_eq(sl_params_int(p, "any"), INT64_MIN);
    cr_expect(sl_params_is_set(p, "width"));
    cr_expect(sl_params_is_set(p, "cutoff"));
    sl_params_destroy(&p);
}

Test(param, range_errors_name_origin_stage_value_and_limit)
{
    sl_params *p = make();
    sl_error err;
    cr_assert_eq(sl_params_set(p, "width", "0", "jobs/x.yaml:12:9", &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "jobs/x.yaml:12:9: stage 'primes': parameter 'width'=0 is below "
                              "minimum 1");
    cr_assert_eq(sl_params_set(p, "width", "64K", "command line", &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "command line: stage 'primes': parameter 'width'=64K (65536) "
                              "exceeds maximum 64");
    cr_assert_eq(sl_params_set(p, "cutoff", "1.5", NULL, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "stage 'primes': parameter 'cutoff'=1.5 exceeds maximum 1");
    cr_assert_eq(sl_params_set(p, "offset", "-11", NULL, &err), SL_ERANGE);
    cr_expect_str_eq(err.msg, "stage 'primes': parameter 'offset'=-11 is below minimum -10");
    cr_assert_eq(sl_params_set(p, "width", "2.5", "f:1:2", &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "f:1:2: stage 'primes': parameter 'width'='2.5' is not an integer");
    /* A failed set leaves the old value and the unset flag alone. */
    cr_expect_eq(sl_params_uint(p, "width"), 8);
    cr_expect_not(sl_params_is_set(p, "width"));
    sl_params_destroy(&p);
}

Test(param, enum_must_be_one_of_choices)
{
    sl_params *p = make();
    sl_error err;
    cr_assert_eq(sl_params_set(p, "store", "half", "command line", &err), SL_EINVAL);
    cr_expect_str_eq(err.msg, "command line: stage 'primes': parameter 'store'='half' is not one "
                              "of digits|full");
    cr_assert_eq(sl_params_set(p, "store", "ful", NULL, &err), SL_EINVAL);
    cr_expect(strstr(err.msg, "is not one of digits|full (did you mean 'full'?)"), "%s", err.msg);
    cr_assert_eq(sl_params_set(p, "store", "dig", NULL, &err), SL_EINVAL); /* no prefixes */
    cr_expect_str_eq(sl_params_str(p, "store"), "digits");
    sl_params_destroy(&p);
}

Test(param, unknown_key_suggests_nearest_or_lists)
{
    sl_params *p = make();
    sl_error err;
    cr_assert_eq(sl_params_set(p, "twin", "1", "jobs/x.yaml:3:5", &err), SL_ENOTFOUND);
    cr_expect_str_eq(err.msg, "jobs/x.yaml:3:5: stage 'primes': unknown parameter 'twin' (did "
                              "you mean 'twins'?)");
    cr_assert_eq(sl_params_set(p, "zzzzzzz", "1", NULL, &err), SL_ENOTFOUND);
    cr_expect_str_eq(err.msg, "stage 'primes': unknown parameter 'zzzzzzz' (it has: width, "
                              "offset, cutoff, twins, label, store, start, any)");
    sl_params_destroy(&p);

    cr_assert_eq(sl_params_create(&p, NULL, "sink", &err), SL_OK);
    cr_assert_eq(sl_params_set(p, "width", "1", NULL, &err), SL_ENOTFOUND);
    cr_expect_str_eq(err.msg, "stage 'sink': unknown parameter 'width' (it takes no parameters)");
    cr_expect_eq(sl_params_format(p, NULL, 0), 0);
    sl_params_destroy(&p);
}

Test(param, format_is_canonical_in_table_order)
{
    sl_params *p = make();
    sl_error err;
    cr_assert_eq(sl_params_set(p, "width", "0x20", NULL, &err), SL_OK);
    cr_assert_eq(sl_params_set(p, "twins", "ON", NULL, &err), SL_OK);
    cr_assert_eq(sl_params_set(p, "cutoff", "-0", NULL, &err), SL_OK);
    cr_assert_eq(sl_params_set(p, "start", "1_000", NULL, &err), SL_OK);
    const char *want = "width=32\noffset=-3\ncutoff=0\ntwins=true\nlabel=primes\n"
                       "store=digits\nstart=1000\nany=0\n";
    char buf[512];
    size_t n = sl_params_format(p, buf, sizeof buf);
    cr_expect_str_eq(buf, want);
    cr_expect_eq(n, strlen(want));
    /* Truncation still says how much room is needed, and terminates. */
    char small[10];
    cr_expect_eq(sl_params_format(p, small, sizeof small), strlen(want));
    cr_expect_str_eq(small, "width=32\n");
    sl_params_destroy(&p);

    p = make();
    cr_assert_eq(sl_params_set(p, "cutoff", "0.9", NULL, &err), SL_OK);
    sl_params_format(p, buf, sizeof buf);
    cr_expect(strstr(buf, "cutoff=0.90000000000000002\n"), "%s", buf);
    sl_params_destroy(&p);
}

Test(param, default_and_range_text_for_inspect)
{
    static const sl_param_spec s[] = {
        SL_PARAM_UINT("width", 8, 1, 64, ""),
        SL_PARAM_UINT("start", 0, 0, UINT64_MAX, ""),
        SL_PARAM_INT("any", -4, 0, 0, ""),
        SL_PARAM_INT("below", 0, INT64_MIN, 9, ""),
        SL_PARAM_FLOAT("cutoff", 0.9, 0.0, 1.0, ""),
        SL_PARAM_FLOAT("scale", 2.5, 0.5, INFINITY, ""),
        SL_PARAM_BOOL("twins", true, ""),
        SL_PARAM_STRING("label", "x y", ""),
        SL_PARAM_ENUM("store", "digits", "digits|full", ""),
        SL_PARAM_UINT("batch", 1, 1, 0, ""),
    };
    static const char *const def[] = {"8", "0", "-4", "0", "0.9", "2.5", "true", "x y",
                                      "digits", "1"};
    static const char *const range[] = {"1 .. 64", "0 ..", "", ".. 9", "0 .. 1", "0.5 ..",
                                        "", "", "digits|full", "1 .."};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        char buf[64];
        sl_param_default_text(&s[i], buf, sizeof buf);
        cr_expect_str_eq(buf, def[i], "%s default", s[i].name);
        sl_param_range_text(&s[i], buf, sizeof buf);
        cr_expect_str_eq(buf, range[i], "%s range", s[i].name);
    }
    cr_expect_str_eq(sl_param_type_name(SL_PARAM_T_INT), "int");
    cr_expect_str_eq(sl_param_type_name(SL_PARAM_T_UINT), "uint");
    cr_expect_str_eq(sl_param_type_name(SL_PARAM_T_FLOAT), "float");
    cr_expect_str_eq(sl_param_type_name(SL_PARAM_T_BOOL), "bool");
    cr_expect_str_eq(sl_param_type_name(SL_PARAM_T_STRING), "string");
    cr_expect_str_eq(sl_param_type_name(SL_PARAM_T_ENUM), "enum");
}

Test(param, refuses_table_with_bad_enum_default_or_duplicate_key)
{
    static const sl_param_spec bad_enum[] = {SL_PARAM_ENUM("store", "half", "digits|full", ""),
                                             SL_PARAM_END};
    static const sl_param_spec dup[] = {SL_PARAM_BOOL("a", false, ""),
                                        SL_PARAM_BOOL("a", true, ""), SL_PARAM_END};
    sl_params *p = NULL;
    sl_error err;
    cr_expect_eq(sl_params_create(&p, bad_enum, "fib", &err), SL_EINVAL);
    cr_expect(strstr(err.msg, "stage 'fib': parameter 'store'='half' is not one of digits|full"),
              "%s", err.msg);
    cr_expect_eq(sl_params_create(&p, dup, "fib", &err), SL_EEXIST);
    cr_expect(strstr(err.msg, "parameter 'a' is declared twice"), "%s", err.msg);
    cr_expect_null(p);
}
