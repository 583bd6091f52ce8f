/* lib/job/job.c - reading a job file (YAML) into an sl_job.
 *
 * libyaml builds the whole document first (yaml_parser_load), then one pass
 * walks it and checks structure only: the top-level keys, the fixed keys of
 * each stage and their types. Fixed values (stage settings, failure policy,
 * distribution) go through the setters the command line uses too
 * (override.c, policy.c, dist.c). Stage parameters stay text, each
 * remembering the "path:line:col" of its value, because only the stage's own
 * table can judge them and its messages must still point into the file (a
 * list or a mapping of plain values becomes one text: "a,b" or "k=v,k2=v2").
 * Every error is one line that starts with "path:line:col: " (libyaml marks
 * are 0-based; people count from 1); a line break in a quoted value is
 * escaped. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include <sluice/param.h>

#include "job/job_impl.h"

/* What the walk needs everywhere: the file's name, the document, the job. */
typedef struct job_ctx {
    const char *path;
    const char *text;
    size_t len;
    yaml_document_t *doc;
    sl_job *job;
    sl_error *err;
} job_ctx;

static const char *const top_keys[] = {"job", "output", "threads", "stages", "distribution"};
/* stage_keys[FIRST_FIELD .. LAST_FIELD] are the settings sl__job_stage_field
 * takes, stage_keys[FIRST_POLICY ..] the ones sl__job_policy_set takes. */
static const char *const stage_keys[] = {"stage",   "name",     "mode",    "concurrency",
                                         "queue",   "ranks",    "params",  "retries",
                                         "backoff", "on_error", "timeout", "rate",
                                         "priority", "warn_slow"};
static const char *const backoff_keys[] = {"initial", "factor", "cap"};
static const char *const dist_keys[] = {"schedule", "chunk", "weights", "route",
                                        "route_weights"};
#define NTOP (sizeof top_keys / sizeof top_keys[0])
#define NSTAGE_KEYS (sizeof stage_keys / sizeof stage_keys[0])
#define NDIST_KEYS (sizeof dist_keys / sizeof dist_keys[0])
#define NBACKOFF_KEYS (sizeof backoff_keys / sizeof backoff_keys[0])
const char *const *sl_job_keys(sl_job_key_scope scope, size_t *n)
{
    switch (scope) {
    case SL_JOB_KEYS_TOP: *n = NTOP; return top_keys;
    case SL_JOB_KEYS_STAGE: *n = NSTAGE_KEYS; return stage_keys;
    case SL_JOB_KEYS_BACKOFF: *n = NBACKOFF_KEYS; return backoff_keys;
    case SL_JOB_KEYS_DISTRIBUTION: *n = NDIST_KEYS; return dist_keys;
    }
    *n = 0;
    return NULL;
}

#define FIRST_FIELD 2
#define LAST_FIELD 5
#define PARAMS_KEY 6
#define FIRST_POLICY 7
#define BACKOFF_KEY 8

