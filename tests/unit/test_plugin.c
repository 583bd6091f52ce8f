/* tests/unit/test_plugin.c - the plugin loader: finding, checking, listing.
 *
 * Real shared objects from tests/fixtures (one valid, the others each broken
 * in one way) pin the exact reason a user sees for each kind of bad file;
 * in-memory descriptors cover the checks that need no file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <sluice/plugin.h>

#define FIX SL_TEST_FIXTURE_DIR

static sl_registry *reg;
static sl_error err;

static void setup(void)
{
    unsetenv("SLUICE_STAGE_PATH");
    sl_error_clear(&err);
    cr_assert_eq(sl_registry_create(&reg, &err), SL_OK, "%s", err.msg);
    cr_assert_eq(sl_registry_prepend_dir(reg, FIX, &err), SL_OK, "%s", err.msg);
}

static void teardown(void)
{
    sl_registry_destroy(&reg);
    cr_assert_null(reg);
}

/* Looks `name` up and expects a failure with code and exactly message msg. */
static void expect_reject(const char *name, sl_status code, const char *msg)
{
    const sl_stage_desc *d = NULL;
    sl_status s = sl_registry_find(reg, name, &d, NULL, &err);
    cr_assert_eq(s, code, "%s: got %s (%s)", name, sl_status_name(s), err.msg);
    cr_assert_str_eq(err.msg, msg);
    cr_assert_null(d);
}

TestSuite(plugin, .init = setup, .fini = teardown);

Test(plugin, finds_valid_fixture_in_prepended_dir)
{
    const sl_stage_desc *d = NULL;
    const char *path = NULL;
    cr_assert_eq(sl_registry_find(reg, "tiny", &d, &path, &err), SL_OK, "%s", err.msg);
    cr_assert_str_eq(d->name, "tiny");
    cr_assert_eq(d->kind, SL_KIND_TRANSFORM);
    cr_assert_str_eq(path, FIX "/tiny.so");
    cr_assert_eq(strncmp(sl_registry_search_path(reg), FIX, strlen(FIX)), 0);
}

Test(plugin, rejects_file_without_entry_point)
{
    expect_reject("noentry", SL_EABI, FIX "/noentry.so: not a sluice stage plugin (no sl_stage_entry)");
}

Test(plugin, rejects_other_abi)
{
    expect_reject("badabi", SL_EABI, FIX "/badabi.so: built for stage ABI 999, this sluice speaks ABI 1");
}

Test(plugin, rejects_transform_without_process)
{
    expect_reject("noprocess", SL_EABI,
                  FIX "/noprocess.so: transform stage 'noprocess' has no process callback");
}

Test(plugin, rejects_default_outside_range)
{
    expect_reject("baddefault", SL_EABI,
                  FIX "/baddefault.so: stage 'baddefault': parameter 'limit' default 100 is outside 1 .. 10");
}

Test(plugin, rejects_name_different_from_file)
{
    expect_reject("misnamed", SL_EABI,
                  FIX "/misnamed.so: stage is named 'other_name' but its file is misnamed.so (they must match)");
}

Test(plugin, second_lookup_of_rejected_file_gives_same_reason)
{
    expect_reject("badabi", SL_EABI, FIX "/badabi.so: built for stage ABI 999, this sluice speaks ABI 1");
    expect_reject("badabi", SL_EABI, FIX "/badabi.so: built for stage ABI 999, this sluice speaks ABI 1");
}

Test(plugin, unknown_name_suggests_nearest)
{
    expect_reject("tiyn", SL_ENOTFOUND, "unknown stage 'tiyn' (did you mean 'tiny'?)");
}

Test(plugin, unknown_name_without_neighbour_lists_search_path)
{
    const sl_stage_desc *d = NULL;
    cr_assert_eq(sl_registry_find(reg, "zzzzzzzzzz", &d, NULL, &err), SL_ENOTFOUND);
    const char *want = "unknown stage 'zzzzzzzzzz' (no zzzzzzzzzz.so in " FIX;
    cr_assert_eq(strncmp(err.msg, want, strlen(want)), 0, "%s", err.msg);
}

