package dev.ailb;

/**
 * A selector that learns from the selections that stand: after its pick (or a session's or a
 * retry's choice) has been counted, the request path tells it where the request went, and a lease
 * made right after on the same thread takes the prediction it was routed by, for the server's
 * report to confirm or refute ({@link Lease#reportCachedTokens}). A stage of the request path
 * that only {@link PrefixAffinitySelector} fills; see {@link RequestPath}.
 */
interface PrefixRecorder {

    /** What {@link #recordSelection} returns when it predicted nothing (no prompt, no index). */
    long NO_PREDICTION = -1L;

    /**
     * The request went to this backend: record its prompt there. Called on the selecting thread.
     *
     * @return the prediction, {@code promptTokens << 32 | cachedTokens} (both below 2^32), for the
     *         backend's figures; or {@link #NO_PREDICTION}
     */
    long recordSelection(Backend backend, Request request);

    /**
     * The prediction of the last selection recorded on this thread, if it was of this request to
     * this backend; null otherwise. Called once per lease, right after the selection.
     */
    PrefixPrediction claim(Backend backend, Request request);
}
