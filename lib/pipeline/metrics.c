/* lib/pipeline/metrics.c - per-stage metrics (placeholder: being written). */
#include "pipeline/metrics.h"

#include "pipeline/pipeline_impl.h"

void sl__metrics_job(struct sl_pipeline *p, int stage, uint64_t seq, uint64_t t0_ns,
                     uint64_t t1_ns, uint64_t rows_in, uint64_t rows_out, bool ok)
{
    (void)p;
    (void)stage;
    (void)seq;
    (void)t0_ns;
    (void)t1_ns;
    (void)rows_in;
    (void)rows_out;
    (void)ok;
}

sl_status sl__metrics_start(struct sl_pipeline *p, sl_error *err)
{
    (void)p;
    (void)err;
    return SL_OK;
}

void sl__metrics_stop(struct sl_pipeline *p) { (void)p; }
