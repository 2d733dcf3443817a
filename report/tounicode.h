/* tounicode.h - a correct ToUnicode CMap for the report's UTF-8 fonts, so
 * text copied or searched in any viewer is the text drawn (libharu writes
 * an encoding CMap there; tounicode.c says why and what replaces it).
 */
#ifndef KV_REPORT_TOUNICODE_H
#define KV_REPORT_TOUNICODE_H

#include <stddef.h>

#include <hpdf.h>

/* Enough for the map's text (about 5.9 KB). */
enum { TOUNICODE_CMAP_MAX = 8192 };

/* Writes the CMap text (identity from 2-byte UCS-2 codes to Unicode over the
 * BMP, surrogates excluded) into out; returns its length (as snprintf: the
 * length it needs, even when cap is smaller). */
size_t tounicode_cmap(char *out, size_t cap);
/* Replaces the content of font's /ToUnicode stream (a Type0 font made by
 * HPDF_GetFont with the UTF-8 encoder) with tounicode_cmap's text. Returns
 * 1 when done, 0 when the font has no such stream or the write failed (a
 * libharu error, recorded by the document's error handler). */
int tounicode_install(HPDF_Font font);

#endif
