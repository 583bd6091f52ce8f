/* lib/plugin/registry.c - finding stage plugins on disk and keeping them loaded.
 *
 * The search path is fixed when the registry is made: each directory of
 * SLUICE_STAGE_PATH, then sluice/stages beside the libsluice that is loaded
 * (an installed tree, wherever it was installed or moved to), then the build
 * tree's stages/, then the install directory configured at build time;
 * directories that do not exist are left out, and a directory met twice is
 * kept once (where it first appears). Stage NAME is the file NAME.so.
 *
 * A search directory must be absolute: a relative one would load whatever the
 * current directory holds, so SLUICE_STAGE_PATH with a relative entry makes
 * sl_registry_create fail, naming the entry. Empty entries ("a::b", a leading
 * or trailing ':') are skipped; unlike PATH they never mean the current
 * directory. Before a file is opened, trust.c judges its modes and owners; a
 * file it refuses is rejected like a broken one, with the reason.
 *
 * Every file the registry opened becomes an entry, accepted or not, kept in
 * name order, so `sluice stages` can list rejected files with their reason and
 * a second lookup of a bad file answers the same way without reopening it.
 * The first file of a name wins; a file found later under the same name is
 * never opened. Accepted objects stay loaded until sl_registry_destroy
 * (descriptors point into them); rejected ones are closed at once.
 * Not thread-safe: the CLI and the pipeline builder use it from one thread. */
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sluice/param.h>
#include <sluice/plugin.h>

#include "plugin/plugin_impl.h"

#ifndef SL_STAGE_BUILD_DIR
#define SL_STAGE_BUILD_DIR ""
#endif
#ifndef SL_STAGE_INSTALL_DIR
#define SL_STAGE_INSTALL_DIR ""
#endif

typedef struct reg_entry {
    sl_plugin_info info; /* handed out by sl_registry_at; points at the fields below */
    char *name;          /* the file's stem, which is also the stage's name when valid */
    char *path;
    char *reason;        /* NULL when accepted */
    sl_status code;      /* SL_OK, or why it was rejected */
    void *handle;        /* dlopen handle of an accepted file */
} reg_entry;

struct sl_registry {
    char **dirs; /* search order */
    size_t ndirs;
    char *search_path; /* dirs joined with ':' */
    reg_entry **entries; /* sorted by name; pointers stay valid as the array grows */
    size_t n, cap;
    bool scanned;
};

/* ---- the search path ------------------------------------------------------ */

static bool is_dir(const char *dir, struct stat *st)
{
    return dir && *dir && stat(dir, st) == 0 && S_ISDIR(st->st_mode);
}

/* Index of a directory already listed that is the same as st, or -1. */
static long find_dir(const sl_registry *r, const struct stat *st)
{
    for (size_t i = 0; i < r->ndirs; i++) {
        struct stat o;
        if (stat(r->dirs[i], &o) == 0 && o.st_dev == st->st_dev && o.st_ino == st->st_ino)
            return (long)i;
    }
    return -1;
}

static sl_status rebuild_search_path(sl_registry *r, sl_error *err)
{
    size_t len = 1;
    for (size_t i = 0; i < r->ndirs; i++)
        len += strlen(r->dirs[i]) + 1;
    char *s = malloc(len);
    SL_CHECK(s, SL_ENOMEM, "out of memory for the stage search path");
    s[0] = '\0';
    for (size_t i = 0; i < r->ndirs; i++) {
        if (i)
            strcat(s, ":");
        strcat(s, r->dirs[i]);
    }
    free(r->search_path);
    r->search_path = s;
    return SL_OK;
}

/* Adds dir first (front) or last. A directory already present is moved to the
 * front when front is true, and otherwise left where it is. Missing: skipped. */
