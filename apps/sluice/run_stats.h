/* apps/sluice/run_stats.h - what `sluice run` says about a run's figures:
 * the bottleneck report after the summary, and the --stats file. */
#ifndef SLUICE_RUN_STATS_H
#define SLUICE_RUN_STATS_H

#include <stdbool.h>

#include <sluice/sluice.h>

/* Prints the per-stage table and the bottleneck (unless quiet), and writes
 * the stats file when stats_path is set. Rank 0 only, after a successful
 * run. Returns the exit status: CLI_OK, or CLI_FAILED when the file could
 * not be written (the message printed). */
int run_stats_report(const sl_pipeline *p, const char *stats_path, bool quiet);

#endif
