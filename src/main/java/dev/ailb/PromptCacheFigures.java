package dev.ailb;

import java.util.concurrent.atomic.LongAdder;

/**
 * One backend's prompt-cache figures: the prompt tokens routed to it with a prediction of how many
 * were cached there, and the prompt and cached tokens its server reported back on leases
 * ({@link Lease#reportCachedTokens}). Off the pick path, hence a holder of its own.
 *
 * <p>Thread-safe.
 */
final class PromptCacheFigures {
    private final LongAdder predictedPromptTokens = new LongAdder();
    private final LongAdder predictedCachedTokens = new LongAdder();
    private final LongAdder reportedPromptTokens = new LongAdder();
    private final LongAdder reportedCachedTokens = new LongAdder();

    void recordPrediction(long promptTokens, long cachedTokens) {
        predictedPromptTokens.add(promptTokens);
        predictedCachedTokens.add(cachedTokens);
    }

    void recordReport(long promptTokens, long cachedTokens) {
        reportedPromptTokens.add(promptTokens);
        reportedCachedTokens.add(cachedTokens);
    }

    PromptCacheStats snapshot() {
        return new PromptCacheStats(predictedPromptTokens.sum(), predictedCachedTokens.sum(),
                reportedPromptTokens.sum(), reportedCachedTokens.sum());
    }
}
