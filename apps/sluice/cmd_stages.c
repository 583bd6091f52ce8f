/* apps/sluice/cmd_stages.c - `sluice stages`: every plugin on the search path.
 *
 * Lists what a job may name, one stage per line, then the files that look
 * like plugins but were refused, each with the loader's one-line reason, so
 * a user whose stage is missing sees why without reading loader code. A
 * refused file is not an error of this command: it exits 0. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char stages_help[] =
    "usage: sluice stages [-v]\n\n"
    "Lists the stage plugins found: name, kind and summary; then any file that was\n"
    "refused, with the reason. Search path: each directory of $SLUICE_STAGE_PATH\n"
    "(colon-separated), then the build tree's stages/, then the installed plugins.\n\n"
    "options:\n"
    "  -v, --verbose  also show each plugin's file and the search path\n"
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

int cmd_stages(int argc, char **argv)
{
    bool verbose = false;
    int rc = cli_parse_verbose("stages", stages_help, argc, argv, &verbose);
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
    if (rc == CLI_OK)
        print_stages(reg, verbose);
    sl_registry_destroy(&reg);
    return rc;
}
