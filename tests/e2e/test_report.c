/* tests/e2e/test_report.c - `sluice report STATS.json -o REPORT.html`: what
 * the command checks and writes. Whether the page draws its charts is
 * report_chromium.sh's business (a real browser); here: exit statuses, the
 * one-line errors, never replacing a file without --force, and a page that
 * is one self-contained file holding the stats where no '<' can end its
 * script element. tests/fixtures/stats-example.json is the input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e_util.h"

#define EXAMPLE "tests/fixtures/stats-example.json"

static char errbuf[4096];

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    cr_assert(s);
    cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void one_line(void)
{
    char *nl = strchr(errbuf, '\n');
    cr_assert(nl && nl[1] == '\0', "not one line: <%s>", errbuf);
}

static int report(const char *args)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "report %s", args);
    return e2e_sluice(NULL, cmd, errbuf, sizeof errbuf);
}

Test(report, writes_one_self_contained_page_from_the_example)
{
    char out[600], args[1400];
    snprintf(out, sizeof out, "%s/r.html", e2e_tmpdir());
    snprintf(args, sizeof args, "%s -o %s", EXAMPLE, out);
    cr_assert_eq(report(args), 0, "%s", errbuf);
    char *page = slurp(out);
    cr_assert(strstr(page, "<svg id=\"chart-util\""), "no utilisation chart");
    cr_assert(strstr(page, "\"schema\": \"sluice-stats/1\""), "the stats are not in the page");
    cr_assert_null(strstr(page, "@STATS_JSON@"), "the placeholder is left");
    /* Nothing from elsewhere: no scripts, styles or images by address. */
    cr_assert_null(strstr(page, " src="), "the page loads something");
    cr_assert_null(strstr(page, "<link"), "the page links something");
    cr_assert_null(strstr(page, "https://"), "an address in the page");
    cr_assert_eq(count(page, "http://"), count(page, "http://www.w3.org/2000/svg"),
                 "an address other than the SVG namespace in the page");
    free(page);
}

Test(report, never_replaces_a_file_without_force)
{
    char out[600], args[1400];
    snprintf(out, sizeof out, "%s/r.html", e2e_tmpdir());
    spit(out, "keep me\n");
    snprintf(args, sizeof args, "%s -o %s", EXAMPLE, out);
    cr_assert_eq(report(args), 2, "%s", errbuf);
    one_line();
    cr_assert(strstr(errbuf, "exists (use --force to replace it)"), "%s", errbuf);
    char *kept = slurp(out);
    cr_assert_str_eq(kept, "keep me\n");
    free(kept);
    snprintf(args, sizeof args, "%s -o %s --force", EXAMPLE, out);
    cr_assert_eq(report(args), 0, "%s", errbuf);
    char *page = slurp(out);
    cr_assert(strstr(page, "<!DOCTYPE html>") == page, "not replaced by the page");
    free(page);
}

Test(report, default_output_is_the_stats_name_with_html)
{
    const char *dir = e2e_tmpdir();
    char in[600], out[600], args[1400];
    snprintf(in, sizeof in, "%s/run.json", dir);
    snprintf(out, sizeof out, "%s/run.html", dir);
    char *example = slurp(SL_TEST_SOURCE_DIR "/" EXAMPLE);
    spit(in, example);
    free(example);
    snprintf(args, sizeof args, "%s", in);
    cr_assert_eq(report(args), 0, "%s", errbuf);
    cr_assert(e2e_file_exists(out), "%s not written", out);
}

Test(report, refuses_another_schema_naming_the_file)
{
    char in[600], args[1400];
    snprintf(in, sizeof in, "%s/other.json", e2e_tmpdir());
    spit(in, "{\"schema\": \"sluice-stats/2\", \"stages\": []}\n");
    snprintf(args, sizeof args, "%s -o %s.html", in, in);
    cr_assert_eq(report(args), 2, "%s", errbuf);
    one_line();
    cr_assert(strstr(errbuf, in), "the file is not named: %s", errbuf);
    cr_assert(strstr(errbuf, "sluice-stats/2"), "%s", errbuf);
    cr_assert(!e2e_file_exists(strcat(in, ".html")), "a page was written");
}

Test(report, refuses_a_file_without_schema)
{
    char in[600], args[1400];
    snprintf(in, sizeof in, "%s/trace.json", e2e_tmpdir());
    spit(in, "{\"traceEvents\": []}\n");
    snprintf(args, sizeof args, "%s -o %s.html", in, in);
    cr_assert_eq(report(args), 2, "%s", errbuf);
    one_line();
    cr_assert(strstr(errbuf, "not a sluice stats file"), "%s", errbuf);
}

Test(report, names_file_line_and_column_of_bad_json)
{
    char in[600], args[1400], want[700];
    snprintf(in, sizeof in, "%s/broken.json", e2e_tmpdir());
    spit(in, "{\n  \"schema\": \"sluice-stats/1\",\n  \"stages\": [1,]\n}\n");
    snprintf(args, sizeof args, "%s -o %s.html", in, in);
    cr_assert_eq(report(args), 2, "%s", errbuf);
    one_line();
    snprintf(want, sizeof want, "%s:3:", in);
    cr_assert(strstr(errbuf, want), "wanted '%s' in: %s", want, errbuf);
    cr_assert(strstr(errbuf, "not JSON"), "%s", errbuf);
}

Test(report, missing_file_and_usage_errors_exit_2)
{
    cr_assert_eq(report("/nonexistent/stats.json -o /tmp/x.html"), 2, "%s", errbuf);
    one_line();
    cr_assert(strstr(errbuf, "/nonexistent/stats.json"), "%s", errbuf);
    cr_assert_eq(report(""), 2, "%s", errbuf);
    one_line();
    cr_assert_eq(report(EXAMPLE " --bogus"), 2, "%s", errbuf);
    one_line();
}

/* A '<' in the stats (here in a stage name) is written as \u003c: the data
 * cannot close its script element, and the page has as many </script> as
 * its template. */
Test(report, stats_cannot_close_their_script_element)
{
    char in[600], out[700], args[1400];
    snprintf(in, sizeof in, "%s/evil.json", e2e_tmpdir());
    snprintf(out, sizeof out, "%s.html", in);
    spit(in, "{\"schema\": \"sluice-stats/1\", \"stages\": "
             "[{\"name\": \"</script><script>alert(1)</script>\"}]}\n");
    snprintf(args, sizeof args, "%s -o %s", in, out);
    cr_assert_eq(report(args), 0, "%s", errbuf);
    char *page = slurp(out);
    cr_assert_eq(count(page, "</script>"), 2, "the stats closed a script element");
    cr_assert(strstr(page, "\\u003c/script>\\u003cscript>"), "the name is not escaped");
    free(page);
}
