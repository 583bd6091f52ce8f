/* apps/sluice/cli.h - what the `sluice` command's verb files share.
 *
 * One file per verb (cmd_<verb>.c); main.c dispatches and holds the helpers
 * below. Every failure is exactly one line on stderr, "sluice: " + message,
 * and the exit status says whose fault it was: CLI_FAILED when a run went
 * wrong, CLI_USAGE for bad input (usage, job file, parameters, unknown stage,
 * output path), CLI_HUNG when the watchdog found the run hung (4, also the
 * status the watchdog's own _exit uses). */
#ifndef SLUICE_CLI_H
#define SLUICE_CLI_H

#include <stdbool.h>

#include <sluice/sluice.h>

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2, CLI_RESUMABLE = 3, CLI_HUNG = SL_WATCHDOG_EXIT_STATUS };

/* Each verb gets argv with argv[0] == the verb's name. */
int cmd_run(int argc, char **argv);
int cmd_stages(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Set on MPI ranks other than 0: errors are agreed on and rank 0 prints them. */
extern bool cli_quiet_errors;

/* Prints "sluice: <e->msg>" on one line (newlines in the message become
 * spaces) and returns code. */
int cli_fail(const sl_error *e, int code);

/* Prints "sluice: <message> (see 'sluice VERB --help')" and returns CLI_USAGE. */
int cli_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports what getopt_long (optstring starting with ':') returned as c, '?'
 * or ':', in the words the user typed. Returns CLI_USAGE. */
int cli_bad_option(const char *verb, int c, char **argv, int optind_now, int optopt_now);
/* Parses the options of a verb that takes only -v/--verbose, -h/--help and,
 * when json is not NULL, --json.
 * Returns -1 to go on (optind at the first operand), else the exit status
 * (help printed, or a usage error reported). */
int cli_parse_verbose(const char *verb, const char *help, int argc, char **argv, bool *verbose,
                      bool *json);

/* Loads the job file and applies each "STAGE.PARAM=VALUE". Owned by caller:
 * *out. On failure prints the error, leaves *out NULL and returns CLI_USAGE. */
int cli_load_job(sl_job **out, const char *path, char *const *assign, int nassign);

/* Exit status for a failure while building a pipeline: bad input, except
 * for the failures that are the machine's (memory, MPI, a stage kernel). */
int cli_build_status(sl_status s);

/* "source", "transform", "sink"; "parallel", "serial", "ordered" ("?" otherwise). */
const char *cli_kind_name(sl_stage_kind k);
const char *cli_mode_name(sl_stage_mode m);

#endif
