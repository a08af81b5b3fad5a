package dev.ailb.langchain4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.ailb.Backend;
import dev.ailb.BackendProfile;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerMetrics;
import dev.ailb.PromptCacheStats;
import dev.ailb.RetryPolicy;
import dev.ailb.health.OutlierDetection;
import dev.ailb.http.OpenAiPrompt;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ScriptedEndpoint;
import dev.langchain4j.exception.HttpException;
import dev.langchain4j.http.client.HttpClient;
import dev.langchain4j.http.client.HttpMethod;
import dev.langchain4j.http.client.HttpRequest;
import dev.langchain4j.http.client.SuccessfulHttpResponse;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * LangChain4j's real OpenAI models through a pool of fake OpenAI servers on loopback: whole and
 * streamed answers, a 503 retried elsewhere, a stream cancelled by its handler and one cut by its
 * server, a stopped backend's traffic moving, and every lease released once, counted exactly.
 * The models' own retries are off, so every attempt counted is the pool's. The waits on a future
 * only bound how long a broken build hangs; nothing is timed.
 */
class BalancedHttpClientBuilderTest {
    private static final String LOOPBACK = LoopbackServer.HOST;
    private static final String CHAT = "/v1/chat/completions";
    /** A label: the pool replaces its host with each backend's, so nothing ever connects to it. */
    private static final String BASE_URL = "http://pool.invalid/v1";
    private static final String ANSWER = "{\"id\":\"cmpl-1\",\"object\":\"chat.completion\",\"created\":1,"
            + "\"model\":\"llama\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hello\"},"
            + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":1,\"total_tokens\":13,"
            + "\"prompt_tokens_details\":{\"cached_tokens\":8}}}";
    private static final String FIRST_EVENT = "data: {\"id\":\"cmpl-2\",\"object\":\"chat.completion.chunk\",\"created\":1,"
            + "\"model\":\"llama\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hel\"}}]}\n\n";
    private static final String REST_OF_STREAM = "data: {\"id\":\"cmpl-2\",\"object\":\"chat.completion.chunk\","
            + "\"created\":1,\"model\":\"llama\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},"
            + "\"finish_reason\":\"stop\"}]}\n\n"
            + "data: {\"id\":\"cmpl-2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"llama\",\"choices\":[],"
            + "\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":2,\"total_tokens\":22,"
            + "\"prompt_tokens_details\":{\"cached_tokens\":16}}}\n\ndata: [DONE]\n\n";
    private static final long WAIT_SECONDS = 30;

    private final List<LoopbackServer> servers = new ArrayList<>();
    private final List<ScriptedEndpoint> held = new ArrayList<>();
    private final List<ExecutorService> pools = new ArrayList<>();
    private LoadBalancer lb;

    @AfterEach
    void cleanUp() {
        held.forEach(ScriptedEndpoint::release);
        pools.forEach(ExecutorService::shutdownNow);
        if (lb != null) {
            lb.close();
        }
        servers.forEach(LoopbackServer::close);
    }

    /** A fake OpenAI server's chat endpoint: {@link #ANSWER} whole, or a stream when asked. */
    private static ScriptedEndpoint model() {
        return ScriptedEndpoint.answering(200, "application/json", ANSWER).streamWhenAsked(FIRST_EVENT, REST_OF_STREAM);
    }

    private int serve(HttpHandler endpoint) {
        LoopbackServer server = LoopbackServer.start("openai", Map.of(CHAT, endpoint));
        servers.add(server);
        return server.port();
    }

    private LoadBalancer balancer(BalancingStrategy strategy) {
        lb = LoadBalancer.builder().name("chat").strategy(strategy).retryPolicy(RetryPolicy.defaults())
                .outlierDetection(OutlierDetection.disabled()).build();
        return lb;
    }

    private LoadBalancerMetrics metrics() {
        return lb.getAllStats().metrics();
    }

    private ChatModel chatModel() {
        return OpenAiChatModel.builder().baseUrl(BASE_URL).apiKey("key").modelName("llama").maxRetries(0)
                .httpClientBuilder(BalancedHttpClientBuilder.of(lb)).build();
    }

