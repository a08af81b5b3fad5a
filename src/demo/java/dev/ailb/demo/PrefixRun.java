package dev.ailb.demo;

import dev.ailb.BackendStats;
import dev.ailb.LoadBalancerStats;
import dev.ailb.PromptCacheStats;

/**
 * One strategy's run of the prefix cache scenario.
 *
 * @param strategy        the strategy's name
 * @param answered        chat turns answered
 * @param failed          chat turns that got no answer: a turn that failed, and the turns of its chat after it
 * @param transportErrors the failed turns that ended in a timeout, a refused or a reset connection
 * @param firstByteMean   mean time from asking for a lease to the answer's first byte, in nanoseconds
 * @param firstByteP99    99th percentile of that time (nearest rank), in nanoseconds
 * @param stats           the balancer's stats once every turn had been released
 * @param wallNanos       how long the chats took
 */
public record PrefixRun(String strategy, long answered, long failed, long transportErrors, long firstByteMean,
                        long firstByteP99, LoadBalancerStats stats, long wallNanos) {

    /** @return the prompt tokens the instances reported, summed over them */
    public long promptTokens() {
        return stats.backends().stream().map(BackendStats::promptCache)
                .mapToLong(PromptCacheStats::reportedPromptTokens).sum();
    }

    /** @return of those, the tokens the instances reported served from their caches */
    public long cachedTokens() {
        return stats.backends().stream().map(BackendStats::promptCache)
                .mapToLong(PromptCacheStats::reportedCachedTokens).sum();
    }

    /** @return cached tokens over prompt tokens, as the instances reported them; 0 if none */
    public double hitRate() {
        long prompt = promptTokens();
        return prompt == 0 ? 0.0 : (double) cachedTokens() / prompt;
    }
}
