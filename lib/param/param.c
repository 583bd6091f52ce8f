/* lib/param/param.c - resolved parameter values of one stage instance.
 *
 * An sl_params borrows the stage's spec table and keeps, per entry, the typed
 * value, its canonical text and whether a job or the command line set it. The
 * canonical text (plain decimal, %.17g floats, true/false) is what
 * sl_params_format prints, so two runs compare their settings by comparing
 * text. Values are checked when set, never when read: a getter only asserts
 * that the stage asked for a key and type it declared.
 *
 * Bounds: min == max == 0 means unbounded. A bound at the type's extreme
 * (INT64_MIN, UINT64_MAX, +-inf or +-DBL_MAX), or max == 0 with min > 0,
 * leaves that side open, which the range text shows as "1 .." or ".. 9". */
#include <assert.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sluice/param.h>


typedef union param_value {
    int64_t i;
    uint64_t u;
    double f;
    bool b;
} param_value;

typedef struct param_slot {
    param_value v;
    char *text; /* canonical text; the value itself for STRING and ENUM */
    bool set;
} param_slot;

struct sl_params {
    const sl_param_spec *spec;
    char *owner;
    size_t n;
    param_slot *slot;
};

typedef struct bounds {
    bool lo, hi;
} bounds;

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

const char *sl_param_type_name(sl_param_type t)
{
    switch (t) {
    case SL_PARAM_T_INT: return "int";
    case SL_PARAM_T_UINT: return "uint";
    case SL_PARAM_T_FLOAT: return "float";
    case SL_PARAM_T_BOOL: return "bool";
    case SL_PARAM_T_STRING: return "string";
    case SL_PARAM_T_ENUM: return "enum";
    }
    return "?";
}

/* The shortest of %.15g / %.17g that reads back as the same double: people
 * read "0.9", not "0.90000000000000002". */
static void short_double(double v, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, cap, "%.17g", v);
}

static bounds spec_bounds(const sl_param_spec *s)
{
    bounds b = {false, false};
    switch (s->type) {
    case SL_PARAM_T_INT:
        if (s->min_i == 0 && s->max_i == 0)
            return b;
        b.lo = s->min_i != INT64_MIN;
        b.hi = s->max_i != INT64_MAX && !(s->max_i == 0 && s->min_i > 0);
        return b;
    case SL_PARAM_T_UINT:
        if (s->min_u == 0 && s->max_u == 0)
            return b;
        b.lo = true;
        b.hi = s->max_u != UINT64_MAX && !(s->max_u == 0 && s->min_u > 0);
        return b;
    case SL_PARAM_T_FLOAT:
        if (s->min_f == 0 && s->max_f == 0)
            return b;
        b.lo = s->min_f > -DBL_MAX;
        b.hi = s->max_f < DBL_MAX && !(s->max_f == 0 && s->min_f > 0);
        return b;
    default:
        return b;
    }
}

/* Writes the min (which == 0) or max of a numeric spec in plain decimal. */
static void bound_text(const sl_param_spec *s, int which, char *buf, size_t cap)
{
    if (s->type == SL_PARAM_T_INT)
        snprintf(buf, cap, "%" PRId64, which == 0 ? s->min_i : s->max_i);
    else if (s->type == SL_PARAM_T_UINT)
        snprintf(buf, cap, "%" PRIu64, which == 0 ? s->min_u : s->max_u);
    else
        short_double(which == 0 ? s->min_f : s->max_f, buf, cap);
}

void sl_param_default_text(const sl_param_spec *s, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    switch (s->type) {
    case SL_PARAM_T_INT: snprintf(buf, cap, "%" PRId64, s->def_i); break;
    case SL_PARAM_T_UINT: snprintf(buf, cap, "%" PRIu64, s->def_u); break;
    case SL_PARAM_T_FLOAT: short_double(s->def_f, buf, cap); break;
    case SL_PARAM_T_BOOL: snprintf(buf, cap, "%s", s->def_b ? "true" : "false"); break;
    default: snprintf(buf, cap, "%s", s->def_s ? s->def_s : ""); break;
    }
}

void sl_param_range_text(const sl_param_spec *s, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return;
    buf[0] = '\0';
    if (s->type == SL_PARAM_T_ENUM) {
        snprintf(buf, cap, "%s", s->choices ? s->choices : "");
        return;
    }
    bounds b = spec_bounds(s);
    char lo[40], hi[40];
    bound_text(s, 0, lo, sizeof lo);
    bound_text(s, 1, hi, sizeof hi);
    if (b.lo && b.hi)
        snprintf(buf, cap, "%s .. %s", lo, hi);
    else if (b.lo)
        snprintf(buf, cap, "%s ..", lo);
    else if (b.hi)
        snprintf(buf, cap, ".. %s", hi);
}

