/* apps/sluice/run_stats.c - the bottleneck report and the --stats file.
 *
 * After the summary, one table with what the sampler and the per-attempt
 * counts say of each stage (utilisation, how often it was starved of input
 * or blocked on its downstream queue, how often its input queue was full,
 * latency percentiles), then the slowest stage, why, and what to change.
 * The figures are the job's (rank 0 holds every rank's after a multi-rank
 * run); docs/stats.md says how each is measured. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "run_stats.h"

static void print_table(const sl_pipeline *p)
{
    size_t n = sl_pipeline_nstages(p);
    int w = 5;
    for (size_t i = 0; i < n; i++) {
        sl_stage_metrics m;
        if (sl_pipeline_stage_metrics(p, i, SL_STATS_JOB, &m) && (int)strlen(m.name) > w)
            w = (int)strlen(m.name);
    }
    printf("  %-*s %6s %8s %8s %8s %10s %10s\n", w, "stage", "util", "starved", "blocked",
           "q full", "p50 ms", "p99 ms");
    for (size_t i = 0; i < n; i++) {
        sl_stage_metrics m;
        if (!sl_pipeline_stage_metrics(p, i, SL_STATS_JOB, &m))
            continue;
        printf("  %-*s %5.0f%% %7.0f%% %7.0f%% ", w, m.name, 100 * m.utilisation,
               100 * m.starved_frac, 100 * m.blocked_frac);
        if (m.queue > 0)
            printf("%7.0f%%", 100 * m.queue_full_frac);
        else
            printf("%8s", "-");
        printf(" %10.3g %10.3g\n", m.p50_ms, m.p99_ms);
    }
}

int run_stats_report(const sl_pipeline *p, const char *stats_path, bool quiet)
{
    if (!quiet && sl_pipeline_stats_ranks(p) > 0) {
        print_table(p);
        sl_bottleneck b;
        if (sl_pipeline_bottleneck(p, &b) >= 0)
            printf("bottleneck: %s\n  suggestion: %s\n", b.reason, b.suggestion);
    }
    if (!stats_path)
        return CLI_OK;
    sl_error err;
    sl_error_clear(&err);
    if (sl_pipeline_write_stats_json(p, stats_path, &err) != SL_OK)
        return cli_fail(&err, CLI_FAILED);
    return CLI_OK;
}
