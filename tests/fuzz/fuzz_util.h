/* tests/fuzz/fuzz_util.h - what every harness checks about a failed call.
 *
 * A harness aborts (libFuzzer then saves the input as a crash) when the
 * library breaks a promise it states in its headers, not only when it
 * crashes: an error must come back with a non-empty, one-line message
 * (sluice/error.h), and the status it returns must be the one it recorded. */
#ifndef SLUICE_FUZZ_UTIL_H
#define SLUICE_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/error.h>

/* Prints why and aborts; libFuzzer reports it as a crash with the input. */
#define FUZZ_FAIL(...)                                                                 \
    do {                                                                               \
        fprintf(stderr, "fuzz invariant broken at %s:%d: ", __FILE__, __LINE__);      \
        fprintf(stderr, __VA_ARGS__);                                                  \
        fputc('\n', stderr);                                                           \
        abort();                                                                       \
    } while (0)

#define FUZZ_ASSERT(cond, ...)                                                         \
    do {                                                                               \
        if (!(cond))                                                                   \
            FUZZ_FAIL(__VA_ARGS__);                                                    \
    } while (0)

/* The promises of a failed call: the code it returned is in err, and the
 * message is there and one line. Accepts s == SL_OK (nothing to check). */
static inline void fuzz_check_error(sl_status s, const sl_error *err, const char *call)
{
    if (s == SL_OK)
        return;
    FUZZ_ASSERT(err->code == s, "%s returned %s but recorded %s: %s", call, sl_status_name(s),
                sl_status_name(err->code), err->msg);
    FUZZ_ASSERT(err->msg[0] != '\0', "%s failed (%s) with an empty message", call,
                sl_status_name(s));
    FUZZ_ASSERT(strchr(err->msg, '\n') == NULL && strchr(err->msg, '\r') == NULL,
                "%s failed with a message of several lines: [%s]", call, err->msg);
}

#endif
