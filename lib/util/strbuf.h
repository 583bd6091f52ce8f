/* lib/util/strbuf.h - a growing string built with printf formats, for text
 * the library writes (fingerprints, journal records). An allocation failure
 * is remembered and reported once, at the end (oom), so callers need not
 * check every append. */
#ifndef SLUICE_UTIL_STRBUF_H
#define SLUICE_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sl__strbuf {
    char *s;   /* NUL-terminated once anything was appended; owned */
    size_t len, cap;
    bool oom;  /* an append failed: s is incomplete */
} sl__strbuf;

void sl__strbuf_printf(sl__strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sl__strbuf_free(sl__strbuf *b);

#endif
