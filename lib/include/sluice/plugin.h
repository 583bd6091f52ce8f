/* sluice/plugin.h - finding, loading and checking stage plugins.
 *
 * Search order (first match of a name wins): each directory of
 * SLUICE_STAGE_PATH (colon-separated; every entry absolute, empty entries
 * skipped), sluice/stages beside the loaded libsluice, the build tree's
 * stages/ directory, the installed <libdir>/sluice/stages. A plugin for stage
 * NAME is the file NAME.so in one of them. A file is opened only when it and
 * its directory belong to root, the user or libsluice's owner and are not
 * writable by others (docs/limits.md). Loaded objects stay loaded until the
 * registry is destroyed. A rejected file is never fatal for listing: its
 * reason is kept. */
#ifndef SLUICE_PLUGIN_H
#define SLUICE_PLUGIN_H

#include <stddef.h>

#include <sluice/error.h>
#include <sluice/stage.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_registry sl_registry;

typedef struct sl_plugin_info {
    const sl_stage_desc *desc; /* NULL for a rejected file */
    const char *path;          /* the file it came from */
    const char *reason;        /* why it was rejected, or NULL */
} sl_plugin_info;

/* Creates a registry over the default search path. Fails (SL_EINVAL) when
 * SLUICE_STAGE_PATH has a relative entry. Owned by caller: *out. */
sl_status sl_registry_create(sl_registry **out, sl_error *err);
/* Adds a directory searched before all the others; it must be absolute. */
sl_status sl_registry_prepend_dir(sl_registry *r, const char *dir, sl_error *err);

/* Checks one shared object and returns its descriptor. Errors say why: "not a
 * sluice stage plugin (no sl_stage_entry)", "built for stage ABI 2, this
 * sluice speaks 1", missing callbacks. Usable without a registry. */
sl_status sl_plugin_check(const sl_stage_desc *d, const char *path, sl_error *err);

/* Finds and loads stage `name`; *desc and *path are borrowed from r. An unknown
 * name suggests the nearest known one. */
sl_status sl_registry_find(sl_registry *r, const char *name, const sl_stage_desc **desc,
                           const char **path, sl_error *err);

/* Loads every *.so on the search path (first of each name wins); afterwards
 * sl_registry_count/at list them, sorted by name, rejected files included. */
sl_status sl_registry_scan(sl_registry *r, sl_error *err);
size_t sl_registry_count(const sl_registry *r);
const sl_plugin_info *sl_registry_at(const sl_registry *r, size_t i);

/* The directories searched, in order, as one "a:b:c" string; borrowed. */
const char *sl_registry_search_path(const sl_registry *r);

void sl_registry_destroy(sl_registry **r);

#ifdef __cplusplus
}
#endif
#endif
