/* fuzz_journal_trial.c - the journal trial decoder
 * (experiments/journal.h): a trial line that decodes must encode to JSON that
 * decodes again, and encoding that second trial must give the same text
 * (decode -> encode -> decode round trip). The journal reader hands the
 * decoders a line without its '\n': one trailing '\n' is dropped here too.
 */
#include <stdint.h>
#include <string.h>

#include "common/util.h"
#include "experiments/journal.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[KV_ERRLEN] = "";
    if (size > 0 && data[size - 1] == '\n')
        size--;
    trial_record t;
    memset(&t, 0, sizeof t);
    kv_status st = journal_trial_from_json((const char *)data, size, "fuzz:1", SIZE_MAX, &t, err);
    if (st != KV_OK) {
        FUZZ_CHECK(err[0] != '\0', "a failed decode gave no message");
        trial_record_clear(&t);
        return 0;
    }
    kv_buf a = {0}, b = {0};
    FUZZ_CHECK(journal_trial_to_json(&t, &a, err) == KV_OK, "encode: %s", err);
    trial_record_clear(&t);
    memset(&t, 0, sizeof t);
    st = journal_trial_from_json(a.data, a.len, "fuzz:2", SIZE_MAX, &t, err);
    FUZZ_CHECK(st == KV_OK, "the encoded trial does not decode: %s\n%.*s", err, (int)a.len, a.data);
    FUZZ_CHECK(journal_trial_to_json(&t, &b, err) == KV_OK, "encode again: %s", err);
    FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
               "round trip changed the trial:\n%.*s\n%.*s", (int)a.len, a.data, (int)b.len, b.data);
    trial_record_clear(&t);
    kv_buf_free(&a);
    kv_buf_free(&b);
    return 0;
}
