/* results_points.c - the points file (results_points.h): per-point
 * residuals from the targets' chosen models, the row formatter (exact
 * short decimals without printf on the usual values), the file with its fixed-width
 * header filled in after the rows, and its entry in results.json.
 */
#include "stats/results_points.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "stats/results_schema.h"

/* ---- residuals ------------------------------------------------------------ */

/* The ttft residual (cold or warm model of the point's target) and the
 * prefill residual of point p; NAN where the point was not fitted. */
static void point_residuals(const results_point *p, const results_target *tss, size_t nt,
                            double *rt, double *rp)
{
    *rt = *rp = NAN;
    if (p->target >= nt)
        return;
    const results_target *ts = &tss[p->target];
    *rt = results_models_residual(p->mode == SPEC_WARM ? &ts->warm : &ts->cold, p);
    *rp = results_models_residual(&ts->prefill, p);
}

/* ---- rows ----------------------------------------------------------------- */

static size_t put_int(char *o, long long v)
{
    size_t n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    if (v < 0)
        o[n++] = '-';
    char d[24];
    int k = 0;
    do {
        d[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (k)
        o[n++] = d[--k];
    return n;
}

/* Appends m / 10^6 as decimal text: the integer part, then up to six
 * fraction digits without trailing zeros. */
static size_t put_micro(char *o, long long m)
{
    size_t n = 0;
    unsigned long long u = m < 0 ? 0ULL - (unsigned long long)m : (unsigned long long)m;
    if (m < 0)
        o[n++] = '-';
    unsigned long long fp = u % 1000000ULL;
    n += put_int(o + n, (long long)(u / 1000000ULL));
    if (fp) {
        int digits = 6;
        while (fp % 10 == 0) {
            fp /= 10;
            digits--;
        }
        o[n++] = '.';
        for (int i = digits - 1; i >= 0; i--, fp /= 10)
            o[n + (size_t)i] = (char)('0' + fp % 10);
        n += (size_t)digits;
    }
    return n;
}

/* Appends v: nothing when not finite; on the 10^-6 grid (integers, and
 * times the journal holds to the microsecond) the exact short decimal (m /
 * 10^6 is correctly rounded, as the reader's strtod); else the shortest of
 * %.15g, %.16g, %.17g that reads back as v. */
static size_t put_num(char *o, double v)
{
    if (!isfinite(v))
        return 0;
    if (fabs(v) < 1e9) {
        double m = nearbyint(v * 1e6);
        if (m / 1e6 == v)
            return put_micro(o, (long long)m);
    }
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(o, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(o, NULL) == v) /* 17 digits always read back */
            break;
    }
    return (size_t)n;
}

/* Appends a residual rounded to 10^-6 ms (1 ns: far below the clock's
 * resolution), or with 9 significant digits when it is that large. */
static size_t put_resid(char *o, double v)
{
    if (!isfinite(v))
        return 0;
    if (fabs(v) < 1e9)
        return put_micro(o, (long long)nearbyint(v * 1e6));
    return (size_t)snprintf(o, 32, "%.9g", v);
}

/* One row of point i (the columns of RESULTS_POINTS_COLUMNS) into o
 * (at least 512 bytes), with its '\n'; returns its length. */
static size_t row_format(char *o, const results_point *p, double rt, double rp)
{
    size_t n = 0;
    n += put_int(o + n, (long long)p->target);
    o[n++] = ',';
    n += put_int(o + n, (long long)p->order);
    o[n++] = ',';
    n += put_int(o + n, p->turn);
    n += (size_t)snprintf(o + n, 8, ",%s,", p->mode == SPEC_WARM ? "warm" : "cold");
    n += put_int(o + n, p->sys);
    o[n++] = ',';
    n += put_int(o + n, p->query);
    o[n++] = ',';
    n += put_int(o + n, p->count);
    n += (size_t)snprintf(o + n, 8, ",%d", p->contaminated ? 1 : 0);
    const double v[] = {p->x, p->newtok, p->cached, p->y, p->prefill};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        o[n++] = ',';
        n += put_num(o + n, v[k]);
    }
    o[n++] = ',';
    n += put_resid(o + n, rt);
    o[n++] = ',';
    n += put_resid(o + n, rp);
    o[n++] = '\n';
    return n;
}