static sl_status add_dir(sl_registry *r, const char *dir, bool front, sl_error *err)
{
    struct stat st;
    if (!is_dir(dir, &st))
        return SL_OK;
    long old = find_dir(r, &st);
    if (old >= 0 && !front)
        return SL_OK;
    char *copy = old >= 0 ? r->dirs[old] : strdup(dir);
    SL_CHECK(copy, SL_ENOMEM, "out of memory for stage directory '%s'", dir);
    if (old >= 0) {
        memmove(r->dirs + 1, r->dirs, (size_t)old * sizeof *r->dirs);
    } else {
        char **d = realloc(r->dirs, (r->ndirs + 1) * sizeof *d);
        if (!d) {
            free(copy);
            SL_CHECK(false, SL_ENOMEM, "out of memory for stage directory '%s'", dir);
        }
        r->dirs = d;
        if (front)
            memmove(r->dirs + 1, r->dirs, r->ndirs * sizeof *r->dirs);
        r->ndirs++;
    }
    r->dirs[front ? 0 : r->ndirs - 1] = copy;
    return rebuild_search_path(r, err);
}

static sl_status add_env_dirs(sl_registry *r, sl_error *err)
{
    const char *env = getenv("SLUICE_STAGE_PATH");
    if (!env || !*env)
        return SL_OK;
    char *copy = strdup(env);
    SL_CHECK(copy, SL_ENOMEM, "out of memory reading SLUICE_STAGE_PATH");
    sl_status s = SL_OK;
    for (char *d = copy, *next; d && s == SL_OK; d = next) {
        char *colon = strchr(d, ':');
        next = colon ? colon + 1 : NULL;
        if (colon)
            *colon = '\0';
        if (!*d)
            continue; /* "a::b", or a ':' at either end */
        if (*d != '/')
            s = SL_FAIL(SL_EINVAL,
                        "SLUICE_STAGE_PATH: '%s' is relative; plugins are loaded only from "
                        "absolute directories",
                        d);
        else
            s = add_dir(r, d, false, err);
    }
    free(copy);
    return s;
}

/* LIBDIR/sluice/stages, LIBDIR being where this libsluice was loaded from:
 * `cmake --install --prefix P` puts the plugins in P/lib/sluice/stages, a
 * place the build could not know. */
static const char here; /* any address inside libsluice, for dladdr */

static sl_status add_beside_library(sl_registry *r, sl_error *err)
{
    Dl_info info;
    if (!dladdr(&here, &info) || !info.dli_fname)
        return SL_OK;
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash)
        return SL_OK;
    size_t n = (size_t)(slash - info.dli_fname);
    char *dir = malloc(n + sizeof "/sluice/stages");
    SL_CHECK(dir, SL_ENOMEM, "out of memory");
    memcpy(dir, info.dli_fname, n);
    memcpy(dir + n, "/sluice/stages", sizeof "/sluice/stages");
    /* The loader may have gone through an rpath like bin/../lib: show the
     * user the plain path. */
    char *real = realpath(dir, NULL);
    sl_status s = add_dir(r, real ? real : dir, false, err);
    free(real);
    free(dir);
    return s;
}

sl_status sl_registry_create(sl_registry **out, sl_error *err)
{
    SL_CHECK(out, SL_EINVAL, "sl_registry_create: out is NULL");
    *out = NULL;
    sl_registry *r = calloc(1, sizeof *r);
    SL_CHECK(r, SL_ENOMEM, "out of memory for the stage registry");
    sl_status s = rebuild_search_path(r, err);
    if (s == SL_OK)
        s = add_env_dirs(r, err);
    if (s == SL_OK)
        s = add_beside_library(r, err);
    if (s == SL_OK)
        s = add_dir(r, SL_STAGE_BUILD_DIR, false, err);
    if (s == SL_OK)
        s = add_dir(r, SL_STAGE_INSTALL_DIR, false, err);
    if (s != SL_OK) {
        sl_registry_destroy(&r);
        return sl_error_push(err, s, __FILE__, __LINE__, __func__);
    }
    *out = r;
    return SL_OK;
}

sl_status sl_registry_prepend_dir(sl_registry *r, const char *dir, sl_error *err)
{
    SL_CHECK(r && dir && *dir, SL_EINVAL, "sl_registry_prepend_dir: no registry or directory");
    SL_CHECK(*dir == '/', SL_EINVAL,
             "stage directory '%s' is relative; plugins are loaded only from absolute directories",
             dir);
    struct stat st;
    SL_CHECK(is_dir(dir, &st), SL_ENOTFOUND, "stage directory '%s' does not exist", dir);
    SL_TRY(add_dir(r, dir, true, err));
    return SL_OK;
}