Test(plugin, path_like_name_is_unknown_not_opened)
{
    const sl_stage_desc *d = NULL;
    cr_assert_eq(sl_registry_find(reg, "../fixtures/tiny", &d, NULL, &err), SL_ENOTFOUND);
}

Test(plugin, scan_lists_sorted_with_rejects)
{
    cr_assert_eq(sl_registry_scan(reg, &err), SL_OK, "%s", err.msg);
    size_t n = sl_registry_count(reg);
    const sl_plugin_info *tiny = NULL, *noentry = NULL, *garbage = NULL;
    for (size_t i = 0; i < n; i++) {
        const sl_plugin_info *p = sl_registry_at(reg, i);
        if (strcmp(p->path, FIX "/tiny.so") == 0)
            tiny = p;
        else if (strcmp(p->path, FIX "/noentry.so") == 0)
            noentry = p;
        else if (strcmp(p->path, FIX "/garbage.so") == 0)
            garbage = p;
    }
    cr_assert_null(sl_registry_at(reg, n));
    cr_assert(tiny && tiny->desc && !tiny->reason);
    cr_assert(noentry && !noentry->desc);
    cr_assert_str_eq(noentry->reason, FIX "/noentry.so: not a sluice stage plugin (no sl_stage_entry)");
    cr_assert(garbage && !garbage->desc);
    const char *want = FIX "/garbage.so: cannot load: ";
    cr_assert_eq(strncmp(garbage->reason, want, strlen(want)), 0, "%s", garbage->reason);
}

/* Stage names by file stem, as the scan saw them, must come out in order. */
Test(plugin, scan_order_is_by_name)
{
    cr_assert_eq(sl_registry_scan(reg, &err), SL_OK);
    for (size_t i = 1; i < sl_registry_count(reg); i++) {
        const char *a = strrchr(sl_registry_at(reg, i - 1)->path, '/') + 1;
        const char *b = strrchr(sl_registry_at(reg, i)->path, '/') + 1;
        cr_assert_lt(strcmp(a, b), 0, "%s before %s", a, b);
    }
}

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    cr_assert(in && out);
    char buf[8192];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0)
        cr_assert_eq(fwrite(buf, 1, k, out), k);
    fclose(in);
    fclose(out);
}

Test(plugin, first_directory_wins_for_a_name)
{
    char dir[] = "/tmp/sl_plugin_test_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/tiny.so", dir);
    copy_file(FIX "/badabi.so", path);
    cr_assert_eq(sl_registry_prepend_dir(reg, dir, &err), SL_OK, "%s", err.msg);
    const sl_stage_desc *d = NULL;
    sl_status s = sl_registry_find(reg, "tiny", &d, NULL, &err);
    unlink(path);
    rmdir(dir);
    cr_assert_eq(s, SL_EABI);
    cr_assert(strstr(err.msg, dir) && strstr(err.msg, "built for stage ABI 999"), "%s", err.msg);
}

Test(plugin, prepend_of_missing_dir_fails)
{
    cr_assert_eq(sl_registry_prepend_dir(reg, "/nonexistent/stages", &err), SL_ENOTFOUND);
    cr_assert_str_eq(err.msg, "stage directory '/nonexistent/stages' does not exist");
}

/* ---- sl_plugin_check on descriptors in memory ---------------------------- */

static sl_status nop_create(void **s, const sl_params *p, sl_ctx *c, sl_error *e) { return SL_OK; }
static sl_status nop_plan(void *s, sl_source_plan *p, sl_error *e) { return SL_OK; }
static sl_status nop_produce(void *s, uint64_t q, sl_batch *b, sl_ctx *c, sl_error *e)
{
    return SL_OK;
}

static sl_stage_desc good_source(void)
{
    sl_stage_desc d = {.abi = SL_STAGE_ABI, .size = sizeof d, .name = "src", .summary = "s",
                       .version = "1", .kind = SL_KIND_SOURCE, .mode = SL_MODE_PARALLEL,
                       .create = nop_create, .plan = nop_plan};
    return d;
}

static void expect_check(const sl_stage_desc *d, const char *msg)
{
    sl_error e;
    sl_error_clear(&e);
    cr_assert_eq(sl_plugin_check(d, "/x/src.so", &e), SL_EABI, "expected: %s", msg);
    cr_assert_str_eq(e.msg, msg);
}

