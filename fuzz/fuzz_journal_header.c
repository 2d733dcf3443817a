/* fuzz_journal_header.c - the journal header decoder
 * (experiments/journal.h): a line that decodes must encode to JSON that
 * decodes again, and encoding that second header must give the same text
 * (decode -> encode -> decode round trip). The journal reader hands the
 * decoders a line without its '\n': one trailing '\n' is dropped here too.
 */
#include <string.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[KV_ERRLEN] = "";
    if (size > 0 && data[size - 1] == '\n')
        size--;
    journal_header h;
    memset(&h, 0, sizeof h);
    kv_status st = journal_header_from_json((const char *)data, size, "fuzz:1", &h, err);
    if (st != KV_OK) {
        FUZZ_CHECK(err[0] != '\0', "a failed decode gave no message");
        journal_header_clear(&h);
        return 0;
    }
    kv_buf a = {0}, b = {0};
    FUZZ_CHECK(journal_header_to_json(&h, &a, err) == KV_OK, "encode: %s", err);
    journal_header_clear(&h);
    memset(&h, 0, sizeof h);
    st = journal_header_from_json(a.data, a.len, "fuzz:2", &h, err);
    FUZZ_CHECK(st == KV_OK, "the encoded header does not decode: %s\n%.*s", err, (int)a.len,
               a.data);
    FUZZ_CHECK(journal_header_to_json(&h, &b, err) == KV_OK, "encode again: %s", err);
    FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
               "round trip changed the header:\n%.*s\n%.*s", (int)a.len, a.data, (int)b.len,
               b.data);
    journal_header_clear(&h);
    kv_buf_free(&a);
    kv_buf_free(&b);
    return 0;
}
