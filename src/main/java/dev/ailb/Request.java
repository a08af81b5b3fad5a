package dev.ailb;

import static dev.ailb.internal.Preconditions.checkId;
import static dev.ailb.internal.Preconditions.checkNotNull;

/**
 * One request to be routed: its id, the client's address (the key of {@link BalancingStrategy#IP_HASH}),
 * the path it targets and, optionally, how many tokens it is expected to take. The client address
 * is used as an opaque string; it is never resolved.
 *
 * <p>Immutable and thread-safe.
 *
 * @param id       the request id, for logs and tracing; not blank
 * @param clientIp the client's address, e.g. {@code "192.168.1.100"}; not null, may be empty when
 *                 unknown (all such requests then hash alike)
 * @param path     the path the request targets, e.g. {@code "/api/process"}; not null
 * @param estimatedTokens the tokens the request is expected to take, prompt and output together,
 *                 {@code >= 0}; 0 when unknown. Counted while the request is in flight by a
 *                 balancer that {@linkplain LoadBalancerBuilder#countTokens(long) counts tokens},
 *                 ignored by one that counts connections.
 */
public record Request(String id, String clientIp, String path, long estimatedTokens) {

    /** The largest token estimate a request may carry: 2^31 - 1. */
    public static final long MAX_TOKENS = Integer.MAX_VALUE;

    /**
     * Creates a request without a token estimate.
     *
     * @param id       the request id; not blank, at most 256 characters
     * @param clientIp the client's address; not null, may be empty
     * @param path     the path the request targets; not null
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code id} is blank or longer than 256 characters
     */
    public Request(String id, String clientIp, String path) {
        this(id, clientIp, path, 0L);
    }

    /**
     * Creates a request.
     *
     * @param id       the request id; not blank, at most 256 characters
     * @param clientIp the client's address; not null, may be empty
     * @param path     the path the request targets; not null
     * @param estimatedTokens the tokens it is expected to take, 0..{@link #MAX_TOKENS}; 0 when unknown
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code id} is blank or longer than 256 characters, or
     *                                  {@code estimatedTokens} is out of range
     */
    public Request {
        checkId(id, "id");
        checkNotNull(clientIp, "clientIp");
        checkNotNull(path, "path");
        if (estimatedTokens < 0 || estimatedTokens > MAX_TOKENS) {
            throw new IllegalArgumentException("estimatedTokens: " + estimatedTokens + " (expected: 0.." + MAX_TOKENS + ")");
        }
    }

    /**
     * This request with another token estimate.
     *
     * @param tokens the tokens it is expected to take, 0..{@link #MAX_TOKENS}; 0 when unknown
     * @return a new request, equal to this one but for the estimate
     * @throws IllegalArgumentException if {@code tokens} is out of range
     */
    public Request withEstimatedTokens(long tokens) {
        return new Request(id, clientIp, path, tokens);
    }
}
