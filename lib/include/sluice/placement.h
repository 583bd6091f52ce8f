/* sluice/placement.h - which ranks run which stages, once the rank count is known.
 *
 * In batch mode (no stage has `ranks:`) every rank runs the whole pipeline
 * and only the distribution settings matter. In stage mode the job places
 * stages on groups of ranks, and batches cross between groups. A job file
 * cannot know the rank count, so placement is resolved at run time, here,
 * and every error still points into the file. Resolution rules:
 *
 *  1. `all` is every rank. A list ("0", "1-3", "0,2,5-7") is those ranks;
 *     every rank in it must be below the rank count.
 *  2. A stage without `ranks:` runs where the stage before it runs. The first
 *     stage without `ranks:` runs on rank 0.
 *  3. `rest` is every rank that no list names, counting rule 2's rank 0 as
 *     named. Several stages may say `rest` only when they are consecutive
 *     (stages between them without `ranks:` are fine); they share one group.
 *  4. A group is the set of ranks of a stage. Two groups are the same set or
 *     share no rank; a partial overlap is an error naming both stages. The
 *     same set written twice ("0" for the source and the sink) is one group.
 *  5. An empty group (`rest` with no rank left) is an error.
 *  6. Ranks that run no stage are allowed; sl_placement_warning says which.
 *  7. With route weighted, route_weights must have one entry per rank of
 *     every group of two or more ranks that receives batches from another.
 *
 * Nothing here is collective: every rank resolves the same job to the same
 * placement on its own. */
#ifndef SLUICE_PLACEMENT_H
#define SLUICE_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>

#include <sluice/error.h>
#include <sluice/job.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_placement sl_placement;

/* True when any stage has `ranks:` (from the file or STAGE.ranks=...). */
bool sl_job_stage_mode(const sl_job *job);

/* Checks the distribution settings against each other and the rank count
 * (weights: one per rank). Call it after the command line is applied. */
sl_status sl_job_dist_check(const sl_job *job, int nranks, sl_error *err);

/* Resolves every stage's `ranks:` for nranks ranks by the rules above.
 * Errors start with the origin of the offending `ranks:` value, e.g.
 * "jobs/p.yaml:9:12: stage 'sink': ranks '0-4' names rank 4, but the job has
 * only 4 ranks (0-3)". Owned by caller: *out (release with
 * sl_placement_destroy); NULL on failure. Borrows job only during the call. */
sl_status sl_placement_resolve(sl_placement **out, const sl_job *job, int nranks,
                               sl_error *err);

/* The distinct groups, numbered in pipeline order of first use. */
size_t sl_placement_ngroups(const sl_placement *pl);
/* The group index of stage `stage`; -1 when stage is out of range. */
int sl_placement_group_of(const sl_placement *pl, size_t stage);
/* The ranks of group g, ascending; *n gets their count (0 and NULL when g
 * is out of range). Valid until sl_placement_destroy. */
const int *sl_placement_ranks(const sl_placement *pl, size_t g, size_t *n);

/* The segments: maximal runs of consecutive stages in the same group, in
 * pipeline order. Segment k covers stages first..last and runs on group
 * (0, 0 and -1 when k is out of range). */
size_t sl_placement_nsegments(const sl_placement *pl);
void sl_placement_segment(const sl_placement *pl, size_t k, size_t *first, size_t *last,
                          int *group);

/* One line naming the ranks that run no stage ("jobs/p.yaml:7:12: ranks 3-4
 * of 5 run no stage and stay idle"), or NULL when every rank has work.
 * Valid until sl_placement_destroy. */
const char *sl_placement_warning(const sl_placement *pl);

void sl_placement_destroy(sl_placement **pl); /* accepts NULL and *pl == NULL; sets *pl = NULL */

#ifdef __cplusplus
}
#endif
#endif