/* Sets "path:line:col: <message>" at mark m. */
static sl_status fail_at(job_ctx *c, yaml_mark_t m, sl_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static sl_status fail_at(job_ctx *c, yaml_mark_t m, sl_status code, const char *fmt, ...)
{
    char msg[SL_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sl_error_set(c->err, code, __FILE__, __LINE__, __func__, "%s:%zu:%zu: %s", c->path,
                        m.line + 1, m.column + 1, msg);
}

/* Puts "path:line:col: " of mark m in front of the message a setter set. */
static sl_status prefixed(job_ctx *c, yaml_mark_t m, sl_status s)
{
    if (s != SL_OK)
        sl_error_prefix(c->err, "%s:%zu:%zu", c->path, m.line + 1, m.column + 1);
    return s;
}

/* A new "path:line:col" for node n (owned by caller; NULL when out of memory). */
static char *origin_of(const job_ctx *c, const yaml_node_t *n)
{
    int w = snprintf(NULL, 0, "%s:%zu:%zu", c->path, n->start_mark.line + 1,
                     n->start_mark.column + 1);
    char *s = w >= 0 ? malloc((size_t)w + 1) : NULL;
    if (s)
        snprintf(s, (size_t)w + 1, "%s:%zu:%zu", c->path, n->start_mark.line + 1,
                 n->start_mark.column + 1);
    return s;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(job_ctx *c, int id)
{
    return yaml_document_get_node(c->doc, id);
}

/* "unknown key 'x' (did you mean 'y'?)" or the list of keys allowed there. */
static sl_status unknown_key(job_ctx *c, const yaml_node_t *k, const char *where,
                             const char *const *keys, size_t n)
{
    const char *word = scalar(k);
    const char *near = sl_nearest(word, keys, n);
    if (near)
        return fail_at(c, k->start_mark, SL_ENOTFOUND, "%sunknown key '%s' (did you mean '%s'?)",
                       where, word, near);
    char list[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", keys[i]);
    return fail_at(c, k->start_mark, SL_ENOTFOUND, "%sunknown key '%s' (expected one of: %s)",
                   where, word, list);
}

/* Checks that a mapping's keys are scalars from `keys`, each at most once,
 * and stores the value node of keys[i] in vals[i]. */
static sl_status mapping_keys(job_ctx *c, yaml_node_t *map, const char *where,
                              const char *const *keys, size_t n, yaml_node_t **vals)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(c, p->key);
        const char *word = scalar(k);
        if (!word)
            return fail_at(c, k->start_mark, SL_EINVAL, "%skeys must be plain names", where);
        size_t i = 0;
        while (i < n && strcmp(keys[i], word) != 0)
            i++;
        if (i == n)
            return unknown_key(c, k, where, keys, n);
        if (vals[i])
            return fail_at(c, k->start_mark, SL_EEXIST, "%skey '%s' appears twice (first at %zu:%zu)",
                           where, word, vals[i]->start_mark.line + 1,
                           vals[i]->start_mark.column + 1);
        vals[i] = node(c, p->value);
    }
    return SL_OK;
}

/* The text of a scalar value that must not be empty (job, output, stage, name). */
static sl_status text_value(job_ctx *c, yaml_node_t *v, const char *what, const char **out)
{
    const char *s = scalar(v);
    if (!s)
        return fail_at(c, v->start_mark, SL_EINVAL, "%s must be a single value", what);
    if (!*s)
        return fail_at(c, v->start_mark, SL_EINVAL, "%s is empty", what);
    *out = s;
    return SL_OK;
}

/* Text for a mapping of plain values, "k1=v1,k2=v2" (a stage's columns as
 * {a: /inputs/A}). Keys may not hold ',' or '=', nor appear twice, and values
 * may not hold ',', or the text could not be split back into the same pairs. */
static sl_status mapping_text(job_ctx *c, const sl_job_stage *st, const char *key, yaml_node_t *v,
                              char **out)
{
    size_t len = 1;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(c, p->key), *val = node(c, p->value);
        yaml_node_t *bad = !scalar(k) ? k : !scalar(val) ? val : NULL;
        if (bad)
            return fail_at(c, bad->start_mark, SL_EINVAL,
                           "stage '%s': parameter '%s': mapping keys and values must be plain "
                           "values", st->name, key);
        if (!*scalar(k) || strpbrk(scalar(k), ",="))
            return fail_at(c, k->start_mark, SL_EINVAL,
                           "stage '%s': parameter '%s': key '%s' must be non-empty, without ',' "
                           "or '='", st->name, key, scalar(k));
        for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < p; q++)
            if (strcmp(scalar(node(c, q->key)), scalar(k)) == 0)
                return fail_at(c, k->start_mark, SL_EEXIST,
                               "stage '%s': parameter '%s': key '%s' appears twice", st->name,
                               key, scalar(k));
        if (strchr(scalar(val), ','))
            return fail_at(c, val->start_mark, SL_EINVAL,
                           "stage '%s': parameter '%s': value '%s' of key '%s' may not contain "
                           "','", st->name, key, scalar(val), scalar(k));
        len += strlen(scalar(k)) + strlen(scalar(val)) + 2;
    }
    char *s = calloc(len, 1);
    if (!s)
        return fail_at(c, v->start_mark, SL_ENOMEM, "out of memory");
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        if (p != v->data.mapping.pairs.start)
            strcat(s, ",");
        strcat(s, scalar(node(c, p->key)));
        strcat(s, "=");
        strcat(s, scalar(node(c, p->value)));
    }
    *out = s;
    return SL_OK;
}

