package dev.ailb.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.BackendStats;
import dev.ailb.BalancingStrategy;
import dev.ailb.CallOptions;
import dev.ailb.DeadlineExceededException;
import dev.ailb.HedgeDelay;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerMetrics;
import dev.ailb.Request;
import dev.ailb.RetryPolicy;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.ScriptedEndpoint;
import dev.ailb.testing.TricklingServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * sendAsync and sendJsonAsync against loopback servers, their deadlines and hedges on virtual time:
 * the timers fire when the test advances the scheduler, the exchanges are real. The waits below
 * (an arrival, an answer, a connection seen closed) only bound how long a broken build hangs.
 */
class BalancedHttpClientAsyncTest {
    private static final String CHAT = "/v1/chat/completions";
    private static final String JSON = "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final String STREAMED_JSON =
            "{\"model\":\"llama\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private final List<AutoCloseable> closing = new ArrayList<>();
    private LoadBalancer lb;

    @AfterEach
    void cleanUp() throws Exception {
        if (lb != null) {
            lb.close();
        }
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    private static ScriptedEndpoint model(String says) {
        return ScriptedEndpoint.answering(200, "application/json", "{\"answer\":\"" + says + "\"}")
                .streamWhenAsked("data: {\"delta\":\"" + says + "\"}\n\n", "data: [DONE]\n\n");
    }

    private int serve(ScriptedEndpoint endpoint) {
        LoopbackServer server = LoopbackServer.start("model", Map.of(CHAT, endpoint));
        closing.add(server);
        return server.port();
    }

    private BalancedHttpClient client(int... ports) {
        return BalancedHttpClient.of(balancer(ports));
    }

    private LoadBalancer balancer(int... ports) {
        lb = LoadBalancer.builder().strategy(BalancingStrategy.ROUND_ROBIN).ticker(ticker)
                .retryPolicy(RetryPolicy.builder().minHedgesPerSecond(100).build())
                .outlierDetection(OutlierDetection.disabled()).callScheduler(scheduler).build();
        for (int i = 0; i < ports.length; i++) {
            lb.addBackend("b" + (i + 1), LoopbackServer.HOST, ports[i]);
        }
        return lb;
    }

    private static Function<URI, HttpRequest> chat() {
        return base -> HttpRequest.newBuilder(base.resolve(CHAT)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON)).build();
    }

    private static Request request() {
        return new Request("r", "10.1.1.1", CHAT);
    }

    private static <T> T await(CompletableFuture<T> future) throws Exception {
        return future.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    }

    private static void awaitArrival(ScriptedEndpoint endpoint) throws InterruptedException {
        assertThat(endpoint.arrivals().poll(PATIENCE.toSeconds(), TimeUnit.SECONDS)).as("a request arrived")
                .isNotNull();
    }

    private LoadBalancerMetrics metrics() {
        return lb.getAllStats().metrics();
    }

    @Test
    void sendAsyncAnswersAsSendDoes() throws Exception {
        // given
        ScriptedEndpoint one = model("one");
        BalancedHttpClient http = client(serve(one));

        // when
        HttpResponse<String> answer = await(http.sendAsync(request(), chat(), HttpResponse.BodyHandlers.ofString()));

        // then
        assertThat(answer.statusCode()).isEqualTo(200);
        assertThat(answer.body()).isEqualTo("{\"answer\":\"one\"}");
        BackendStats b1 = lb.getBackendStats("b1");
        assertThat(b1.successes()).isEqualTo(1);
        assertThat(b1.activeConnections()).isZero();
        assertThat(lb.getBackends().get(0).firstByteCount()).as("the first byte is the first token").isEqualTo(1);
    }

