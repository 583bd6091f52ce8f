/* sluice/schema.h - the columns a pipeline's batches carry, known before any
 * batch runs.
 *
 * A stage may describe what its batches carry after it (the `columns`
 * callback of sl_stage_desc): a source says what it makes, a transform what
 * it needs from the columns that reach it and what it adds or drops. The
 * core calls it when the stage is added, on the first instance, so a job
 * whose columns do not fit (a dataset of 3 x 3 matrices into a stage that
 * multiplies them by 4 x 4 ones, a float column where integers are needed)
 * fails at `sluice validate` or before the run with one line naming the
 * column and where its values come from, instead of at its first batch.
 * After a stage without the callback the columns are unknown and the stages
 * after it are not checked; their process() still checks each batch.
 *
 * Each column keeps its origin, a short text saying where its values come
 * from ("in.h5:/inputs/A", "stage 'matgen'"), for the messages. */
#ifndef SLUICE_SCHEMA_H
#define SLUICE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/batch.h>
#include <sluice/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SL_SCHEMA_ORIGIN_MAX 256

typedef struct sl_schema sl_schema;

/* One column, as described; the strings and dims live in the schema. */
typedef struct sl_schema_col {
    const char *name;
    sl_type type;
    int ndims; /* 0: one value per row */
    const uint64_t *dims;
    const char *origin;
} sl_schema_col;

size_t sl_schema_count(const sl_schema *s);
/* Column i (in the order they were set); false when i is out of range. */
bool sl_schema_at(const sl_schema *s, size_t i, sl_schema_col *out);
/* The column called name; false when there is none. */
bool sl_schema_find(const sl_schema *s, const char *name, sl_schema_col *out);
/* Adds the column, or replaces the one of that name (a stage that rewrites
 * a column). dims may be NULL when ndims is 0. Fails on a bad name, type or
 * shape, or when SL_BATCH_MAX_COLUMNS are there already. */
sl_status sl_schema_set(sl_schema *s, const char *name, sl_type type, int ndims,
                        const uint64_t *dims, const char *origin, sl_error *err);
/* Removes the column called name, if any. */
void sl_schema_drop(sl_schema *s, const char *name);

/* The column a stage needs: present, of that type and (ndims >= 0) of that
 * many dimensions; else fails with one line naming the column, what it is
 * and where it comes from, or the columns there are. */
sl_status sl_schema_need(const sl_schema *s, const char *name, sl_type type, int ndims,
                         sl_schema_col *out, sl_error *err);
/* "3 x 3 f64, from in.h5:/A" or "u64, from stage 'range'": for messages. */
const char *sl_schema_describe(const sl_schema_col *c, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
