/* fuzz_report.c - the report writer (report/report.h) fed mutated
 * results.json. An input starting with '{' is a results.json text; any
 * other input is a list of mutations applied to tests/fixtures/results/
 * demo.json, 4 bytes each: a 16-bit index of a numeric or null leaf, a kind
 * (the value written there: 1e308, 5e-324, -1e308, 0, null, -0, a byte, a
 * power of ten, ...) and an argument byte.
 *
 * The report must be written or refused as invalid input, never end in an
 * internal error, and the PDF must be well-formed: a header, an xref table
 * whose every offset starts its object, startxref pointing at it, %%EOF.
 * Debug (fuzz) builds also assert in report/draw.c that no non-finite number
 * reaches a page. qpdf --check and pdftotext run in scripts/fuzz.sh's replay
 * step, over the PDFs kept in $KVPROOF_FUZZ_PDF_DIR when it is set.
 *
 * The base tree and the scratch directory are made once per process
 * (libFuzzer calls the target many times): file-scope state is this
 * harness's only mutable global.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "fuzz/fuzz.h"
#include "report/report.h"

#define BASE KVPROOF_SOURCE_DIR "/tests/fixtures/results/demo.json"
#define BASE_POINTS KVPROOF_SOURCE_DIR "/tests/fixtures/results/demo.points.csv"

static struct {
    cJSON *base;
    char dir[64];
    char json[128], pdf[128], points[128];
    unsigned long kept;
} g;

static void cleanup(void)
{
    remove(g.json);
    remove(g.pdf);
    remove(g.points);
    rmdir(g.dir);
    cJSON_Delete(g.base);
}

static void init_once(void)
{
    if (g.base)
        return;
    char *text = NULL, err[KV_ERRLEN] = "";
    size_t len = 0;
    FUZZ_CHECK(kv_read_file(BASE, &text, &len, err) == KV_OK, "%s", err);
    g.base = cJSON_ParseWithLength(text, len);
    free(text);
    FUZZ_CHECK(g.base != NULL, "%s does not parse", BASE);
    const char *tmp = getenv("TMPDIR");
    snprintf(g.dir, sizeof g.dir, "%s/kvfuzz-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(g.dir) != NULL, "mkdtemp %s", g.dir);
    snprintf(g.json, sizeof g.json, "%s/results.json", g.dir);
    snprintf(g.pdf, sizeof g.pdf, "%s/report.pdf", g.dir);
    /* demo.json's points file next to it, so the figures draw points */
    snprintf(g.points, sizeof g.points, "%s/points.csv", g.dir);
    FUZZ_CHECK(kv_read_file(BASE_POINTS, &text, &len, err) == KV_OK, "%s", err);
    FILE *f = fopen(g.points, "wb");
    FUZZ_CHECK(f && fwrite(text, 1, len, f) == len && fclose(f) == 0, "write %s", g.points);
    free(text);
    atexit(cleanup);
}

/* ---- mutations ---- */

typedef struct leaves {
    cJSON **item;
    size_t n, cap;
} leaves;

static void collect(cJSON *o, leaves *l)
{
    for (cJSON *it = o->child; it; it = it->next) {
        if (cJSON_IsNumber(it) || cJSON_IsNull(it)) {
            if (l->n == l->cap) {
                l->cap = l->cap ? 2 * l->cap : 1024;
                l->item = realloc(l->item, l->cap * sizeof *l->item);
                FUZZ_CHECK(l->item != NULL, "out of memory");
            }
            l->item[l->n++] = it;
        } else {
            collect(it, l);
        }
    }
}

static double value_of(unsigned kind, unsigned arg)
{
    static const double fixed[] = {1e308, 5e-324, -1e308, 0, NAN, -0.0, 1, -1, 9e15, 2.5e-7};
    if (kind < sizeof fixed / sizeof fixed[0])
        return fixed[kind];
    if (kind < 16)
        return (double)arg;
    if (kind < 24)
        return -(double)arg;
    return pow(10, (double)arg - 128); /* 1e-128 .. 1e127 */
}

/* Sets a leaf to v: the item is turned into a number or null in place. */
static void set_leaf(cJSON *it, double v)
{
    if (isnan(v)) {
        it->type = cJSON_NULL;
        return;
    }
    it->type = cJSON_Number;
    cJSON_SetNumberValue(it, v);
}

