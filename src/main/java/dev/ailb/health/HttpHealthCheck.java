package dev.ailb.health;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.Backend;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** {@link HealthCheck#http(String)}: healthy on a 2xx answer to {@code GET path}. */
final class HttpHealthCheck implements HealthCheck {
    private final String path;
    private final HttpProbeOptions options;

    HttpHealthCheck(String path, HttpProbeOptions options) {
        this.path = HttpProbe.checkPath(path);
        this.options = checkNotNull(options, "options");
    }

    @Override
    public CompletionStage<HealthCheckResult> check(Backend backend, HealthCheckContext context) {
        HttpRequest request;
        try {
            request = options.get(backend, path, context, null, "ailb-health-check");
        } catch (IllegalArgumentException | IllegalStateException e) {
            // the messages name a header, never its value (see HttpProbeOptions)
            return CompletableFuture.completedFuture(
                    HealthCheckResult.unhealthy("cannot build a request to " + backend.host() + ": " + e.getMessage()));
        }
        CompletableFuture<HttpResponse<Void>> exchange =
                options.client(context).sendAsync(request, HttpResponse.BodyHandlers.discarding());
        // Async on the checker's executor: the client would otherwise complete dependants on the
        // common pool, which on a small machine means a new thread per verdict.
        CompletableFuture<HealthCheckResult> verdict = exchange.handleAsync((response, error) -> {
            if (error != null) {
                return HealthCheckResult.unhealthy(HttpProbe.describe(error, path, context.timeout()));
            }
            int status = response.statusCode();
            return status >= 200 && status < 300
                    ? HealthCheckResult.healthy()
                    : HealthCheckResult.unhealthy("HTTP " + status + " from GET " + path);
        }, context.executor());
        return HttpProbe.cancellingExchange(verdict, exchange);
    }

    @Override
    public String toString() {
        return options == HttpProbeOptions.plain()
                ? "HealthCheck.http(" + path + ")"
                : "HealthCheck.http(" + path + ", " + options + ")";
    }
}
