package dev.ailb;

import static dev.ailb.internal.Preconditions.checkId;
import static dev.ailb.internal.Preconditions.checkNotNull;

/**
 * One request to be routed: its id, the client's address (the key of {@link BalancingStrategy#IP_HASH})
 * and the path it targets. The client address is used as an opaque string; it is never resolved.
 *
 * <p>Immutable and thread-safe.
 *
 * @param id       the request id, for logs and tracing; not blank
 * @param clientIp the client's address, e.g. {@code "192.168.1.100"}; not null, may be empty when
 *                 unknown (all such requests then hash alike)
 * @param path     the path the request targets, e.g. {@code "/api/process"}; not null
 */
public record Request(String id, String clientIp, String path) {

    /**
     * Creates a request.
     *
     * @param id       the request id; not blank, at most 256 characters
     * @param clientIp the client's address; not null, may be empty
     * @param path     the path the request targets; not null
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code id} is blank or longer than 256 characters
     */
    public Request {
        checkId(id, "id");
        checkNotNull(clientIp, "clientIp");
        checkNotNull(path, "path");
    }
}
