package dev.ailb.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.PromptCacheStats;
import dev.ailb.Request;
import dev.ailb.RetryPolicy;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ScriptedEndpoint;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The body-aware calls end to end, against fake OpenAI-style servers on loopback: the request is
 * routed with the prompt read from its body, and the server's prompt-cache figures, from a whole
 * answer or from the last chunk of a stream, are counted on the backend that answered.
 */
class BalancedHttpClientJsonTest {
    private static final String LOOPBACK = LoopbackServer.HOST;
    private static final String CHAT = "/v1/chat/completions";
    private static final String COMPLETIONS = "/v1/completions";
    private static final String BODY = "{\"model\":\"llama\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
            + "{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final String STREAMING_BODY = BODY.replace("}]}",
            "}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
    /** A whole answer as vLLM gives it with prefix caching on. */
    private static final String ANSWER = "{\"id\":\"cmpl-1\",\"object\":\"chat.completion\",\"model\":\"llama\","
            + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hello\"},"
            + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1200,\"total_tokens\":1202,"
            + "\"completion_tokens\":2,\"prompt_tokens_details\":{\"cached_tokens\":1024}}}";
    /** The same from a server that reports no prompt-cache figures (older vLLM, TGI). */
    private static final String ANSWER_WITHOUT_DETAILS = ANSWER.replace(",\"prompt_tokens_details\":{\"cached_tokens\":1024}", "");
    private static final String FIRST_EVENT = "data: {\"id\":\"cmpl-2\",\"choices\":[{\"index\":0,\"delta\":"
            + "{\"role\":\"assistant\",\"content\":\"hel\"}}],\"usage\":null}\n\n";
    private static final String USAGE_EVENT = "data: {\"id\":\"cmpl-2\",\"choices\":[],\"usage\":{\"prompt_tokens\":800,"
            + "\"completion_tokens\":2,\"total_tokens\":802,\"prompt_tokens_details\":{\"cached_tokens\":512}}}\n\n";
    private static final String REST_OF_STREAM = "data: {\"id\":\"cmpl-2\",\"choices\":[{\"index\":0,\"delta\":"
            + "{\"content\":\"lo\"},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n" + USAGE_EVENT + "data: [DONE]\n\n";

    private final List<LoopbackServer> servers = new ArrayList<>();
    private final List<LoadBalancer> balancers = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        balancers.forEach(LoadBalancer::close);
        servers.forEach(LoopbackServer::close);
    }

    /** A model that answers {@link #ANSWER} whole, or streams when asked, its usage in the last chunk. */
    private static ScriptedEndpoint model() {
        return ScriptedEndpoint.answering(200, "application/json", ANSWER).streamWhenAsked(FIRST_EVENT, REST_OF_STREAM);
    }

    private int serve(ScriptedEndpoint model) {
        LoopbackServer server = LoopbackServer.start("model", Map.of(CHAT, model, COMPLETIONS, model));
        servers.add(server);
        return server.port();
    }

    private LoadBalancer balancer(BalancingStrategy strategy) {
        LoadBalancer lb = LoadBalancer.builder().name("json").strategy(strategy).retryPolicy(RetryPolicy.defaults())
                .outlierDetection(OutlierDetection.disabled()).build();
        balancers.add(lb);
        return lb;
    }

    private static Request request(String id) {
        return new Request(id, "10.1.1.1", CHAT);
    }

    private static PromptCacheStats reported(long promptTokens, long cachedTokens) {
        return new PromptCacheStats(0, 0, promptTokens, cachedTokens);
    }

    @Test
    void aWholeAnswersCacheReportIsCountedOnItsBackendAndTheBodyIsTheCallers() throws Exception {
        ScriptedEndpoint server = model();
        LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, serve(server));
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        HttpResponse<String> answer = http.sendJson(request("r1"), CHAT, BODY, HttpResponse.BodyHandlers.ofString());

        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.body()).isEqualTo(ANSWER);
        assertThat(server.lastRequestBody()).isEqualTo(BODY);
        assertThat(lb.getBackendStats("a").promptCache()).isEqualTo(reported(1200, 1024));
        assertThat(a.successes()).isOne();
        assertThat(a.activeConnections()).isZero();
    }

    @Test
    void aHandlerThatMakesSomethingElseOfTheBodyStillGetsItAndTheReportIsRead() throws Exception {
        LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN);
        lb.addBackend("a", LOOPBACK, serve(model()));
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        HttpResponse<Integer> length = http.sendJson(request("r1"), CHAT, BODY, info -> HttpResponse.BodySubscribers
                .mapping(HttpResponse.BodySubscribers.ofString(StandardCharsets.UTF_8), String::length));
        HttpResponse<Void> discarded = http.sendJson(request("r2"), CHAT, BODY, HttpResponse.BodyHandlers.discarding());
        HttpResponse<byte[]> bytes = http.sendJson(request("r3"), CHAT, BODY, HttpResponse.BodyHandlers.ofByteArray());

        assertThat(length.body()).isEqualTo(ANSWER.length());
        assertThat(discarded.statusCode()).isEqualTo(200);
        assertThat(new String(bytes.body(), StandardCharsets.UTF_8)).isEqualTo(ANSWER);
        assertThat(lb.getBackendStats("a").promptCache()).isEqualTo(reported(3 * 1200, 3 * 1024));
    }

    @Test
    void aStreamsLastChunkIsReportedBeforeTheLeaseEndsAndTheCallerReadsEveryByte() throws Exception {
        ScriptedEndpoint server = ScriptedEndpoint.answering(200, "application/json", ANSWER)
                .streamWhenAsked(FIRST_EVENT + USAGE_EVENT, "data: [DONE]\n\n").hold();
        LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, serve(server));
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        ByteArrayOutputStream read = new ByteArrayOutputStream();
        try (StreamedResponse answer = http.streamJson(request("r"), CHAT, STREAMING_BODY)) {
            InputStream body = answer.body();
            byte[] buffer = new byte[7]; // small reads: the usage chunk arrives in pieces
            while (read.size() < (FIRST_EVENT + USAGE_EVENT).length()) {
                int n = body.read(buffer);
                read.write(buffer, 0, n);
            }
            // the server holds the end of the stream back: the lease is open, the report is in
            assertThat(answer.isOpen()).isTrue();
            assertThat(a.activeConnections()).isOne();
            assertThat(lb.getBackendStats("a").promptCache()).isEqualTo(reported(800, 512));

            server.release();
            body.transferTo(read);
            assertThat(answer.isOpen()).isFalse();
        }
        assertThat(read.toString(StandardCharsets.UTF_8)).isEqualTo(FIRST_EVENT + USAGE_EVENT + "data: [DONE]\n\n");
        assertThat(server.lastRequestBody()).isEqualTo(STREAMING_BODY);
        assertThat(lb.getBackendStats("a").promptCache()).isEqualTo(reported(800, 512));
        assertThat(a.successes()).isOne();
        assertThat(a.activeConnections()).isZero();
    }

    @Test
    void aStreamReadToItsEndReportsItsUsageOnce() throws Exception {
        LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN);
        lb.addBackend("a", LOOPBACK, serve(model()));
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        for (int i = 0; i < 2; i++) {
            try (StreamedResponse answer = http.streamJson(request("r" + i), CHAT, STREAMING_BODY)) {
                assertThat(new String(answer.body().readAllBytes(), StandardCharsets.UTF_8))
                        .isEqualTo(FIRST_EVENT + REST_OF_STREAM);
            }
        }

        assertThat(lb.getBackendStats("a").promptCache()).isEqualTo(reported(2 * 800, 2 * 512));
    }

    @Test
    void aServerWithoutCacheFiguresReportsNothingAndAnswersAsUsual() throws Exception {
        String usageWithoutDetails = USAGE_EVENT.replace(",\"prompt_tokens_details\":{\"cached_tokens\":512}", "");
        ScriptedEndpoint server = ScriptedEndpoint.answering(200, "application/json", ANSWER_WITHOUT_DETAILS)
                .streamWhenAsked(FIRST_EVENT, usageWithoutDetails + "data: [DONE]\n\n");
        LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, serve(server));
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        HttpResponse<String> whole = http.sendJson(request("r1"), CHAT, BODY, HttpResponse.BodyHandlers.ofString());
        String streamed;
        try (StreamedResponse answer = http.streamJson(request("r2"), CHAT, STREAMING_BODY)) {
            streamed = new String(answer.body().readAllBytes(), StandardCharsets.UTF_8);
        }

        assertThat(whole.body()).isEqualTo(ANSWER_WITHOUT_DETAILS);
        assertThat(streamed).isEqualTo(FIRST_EVENT + usageWithoutDetails + "data: [DONE]\n\n");
        assertThat(lb.getBackendStats("a").promptCache()).isEqualTo(PromptCacheStats.NONE);
        assertThat(a.successes()).isEqualTo(2);
        assertThat(a.failures()).isZero();
    }

    @Test
    void aRetryAfterA503ReportsOnlyTheAnsweringAttemptsFigures() throws Exception {
        // The failing instance even sends usage figures with its 503: they are not counted.
        ScriptedEndpoint failing = ScriptedEndpoint.answering(503, "application/json",
                ANSWER.replace("1200", "9000").replace("1024", "8000"));
        ScriptedEndpoint healthy = model();
        LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN);
        Backend bad = lb.addBackend("bad", LOOPBACK, serve(failing));
        Backend good = lb.addBackend("good", LOOPBACK, serve(healthy));
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        for (int i = 0; i < 2; i++) {
            assertThat(http.sendJson(request("w" + i), CHAT, BODY, HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);
            try (StreamedResponse answer = http.streamJson(request("s" + i), CHAT, STREAMING_BODY)) {
                assertThat(answer.statusCode()).isEqualTo(200);
                answer.body().transferTo(OutputStream.nullOutputStream());
            }
        }

        assertThat(bad.failures()).isEqualTo(failing.requests()).isPositive();
        assertThat(lb.getBackendStats("bad").promptCache()).isEqualTo(PromptCacheStats.NONE);
        assertThat(lb.getBackendStats("good").promptCache()).isEqualTo(reported(2 * 1200 + 2 * 800, 2 * 1024 + 2 * 512));
        assertThat(good.successes()).isEqualTo(4);
    }

    @Test
    void theRequestIsRoutedWithThePromptOfItsBody() throws Exception {
        List<String> routedPrompts = new CopyOnWriteArrayList<>();
        BalancingStrategy capturing = BalancingStrategy.named("CAPTURING", context -> available -> request -> {
            routedPrompts.add(request.prompt());
            return available.get(0);
        });
        LoadBalancer lb = balancer(capturing);
        lb.addBackend("a", LOOPBACK, serve(model()));
        BalancedHttpClient http = BalancedHttpClient.of(lb);
        String completion = "{\"model\":\"llama\",\"prompt\":\"Once upon a time\",\"max_tokens\":8}";

        http.sendJson(request("chat"), CHAT, BODY, HttpResponse.BodyHandlers.discarding());
        try (StreamedResponse answer = http.streamJson(request("stream"), CHAT, STREAMING_BODY)) {
            answer.body().transferTo(OutputStream.nullOutputStream());
        }
        http.sendJson(request("completion"), COMPLETIONS, completion, HttpResponse.BodyHandlers.discarding());
        http.sendJson(request("own").withPrompt("chosen by the caller"), CHAT, BODY,
                HttpResponse.BodyHandlers.discarding());
        http.sendJson(request("other"), "/v1/embeddings?x=1", "{\"input\":\"hi\"}", HttpResponse.BodyHandlers.discarding());

        assertThat(routedPrompts).containsExactly(
                "[system] Be brief.\n[user] hi\n",
                "[system] Be brief.\n[user] hi\n",
                "Once upon a time",
                "chosen by the caller",
                "");
        assertThat(routedPrompts.get(0)).isEqualTo(OpenAiPrompt.ofChatCompletions(BODY));
    }

    @Test
    void underPrefixAffinityAConversationsTurnsFollowTheirPrefixAndTheReportsCheckThePredictions() throws Exception {
        List<ScriptedEndpoint> instances = List.of(model(), model(), model());
        LoadBalancer lb = balancer(BalancingStrategy.PREFIX_AFFINITY);
        for (int i = 0; i < instances.size(); i++) {
            lb.addBackend("i" + i, LOOPBACK, serve(instances.get(i)));
        }
        BalancedHttpClient http = BalancedHttpClient.of(lb);
        StringBuilder messages = new StringBuilder("{\"role\":\"system\",\"content\":\""
                + "You answer questions about the fleet. ".repeat(40) + "\"}");

        for (int turn = 1; turn <= 4; turn++) {
            messages.append(",{\"role\":\"user\",\"content\":\"question ").append(turn).append(' ')
                    .append("with some detail ".repeat(20)).append("\"}");
            String body = "{\"model\":\"llama\",\"messages\":[" + messages + "]}";
            assertThat(http.sendJson(request("t" + turn), CHAT, body, HttpResponse.BodyHandlers.ofString())
                    .statusCode()).isEqualTo(200);
            messages.append(",{\"role\":\"assistant\",\"content\":\"answer ").append(turn).append("\"}");
        }

        assertThat(instances.stream().map(ScriptedEndpoint::requests)).containsExactlyInAnyOrder(4, 0, 0);
        String served = "i" + instances.indexOf(instances.stream().filter(e -> e.requests() == 4).findFirst().get());
        PromptCacheStats cache = lb.getBackendStats(served).promptCache();
        assertThat(cache.reportedPromptTokens()).isEqualTo(4 * 1200);
        assertThat(cache.reportedCachedTokens()).isEqualTo(4 * 1024);
        assertThat(cache.predictedPromptTokens()).as("each turn routed by its prompt").isPositive();
        assertThat(cache.predictedCachedTokens()).as("the later turns predicted cached there").isPositive();
    }

    @Test
    void aBadBodyIsRefusedBeforeAnythingIsSent() {
        ScriptedEndpoint server = model();
        LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, serve(server));
        BalancedHttpClient http = BalancedHttpClient.of(lb);
        String bad = "{\"messages\":[{\"role\":\"user\",\"content\":42}]}";

        assertThatThrownBy(() -> http.sendJson(request("r"), CHAT, bad, HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("body: messages[0].content: 42 (expected: a string, an array of content parts or null)");
        assertThatThrownBy(() -> http.streamJson(request("r"), CHAT, "{\"messages\":"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("body: invalid JSON");
        assertThatThrownBy(() -> http.sendJson(request("r"), "v1/chat/completions", BODY,
                HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("path: \"v1/chat/completions\" (expected: an absolute path such as /v1/chat/completions)");
        assertThatThrownBy(() -> http.sendJson(request("r"), "http://elsewhere/v1/chat/completions", BODY,
                HttpResponse.BodyHandlers.ofString())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> http.sendJson(request("r"), CHAT, null, HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(NullPointerException.class).hasMessage("body: null (expected: non-null)");
        assertThatThrownBy(() -> http.streamJson(request("r"), null, CHAT, BODY))
                .isInstanceOf(NullPointerException.class).hasMessage("sessionId: null (expected: non-null)");

        assertThat(server.requests()).isZero();
        assertThat(a.successes() + a.failures()).isZero();
    }

    @Test
    void theCustomizerFinishesEachRequestAndTheContentTypeIsJson() throws Exception {
        AtomicReference<String> seen = new AtomicReference<>();
        LoopbackServer server = LoopbackServer.start("model", Map.of(CHAT, (HttpExchange exchange) -> {
            try (exchange) {
                exchange.getRequestBody().readAllBytes();
                seen.set(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " "
                        + exchange.getRequestHeaders().getFirst("Content-Type") + " "
                        + exchange.getRequestHeaders().getFirst("Authorization"));
                byte[] answer = ANSWER.getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
                exchange.sendResponseHeaders(200, answer.length);
                exchange.getResponseBody().write(answer);
            }
        }));
        servers.add(server);
        LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN);
        lb.addBackend("a", LOOPBACK, server.port());
        BalancedHttpClient http = BalancedHttpClient.builder(lb)
                .jsonRequestCustomizer(builder -> builder.header("Authorization", "Bearer k-1"))
                .build();

        http.sendJson(request("r"), CHAT + "?tenant=7", BODY, HttpResponse.BodyHandlers.discarding());

        assertThat(seen.get()).isEqualTo("POST " + CHAT + "?tenant=7 application/json Bearer k-1");
        assertThat(lb.getBackendStats("a").promptCache()).isEqualTo(reported(1200, 1024));
    }

    @Test
    void aSessionStaysOnItsInstanceAndEachAnswerReportsThere() throws Exception {
        LoadBalancer lb = balancer(BalancingStrategy.ROUND_ROBIN);
        lb.addBackend("a", LOOPBACK, serve(model()));
        lb.addBackend("b", LOOPBACK, serve(model()));
        BalancedHttpClient http = BalancedHttpClient.of(lb);

        for (int i = 0; i < 3; i++) {
            http.sendJson(request("r" + i), "conversation-1", CHAT, BODY, HttpResponse.BodyHandlers.discarding());
            try (StreamedResponse answer = http.streamJson(request("s" + i), "conversation-1", CHAT, STREAMING_BODY)) {
                answer.body().transferTo(OutputStream.nullOutputStream());
            }
        }

        PromptCacheStats a = lb.getBackendStats("a").promptCache();
        PromptCacheStats b = lb.getBackendStats("b").promptCache();
        assertThat(List.of(a, b)).containsExactlyInAnyOrder(PromptCacheStats.NONE,
                reported(3 * 1200 + 3 * 800, 3 * 1024 + 3 * 512));
    }
}
