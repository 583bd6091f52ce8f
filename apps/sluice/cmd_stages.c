/* apps/sluice/cmd_stages.c - `sluice stages`: every plugin on the search path.
 *
 * Lists what a job may name, one stage per line, then the files that look
 * like plugins but were refused, each with the loader's one-line reason, so
 * a user whose stage is missing sees why without reading loader code. A
 * refused file is not an error of this command: it exits 0.
 *
 * --json prints the accepted stages for tools instead: one JSON array of
 * objects with every descriptor field `inspect` shows and the whole parameter
 * table (expert parameters included), typed values as JSON numbers and
 * booleans. Rejected files are left out: the table listing says why. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char stages_help[] =
    "usage: sluice stages [-v] [--json]\n\n"
    "Lists the stage plugins found: name, kind and summary; then any file that was\n"
    "refused, with the reason. Search path: each directory of $SLUICE_STAGE_PATH\n"
    "(colon-separated), then the build tree's stages/, then the installed plugins.\n\n"
    "options:\n"
    "  -v, --verbose  also show each plugin's file and the search path\n"
    "      --json     print the stages as one JSON array instead: name, kind, mode,\n"
    "                 summary, version, abi, file and params (name, type, default,\n"
    "                 min, max, help, choices, expert; null where a field does not apply)\n"
    "  -h, --help     show this help\n\n"
    "exit status: 0 listed, 1 the listing failed, 2 usage.\n";

static void print_stages(const sl_registry *reg, bool verbose)
{
    size_t n = sl_registry_count(reg), rejected = 0;
    int w = 5;
    for (size_t i = 0; i < n; i++) {
        const sl_plugin_info *pi = sl_registry_at(reg, i);
        if (pi->desc && (int)strlen(pi->desc->name) > w)
            w = (int)strlen(pi->desc->name);
        rejected += pi->desc == NULL;
    }
    if (n > rejected)
        printf("%-*s  %-9s  %s\n", w, "STAGE", "KIND", "SUMMARY");
    for (size_t i = 0; i < n; i++) {
        const sl_stage_desc *d = sl_registry_at(reg, i)->desc;
        if (!d)
            continue;
        printf("%-*s  %-9s  %s\n", w, d->name, cli_kind_name(d->kind),
               d->summary ? d->summary : "");
        if (verbose)
            printf("%-*s  %-9s  (%s)\n", w, "", "", sl_registry_at(reg, i)->path);
    }
    if (n == rejected)
        printf("no stage plugins found in %s\n",
               *sl_registry_search_path(reg) ? sl_registry_search_path(reg) : "any directory");
    if (rejected)
        printf("\nrejected files:\n");
    for (size_t i = 0; i < n; i++)
        if (!sl_registry_at(reg, i)->desc)
            printf("  %s\n", sl_registry_at(reg, i)->reason);
    if (verbose && n > rejected)
        printf("\nsearch path: %s\n", sl_registry_search_path(reg));
}

/* Writes len bytes of text as a JSON string: quotes, backslashes and control
 * characters escaped; other bytes (UTF-8 included) as they are. */
static void json_strn(const char *text, size_t len)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)text; len--; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p == '\t')
            fputs("\\t", stdout);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void json_str(const char *text) { json_strn(text ? text : "", text ? strlen(text) : 0); }

/* A double as a JSON number, shortest text that reads back the same; JSON
 * has no infinity or NaN, so those (unbounded ranges) become null. */
static void json_f64(double v)
{
    if (!isfinite(v)) {
        fputs("null", stdout);
        return;
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, stdout);
}

/* "a|b|c" as ["a","b","c"]. */
static void json_choices(const char *choices)
{
    putchar('[');
    for (const char *p = choices; p && *p;) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (p != choices)
            putchar(',');
        json_strn(p, len);
        p = e ? e + 1 : p + len;
    }
    putchar(']');
}

/* "default":..,"min":..,"max":.. in the parameter's own type. */
static void json_param_values(const sl_param_spec *t)
{
    switch (t->type) {
    case SL_PARAM_T_INT:
        printf("\"default\":%" PRId64 ",\"min\":%" PRId64 ",\"max\":%" PRId64, t->def_i,
               t->min_i, t->max_i);
        break;
    case SL_PARAM_T_UINT:
        printf("\"default\":%" PRIu64 ",\"min\":%" PRIu64 ",\"max\":%" PRIu64, t->def_u,
               t->min_u, t->max_u);
        break;
    case SL_PARAM_T_FLOAT:
        fputs("\"default\":", stdout);
        json_f64(t->def_f);
        fputs(",\"min\":", stdout);
        json_f64(t->min_f);
        fputs(",\"max\":", stdout);
        json_f64(t->max_f);
        break;
    case SL_PARAM_T_BOOL:
        printf("\"default\":%s,\"min\":null,\"max\":null", t->def_b ? "true" : "false");
        break;
    default:
        fputs("\"default\":", stdout);
        json_str(t->def_s);
        fputs(",\"min\":null,\"max\":null", stdout);
        break;
    }
}

static void json_params(const sl_param_spec *t)
{
    putchar('[');
    for (size_t i = 0; t && t[i].name; i++) {
        fputs(i ? ",\n    {\"name\":" : "\n    {\"name\":", stdout);
        json_str(t[i].name);
        printf(",\"type\":\"%s\",", sl_param_type_name(t[i].type));
        json_param_values(&t[i]);
        fputs(",\"help\":", stdout);
        json_str(t[i].help);
        fputs(",\"choices\":", stdout);
        if (t[i].type == SL_PARAM_T_ENUM)
            json_choices(t[i].choices);
        else
            fputs("null", stdout);
        printf(",\"expert\":%s}", t[i].expert ? "true" : "false");
    }
    fputs(t && t[0].name ? "\n  ]" : "]", stdout);
}

static void print_stages_json(const sl_registry *reg)
{
    size_t n = sl_registry_count(reg), shown = 0;
    putchar('[');
    for (size_t i = 0; i < n; i++) {
        const sl_plugin_info *pi = sl_registry_at(reg, i);
        const sl_stage_desc *d = pi->desc;
        if (!d)
            continue;
        fputs(shown++ ? ",\n  {\"name\":" : "\n  {\"name\":", stdout);
        json_str(d->name);
        printf(",\"kind\":\"%s\",\"mode\":\"%s\",\"summary\":", cli_kind_name(d->kind),
               cli_mode_name(d->mode));
        json_str(d->summary);
        fputs(",\"version\":", stdout);
        json_str(d->version);
        printf(",\"abi\":%u,\"file\":", (unsigned)d->abi);
        json_str(pi->path);
        fputs(",\n   \"params\":", stdout);
        json_params(d->params);
        putchar('}');
    }
    fputs(shown ? "\n]\n" : "]\n", stdout);
}

int cmd_stages(int argc, char **argv)
{
    bool verbose = false, json = false;
    int rc = cli_parse_verbose("stages", stages_help, argc, argv, &verbose, &json);
    if (rc >= 0)
        return rc;
    if (optind < argc)
        return cli_usage("stages", "unexpected argument '%s'", argv[optind]);
    sl_error err;
    sl_error_clear(&err);
    sl_registry *reg = NULL;
    sl_status s = sl_registry_create(&reg, &err);
    if (s == SL_OK)
        s = sl_registry_scan(reg, &err);
    rc = s == SL_OK ? CLI_OK : cli_fail(&err, CLI_FAILED);
    if (rc == CLI_OK && json)
        print_stages_json(reg);
    else if (rc == CLI_OK)
        print_stages(reg, verbose);
    sl_registry_destroy(&reg);
    return rc;
}