/* A parameter value: a scalar as written, a list of scalars joined by ',', or
 * a mapping of scalars as "k1=v1,k2=v2" (mapping_text). */
static sl_status param_text(job_ctx *c, const sl_job_stage *st, const char *key, yaml_node_t *v,
                            char **out)
{
    if (v->type == YAML_SCALAR_NODE) {
        *out = sl__job_strdup(scalar(v));
        return *out ? SL_OK : fail_at(c, v->start_mark, SL_ENOMEM, "out of memory");
    }
    if (v->type == YAML_MAPPING_NODE)
        return mapping_text(c, st, key, v, out);
    size_t len = 1;
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        yaml_node_t *item = node(c, *i);
        if (!scalar(item))
            return fail_at(c, item->start_mark, SL_EINVAL,
                           "stage '%s': parameter '%s': list items must be plain values",
                           st->name, key);
        len += strlen(scalar(item)) + 1;
    }
    char *s = calloc(len, 1);
    if (!s)
        return fail_at(c, v->start_mark, SL_ENOMEM, "out of memory");
    for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
        if (i != v->data.sequence.items.start)
            strcat(s, ",");
        strcat(s, scalar(node(c, *i)));
    }
    *out = s;
    return SL_OK;
}

static sl_status parse_params(job_ctx *c, sl_job_stage *st, yaml_node_t *map)
{
    if (map->type != YAML_MAPPING_NODE)
        return fail_at(c, map->start_mark, SL_EINVAL,
                       "stage '%s': params must be a mapping of name: value", st->name);
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(c, p->key), *v = node(c, p->value);
        const char *key = scalar(k);
        if (!key || !*key)
            return fail_at(c, k->start_mark, SL_EINVAL,
                           "stage '%s': parameter names must be plain names", st->name);
        for (size_t i = 0; i < st->nparams; i++)
            if (strcmp(st->params[i].key, key) == 0)
                return fail_at(c, k->start_mark, SL_EEXIST,
                               "stage '%s': parameter '%s' appears twice (first at %s)",
                               st->name, key, st->params[i].origin);
        char *text = NULL, *origin = origin_of(c, v);
        sl_status s = origin ? param_text(c, st, key, v, &text)
                             : fail_at(c, v->start_mark, SL_ENOMEM, "out of memory");
        if (s == SL_OK)
            s = sl__job_stage_param(st, key, text, origin, c->err);
        free(text);
        free(origin);
        if (s != SL_OK)
            return s;
    }
    return SL_OK;
}

/* Applies mode, concurrency, queue and ranks through the shared setter. */
static sl_status stage_fields(job_ctx *c, sl_job_stage *st, yaml_node_t **vals)
{
    for (size_t i = FIRST_FIELD; i <= LAST_FIELD; i++) {
        if (!vals[i])
            continue;
        const char *text = scalar(vals[i]);
        if (!text)
            return fail_at(c, vals[i]->start_mark, SL_EINVAL, "stage '%s': %s must be a value",
                           st->name, stage_keys[i]);
        char *origin = origin_of(c, vals[i]);
        sl_status s = origin ? sl__job_stage_field(st, stage_keys[i], text, origin, c->err)
                             : fail_at(c, vals[i]->start_mark, SL_ENOMEM, "out of memory");
        free(origin);
        if (s != SL_OK)
            return s;
    }
    return SL_OK;
}

/* One failure-policy value (KEY is "retries", "backoff.cap", ...). */
static sl_status policy_value(job_ctx *c, sl_job_stage *st, const char *key, yaml_node_t *v)
{
    if (!scalar(v))
        return fail_at(c, v->start_mark, SL_EINVAL, "stage '%s': %s must be a value", st->name,
                       key);
    return prefixed(c, v->start_mark,
                    sl__job_policy_set(&st->policy, st->name, key, scalar(v), c->err));
}

