/* test_prompt.c - prompt synthesis: exact lengths against several fake
 * tokenizers, nonce at token 0, determinism, the cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "experiments/prompt.h"
#include "tests/testutil.h"

/* One token per whitespace-separated word. */
static kv_status count_words(void *ctx, const char *text, long *n, char *err)
{
    (void)ctx;
    (void)err;
    long c = 0;
    int in = 0;
    for (const char *s = text; *s; s++) {
        int ws = *s == ' ' || *s == '\n' || *s == '\t';
        if (!ws && !in)
            c++;
        in = !ws;
    }
    *n = c;
    return KV_OK;
}

/* BPE-like: each word costs ceil(len/4) tokens, punctuation one more. */
static kv_status count_pieces(void *ctx, const char *text, long *n, char *err)
{
    (void)err;
    if (ctx)
        (*(long *)ctx)++;
    long c = 0, run = 0;
    for (const char *s = text;; s++) {
        int ws = *s == ' ' || *s == '\n' || *s == '\0';
        if (*s == '.' || *s == ',') {
            c++;
            continue;
        }
        if (ws) {
            c += (run + 3) / 4;
            run = 0;
            if (!*s)
                break;
        } else {
            run++;
        }
    }
    *n = c;
    return KV_OK;
}

static kv_status count_fails(void *ctx, const char *text, long *n, char *err)
{
    (void)ctx;
    (void)text;
    (void)n;
    return kv_fail(err, KV_ERR_NET, "tokenizer unreachable");
}

/* prompt_synth_new that fails the test when it refuses. */
static prompt_synth *synth(const char *corpus, size_t corpus_len, uint64_t seed, prompt_count_fn fn,
                           void *ctx, bool cheap)
{
    char err[KV_ERRLEN] = "";
    prompt_synth *p = NULL;
    if (prompt_synth_new(corpus, corpus_len, seed, fn, ctx, cheap, &p, err) != KV_OK)
        fail_msg("%s", err);
    return p;
}

/* prompt_make that fails the test unless it succeeds; returns the text. */
static char *make(prompt_synth *p, prompt_role role, long n_tokens, uint64_t nonce, long variant,
                  long *counted)
{
    char err[KV_ERRLEN] = "";
    char *text = NULL;
    if (prompt_make(p, role, n_tokens, nonce, variant, &text, counted, err) != KV_OK)
        fail_msg("%s", err);
    return text;
}

/* One prompt of role and n_tokens (nonce, variant 0) from a fresh
 * synthesiser over corpus (NULL: the built-in one), seed 1, counting words;
 * the count in *got. */
static char *one_prompt(const char *corpus, prompt_role role, long n_tokens, uint64_t nonce,
                        long *got)
{
    prompt_synth *p = synth(corpus, corpus ? strlen(corpus) : 0, 1, count_words, NULL, true);
    char *text = make(p, role, n_tokens, nonce, 0, got);
    prompt_synth_free(p);
    return text;
}

static const long lengths[] = {1, 2, 7, 64, 100, 511, 1024, 4096, 18490};

static void check_exact(prompt_count_fn fn, prompt_role role)
{
    char err[KV_ERRLEN] = "";
    prompt_synth *p = synth(NULL, 0, 1, fn, NULL, true);
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        long got = -1, again = -1;
        if (role == PROMPT_SYSTEM && lengths[i] < 8)
            continue; /* shorter than the nonce */
        char *text = make(p, role, lengths[i], 77 + i, 1, &got);
        assert_int_equal(fn(NULL, text, &again, err), KV_OK);
        assert_int_equal(got, lengths[i]);
        assert_int_equal(again, lengths[i]);
        free(text);
    }
    assert_int_equal(prompt_synth_stats(p).inexact, 0);
    prompt_synth_free(p);
}

static void prompt_should_hit_exact_lengths_with_a_word_tokenizer(void **state)
{
    (void)state;
    check_exact(count_words, PROMPT_SYSTEM);
    check_exact(count_words, PROMPT_QUERY);
}

static void prompt_should_hit_exact_lengths_with_a_subword_tokenizer(void **state)
{
    (void)state;
    check_exact(count_pieces, PROMPT_SYSTEM);
    check_exact(count_pieces, PROMPT_QUERY);
    check_exact(count_pieces, PROMPT_PRIME);
}

static void prompt_should_put_a_unique_nonce_at_token_zero(void **state)
{
    (void)state;
    prompt_synth *p = synth(NULL, 0, 1, count_words, NULL, true);
    char na[PROMPT_NONCE_LEN], nb[PROMPT_NONCE_LEN];
    char *a = make(p, PROMPT_SYSTEM, 500, 1, 0, NULL);
    char *b = make(p, PROMPT_SYSTEM, 500, 2, 0, NULL);
    prompt_nonce_text(1, na, sizeof na);
    prompt_nonce_text(2, nb, sizeof nb);
    assert_true(strncmp(a, na, strlen(na)) == 0);
    assert_true(strncmp(b, nb, strlen(nb)) == 0);
    assert_true(a[0] != b[0] || strcmp(na, nb) != 0);
    /* The first word differs for most nonce pairs: count distinct first words. */
    int distinct = 0;
    for (uint64_t n = 0; n < 64; n++) {
        char x[PROMPT_NONCE_LEN], y[PROMPT_NONCE_LEN];
        prompt_nonce_text(n, x, sizeof x);
        prompt_nonce_text(n + 1000, y, sizeof y);
        distinct += strncmp(x, y, strcspn(x, " ")) != 0;
    }
    assert_true(distinct > 55);
    for (uint64_t n = 0; n < 4096; n++) {
        char x[PROMPT_NONCE_LEN];
        prompt_nonce_text(n * 0x9E3779B97F4A7C15ULL, x, sizeof x);
        assert_null(strstr(x, "null"));
        assert_true(strlen(x) > 12);
    }
    free(a);
    free(b);
    prompt_synth_free(p);
}