const char *sl_registry_search_path(const sl_registry *r)
{
    return r ? r->search_path : "";
}

/* ---- entries ---------------------------------------------------------------- */

static reg_entry *find_entry(const sl_registry *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->entries[i]->name, name) == 0)
            return r->entries[i];
    return NULL;
}

static void entry_free(reg_entry *e)
{
    if (!e)
        return;
    if (e->handle)
        dlclose(e->handle);
    free(e->name);
    free(e->path);
    free(e->reason);
    free(e);
}

/* Takes ownership of e (frees it on failure). Keeps the array in name order. */
static sl_status insert_entry(sl_registry *r, reg_entry *e, sl_error *err)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        reg_entry **a = realloc(r->entries, cap * sizeof *a);
        if (!a) {
            entry_free(e);
            SL_CHECK(false, SL_ENOMEM, "out of memory listing stage plugins");
        }
        r->entries = a;
        r->cap = cap;
    }
    size_t at = r->n;
    while (at > 0 && strcmp(r->entries[at - 1]->name, e->name) > 0)
        at--;
    memmove(r->entries + at + 1, r->entries + at, (r->n - at) * sizeof *r->entries);
    r->entries[at] = e;
    r->n++;
    return SL_OK;
}

/* Records why e is rejected: the message of `why`, or the dynamic loader's. */
static void reject(reg_entry *e, sl_status code, const char *why)
{
    e->code = code;
    e->reason = strdup(why);
    if (e->handle) {
        dlclose(e->handle);
        e->handle = NULL;
    }
}

/* dlerror() text usually starts with the path; say it once. */
static void reject_dlerror(reg_entry *e, const char *what)
{
    const char *msg = dlerror();
    msg = msg ? msg : "unknown error";
    size_t pl = strlen(e->path);
    if (strncmp(msg, e->path, pl) == 0 && strncmp(msg + pl, ": ", 2) == 0)
        msg += pl + 2;
    char buf[SL_ERROR_MSG_MAX];
    snprintf(buf, sizeof buf, "%s: %s: %s", e->path, what, msg);
    reject(e, SL_EABI, buf);
}

/* Opens and checks one file, then fills e: accepted, or rejected with a reason. */
static void load_entry(reg_entry *e)
{
    char why[SL_ERROR_MSG_MAX];
    if (!sl__plugin_trusted(e->path, why, sizeof why)) {
        char buf[SL_ERROR_MSG_MAX];
        snprintf(buf, sizeof buf, "%s: refused: %s", e->path, why);
        reject(e, SL_EINVAL, buf);
        return;
    }
    dlerror();
    e->handle = dlopen(e->path, RTLD_NOW | RTLD_LOCAL);
    if (!e->handle) {
        reject_dlerror(e, "cannot load");
        return;
    }
    void *sym = dlsym(e->handle, SL_STAGE_ENTRY_SYMBOL);
    char buf[SL_ERROR_MSG_MAX];
    if (!sym) {
        snprintf(buf, sizeof buf, "%s: not a sluice stage plugin (no %s)", e->path,
                 SL_STAGE_ENTRY_SYMBOL);
        reject(e, SL_EABI, buf);
        return;
    }
    /* ISO C has no object-to-function pointer conversion; POSIX guarantees
     * the representations agree, and memcpy says so without a cast. */
    sl_stage_entry_fn fn;
    _Static_assert(sizeof fn == sizeof sym, "function and object pointers differ in size");
    memcpy(&fn, &sym, sizeof fn);
    const sl_stage_desc *d = fn();
    sl_error cerr;
    sl_error_clear(&cerr);
    if (sl_plugin_check(d, e->path, &cerr) != SL_OK) {
        reject(e, cerr.code, cerr.msg);
        return;
    }
    e->info.desc = d;
}