/* `backoff:` is a duration (the initial delay) or a mapping of initial,
 * factor and cap. The cap is compared with the initial delay once both are
 * known; the message is about the cap when the mapping gives one, since
 * that is the number to raise. */
static sl_status parse_backoff(job_ctx *c, sl_job_stage *st, yaml_node_t *v)
{
    sl_error *err = c->err; /* for SL_TRY */
    yaml_node_t *vals[NBACKOFF_KEYS] = {NULL};
    char text[256];
    if (scalar(v)) {
        SL_TRY(policy_value(c, st, "backoff", v));
        vals[0] = v;
    } else if (v->type == YAML_MAPPING_NODE) {
        snprintf(text, sizeof text, "stage '%s': backoff: ", st->name);
        SL_TRY(mapping_keys(c, v, text, backoff_keys, NBACKOFF_KEYS, vals));
        for (size_t i = 0; i < NBACKOFF_KEYS; i++) {
            snprintf(text, sizeof text, "backoff.%s", backoff_keys[i]);
            if (vals[i])
                SL_TRY(policy_value(c, st, text, vals[i]));
        }
    } else {
        return fail_at(c, v->start_mark, SL_EINVAL, "stage '%s': backoff must be a duration or "
                       "a mapping with the keys initial, factor, cap", st->name);
    }
    yaml_node_t *blamed = vals[2] ? vals[2] : vals[0], *other = vals[2] ? vals[0] : NULL;
    if (!blamed)
        return SL_OK; /* the default initial delay is below the default cap */
    if (other)
        snprintf(text, sizeof text, "%s:%zu:%zu", c->path, other->start_mark.line + 1,
                 other->start_mark.column + 1);
    return prefixed(c, blamed->start_mark,
                    sl__job_policy_check(&st->policy, st->name, vals[2] != NULL,
                                         other ? text : "the default", c->err));
}

/* Applies retries, backoff, on_error, timeout, rate, priority and warn_slow. */
static sl_status stage_policy(job_ctx *c, sl_job_stage *st, yaml_node_t **vals)
{
    sl_error *err = c->err; /* for SL_TRY */
    for (size_t i = FIRST_POLICY; i < NSTAGE_KEYS; i++) {
        if (vals[i] && i == BACKOFF_KEY)
            SL_TRY(parse_backoff(c, st, vals[i]));
        else if (vals[i])
            SL_TRY(policy_value(c, st, stage_keys[i], vals[i]));
    }
    return SL_OK;
}

static sl_status parse_stage(job_ctx *c, sl_job_stage *st, yaml_node_t *map, size_t index)
{
    sl_error *err = c->err; /* for SL_TRY */
    if (map->type != YAML_MAPPING_NODE)
        return fail_at(c, map->start_mark, SL_EINVAL,
                       "stage entry %zu must be a mapping with a 'stage' key", index + 1);
    yaml_node_t *vals[NSTAGE_KEYS] = {NULL};
    SL_TRY(mapping_keys(c, map, "stage entry: ", stage_keys, NSTAGE_KEYS, vals));
    if (!vals[0])
        return fail_at(c, map->start_mark, SL_EINVAL,
                       "stage entry %zu has no 'stage' key (the plugin to run)", index + 1);
    const char *plugin = NULL, *name = NULL;
    SL_TRY(text_value(c, vals[0], "stage", &plugin));
    name = plugin;
    if (vals[1])
        SL_TRY(text_value(c, vals[1], "name", &name));
    if (strpbrk(name, ".="))
        return fail_at(c, (vals[1] ? vals[1] : vals[0])->start_mark, SL_EINVAL,
                       "stage name '%s' may not contain '.' or '=' (command-line overrides "
                       "use STAGE.PARAM=VALUE)", name);
    st->plugin = sl__job_strdup(plugin);
    st->name = sl__job_strdup(name);
    st->origin = origin_of(c, map);
    if (!st->plugin || !st->name || !st->origin)
        return fail_at(c, map->start_mark, SL_ENOMEM, "out of memory");
    SL_TRY(stage_fields(c, st, vals));
    SL_TRY(stage_policy(c, st, vals));
    if (vals[PARAMS_KEY])
        SL_TRY(parse_params(c, st, vals[PARAMS_KEY]));
    return SL_OK;
}

