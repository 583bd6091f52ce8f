/* stages/h5sink/h5sink_stats.c - the run's statistics in the file.
 *
 * The same figures as `sluice run --stats` (docs/stats.md): the whole JSON
 * text as the root attribute stats_json, and the group /stats with one row
 * per stage (stage and plugin names, batches in and out, busy seconds,
 * utilisation, the sampled fractions and the latency percentiles) for tools
 * that read HDF5 rather than JSON. Only in a group: the root datasets are the
 * job's rows, identical for any thread and rank count, and timings are not. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "h5sink_impl.h"

/* One 1-D dataset of n rows in the group (w, g and err from the caller). */
#define PUT(name, ftype, mtype, n, buf)                                                   \
    sl__h5w_put_1d(w, g, "stats", name, ftype, mtype, n, buf,                          \
                   "cannot write the statistics", err)

typedef struct stats_col {
    const char *name;
    size_t off; /* of the double, or of the uint64_t when u64 */
    bool u64;
} stats_col;

#define F64(field) {#field, offsetof(sl_stage_metrics, field), false}
#define U64(field) {#field, offsetof(sl_stage_metrics, field), true}
static const stats_col stats_cols[] = {
    U64(batches_in),   U64(batches_out),  U64(rows_in),        U64(rows_out),
    U64(attempts),     U64(retries),      U64(timeouts),       U64(dropped),
    F64(busy_s),       F64(utilisation),  F64(busy_frac),      F64(starved_frac),
    F64(blocked_frac), F64(queue_mean),   F64(queue_full_frac), F64(p50_ms),
    F64(p90_ms),       F64(p99_ms),       F64(max_ms),
};

static sl_status put_names(sl_h5w *w, hid_t g, const sl_stage_metrics *m, size_t n,
                           sl_error *err)
{
    const char **names = malloc(n * sizeof *names), **plugins = malloc(n * sizeof *plugins);
    hid_t str = H5Tcopy(H5T_C_S1);
    sl_status s = names && plugins ? SL_OK : SL_FAIL(SL_ENOMEM, "out of memory");
    if (s == SL_OK &&
        (str < 0 || H5Tset_size(str, H5T_VARIABLE) < 0 || H5Tset_cset(str, H5T_CSET_UTF8) < 0))
        s = H5W_FAIL(w, NULL, "cannot make the string type of the statistics");
    for (size_t i = 0; s == SL_OK && i < n; i++) {
        names[i] = m[i].name;
        plugins[i] = m[i].plugin;
    }
    if (s == SL_OK)
        s = PUT("stage", str, str, n, names);
    if (s == SL_OK)
        s = PUT("plugin", str, str, n, plugins);
    if (str >= 0)
        H5Tclose(str);
    free(names);
    free(plugins);
    return s;
}

static sl_status put_figures(sl_h5w *w, hid_t g, const sl_stage_metrics *m, size_t n,
                             sl_error *err)
{
    void *col = malloc(n * sizeof(uint64_t));
    SL_CHECK(col, SL_ENOMEM, "out of memory");
    sl_status s = SL_OK;
    for (size_t c = 0; s == SL_OK && c < sizeof stats_cols / sizeof *stats_cols; c++) {
        const stats_col *sc = &stats_cols[c];
        for (size_t i = 0; i < n; i++) {
            const char *base = (const char *)&m[i] + sc->off;
            if (sc->u64)
                ((uint64_t *)col)[i] = *(const uint64_t *)(const void *)base;
            else
                ((double *)col)[i] = *(const double *)(const void *)base;
        }
        s = sc->u64 ? PUT(sc->name, H5T_STD_U64LE, H5T_NATIVE_UINT64, n, col)
                    : PUT(sc->name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, n, col);
    }
    free(col);
    return s;
}

sl_status sl_h5w_stats(sl_h5w *w, const sl_ctx *ctx, sl_error *err)
{
    const char *json = sl_ctx_stats_json(ctx);
    size_t n = sl_ctx_stats_nstages(ctx);
    if (!json || n == 0)
        return SL_OK;
    SL_CHECK(w->file >= 0, SL_EINVAL, "%s: statistics written with no file open", w->path);
    SL_TRY(sl_h5w_attr_str(w, "stats_json", json, err));
    sl_stage_metrics *m = calloc(n, sizeof *m);
    SL_CHECK(m, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        sl_ctx_stats_stage(ctx, i, &m[i]);
    sl__h5w_quiet();
    hid_t g = H5Gcreate2(w->file, "stats", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    sl_status s = g >= 0 ? SL_OK : H5W_FAIL(w, NULL, "cannot create the group 'stats'");
    if (s == SL_OK)
        s = put_names(w, g, m, n, err);
    if (s == SL_OK)
        s = put_figures(w, g, m, n, err);
    if (g >= 0)
        H5Gclose(g);
    free(m);
    return s;
}
