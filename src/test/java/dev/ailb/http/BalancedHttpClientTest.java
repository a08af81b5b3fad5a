package dev.ailb.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.CallFailedException;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import dev.ailb.RetryPolicy;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ScriptedEndpoint;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The HTTP integration end to end against OpenAI-style endpoints on loopback ({@code POST
 * /v1/chat/completions}), {@link LoopbackServer}s answering whole or streamed (server-sent events).
 */
class BalancedHttpClientTest {
    private static final String LOOPBACK = LoopbackServer.HOST;
    private static final String CHAT = "/v1/chat/completions";
    private static final String JSON = "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    private final List<LoopbackServer> servers = new ArrayList<>();
    private final List<LoadBalancer> balancers = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        balancers.forEach(LoadBalancer::close);
        servers.forEach(LoopbackServer::close);
    }

    /**
     * A model's chat endpoint: answers with the status and body the test sets, and streams to a
     * request that asks for it, the first event at once and the rest when not held.
     */
    private static ScriptedEndpoint model() {
        return ScriptedEndpoint
                .answering(200, "application/json", "{\"choices\":[{\"message\":{\"content\":\"hello\"}}]}")
                .streamWhenAsked("data: {\"delta\":\"hel\"}\n\n", "data: {\"delta\":\"lo\"}\n\ndata: [DONE]\n\n");
    }

    /** Serves {@code model} on a loopback server of its own and returns the server's port. */
    private int serve(ScriptedEndpoint model) {
        LoopbackServer server = LoopbackServer.start("model", Map.of(CHAT, model));
        servers.add(server);
        return server.port();
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
        ScriptedEndpoint server = model();
        int port = serve(server);
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend a = lb.addBackend("a", LOOPBACK, port);
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        HttpResponse<String> answer = http.send(request("r1"), chat(JSON), HttpResponse.BodyHandlers.ofString());

        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.body()).contains("hello");
        assertThat(answer.uri()).isEqualTo(URI.create("http://127.0.0.1:" + port + CHAT));
        assertThat(server.lastRequestBody()).isEqualTo(JSON);
        assertThat(a.successes()).isOne();
        assertThat(a.failures()).isZero();
        assertThat(a.activeConnections()).isZero();
        assertThat(a.totalResponseNanos()).isPositive();
    }

    @Test
    void aServerErrorIsRetriedOnAnotherBackendAndCountedAsAFailure() throws Exception {
        ScriptedEndpoint failing = model().status(503);
        ScriptedEndpoint healthy = model();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend bad = lb.addBackend("bad", LOOPBACK, serve(failing));
        Backend good = lb.addBackend("good", LOOPBACK, serve(healthy));
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        for (int i = 0; i < 4; i++) {
            assertThat(http.send(request("r" + i), chat(JSON), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);
        }

        assertThat(good.successes()).isEqualTo(4);
        assertThat(bad.failures()).isEqualTo(failing.requests()).isPositive();
        assertThat(bad.successes()).isZero();
        assertThat(lb.getAllStats().metrics().retries()).isEqualTo(bad.failures());
    }

    @Test
    void whenEveryAttemptFailsTheLastServerErrorIsReturned() throws Exception {
        ScriptedEndpoint first = model().status(500).body("{\"error\":\"overloaded\"}");
        ScriptedEndpoint second = model().status(502).body("{\"error\":\"overloaded\"}");
        LoadBalancer lb = balancer(RetryPolicy.builder().maxAttempts(2).build());
        lb.addBackend("a", LOOPBACK, serve(first));
        lb.addBackend("b", LOOPBACK, serve(second));

        HttpResponse<String> answer = BalancedHttpClient.of(lb)
                .send(request("r"), chat(JSON), HttpResponse.BodyHandlers.ofString());

        assertThat(answer.statusCode()).isIn(500, 502);
        assertThat(answer.body()).contains("overloaded");
        assertThat(first.requests() + second.requests()).isEqualTo(2);
        assertThat(lb.getAllStats().metrics().failures()).isEqualTo(2);
    }

    @Test
    void aClientErrorIsTheCallersMistakeNotRetriedAndNotAFailure() throws Exception {
        ScriptedEndpoint server = model().status(400);
        ScriptedEndpoint other = model();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        lb.addBackend("a", LOOPBACK, serve(server));
        lb.addBackend("b", LOOPBACK, serve(other));

        HttpResponse<String> answer = BalancedHttpClient.of(lb)
                .send(request("r"), chat("{not json"), HttpResponse.BodyHandlers.ofString());

        assertThat(answer.statusCode()).isIn(200, 400);
        assertThat(server.requests() + other.requests()).isOne();
        assertThat(lb.getAllStats().metrics().failures()).isZero();
        assertThat(lb.getAllStats().metrics().successes()).isOne();
    }

    @Test
    void aRefusedConnectionIsRetriedElsewhereAndAllRefusedThrows() throws Exception {
        int closed = LoopbackServer.closedPort();
        ScriptedEndpoint server = model();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend down = lb.addBackend("down", LOOPBACK, closed);
        lb.addBackend("up", LOOPBACK, serve(server));
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
        ScriptedEndpoint server = model().hold();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend a = lb.addBackend("a", LOOPBACK, serve(server));
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

            server.release();
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
        ScriptedEndpoint server = model().hold();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend a = lb.addBackend("a", LOOPBACK, serve(server));

        StreamedResponse answer = BalancedHttpClient.of(lb)
                .stream(request("r"), chat(JSON.replace("}]}", "}],\"stream\":true}")));
        assertThat(a.activeConnections()).isOne();
        answer.close();

        assertThat(a.activeConnections()).isZero();
        assertThat(a.successes()).isOne();
        assertThat(a.firstByteCount()).isZero();
    }

    @Test
    void aStreamCancelledByItsReaderEndsItsLeaseWithoutAnOutcome() throws Exception {
        ScriptedEndpoint server = model().hold();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend a = lb.addBackend("a", LOOPBACK, serve(server));

        StreamedResponse answer = BalancedHttpClient.of(lb)
                .stream(request("r"), chat(JSON.replace("}]}", "}],\"stream\":true}")));
        assertThat(answer.body().read()).as("the first byte of the first event").isEqualTo('d');
        answer.cancel();
        answer.cancel();
        answer.close();
        server.release();

        assertThat(answer.isOpen()).isFalse();
        assertThat(a.activeConnections()).isZero();
        assertThat(a.successes()).isZero();
        assertThat(a.failures()).isZero();
        assertThat(lb.getAllStats().metrics().cancelledAttempts()).as("released once").isOne();
        assertThat(a.firstByteCount()).isOne();
    }

    @Test
    void aStreamedServerErrorIsRetriedAndTheLastOneReturnedReadable() throws Exception {
        ScriptedEndpoint failing = model().status(503).body("{\"error\":\"busy\"}");
        int failingPort = serve(failing);
        ScriptedEndpoint healthy = model();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend bad = lb.addBackend("bad", LOOPBACK, failingPort);
        lb.addBackend("good", LOOPBACK, serve(healthy));
        BalancedHttpClient http = BalancedHttpClient.of(lb);
        String streaming = JSON.replace("}]}", "}],\"stream\":true}");

        for (int i = 0; i < 2; i++) {
            try (StreamedResponse answer = http.stream(request("r" + i), chat(streaming))) {
                assertThat(answer.statusCode()).isEqualTo(200);
                answer.body().transferTo(OutputStream.nullOutputStream());
            }
        }
        assertThat(bad.failures()).isEqualTo(failing.requests()).isPositive();

        LoadBalancer onlyBad = balancer(RetryPolicy.builder().maxAttempts(1).build());
        onlyBad.addBackend("bad", LOOPBACK, failingPort);
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