/* True when text is one of the '|'-separated choices. */
static bool is_choice(const char *choices, const char *text)
{
    size_t len = strlen(text);
    for (const char *c = choices; c && *c;) {
        size_t n = strcspn(c, "|");
        if (n == len && strncmp(c, text, n) == 0)
            return true;
        c += n + (c[n] == '|');
    }
    return false;
}

/* Appends " (did you mean 'x'?)" for the nearest choice, if any is near. */
static void choice_hint(const char *choices, const char *text, char *hint, size_t cap)
{
    hint[0] = '\0';
    char *copy = dup_str(choices);
    size_t n = 1;
    for (const char *c = choices; *c; c++)
        n += *c == '|';
    const char **cand = calloc(n, sizeof *cand);
    if (copy && cand) {
        size_t k = 0;
        for (char *save = NULL, *t = strtok_r(copy, "|", &save); t && k < n;
             t = strtok_r(NULL, "|", &save))
            cand[k++] = t;
        const char *near = sl_nearest(text, cand, k);
        if (near)
            snprintf(hint, cap, " (did you mean '%s'?)", near);
    }
    free(cand);
    free(copy);
}

/* "64K (65536)" when the canonical value reads differently from the text. */
static void shown_value(const char *text, const char *canon, sl_param_type t, char *buf,
                        size_t cap)
{
    bool integer = t == SL_PARAM_T_INT || t == SL_PARAM_T_UINT;
    if (integer && strcmp(text, canon) != 0)
        snprintf(buf, cap, "%s (%s)", text, canon);
    else
        snprintf(buf, cap, "%s", text);
}

/* -1 below the minimum, 1 above the maximum, 0 inside. */
static int range_side(const sl_param_spec *s, param_value v)
{
    bounds b = spec_bounds(s);
    switch (s->type) {
    case SL_PARAM_T_INT:
        return b.lo && v.i < s->min_i ? -1 : (b.hi && v.i > s->max_i ? 1 : 0);
    case SL_PARAM_T_UINT:
        return b.lo && v.u < s->min_u ? -1 : (b.hi && v.u > s->max_u ? 1 : 0);
    case SL_PARAM_T_FLOAT:
        return b.lo && v.f < s->min_f ? -1 : (b.hi && v.f > s->max_f ? 1 : 0);
    default:
        return 0;
    }
}

/* Parses text as s's type into *v and its canonical text into canon.
 * `what` is "stage 'x': parameter 'k'" and starts every message. */
static sl_status parse_value(const sl_param_spec *s, const char *what, const char *text,
                             param_value *v, char *canon, size_t cap, sl_error *err)
{
    switch (s->type) {
    case SL_PARAM_T_INT:
        SL_TRY(sl_parse_int(text, what, &v->i, err));
        snprintf(canon, cap, "%" PRId64, v->i);
        break;
    case SL_PARAM_T_UINT:
        SL_TRY(sl_parse_uint(text, what, &v->u, err));
        snprintf(canon, cap, "%" PRIu64, v->u);
        break;
    case SL_PARAM_T_FLOAT:
        SL_TRY(sl_parse_float(text, what, &v->f, err));
        if (v->f == 0)
            v->f = 0; /* -0 and 0 are the same setting and must print the same */
        snprintf(canon, cap, "%.17g", v->f);
        break;
    case SL_PARAM_T_BOOL:
        SL_TRY(sl_parse_bool(text, what, &v->b, err));
        snprintf(canon, cap, "%s", v->b ? "true" : "false");
        break;
    default:
        canon[0] = '\0'; /* STRING and ENUM keep the text itself */
        break;
    }
    return SL_OK;
}

/* Checks text against s (type, choices, range); on success *out holds the
 * value and *canon_out a new canonical text (owned by caller). */
