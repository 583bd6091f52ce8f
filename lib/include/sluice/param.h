/* sluice/param.h - typed stage parameters: declaration, parsing, listing.
 *
 * A stage declares its parameters once, as a table of sl_param_spec ended by
 * SL_PARAM_END. The same table feeds `sluice inspect`, job validation, the
 * docs and the values the stage reads in create(). Keys are lower_snake.
 * Precedence: default < job file < command line (later sets win).
 *
 * Integer text: decimal, 0x hex, exact scientific notation ("1e10",
 * "2.5e3"; a non-integral value is an error), binary suffixes K M G T P E
 * (64K = 65536), '_' between digits ("1_000_000"). */
#ifndef SLUICE_PARAM_H
#define SLUICE_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sluice/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SL_PARAM_T_INT = 1, /* int64 */
    SL_PARAM_T_UINT,    /* uint64 */
    SL_PARAM_T_FLOAT,   /* double */
    SL_PARAM_T_BOOL,    /* true/false, yes/no, on/off, 1/0 */
    SL_PARAM_T_STRING,
    SL_PARAM_T_ENUM     /* one of `choices`, "a|b|c" */
} sl_param_type;

typedef struct sl_param_spec {
    const char *name;
    sl_param_type type;
    const char *help;
    int64_t def_i, min_i, max_i;
    uint64_t def_u, min_u, max_u;
    double def_f, min_f, max_f;
    bool def_b;
    const char *def_s;   /* STRING and ENUM default */
    const char *choices; /* ENUM only */
    bool expert;         /* hidden from inspect unless verbose */
} sl_param_spec;

#define SL_PARAM_INT(n, def, lo, hi, h) \
    { .name = (n), .type = SL_PARAM_T_INT, .help = (h), .def_i = (def), .min_i = (lo), .max_i = (hi) }
#define SL_PARAM_UINT(n, def, lo, hi, h) \
    { .name = (n), .type = SL_PARAM_T_UINT, .help = (h), .def_u = (def), .min_u = (lo), .max_u = (hi) }
#define SL_PARAM_FLOAT(n, def, lo, hi, h) \
    { .name = (n), .type = SL_PARAM_T_FLOAT, .help = (h), .def_f = (def), .min_f = (lo), .max_f = (hi) }
#define SL_PARAM_BOOL(n, def, h) { .name = (n), .type = SL_PARAM_T_BOOL, .help = (h), .def_b = (def) }
#define SL_PARAM_STRING(n, def, h) { .name = (n), .type = SL_PARAM_T_STRING, .help = (h), .def_s = (def) }
#define SL_PARAM_ENUM(n, def, ch, h) \
    { .name = (n), .type = SL_PARAM_T_ENUM, .help = (h), .def_s = (def), .choices = (ch) }
#define SL_PARAM_END { .name = NULL }

/* Resolved values for one stage instance, in the order of its spec table. */
typedef struct sl_params sl_params;

const char *sl_param_type_name(sl_param_type t); /* "int", "uint", ... */

/* Writes the default (ENUM/STRING as is, numbers in plain decimal) into buf. */
void sl_param_default_text(const sl_param_spec *s, char *buf, size_t cap);
/* Writes the range ("1 .. 64", "hann|kaiser", "" when unbounded) into buf. */
void sl_param_range_text(const sl_param_spec *s, char *buf, size_t cap);

/* Creates params holding every default. owner names the stage instance in
 * messages. Borrows: spec (must outlive the params). Owned by caller: *out. */
sl_status sl_params_create(sl_params **out, const sl_param_spec *spec, const char *owner,
                           sl_error *err);

/* Parses text for key and stores it. `origin` says where the text came from
 * ("jobs/fib.yaml:12:9", "command line") and starts every message, e.g.
 * "jobs/fib.yaml:12:9: stage 'fib': parameter 'store'='half' is not one of
 * digits|full". An unknown key suggests the nearest declared one. */
sl_status sl_params_set(sl_params *p, const char *key, const char *text, const char *origin,
                        sl_error *err);

/* Getters for a declared key of the matching type. Asking for an undeclared
 * key or the wrong type is a programming error (asserts; returns 0/NULL). */
int64_t sl_params_int(const sl_params *p, const char *key);
uint64_t sl_params_uint(const sl_params *p, const char *key);
double sl_params_float(const sl_params *p, const char *key);
bool sl_params_bool(const sl_params *p, const char *key);
const char *sl_params_str(const sl_params *p, const char *key); /* STRING and ENUM; borrowed */
bool sl_params_is_set(const sl_params *p, const char *key);     /* set by job or command line */

const sl_param_spec *sl_params_spec(const sl_params *p);
const char *sl_params_owner(const sl_params *p);

/* Canonical "key=value\n" lines for every parameter, in table order, numbers
 * in plain decimal (%.17g for floats): equal text means equal settings. */
size_t sl_params_format(const sl_params *p, char *buf, size_t cap);

void sl_params_destroy(sl_params **p);

/* The parsers behind sl_params_set, for other configuration (command line,
 * job keys). Each error names `what` and the offending text. */
sl_status sl_parse_int(const char *text, const char *what, int64_t *out, sl_error *err);
sl_status sl_parse_uint(const char *text, const char *what, uint64_t *out, sl_error *err);
sl_status sl_parse_float(const char *text, const char *what, double *out, sl_error *err);
sl_status sl_parse_bool(const char *text, const char *what, bool *out, sl_error *err);

/* The candidate nearest to word by edit distance, or NULL when none is close
 * enough to be a plausible typo. */
const char *sl_nearest(const char *word, const char *const *candidates, size_t n);

#ifdef __cplusplus
}
#endif
#endif
