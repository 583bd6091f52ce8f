/* lib/resume/journal.h - a rank's append-only record of finished segments
 * (docs/resume.md).
 *
 * One line per record: "J1 <crc32 of the rest, 8 hex digits> <fields>\n",
 * fields separated by spaces, each "name=value": seg (the segment's file
 * name), seqs and rows (ranges "lo-hi" with hi exclusive, comma-separated,
 * "-" for none), res (results "key:u:decimal" or "key:f:hexfloat",
 * comma-separated), dead (dead letters "seq:attempts:stage:error", the two
 * texts in hex, comma-separated). Unknown fields are skipped, so later versions can add
 * some. An append is one write(2) followed by fsync, so a crash leaves at
 * worst one torn last line, whose checksum fails: reading stops there and
 * trusts nothing after it. */
#ifndef SLUICE_RESUME_JOURNAL_H
#define SLUICE_RESUME_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sluice/batch.h>
#include <sluice/error.h>

#include "pipeline/phase.h" /* sl__row_range */

#define SL__JOURNAL_NAME_MAX 128
#define SL__JOURNAL_KEY_MAX 64

typedef struct sl__jresult {
    char key[SL__JOURNAL_KEY_MAX];
    sl_type type; /* SL_TYPE_U64 or SL_TYPE_F64 */
    uint64_t u;
    double f;
} sl__jresult;

/* A batch given up with on_error: deadletter (its seq is in seqs too). */
typedef struct sl__jdead {
    uint64_t seq;
    unsigned attempts;
    char *stage;
    char *error;
} sl__jdead;

typedef struct sl__jrec {
    char segment[SL__JOURNAL_NAME_MAX];
    sl__row_range *seqs;
    size_t nseqs;
    sl__row_range *rows;
    size_t nrows;
    sl__jresult *res;
    size_t nres;
    sl__jdead *dead;
    size_t ndead;
} sl__jrec;

typedef struct sl__journal sl__journal;

/* Opens (creating) the journal at path for appending; syncs its directory
 * when it was created, so the file itself survives a crash. */
sl_status sl__journal_open(sl__journal **out, const char *path, sl_error *err);
/* Appends r durably: returns once the line is on disk. */
sl_status sl__journal_append(sl__journal *j, const sl__jrec *r, sl_error *err);
void sl__journal_close(sl__journal **j);

/* Every intact record of the journal at path, in order (a missing file has
 * none). *torn says whether a damaged tail was ignored. Owned by caller:
 * *recs (sl__jrecs_free). */
sl_status sl__journal_read(const char *path, sl__jrec **recs, size_t *n, bool *torn,
                           sl_error *err);
void sl__jrecs_free(sl__jrec *recs, size_t n);

#endif
