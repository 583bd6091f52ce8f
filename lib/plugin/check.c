/* lib/plugin/check.c - judging a stage descriptor before anything trusts it.
 *
 * The descriptor comes from a shared object we did not build, so every field
 * the core will later dereference or switch on is checked here, in the order
 * that makes reading the next field safe: abi, then size (an older, shorter
 * struct must not be read past its end), then name, kind, mode, callbacks and
 * the parameter table. The first problem wins and becomes a one-line reason
 * that names the file, because `sluice stages` shows it to a user who has to
 * find and fix that file. Pure: no I/O, no allocation. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <sluice/plugin.h>

#include "plugin/plugin_impl.h"

/* A table longer than this almost surely lacks its SL_PARAM_END. */
#define CHECK_MAX_PARAMS 256

bool sl__plugin_name_ok(const char *name)
{
    if (!name || !(name[0] >= 'a' && name[0] <= 'z'))
        return false;
    size_t n = 0;
    for (const char *c = name; *c; c++, n++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
        if (!ok || n + 1 >= SL__PLUGIN_NAME_MAX)
            return false;
    }
    return true;
}

bool sl__plugin_file_stem(const char *path, char *buf, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base), slen = strlen(SL__PLUGIN_SUFFIX);
    if (len <= slen || strcmp(base + len - slen, SL__PLUGIN_SUFFIX) != 0 || len - slen >= cap)
        return false;
    memcpy(buf, base, len - slen);
    buf[len - slen] = '\0';
    return true;
}

/* True when `word` is one of the '|'-separated `choices`. */
static bool in_choices(const char *word, const char *choices)
{
    size_t wl = strlen(word);
    for (const char *c = choices; c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == wl && strncmp(c, word, len) == 0)
            return true;
        c = bar ? bar + 1 : NULL;
    }
    return false;
}

/* Writes why numeric spec s is unusable into why, or leaves it empty. Bounds
 * follow lib/param: min == max == 0 is unbounded, and max == 0 with min > 0
 * leaves the top open (extreme values open a side by themselves). */
static void check_numeric(const sl_param_spec *s, char *why, size_t cap)
{
    switch (s->type) {
    case SL_PARAM_T_INT: {
        bool none = s->min_i == 0 && s->max_i == 0, open_hi = s->max_i == 0 && s->min_i > 0;
        if (!none && (s->def_i < s->min_i || (!open_hi && s->def_i > s->max_i)))
            snprintf(why, cap, "default %" PRId64 " is outside %" PRId64 " .. %" PRId64, s->def_i,
                     s->min_i, s->max_i);
        return;
    }
    case SL_PARAM_T_UINT: {
        bool none = s->min_u == 0 && s->max_u == 0, open_hi = s->max_u == 0 && s->min_u > 0;
        if (!none && (s->def_u < s->min_u || (!open_hi && s->def_u > s->max_u)))
            snprintf(why, cap, "default %" PRIu64 " is outside %" PRIu64 " .. %" PRIu64, s->def_u,
                     s->min_u, s->max_u);
        return;
    }
    case SL_PARAM_T_FLOAT: {
        bool none = s->min_f == 0.0 && s->max_f == 0.0, open_hi = s->max_f == 0.0 && s->min_f > 0;
        /* Written so that a NaN default fails whenever there is a bound. */
        if (!none && !(s->def_f >= s->min_f && (open_hi || s->def_f <= s->max_f)))
            snprintf(why, cap, "default %g is outside %g .. %g", s->def_f, s->min_f, s->max_f);
        return;
    }
    default:
        return;
    }
}

/* Writes why spec s is unusable into why (cap bytes), or leaves it empty. */
static void check_spec(const sl_param_spec *s, char *why, size_t cap)
{
    switch (s->type) {
    case SL_PARAM_T_INT:
    case SL_PARAM_T_UINT:
    case SL_PARAM_T_FLOAT:
        check_numeric(s, why, cap);
        return;
    case SL_PARAM_T_BOOL:
    case SL_PARAM_T_STRING:
        return;
    case SL_PARAM_T_ENUM:
        if (!s->choices || !*s->choices)
            snprintf(why, cap, "is an enum without choices");
        else if (!s->def_s || !in_choices(s->def_s, s->choices))
            snprintf(why, cap, "default '%s' is not one of %s", s->def_s ? s->def_s : "",
                     s->choices);
        return;
    }
    snprintf(why, cap, "has unknown type %d", (int)s->type);
}

