package dev.ailb.health;

import static dev.ailb.internal.Preconditions.checkNotNull;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.concurrent.Executor;
import javax.net.ssl.SSLContext;

/**
 * What the balancer lends a {@link HealthCheck} for one check: the time it has, an executor for
 * blocking work, and a shared HTTP client. The executor's threads and the client belong to the
 * balancer's health checker and are created only when first asked for; they stop with
 * {@link dev.ailb.LoadBalancer#stopHealthChecker()} or {@link dev.ailb.LoadBalancer#close()}.
 *
 * <p>Thread-safe.
 */
public interface HealthCheckContext {

    /**
     * How long the check may take, from the moment its call returned. The balancer counts a check
     * that has not answered by then as failed, whatever the check does, and cancels the stage the
     * check returned ({@code toCompletableFuture().cancel(true)}): a check that passes the
     * cancellation on to its work (as the built-in HTTP check does, closing its connection) frees
     * its resources at once.
     *
     * @return the configured health check timeout, positive
     */
    Duration timeout();

    /**
     * An executor for checks that must block (a socket connect, a client library without an
     * asynchronous API). Its daemon threads are named {@code ailb-health-worker-N}; it has no
     * queue, so a task gets a thread at once and work that hangs on one backend never holds up
     * another backend's check. While work a check handed to it is still running after the check's
     * timeout, its backend is not checked again: each round counts a failed check for it instead,
     * so a check that never returns holds one thread, not one more every round.
     *
     * @return the executor for blocking work
     */
    Executor executor();

    /**
     * A shared {@link HttpClient} for checks over HTTP: HTTP/1.1, connect timeout equal to
     * {@link #timeout()}, no redirects followed, running on {@link #executor()}.
     *
     * @return the shared HTTP client
     */
    HttpClient httpClient();

    /**
     * A shared {@link HttpClient} like {@link #httpClient()} whose TLS handshakes use
     * {@code sslContext}: its trust decides which servers' certificates are accepted, and its key
     * managers, if any, what the client presents. The health checker creates one client per context
     * when first asked for and keeps it until it stops, so probes that hold the same context share
     * its connections; {@link HttpProbeOptions} asks for it when it holds a context of its own.
     *
     * <p>The balancer's context implements it. The default, for a context made elsewhere (a test's,
     * say), lends {@link #httpClient()} when that client already uses {@code sslContext}, and
     * otherwise has no client to lend.
     *
     * @param sslContext the TLS context, compared by identity
     * @return the shared client for that context
     * @throws NullPointerException          if {@code sslContext} is null
     * @throws UnsupportedOperationException if this context cannot lend a client for it
     */
    default HttpClient httpClient(SSLContext sslContext) {
        checkNotNull(sslContext, "sslContext");
        HttpClient shared = httpClient();
        if (shared.sslContext() == sslContext) {
            return shared;
        }
        throw new UnsupportedOperationException("this context lends no HTTP client for another TLS context");
    }
}
