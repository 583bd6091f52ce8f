/* tests/e2e/test_stats.c - the run's figures from the real command:
 * `sluice run jobs/primes.yaml --stats s.json --trace t.json` writes a stats
 * file and a trace that parse, with exact batch counts and one span per batch
 * per stage; the summary ends with the bottleneck report (not with -q); the
 * HDF5 output holds the same statistics (attribute stats_json, group /stats)
 * and its datasets stay those of a run without the options. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "e2e_util.h"

#define BATCHES 100
#define ARGS "run jobs/primes.yaml -t 2 intervals.stop=1e8 intervals.width=1e6"

static json_t *load(const char *path)
{
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert(j, "%s does not parse: %s (line %d)", path, je.text, je.line);
    return j;
}

static json_t *get(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    cr_assert(v, "field '%s' missing", key);
    return v;
}

/* Runs the command with stdout into *out (malloc'd); returns the status. */
static int run_capture(const char *args, char **out)
{
    char file[] = "/tmp/sluice-e2e-out-XXXXXX", cmd[4096];
    int fd = mkstemp(file);
    cr_assert(fd >= 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s/bin/sluice' %s >'%s' 2>&1", SL_TEST_SOURCE_DIR,
             SL_TEST_BINARY_DIR, args, file);
    int rc = system(cmd);
    FILE *f = fdopen(fd, "r");
    *out = calloc(1, 1 << 16);
    size_t n = fread(*out, 1, (1 << 16) - 1, f);
    (*out)[n] = '\0';
    fclose(f);
    unlink(file);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static char *attr_str(const char *file, const char *name)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    cr_assert(f >= 0, "cannot open %s", file);
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    cr_assert(a >= 0, "%s has no attribute %s", file, name);
    hid_t t = H5Aget_type(a);
    char *v = NULL;
    cr_assert(H5Aread(a, t, &v) >= 0);
    char *copy = strdup(v);
    H5free_memory(v);
    H5Tclose(t);
    H5Aclose(a);
    H5Fclose(f);
    return copy;
}

Test(stats, stats_and_trace_files_of_a_real_run, .timeout = 240)
{
    const char *dir = e2e_tmpdir();
    char args[2048], err[4096], *out;
    snprintf(args, sizeof args, ARGS " -o %s/p.h5 --stats %s/s.json --trace %s/t.json", dir, dir,
             dir);
    int rc = run_capture(args, &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_assert(strstr(out, "bottleneck: "), "no bottleneck report in:\n%s", out);
    cr_assert(strstr(out, "suggestion: "), "no suggestion in:\n%s", out);
    free(out);

    char path[600];
    snprintf(path, sizeof path, "%s/s.json", dir);
    json_t *s = load(path);
    cr_assert_str_eq(json_string_value(get(s, "schema")), "sluice-stats/1");
    cr_assert_str_eq(json_string_value(get(s, "job")), "primes");
    cr_assert_eq(json_integer_value(get(s, "batches")), BATCHES);
    cr_assert_eq(json_integer_value(get(s, "threads")), 2);
    json_t *stages = get(s, "stages");
    cr_assert_eq(json_array_size(stages), 4);
    const char *const names[] = {"intervals", "primes", "sum", "h5sink"};
    for (size_t i = 0; i < 4; i++) {
        json_t *st = json_array_get(stages, i);
        cr_assert_str_eq(json_string_value(get(st, "name")), names[i]);
        cr_assert_eq(json_integer_value(get(st, "batches_out")), BATCHES, "%s", names[i]);
        cr_assert_eq(json_integer_value(get(st, "batches_in")), BATCHES, "%s", names[i]);
        cr_assert(json_number_value(get(st, "busy_s")) >= 0);
    }
    const char *b = json_string_value(get(get(s, "bottleneck"), "stage"));
    cr_assert(b && *b);
    json_decref(s);

    snprintf(path, sizeof path, "%s/t.json", dir);
    json_t *t = load(path);
    json_t *ev = get(t, "traceEvents");
    size_t spans = 0;
    for (size_t k = 0; k < json_array_size(ev); k++)
        spans += strcmp(json_string_value(get(json_array_get(ev, k), "ph")), "X") == 0;
    cr_assert_eq(spans, 4 * BATCHES, "%zu spans", spans);
    json_decref(t);

    /* The same figures in the output file; its datasets as without them. */
    snprintf(path, sizeof path, "%s/p.h5", dir);
    char *text = attr_str(path, "stats_json");
    json_error_t je;
    json_t *h = json_loads(text, 0, &je);
    cr_assert(h, "stats_json does not parse: %s", je.text);
    cr_assert_eq(json_integer_value(get(h, "batches")), BATCHES);
    json_decref(h);
    free(text);
    size_t n;
    double *util = e2e_read_f64(path, "stats/utilisation", &n);
    cr_assert_eq(n, 4);
    free(util);
    snprintf(args, sizeof args, ARGS " -o %s/q.h5 -q", dir);
    rc = e2e_sluice(NULL, args, err, sizeof err);
    cr_assert_eq(rc, 0, "%s", err);
    char other[600];
    snprintf(other, sizeof other, "%s/q.h5", dir);
    cr_assert(e2e_same_datasets(path, other, err, sizeof err), "%s", err);
}

Test(stats, quiet_prints_no_report_but_still_writes_the_file, .timeout = 240)
{
    const char *dir = e2e_tmpdir();
    char args[2048], *out;
    snprintf(args, sizeof args, ARGS " -o %s/p.h5 -q --stats %s/s.json", dir, dir);
    int rc = run_capture(args, &out);
    cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
    cr_assert_str_eq(out, "", "-q printed:\n%s", out);
    free(out);
    char path[600];
    snprintf(path, sizeof path, "%s/s.json", dir);
    json_decref(load(path));
}

Test(stats, an_unwritable_stats_file_fails_the_command, .timeout = 240)
{
    const char *dir = e2e_tmpdir();
    char args[2048], err[4096];
    snprintf(args, sizeof args, ARGS " -o %s/p.h5 -q --stats %s/no/such/dir/s.json", dir, dir);
    int rc = e2e_sluice(NULL, args, err, sizeof err);
    cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
    cr_assert(strstr(err, "s.json"), "%s", err);
}