Test(plugin_check, source_needs_plan_and_produce)
{
    sl_stage_desc d = good_source();
    expect_check(&d, "/x/src.so: source stage 'src' has no produce callback");
    d.plan = NULL;
    expect_check(&d, "/x/src.so: source stage 'src' has no plan callback");
}

Test(plugin_check, short_descriptor_bad_kind_mode_and_name)
{
    sl_stage_desc d = good_source();
    d.size = 16;
    expect_check(&d, "/x/src.so: descriptor is 16 bytes, stage ABI 1 needs at least 104");
    d = good_source();
    d.kind = 7;
    expect_check(&d, "/x/src.so: stage 'src' has unknown kind 7");
    d = good_source();
    d.mode = 0;
    expect_check(&d, "/x/src.so: stage 'src' has unknown mode 0");
    d = good_source();
    d.name = "";
    expect_check(&d, "/x/src.so: stage has no name");
    d.name = "Src";
    expect_check(&d, "/x/src.so: stage name 'Src' is not lower_snake ([a-z][a-z0-9_]*, at most 63 characters)");
    expect_check(NULL, "/x/src.so: sl_stage_entry returned NULL");
}

Test(plugin_check, param_table_problems)
{
    static const sl_param_spec dup[] = {SL_PARAM_BOOL("a", true, "h"),
                                        SL_PARAM_BOOL("a", false, "h"), SL_PARAM_END};
    static const sl_param_spec badtype[] = {{.name = "t", .type = (sl_param_type)42}, SL_PARAM_END};
    static const sl_param_spec badenum[] = {SL_PARAM_ENUM("w", "kaiser", "hann|box", "h"),
                                            SL_PARAM_END};
    static const sl_param_spec badf[] = {SL_PARAM_FLOAT("f", 2.5, 0.0, 1.0, "h"), SL_PARAM_END};
    static const sl_param_spec badname[] = {SL_PARAM_BOOL("Bad-Name", true, "h"), SL_PARAM_END};
    sl_stage_desc d = good_source();
    d.produce = nop_produce;
    d.params = dup;
    expect_check(&d, "/x/src.so: stage 'src': parameter 'a' is declared twice");
    d.params = badtype;
    expect_check(&d, "/x/src.so: stage 'src': parameter 't' has unknown type 42");
    d.params = badenum;
    expect_check(&d, "/x/src.so: stage 'src': parameter 'w' default 'kaiser' is not one of hann|box");
    d.params = badf;
    expect_check(&d, "/x/src.so: stage 'src': parameter 'f' default 2.5 is outside 0 .. 1");
    d.params = badname;
    expect_check(&d, "/x/src.so: stage 'src': parameter name 'Bad-Name' is not lower_snake");
}

Test(plugin_check, accepts_good_table_and_no_path)
{
    static const sl_param_spec okp[] = {SL_PARAM_ENUM("w", "box", "hann|box", "h"),
                                        SL_PARAM_INT("n", -3, -5, 5, "h"),
                                        SL_PARAM_STRING("s", NULL, "h"),
                                        /* max 0 with min > 0: no upper bound, as in lib/param */
                                        SL_PARAM_UINT("big", 1u << 20, 1, 0, "h"),
                                        SL_PARAM_INT("any", 12345, 0, 0, "h"), SL_PARAM_END};
    sl_stage_desc d = good_source();
    d.produce = nop_produce;
    d.params = okp;
    sl_error e;
    sl_error_clear(&e);
    cr_assert_eq(sl_plugin_check(&d, "/x/src.so", &e), SL_OK, "%s", e.msg);
    /* Without a path there is no file name to match. */
    d.name = "anything";
    cr_assert_eq(sl_plugin_check(&d, NULL, &e), SL_OK, "%s", e.msg);
    d.abi = 2;
    cr_assert_eq(sl_plugin_check(&d, NULL, &e), SL_EABI);
    cr_assert_str_eq(e.msg, "stage descriptor: built for stage ABI 2, this sluice speaks ABI 1");
}
