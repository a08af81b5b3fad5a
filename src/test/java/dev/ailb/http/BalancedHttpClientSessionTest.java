package dev.ailb.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ManualTicker;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Sessions through the HTTP client, against model instances on loopback: the requests of one
 * conversation land on one instance, and move, once, to the instance that served a retry when
 * theirs fails.
 */
class BalancedHttpClientSessionTest {
    private static final String CHAT = "/v1/chat/completions";

    private final ExecutorService handlers = Executors.newFixedThreadPool(3, task -> {
        Thread t = new Thread(task, "loopback-instance");
        t.setDaemon(true);
        return t;
    });
    private final List<Instance> instances = new ArrayList<>();
    private final LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.ROUND_ROBIN)
            .ticker(new ManualTicker()).outlierDetection(OutlierDetection.disabled()).build();
    private final BalancedHttpClient http = BalancedHttpClient.of(lb);

    @AfterEach
    void cleanUp() {
        lb.close();
        instances.forEach(i -> i.server.close());
        handlers.shutdownNow();
    }

    /** A model instance: answers with its name, or with the status set, and counts what it gets. */
    private final class Instance {
        final String name;
        final AtomicInteger requests = new AtomicInteger();
        final AtomicInteger status = new AtomicInteger(200);
        final LoopbackServer server;

        Instance(String name) throws IOException {
            this.name = name;
            this.server = LoopbackServer.start(0, 50, handlers, Map.of(CHAT, this::handle));
            instances.add(this);
            lb.addBackend(name, LoopbackServer.HOST, server.port());
        }

        private void handle(HttpExchange exchange) throws IOException {
            requests.incrementAndGet();
            exchange.getRequestBody().readAllBytes();
            byte[] body = ("data: {\"instance\":\"" + name + "\"}\n\n").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status.get(), body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static Function<URI, HttpRequest> chat() {
        return base -> HttpRequest.newBuilder(base.resolve(CHAT))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"messages\":[]}"))
                .build();
    }

    /** Sends one request of a conversation and returns the name of the instance that answered. */
    private String send(String conversation) throws InterruptedException {
        HttpResponse<String> answer = http.send(new Request("r", "10.1.1.1", CHAT), conversation, chat(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).isEqualTo(200);
        return instanceIn(answer.body());
    }

    private static String instanceIn(String body) {
        int start = body.indexOf("\"instance\":\"") + "\"instance\":\"".length();
        return body.substring(start, body.indexOf('"', start));
    }

    private Instance named(String name) {
        return instances.stream().filter(i -> i.name.equals(name)).findFirst().orElseThrow();
    }

    @Test
    void theRequestsOfAConversationLandOnOneInstanceAndMoveOnceWhenItGoesDown() throws Exception {
        for (int i = 1; i <= 3; i++) {
            new Instance("instance-" + i);
        }
        List<String> conversations = List.of("conv-a", "conv-b", "conv-c");
        Map<String, Set<String>> servedBy = Map.of("conv-a", new HashSet<>(), "conv-b", new HashSet<>(),
                "conv-c", new HashSet<>());
        for (int round = 0; round < 5; round++) {
            for (String c : conversations) {
                servedBy.get(c).add(send(c));
            }
        }
        Set<String> homes = new HashSet<>();
        for (String c : conversations) {
            assertThat(servedBy.get(c)).as("instances that served %s", c).hasSize(1);
            homes.addAll(servedBy.get(c));
        }
        assertThat(homes).as("round robin placed each conversation on its own instance").hasSize(3);
        String home = servedBy.get("conv-a").iterator().next();
        Instance down = named(home);
        int beforeCrash = down.requests.get();

        down.server.stop();
        String moved = send("conv-a");
        down.server.restart(Duration.ofSeconds(10));
        List<String> after = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            after.add(send("conv-a"));
        }

        assertThat(moved).isNotEqualTo(home);
        assertThat(after).containsOnly(moved);
        assertThat(down.requests.get()).as("requests %s got after it went down", home).isEqualTo(beforeCrash);
        assertThat(lb.getAllStats().metrics().sessionRebinds()).isEqualTo(1);
        assertThat(lb.getAllStats().metrics().retries()).isEqualTo(1);
        assertThat(lb.getBackendStats(home).failures()).isEqualTo(1);
        assertThat(lb.getBackendStats(home).sessions()).isZero();
        assertThat(lb.getBackendStats(moved).sessions()).isEqualTo(2); // conv-a joined the one placed there
        assertThat(lb.getAllStats().metrics().sessions()).isEqualTo(3);
    }

    @Test
    void aStreamedConversationMovesToTheInstanceThatAnsweredAfterAServerError() throws Exception {
        Instance one = new Instance("instance-1");
        Instance two = new Instance("instance-2");
        Request request = new Request("r", "10.1.1.1", CHAT);
        String home;
        try (StreamedResponse first = http.stream(request, "conv-s", chat())) {
            home = instanceIn(new String(first.body().readAllBytes(), StandardCharsets.UTF_8));
        }
        Instance failing = home.equals(one.name) ? one : two;
        Instance other = failing == one ? two : one;

        failing.status.set(503);
        String moved;
        try (StreamedResponse answer = http.stream(request, "conv-s", chat());
                InputStream body = answer.body()) {
            assertThat(answer.statusCode()).isEqualTo(200);
            moved = instanceIn(new String(body.readAllBytes(), StandardCharsets.UTF_8));
        }
        failing.status.set(200);
        String next;
        try (StreamedResponse answer = http.stream(request, "conv-s", chat())) {
            next = instanceIn(new String(answer.body().readAllBytes(), StandardCharsets.UTF_8));
        }

        assertThat(moved).isEqualTo(other.name);
        assertThat(next).isEqualTo(other.name);
        assertThat(failing.requests.get()).isEqualTo(2);
        assertThat(lb.getAllStats().metrics().sessionRebinds()).isEqualTo(1);
        assertThat(lb.getAllStats().metrics().activeConnections()).isZero();
    }

    @Test
    void aBlankConversationIsRefusedBeforeAnythingIsSent() throws Exception {
        Instance one = new Instance("instance-1");
        Request request = new Request("r", "10.1.1.1", CHAT);

        assertThatThrownBy(() -> http.send(request, " ", chat(), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("sessionId: \" \" (expected: not blank)");
        assertThatThrownBy(() -> http.stream(request, (String) null, chat()))
                .isInstanceOf(NullPointerException.class).hasMessage("sessionId: null (expected: non-null)");

        assertThat(one.requests.get()).isZero();
        assertThat(lb.getAllStats().metrics().totalRequests()).isZero();
    }
}
