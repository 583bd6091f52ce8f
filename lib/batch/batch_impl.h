/* lib/batch/batch_impl.h - the private layout of sl_batch, shared by batch.c and batch_pack.c.
 *
 * slots[0 .. ncols) are the live columns in insertion order. slots[ncols ..
 * SL_BATCH_MAX_COLUMNS) are free, but keep the buffers of columns that were
 * dropped or reset, so that a later add reuses them and a pooled batch stops
 * allocating once it has seen its largest shape. Dropping a column shifts the
 * later ones down (order is kept) and parks the dropped slot after them. */
#ifndef SLUICE_BATCH_IMPL_H
#define SLUICE_BATCH_IMPL_H

#include <sluice/batch.h>

/* Column storage alignment: BLAS and SIMD kernels read columns directly. */
#define SL__BATCH_ALIGN 64

typedef struct sl__batch_slot {
    sl_column col; /* first member: sl_batch_col hands out &slot->col */
    size_t rows;   /* nrows when the column was added: what its buffers hold */
    size_t filled; /* rows written: == rows for fixed types, appended so far for BYTES */
} sl__batch_slot;

/* A total the batch contributes to (sl_batch_result_add_*). */
typedef struct sl__batch_result {
    char key[SL_BATCH_RESULT_KEY_MAX];
    sl_type type; /* SL_TYPE_U64 or SL_TYPE_F64 */
    uint64_t u;
    double f;
} sl__batch_result;

struct sl_batch {
    uint64_t seq;
    uint64_t row0;
    uint64_t lidx;
    size_t nrows;
    int ncols;
    int nresults;
    sl__batch_slot slots[SL_BATCH_MAX_COLUMNS];
    sl__batch_result results[SL_BATCH_MAX_RESULTS];
};

/* Claims a free slot for a new column called name (already validated, not
 * present), sized for data_bytes of data and, if offsets_n > 0, offsets_n
 * offsets; the slot becomes slots[ncols - 1]. Reuses the best-fitting kept
 * buffer. Fails only with SL_ENOMEM or SL_ERANGE (no free slot). */
sl_status sl__batch_claim(sl_batch *b, const char *name, sl_type type, size_t data_bytes,
                          size_t offsets_n, sl__batch_slot **out, sl_error *err);

/* Bytes of a fixed-type column: *row_elems = product of dims (1 when ndims is
 * 0), *bytes = nrows * row_elems * element size. ndims and dims must already be
 * valid. false when the product exceeds PTRDIFF_MAX (pointer arithmetic over
 * the column must stay defined). */
bool sl__batch_shape_bytes(sl_type type, int ndims, const uint64_t *dims, size_t nrows,
                           size_t *row_elems, size_t *bytes);

/* Grows a slot's data buffer to at least need bytes, keeping its contents. */
sl_status sl__batch_grow_data(sl__batch_slot *s, size_t need, sl_error *err);
/* Grows a BYTES slot's offsets to at least n entries, keeping rows + 1. */
sl_status sl__batch_grow_offsets(sl__batch_slot *s, size_t n, sl_error *err);

#endif