static void prompt_should_be_deterministic_by_seed(void **state)
{
    (void)state;
    prompt_synth *p1 = synth(NULL, 0, 5, count_words, NULL, true);
    prompt_synth *p2 = synth(NULL, 0, 5, count_words, NULL, true);
    prompt_synth *p3 = synth(NULL, 0, 6, count_words, NULL, true);
    char *a = make(p1, PROMPT_SYSTEM, 300, 9, 0, NULL);
    char *b = make(p2, PROMPT_SYSTEM, 300, 9, 0, NULL);
    char *c = make(p3, PROMPT_SYSTEM, 300, 9, 0, NULL);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    /* Queries of different turns are different questions. */
    char *q1 = make(p1, PROMPT_QUERY, 50, 9, 1, NULL);
    char *q2 = make(p1, PROMPT_QUERY, 50, 9, 2, NULL);
    assert_string_not_equal(q1, q2);
    free(a);
    free(b);
    free(c);
    free(q1);
    free(q2);
    prompt_synth_free(p1);
    prompt_synth_free(p2);
    prompt_synth_free(p3);
}

static void prompt_should_search_each_length_once_and_then_use_its_cache(void **state)
{
    (void)state;
    long calls = 0;
    prompt_synth *p = synth(NULL, 0, 1, count_pieces, &calls, false);
    free(make(p, PROMPT_SYSTEM, 4096, 1, 0, NULL));
    long after_first = calls;
    assert_true(after_first > 0);
    assert_true(after_first < 40);
    for (uint64_t n = 2; n < 50; n++)
        free(make(p, PROMPT_SYSTEM, 4096, n, 0, NULL));
    assert_int_equal(calls, after_first);
    assert_int_equal(prompt_synth_stats(p).cache_hits, 48);
    prompt_synth_free(p);
}

static void prompt_should_use_the_given_corpus_text(void **state)
{
    (void)state;
    const char *corpus = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu "
                         "nu xi omicron pi rho sigma tau upsilon phi chi psi omega";
    long got = 0;
    char *q = one_prompt(corpus, PROMPT_QUERY, 100, 0, &got);
    assert_int_equal(got, 100);
    assert_non_null(strstr(q, "omicron"));
    free(q);
}

static void prompt_should_refuse_a_tiny_corpus_and_report_tokenizer_failures(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    prompt_synth *p = NULL;
    assert_int_equal(prompt_synth_new("one two", 7, 1, count_words, NULL, true, &p, err),
                     KV_ERR_INPUT);
    assert_null(p);
    assert_non_null(strstr(err, "corpus"));
    err[0] = '\0';
    p = synth(NULL, 0, 1, count_fails, NULL, true);
    char *t = NULL;
    assert_int_equal(prompt_make(p, PROMPT_QUERY, 10, 0, 0, &t, NULL, err), KV_ERR_NET);
    assert_null(t);
    assert_non_null(strstr(err, "unreachable"));
    prompt_synth_free(p);
}

static void prompt_should_return_an_empty_system_prompt_for_zero_tokens(void **state)
{
    (void)state;
    long got = -1;
    char *t = one_prompt(NULL, PROMPT_SYSTEM, 0, 3, &got);
    assert_string_equal(t, "");
    assert_int_equal(got, 0);
    free(t);
}

static void prompt_corpus_load_should_name_a_missing_file(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(prompt_corpus_load("builtin", &text, &len, err), KV_OK);
    assert_null(text);
    assert_int_equal(prompt_corpus_load("no/such/corpus.txt", &text, &len, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "no/such/corpus.txt"));
}

TU_MAIN(NULL, NULL, cmocka_unit_test(prompt_should_hit_exact_lengths_with_a_word_tokenizer),
        cmocka_unit_test(prompt_should_hit_exact_lengths_with_a_subword_tokenizer),
        cmocka_unit_test(prompt_should_put_a_unique_nonce_at_token_zero),
        cmocka_unit_test(prompt_should_be_deterministic_by_seed),
        cmocka_unit_test(prompt_should_search_each_length_once_and_then_use_its_cache),
        cmocka_unit_test(prompt_should_use_the_given_corpus_text),
        cmocka_unit_test(prompt_should_refuse_a_tiny_corpus_and_report_tokenizer_failures),
        cmocka_unit_test(prompt_should_return_an_empty_system_prompt_for_zero_tokens),
        cmocka_unit_test(prompt_corpus_load_should_name_a_missing_file))
