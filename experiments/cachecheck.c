/* cachecheck.c - judges one request's cached-token count against its cache
 * mode (cachecheck.h). */
#include "experiments/cachecheck.h"

#include "net/dialect.h"

trial_cache_state cachecheck_state(spec_api api, bool cold, bool ok, long cached_tokens,
                                   long prefix_tokens)
{
    if (!ok)
        return TRIAL_CACHE_UNKNOWN;
    if (cached_tokens < 0)
        return TRIAL_CACHE_INFERRED;
    if (cold) {
        long slack = dialect_honours_no_cache(api) ? 0 : CACHECHECK_COLD_SLACK;
        return cached_tokens > slack ? TRIAL_CACHE_CONTAMINATED : TRIAL_CACHE_VERIFIED;
    }
    double need = CACHECHECK_WARM_MIN_FRACTION * (double)(prefix_tokens > 0 ? prefix_tokens : 0);
    return (double)cached_tokens < need ? TRIAL_CACHE_CONTAMINATED : TRIAL_CACHE_VERIFIED;
}
