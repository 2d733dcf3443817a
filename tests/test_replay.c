/* test_replay.c - the golden-fixture replay server (server/replay.h) on its
 * own: HTTP/1.0 close-delimited and chunked framing, the first-token delay
 * before its event, templated counts from the prefix cache, a cache reset,
 * and clear errors for a bad manifest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "server/replay.h"
#include "tests/srvtest.h"
#include "tests/testutil.h"

#define MLX "tests/fixtures/wire/mlx-lm/v0.32-http1.0-keepalive"
#define VLLM "tests/fixtures/wire/vllm/v0.11-prompt-tokens-details"

static replay *start(const char *dir, double delay_ms, const char *framing)
{
    replay_options o;
    replay_options_default(&o);
    o.first_token_delay_ms = delay_ms;
    o.framing = framing;
    replay *r = NULL;
    char err[KV_ERRLEN] = "";
    if (replay_start(dir, &o, &r, err) != KV_OK)
        fail_msg("%s: %s", dir, err);
    return r;
}

static const char chat_body[] =
    "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
    "\"messages\":[{\"role\":\"system\",\"content\":\"one two three four five six seven\"},"
    "{\"role\":\"user\",\"content\":\"eight nine\"}]}";

/* A test's replay server, started from the fixture `dir` with a first-token
 * delay and framing, and up to two replies (a, b) that the teardown frees
 * with the server. */
typedef struct replay_fx {
    const char *dir;
    double delay_ms;
    const char *framing;
    replay *r;
    http_reply a, b;
} replay_fx;

static int replay_up(void **state)
{
    replay_fx *f = *state;
    f->r = start(f->dir, f->delay_ms, f->framing);
    return 0;
}

static int replay_down(void **state)
{
    replay_fx *f = *state;
    http_reply_free(&f->a);
    http_reply_free(&f->b);
    replay_stop(f->r);
    return 0;
}

/* POSTs chat_body to the replay's /v1/chat/completions. */
static void chat(replay *r, http_reply *out)
{
    http_do(replay_port(r), "POST", "/v1/chat/completions", chat_body, 10, out);
}

static void http10_framing_should_answer_close_delimited(void **state)
{
    replay_fx *f = *state;
    chat(f->r, &f->a);
    assert_int_equal(f->a.rc, CURLE_OK);
    assert_int_equal(f->a.status, 200);
    assert_non_null(strstr(f->a.headers.data, "HTTP/1.0 200"));
    assert_null(strstr(f->a.headers.data, "chunked"));
    assert_null(strstr(f->a.headers.data, "Content-Length"));
    assert_non_null(strstr(f->a.body.data, ": keepalive 1/12\n\n"));
    assert_non_null(strstr(f->a.body.data, "data: [DONE]\n\n"));
}

static void chunked_framing_should_be_http11_chunked(void **state)
{
    replay_fx *f = *state;
    chat(f->r, &f->a);
    assert_int_equal(f->a.status, 200);
    assert_non_null(strstr(f->a.headers.data, "HTTP/1.1 200"));
    assert_non_null(strstr(f->a.headers.data, "chunked"));
}

static void counts_should_follow_the_prefix_cache_and_its_reset(void **state)
{
    replay_fx *f = *state;
    chat(f->r, &f->a);
    chat(f->r, &f->b);
    /* 2 role tokens + 7 + 2 words + 1 reply token = 12; the second time all
     * but the last token come from the cache. */
    assert_non_null(strstr(f->a.body.data, "\"prompt_tokens\": 12"));
    assert_non_null(strstr(f->a.body.data, "\"cached_tokens\": 0}"));
    assert_non_null(strstr(f->b.body.data, "\"cached_tokens\": 11}"));
    replay_entry log[4];
    assert_int_equal(replay_log(f->r, 0, log, 4), 2);
    assert_true(log[1].generate && log[1].stream);
    assert_int_equal(log[1].prompt_tokens, 12);
    assert_int_equal(log[1].cached_tokens, 11);
}

static void vllm_blocks_and_uncached_reply_should_drop_prompt_tokens_details(void **state)
{
    replay_fx *f = *state;
    chat(f->r, &f->a);
    /* 12 tokens < one 16-token block: never cached, so no details. */
    assert_null(strstr(f->a.body.data, "prompt_tokens_details"));
    assert_non_null(strstr(f->a.body.data, "\"prompt_tokens\":12,"));
    http_do(replay_port(f->r), "POST", "/reset_prefix_cache", "{}", 10, &f->b);
    assert_int_equal(f->b.status, 404);
    assert_string_equal(f->b.body.data, "{\"detail\":\"Not Found\"}");
}

