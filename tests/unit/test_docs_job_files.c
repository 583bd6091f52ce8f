/* tests/unit/test_docs_job_files.c - docs/job-files.md cannot drift from the
 * loader: every key the loader takes (sl_job_keys) has its row in the doc's
 * table for that level, and every row of those tables is a key the loader
 * takes. (The stage parameters are docs/stages.md, generated from the
 * plugins' tables and checked by CTest's docs.stages_current.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/job.h>

static char *doc;

static void load(void)
{
    FILE *f = fopen(SL_TEST_SOURCE_DIR "/docs/job-files.md", "r");
    cr_assert(f, "cannot open docs/job-files.md");
    doc = calloc(1, 1 << 20);
    size_t n = fread(doc, 1, (1 << 20) - 1, f);
    doc[n] = '\0';
    fclose(f);
}

static void unload(void) { free(doc); }

/* The text of section `heading` ("## Stage keys") up to the next "## ". */
static char *section(const char *heading)
{
    const char *s = strstr(doc, heading);
    cr_assert(s, "docs/job-files.md has no section '%s'", heading);
    const char *e = strstr(s + strlen(heading), "\n## ");
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char *out = malloc(n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static bool is_key(const char *const *keys, size_t n, const char *prefix, const char *word)
{
    for (size_t i = 0; i < n; i++) {
        char full[64];
        snprintf(full, sizeof full, "%s%s", prefix, keys[i]);
        if (strcmp(full, word) == 0)
            return true;
    }
    return false;
}

/* Every key has a row: its name in backquotes in a first table cell. And
 * every name in a first cell is a key (of this scope, or of `also`). */
static void check(const char *heading, sl_job_key_scope scope, const char *prefix,
                  sl_job_key_scope also, const char *also_prefix)
{
    char *sec = section(heading);
    size_t n, na;
    const char *const *keys = sl_job_keys(scope, &n), *const *akeys = sl_job_keys(also, &na);
    for (size_t i = 0; i < n; i++) {
        char cell[80];
        snprintf(cell, sizeof cell, "`%s%s`", prefix, keys[i]);
        bool found = false;
        for (const char *l = sec; l && !found; l = strchr(l + 1, '\n'))
            if (strncmp(l, "\n| ", 3) == 0) {
                const char *end = strchr(l + 3, '|');
                const char *hit = strstr(l + 3, cell);
                found = hit && end && hit < end;
            }
        cr_assert(found, "docs/job-files.md, section '%s': no table row for key %s", heading,
                  cell);
    }
    for (const char *l = sec; l; l = strchr(l + 1, '\n')) {
        if (strncmp(l, "\n| `", 4) != 0)
            continue;
        const char *end = strchr(l + 3, '|');
        for (const char *q = strchr(l + 3, '`'); q && q < end; q = strchr(q + 1, '`')) {
            const char *r = strchr(q + 1, '`');
            if (!r || r > end)
                break;
            char word[64];
            size_t len = (size_t)(r - q - 1);
            cr_assert_lt(len, sizeof word);
            memcpy(word, q + 1, len);
            word[len] = '\0';
            cr_assert(is_key(keys, n, prefix, word) || is_key(akeys, na, also_prefix, word),
                      "docs/job-files.md, section '%s': '%s' has a row but the loader has no "
                      "such key",
                      heading, word);
            q = r;
        }
    }
    free(sec);
}

TestSuite(docs_job_files, .init = load, .fini = unload);

Test(docs_job_files, top_level_keys) { check("## Top-level keys", SL_JOB_KEYS_TOP, "", SL_JOB_KEYS_TOP, ""); }

Test(docs_job_files, stage_keys)
{
    check("## Stage keys", SL_JOB_KEYS_STAGE, "", SL_JOB_KEYS_STAGE, "");
}

Test(docs_job_files, failure_policy_keys)
{
    /* This table has the policy keys and backoff's own, as backoff.KEY. */
    size_t n;
    const char *const *k = sl_job_keys(SL_JOB_KEYS_STAGE, &n);
    cr_assert(is_key(k, n, "", "warn_slow") && is_key(k, n, "", "retries"));
    check("## Failure policy and load control", SL_JOB_KEYS_BACKOFF, "backoff.",
          SL_JOB_KEYS_STAGE, "");
    /* And every stage key that is not a structural one has its own row. */
    static const char *const structural[] = {"stage", "name",  "mode",  "concurrency",
                                             "queue", "ranks", "params"};
    char *sec = section("## Failure policy and load control");
    for (size_t i = 0; i < n; i++) {
        if (is_key(structural, sizeof structural / sizeof *structural, "", k[i]))
            continue;
        char row[80];
        snprintf(row, sizeof row, "\n| `%s` |", k[i]);
        cr_assert(strstr(sec, row), "docs/job-files.md, failure policy: no row for '%s'", k[i]);
    }
    free(sec);
}

Test(docs_job_files, distribution_keys)
{
    check("## Distribution", SL_JOB_KEYS_DISTRIBUTION, "", SL_JOB_KEYS_DISTRIBUTION, "");
}
