/* refsrv.h - the built-in reference LLM server ("kvproof serve"): a simulated
 * inference server whose true costs are known. It really sleeps for the time
 * its cost model (server/costmodel.h) gives, really reuses cached token
 * prefixes, and speaks the wire format of one real server (its dialect).
 * Everything it produces is labelled simulated: the header
 * X-Kvproof-Simulated: 1, the model name and system_fingerprint
 * "kvproof-reference...". See docs/server.md.
 *
 * In process: refsrv_start() runs the server on its own threads (one per
 * connection, libmicrohttpd) until refsrv_stop(). Tests read the ground truth
 * of the last finished generation request with refsrv_last().
 *
 * Timing: the server sleeps time_scale x model time and REPORTS the time that
 * actually elapsed (so with time_scale 0.01 a 25 s prefill is slept as about
 * 250 ms and reported as about 250 ms). refsrv_truth also holds the unscaled
 * model time.
 *
 * Ownership: refsrv_start allocates the handle; refsrv_stop stops the
 * threads and frees it (refsrv_stop(NULL) is a no-op). The config's strings
 * are copied; the caller may free them after refsrv_start returns.
 */
#ifndef KV_REFSRV_H
#define KV_REFSRV_H

#include <stdbool.h>

#include "common/status.h"
#include "server/refsrv_config.h"

void refsrv_config_default(refsrv_config *c);

/* Starts the server. Returns KV_ERR_NET when the address cannot be bound. */
kv_status refsrv_start(const refsrv_config *c, refsrv **out, char *err) KV_MUST_USE;
/* The bound port (useful with port 0). */
int refsrv_port(const refsrv *s);
/* Stops the threads (interrupting sleeps and stalls) and frees the handle. */
void refsrv_stop(refsrv *s);

/* Copies the truth of the last finished generation request into *out;
 * false when none has finished yet. */
bool refsrv_last(refsrv *s, refsrv_truth *out);
/* Number of generation requests that finished (completed or not). */
long refsrv_requests(refsrv *s);
/* Empties the prefix cache (what the reset endpoints do). */
void refsrv_reset_cache(refsrv *s);

/* The server's tokenizer: each run of ASCII letters/digits (and bytes >= 0x80)
 * is one token, every other non-space byte is one token, whitespace is free. */
long refsrv_count_tokens(const char *text);
/* Tokens a chat prompt of n_messages messages whose contents have
 * content_tokens tokens in total: 4 per message + content + 3. */
long refsrv_chat_tokens(long n_messages, long content_tokens);

/* Names: "llama.cpp", "vllm", "sglang", "ollama", "lmstudio", "mlx", "openai",
 * "anthropic"; faults "refuse", "reset", "http500", "http503", "http429",
 * "stall", "malformed", "truncate", "hugeline", "content-type", "drip". */
const char *refsrv_dialect_name(refsrv_dialect d);
bool refsrv_dialect_parse(const char *name, refsrv_dialect *out);
const char *refsrv_fault_name(refsrv_fault f);
/* Cache presets: "shared" (mode shared), "llama.cpp" (mode slot, no RAM
 * tier), "llama.cpp-ram" (mode slot, RAM tier of 262,144 tokens, 0.01 ms
 * per restored token). Sets the mode, the RAM tier and its cost. */
bool refsrv_cache_preset(const char *name, refsrv_config *c);
/* Parses "KIND:PROBABILITY" (or "KIND" = probability 1) into c->fault_p. */
kv_status refsrv_fault_parse(const char *arg, refsrv_config *c, char *err) KV_MUST_USE;

#endif