static void first_token_delay_should_precede_the_first_content_event(void **state)
{
    replay_fx *f = *state;
    int64_t t0 = kv_now_ns();
    chat(f->r, &f->a);
    double ms = (double)(kv_now_ns() - t0) / 1e6;
    assert_true(ms >= 60.0); /* a lower bound only: the delay was slept */
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void bad_manifest_should_name_the_file_and_field(void **state)
{
    (void)state;
    assert_int_equal(system("mkdir -p /tmp/rp-bad"), 0);
    char err[KV_ERRLEN] = "";
    replay *r = NULL;
    write_file("/tmp/rp-bad/reply.txt", "data: {\"n\":1}\n\n");
    write_file("/tmp/rp-bad/replay.json",
               "{\"routes\":[{\"path\":\"/x\",\"reply\":{\"file\":\"reply.txt\","
               "\"subst\":[[\"\\\"n\\\":2\",\"{{prompt_tokens}}\"]]}}]}");
    assert_int_equal(replay_start("/tmp/rp-bad", NULL, &r, err), KV_ERR_INPUT);
    assert_null(r);
    assert_non_null(strstr(err, "/tmp/rp-bad/replay.json: routes[0].reply.subst[0]"));
    assert_non_null(strstr(err, "not found in the file"));
    err[0] = '\0';
    write_file("/tmp/rp-bad/replay.json", "{\"routes\":[{\"action\":\"fly\",\"reply\":{}}]}");
    assert_int_equal(replay_start("/tmp/rp-bad", NULL, &r, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "routes[0].action"));
    err[0] = '\0';
    write_file("/tmp/rp-bad/replay.json", "{\"routes\": 3}");
    assert_int_equal(replay_start("/tmp/rp-bad", NULL, &r, err), KV_ERR_INPUT);
    assert_non_null(strstr(err, "routes: expected an array"));
}

static void body_has_should_pick_the_route(void **state)
{
    (void)state;
    char err[KV_ERRLEN] = "";
    replay *r = NULL;
    assert_int_equal(system("mkdir -p /tmp/rp-has"), 0);
    write_file("/tmp/rp-has/replay.json",
               "{\"routes\":[{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
               "\"body_has\":\"max_tokens\",\"status\":400,\"reply\":{\"body\":\"no\"}},"
               "{\"method\":\"POST\",\"path\":\"/v1/chat/completions\","
               "\"reply\":{\"body\":\"yes\"}}]}");
    assert_int_equal(replay_start("/tmp/rp-has", NULL, &r, err), KV_OK);
    http_reply a, b;
    http_do(replay_port(r), "POST", "/v1/chat/completions", "{\"max_tokens\":5}", 10, &a);
    http_do(replay_port(r), "POST", "/v1/chat/completions", "{\"max_completion_tokens\":5}", 10,
            &b);
    assert_int_equal(a.status, 400);
    assert_string_equal(a.body.data, "no");
    assert_int_equal(b.status, 200);
    assert_string_equal(b.body.data, "yes");
    http_reply_free(&a);
    http_reply_free(&b);
    replay_stop(r);
}

/* A test run on the replay of DIR (first-token delay DELAY ms, FRAMING),
 * started and stopped around it. */
#define ON_REPLAY(TEST, DIR, DELAY, FRAMING)                                                       \
    {                                                                                              \
#TEST, TEST, replay_up, replay_down, &(replay_fx)                                          \
        {                                                                                          \
            .dir = DIR, .delay_ms = DELAY, .framing = FRAMING                                      \
        }                                                                                          \
    }

TU_MAIN(NULL, NULL, ON_REPLAY(http10_framing_should_answer_close_delimited, MLX, 0, NULL),
        ON_REPLAY(chunked_framing_should_be_http11_chunked, MLX, 0, "chunked"),
        ON_REPLAY(counts_should_follow_the_prefix_cache_and_its_reset, MLX, 0, NULL),
        ON_REPLAY(vllm_blocks_and_uncached_reply_should_drop_prompt_tokens_details, VLLM, 0, NULL),
        ON_REPLAY(first_token_delay_should_precede_the_first_content_event, MLX, 60, NULL),
        cmocka_unit_test(bad_manifest_should_name_the_file_and_field),
        cmocka_unit_test(body_has_should_pick_the_route))
