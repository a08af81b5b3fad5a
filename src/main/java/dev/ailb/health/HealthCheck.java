package dev.ailb.health;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.Backend;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * An active health check: given a backend, tells asynchronously whether it is healthy. The
 * balancer's health checker runs it for every registered backend once per interval and turns the
 * verdicts into state changes with its rise and fall thresholds.
 *
 * <pre>{@code
 * LoadBalancer lb = LoadBalancer.builder()
 *         .healthCheck(HealthCheck.http("/health"))      // vLLM and TGI serve GET /health
 *         .healthCheckInterval(Duration.ofSeconds(5))
 *         .build();
 * }</pre>
 *
 * <p>Besides the built-in {@link #http(String)} and {@link #tcp()} checks, a check can be anything,
 * e.g. a one-token completion request sent with {@link HealthCheckContext#httpClient()}.
 *
 * <p>{@link #check} is called on a health checker thread and must return promptly: start the
 * work and return a stage that completes when it is done, or use {@link #blocking(Function)} for
 * work that blocks. A stage that has not completed within {@link HealthCheckContext#timeout()}
 * counts as a failure and is cancelled ({@code toCompletableFuture().cancel(true)}): pass the
 * cancellation on to the work, so that it ends and frees its connection. The cancel runs on a
 * checker thread, with the stage's dependants, so none of them may block. A stage completed
 * exceptionally, a {@code null} stage or result, and an exception or error thrown by
 * {@code check} itself count as failures too. A check that hangs never delays another backend's
 * check or the next round; one that blocks a {@linkplain HealthCheckContext#executor() worker
 * thread} past its timeout is not started again for that backend until it returns.
 * Implementations must be thread-safe: one instance serves every backend, and may serve several
 * balancers.
 */
@FunctionalInterface
public interface HealthCheck {

    /**
     * Checks one backend.
     *
     * @param backend the backend to check; its host and port say where it is
     * @param context the timeout and the shared resources the check may use
     * @return a stage completed with the verdict
     */
    CompletionStage<HealthCheckResult> check(Backend backend, HealthCheckContext context);

    /**
     * A check that sends {@code GET http://host:port<path>} and calls the backend healthy when the
     * answer's status is 2xx. The body is read and discarded. Connect and response are both bounded
     * by the health check timeout.
     *
     * @param path the path to request, starting with {@code /}, e.g. {@code "/health"}
     * @return the HTTP check
     * @throws NullPointerException     if {@code path} is null
     * @throws IllegalArgumentException if {@code path} does not start with {@code /} or is not a
     *                                  valid URI path (and query)
     */
    static HealthCheck http(String path) {
        return new HttpHealthCheck(path, HttpProbeOptions.plain());
    }

    /**
     * Like {@link #http(String)}, with a scheme, TLS context and headers of its own, such as
     * {@code GET https://host:port/health} with {@code Authorization: Bearer <token>}. A header
     * whose supplier fails, or gives a value refused, makes the check fail with the header's name
     * as the reason; a server whose certificate the TLS context does not trust fails it with
     * {@code TLS handshake failed} and the JDK's words.
     *
     * @param path    the path to request, starting with {@code /}
     * @param options the scheme, TLS context and headers
     * @return the HTTP check
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code path} does not start with {@code /} or is not a
     *                                  valid URI path (and query)
     */
    static HealthCheck http(String path, HttpProbeOptions options) {
        return new HttpHealthCheck(path, options);
    }

    /**
     * A check that opens a TCP connection to {@code host:port} and closes it at once: healthy when
     * the connection is accepted within the timeout. It proves the process listens, not that it
     * serves; prefer {@link #http(String)} where the instance has a health endpoint.
     *
     * @return the TCP check
     */
    static HealthCheck tcp() {
        return TcpHealthCheck.INSTANCE;
    }

    /**
     * Adapts a check that blocks: {@code check} runs on {@link HealthCheckContext#executor()}, and
     * an exception it throws counts as a failure with the exception as the reason.
     *
     * @param check the blocking check
     * @return a health check that runs {@code check} off the checker's scheduling thread
     * @throws NullPointerException if {@code check} is null
     */
    static HealthCheck blocking(Function<Backend, HealthCheckResult> check) {
        checkNotNull(check, "check");
        return (backend, context) -> CompletableFuture.supplyAsync(() -> check.apply(backend), context.executor());
    }
}
