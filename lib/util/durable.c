/* lib/util/durable.c - fsync of files and directories (durable.h). */
#include "util/durable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

sl_status sl__fsync_path(const char *path, bool dir, sl_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
    bool ok = fd >= 0 && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    SL_CHECK(ok, SL_EIO, "%s: cannot sync: %s", path, strerror(e));
    return SL_OK;
}

sl_status sl__fsync_parent(const char *path, sl_error *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return sl__fsync_path(".", true, err);
    if (slash == path)
        return sl__fsync_path("/", true, err);
    char *dir = strndup(path, (size_t)(slash - path));
    SL_CHECK(dir, SL_ENOMEM, "out of memory");
    sl_status s = sl__fsync_path(dir, true, err);
    free(dir);
    return s;
}
