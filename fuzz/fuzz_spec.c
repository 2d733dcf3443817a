/* fuzz_spec.c - the spec loader (experiments/spec.h): any bytes either fail
 * with a message or give a spec whose canonical JSON parses again to the
 * same canonical text and hash.
 */
#include <string.h>

#include "experiments/spec.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[KV_ERRLEN] = "";
    spec *s = NULL;
    if (spec_parse((const char *)data, size, "fuzz.json", &s, err) != KV_OK)
        return fuzz_refused(s == NULL, err);
    FUZZ_CHECK(s->canonical != NULL, "no canonical text");
    spec *again = NULL;
    char err2[KV_ERRLEN] = "";
    kv_status st = spec_parse(s->canonical, strlen(s->canonical), "canonical.json", &again, err2);
    FUZZ_CHECK(st == KV_OK, "the canonical form does not reload: %s\n%s", err2, s->canonical);
    FUZZ_CHECK(strcmp(s->canonical, again->canonical) == 0, "canonical text changed:\n%s\n%s",
               s->canonical, again->canonical);
    FUZZ_CHECK(s->hash == again->hash, "hash changed");
    spec_free(again);
    spec_free(s);
    return 0;
}
