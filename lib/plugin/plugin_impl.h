/* lib/plugin/plugin_impl.h - what the loader's files share, private to lib/plugin.
 *
 * check.c judges a descriptor (pure, no I/O); registry.c finds and opens files
 * and keeps what it loaded. Both agree on what a valid stage name is, because
 * the name is also a file name: lower_snake, at most SL__PLUGIN_NAME_MAX-1
 * characters, so a name never escapes its directory. */
#ifndef SLUICE_PLUGIN_IMPL_H
#define SLUICE_PLUGIN_IMPL_H

#include <stdbool.h>

#include <sluice/stage.h>

#define SL__PLUGIN_NAME_MAX 64
#define SL__PLUGIN_SUFFIX ".so"

/* True for [a-z][a-z0-9_]* shorter than SL__PLUGIN_NAME_MAX. */
bool sl__plugin_name_ok(const char *name);

/* The stage name a plugin file stands for: its base name without ".so".
 * Writes it into buf (cap >= SL__PLUGIN_NAME_MAX); false when the file name
 * does not end in ".so" or the rest is too long. */
bool sl__plugin_file_stem(const char *path, char *buf, size_t cap);

#endif