/* Makes, loads and inserts the entry for file `path` standing for `name`. */
static sl_status open_file(sl_registry *r, const char *name, const char *path, reg_entry **out,
                           sl_error *err)
{
    reg_entry *e = calloc(1, sizeof *e);
    if (e) {
        e->name = strdup(name);
        e->path = strdup(path);
    }
    if (!e || !e->name || !e->path) {
        entry_free(e);
        SL_CHECK(false, SL_ENOMEM, "out of memory loading '%s'", path);
    }
    load_entry(e);
    if (e->code != SL_OK && !e->reason) {
        entry_free(e);
        SL_CHECK(false, SL_ENOMEM, "out of memory loading '%s'", path);
    }
    e->info.path = e->path;
    e->info.reason = e->reason;
    SL_TRY(insert_entry(r, e, err));
    *out = e;
    return SL_OK;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Opens the first NAME.so on the search path; *out stays NULL when none. */
static sl_status probe(sl_registry *r, const char *name, reg_entry **out, sl_error *err)
{
    *out = NULL;
    for (size_t i = 0; i < r->ndirs; i++) {
        char path[4096];
        int n = snprintf(path, sizeof path, "%s/%s%s", r->dirs[i], name, SL__PLUGIN_SUFFIX);
        if (n > 0 && (size_t)n < sizeof path && is_file(path))
            return open_file(r, name, path, out, err);
    }
    return SL_OK;
}

static sl_status unknown_stage(sl_registry *r, const char *name, sl_error *err)
{
    if (!r->scanned)
        SL_TRY(sl_registry_scan(r, err));
    const char **names = malloc((r->n ? r->n : 1) * sizeof *names);
    SL_CHECK(names, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->n; i++)
        names[i] = r->entries[i]->name;
    const char *near = sl_nearest(name, names, r->n);
    sl_status s;
    if (near)
        s = SL_FAIL(SL_ENOTFOUND, "unknown stage '%s' (did you mean '%s'?)", name, near);
    else
        s = SL_FAIL(SL_ENOTFOUND, "unknown stage '%s' (no %s%s in %s)", name, name,
                    SL__PLUGIN_SUFFIX, r->ndirs ? r->search_path : "an existing stage directory");
    free(names);
    return s;
}

sl_status sl_registry_find(sl_registry *r, const char *name, const sl_stage_desc **desc,
                           const char **path, sl_error *err)
{
    SL_CHECK(r && name && desc, SL_EINVAL, "sl_registry_find: missing registry, name or desc");
    reg_entry *e = find_entry(r, name);
    if (!e && sl__plugin_name_ok(name))
        SL_TRY(probe(r, name, &e, err));
    if (!e)
        return unknown_stage(r, name, err);
    SL_CHECK(!e->reason, e->code, "%s", e->reason);
    *desc = e->info.desc;
    if (path)
        *path = e->path;
    return SL_OK;
}

/* Opens every *.so of dir whose name is not known yet. */
static sl_status scan_dir(sl_registry *r, const char *dir, sl_error *err)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return SL_OK; /* vanished or unreadable since create: nothing to list */
    sl_status s = SL_OK;
    struct dirent *de;
    while (s == SL_OK && (de = readdir(dh)) != NULL) {
        char stem[256], path[4096];
        if (!sl__plugin_file_stem(de->d_name, stem, sizeof stem) || find_entry(r, stem))
            continue;
        int n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (n <= 0 || (size_t)n >= sizeof path || !is_file(path))
            continue;
        reg_entry *e;
        s = open_file(r, stem, path, &e, err);
    }
    closedir(dh);
    return s;
}

sl_status sl_registry_scan(sl_registry *r, sl_error *err)
{
    SL_CHECK(r, SL_EINVAL, "sl_registry_scan: registry is NULL");
    for (size_t i = 0; i < r->ndirs; i++)
        SL_TRY(scan_dir(r, r->dirs[i], err));
    r->scanned = true;
    return SL_OK;
}

size_t sl_registry_count(const sl_registry *r)
{
    return r ? r->n : 0;
}

const sl_plugin_info *sl_registry_at(const sl_registry *r, size_t i)
{
    return r && i < r->n ? &r->entries[i]->info : NULL;
}

void sl_registry_destroy(sl_registry **rp)
{
    if (!rp || !*rp)
        return;
    sl_registry *r = *rp;
    for (size_t i = 0; i < r->n; i++)
        entry_free(r->entries[i]);
    for (size_t i = 0; i < r->ndirs; i++)
        free(r->dirs[i]);
    free(r->entries);
    free(r->dirs);
    free(r->search_path);
    free(r);
    *rp = NULL;
}
