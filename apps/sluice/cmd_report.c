/* apps/sluice/cmd_report.c - `sluice report STATS.json -o REPORT.html`.
 *
 * Turns the statistics of a run (`sluice run --stats`, docs/stats.md) into one
 * self-contained HTML page: the page (apps/sluice/report/report.html, built
 * into the command) carries the stats file verbatim and draws every chart
 * with its own inline script as SVG, so the page needs no network and no
 * library, and reads whatever figures the file has (docs/report.md).
 *
 * The C side therefore only checks what the page cannot: that the file is
 * JSON (jansson, which gives file:line:col), that it says
 * "schema": "sluice-stats/1", and that "stages" is an array. It writes the
 * page to a temporary file beside the output and moves it into place, so a
 * reader never sees half a page; without --force an existing file is never
 * replaced (the final step is link(), which refuses atomically). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

#define REPORT_SCHEMA "sluice-stats/1"
#define REPORT_MAX_BYTES (1024L * 1024 * 1024) /* a stats file is kilobytes to megabytes */
#define REPORT_MARKER "@STATS_JSON@"

/* The page, from cmake/EmbedFile.cmake. */
extern const char report_page[];
extern const unsigned long report_page_len;

static const char report_help[] =
    "usage: sluice report STATS.json [-o REPORT.html] [--force]\n\n"
    "Writes one self-contained HTML page (no network, no external files) from the\n"
    "statistics of a run (sluice run --stats STATS.json): utilisation per stage,\n"
    "throughput and queue occupancy over time, a timeline of busy instances, the\n"
    "figures of every stage and the bottleneck. Open it in any browser.\n\n"
    "options:\n"
    "  -o, --output PATH  the page (default: STATS with .json replaced by .html)\n"
    "      --force        replace PATH if it exists\n"
    "  -h, --help         show this help\n\n"
    "The file must be JSON with \"schema\": \"" REPORT_SCHEMA "\"; figures it lacks\n"
    "show as '-' (see docs/report.md).\n\n"
    "exit status: 0 success, 1 the page could not be written, 2 bad input or usage\n"
    "(not JSON, another schema, PATH exists without --force, command line).\n";

/* A problem with the input or the output path: "sluice: <message>", exit 2. */
__attribute__((format(printf, 1, 2))) static int bad_input(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sluice: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_USAGE;
}

typedef struct report_args {
    const char *stats, *output;
    bool force;
} report_args;

/* Returns -1 to go on, else the exit status (help shown or usage error). */
static int parse_args(int argc, char **argv, report_args *a)
{
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"force", no_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': a->output = optarg; break;
        case 'f': a->force = true; break;
        case 'h': fputs(report_help, stdout); return CLI_OK;
        default: return cli_bad_option("report", c, argv, optind, optopt);
        }
    }
    if (optind >= argc)
        return cli_usage("report", "no stats file given");
    if (argc - optind > 1)
        return cli_usage("report", "one stats file at a time, not also '%s'", argv[optind + 1]);
    a->stats = argv[optind];
    if (a->output && !*a->output)
        return cli_usage("report", "-o wants a file name");
    return -1;
}

/* Reads the whole file. Owned by caller: *out (NUL-terminated). */
static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return bad_input("cannot open '%s': %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = CLI_OK;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 131072;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = (bad_input("%s: out of memory", path), CLI_FAILED);
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > (size_t)REPORT_MAX_BYTES) {
            rc = bad_input("%s: larger than %ld bytes, not a stats file", path,
                           REPORT_MAX_BYTES);
            break;
        }
        if (got == 0) {
            if (ferror(f))
                rc = bad_input("%s: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc != CLI_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return CLI_OK;
}

/* JSON, an object, the schema, stages an array; else one line, exit 2. */
static int check_stats(const char *path, const char *text, size_t len)
{
    json_error_t jerr;
    /* Integers as reals: the page needs no exact 64-bit counts, and jansson
     * would refuse one above 2^63 as "too big". */
    json_t *root = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, &jerr);
    if (!root) {
        if (jerr.line > 0)
            return bad_input("%s:%d:%d: not JSON: %s", path, jerr.line, jerr.column,
                             jerr.text);
        return bad_input("%s: not JSON: %s", path, jerr.text);
    }
    int rc = CLI_OK;
    json_t *schema = json_object_get(root, "schema");
    if (!json_is_object(root))
        rc = bad_input("%s: not a sluice stats file (the JSON is not an object)", path);
    else if (!json_is_string(schema))
        rc = bad_input("%s: not a sluice stats file (no \"schema\"; want \"%s\")", path,
                       REPORT_SCHEMA);
    else if (strcmp(json_string_value(schema), REPORT_SCHEMA) != 0)
        rc = bad_input("%s: schema \"%s\" is not the one this sluice reads (\"%s\")",
                       path, json_string_value(schema), REPORT_SCHEMA);
    else if (!json_is_array(json_object_get(root, "stages")))
        rc = bad_input("%s: \"stages\" is missing or not an array", path);
    json_decref(root);
    return rc;
}

