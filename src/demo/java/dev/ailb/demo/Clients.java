package dev.ailb.demo;

import static dev.ailb.demo.Demo.PATH;
import static dev.ailb.demo.Demo.THREAD_PREFIX;

import dev.ailb.Backend;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.NoAvailableBackendException;
import dev.ailb.Request;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** The client threads and the one HTTP client they share. */
final class Clients implements AutoCloseable {
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

    /** How one request ended. */
    private enum Outcome { SUCCEEDED, FAILED, REJECTED }

    private final int threads;
    private final NamedThreadFactory workerThreads = new NamedThreadFactory(THREAD_PREFIX + "client-");
    private final NamedThreadFactory httpThreads = new NamedThreadFactory(THREAD_PREFIX + "http-");
    private final ExecutorService workers;
    private final ExecutorService httpExecutor;
    private final HttpClient http;

    Clients(int threads) {
        this.threads = threads;
        this.workers = Executors.newFixedThreadPool(threads, workerThreads);
        this.httpExecutor = Executors.newCachedThreadPool(httpThreads);
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER)
                .proxy(HttpClient.Builder.NO_PROXY)
                .executor(httpExecutor)
                .build();
    }

    /**
     * Sends {@code count} requests through {@code lb} from all client threads and returns when
     * every one has been released.
     */
    void sendAll(LoadBalancer lb, int count, String[] clientAddresses, LongAdder transportErrors)
            throws InterruptedException {
        AtomicInteger next = new AtomicInteger();
        onEveryThread(() -> {
            for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                sendOne(lb, i, clientAddresses[i % clientAddresses.length], transportErrors);
            }
            return null;
        });
    }

    /**
     * Runs {@code task} on every client thread at once and returns when each has returned; the
     * tasks share their work through state of their own, such as a counter.
     *
     * @throws IllegalStateException if a task threw
     */
    void onEveryThread(Callable<Void> task) throws InterruptedException {
        List<Future<Void>> futures = workers.invokeAll(Collections.nCopies(threads, task));
        for (Future<Void> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("a client thread failed: " + e.getCause(), e.getCause());
            }
        }
    }

    /**
     * Starts sending requests through {@code lb} from all client threads, each one after the
     * other, until {@link Traffic#stop()}; with {@code leased}, through {@link LoadBalancer#acquire}
     * leases, each noted in {@link Traffic#routes}.
     */
    Traffic startTraffic(LoadBalancer lb, String[] clientAddresses, boolean leased) {
        Traffic traffic = new Traffic();
        AtomicInteger next = new AtomicInteger();
        for (int t = 0; t < threads; t++) {
            traffic.running.add(workers.submit(() -> {
                while (!traffic.stopping) {
                    int i = next.getAndIncrement();
                    traffic.sent.increment();
                    String clientAddress = clientAddresses[i % clientAddresses.length];
                    Outcome outcome = leased ? sendLeased(lb, i, clientAddress, traffic)
                            : sendOne(lb, i, clientAddress, traffic.transportErrors);
                    (outcome == Outcome.SUCCEEDED ? traffic.succeeded
                            : outcome == Outcome.FAILED ? traffic.failed : traffic.rejected).increment();
                }
                return null;
            }));
        }
        return traffic;
    }

    private Outcome sendOne(LoadBalancer lb, int index, String clientAddress, LongAdder transportErrors)
            throws InterruptedException {
        Request request = request(index, clientAddress);
        Backend backend;
        try {
            backend = lb.selectBackend(request);
        } catch (NoAvailableBackendException e) {
            return Outcome.REJECTED;
        }
        lb.acquireConnection(backend);
        boolean success = false;
        long start = System.nanoTime();
        try {
            success = call(backend, request, transportErrors);
        } finally {
            lb.releaseConnection(backend, Duration.ofNanos(System.nanoTime() - start), success);
        }
        return success ? Outcome.SUCCEEDED : Outcome.FAILED;
    }

    /**
     * Sends one request through a {@link Lease}, which selects and acquires in one step and
     * is released once whatever happens, and notes where it went and when.
     */
    private Outcome sendLeased(LoadBalancer lb, int index, String clientAddress, Traffic traffic)
            throws InterruptedException {
        Request request = request(index, clientAddress);
        long acquiring = System.nanoTime();
        try (Lease lease = lb.acquire(request)) {
            traffic.open.put(index, new Routed(lease.backend().id(), acquiring, 0L, false));
            boolean success = call(lease.backend(), request, traffic.transportErrors);
            traffic.open.remove(index);
            traffic.routes.add(new Routed(lease.backend().id(), acquiring, System.nanoTime(), success));
            if (success) {
                lease.success();
            } else {
                lease.failure();
            }
            return success ? Outcome.SUCCEEDED : Outcome.FAILED;
        } catch (NoAvailableBackendException e) {
            return Outcome.REJECTED;
        }
    }

    /**
     * What one chat turn got back.
     *
     * @param text           the answer's text
     * @param firstByteNanos the time from asking the balancer for a lease to the answer's first byte
     */
    record ChatAnswer(String text, long firstByteNanos) {}

    /**
     * Sends one chat turn, a request carrying its prompt, through a {@link Lease}: posts the prompt,
     * marks the lease's {@linkplain Lease#firstByte() first byte} when the headers arrive, reads the
     * answer and reports its {@code usage} with {@link Lease#reportCachedTokens}.
     *
     * @return the answer, or empty if the balancer had no backend, the status was not 2xx, the
     *         answer lacked its text or its usage, or the exchange failed
     */
    Optional<ChatAnswer> sendChat(LoadBalancer lb, Request request, LongAdder transportErrors)
            throws InterruptedException {
        long acquiring = System.nanoTime();
        try (Lease lease = lb.acquire(request)) {
            Backend backend = lease.backend();
            HttpRequest call = HttpRequest.newBuilder(
                            URI.create("http://" + backend.host() + ":" + backend.port() + request.path()))
                    .timeout(REQUEST_TIMEOUT)
                    .header("Content-Type", "application/json")
                    .header("X-Request-Id", request.id())
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"sim-chat\",\"prompt\":"
                            + ChatJson.quote(request.prompt()) + ",\"max_tokens\":160}"))
                    .build();
            String json;
            long firstByte;
            try {
                HttpResponse<InputStream> response = http.send(call, HttpResponse.BodyHandlers.ofInputStream());
                firstByte = System.nanoTime() - acquiring;
                lease.firstByte();
                try (InputStream body = response.body()) {
                    json = new String(body.readAllBytes(), StandardCharsets.UTF_8);
                }
                if (response.statusCode() < 200 || response.statusCode() >= 300) {
                    lease.failure();
                    return Optional.empty();
                }
            } catch (IOException e) {
                transportErrors.increment();
                lease.failure();
                return Optional.empty();
            }
            Optional<String> text = ChatJson.string(json, "text");
            OptionalLong promptTokens = ChatJson.number(json, "prompt_tokens");
            OptionalLong cachedTokens = ChatJson.number(json, "cached_tokens");
            if (text.isEmpty() || promptTokens.isEmpty() || cachedTokens.isEmpty()) {
                lease.failure();
                return Optional.empty();
            }
            lease.reportCachedTokens(promptTokens.getAsLong(), cachedTokens.getAsLong());
            lease.success();
            return Optional.of(new ChatAnswer(text.get(), firstByte));
        } catch (NoAvailableBackendException e) {
            return Optional.empty();
        }
    }

    // The same ids in every round: an instance takes the same time for the same request.
    static Request request(int index, String clientAddress) {
        return new Request(String.format(Locale.ROOT, "req-%06d", index), clientAddress, PATH);
    }

    /** Sends the request to the backend; true if it was answered with a 2xx status. */
    private boolean call(Backend backend, Request request, LongAdder transportErrors) throws InterruptedException {
        try {
            HttpRequest call = HttpRequest.newBuilder(
                            URI.create("http://" + backend.host() + ":" + backend.port() + request.path()))
                    .timeout(REQUEST_TIMEOUT)
                    .header("Content-Type", "application/json")
                    .header("X-Request-Id", request.id())
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"sim-1\",\"prompt\":\"Say hello.\",\"max_tokens\":8}"))
                    .build();
            HttpResponse<String> response = http.send(call, HttpResponse.BodyHandlers.ofString());
            return response.statusCode() >= 200 && response.statusCode() < 300;
        } catch (IOException e) {
            transportErrors.increment();
            return false;
        }
    }

    @Override
    public void close() {
        DemoThreads.shutdown(workers, workerThreads);
        DemoThreads.shutdown(httpExecutor, httpThreads);
    }
}