    private StreamingChatModel streamingModel() {
        return OpenAiStreamingChatModel.builder().baseUrl(BASE_URL).apiKey("key").modelName("llama")
                .httpClientBuilder(BalancedHttpClientBuilder.of(lb)).build();
    }

    /** What a streaming handler heard: its partial answers, and how the stream ended. */
    private static class Heard implements StreamingChatResponseHandler {
        final List<String> partials = new CopyOnWriteArrayList<>();
        final CompletableFuture<ChatResponse> complete = new CompletableFuture<>();
        final CompletableFuture<Throwable> error = new CompletableFuture<>();

        @Override
        public void onPartialResponse(String partialResponse) {
            partials.add(partialResponse);
        }

        @Override
        public void onCompleteResponse(ChatResponse response) {
            complete.complete(response);
        }

        @Override
        public void onError(Throwable failure) {
            error.complete(failure);
        }
    }

    @Test
    void theChatModelsAnswerComesFromABackendOfThePoolAndItsLeaseEnds() {
        ScriptedEndpoint server = model();
        List<String> sent = new CopyOnWriteArrayList<>();
        balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, serve(exchange -> {
            sent.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " "
                    + exchange.getRequestHeaders().get("Authorization") + " "
                    + exchange.getRequestHeaders().get("Content-Type"));
            server.handle(exchange);
        }));

        String answer = chatModel().chat("hi");

        assertThat(answer).isEqualTo("hello");
        assertThat(sent).containsExactly("POST /v1/chat/completions [Bearer key] [application/json]");
        assertThat(server.requests()).isOne();
        assertThat(server.lastRequestBody().replace(" ", "")).contains("\"model\":\"llama\"").contains("\"content\":\"hi\"");
        assertThat(a.totalRequests()).isOne();
        assertThat(a.successes()).isOne();
        assertThat(a.failures()).isZero();
        assertThat(a.activeConnections()).isZero();
        PromptCacheStats cache = lb.getBackendStats("a").promptCache();
        assertThat(cache.reportedPromptTokens()).as("the server's usage, counted on its backend").isEqualTo(12);
        assertThat(cache.reportedCachedTokens()).isEqualTo(8);
    }

    @Test
    void a503IsRetriedOnAnotherBackendAndCountedAsAFailureThere() {
        ScriptedEndpoint failing = model().status(503).body("{\"error\":\"busy\"}");
        ScriptedEndpoint healthy = model();
        balancer(BalancingStrategy.ROUND_ROBIN);
        Backend bad = lb.addBackend("bad", LOOPBACK, serve(failing));
        Backend good = lb.addBackend("good", LOOPBACK, serve(healthy));
        ChatModel model = chatModel();

        for (int i = 0; i < 4; i++) {
            assertThat(model.chat("question " + i)).isEqualTo("hello");
        }

        assertThat(healthy.requests()).isEqualTo(4);
        assertThat(good.successes()).isEqualTo(4);
        assertThat(bad.failures()).isEqualTo(failing.requests()).isPositive();
        assertThat(bad.successes()).isZero();
        assertThat(metrics().retries()).isEqualTo(bad.failures());
        assertThat(metrics().activeConnections()).isZero();
    }

    @Test
    void whenEveryBackendAnswers503TheModelGetsLangChain4jsHttpExceptionWithTheLastBody() {
        ScriptedEndpoint first = model().status(503).body("{\"error\":\"busy\"}");
        ScriptedEndpoint second = model().status(503).body("{\"error\":\"busy\"}");
        balancer(BalancingStrategy.ROUND_ROBIN);
        lb.addBackend("a", LOOPBACK, serve(first));
        lb.addBackend("b", LOOPBACK, serve(second));

        assertThatThrownBy(() -> chatModel().chat("hi"))
                .hasRootCauseInstanceOf(HttpException.class)
                .rootCause().hasMessageContaining("busy")
                .satisfies(e -> assertThat(((HttpException) e).statusCode()).isEqualTo(503));
        assertThat(first.requests()).isOne();
        assertThat(second.requests()).isOne();
        assertThat(metrics().failures()).isEqualTo(2);
        assertThat(metrics().activeConnections()).isZero();
    }

    @Test
    void aClientErrorIsNotRetriedAndReachesTheCallerAsHttpException() {
        ScriptedEndpoint refusing = model().status(400).body("{\"error\":\"bad request\"}");
        ScriptedEndpoint other = model();
        balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, serve(refusing));
        lb.addBackend("b", LOOPBACK, serve(other));
        HttpClient client = BalancedHttpClientBuilder.of(lb).build();
        HttpRequest request = HttpRequest.builder().method(HttpMethod.POST).url(BASE_URL + "/chat/completions")
                .addHeader("Content-Type", "application/json")
                .body("{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").build();

        // round robin: the first request goes to a, the second to b
        assertThatThrownBy(() -> client.execute(request)).isInstanceOf(HttpException.class)
                .hasMessage("{\"error\":\"bad request\"}")
                .satisfies(e -> assertThat(((HttpException) e).statusCode()).isEqualTo(400));
        assertThat(client.execute(request).body()).isEqualTo(ANSWER);

        assertThat(refusing.requests()).isOne();
        assertThat(other.requests()).isOne();
        assertThat(a.successes()).as("the caller's mistake, not the backend's").isOne();
        assertThat(metrics().failures()).isZero();
        assertThat(metrics().retries()).isZero();
        assertThat(metrics().activeConnections()).isZero();
    }

    @Test
    void anyOtherRequestKeepsItsMethodPathQueryAndHeaders() {
        ScriptedEndpoint models = ScriptedEndpoint.answering(200, "application/json", "{\"data\":[]}");
        List<String> sent = new CopyOnWriteArrayList<>();
        LoopbackServer server = LoopbackServer.start("openai", Map.of("/v1/models", exchange -> {
            sent.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " "
                    + exchange.getRequestHeaders().get("X-Team"));
            models.handle(exchange);
        }));
        servers.add(server);
        balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, server.port());
        HttpClient client = BalancedHttpClientBuilder.of(lb).build();

        SuccessfulHttpResponse response = client.execute(HttpRequest.builder().method(HttpMethod.GET)
                .url(BASE_URL + "/models?owned_by=me").addHeader("X-Team", "search").addQueryParam("limit", "2").build());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("{\"data\":[]}");
        assertThat(response.headers().get("Content-Type")).containsExactly("application/json");
        assertThat(sent).containsExactly("GET /v1/models?owned_by=me&limit=2 [search]");
        assertThat(a.successes()).isOne();
        assertThat(a.activeConnections()).isZero();
    }

    @Test
    void theStreamingModelsAnswerArrivesInPiecesAndItsLeaseEndsWithTheStream() throws Exception {
        ScriptedEndpoint server = model();
        balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, serve(server));
        Heard heard = new Heard();

        streamingModel().chat("hi", heard);

        ChatResponse response = heard.complete.get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(response.aiMessage().text()).isEqualTo("hello");
        assertThat(heard.partials).containsExactly("hel", "lo");
        assertThat(heard.error).isNotDone();
        assertThat(server.lastRequestBody().replace(" ", "")).contains("\"stream\":true");
        assertThat(a.successes()).isOne();
        assertThat(a.failures()).isZero();
        assertThat(a.firstByteCount()).isOne();
        assertThat(a.activeConnections()).isZero();
        PromptCacheStats cache = lb.getBackendStats("a").promptCache();
        assertThat(cache.reportedPromptTokens()).as("from the stream's last chunk").isEqualTo(20);
        assertThat(cache.reportedCachedTokens()).isEqualTo(16);
    }

    @Test
    void aStreamAnswered503IsRetriedOnAnotherBackend() throws Exception {
        ScriptedEndpoint failing = model().status(503).body("{\"error\":\"busy\"}");
        ScriptedEndpoint healthy = model();
        balancer(BalancingStrategy.ROUND_ROBIN);
        Backend bad = lb.addBackend("bad", LOOPBACK, serve(failing));
        Backend good = lb.addBackend("good", LOOPBACK, serve(healthy));
        StreamingChatModel model = streamingModel();

        for (int i = 0; i < 4; i++) {
            Heard heard = new Heard();
            model.chat("question " + i, heard);
            assertThat(heard.complete.get(WAIT_SECONDS, TimeUnit.SECONDS).aiMessage().text()).isEqualTo("hello");
        }

        assertThat(healthy.requests()).isEqualTo(4);
        assertThat(good.successes()).isEqualTo(4);
        assertThat(bad.failures()).isEqualTo(failing.requests()).isPositive();
        assertThat(metrics().retries()).isEqualTo(bad.failures());
        assertThat(metrics().activeConnections()).isZero();
    }

    @Test
    void aStreamCancelledByItsHandlerReleasesItsLeaseOnceWithoutAnOutcome() throws Exception {
        ScriptedEndpoint server = model().hold(); // the first event, then nothing until released
        held.add(server);
        balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, serve(server));
        CompletableFuture<Boolean> cancelled = new CompletableFuture<>();
        Heard heard = new Heard() {
            @Override
            public void onPartialResponse(PartialResponse partial, PartialResponseContext context) {
                partials.add(partial.text());
                context.streamingHandle().cancel();
                cancelled.complete(context.streamingHandle().isCancelled());
            }
        };

        streamingModel().chat("hi", heard);

        assertThat(cancelled.get(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(heard.partials).containsExactly("hel");
        assertThat(a.activeConnections()).isZero();
        assertThat(a.successes()).isZero();
        assertThat(a.failures()).isZero();
        assertThat(metrics().cancelledAttempts()).isOne();
        assertThat(a.firstByteCount()).isOne();
        assertThat(heard.complete).as("a cancelled stream is not a complete answer").isNotDone();
    }

    @Test
    void aStreamCutByItsServerFailsTheHandlerAndCountsOneFailure() throws Exception {
        CutStream cut = new CutStream();
        balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, serve(cut));
        Heard heard = new Heard();

        streamingModel().chat("hi", heard);

        Throwable failure = heard.error.get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(failure).as("LangChain4j's model wraps the failed read").hasRootCauseInstanceOf(IOException.class);
        assertThat(heard.partials).containsExactly("hel");
        assertThat(heard.complete).isNotDone();
        assertThat(a.activeConnections()).isZero();
        assertThat(a.failures()).isOne();
        assertThat(a.successes()).isZero();
        assertThat(metrics().retries()).as("the answer had begun: it is not sent again").isZero();
    }

    @Test
    void aStoppedBackendsTrafficMovesToTheOthers() throws Exception {
        ScriptedEndpoint first = model();
        ScriptedEndpoint second = model();
        ScriptedEndpoint third = model();
        balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, serve(first));
        Backend b = lb.addBackend("b", LOOPBACK, serve(second));
        Backend c = lb.addBackend("c", LOOPBACK, serve(third));
        ChatModel model = chatModel();
        StreamingChatModel streaming = streamingModel();
        for (int i = 0; i < 3; i++) {
            assertThat(model.chat("before " + i)).isEqualTo("hello");
        }
        assertThat(List.of(first.requests(), second.requests(), third.requests())).containsExactly(1, 1, 1);

        servers.get(0).stop();
        for (int i = 0; i < 6; i++) {
            assertThat(model.chat("after " + i)).isEqualTo("hello");
            Heard heard = new Heard();
            streaming.chat("streamed " + i, heard);
            assertThat(heard.complete.get(WAIT_SECONDS, TimeUnit.SECONDS).aiMessage().text()).isEqualTo("hello");
        }

        assertThat(first.requests()).as("nothing reached the stopped server").isOne();
        assertThat(a.successes()).isOne();
        assertThat(a.failures()).as("each attempt on it refused, then retried").isPositive()
                .isEqualTo(metrics().retries());
        assertThat(b.successes() + c.successes()).isEqualTo(2 + 12);
        assertThat(second.requests() + third.requests()).isEqualTo(2 + 12);
        assertThat(b.failures() + c.failures()).isZero();
        assertThat(metrics().activeConnections()).isZero();
        assertThat(metrics().totalRequests()).isEqualTo(3 + 12 + a.failures());
    }

    /** Answers a stream's first event, then drops the connection before the stream's end. */
    private static final class CutStream implements HttpHandler {
        @Override
        public void handle(HttpExchange exchange) throws IOException {
            exchange.getRequestBody().readAllBytes();
            exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0); // chunked
            OutputStream out = exchange.getResponseBody();
            out.write(FIRST_EVENT.getBytes(StandardCharsets.UTF_8));
            out.flush();
            throw new IOException("cut"); // the server drops the connection without the last chunk
        }
    }

    @Test
    void underPrefixAffinityAConversationsTurnsStayWhereTheirPrefixIs() {
        List<ScriptedEndpoint> instances = List.of(model(), model(), model());
        balancer(BalancingStrategy.PREFIX_AFFINITY);
        for (int i = 0; i < instances.size(); i++) {
            lb.addBackend("i" + i, LOOPBACK, serve(instances.get(i)));
        }
        ChatModel model = chatModel();
        List<ChatMessage> conversation = new ArrayList<>();
        conversation.add(SystemMessage.from("You answer questions about the fleet. ".repeat(40)));

        for (int turn = 1; turn <= 4; turn++) {
            conversation.add(UserMessage.from("question " + turn + " " + "with some detail ".repeat(20)));
            ChatResponse answer = model.chat(conversation);
            assertThat(answer.aiMessage().text()).isEqualTo("hello");
            conversation.add(answer.aiMessage());
        }

        assertThat(instances.stream().map(ScriptedEndpoint::requests)).containsExactlyInAnyOrder(4, 0, 0);
        assertThat(metrics().successes()).isEqualTo(4);
        assertThat(metrics().activeConnections()).isZero();
    }

    @Test
    void routedByModelARequestGoesOnlyToTheBackendsServingTheModelOfItsBody() {
        ScriptedEndpoint llama = model();
        ScriptedEndpoint qwen = model();
        balancer(BalancingStrategy.ROUND_ROBIN);
        lb.addBackend("llama", LOOPBACK, serve(llama), 1, BackendProfile.builder().model("llama").build());
        Backend q = lb.addBackend("qwen", LOOPBACK, serve(qwen), 1, BackendProfile.builder().model("qwen").build());
        ChatModel model = OpenAiChatModel.builder().baseUrl(BASE_URL).apiKey("key").modelName("qwen").maxRetries(0)
                .httpClientBuilder(BalancedHttpClientBuilder.of(lb).routeByModel(true)).build();

        for (int i = 0; i < 4; i++) {
            assertThat(model.chat("question " + i)).isEqualTo("hello");
        }

        assertThat(qwen.requests()).isEqualTo(4);
        assertThat(llama.requests()).isZero();
        assertThat(q.successes()).isEqualTo(4);
        assertThat(metrics().activeConnections()).isZero();
    }

    @Test
    void aCappedAnswerCountsItsPromptAndItsCapAsTheRequestsTokensWhileInFlight() throws Exception {
        ScriptedEndpoint server = model().hold();
        held.add(server);
        lb = LoadBalancer.builder().name("chat").strategy(BalancingStrategy.LEAST_CONNECTIONS).countTokens(1000)
                .outlierDetection(OutlierDetection.disabled()).build();
        Backend a = lb.addBackend("a", LOOPBACK, serve(server));
        CompletableFuture<Long> inFlight = new CompletableFuture<>();
        Heard heard = new Heard() {
            @Override
            public void onPartialResponse(String partial) {
                super.onPartialResponse(partial);
                inFlight.complete(a.inFlightTokens());
            }
        };
        StreamingChatModel capped = OpenAiStreamingChatModel.builder().baseUrl(BASE_URL).apiKey("key")
                .modelName("llama").maxTokens(100).httpClientBuilder(BalancedHttpClientBuilder.of(lb)).build();

        capped.chat("How many tokens does this question take?", heard);

        long tokens = inFlight.get(WAIT_SECONDS, TimeUnit.SECONDS);
        String prompt = OpenAiPrompt.ofChatCompletions(server.lastRequestBody());
        assertThat(tokens).isEqualTo((prompt.length() + 3) / 4 + 100);
        server.release();
        assertThat(heard.complete.get(WAIT_SECONDS, TimeUnit.SECONDS).aiMessage().text()).isEqualTo("hello");
        assertThat(a.inFlightTokens()).isZero();
        assertThat(a.activeConnections()).isZero();
        assertThat(a.successes()).isOne();
    }

    @Test
    void streamsAreReadOnTheExecutorGivenAndOneItRefusesIsCancelledAndReported() throws Exception {
        ScriptedEndpoint server = model();
        balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, serve(server));
        List<Runnable> ran = new CopyOnWriteArrayList<>();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        pools.add(pool);
        Executor counting = task -> {
            ran.add(task);
            pool.execute(task);
        };
        Executor refusing = task -> {
            throw new RejectedExecutionException("full");
        };
        Heard read = new Heard();
        Heard refused = new Heard();

        OpenAiStreamingChatModel.builder().baseUrl(BASE_URL).apiKey("key").modelName("llama")
                .httpClientBuilder(BalancedHttpClientBuilder.of(lb).executor(counting)).build().chat("hi", read);
        assertThat(read.complete.get(WAIT_SECONDS, TimeUnit.SECONDS).aiMessage().text()).isEqualTo("hello");
        OpenAiStreamingChatModel.builder().baseUrl(BASE_URL).apiKey("key").modelName("llama")
                .httpClientBuilder(BalancedHttpClientBuilder.of(lb).executor(refusing)).build().chat("hi", refused);
        Throwable failure = refused.error.get(WAIT_SECONDS, TimeUnit.SECONDS);

        assertThat(ran).hasSize(1);
        assertThat(failure).isInstanceOf(RejectedExecutionException.class).hasMessage("full");
        assertThat(refused.complete).isNotDone();
        assertThat(server.requests()).isEqualTo(2);
        assertThat(a.successes()).isOne();
        assertThat(a.failures()).isZero();
        assertThat(metrics().cancelledAttempts()).as("the refused stream, released unread").isOne();
        assertThat(a.activeConnections()).isZero();
    }

    @Test
    void badSettingsAndRequestsAreRefusedNamingThemBeforeAnythingIsSent() {
        ScriptedEndpoint server = model();
        balancer(BalancingStrategy.ROUND_ROBIN);
        Backend a = lb.addBackend("a", LOOPBACK, serve(server));
        BalancedHttpClientBuilder builder = BalancedHttpClientBuilder.of(lb);
        HttpClient client = builder.build();

        assertThatThrownBy(() -> BalancedHttpClientBuilder.of(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("balancer: null (expected: non-null)");
        assertThatThrownBy(() -> builder.readTimeout(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("readTimeout: PT0S (expected: > 0)");
        assertThatThrownBy(() -> builder.connectTimeout(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("connectTimeout: PT-1S (expected: > 0)");
        assertThatThrownBy(() -> builder.callOptions(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("callOptions: null (expected: non-null)");
        assertThatThrownBy(() -> builder.executor(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("executor: null (expected: non-null)");
        assertThatThrownBy(() -> client.execute(HttpRequest.builder().method(HttpMethod.GET)
                .url("ftp://pool.invalid/v1/models").build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("request.url: \"ftp://pool.invalid/v1/models\" (expected: an absolute http or https URL)");
        assertThatThrownBy(() -> client.execute(HttpRequest.builder().method(HttpMethod.POST)
                .url(BASE_URL + "/audio/transcriptions").addFormDataField("model", "whisper").build()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("request: a multipart form to \"http://pool.invalid/v1/audio/transcriptions\"");
        assertThatThrownBy(() -> client.execute(HttpRequest.builder().method(HttpMethod.GET)
                .url(BASE_URL + "/models").addHeader("Host", "elsewhere").build()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Host");

        assertThat(builder.readTimeout(null).readTimeout()).as("unset, as LangChain4j's builders may pass").isNull();
        assertThat(server.requests()).isZero();
        assertThat(a.totalRequests()).isZero();
    }
}
