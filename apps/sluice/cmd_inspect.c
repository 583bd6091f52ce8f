/* apps/sluice/cmd_inspect.c - `sluice inspect NAME`: one stage, as a job author needs it.
 *
 * Everything shown comes from the plugin's descriptor and its parameter table,
 * the same table that validates job files, so this page cannot disagree with
 * what `run` accepts. Expert parameters stay hidden unless -v: they exist for
 * tuning and would bury the ones a first job needs. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define INSPECT_CELL 128

static const char inspect_help[] =
    "usage: sluice inspect [-v] NAME\n\n"
    "Describes stage NAME: summary, version, kind, default mode, plugin ABI and file,\n"
    "then its parameters (name, type, default, range, help). Set one in a job file\n"
    "under the stage's 'params:', or on the command line as STAGE.PARAM=VALUE.\n\n"
    "options:\n"
    "  -v, --verbose  also show expert parameters\n"
    "  -h, --help     show this help\n\n"
    "exit status: 0 shown, 2 unknown or rejected stage, or usage.\n";

typedef struct param_row {
    char def[INSPECT_CELL], range[INSPECT_CELL];
} param_row;

static bool shown(const sl_param_spec *s, bool verbose)
{
    return verbose || !s->expert;
}

static void widths(const sl_param_spec *t, bool verbose, int w[4])
{
    w[0] = 9, w[1] = 4, w[2] = 7, w[3] = 5; /* the headings */
    for (size_t i = 0; t && t[i].name; i++) {
        if (!shown(&t[i], verbose))
            continue;
        param_row r;
        sl_param_default_text(&t[i], r.def, sizeof r.def);
        sl_param_range_text(&t[i], r.range, sizeof r.range);
        int len[4] = {(int)strlen(t[i].name), (int)strlen(sl_param_type_name(t[i].type)),
                      (int)strlen(r.def), (int)strlen(r.range)};
        for (int k = 0; k < 4; k++)
            w[k] = len[k] > w[k] ? len[k] : w[k];
    }
}

static void print_params(const sl_param_spec *t, bool verbose)
{
    size_t hidden = 0, visible = 0;
    for (size_t i = 0; t && t[i].name; i++)
        shown(&t[i], verbose) ? visible++ : hidden++;
    if (!visible && !hidden) {
        printf("\nno parameters\n");
        return;
    }
    int w[4];
    widths(t, verbose, w);
    printf("\n%-*s  %-*s  %-*s  %-*s  %s\n", w[0], "PARAMETER", w[1], "TYPE", w[2], "DEFAULT",
           w[3], "RANGE", "HELP");
    for (size_t i = 0; t[i].name; i++) {
        if (!shown(&t[i], verbose))
            continue;
        param_row r;
        sl_param_default_text(&t[i], r.def, sizeof r.def);
        sl_param_range_text(&t[i], r.range, sizeof r.range);
        printf("%-*s  %-*s  %-*s  %-*s  %s%s\n", w[0], t[i].name, w[1],
               sl_param_type_name(t[i].type), w[2], r.def, w[3], r.range,
               t[i].help ? t[i].help : "", t[i].expert ? " (expert)" : "");
    }
    if (hidden)
        printf("(%zu expert parameter%s hidden; -v shows them)\n", hidden, hidden == 1 ? "" : "s");
}

static void print_stage(const sl_stage_desc *d, const char *path, bool verbose)
{
    printf("name      %s\n", d->name);
    printf("summary   %s\n", d->summary ? d->summary : "");
    printf("version   %s\n", d->version ? d->version : "");
    printf("kind      %s\n", cli_kind_name(d->kind));
    printf("mode      %s (default)\n", cli_mode_name(d->mode));
    if (d->flags & SL_STAGE_SINGLE_INSTANCE)
        printf("flags     single-instance\n");
    printf("abi       %u\n", (unsigned)d->abi);
    printf("file      %s\n", path);
    print_params(d->params, verbose);
}

int cmd_inspect(int argc, char **argv)
{
    bool verbose = false;
    int rc = cli_parse_verbose("inspect", inspect_help, argc, argv, &verbose, NULL);
    if (rc >= 0)
        return rc;
    if (optind >= argc)
        return cli_usage("inspect", "no stage name given");
    if (optind + 1 < argc)
        return cli_usage("inspect", "unexpected argument '%s'", argv[optind + 1]);
    sl_error err;
    sl_error_clear(&err);
    sl_registry *reg = NULL;
    const sl_stage_desc *d = NULL;
    const char *path = NULL;
    sl_status s = sl_registry_create(&reg, &err);
    if (s == SL_OK)
        s = sl_registry_find(reg, argv[optind], &d, &path, &err);
    rc = s == SL_OK ? CLI_OK : cli_fail(&err, cli_build_status(s));
    if (rc == CLI_OK)
        print_stage(d, path, verbose);
    sl_registry_destroy(&reg);
    return rc;
}