    @Test
    void aServerErrorIsRetriedElsewhereAndTheLastOneIsTheAnswerWhenNoAttemptIsLeft() throws Exception {
        // given
        ScriptedEndpoint failing = model("x").status(503);
        ScriptedEndpoint alsoFailing = model("y").status(500);
        BalancedHttpClient http = client(serve(failing), serve(alsoFailing));

        // when
        HttpResponse<String> answer = await(http.sendAsync(request(), chat(), HttpResponse.BodyHandlers.ofString()));

        // then
        assertThat(answer.statusCode()).isEqualTo(500);
        assertThat(failing.requests()).isEqualTo(1);
        assertThat(alsoFailing.requests()).isEqualTo(1);
        assertThat(metrics().failures()).isEqualTo(2);
        assertThat(metrics().retries()).isEqualTo(1);
        assertThat(metrics().activeConnections()).isZero();
    }

    @Test
    void aHedgeToAQuickBackendWinsAndTheSlowExchangeIsCancelledAndItsLeaseReleasedOnce() throws Exception {
        // given: b1 holds its answer, b2 answers at once
        ScriptedEndpoint slow = model("slow").hold();
        ScriptedEndpoint quick = model("quick");
        BalancedHttpClient http = client(serve(slow), serve(quick));
        CompletableFuture<HttpResponse<String>> answer = http.sendAsync(request(), chat(),
                HttpResponse.BodyHandlers.ofString(),
                CallOptions.builder().hedging(HedgeDelay.fixed(Duration.ofMillis(100))).build());
        awaitArrival(slow);

        // when
        scheduler.advance(Duration.ofMillis(100));

        // then
        assertThat(await(answer).body()).isEqualTo("{\"answer\":\"quick\"}");
        BackendStats b1 = lb.getBackendStats("b1");
        assertThat(b1.activeConnections()).isZero();
        assertThat(b1.successes()).isZero();
        assertThat(b1.failures()).isZero();
        assertThat(lb.getBackendStats("b2").successes()).isEqualTo(1);
        LoadBalancerMetrics m = metrics();
        assertThat(m.hedges()).isEqualTo(1);
        assertThat(m.cancelledAttempts()).isEqualTo(1);
        assertThat(m.totalRequests()).isEqualTo(2);

        // when: the slow answer comes after all
        slow.release();

        // then: nothing is counted twice
        assertThat(metrics()).isEqualTo(m);
    }

    @Test
    void aMissedFirstTokenMovesTheRequestToAnotherBackend() throws Exception {
        // given: b1 sends nothing
        ScriptedEndpoint silent = model("silent").hold();
        ScriptedEndpoint quick = model("quick");
        BalancedHttpClient http = BalancedHttpClient.builder(balancer(serve(silent), serve(quick)))
                .callOptions(CallOptions.builder().firstTokenDeadline(Duration.ofMillis(500)).build()).build();
        CompletableFuture<HttpResponse<String>> answer = http.sendAsync(request(), chat(),
                HttpResponse.BodyHandlers.ofString());
        awaitArrival(silent);

        // when
        scheduler.advance(Duration.ofMillis(500));

        // then
        assertThat(await(answer).body()).isEqualTo("{\"answer\":\"quick\"}");
        assertThat(lb.getBackendStats("b1").failures()).isEqualTo(1);
        assertThat(lb.getBackendStats("b1").activeConnections()).isZero();
        assertThat(metrics().firstTokenTimeouts()).isEqualTo(1);
        assertThat(metrics().retries()).isEqualTo(1);
        assertThat(metrics().cancelledAttempts()).isZero();
    }

