/* test_sha256.c - SHA-256 against the FIPS 180-4 examples ("abc", the
 * 448-bit message, one million 'a') and sha256sum on a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "common/util.h"
#include "tests/testutil.h"

static void sha256_should_match_the_fips_180_examples(void **state)
{
    (void)state;
    char hex[SHA256_HEX_LEN];
    sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(m, strlen(m), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    assert_true(sha256_hex(a, 1000000, hex));
    free(a);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void sha256_should_agree_with_sha256sum(void **state)
{
    (void)state;
    const char *path = "tests/fixtures/journals/good.jsonl";
    char *text = NULL, err[KV_ERRLEN];
    size_t len = 0;
    assert_int_equal(kv_read_file(path, &text, &len, err), KV_OK);
    char hex[SHA256_HEX_LEN], cmd[256], want[80] = "";
    assert_true(sha256_hex(text, len, hex));
    free(text);
    snprintf(cmd, sizeof cmd, "sha256sum %s", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(want, sizeof want, p));
    pclose(p);
    want[64] = '\0';
    assert_string_equal(hex, want);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(sha256_should_match_the_fips_180_examples),
        cmocka_unit_test(sha256_should_agree_with_sha256sum))
