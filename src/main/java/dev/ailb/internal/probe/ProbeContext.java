package dev.ailb.internal.probe;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.concurrent.Executor;
import javax.net.ssl.SSLContext;

/**
 * What a {@link Prober} lends one probe: the time it has, an executor for blocking work and a
 * shared HTTP client. The executor's threads and the client belong to the prober's session and are
 * created only when first asked for (see {@link Session}); the executor counts the tasks handed to
 * it, so that the prober knows when the probe's work has ended (see {@link Probes}).
 *
 * <p>Thread-safe.
 */
public interface ProbeContext {

    /**
     * How long the probe may take, from the moment the call that began it returned.
     *
     * @return the prober's timeout, positive
     */
    Duration timeout();

    /**
     * An executor for work that blocks. It has no queue: a task gets a thread at once.
     *
     * @return the executor for blocking work
     */
    Executor executor();

    /**
     * The session's shared HTTP client: HTTP/1.1, connect timeout equal to {@link #timeout()},
     * no redirects followed, running on the session's workers.
     *
     * @return the shared HTTP client
     * @throws java.util.concurrent.RejectedExecutionException if the session has closed
     */
    HttpClient httpClient();

    /**
     * A client like {@link #httpClient()} whose TLS handshakes use {@code sslContext}: one per
     * context for the session's life, shared by every probe that asks for the same context.
     *
     * @param sslContext the TLS context, compared by identity
     * @return the session's client for that context
     * @throws java.util.concurrent.RejectedExecutionException if the session has closed
     */
    HttpClient httpClient(SSLContext sslContext);
}
