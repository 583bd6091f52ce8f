/* lib/h5/h5_reason.h - one line of why an HDF5 call failed.
 *
 * HDF5 reports a failure as a stack of frames, innermost last, and prints it
 * all unless told not to; sluice's errors are one line. Everything that calls
 * HDF5 (the h5sink and h5source stages, the multi-rank merge) silences the
 * automatic printing and takes the innermost frame's text as the reason.
 * A static library (sluice_h5), so plugins can use it without libsluice
 * linking HDF5. */
#ifndef SLUICE_H5_REASON_H
#define SLUICE_H5_REASON_H

#include <stddef.h>

/* Stops HDF5 printing its error stack (for the calling thread's default stack). */
void sl__h5_quiet(void);

/* Copies the innermost reason of the last HDF5 failure into buf (at most cap
 * bytes, "unknown HDF5 error" when there is none), clears the stack, and
 * returns buf. */
const char *sl__h5_reason(char *buf, size_t cap);

#endif
