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

FUZZ_ROUND_TRIP(journal_header, journal_header_from_json, journal_header_to_json,
                journal_header_clear, "header")
