/* lib/util/durable.h - making a write survive a crash of the machine.
 *
 * A rename or a new file is durable only once the directory holding it is
 * synced, and a file's data only once the file is; the resume state
 * (lib/resume, lib/pipeline/checkpoint.c) and the published output
 * (lib/dist/resume_run.c) order their steps with these two calls. */
#ifndef SLUICE_UTIL_DURABLE_H
#define SLUICE_UTIL_DURABLE_H

#include <stdbool.h>

#include <sluice/error.h>

/* fsync of path (a file, or a directory when dir). */
sl_status sl__fsync_path(const char *path, bool dir, sl_error *err);
/* fsync of the directory that holds path ("." for a bare name). */
sl_status sl__fsync_parent(const char *path, sl_error *err);

#endif
