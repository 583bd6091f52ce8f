/* lib/pipeline/limits.c - bounds on what a job may ask for.
 *
 * A job file is data that may come from someone else, so the output file it
 * names must stay under the current directory: a relative path whose `..`
 * never climb above it, and whose directory, once it exists, does not lead
 * elsewhere through a symbolic link (checked on the resolved path, so a link
 * that stays inside is fine). An output given on the command line is the
 * user's own choice and may be anywhere; sl_pipeline_from_job tells the two
 * apart. The final name itself may be a symbolic link: the output is renamed
 * over it, which replaces the link and writes nothing where it points.
 *
 * A source may plan at most 2^63 batches. Nothing could run that many, and
 * the cap leaves seq arithmetic (a seq plus a chunk, a work counter taken
 * past the end by every rank) a bit of headroom below 2^64. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/limits.h"

#define LIMIT_FIX "a job file may only write under the current directory (use -o PATH to " \
                  "write elsewhere)"

/* True when the `..` components of relative path climb above its start. */
static bool climbs_out(const char *path)
{
    long depth = 0;
    for (const char *c = path; *c;) {
        while (*c == '/')
            c++;
        const char *end = c;
        while (*end && *end != '/')
            end++;
        size_t n = (size_t)(end - c);
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            if (--depth < 0)
                return true;
        } else if (n > 0 && !(n == 1 && c[0] == '.'))
            depth++;
        c = end;
    }
    return false;
}

/* True when resolved path `real` is `base` or lies below it. */
static bool is_under(const char *real, const char *base)
{
    size_t n = strlen(base);
    if (n == 1 && base[0] == '/')
        return true;
    return strncmp(real, base, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

/* The directory part of path ("." when it has none), resolved. */
static sl_status check_resolved(const char *path, const char *file, sl_error *err)
{
    char *dir = strdup(path);
    SL_CHECK(dir, SL_ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    char real[PATH_MAX], cwd[PATH_MAX];
    sl_status s = SL_OK;
    if (!realpath(".", cwd))
        s = SL_FAIL(SL_EIO, "%s: output '%s': cannot resolve the current directory: %s", file,
                    path, strerror(errno));
    else if (realpath(slash ? dir : ".", real) && !is_under(real, cwd))
        s = SL_FAIL(SL_EINVAL,
                    "%s: output '%s' leads outside the current directory ('%s' is %s); " LIMIT_FIX,
                    file, path, dir, real);
    /* A directory that does not exist yet is reported by the output check. */
    free(dir);
    return s;
}

sl_status sl__limit_job_output(const char *path, const char *file, sl_error *err)
{
    SL_CHECK(path[0] != '/', SL_EINVAL, "%s: output '%s' is an absolute path; " LIMIT_FIX, file,
             path);
    SL_CHECK(!climbs_out(path), SL_EINVAL, "%s: output '%s' climbs out of the current directory; "
             LIMIT_FIX, file, path);
    return check_resolved(path, file, err);
}

sl_status sl__limit_batches(uint64_t batches, const char *stage, const char *where,
                            sl_error *err)
{
    SL_CHECK(batches <= SL__MAX_BATCHES, SL_ERANGE,
             "%s%sstage '%s' plans %llu batches, more than the %llu (2^63) a run can number; "
             "give it fewer, larger batches",
             where ? where : "", where ? ": " : "", stage, (unsigned long long)batches,
             (unsigned long long)SL__MAX_BATCHES);
    return SL_OK;
}
