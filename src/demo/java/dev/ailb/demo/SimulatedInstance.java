package dev.ailb.demo;

import static dev.ailb.demo.Demo.HEALTH_PATH;
import static dev.ailb.demo.Demo.PATH;
import static dev.ailb.demo.Demo.THREAD_PREFIX;

import com.sun.net.httpserver.HttpExchange;
import dev.ailb.testing.LoopbackServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One simulated inference instance: a {@link LoopbackServer} on an ephemeral port, which can be
 * stopped and started again on the same port. Its worker threads outlive a stop.
 */
final class SimulatedInstance implements AutoCloseable {
    /** Spread of the log-normal service time (sigma of the underlying normal). */
    private static final double SERVICE_SIGMA = 0.45;
    /** Service times are capped at this multiple of the instance's mean. */
    private static final double SERVICE_CAP = 6.0;
    /** Server threads per instance beyond one per client thread, so a probe never waits for a request. */
    private static final int PROBE_THREADS = 2;
    /** How long a restarted instance keeps trying to bind its old port. */
    private static final Duration REBIND_TIMEOUT = Duration.ofSeconds(5);

    private final InstanceSpec spec;
    private final long seed;
    private final double meanNanos;
    private final ExecutorService executor;
    private final NamedThreadFactory threads;
    private final AtomicLong unnamedRequests = new AtomicLong();
    private final LoopbackServer server;

    private SimulatedInstance(InstanceSpec spec, long seed, int workerThreads, double timeScale) {
        this.spec = spec;
        this.seed = seed;
        this.meanNanos = spec.meanMillis() * timeScale * 1e6;
        this.threads = new NamedThreadFactory(THREAD_PREFIX + spec.id() + "-");
        // One thread per client thread, so no request waits for another, and a few for probes.
        this.executor = Executors.newFixedThreadPool(workerThreads + PROBE_THREADS, threads);
        try {
            this.server = LoopbackServer.start(0, 128, executor,
                    Map.of(PATH, this::handle, HEALTH_PATH, this::handleHealth));
        } catch (IOException e) {
            executor.shutdownNow();
            throw new UncheckedIOException("cannot bind " + spec.id() + " to " + LoopbackServer.HOST, e);
        } catch (RuntimeException e) {
            executor.shutdownNow();
            throw e;
        }
    }

    static SimulatedInstance start(InstanceSpec spec, long seed, int workerThreads, double timeScale) {
        return new SimulatedInstance(spec, seed, workerThreads, timeScale);
    }

    /**
     * Stops the server as a crash would: its port and every open connection close at once, and
     * requests under way get no answer.
     */
    void stop() {
        server.stop();
    }

    /**
     * Starts a new server on the port of the first, trying again until {@link #REBIND_TIMEOUT}
     * should another process have taken the port meanwhile.
     *
     * @return the port the new server is bound to, as it reports it
     */
    int restart() throws InterruptedException {
        return server.restart(REBIND_TIMEOUT);
    }

    InstanceSpec spec() {
        return spec;
    }

    int port() {
        return server.port();
    }

    /** How long this instance takes to answer the request with this id: the same every time. */
    long serviceNanos(String requestId) {
        return serviceNanos(random(requestId));
    }

    private long serviceNanos(SplittableRandom random) {
        double factor = Math.exp(SERVICE_SIGMA * random.nextGaussian() - SERVICE_SIGMA * SERVICE_SIGMA / 2);
        return (long) (meanNanos * Math.min(factor, SERVICE_CAP));
    }

    private SplittableRandom random(String requestId) {
        return new SplittableRandom(seed ^ (requestId.hashCode() * 0x9E3779B97F4A7C15L));
    }

    private void handleHealth(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestURI().getPath().equals(HEALTH_PATH)) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            if (!exchange.getRequestMethod().equals("GET")) {
                exchange.getResponseHeaders().set("Allow", "GET");
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            byte[] bytes = "{\"status\":\"ok\"}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.getResponseHeaders().set("X-Instance", spec.id());
            exchange.sendResponseHeaders(200, bytes.length);
            try (OutputStream responseBody = exchange.getResponseBody()) {
                responseBody.write(bytes);
            }
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            if (!exchange.getRequestURI().getPath().equals(PATH)) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            if (!method.equals("POST") && !method.equals("GET")) {
                exchange.getResponseHeaders().set("Allow", "GET, POST");
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            try (InputStream body = exchange.getRequestBody()) {
                body.readAllBytes();
            }
            String requestId = exchange.getRequestHeaders().getFirst("X-Request-Id");
            if (requestId == null) {
                requestId = "anon-" + unnamedRequests.incrementAndGet();
            }
            SplittableRandom random = random(requestId);
            long serviceNanos = serviceNanos(random);
            boolean fail = random.nextDouble() < spec.failureRate();
            try {
                TimeUnit.NANOSECONDS.sleep(serviceNanos);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail = true;
            }
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.getResponseHeaders().set("X-Instance", spec.id());
            String json;
            int status;
            if (fail) {
                status = 503;
                exchange.getResponseHeaders().set("Retry-After", "1");
                json = "{\"error\":{\"message\":\"instance overloaded\",\"type\":\"unavailable\"}}";
            } else {
                status = 200;
                json = String.format(Locale.ROOT,
                        "{\"id\":\"cmpl-%s\",\"object\":\"text_completion\",\"model\":\"sim-%s\","
                                + "\"instance\":\"%s\",\"choices\":[{\"index\":0,\"text\":\"Hello!\","
                                + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,"
                                + "\"completion_tokens\":2,\"total_tokens\":5},\"service_ms\":%.3f}",
                        requestId, spec.kind(), spec.id(), serviceNanos / 1e6);
            }
            byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream responseBody = exchange.getResponseBody()) {
                responseBody.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.close();
        DemoThreads.shutdown(executor, threads);
    }
}
