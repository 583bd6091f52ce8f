/* lib/pipeline/rebatch.h - the rebatch stage's work, done by the executor.
 *
 * A rebatch (SL_STAGE_REBATCH) takes batches in order and emits batches of
 * `rows` rows: it appends each input's rows to the rows gathered so far and
 * emits from the front. Rows must be contiguous to be joined; an input whose
 * rows do not follow (another rank's chunk, a dropped batch before it)
 * first flushes what was gathered. One step emits at most one batch, so a
 * rebatch job needs one downstream credit like any other; the executor
 * fires it again while a batch's worth is gathered. The end of the stream
 * counts inputs absorbed and batches emitted (pipeline_impl.h). */
#ifndef SLUICE_PIPELINE_REBATCH_H
#define SLUICE_PIPELINE_REBATCH_H

#include <stdbool.h>

#include <sluice/batch.h>
#include <sluice/error.h>

struct sl_pipeline;
struct pl_stage;

/* One step with input `in` (NULL: emit from what is gathered). The step
 * owns in. *out is the batch to pass on, or NULL. */
sl_status sl__rebatch_step(struct sl_pipeline *p, struct pl_stage *st, sl_batch *in,
                           sl_batch **out, sl_error *err);
/* Every batch upstream of the rebatch has reached it or was dropped. */
bool sl__rebatch_upstream_done(const struct sl_pipeline *p);
/* Nothing gathered and nothing held back. */
bool sl__rebatch_empty(const struct sl_pipeline *p);
/* Between rounds: rows are left and nothing more will come, so a round
 * would emit them. */
bool sl__rebatch_pending(const struct sl_pipeline *p);
/* After the run: gives the gathered and held batches back to the pool. */
void sl__rebatch_drain(struct sl_pipeline *p, struct pl_stage *st);

#endif
