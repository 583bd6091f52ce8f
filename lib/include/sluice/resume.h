/* sluice/resume.h - what a resumed run must share with the run it resumes.
 *
 * A resume reuses the batches an interrupted run finished, so it must make
 * the same batches: the same stages in the same order, the same plugins and
 * versions, every parameter the same after defaults, the same mode, source
 * plan and failure outcome settings (on_error, retries, timeout). Threads,
 * ranks, schedule, concurrency, queue sizes, rate, priority and the like
 * change how fast, not what, and are left out. See docs/resume.md. */
#ifndef SLUICE_RESUME_H
#define SLUICE_RESUME_H

#include <stddef.h>

#include <sluice/error.h>
#include <sluice/pipeline.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The pipeline's fingerprint: canonical text, one "scope<TAB>key<TAB>value"
 * line per setting, equal text for equal results. Owned by caller: *out
 * (free()). */
sl_status sl_pipeline_fingerprint(const sl_pipeline *p, char **out, sl_error *err);

/* Compares the fingerprint a run recorded (was) with the current one (now).
 * Returns how many settings differ and writes one line per difference into
 * buf (at most cap bytes, cut at a line end), e.g. "stage 'intervals'
 * parameter 'stop' was 10000000000, is now 100000000000". 0: resumable. */
size_t sl_fingerprint_diff(const char *was, const char *now, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
