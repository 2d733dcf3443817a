/* tounicode.c - a correct ToUnicode CMap for libharu's UTF-8 fonts
 * (report/tounicode.h): the map's text, and its installation in place of
 * the one libharu writes.
 *
 * Why: with the UTF-8 encoder, libharu (2.3.0 .. 2.4.x, hpdf_font_cid.c
 * HPDF_Type0Font_New) gives a TrueType Type0 font /Encoding /Identity-H and
 * reuses its *encoding* CMap (begincidrange, CMapType 1) as /ToUnicode.
 * Poppler rejects that on every page ("Invalid 'begincidrange' operator in
 * ToUnicode CMap") and other viewers may copy wrong text. Its UTF-8 encoder
 * writes each character as its UCS-2 code, big-endian, two bytes (BMP only;
 * anything above U+FFFF becomes a space), so the right map is the identity
 * on the BMP: one bfrange per high byte, surrogates excluded.
 */
#include "report/tounicode.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <hpdf_objects.h>
#include <hpdf_streams.h>

/* bfrange entries per begin/end block: the PDF limit is 100. */
enum { PER_BLOCK = 100 };

static int is_surrogate_page(unsigned hi)
{
    return hi >= 0xD8 && hi <= 0xDF;
}

/* Appends to out (cap bytes) at *len; *len counts what would be written. */
__attribute__((format(printf, 4, 5))) static void add(char *out, size_t cap, size_t *len,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + (*len < cap ? *len : cap), *len < cap ? cap - *len : 0, fmt, ap);
    va_end(ap);
    if (k > 0)
        *len += (size_t)k;
}

size_t tounicode_cmap(char *out, size_t cap)
{
    unsigned pages[256];
    int n = 0;
    for (unsigned hi = 0; hi < 256; hi++)
        if (!is_surrogate_page(hi))
            pages[n++] = hi;
    size_t len = 0;
    add(out, cap, &len, "%s",
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n");
    for (int i = 0; i < n; i++) {
        if (i % PER_BLOCK == 0)
            add(out, cap, &len, "%d beginbfrange\n", n - i < PER_BLOCK ? n - i : PER_BLOCK);
        add(out, cap, &len, "<%02X00> <%02XFF> <%02X00>\n", pages[i], pages[i], pages[i]);
        if (i % PER_BLOCK == PER_BLOCK - 1 || i == n - 1)
            add(out, cap, &len, "endbfrange\n");
    }
    add(out, cap, &len, "%s", "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    return len;
}

int tounicode_install(HPDF_Font font)
{
    char text[TOUNICODE_CMAP_MAX];
    size_t len = tounicode_cmap(text, sizeof text);
    if (!font || len >= sizeof text)
        return 0;
    HPDF_Dict map = HPDF_Dict_GetItem(font, "ToUnicode", HPDF_OCLASS_DICT);
    if (!map || !map->stream || map->stream->type != HPDF_STREAM_MEMORY)
        return 0;
    HPDF_MemStream_FreeData(map->stream);
    return HPDF_Stream_WriteStr(map->stream, text) == HPDF_OK;
}
