/* lib/schema/schema_impl.h - the schema's layout, for the core (the pipeline
 * makes, copies and frees them). */
#ifndef SLUICE_SCHEMA_IMPL_H
#define SLUICE_SCHEMA_IMPL_H

#include <sluice/schema.h>

typedef struct sl__schema_entry {
    char name[SL_COLUMN_NAME_MAX];
    sl_type type;
    int ndims;
    uint64_t dims[SL_MAX_DIMS];
    char origin[SL_SCHEMA_ORIGIN_MAX];
} sl__schema_entry;

struct sl_schema {
    size_t n;
    sl__schema_entry col[SL_BATCH_MAX_COLUMNS];
};

#endif