    @Test
    void aStreamsFirstEventKeepsItsAttemptPastTheFirstTokenDeadline() throws Exception {
        // given: b1 streams its first event at once, and the rest when released
        ScriptedEndpoint streaming = model("streamed").hold();
        BalancedHttpClient http = client(serve(streaming), serve(model("other")));
        CompletableFuture<HttpResponse<String>> answer = http.sendJsonAsync(request(), CHAT, STREAMED_JSON,
                HttpResponse.BodyHandlers.ofString(),
                CallOptions.builder().firstTokenDeadline(Duration.ofMillis(500)).build());
        awaitArrival(streaming);
        assertThat(TricklingServer.eventually(() -> lb.getBackends().get(0).firstByteCount() == 1, PATIENCE))
                .as("the first event is the first token").isTrue();

        // when
        scheduler.advance(Duration.ofSeconds(5));
        streaming.release();

        // then
        assertThat(await(answer).body()).startsWith("data: {\"delta\":\"streamed\"}");
        assertThat(metrics().firstTokenTimeouts()).isZero();
        assertThat(metrics().totalRequests()).isEqualTo(1);
        assertThat(metrics().successes()).isEqualTo(1);
    }

    @Test
    void cancellingTheFutureCancelsTheExchangeAndReleasesTheLease() {
        // given: an answer that never ends
        TricklingServer endless = TricklingServer.start(Duration.ofMillis(20));
        closing.add(endless);
        BalancedHttpClient http = client(endless.port());
        CompletableFuture<HttpResponse<String>> answer = http.sendAsync(request(), chat(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(TricklingServer.eventually(() -> endless.open() == 1, PATIENCE)).isTrue();

        // when
        assertThat(answer.cancel(true)).isTrue();

        // then
        assertThatThrownBy(answer::get).isInstanceOf(CancellationException.class);
        assertThat(metrics().cancelledAttempts()).isEqualTo(1);
        assertThat(metrics().activeConnections()).isZero();
        assertThat(TricklingServer.eventually(() -> endless.open() == 0, PATIENCE))
                .as("the client closed the connection").isTrue();
    }

    @Test
    void theDeadlineEndsTheCallAndClosesItsConnection() {
        // given
        TricklingServer endless = TricklingServer.start(Duration.ofMillis(20));
        closing.add(endless);
        BalancedHttpClient http = client(endless.port());
        CompletableFuture<HttpResponse<String>> answer = http.sendAsync(request(), chat(),
                HttpResponse.BodyHandlers.ofString(), CallOptions.builder().deadline(Duration.ofSeconds(10)).build());
        assertThat(TricklingServer.eventually(() -> endless.open() == 1, PATIENCE)).isTrue();

        // when
        scheduler.advance(Duration.ofSeconds(10));

        // then
        assertThatThrownBy(answer::get).isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(DeadlineExceededException.class,
                        e -> assertThat(e.kind()).isEqualTo(DeadlineExceededException.Kind.CALL));
        assertThat(metrics().deadlinesExceeded()).isEqualTo(1);
        assertThat(metrics().cancelledAttempts()).isEqualTo(1);
        assertThat(metrics().activeConnections()).isZero();
        assertThat(TricklingServer.eventually(() -> endless.open() == 0, PATIENCE))
                .as("the client closed the connection").isTrue();
    }

    private static Function<URI, HttpRequest> streamedChat() {
        return base -> HttpRequest.newBuilder(base.resolve(CHAT)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(STREAMED_JSON)).build();
    }

    @Test
    void aHedgedStreamIsWonByTheBackendWhoseFirstEventComesFirst() throws Exception {
        // given: b1 holds its whole answer, b2 streams at once
        ScriptedEndpoint silent = ScriptedEndpoint.answering(200, "application/json", "{}").hold();
        ScriptedEndpoint streaming = model("quick");
        BalancedHttpClient http = client(serve(silent), serve(streaming));
        CompletableFuture<StreamedResponse> answer = http.streamAsync(request(), streamedChat(),
                CallOptions.builder().hedging(HedgeDelay.fixed(Duration.ofMillis(100))).build());
        awaitArrival(silent);

        // when
        scheduler.advance(Duration.ofMillis(100));
        StreamedResponse streamed = await(answer);

        // then: b2 won at its first event; its lease lasts until the body is read
        assertThat(streamed.statusCode()).isEqualTo(200);
        assertThat(lb.getBackendStats("b1").activeConnections()).isZero();
        assertThat(metrics().cancelledAttempts()).isEqualTo(1);
        assertThat(lb.getBackendStats("b2").activeConnections()).isEqualTo(1);
        String body;
        try (streamed) {
            body = new String(streamed.body().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        assertThat(body).isEqualTo("data: {\"delta\":\"quick\"}\n\ndata: [DONE]\n\n");
        assertThat(lb.getBackendStats("b2").successes()).isEqualTo(1);
        assertThat(metrics().activeConnections()).isZero();
        assertThat(metrics().hedges()).isEqualTo(1);
        assertThat(metrics().failures()).isZero();
    }

    @Test
    void aStreamWhoseEveryAttemptFailsWithAServerErrorAnswersTheLastOne() throws Exception {
        ScriptedEndpoint failing = model("x").status(503).body("{\"error\":\"busy\"}");
        BalancedHttpClient http = client(serve(failing), serve(model("y").status(500)));

        StreamedResponse streamed = await(http.streamAsync(request(), streamedChat()));

        assertThat(streamed.statusCode()).isEqualTo(500);
        assertThat(metrics().failures()).isEqualTo(2);
        assertThat(metrics().activeConnections()).isZero();
        streamed.close();
    }

    @Test
    void streamJsonAsyncReportsThePromptCacheOnTheWinnersLease() throws Exception {
        ScriptedEndpoint streaming = ScriptedEndpoint.answering(200, "application/json", "{}")
                .streamWhenAsked("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n",
                        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":40,"
                                + "\"prompt_tokens_details\":{\"cached_tokens\":32}}}\n\ndata: [DONE]\n\n");
        BalancedHttpClient http = client(serve(streaming));

        try (StreamedResponse streamed = await(http.streamJsonAsync(request(), CHAT, STREAMED_JSON))) {
            streamed.body().readAllBytes();
        }

        assertThat(lb.getBackendStats("b1").promptCache().reportedPromptTokens()).isEqualTo(40);
        assertThat(lb.getBackendStats("b1").successes()).isEqualTo(1);
        assertThat(metrics().activeConnections()).isZero();
    }

    @Test
    void aStreamThatSendsItsHeadersAndThenNothingMissesItsFirstTokenDeadline() throws Exception {
        // given: b1 answers 200 with a chunked body and never writes to it
        java.util.concurrent.CountDownLatch hang = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.BlockingQueue<String> headersSent = new java.util.concurrent.LinkedBlockingQueue<>();
        LoopbackServer mute = LoopbackServer.start("mute", Map.of(CHAT, exchange -> {
            try (exchange) {
                exchange.getRequestBody().readAllBytes();
                exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
                exchange.sendResponseHeaders(200, 0);
                exchange.getResponseBody().flush();
                headersSent.add("sent");
                hang.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        closing.add(hang::countDown); // first, so that the handler ends before its server closes
        closing.add(mute);
        BalancedHttpClient http = client(mute.port(), serve(model("quick")));
        CompletableFuture<StreamedResponse> answer = http.streamAsync(request(), streamedChat(),
                CallOptions.builder().firstTokenDeadline(Duration.ofSeconds(1)).build());
        assertThat(headersSent.poll(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isNotNull();

        // when
        scheduler.advance(Duration.ofSeconds(1));

        // then: b2 streams instead
        try (StreamedResponse streamed = await(answer)) {
            assertThat(new String(streamed.body().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
                    .startsWith("data: {\"delta\":\"quick\"}");
        }
        assertThat(lb.getBackendStats("b1").failures()).isEqualTo(1);
        assertThat(lb.getBackendStats("b1").activeConnections()).isZero();
        assertThat(metrics().firstTokenTimeouts()).isEqualTo(1);
        assertThat(lb.getBackendStats("b2").successes()).isEqualTo(1);
        assertThat(metrics().activeConnections()).isZero();
    }
}
