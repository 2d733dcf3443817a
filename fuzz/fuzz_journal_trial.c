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

/* A trial line of any length (the reader's limit is not under test). */
static kv_status decode(const char *text, size_t len, const char *where, trial_record *t, char *err)
{
    return journal_trial_from_json(text, len, where, SIZE_MAX, t, err);
}

FUZZ_ROUND_TRIP(trial_record, decode, journal_trial_to_json, trial_record_clear, "trial")