/* The page with the stats in place of the marker. Every '<' of valid JSON is
 * inside a string, where \u003c means the same, so the stats cannot end the
 * script element they sit in. Returns false on a write error. */
static bool write_page(FILE *f, const char *stats, size_t len)
{
    const char *mark = strstr(report_page, REPORT_MARKER);
    if (!mark)
        return false;
    fwrite(report_page, 1, (size_t)(mark - report_page), f);
    for (size_t i = 0; i < len; i++) {
        if (stats[i] == '<')
            fputs("\\u003c", f);
        else
            fputc(stats[i], f);
    }
    const char *rest = mark + strlen(REPORT_MARKER);
    fwrite(rest, 1, report_page_len - (size_t)(rest - report_page), f);
    return !ferror(f);
}

/* "dir/x.json" -> "dir/x.html"; anything else gets ".html" appended.
 * Owned by caller. */
static char *default_output(const char *stats)
{
    size_t n = strlen(stats);
    if (n > 5 && strcmp(stats + n - 5, ".json") == 0)
        n -= 5;
    char *out = malloc(n + 6);
    if (out) {
        memcpy(out, stats, n);
        memcpy(out + n, ".html", 6);
    }
    return out;
}

/* Moves tmp to out: rename with force, else link (refuses an existing out
 * atomically) and unlink. Where links do not work, checks first. */
static int publish(const char *tmp, const char *out, bool force)
{
    if (force) {
        if (rename(tmp, out) == 0)
            return CLI_OK;
    } else if (link(tmp, out) == 0) {
        unlink(tmp);
        return CLI_OK;
    } else if (errno == EEXIST) {
        unlink(tmp);
        return bad_input("'%s' exists (use --force to replace it)", out);
    } else if (errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK || errno == ENOSYS) {
        struct stat st;
        if (lstat(out, &st) == 0) {
            unlink(tmp);
            return bad_input("'%s' exists (use --force to replace it)", out);
        }
        if (rename(tmp, out) == 0)
            return CLI_OK;
    }
    int e = errno;
    unlink(tmp);
    fprintf(stderr, "sluice: cannot write '%s': %s\n", out, strerror(e));
    return CLI_FAILED;
}

/* Writes the page to a temporary file beside out, then publishes it. */
static int write_report(const char *out, bool force, const char *stats, size_t len)
{
    struct stat st;
    if (!force && lstat(out, &st) == 0)
        return bad_input("'%s' exists (use --force to replace it)", out);
    size_t n = strlen(out);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return (bad_input("out of memory"), CLI_FAILED);
    snprintf(tmp, n + 16, "%s.tmp.XXXXXX", out);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int rc = bad_input("cannot write '%s': %s", out, strerror(errno));
        free(tmp);
        return rc;
    }
    mode_t mask = umask(0); /* mkstemp makes 0600; a page is as public as any new file */
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    FILE *f = fdopen(fd, "w");
    bool ok = f && write_page(f, stats, len);
    if (f)
        ok = fclose(f) == 0 && ok;
    else
        close(fd);
    int rc;
    if (!ok) {
        fprintf(stderr, "sluice: cannot write '%s': %s\n", tmp, strerror(errno));
        unlink(tmp);
        rc = CLI_FAILED;
    } else {
        rc = publish(tmp, out, force);
    }
    free(tmp);
    return rc;
}

int cmd_report(int argc, char **argv)
{
    report_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    char *text = NULL, *dflt = NULL;
    size_t len = 0;
    rc = read_file(a.stats, &text, &len);
    if (rc == CLI_OK)
        rc = check_stats(a.stats, text, len);
    const char *out = a.output;
    if (rc == CLI_OK && !out) {
        out = dflt = default_output(a.stats);
        if (!out)
            rc = (bad_input("out of memory"), CLI_FAILED);
    }
    if (rc == CLI_OK)
        rc = write_report(out, a.force, text, len);
    if (rc == CLI_OK)
        printf("report    %s\n", out);
    free(dflt);
    free(text);
    return rc;
}