static char *mutated(const uint8_t *data, size_t size)
{
    cJSON *copy = cJSON_Duplicate(g.base, 1);
    FUZZ_CHECK(copy != NULL, "out of memory");
    leaves l = {NULL, 0, 0};
    collect(copy, &l);
    for (size_t i = 0; i + 4 <= size && i < 4 * 64; i += 4) {
        size_t at = ((size_t)data[i] << 8 | data[i + 1]) % l.n;
        set_leaf(l.item[at], value_of(data[i + 2] % 32, data[i + 3]));
    }
    char *text = cJSON_PrintUnformatted(copy);
    FUZZ_CHECK(text != NULL, "out of memory");
    free(l.item);
    cJSON_Delete(copy);
    return text;
}

/* ---- the PDF's structure ---- */

static int starts_object(const char *pdf, size_t len, long off, long num)
{
    char want[32];
    int k = snprintf(want, sizeof want, "%ld 0 obj", num);
    return off >= 0 && (size_t)off + (size_t)k <= len && memcmp(pdf + off, want, (size_t)k) == 0;
}

static void check_pdf(const char *pdf, size_t len)
{
    FUZZ_CHECK(len > 64 && memcmp(pdf, "%PDF-1.", 7) == 0, "no PDF header");
    FUZZ_CHECK(memcmp(pdf + len - 6, "%%EOF", 5) == 0 || memcmp(pdf + len - 5, "%%EOF", 5) == 0,
               "no %%%%EOF at the end");
    const char *sx = NULL;
    for (const char *p = pdf + len - 5; p > pdf && !sx; p--)
        if (memcmp(p, "startxref", 9) == 0)
            sx = p;
    FUZZ_CHECK(sx != NULL, "no startxref");
    long xref = strtol(sx + 9, NULL, 10);
    FUZZ_CHECK(xref > 0 && (size_t)xref + 4 < len && memcmp(pdf + xref, "xref", 4) == 0,
               "startxref %ld does not point at the xref table", xref);
    long first = 0, count = 0;
    const char *p = pdf + xref + 4;
    FUZZ_CHECK(sscanf(p, " %ld %ld", &first, &count) == 2 && count > 0, "bad xref subsection");
    p = strchr(p + 1, '\n');
    p = p ? strchr(p + 1, '\n') : NULL; /* skip "0 N" and the free entry */
    for (long i = 1; p && i < count; i++) {
        long off = strtol(p + 1, NULL, 10);
        FUZZ_CHECK(p[18] == 'n' || p[18] == 'f', "xref entry %ld malformed", first + i);
        if (p[18] == 'n')
            FUZZ_CHECK(starts_object(pdf, len, off, first + i), "object %ld not at offset %ld",
                       first + i, off);
        p = strchr(p + 1, '\n');
    }
}

static void keep_pdf(const char *pdf, size_t len)
{
    const char *dir = getenv("KVPROOF_FUZZ_PDF_DIR");
    if (!dir || !*dir)
        return;
    char path[512];
    snprintf(path, sizeof path, "%s/%d-%lu.pdf", dir, (int)getpid(), g.kept++);
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    fwrite(pdf, 1, len, f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    char *text = NULL;
    if (size > 0 && data[0] == '{') {
        text = malloc(size + 1);
        FUZZ_CHECK(text != NULL, "out of memory");
        memcpy(text, data, size);
        text[size] = '\0';
    } else {
        text = mutated(data, size);
    }
    FILE *f = fopen(g.json, "wb");
    FUZZ_CHECK(f != NULL, "cannot write %s", g.json);
    FUZZ_CHECK(fwrite(text, 1, strlen(text), f) == strlen(text) && fclose(f) == 0, "write %s",
               g.json);
    free(text);
    char err[KV_ERRLEN] = "";
    remove(g.pdf);
    kv_status st = report_write(g.json, g.pdf, err);
    FUZZ_CHECK(st == KV_OK || st == KV_ERR_INPUT, "status %d: %s", (int)st, err);
    if (st != KV_OK)
        return 0;
    char *pdf = NULL;
    size_t len = 0;
    FUZZ_CHECK(kv_read_file(g.pdf, &pdf, &len, err) == KV_OK, "%s", err);
    check_pdf(pdf, len);
    keep_pdf(pdf, len);
    free(pdf);
    return 0;
}