static sl_status parse_stages(job_ctx *c, yaml_node_t *seq)
{
    sl_error *err = c->err; /* for SL_TRY */
    if (seq->type == YAML_MAPPING_NODE)
        return fail_at(c, seq->start_mark, SL_EINVAL, "stages must be a list ('- stage: NAME')");
    size_t n = seq->type == YAML_SEQUENCE_NODE
                   ? (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start)
                   : 0;
    if (n == 0)
        return fail_at(c, seq->start_mark, SL_EINVAL, "the job has no stages");
    c->job->stages = calloc(n, sizeof *c->job->stages);
    if (!c->job->stages)
        return fail_at(c, seq->start_mark, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        sl_job_stage *st = &c->job->stages[i];
        c->job->nstages = i + 1; /* so destroy frees a half-filled entry */
        st->policy = SL_STAGE_POLICY_DEFAULT;
        SL_TRY(parse_stage(c, st, node(c, seq->data.sequence.items.start[i]), i));
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->job->stages[j].name, st->name) == 0)
                return fail_at(c, node(c, seq->data.sequence.items.start[i])->start_mark,
                               SL_EEXIST, "stage name '%s' is used twice (first at %s); give "
                               "one a different 'name:'", st->name, c->job->stages[j].origin);
    }
    return SL_OK;
}

/* weights or route_weights written as a YAML list: each item keeps its own
 * position, so "item 3 is not positive" points at item 3. */
static sl_status dist_list(job_ctx *c, const char *key, yaml_node_t *v, const char *origin)
{
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    const char **items = calloc(n + 1, sizeof *items);
    char **origins = calloc(n + 1, sizeof *origins);
    sl_status s = items && origins ? SL_OK : fail_at(c, v->start_mark, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && s == SL_OK; i++) {
        yaml_node_t *item = node(c, v->data.sequence.items.start[i]);
        items[i] = scalar(item);
        origins[i] = origin_of(c, item);
        if (!items[i])
            s = fail_at(c, item->start_mark, SL_EINVAL,
                        "distribution: %s item %zu must be a number", key, i + 1);
        else if (!origins[i])
            s = fail_at(c, item->start_mark, SL_ENOMEM, "out of memory");
    }
    if (s == SL_OK)
        s = sl__job_dist_set_list(c->job, key, items, (const char *const *)origins, n, origin,
                                  c->err);
    for (size_t i = 0; origins && i < n; i++)
        free(origins[i]);
    free(origins);
    free(items);
    return s;
}

static sl_status dist_value(job_ctx *c, const char *key, yaml_node_t *v)
{
    char *origin = origin_of(c, v);
    sl_status s;
    if (!origin)
        s = fail_at(c, v->start_mark, SL_ENOMEM, "out of memory");
    else if (scalar(v))
        s = sl__job_dist_set(c->job, key, scalar(v), origin, c->err);
    else if (v->type == YAML_SEQUENCE_NODE && strstr(key, "weights"))
        s = dist_list(c, key, v, origin);
    else
        s = fail_at(c, v->start_mark, SL_EINVAL, "distribution: %s must be %s", key,
                    strstr(key, "weights") ? "a list of numbers" : "a value");
    free(origin);
    return s;
}

static sl_status parse_distribution(job_ctx *c, yaml_node_t *map)
{
    sl_error *err = c->err; /* for SL_TRY */
    if (map->type != YAML_MAPPING_NODE)
        return fail_at(c, map->start_mark, SL_EINVAL,
                       "distribution must be a mapping with the keys schedule, chunk, weights, "
                       "route, route_weights");
    yaml_node_t *vals[NDIST_KEYS] = {NULL};
    SL_TRY(mapping_keys(c, map, "distribution: ", dist_keys, NDIST_KEYS, vals));
    char *origin = origin_of(c, map);
    sl_status s = origin ? sl__job_dist_origin(c->job, origin, c->err)
                         : fail_at(c, map->start_mark, SL_ENOMEM, "out of memory");
    free(origin);
    SL_TRY(s);
    for (size_t i = 0; i < NDIST_KEYS; i++)
        if (vals[i])
            SL_TRY(dist_value(c, dist_keys[i], vals[i]));
    /* Contradictions within one mapping are the file's own mistake: report
     * them now, while `sluice validate` can, not when MPI has started. */
    return sl__job_dist_conflicts(&c->job->dist, c->err);
}

