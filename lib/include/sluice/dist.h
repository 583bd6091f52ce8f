/* sluice/dist.h - one pipeline over many MPI ranks (libsluice_dist).
 *
 * The distribution layer is the only part of sluice that calls MPI. A process
 * started by mpirun or srun initialises MPI and is one rank of the job; a
 * process started on its own is a single rank and never touches MPI (set
 * SLUICE_MPI=1 to force MPI's singleton start, SLUICE_MPI=0 to never start
 * it). Stage plugins never see MPI: they see sl_ctx_rank/sl_ctx_nranks.
 *
 * Batch mode (the default): every rank runs the whole pipeline on the batch
 * seqs the schedule gives it; each rank's sink writes a part file and rank 0
 * merges them, so the output is the same for any rank count. See
 * docs/distributed.md. */
#ifndef SLUICE_DIST_H
#define SLUICE_DIST_H

#include <stdbool.h>

#include <sluice/error.h>
#include <sluice/job.h>
#include <sluice/pipeline.h>
#include <sluice/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_dist sl_dist;

/* Starts MPI when the process is one rank of a parallel launch, asking for
 * the thread level the run needs (MPI_THREAD_FUNNELED) and failing with a
 * clear message when the library offers less. Owned by caller: *out. */
sl_status sl_dist_init(sl_dist **out, int *argc, char ***argv, sl_error *err);

int sl_dist_rank(const sl_dist *d);
int sl_dist_size(const sl_dist *d);
bool sl_dist_uses_mpi(const sl_dist *d);

/* Every rank calls it with its own status and error; afterwards every rank
 * holds the error of the lowest failing rank (prefixed "rank N: " when
 * name_rank and there are several ranks) and returns its status, or SL_OK
 * when all succeeded. Collective. */
sl_status sl_dist_agree(sl_dist *d, sl_status s, sl_error *err, bool name_rank);

/* Runs p (built from job with reg) on every rank as the job's distribution
 * settings say: batch mode, or stage mode when the job places stages on
 * ranks (then each rank builds and runs its part of the job), and reduces
 * the results and figures to rank 0 (sl_pipeline_stage_stats, the results of
 * sl_pipeline_ctx and sl_pipeline_wall on rank 0 are the whole job's) and
 * publishes one output file. Collective; every rank returns the same status. */
sl_status sl_dist_run(sl_dist *d, sl_pipeline *p, const sl_job *job, sl_registry *reg,
                      sl_error *err);

/* Checks what only the rank count decides (stage placement: ranks that
 * exist, groups that do not overlap, the file written on rank 0's group)
 * before anything runs. *warning: a line to show the user (idle ranks), or
 * NULL. Every rank decides the same. */
sl_status sl_dist_check(sl_dist *d, sl_pipeline *p, const sl_job *job, const char **warning,
                        sl_error *err);

/* Ends every rank at once (a second signal): MPI_Abort under MPI. */
void sl_dist_abort(sl_dist *d, int code);

/* Finalises MPI when it was started. */
void sl_dist_finalize(sl_dist **d);

#ifdef __cplusplus
}
#endif
#endif
