package dev.ailb.health;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.Backend;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/** What the HTTP health check and the Prometheus load source share: paths, URIs, failure reasons. */
final class HttpProbe {
    private HttpProbe() {}

    /** Checks a request path: it starts with {@code /} and is a valid URI path without fragment. */
    static String checkPath(String path) {
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
        return path;
    }

    /** {@code http://host:port/path}, with an IPv6 host in brackets. */
    static URI uriOf(Backend backend, String path) {
        return uriOf("http", backend, path);
    }

    /** {@code scheme://host:port/path}, with an IPv6 host in brackets. */
    static URI uriOf(String scheme, Backend backend, String path) {
        String host = backend.host();
        if (host.indexOf(':') >= 0 && !host.startsWith("[")) {
            host = '[' + host + ']';
        }
        return URI.create(scheme + "://" + host + ':' + backend.port() + path);
    }

    /**
     * Ties a probe's result to its HTTP exchange: cancelling the result, as the health checker does
     * when the probe's time is up or the checker stops, cancels the exchange, which closes its
     * connection. The JDK client's request timeout covers the headers only, so without this an
     * answer whose body never ends would hold its connection for good.
     *
     * @return {@code result}
     */
    static <T> CompletableFuture<T> cancellingExchange(CompletableFuture<T> result, CompletableFuture<?> exchange) {
        result.whenComplete((value, error) -> {
            if (result.isCancelled()) {
                exchange.cancel(true);
            }
        });
        return result;
    }

    /** Why a {@code GET path} failed, in words. */
    static String describe(Throwable error, String path, Duration timeout) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        if (cause instanceof HttpConnectTimeoutException) {
            return "GET " + path + ": no connection within " + timeout;
        }
        if (cause instanceof HttpTimeoutException) {
            return "GET " + path + ": no answer within " + timeout;
        }
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof SSLHandshakeException) {
                return "GET " + path + ": TLS handshake failed: " + messageOf(t);
            }
            if (t instanceof SSLException) {
                return "GET " + path + ": TLS failed: " + messageOf(t);
            }
        }
        if (cause instanceof ConnectException) {
            return "GET " + path + ": connection refused";
        }
        return "GET " + path + ": " + messageOf(cause);
    }

    private static String messageOf(Throwable t) {
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }
}
