package dev.ailb.soak;

import com.sun.net.httpserver.HttpExchange;
import dev.ailb.testing.LoopbackServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * One inference instance of the soak fleet: a {@link LoopbackServer} on {@code 127.0.0.1} at a port
 * that stays the same across restarts, answering {@code POST /v1/completions} after a service time
 * of one to three milliseconds and {@code GET /health} at once.
 *
 * <p>The chaos driver changes what it does:
 * <ul>
 *   <li>{@link #kill()} stops the server as a crash would: the port closes, open connections drop,
 *       requests under way get no answer; {@link #start()} binds the same port again.</li>
 *   <li>{@link Mode#FAILING} answers every request and every probe with HTTP 503 at once.</li>
 *   <li>{@link Mode#HANGING} accepts requests and probes and never answers them while the mode
 *       lasts (at most {@link #LONGEST_HANG_MILLIS}); the callers' timeouts turn that into
 *       failures. Leaving the mode, a kill or {@link #close()} lets the held handlers go.</li>
 * </ul>
 *
 * <p>Handlers run on a pool of this instance's own, whose threads are named
 * {@code soak-<id>-<n>}; it outlives restarts and ends with {@link #close()}. Thread-safe.
 */
final class SoakInstance implements AutoCloseable {

    /** What the instance does with the requests and probes it receives. */
    enum Mode {
        /** Answers requests with 200 after the service time, probes with 200 at once. */
        SERVING,
        /** Answers everything with 503 at once. */
        FAILING,
        /** Answers nothing until the mode ends. */
        HANGING
    }

    static final String COMPLETIONS_PATH = "/v1/completions";
    static final String HEALTH_PATH = "/health";
    static final String INSTANCE_HEADER = "X-Instance";
    static final String LOOPBACK = LoopbackServer.HOST;

    /** A held handler lets go after this long even if nobody ends the hang. */
    static final long LONGEST_HANG_MILLIS = 15_000;
    /** How long {@link #start()} keeps trying to bind the port again after a kill. */
    private static final long REBIND_MILLIS = 10_000;

    private final String id;
    private final SoakThreads threads;
    private final ThreadPoolExecutor handlers;
    private final Object hangMonitor = new Object();

    private volatile Mode mode = Mode.SERVING;
    private volatile LoopbackServer server; // set once, when the port is bound; read by handler threads

    final LongAdder answeredOk = new LongAdder();
    final LongAdder answeredFailing = new LongAdder();
    final LongAdder held = new LongAdder();
    final LongAdder probes = new LongAdder();
    final LongAdder starts = new LongAdder();

    private SoakInstance(String id, SoakThreads threads) {
        this.id = id;
        this.threads = threads;
        this.handlers = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 5, TimeUnit.SECONDS,
                new SynchronousQueue<>(), threads.factory("soak-" + id + "-"));
    }

    /**
     * Starts an instance on the first port from {@code firstPort} on that is free.
     *
     * @throws UncheckedIOException if none of {@code tries} ports could be bound
     */
    static SoakInstance startNear(String id, int firstPort, int tries, SoakThreads threads) {
        IOException last = null;
        for (int port = firstPort; port < firstPort + tries && port <= 65535; port++) {
            SoakInstance instance = new SoakInstance(id, threads);
            try {
                instance.server = LoopbackServer.start(port, 256, instance.handlers,
                        Map.of(COMPLETIONS_PATH, instance::complete, HEALTH_PATH, instance::probe));
                instance.starts.increment();
                return instance;
            } catch (IOException e) {
                last = e;
                instance.close();
            }
        }
        throw new UncheckedIOException("no free port for " + id + " from " + firstPort, last);
    }

    String id() {
        return id;
    }

    int port() {
        return server.port();
    }

    Mode mode() {
        return mode;
    }

    /** Switches the mode; leaving {@link Mode#HANGING} lets every held handler go. */
    void setMode(Mode next) {
        mode = next;
        synchronized (hangMonitor) {
            hangMonitor.notifyAll();
        }
    }

    boolean isUp() {
        return server.isUp();
    }

    /**
     * Stops the server at once, as a crash would. Held handlers are let go (their connections are
     * gone anyway).
     *
     * @throws IllegalStateException if it is down already
     */
    void kill() {
        server.stop();
        synchronized (hangMonitor) {
            hangMonitor.notifyAll();
        }
    }

    /**
     * Binds the same port again and serves. A port can be briefly unavailable after a kill, so a
     * refused bind is tried again for up to {@link #REBIND_MILLIS}.
     *
     * @throws IllegalStateException if it is up already or closed
     * @throws UncheckedIOException  if the port cannot be bound again in time
     */
    void start() throws InterruptedException {
        server.restart(Duration.ofMillis(REBIND_MILLIS));
        starts.increment();
    }

    private void probe(HttpExchange exchange) throws IOException {
        try (exchange) {
            probes.increment();
            drain(exchange);
            Mode now = mode;
            if (now == Mode.HANGING && hold()) {
                return; // the prober has given up; closing the exchange is all that is left
            }
            respond(exchange, now == Mode.FAILING ? 503 : 200, "{\"status\":\"" + now + "\"}");
        }
    }

    private void complete(HttpExchange exchange) throws IOException {
        try (exchange) {
            drain(exchange);
            Mode now = mode;
            if (now == Mode.HANGING) {
                held.increment();
                if (hold()) {
                    return;
                }
                now = mode;
            }
            if (now == Mode.FAILING) {
                answeredFailing.increment();
                respond(exchange, 503, "{\"error\":\"unavailable\"}");
                return;
            }
            try {
                TimeUnit.MICROSECONDS.sleep(ThreadLocalRandom.current().nextLong(1_000, 3_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return; // closing: the exchange is dropped
            }
            String requestId = exchange.getRequestHeaders().getFirst("X-Request-Id");
            answeredOk.increment();
            respond(exchange, 200, "{\"id\":\"" + requestId + "\",\"instance\":\"" + id
                    + "\",\"choices\":[{\"text\":\"ok\"}]}");
        }
    }

    /**
     * Holds the calling handler while the instance hangs and is up. Returns true if the exchange
     * should be dropped without an answer (still hanging at the cap, killed, or closing).
     */
    private boolean hold() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LONGEST_HANG_MILLIS);
        synchronized (hangMonitor) {
            for (;;) {
                if (mode != Mode.HANGING) {
                    return !isUp();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || !isUp()) {
                    return true;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(hangMonitor, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return true;
                }
            }
        }
    }

    private static void drain(HttpExchange exchange) throws IOException {
        try (InputStream body = exchange.getRequestBody()) {
            body.readAllBytes();
        }
    }

    private void respond(HttpExchange exchange, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.getResponseHeaders().set(INSTANCE_HEADER, id);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** Stops the server if it is up, lets every held handler go and ends the handler threads. */
    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
        setMode(Mode.SERVING);
        threads.shutdown(handlers);
    }

    @Override
    public String toString() {
        return id + "@" + server;
    }
}
