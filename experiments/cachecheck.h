/* cachecheck.h - the per-request cache verification the runner applies to
 * every measured request (runner.h: "cache checks that cannot lie"), exported
 * so that a request made outside the runner (a test driving the client by
 * hand) is judged by exactly the same rule.
 *
 * Cold: cached tokens above the cold slack (0 for llama.cpp, which honours
 * cache_prompt:false; CACHECHECK_COLD_SLACK template tokens elsewhere) is
 * contaminated. Warm: cached tokens below CACHECHECK_WARM_MIN_FRACTION of the
 * shared prefix is contaminated. A server that reports no cached count
 * (cached_tokens < 0) gives TRIAL_CACHE_INFERRED; a failed request
 * TRIAL_CACHE_UNKNOWN.
 */
#ifndef KV_CACHECHECK_H
#define KV_CACHECHECK_H

#include <stdbool.h>

#include "experiments/spec.h"
#include "experiments/trial.h"

/* Cached tokens a cold request may show without being contaminated: the few
 * template tokens before the nonce that every request shares (0 for servers
 * that honour request.no_cache). */
#define CACHECHECK_COLD_SLACK 8
/* A warm request must reuse at least this fraction of its shared prefix. */
#define CACHECHECK_WARM_MIN_FRACTION 0.9

/* The cache state of one request to a target speaking `api`: `cold` is the
 * mode it was sent in, `cached_tokens` the server-reported reused prompt
 * tokens (-1 unknown), `prefix_tokens` the prefix a warm request shares with
 * the previous one (ignored for cold). */
trial_cache_state cachecheck_state(spec_api api, bool cold, bool ok, long cached_tokens,
                                   long prefix_tokens);

#endif
