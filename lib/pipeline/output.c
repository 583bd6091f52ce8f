/* lib/pipeline/output.c - the output file's lifecycle around a run.
 *
 * The sink never writes the user's path directly: it writes a temporary file
 * beside it (same directory, so the final rename is atomic on POSIX file
 * systems), and the core renames it into place only after every batch went
 * through and the sink closed the file. A failed or killed run therefore never
 * leaves a half-written file under the user's name, and never destroys an
 * existing one (which --force allows replacing only by a complete run).
 * Problems with the path are found before any stage runs.
 *
 * "Exists" means any directory entry, a symbolic link included (even one
 * that points nowhere), since the rename would replace it. The temporary
 * PATH.part is the sink's to create: one that is a symbolic link, or a file
 * with other hard links, is refused, because the sink opens it for writing
 * and would write through it to wherever it leads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/pipeline_impl.h"

static sl_status check_dir(const char *path, sl_error *err)
{
    char *copy = strdup(path);
    SL_CHECK(copy, SL_ENOMEM, "out of memory");
    char *slash = strrchr(copy, '/');
    const char *dir = ".";
    if (slash == copy)
        dir = "/";
    else if (slash) {
        *slash = '\0';
        dir = copy;
    }
    struct stat st;
    sl_status s = SL_OK;
    if (stat(dir, &st) != 0)
        s = SL_FAIL(SL_EIO, "output '%s': directory '%s' does not exist", path, dir);
    else if (!S_ISDIR(st.st_mode))
        s = SL_FAIL(SL_EIO, "output '%s': '%s' is not a directory", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        s = SL_FAIL(SL_EIO, "output '%s': directory '%s' is not writable (%s)", path, dir,
                    strerror(errno));
    free(copy);
    return s;
}

/* A leftover tmp (a run that was killed) is fine: the sink truncates it. */
static sl_status check_tmp(const char *tmp, const char *path, sl_error *err)
{
    struct stat st;
    if (lstat(tmp, &st) != 0)
        return SL_OK;
    SL_CHECK(!S_ISLNK(st.st_mode), SL_EINVAL,
             "output '%s': '%s' is a symbolic link; remove it (sluice writes the output there "
             "first)",
             path, tmp);
    SL_CHECK(S_ISREG(st.st_mode) && st.st_nlink == 1, SL_EINVAL,
             "output '%s': '%s' exists and is not a plain file; remove it (sluice writes the "
             "output there first)",
             path, tmp);
    return SL_OK;
}

sl_status sl__output_prepare(struct sl_pipeline *p, const char *path, bool force, sl_error *err)
{
    SL_CHECK(path && *path, SL_EINVAL, "output path is empty");
    size_t n = strlen(path);
    SL_CHECK(path[n - 1] != '/', SL_EINVAL, "output '%s' names a directory, not a file", path);
    SL_TRY(check_dir(path, err));
    struct stat st;
    SL_CHECK(stat(path, &st) != 0 || !S_ISDIR(st.st_mode), SL_EINVAL, "output '%s' is a directory",
             path);
    SL_CHECK(force || lstat(path, &st) != 0, SL_EEXIST,
             "output '%s' exists (use --force to replace it)", path);
    size_t tn = n + sizeof ".part";
    char *tmp = malloc(tn);
    SL_CHECK(tmp, SL_ENOMEM, "out of memory");
    snprintf(tmp, tn, "%s.part", path);
    /* Checked before p owns it: a refused tmp is not ours to discard. */
    sl_status s = check_tmp(tmp, path, err);
    if (s == SL_OK && !(p->output = strdup(path)))
        s = SL_FAIL(SL_ENOMEM, "out of memory");
    if (s != SL_OK) {
        free(tmp);
        return s;
    }
    p->output_tmp = tmp;
    return SL_OK;
}

sl_status sl__output_commit(struct sl_pipeline *p, sl_error *err)
{
    if (!p->output)
        return SL_OK;
    struct stat st;
    if (stat(p->output_tmp, &st) != 0)
        return SL_OK; /* no sink wrote anything: nothing to publish */
    SL_CHECK(rename(p->output_tmp, p->output) == 0, SL_EIO, "output '%s': cannot rename '%s': %s",
             p->output, p->output_tmp, strerror(errno));
    return SL_OK;
}

void sl__output_discard(struct sl_pipeline *p)
{
    if (p->output_tmp)
        unlink(p->output_tmp);
}