/* ---- the file ------------------------------------------------------------- */

#define POINTS_COLUMN_NAME(name, type, doc) "," name
static const char columns_line[] = RESULTS_POINTS_COLUMNS(POINTS_COLUMN_NAME);
#undef POINTS_COLUMN_NAME

static void header_format(char *h, size_t rows, unsigned long long id)
{
    snprintf(h, RESULTS_POINTS_HEADER_LEN + 2, "# %s %d rows=%20zu id=%016llx\n",
             RESULTS_POINTS_FORMAT, RESULTS_POINTS_VERSION, rows, id);
}

/* Header (id 0), columns and rows to f; *id: the digest after the header. */
static bool rows_write(FILE *f, const results_ctx *c, const results_target *tss, size_t nt,
                       unsigned long long *id)
{
    char h[RESULTS_POINTS_HEADER_LEN + 2], row[512];
    header_format(h, c->n_pts, 0);
    if (fputs(h, f) == EOF)
        return false;
    unsigned long long d = KV_HASH64_INIT;
    const char *cols = columns_line + 1; /* without the leading comma */
    size_t cl = strlen(cols);
    if (fwrite(cols, 1, cl, f) != cl || fputc('\n', f) == EOF)
        return false;
    d = kv_hash64_more(d, cols, cl);
    d = kv_hash64_more(d, "\n", 1);
    for (size_t i = 0; i < c->n_pts; i++) {
        double rt, rp;
        point_residuals(&c->pts[i], tss, nt, &rt, &rp);
        size_t n = row_format(row, &c->pts[i], rt, rp);
        if (fwrite(row, 1, n, f) != n)
            return false;
        d = kv_hash64_more(d, row, n);
    }
    *id = d;
    return true;
}

/* Writes path.tmp (header patched with the digest) and renames it. */
static kv_status file_write(const char *path, const results_ctx *c, const results_target *tss,
                            size_t nt, unsigned long long *id, char *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return kv_fail(err, KV_ERR_IO, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return kv_fail(err, KV_ERR_IO, "%s: cannot write the points file", tmp);
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    char h[RESULTS_POINTS_HEADER_LEN + 2];
    bool ok = rows_write(f, c, tss, nt, id);
    if (ok) {
        header_format(h, c->n_pts, *id);
        ok = fseek(f, 0, SEEK_SET) == 0 && fputs(h, f) != EOF && fflush(f) == 0;
    }
    if (fclose(f) != 0 || !ok) {
        remove(tmp);
        return kv_fail(err, KV_ERR_IO, "%s: cannot write the points file", tmp);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return kv_fail(err, KV_ERR_IO, "%s: cannot rename to %s", tmp, path);
    }
    return KV_OK;
}

kv_status results_points_write(const results_ctx *c, const results_target *tss, size_t nt,
                               const char *path, results_points_info *info, char *err)
{
    unsigned long long id = 0;
    kv_status st = file_write(path, c, tss, nt, &id, err);
    if (st == KV_OK) {
        const char *slash = strrchr(path, '/');
        snprintf(info->name, sizeof info->name, "%s", slash ? slash + 1 : path);
        info->rows = c->n_pts;
        snprintf(info->id, sizeof info->id, "%016llx", id);
    }
    return st;
}

void results_points_json(jsonw *w, const results_points_info *info)
{
    jsonw_key(w, "points_file");
    jsonw_begin_obj(w);
    jsonw_kstr(w, "name", info->name);
    jsonw_kstr(w, "format", RESULTS_POINTS_FORMAT);
    jsonw_kint(w, "version", RESULTS_POINTS_VERSION);
    jsonw_kint(w, "rows", (long long)info->rows);
    jsonw_kstr(w, "id", info->id);
    jsonw_end_obj(w);
}
