package dev.ailb;

/**
 * What one backend's prompt cache did for the requests routed to it: what the balancer predicted
 * and what the server reported. The predictions are those of {@link BalancingStrategy#PREFIX_AFFINITY};
 * the reports come from {@link Lease#reportCachedTokens}, which the HTTP integration calls with the
 * {@code usage} of OpenAI-compatible answers. Tokens of a prediction are estimates (characters
 * divided by the strategy's characters per token, unless it has a tokenizer); those of a report
 * are the server's.
 *
 * <p>Immutable and thread-safe.
 *
 * @param predictedPromptTokens the prompt tokens routed here with a prediction
 * @param predictedCachedTokens of those, the tokens predicted to be cached here
 * @param reportedPromptTokens  the prompt tokens the server reported for requests routed here
 * @param reportedCachedTokens  of those, the tokens it reported served from its cache
 */
public record PromptCacheStats(long predictedPromptTokens, long predictedCachedTokens, long reportedPromptTokens,
        long reportedCachedTokens) {

    /** No prediction and no report. */
    public static final PromptCacheStats NONE = new PromptCacheStats(0, 0, 0, 0);

    /**
     * The predicted hit rate: predicted cached tokens over predicted prompt tokens.
     *
     * @return a rate in [0, 1]; 0 when nothing was predicted
     */
    public double predictedHitRate() {
        return predictedPromptTokens == 0 ? 0.0 : (double) predictedCachedTokens / predictedPromptTokens;
    }

    /**
     * The reported hit rate: reported cached tokens over reported prompt tokens.
     *
     * @return a rate in [0, 1]; 0 when nothing was reported
     */
    public double reportedHitRate() {
        return reportedPromptTokens == 0 ? 0.0 : (double) reportedCachedTokens / reportedPromptTokens;
    }
}