static sl_status check_value(const sl_param_spec *s, const char *owner, const char *text,
                             param_value *out, char **canon_out, sl_error *err)
{
    char what[256], canon[64], shown[SL_ERROR_MSG_MAX / 2], bound[40], hint[96];
    snprintf(what, sizeof what, "stage '%s': parameter '%s'", owner, s->name);
    SL_TRY(parse_value(s, what, text, out, canon, sizeof canon, err));
    if (s->type == SL_PARAM_T_ENUM && !is_choice(s->choices, text)) {
        choice_hint(s->choices ? s->choices : "", text, hint, sizeof hint);
        return SL_FAIL(SL_EINVAL, "%s='%s' is not one of %s%s", what, text,
                       s->choices ? s->choices : "(no choices)", hint);
    }
    int side = range_side(s, *out);
    if (side != 0) {
        shown_value(text, canon, s->type, shown, sizeof shown);
        bound_text(s, side < 0 ? 0 : 1, bound, sizeof bound);
        return SL_FAIL(SL_ERANGE, "%s=%s %s %s", what, shown,
                       side < 0 ? "is below minimum" : "exceeds maximum", bound);
    }
    bool keeps_text = s->type == SL_PARAM_T_STRING || s->type == SL_PARAM_T_ENUM;
    *canon_out = dup_str(keeps_text ? text : canon);
    SL_CHECK(*canon_out, SL_ENOMEM, "%s: out of memory", what);
    return SL_OK;
}

static sl_status store(sl_params *p, size_t i, const char *text, sl_error *err)
{
    param_value v = {0};
    char *canon = NULL;
    SL_TRY(check_value(&p->spec[i], p->owner, text, &v, &canon, err));
    free(p->slot[i].text);
    p->slot[i].text = canon;
    p->slot[i].v = v;
    return SL_OK;
}

/* The default as text, so defaults go through the same checks as settings:
 * a stage whose table contradicts itself fails loudly at create. */
static sl_status store_default(sl_params *p, size_t i, sl_error *err)
{
    const sl_param_spec *s = &p->spec[i];
    char text[64];
    SL_CHECK(s->type >= SL_PARAM_T_INT && s->type <= SL_PARAM_T_ENUM, SL_EINVAL,
             "stage '%s': parameter '%s' has an invalid type %d", p->owner, s->name,
             (int)s->type);
    for (size_t j = 0; j < i; j++)
        SL_CHECK(strcmp(p->spec[j].name, s->name) != 0, SL_EEXIST,
                 "stage '%s': parameter '%s' is declared twice", p->owner, s->name);
    if (s->type == SL_PARAM_T_FLOAT)
        snprintf(text, sizeof text, "%.17g", s->def_f); /* exact, unlike the short form */
    else if (s->type != SL_PARAM_T_STRING && s->type != SL_PARAM_T_ENUM)
        sl_param_default_text(s, text, sizeof text);
    const char *t = s->type == SL_PARAM_T_STRING || s->type == SL_PARAM_T_ENUM
                        ? (s->def_s ? s->def_s : "")
                        : text;
    sl_status st = store(p, i, t, err);
    if (st != SL_OK)
        sl_error_prefix(err, "invalid default in the stage's parameter table");
    return st;
}

sl_status sl_params_create(sl_params **out, const sl_param_spec *spec, const char *owner,
                           sl_error *err)
{
    SL_CHECK(out, SL_EINVAL, "sl_params_create: out is NULL");
    *out = NULL;
    sl_params *p = calloc(1, sizeof *p);
    SL_CHECK(p, SL_ENOMEM, "out of memory creating parameters");
    static const sl_param_spec empty[] = {SL_PARAM_END};
    p->spec = spec ? spec : empty;
    while (p->spec[p->n].name)
        p->n++;
    p->owner = dup_str(owner ? owner : "?");
    p->slot = calloc(p->n + 1, sizeof *p->slot);
    if (!p->owner || !p->slot) {
        sl_params_destroy(&p);
        return SL_FAIL(SL_ENOMEM, "out of memory creating parameters");
    }
    for (size_t i = 0; i < p->n; i++) {
        sl_status s = store_default(p, i, err);
        if (s != SL_OK) {
            sl_params_destroy(&p);
            sl_error_push(err, s, __FILE__, __LINE__, __func__);
            return s;
        }
    }
    *out = p;
    return SL_OK;
}

static size_t find(const sl_params *p, const char *key)
{
    for (size_t i = 0; key && i < p->n; i++)
        if (strcmp(p->spec[i].name, key) == 0)
            return i;
    return p->n;
}

