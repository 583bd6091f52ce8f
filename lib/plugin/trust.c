/* lib/plugin/trust.c - whether a plugin file may be opened at all.
 *
 * dlopen runs a plugin's code with the user's rights, so a plugin is exactly
 * as trustworthy as everyone who can write it or replace it. As OpenSSH's
 * StrictModes does, the loader judges modes and owners, never access(2),
 * which answers yes to root for every file:
 *   - the file and the directory holding it belong to root, to the user, or
 *     to the owner of the libsluice that is running (whose code runs anyway);
 *   - neither is writable by others, nor by its group unless that group is
 *     the user's own primary group (user private groups with umask 002);
 *   - no directory above is writable by others without the sticky bit (a
 *     sticky /tmp stops others from renaming what they do not own; a plain
 *     world-writable parent would let anyone swap the directories below).
 * A world-writable directory is refused even with the sticky bit: anyone may
 * still add a new NAME.so there. A symbolic link is judged where it points,
 * and the directory holding the link is judged as well. The first problem
 * found becomes a one-line reason that says how to fix it. Checking and then
 * opening leaves a window, which is why the directory must be safe too: only
 * its trusted owners can change the file in between. */
#include <dlfcn.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/plugin_impl.h"

typedef struct trust {
    uid_t me, lib; /* the effective user; the owner of libsluice (or root) */
    gid_t group;   /* the effective (primary) group */
} trust;

static const char anchor; /* any address inside libsluice, for dladdr */

static void trust_init(trust *t)
{
    t->me = geteuid();
    t->group = getegid();
    t->lib = 0;
    Dl_info info;
    struct stat st;
    if (dladdr(&anchor, &info) && info.dli_fname && stat(info.dli_fname, &st) == 0)
        t->lib = st.st_uid;
}

/* "uid 1001 (bob)", or "uid 1001" when the name is unknown. */
static void user_name(uid_t uid, char *buf, size_t cap)
{
    struct passwd pw, *res = NULL;
    char scratch[1024];
    if (getpwuid_r(uid, &pw, scratch, sizeof scratch, &res) == 0 && res)
        snprintf(buf, cap, "uid %u (%s)", (unsigned)uid, res->pw_name);
    else
        snprintf(buf, cap, "uid %u", (unsigned)uid);
}

/* "gid 50 (staff)", or "gid 50". */
static void group_name(gid_t gid, char *buf, size_t cap)
{
    struct group gr, *res = NULL;
    char scratch[4096];
    if (getgrgid_r(gid, &gr, scratch, sizeof scratch, &res) == 0 && res)
        snprintf(buf, cap, "gid %u (%s)", (unsigned)gid, res->gr_name);
    else
        snprintf(buf, cap, "gid %u", (unsigned)gid);
}

/* Judges one file or directory; writes the reason and returns false when it
 * cannot be trusted. */
static bool judge(const trust *t, bool dir, const char *p, const struct stat *st, char *why,
                  size_t cap)
{
    const char *what = dir ? "directory" : "file";
    unsigned mode = (unsigned)(st->st_mode & 07777);
    if (st->st_uid != 0 && st->st_uid != t->me && st->st_uid != t->lib) {
        char who[300];
        user_name(st->st_uid, who, sizeof who);
        snprintf(why, cap, "%s %s is owned by %s, not by you or root (chown it, or copy the "
                 "plugin into a directory of your own)", what, p, who);
        return false;
    }
    if (st->st_mode & S_IWOTH) {
        if (dir)
            snprintf(why, cap, "directory %s is writable by everyone (mode %04o), so anyone can "
                     "put a plugin there (move the plugins to a directory only you can write, "
                     "or chmod o-w %s if it is yours)", p, mode, p);
        else
            snprintf(why, cap, "file %s is writable by everyone (mode %04o): chmod o-w %s", p,
                     mode, p);
        return false;
    }
    if ((st->st_mode & S_IWGRP) && st->st_gid != t->group) {
        char grp[300];
        group_name(st->st_gid, grp, sizeof grp);
        snprintf(why, cap,
                 "%s %s is writable by group %s, not your primary group (mode %04o): chmod g-w %s",
                 what, p, grp, mode, p);
        return false;
    }
    return true;
}

/* Every directory above dir (an absolute, resolved path), up to "/". */
static bool judge_parents(const char *dir, char *why, size_t cap)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", dir);
    for (char *slash = strrchr(p, '/'); slash; slash = strrchr(p, '/')) {
        if (slash == p) {
            if (!p[1])
                break; /* "/" itself was the last one looked at */
            p[1] = '\0';
        } else
            *slash = '\0';
        struct stat st;
        if (stat(p, &st) != 0)
            continue;
        if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
            snprintf(why, cap, "directory %s is writable by everyone without the sticky bit "
                     "(mode %04o), so anyone can replace what lies below it: chmod o-w %s",
                     p, (unsigned)(st.st_mode & 07777), p);
            return false;
        }
    }
    return true;
}

/* Judges directory dir (resolved first) and every directory above it. */
static bool judge_dir(const trust *t, const char *dir, char *why, size_t cap)
{
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(dir, real) || stat(real, &st) != 0)
        return true; /* gone: opening the plugin will say so */
    return judge(t, true, real, &st, why, cap) && judge_parents(real, why, cap);
}

static void dir_of(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash == out)
        out[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(out, cap, ".");
}

bool sl__plugin_trusted(const char *path, char *why, size_t cap)
{
    trust t;
    trust_init(&t);
    char real[PATH_MAX], dir[PATH_MAX], linkdir[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) != 0)
        return true; /* gone: opening it will say so */
    if (!judge(&t, false, real, &st, why, cap))
        return false;
    dir_of(real, dir, sizeof dir);
    if (!judge_dir(&t, dir, why, cap))
        return false;
    dir_of(path, linkdir, sizeof linkdir);
    return judge_dir(&t, linkdir, why, cap);
}
