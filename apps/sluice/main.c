/* apps/sluice/main.c - the `sluice` command: verb dispatch and shared helpers.
 *
 * `sluice VERB ...` hands the rest of the command line to cmd_VERB. The
 * helpers here keep the promise every verb makes: a failure is one line on
 * stderr starting with "sluice: ", and the exit status is 0 (success),
 * 1 (the run failed), 2 (bad input or usage) or 4 (the run hung: the
 * watchdog's report is the exception to one line). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct cli_verb {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} cli_verb;

static const cli_verb verbs[] = {
    {"run", cmd_run, "run a job file"},
    {"validate", cmd_validate, "check a job file without running it"},
    {"stages", cmd_stages, "list the stage plugins found"},
    {"inspect", cmd_inspect, "describe one stage and its parameters"},
    {"report", cmd_report, "draw a run's --stats file as one HTML page"},
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: sluice COMMAND [ARGS...]\n"
                 "       sluice --help | --version\n\n"
                 "Data-parallel pipelines of stage plugins (OpenMP tasks, MPI, HDF5).\n\n"
                 "commands:\n");
    for (size_t i = 0; i < NVERBS; i++)
        fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(out, "\n'sluice COMMAND --help' describes one command.\n"
                 "Stages are found in $SLUICE_STAGE_PATH (colon-separated), then the build\n"
                 "tree, then the installed plugin directory.\n\n"
                 "exit status: 0 success, 1 the run failed, 2 bad input or usage (job file,\n"
                 "parameters, unknown stage, output path, command line), 4 the run hung\n"
                 "(the watchdog of 'sluice run'), 128+N killed by signal N (a crash; the\n"
                 "stage and batch are named on stderr). See docs/failures.md.\n"
                 "Errors are one line on stderr, starting with 'sluice: '.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(verb, "--version") == 0 || strcmp(verb, "-V") == 0) {
        printf("sluice %s (stage ABI %u)\n", sl_version_string(), (unsigned)SL_STAGE_ABI);
        return CLI_OK;
    }
    const char *names[NVERBS];
    for (size_t i = 0; i < NVERBS; i++) {
        if (strcmp(verb, verbs[i].name) == 0)
            return verbs[i].fn(argc - 1, argv + 1);
        names[i] = verbs[i].name;
    }
    if (verb[0] == '-')
        return cli_usage(NULL, "unknown option '%s'", verb);
    const char *near = sl_nearest(verb, names, NVERBS);
    if (near)
        return cli_usage(NULL, "unknown command '%s' (did you mean '%s'?)", verb, near);
    return cli_usage(NULL, "unknown command '%s'", verb);
}

bool cli_quiet_errors;

int cli_fail(const sl_error *e, int code)
{
    if (cli_quiet_errors)
        return code;
    fputs("sluice: ", stderr);
    for (const char *c = e->msg[0] ? e->msg : sl_status_str(e->code); *c; c++)
        fputc(*c == '\n' || *c == '\r' ? ' ' : *c, stderr);
    fputc('\n', stderr);
    return code;
}

int cli_usage(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sluice: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (verb)
        fprintf(stderr, " (see 'sluice %s --help')\n", verb);
    else
        fputs(" (see 'sluice --help')\n", stderr);
    return CLI_USAGE;
}

int cli_bad_option(const char *verb, int c, char **argv, int optind_now, int optopt_now)
{
    const char *typed = optind_now > 0 ? argv[optind_now - 1] : "";
    if (c == ':')
        return cli_usage(verb, "option '%s' needs a value", typed);
    if (optopt_now)
        return cli_usage(verb, "unknown option '-%c'", optopt_now);
    return cli_usage(verb, "unknown option '%s'", typed);
}

int cli_load_job(sl_job **out, const char *path, char *const *assign, int nassign)
{
    sl_error err;
    sl_error_clear(&err);
    *out = NULL;
    sl_job *job = NULL;
    if (sl_job_load(&job, path, &err) != SL_OK)
        return cli_fail(&err, CLI_USAGE);
    for (int i = 0; i < nassign; i++) {
        if (sl_job_override(job, assign[i], &err) != SL_OK) {
            sl_job_destroy(&job);
            return cli_fail(&err, CLI_USAGE);
        }
    }
    *out = job;
    return CLI_OK;
}

int cli_build_status(sl_status s)
{
    switch (s) {
    case SL_ENOMEM:
    case SL_EMPI:
    case SL_EKERNEL:
    case SL_ECANCELED:
    case SL_ETIMEDOUT:
        return CLI_FAILED;
    default:
        return CLI_USAGE;
    }
}

const char *cli_kind_name(sl_stage_kind k)
{
    switch (k) {
    case SL_KIND_SOURCE: return "source";
    case SL_KIND_TRANSFORM: return "transform";
    case SL_KIND_SINK: return "sink";
    }
    return "?";
}

const char *cli_mode_name(sl_stage_mode m)
{
    switch (m) {
    case SL_MODE_PARALLEL: return "parallel";
    case SL_MODE_SERIAL: return "serial";
    case SL_MODE_ORDERED: return "ordered";
    }
    return "?";
}

int cli_parse_verbose(const char *verb, const char *help, int argc, char **argv, bool *verbose,
                      bool *json)
{
    enum { OPT_JSON = 256 };
    static const struct option longopts[] = {{"verbose", no_argument, NULL, 'v'},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return CLI_OK;
        }
        if (c == 'v')
            *verbose = true;
        else if (c == OPT_JSON && json)
            *json = true;
        else
            return cli_bad_option(verb, c == OPT_JSON ? '?' : c, argv, optind, optopt);
    }
    return -1;
}