/* "unknown parameter 'k' (did you mean 'x'?)", or the list of what it has. */
static sl_status unknown_key(const sl_params *p, const char *key, sl_error *err)
{
    const char **names = calloc(p->n + 1, sizeof *names);
    SL_CHECK(names, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->n; i++)
        names[i] = p->spec[i].name;
    const char *near = sl_nearest(key, names, p->n);
    free(names);
    if (near)
        return SL_FAIL(SL_ENOTFOUND, "stage '%s': unknown parameter '%s' (did you mean '%s'?)",
                       p->owner, key, near);
    if (p->n == 0)
        return SL_FAIL(SL_ENOTFOUND, "stage '%s': unknown parameter '%s' (it takes no parameters)",
                       p->owner, key);
    char list[SL_ERROR_MSG_MAX] = "";
    size_t len = 0;
    for (size_t i = 0; i < p->n && len < sizeof list; i++) {
        int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", p->spec[i].name);
        len += w > 0 ? (size_t)w : 0;
    }
    return SL_FAIL(SL_ENOTFOUND, "stage '%s': unknown parameter '%s' (it has: %s)", p->owner, key,
                   list);
}

sl_status sl_params_set(sl_params *p, const char *key, const char *text, const char *origin,
                        sl_error *err)
{
    SL_CHECK(p && key && text, SL_EINVAL, "sl_params_set: NULL argument");
    size_t i = find(p, key);
    sl_status s = i < p->n ? store(p, i, text, err) : unknown_key(p, key, err);
    if (s != SL_OK) {
        if (origin)
            sl_error_prefix(err, "%s", origin);
        sl_error_push(err, s, __FILE__, __LINE__, __func__);
        return s;
    }
    p->slot[i].set = true;
    return SL_OK;
}

/* The slot for key, asserting it was declared with type t (or STRING/ENUM
 * for t == SL_PARAM_T_STRING); NULL when not, for NDEBUG builds. */
static const param_slot *lookup(const sl_params *p, const char *key, sl_param_type t)
{
    assert(p && "sl_params getter on NULL params");
    size_t i = find(p, key);
    assert(i < p->n && "parameter not declared in the stage's table");
    if (i >= p->n)
        return NULL;
    sl_param_type have = p->spec[i].type;
    bool ok = have == t || (t == SL_PARAM_T_STRING && have == SL_PARAM_T_ENUM);
    assert(ok && "parameter read with the wrong type");
    return ok ? &p->slot[i] : NULL;
}

int64_t sl_params_int(const sl_params *p, const char *key)
{
    const param_slot *s = lookup(p, key, SL_PARAM_T_INT);
    return s ? s->v.i : 0;
}

uint64_t sl_params_uint(const sl_params *p, const char *key)
{
    const param_slot *s = lookup(p, key, SL_PARAM_T_UINT);
    return s ? s->v.u : 0;
}

double sl_params_float(const sl_params *p, const char *key)
{
    const param_slot *s = lookup(p, key, SL_PARAM_T_FLOAT);
    return s ? s->v.f : 0.0;
}

bool sl_params_bool(const sl_params *p, const char *key)
{
    const param_slot *s = lookup(p, key, SL_PARAM_T_BOOL);
    return s ? s->v.b : false;
}

const char *sl_params_str(const sl_params *p, const char *key)
{
    const param_slot *s = lookup(p, key, SL_PARAM_T_STRING);
    return s ? s->text : NULL;
}

bool sl_params_is_set(const sl_params *p, const char *key)
{
    assert(p);
    size_t i = find(p, key);
    assert(i < p->n && "parameter not declared in the stage's table");
    return i < p->n && p->slot[i].set;
}

const sl_param_spec *sl_params_spec(const sl_params *p)
{
    return p ? p->spec : NULL;
}

const char *sl_params_owner(const sl_params *p)
{
    return p ? p->owner : NULL;
}

/* Like snprintf: returns the full length, writes at most cap-1 bytes and a
 * terminating NUL when cap > 0. */
size_t sl_params_format(const sl_params *p, char *buf, size_t cap)
{
    size_t len = 0;
    if (buf && cap)
        buf[0] = '\0';
    for (size_t i = 0; p && i < p->n; i++) {
        size_t room = buf && len < cap ? cap - len : 0;
        int w = snprintf(room ? buf + len : NULL, room, "%s=%s\n", p->spec[i].name,
                         p->slot[i].text);
        len += w > 0 ? (size_t)w : 0;
    }
    return len;
}

void sl_params_destroy(sl_params **pp)
{
    if (!pp || !*pp)
        return;
    sl_params *p = *pp;
    for (size_t i = 0; p->slot && i < p->n; i++)
        free(p->slot[i].text);
    free(p->slot);
    free(p->owner);
    free(p);
    *pp = NULL;
}
