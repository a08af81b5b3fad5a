package dev.ailb.http;

import java.io.IOException;
import java.net.http.HttpResponse;

/**
 * A backend answered with a 5xx status: the attempt failed, and {@link BalancedHttpClient} may
 * retry it on another backend. When no attempt is left, the client returns the last such answer
 * instead of throwing; a retry policy sees this exception when it decides. Immutable once built.
 */
public final class ServerErrorException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient HttpResponse<?> response;

    ServerErrorException(HttpResponse<?> response) {
        super("HTTP " + response.statusCode() + " from " + response.request().method() + " " + response.uri());
        this.response = response;
    }

    /**
     * The status of the answer.
     *
     * @return 500..599
     */
    public int statusCode() {
        return response.statusCode();
    }

    /**
     * The answer.
     *
     * @return the response, its body read
     */
    public HttpResponse<?> response() {
        return response;
    }
}
