/* apps/sluice/cmd_validate.c - `sluice validate JOB`: everything run checks, no run.
 *
 * The job is loaded, the overrides applied and the pipeline built with
 * validate_only, which finds every plugin and checks every parameter and the
 * structure but never touches the output path. So a job that validates fails
 * later only for reasons of the machine or the data. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char validate_help[] =
    "usage: sluice validate JOB [STAGE.PARAM=VALUE ...]\n\n"
    "Checks the job file JOB as `sluice run` would (stages found, parameters valid,\n"
    "pipeline well formed) without running it or touching its output, and prints\n"
    "  JOB: ok (N stages: a -> b -> c)\n\n"
    "options:\n"
    "  -h, --help   show this help\n\n"
    "exit status: 0 valid, 2 bad input or usage (job file, parameters, unknown stage).\n";

static void print_ok(const char *path, const sl_job *job)
{
    size_t n = sl_job_nstages(job);
    printf("%s: ok (%zu stage%s: ", path, n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? " -> " : "", sl_job_stage_at(job, i)->name);
    printf(")\n");
}

static int validate_job(const char *path, const sl_job *job)
{
    sl_error err;
    sl_error_clear(&err);
    sl_pipeline_opts opts = {
        .threads = sl_job_threads(job),
        .output = sl_job_output(job),
        .job_name = sl_job_name(job),
        .job_text = sl_job_text(job),
        .validate_only = true,
    };
    sl_registry *reg = NULL;
    sl_pipeline *p = NULL;
    sl_status s = sl_registry_create(&reg, &err);
    if (s == SL_OK)
        s = sl_pipeline_from_job(&p, job, reg, &opts, &err);
    int rc = s == SL_OK ? CLI_OK : cli_fail(&err, cli_build_status(s));
    if (rc == CLI_OK)
        print_ok(path, job);
    sl_pipeline_destroy(&p);
    sl_registry_destroy(&reg);
    return rc;
}

int cmd_validate(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c != 'h')
            return cli_bad_option("validate", c, argv, optind, optopt);
        fputs(validate_help, stdout);
        return CLI_OK;
    }
    if (optind >= argc)
        return cli_usage("validate", "no job file given");
    sl_job *job = NULL;
    int rc = cli_load_job(&job, argv[optind], argv + optind + 1, argc - optind - 1);
    if (rc == CLI_OK)
        rc = validate_job(argv[optind], job);
    sl_job_destroy(&job);
    return rc;
}
