/* lib/dist/h5merge.h - stitching the per-rank output files of a multi-rank run
 * into the one file the user asked for.
 *
 * In batch mode every rank runs the whole pipeline, so every rank's sink
 * writes its own part file, with its rows at the offsets their seq fixes and
 * fill values elsewhere. At the end rank 0 merges: rank 0's part becomes the
 * result (its root attributes, i.e. the job metadata and the reduced results,
 * are the file's), and every other rank's rows are copied in, dataset by
 * dataset, range by range. No collective HDF5 call is made per batch; the
 * merge reads each rank's rows once. */
#ifndef SLUICE_DIST_H5MERGE_H
#define SLUICE_DIST_H5MERGE_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/error.h>

#include "pipeline/phase.h"

/* sl__row_range (rows [lo, hi)) comes from the pipeline's phase API;
 * sl__row_ranges_coalesce from util/ranges.h. */
#include "util/ranges.h"

/* Merges parts[0..nparts) into dest.
 *
 * - parts[0] must exist; it is renamed to dest (same directory) and becomes
 *   the base. dest must not exist.
 * - parts[k], k >= 1, may be NULL or name a file that does not exist (that
 *   rank's sink wrote nothing); otherwise it is read, never changed.
 * - Row datasets are the datasets linked at the file's root with at least one
 *   dimension; dimension 0 is the row. For each part k >= 1 and each of its
 *   row datasets D: when dest has no D, D is copied whole (H5Ocopy: type,
 *   shape, chunking, filters, attributes and all rows). Otherwise D's type
 *   and trailing dimensions must equal dest's (error naming the dataset and
 *   both files), dest's D is extended when its dimension 0 is shorter than a
 *   range's hi, and the rows of ranges[k][0..nranges[k]) are copied from the
 *   part into dest at the same offsets, in blocks of bounded size (about
 *   16 MiB at a time, whatever the range length; for variable-length types
 *   the bound counts the hvl_t descriptors, not the data they point at).
 *   Any HDF5 type the sink writes is handled, variable-length ones included.
 * - Anything else in a part (groups, root attributes) is ignored: those come
 *   from rank 0.
 * - ranges[0]/nranges[0] are ignored (rank 0's rows are already in place).
 *   The other ranges may come in any order and overlap; one with lo > hi is
 *   refused before parts[0] moves.
 *
 * Codes: SL_EEXIST when dest exists, SL_ENOTFOUND when parts[0] does not,
 * SL_EINVAL for a type or shape mismatch, SL_ERANGE when a range ends beyond
 * a fixed-size dataset of dest or beyond the part's own rows, SL_EIO for HDF5
 * and file system failures.
 *
 * Errors are one line naming the file and dataset; HDF5's own error stack is
 * never printed. On failure dest may exist and is the caller's to remove. */
sl_status sl__h5merge(const char *dest, const char *const *parts, int nparts,
                      const sl__row_range *const *ranges, const size_t *nranges, sl_error *err);

#endif