static sl_status parse_root(job_ctx *c, yaml_node_t *root)
{
    sl_error *err = c->err; /* for SL_TRY */
    yaml_mark_t start = {0, 0, 0};
    if (!root)
        return fail_at(c, start, SL_EINVAL, "the job has no stages");
    if (root->type != YAML_MAPPING_NODE)
        return fail_at(c, root->start_mark, SL_EINVAL,
                       "a job must be a mapping with the keys job, output, threads, stages, "
                       "distribution");
    yaml_node_t *vals[NTOP] = {NULL};
    SL_TRY(mapping_keys(c, root, "", top_keys, NTOP, vals));
    const char *text = NULL;
    if (vals[0]) {
        SL_TRY(text_value(c, vals[0], "job", &text));
        free(c->job->name);
        c->job->name = sl__job_strdup(text);
    }
    if (vals[1]) {
        SL_TRY(text_value(c, vals[1], "output", &text));
        c->job->output = sl__job_strdup(text);
    }
    if ((vals[0] && !c->job->name) || (vals[1] && !c->job->output))
        return fail_at(c, root->start_mark, SL_ENOMEM, "out of memory");
    if (vals[2]) {
        char *origin = origin_of(c, vals[2]);
        sl_status s = scalar(vals[2]) && origin
                          ? sl__job_set_threads(c->job, scalar(vals[2]), origin, c->err)
                          : fail_at(c, vals[2]->start_mark, SL_EINVAL, "threads must be a value");
        free(origin);
        SL_TRY(s);
    }
    if (vals[4])
        SL_TRY(parse_distribution(c, vals[4]));
    if (!vals[3])
        return fail_at(c, root->start_mark, SL_EINVAL, "the job has no stages");
    return parse_stages(c, vals[3]);
}

/* 1-based line and column of byte offset off in the text. */
static yaml_mark_t mark_of_offset(const job_ctx *c, size_t off)
{
    yaml_mark_t m = {0, 0, 0};
    for (size_t i = 0; i < off && i < c->len; i++) {
        if (c->text[i] == '\n') {
            m.line++;
            m.column = 0;
        } else {
            m.column++;
        }
    }
    return m;
}

static sl_status syntax_error(job_ctx *c, const yaml_parser_t *ps)
{
    if (ps->error == YAML_MEMORY_ERROR)
        return fail_at(c, ps->problem_mark, SL_ENOMEM, "out of memory reading YAML");
    /* Reader errors (bad encoding) carry a byte offset instead of a mark. */
    yaml_mark_t m = ps->error == YAML_READER_ERROR ? mark_of_offset(c, ps->problem_offset)
                                                   : ps->problem_mark;
    const char *problem = ps->problem ? ps->problem : "malformed YAML";
    if (ps->context)
        return fail_at(c, m, SL_ESYNTAX, "YAML syntax error: %s (%s)", problem, ps->context);
    return fail_at(c, m, SL_ESYNTAX, "YAML syntax error: %s", problem);
}

/* Loads the one document of the text and walks it. */
static sl_status parse_yaml(job_ctx *c)
{
    yaml_parser_t ps;
    yaml_document_t doc, extra;
    if (!yaml_parser_initialize(&ps))
        return sl_error_set(c->err, SL_ENOMEM, __FILE__, __LINE__, __func__,
                            "%s: out of memory starting the YAML parser", c->path);
    yaml_parser_set_input_string(&ps, (const unsigned char *)c->text, c->len);
    sl_status s;
    if (!yaml_parser_load(&ps, &doc)) {
        s = syntax_error(c, &ps);
    } else {
        c->doc = &doc;
        s = parse_root(c, yaml_document_get_root_node(&doc));
        if (s == SL_OK && !yaml_parser_load(&ps, &extra)) {
            s = syntax_error(c, &ps);
        } else if (s == SL_OK) {
            yaml_node_t *more = yaml_document_get_root_node(&extra);
            if (more)
                s = fail_at(c, more->start_mark, SL_EINVAL,
                            "a job file holds one YAML document; this is a second one");
            yaml_document_delete(&extra);
        }
        yaml_document_delete(&doc);
        c->doc = NULL;
    }
    yaml_parser_delete(&ps);
    return s;
}

