/* sluice/error.h - status codes and error context carried up the call chain.
 *
 * Every fallible function returns an sl_status and, on failure, fills the
 * sl_error its caller passed: a one-line message (what, which value, which
 * limit) plus a short stack of file:line frames. Messages are written for the
 * user: "stage 'primes': parameter 'width'=0 is below minimum 1". */
#ifndef SLUICE_ERROR_H
#define SLUICE_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SL_STATUS_MAP(X)                                   \
    X(SL_OK, 0, "success")                                 \
    X(SL_EINVAL, -1, "invalid argument")                   \
    X(SL_ENOMEM, -2, "out of memory")                      \
    X(SL_EIO, -3, "i/o error")                             \
    X(SL_ENOTAVAIL, -4, "not available on this node")      \
    X(SL_EMPI, -5, "MPI error")                            \
    X(SL_EABI, -6, "plugin ABI mismatch")                  \
    X(SL_ENOTFOUND, -7, "not found")                       \
    X(SL_EEXIST, -8, "already exists")                     \
    X(SL_ERANGE, -9, "value out of range")                 \
    X(SL_ESYNTAX, -10, "syntax error")                     \
    X(SL_ECANCELED, -11, "canceled")                       \
    X(SL_EKERNEL, -12, "stage kernel failed")              \
    X(SL_ETIMEDOUT, -13, "timed out")

typedef enum {
#define SL_X_(name, val, msg) name = val,
    SL_STATUS_MAP(SL_X_)
#undef SL_X_
} sl_status;

#define SL_ERROR_MSG_MAX 512
#define SL_ERROR_FRAMES 8

typedef struct sl_error_frame {
    const char *file; /* static strings from __FILE__/__func__ */
    const char *func;
    int line;
} sl_error_frame;

typedef struct sl_error {
    sl_status code;
    int rank;          /* -1 until the distribution layer knows it */
    int nframes;
    sl_error_frame frames[SL_ERROR_FRAMES];
    char msg[SL_ERROR_MSG_MAX];
} sl_error;

const char *sl_status_name(sl_status s); /* "SL_EINVAL" */
const char *sl_status_str(sl_status s);  /* "invalid argument" */

/* Resets e to SL_OK with an empty message. Accepts NULL. */
void sl_error_clear(sl_error *e);

/* Sets code and a printf-style message, replaces any earlier error, records
 * the first frame and returns code. Accepts e == NULL (then only returns). */
sl_status sl_error_set(sl_error *e, sl_status code, const char *file, int line,
                       const char *func, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Adds a frame to an error already set further down and returns code. When
 * nothing was set (a callee forgot), fills a generic message from code. */
sl_status sl_error_push(sl_error *e, sl_status code, const char *file, int line,
                        const char *func);

/* Prefixes the message with "prefix: " (e.g. the job file name or the stage). */
void sl_error_prefix(sl_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies src into dst (both non-NULL). */
void sl_error_copy(sl_error *dst, const sl_error *src);

/* Propagate a failure, adding this frame. Needs `sl_error *err` in scope. */
#define SL_TRY(call)                                                            \
    do {                                                                        \
        sl_status sl_s_ = (call);                                               \
        if (sl_s_ != SL_OK)                                                     \
            return sl_error_push(err, sl_s_, __FILE__, __LINE__, __func__);     \
    } while (0)

/* Fail with a message when cond is false. Needs `sl_error *err` in scope. */
#define SL_CHECK(cond, code, ...)                                               \
    do {                                                                        \
        if (!(cond))                                                            \
            return sl_error_set(err, (code), __FILE__, __LINE__, __func__,      \
                                __VA_ARGS__);                                   \
    } while (0)

/* Set an error without returning (for paths that must clean up first). */
#define SL_FAIL(code, ...) sl_error_set(err, (code), __FILE__, __LINE__, __func__, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
