package dev.ailb.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.CallFailedException;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import dev.ailb.RetryPolicy;
import dev.ailb.health.OutlierDetection;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP integration end to end against OpenAI-style endpoints on loopback ({@code POST
 * /v1/chat/completions}), JDK {@link HttpServer}s answering whole or streamed (server-sent events).
 */
class BalancedHttpClientTest {
    private static final String LOOPBACK = "127.0.0.1";
    private static final String CHAT = "/v1/chat/completions";
    private static final String JSON = "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    private final List<Server> servers = new ArrayList<>();
    private final List<LoadBalancer> balancers = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        balancers.forEach(LoadBalancer::close);
        servers.forEach(Server::stop);
    }

    /** A loopback model server: answers with the status and body the test sets. */
    private final class Server {
        final AtomicInteger status = new AtomicInteger(200);
        final AtomicReference<String> body = new AtomicReference<>("{\"choices\":[{\"message\":{\"content\":\"hello\"}}]}");
        final AtomicInteger requests = new AtomicInteger();
        final AtomicReference<String> lastBody = new AtomicReference<>();
        /** For streams: the first event goes out at once, the rest when this opens. */
        final CountDownLatch releaseRest = new CountDownLatch(1);
        final ExecutorService executor = Executors.newFixedThreadPool(4, task -> {
            Thread t = new Thread(task, "loopback-model");
            t.setDaemon(true);
            return t;
        });
        final HttpServer http;

        Server() throws IOException {
            http = HttpServer.create(new InetSocketAddress(InetAddress.getByName(LOOPBACK), 0), 50);
            http.setExecutor(executor);
            http.createContext(CHAT, this::handle);
            http.start();
            servers.add(this);
        }

        private void handle(HttpExchange exchange) throws IOException {
            requests.incrementAndGet();
            lastBody.set(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            boolean stream = lastBody.get().contains("\"stream\":true") && status.get() < 500;
            if (!stream) {
                byte[] bytes = body.get().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "application/json");
                exchange.sendResponseHeaders(status.get(), bytes.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
                return;
            }
            exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(status.get(), 0); // chunked
            try (OutputStream out = exchange.getResponseBody()) {
                out.write("data: {\"delta\":\"hel\"}\n\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                try {
                    releaseRest.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                out.write("data: {\"delta\":\"lo\"}\n\ndata: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            }
        }

        int port() {
            return http.getAddress().getPort();
        }

        void stop() {
            releaseRest.countDown();
            http.stop(0);
            executor.shutdownNow();
        }
    }

    private LoadBalancer balancer(RetryPolicy retries) {
        LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.ROUND_ROBIN).retryPolicy(retries)
                .outlierDetection(OutlierDetection.disabled()).build();
        balancers.add(lb);
        return lb;
    }

    private static Function<URI, HttpRequest> chat(String json) {
        return base -> HttpRequest.newBuilder(base.resolve(CHAT))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build();
    }

    private static Request request(String id) {
        return new Request(id, "10.1.1.1", CHAT);
    }

    @Test
    void aWholeAnswerComesBackAndIsCountedOnItsBackend() throws Exception {
        Server server = new Server();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend a = lb.addBackend("a", LOOPBACK, server.port());
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        HttpResponse<String> answer = http.send(request("r1"), chat(JSON), HttpResponse.BodyHandlers.ofString());

        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.body()).contains("hello");
        assertThat(answer.uri()).isEqualTo(URI.create("http://127.0.0.1:" + server.port() + CHAT));
        assertThat(server.lastBody.get()).isEqualTo(JSON);
        assertThat(a.successes()).isOne();
        assertThat(a.failures()).isZero();
        assertThat(a.activeConnections()).isZero();
        assertThat(a.totalResponseNanos()).isPositive();
    }

    @Test
    void aServerErrorIsRetriedOnAnotherBackendAndCountedAsAFailure() throws Exception {
        Server failing = new Server();
        failing.status.set(503);
        Server healthy = new Server();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend bad = lb.addBackend("bad", LOOPBACK, failing.port());
        Backend good = lb.addBackend("good", LOOPBACK, healthy.port());
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        for (int i = 0; i < 4; i++) {
            assertThat(http.send(request("r" + i), chat(JSON), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);
        }

        assertThat(good.successes()).isEqualTo(4);
        assertThat(bad.failures()).isEqualTo(failing.requests.get()).isPositive();
        assertThat(bad.successes()).isZero();
        assertThat(lb.getAllStats().metrics().retries()).isEqualTo(bad.failures());
    }

    @Test
    void whenEveryAttemptFailsTheLastServerErrorIsReturned() throws Exception {
        Server first = new Server();
        Server second = new Server();
        first.status.set(500);
        second.status.set(502);
        first.body.set("{\"error\":\"overloaded\"}");
        second.body.set("{\"error\":\"overloaded\"}");
        LoadBalancer lb = balancer(RetryPolicy.builder().maxAttempts(2).build());
        lb.addBackend("a", LOOPBACK, first.port());
        lb.addBackend("b", LOOPBACK, second.port());

        HttpResponse<String> answer = BalancedHttpClient.of(lb)
                .send(request("r"), chat(JSON), HttpResponse.BodyHandlers.ofString());

        assertThat(answer.statusCode()).isIn(500, 502);
        assertThat(answer.body()).contains("overloaded");
        assertThat(first.requests.get() + second.requests.get()).isEqualTo(2);
        assertThat(lb.getAllStats().metrics().failures()).isEqualTo(2);
    }

    @Test
    void aClientErrorIsTheCallersMistakeNotRetriedAndNotAFailure() throws Exception {
        Server server = new Server();
        server.status.set(400);
        Server other = new Server();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        lb.addBackend("a", LOOPBACK, server.port());
        lb.addBackend("b", LOOPBACK, other.port());

        HttpResponse<String> answer = BalancedHttpClient.of(lb)
                .send(request("r"), chat("{not json"), HttpResponse.BodyHandlers.ofString());

        assertThat(answer.statusCode()).isIn(200, 400);
        assertThat(server.requests.get() + other.requests.get()).isOne();
        assertThat(lb.getAllStats().metrics().failures()).isZero();
        assertThat(lb.getAllStats().metrics().successes()).isOne();
    }

    @Test
    void aRefusedConnectionIsRetriedElsewhereAndAllRefusedThrows() throws Exception {
        int closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
            closed = socket.getLocalPort();
        }
        Server server = new Server();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend down = lb.addBackend("down", LOOPBACK, closed);
        lb.addBackend("up", LOOPBACK, server.port());
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        for (int i = 0; i < 2; i++) {
            assertThat(http.send(request("r" + i), chat(JSON), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);
        }
        assertThat(down.failures()).as("every attempt on it failed and was retried").isPositive();
        assertThat(down.successes()).isZero();

        LoadBalancer onlyDown = balancer(RetryPolicy.defaults());
        onlyDown.addBackend("down", LOOPBACK, closed);
        assertThatThrownBy(() -> BalancedHttpClient.of(onlyDown)
                .send(request("r"), chat(JSON), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(CallFailedException.class)
                .hasCauseInstanceOf(java.net.ConnectException.class);
    }

    @Test
    void aStreamedAnswerHoldsItsLeaseUntilReadAndRecordsTheFirstByte() throws Exception {
        Server server = new Server();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend a = lb.addBackend("a", LOOPBACK, server.port());
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        try (StreamedResponse answer = http.stream(request("r"), chat(JSON.replace("}]}", "}],\"stream\":true}")))) {
            assertThat(answer.statusCode()).isEqualTo(200);
            assertThat(answer.headers().firstValue("Content-Type")).contains("text/event-stream");
            InputStream body = answer.body();
            byte[] first = new byte[64];
            int n = body.read(first);
            assertThat(new String(first, 0, n, StandardCharsets.UTF_8)).startsWith("data: {\"delta\":\"hel\"}");
            // the rest is held back by the server: the request is still in flight
            assertThat(a.activeConnections()).isOne();
            assertThat(answer.isOpen()).isTrue();
            assertThat(a.firstByteCount()).isOne();
            assertThat(a.timeToFirstByteAt(0.5)).isPositive();

            server.releaseRest.countDown();
            ByteArrayOutputStream rest = new ByteArrayOutputStream();
            body.transferTo(rest);
            assertThat(rest.toString(StandardCharsets.UTF_8)).contains("data: [DONE]");
            assertThat(answer.isOpen()).isFalse();
        }
        assertThat(a.activeConnections()).isZero();
        assertThat(a.successes()).isOne();
        assertThat(a.firstByteCount()).as("counted once per answer").isOne();
        assertThat(a.responseTimeAt(0.5)).isGreaterThanOrEqualTo(a.timeToFirstByteAt(0.5));
    }

    @Test
    void aStreamClosedEarlyEndsItsLease() throws Exception {
        Server server = new Server();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend a = lb.addBackend("a", LOOPBACK, server.port());

        StreamedResponse answer = BalancedHttpClient.of(lb)
                .stream(request("r"), chat(JSON.replace("}]}", "}],\"stream\":true}")));
        assertThat(a.activeConnections()).isOne();
        answer.close();

        assertThat(a.activeConnections()).isZero();
        assertThat(a.successes()).isOne();
        assertThat(a.firstByteCount()).isZero();
    }

    @Test
    void aStreamedServerErrorIsRetriedAndTheLastOneReturnedReadable() throws Exception {
        Server failing = new Server();
        failing.status.set(503);
        failing.body.set("{\"error\":\"busy\"}");
        Server healthy = new Server();
        healthy.releaseRest.countDown();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend bad = lb.addBackend("bad", LOOPBACK, failing.port());
        lb.addBackend("good", LOOPBACK, healthy.port());
        BalancedHttpClient http = BalancedHttpClient.of(lb);
        String streaming = JSON.replace("}]}", "}],\"stream\":true}");

        for (int i = 0; i < 2; i++) {
            try (StreamedResponse answer = http.stream(request("r" + i), chat(streaming))) {
                assertThat(answer.statusCode()).isEqualTo(200);
                answer.body().transferTo(OutputStream.nullOutputStream());
            }
        }
        assertThat(bad.failures()).isEqualTo(failing.requests.get()).isPositive();

        LoadBalancer onlyBad = balancer(RetryPolicy.builder().maxAttempts(1).build());
        onlyBad.addBackend("bad", LOOPBACK, failing.port());
        try (StreamedResponse answer = BalancedHttpClient.of(onlyBad).stream(request("r"), chat(streaming))) {
            assertThat(answer.statusCode()).isEqualTo(503);
            assertThat(new String(answer.body().readAllBytes(), StandardCharsets.UTF_8)).contains("busy");
            assertThat(answer.isOpen()).isFalse();
        }
        assertThat(onlyBad.getAllStats().metrics().failures()).isOne();
        assertThat(onlyBad.getAllStats().metrics().activeConnections()).isZero();
    }

    @Test
    void badArgumentsAreRejectedNamingThem() {
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        assertThatThrownBy(() -> BalancedHttpClient.of(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("balancer");
        assertThatThrownBy(() -> BalancedHttpClient.builder(lb).scheme("ftp"))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("scheme: \"ftp\" (expected: http or https)");
        assertThatThrownBy(() -> BalancedHttpClient.of(lb).send(request("r"), null, HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("requestFor");
        Backend v6 = lb.addBackend("v6", "::1", 8000);
        assertThat(BalancedHttpClient.builder(lb).scheme("https").build().baseUri(v6))
                .isEqualTo(URI.create("https://[::1]:8000"));
    }
}