static sl_status check_params(const sl_stage_desc *d, const char *file, sl_error *err)
{
    const sl_param_spec *t = d->params;
    if (!t)
        return SL_OK;
    for (size_t i = 0; t[i].name; i++) {
        SL_CHECK(i < CHECK_MAX_PARAMS, SL_EABI,
                 "%s: stage '%s': more than %d parameters (missing SL_PARAM_END?)", file, d->name,
                 CHECK_MAX_PARAMS);
        SL_CHECK(sl__plugin_name_ok(t[i].name), SL_EABI,
                 "%s: stage '%s': parameter name '%s' is not lower_snake", file, d->name,
                 t[i].name);
        for (size_t j = 0; j < i; j++)
            SL_CHECK(strcmp(t[i].name, t[j].name) != 0, SL_EABI,
                     "%s: stage '%s': parameter '%s' is declared twice", file, d->name, t[i].name);
        char why[256] = "";
        check_spec(&t[i], why, sizeof why);
        SL_CHECK(!why[0], SL_EABI, "%s: stage '%s': parameter '%s' %s", file, d->name, t[i].name,
                 why);
    }
    return SL_OK;
}

static sl_status check_callbacks(const sl_stage_desc *d, const char *file, sl_error *err)
{
    const char *kind = d->kind == SL_KIND_SOURCE ? "source" :
                       d->kind == SL_KIND_SINK   ? "sink" :
                                                   "transform";
    const char *missing = !d->create                                  ? "create" :
                          d->kind == SL_KIND_SOURCE && !d->plan       ? "plan" :
                          d->kind == SL_KIND_SOURCE && !d->produce    ? "produce" :
                          d->kind != SL_KIND_SOURCE && !d->process    ? "process" :
                                                                        NULL;
    SL_CHECK(!missing, SL_EABI, "%s: %s stage '%s' has no %s callback", file, kind, d->name,
             missing);
    return SL_OK;
}

static sl_status check_identity(const sl_stage_desc *d, const char *path, const char *file,
                                sl_error *err)
{
    SL_CHECK(d->name && *d->name, SL_EABI, "%s: stage has no name", file);
    SL_CHECK(sl__plugin_name_ok(d->name), SL_EABI,
             "%s: stage name '%s' is not lower_snake ([a-z][a-z0-9_]*, at most %d characters)",
             file, d->name, SL__PLUGIN_NAME_MAX - 1);
    char stem[SL__PLUGIN_NAME_MAX];
    if (path && sl__plugin_file_stem(path, stem, sizeof stem))
        SL_CHECK(strcmp(stem, d->name) == 0, SL_EABI,
                 "%s: stage is named '%s' but its file is %s.so (they must match)", file, d->name,
                 stem);
    int kind = (int)d->kind, mode = (int)d->mode;
    SL_CHECK(kind >= SL_KIND_SOURCE && kind <= SL_KIND_SINK, SL_EABI,
             "%s: stage '%s' has unknown kind %d", file, d->name, kind);
    SL_CHECK(mode >= SL_MODE_PARALLEL && mode <= SL_MODE_ORDERED, SL_EABI,
             "%s: stage '%s' has unknown mode %d", file, d->name, mode);
    return SL_OK;
}

sl_status sl_plugin_check(const sl_stage_desc *d, const char *path, sl_error *err)
{
    const char *file = path ? path : "stage descriptor";
    SL_CHECK(d, SL_EABI, "%s: sl_stage_entry returned NULL", file);
    SL_CHECK(d->abi == SL_STAGE_ABI, SL_EABI, "%s: built for stage ABI %u, this sluice speaks ABI %u",
             file, (unsigned)d->abi, (unsigned)SL_STAGE_ABI);
    /* Fields up to `checkpoint` are what ABI 1 has always read; later ones
     * (checkpoint) are read only when the size covers them. */
    size_t need = offsetof(sl_stage_desc, checkpoint);
    SL_CHECK(d->size >= need, SL_EABI,
             "%s: descriptor is %u bytes, stage ABI %u needs at least %zu", file,
             (unsigned)d->size, (unsigned)SL_STAGE_ABI, need);
    SL_TRY(check_identity(d, path, file, err));
    SL_TRY(check_callbacks(d, file, err));
    SL_TRY(check_params(d, file, err));
    return SL_OK;
}
