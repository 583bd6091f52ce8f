/* lib/pipeline/watch.c - the watchdog and the crash message (placeholder:
 * being written). */
#include "pipeline/watch.h"

#include "pipeline/pipeline_impl.h"

void sl__watch_job_begin(struct sl_pipeline *p, int stage, uint64_t seq)
{
    (void)p;
    (void)stage;
    (void)seq;
}

void sl__watch_job_end(struct sl_pipeline *p) { (void)p; }

sl_status sl__watch_start(struct sl_pipeline *p, sl_error *err)
{
    (void)p;
    (void)err;
    return SL_OK;
}

void sl__watch_stop(struct sl_pipeline *p) { (void)p; }
