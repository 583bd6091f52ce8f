/* lib/plugin/plugin_impl.h - what the loader's files share, private to lib/plugin.
 *
 * check.c judges a descriptor (pure, no I/O); trust.c judges a file's modes
 * and owners before it is opened; registry.c finds and opens files and keeps
 * what it loaded. Both agree on what a valid stage name is, because
 * the name is also a file name: lower_snake, at most SL__PLUGIN_NAME_MAX-1
 * characters, so a name never escapes its directory. */
#ifndef SLUICE_PLUGIN_IMPL_H
#define SLUICE_PLUGIN_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <sluice/stage.h>

#define SL__PLUGIN_NAME_MAX 64
#define SL__PLUGIN_SUFFIX ".so"

/* True for [a-z][a-z0-9_]* shorter than SL__PLUGIN_NAME_MAX. */
bool sl__plugin_name_ok(const char *name);

/* The stage name a plugin file stands for: its base name without ".so".
 * Writes it into buf (cap >= SL__PLUGIN_NAME_MAX); false when the file name
 * does not end in ".so" or the rest is too long. */
bool sl__plugin_file_stem(const char *path, char *buf, size_t cap);

/* True when the plugin file at path may be opened: the file, its directory
 * and the directories above pass the rules of trust.c. Otherwise writes into
 * why (cap bytes) one line naming the file or directory, the reason and the
 * fix, and returns false. A file that does not exist passes (dlopen reports
 * it). Reads the file system only and keeps no state: thread-safe. */
bool sl__plugin_trusted(const char *path, char *why, size_t cap);

#endif
