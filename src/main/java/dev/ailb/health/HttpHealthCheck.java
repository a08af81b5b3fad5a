package dev.ailb.health;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.Backend;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/** {@link HealthCheck#http(String)}: healthy on a 2xx answer to {@code GET path}. */
final class HttpHealthCheck implements HealthCheck {
    private final String path;

    HttpHealthCheck(String path) {
        checkNotNull(path, "path");
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("path: \"" + path + "\" (expected: starting with /)");
        }
        try {
            URI probe = new URI("http://localhost" + path);
            if (probe.getRawFragment() != null) {
                throw new URISyntaxException(path, "a fragment is never sent to a server");
            }
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("path: \"" + path + "\" (expected: a valid URI path: "
                    + e.getMessage() + ")", e);
        }
        this.path = path;
    }

    @Override
    public CompletionStage<HealthCheckResult> check(Backend backend, HealthCheckContext context) {
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(uriOf(backend))
                    .GET()
                    .timeout(context.timeout())
                    .header("User-Agent", "ailb-health-check")
                    .build();
        } catch (IllegalArgumentException e) {
            return CompletableFuture.completedFuture(
                    HealthCheckResult.unhealthy("cannot build a request to " + backend.host() + ": " + e.getMessage()));
        }
        return context.httpClient()
                .sendAsync(request, HttpResponse.BodyHandlers.discarding())
                // Async on the checker's executor: the client would otherwise complete dependants on
                // the common pool, which on a small machine means a new thread per verdict.
                .handleAsync((response, error) -> {
                    if (error != null) {
                        return HealthCheckResult.unhealthy(describe(error, context));
                    }
                    int status = response.statusCode();
                    return status >= 200 && status < 300
                            ? HealthCheckResult.healthy()
                            : HealthCheckResult.unhealthy("HTTP " + status + " from GET " + path);
                }, context.executor());
    }

    private URI uriOf(Backend backend) {
        String host = backend.host();
        if (host.indexOf(':') >= 0 && !host.startsWith("[")) {
            host = '[' + host + ']'; // an IPv6 literal
        }
        return URI.create("http://" + host + ':' + backend.port() + path);
    }

    private String describe(Throwable error, HealthCheckContext context) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof HttpConnectTimeoutException) {
            return "GET " + path + ": no connection within " + context.timeout();
        }
        if (cause instanceof HttpTimeoutException) {
            return "GET " + path + ": no answer within " + context.timeout();
        }
        if (cause instanceof ConnectException) {
            return "GET " + path + ": connection refused";
        }
        return "GET " + path + ": " + cause;
    }

    @Override
    public String toString() {
        return "HealthCheck.http(" + path + ")";
    }
}