/* The file's base name without its extension: "jobs/primes.yaml" -> "primes". */
static char *default_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (n == 0)
        return sl__job_strdup("job");
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, base, n);
        s[n] = '\0';
    }
    return s;
}

sl_status sl_job_parse(sl_job **out, const char *text, size_t len, const char *name,
                       sl_error *err)
{
    SL_CHECK(out && text && name, SL_EINVAL, "sl_job_parse: NULL argument");
    *out = NULL;
    sl_job *job = calloc(1, sizeof *job);
    SL_CHECK(job, SL_ENOMEM, "%s: out of memory", name);
    job->path = sl__job_strdup(name);
    job->name = default_name(name);
    job->text = malloc(len + 1);
    if (!job->path || !job->name || !job->text) {
        sl_job_destroy(&job);
        return SL_FAIL(SL_ENOMEM, "%s: out of memory", name);
    }
    memcpy(job->text, text, len);
    job->text[len] = '\0';
    job_ctx c = {.path = name, .text = job->text, .len = len, .job = job, .err = err};
    sl_status s = parse_yaml(&c);
    if (s != SL_OK) {
        sl_job_destroy(&job);
        sl_error_push(err, s, __FILE__, __LINE__, __func__);
        return s;
    }
    *out = job;
    return SL_OK;
}

/* Reads the whole file; *buf is owned by caller. */
static sl_status read_file(const char *path, char **buf, size_t *len, sl_error *err)
{
    FILE *f = fopen(path, "rb");
    SL_CHECK(f, SL_EIO, "%s: cannot open job file: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *g = realloc(b, cap * 2);
        if (!g) {
            free(b);
            b = NULL;
            break;
        }
        b = g;
        cap *= 2;
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (!b)
        return SL_FAIL(SL_ENOMEM, "%s: out of memory reading the job file", path);
    if (bad) {
        free(b);
        return SL_FAIL(SL_EIO, "%s: error reading the job file", path);
    }
    *buf = b;
    *len = n;
    return SL_OK;
}

sl_status sl_job_load(sl_job **out, const char *path, sl_error *err)
{
    SL_CHECK(out, SL_EINVAL, "sl_job_load: out is NULL");
    *out = NULL;
    SL_CHECK(path && *path, SL_EINVAL, "the job file path is empty");
    char *text = NULL;
    size_t len = 0;
    SL_TRY(read_file(path, &text, &len, err));
    sl_status s = sl_job_parse(out, text, len, path, err);
    free(text);
    return s;
}

const char *sl_job_name(const sl_job *job) { return job ? job->name : NULL; }
const char *sl_job_path(const sl_job *job) { return job ? job->path : NULL; }
const char *sl_job_output(const sl_job *job) { return job ? job->output : NULL; }
const char *sl_job_text(const sl_job *job) { return job ? job->text : NULL; }
int sl_job_threads(const sl_job *job) { return job ? job->threads : 0; }
size_t sl_job_nstages(const sl_job *job) { return job ? job->nstages : 0; }

const sl_job_stage *sl_job_stage_at(const sl_job *job, size_t i)
{
    return job && i < job->nstages ? &job->stages[i] : NULL;
}

void sl_job_destroy(sl_job **jp)
{
    if (!jp || !*jp)
        return;
    sl_job *job = *jp;
    for (size_t i = 0; i < job->nstages; i++)
        sl__job_stage_clear(&job->stages[i]);
    free(job->stages);
    sl__job_dist_clear(&job->dist);
    free(job->name);
    free(job->path);
    free(job->output);
    free(job->text);
    free(job);
    *jp = NULL;
}
