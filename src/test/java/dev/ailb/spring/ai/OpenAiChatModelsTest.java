package dev.ailb.spring.ai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.credential.BearerTokenCredential;
import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerMetrics;
import dev.ailb.RetryPolicy;
import dev.ailb.health.OutlierDetection;
import dev.ailb.openai.OpenAiClients;
import dev.ailb.testing.FakeOpenAiServer;
import dev.ailb.testing.LoopbackServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;

/**
 * Spring AI's real {@link OpenAiChatModel}, whole and streamed, through a pool of fake OpenAI
 * servers on loopback: each call's attempts, where they went and how each lease ended, counted
 * exactly.
 *
 * <p>The SDK reads a stream on its stream-handler executor, which here is one thread of the
 * test's: the stream's lease ends on that thread (at the end of the stream, its failure or its
 * closing), and a task queued behind the stream's runs once all of that is done, so the test
 * waits for that task rather than for a time.
 */
class OpenAiChatModelsTest {
    private static final String LOOPBACK = LoopbackServer.HOST;
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final OpenAiChatOptions OPTIONS = OpenAiChatOptions.builder().model("llama").build();

    private final List<FakeOpenAiServer> servers = new ArrayList<>();
    private final List<LoadBalancer> balancers = new ArrayList<>();
    private final ExecutorService streamThread = Executors.newSingleThreadExecutor(task -> {
        Thread thread = new Thread(task, "test-openai-stream");
        thread.setDaemon(true);
        return thread;
    });

    @AfterEach
    void cleanUp() throws InterruptedException {
        balancers.forEach(LoadBalancer::close);
        servers.forEach(FakeOpenAiServer::close);
        streamThread.shutdownNow();
        assertThat(streamThread.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }

    private FakeOpenAiServer server(String name) {
        FakeOpenAiServer server = FakeOpenAiServer.start(name);
        servers.add(server);
        return server;
    }

    private LoadBalancer balancer() {
        LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.ROUND_ROBIN).retryPolicy(RetryPolicy.defaults())
                .outlierDetection(OutlierDetection.disabled()).build();
        balancers.add(lb);
        return lb;
    }

    /** A chat model on the pool whose SDK reads streams on the test's stream thread. */
    private OpenAiChatModel chatModel(LoadBalancer lb) {
        return OpenAiChatModels.builder(OpenAiClients.builder(lb).options(sdk -> sdk.streamHandlerExecutor(streamThread)),
                OPTIONS).build();
    }

    /** Returns once every stream the SDK was reading has been handled to its end and closed. */
    private void streamsHandled() throws Exception {
        streamThread.submit(() -> { }).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private static String streamedText(OpenAiChatModel chat, String question) {
        List<ChatResponse> responses = chat.stream(new Prompt(question)).collectList().block(WAIT);
        return responses.stream()
                .map(r -> r.getResult() == null || r.getResult().getOutput().getText() == null ? ""
                        : r.getResult().getOutput().getText())
                .collect(Collectors.joining());
    }

    @Test
    void aWholeCallGoesThroughThePoolAndEndsItsLease() {
        FakeOpenAiServer server = server("a");
        LoadBalancer lb = balancer();
        Backend a = lb.addBackend("a", LOOPBACK, server.port());
        OpenAiChatModel chat = OpenAiChatModels.create(lb, OPTIONS);

        String answer = chat.call("Say hello");

        assertThat(answer).isEqualTo("Hello");
        assertThat(server.lastPath()).isEqualTo(FakeOpenAiServer.CHAT);
        assertThat(server.endpoint().lastRequestBody()).contains("\"model\":\"llama\"").contains("Say hello");
        assertThat(server.lastHeaders().containsKey("Authorization")).isFalse();
        assertThat(a.successes()).isOne();
        assertThat(a.failures()).isZero();
        assertThat(a.activeConnections()).isZero();
    }

    @Test
    void theOptionsSetTheKeyTheHeadersAndTheBasePath() {
        FakeOpenAiServer server = server("a");
        LoadBalancer lb = balancer();
        lb.addBackend("a", LOOPBACK, server.port());
        OpenAiChatModel chat = OpenAiChatModels.create(lb, OpenAiChatOptions.builder()
                .model("llama")
                .apiKey("sk-fleet")
                .baseUrl("http://10.0.0.1:8000/v1")
                .customHeaders(Map.of("X-Tenant", "blue"))
                .build());

        chat.call("Say hello");

        assertThat(server.lastHeaders().get("Authorization")).containsExactly("Bearer sk-fleet");
        assertThat(server.lastHeaders().getFirst("X-Tenant")).isEqualTo("blue");
        assertThat(server.lastPath()).as("the base URL's path, on the backend's host").isEqualTo(FakeOpenAiServer.CHAT);
    }

    @Test
    void aStreamGoesThroughThePoolAndEndsItsLeaseOnceAtItsEnd() throws Exception {
        FakeOpenAiServer server = server("a");
        LoadBalancer lb = balancer();
        Backend a = lb.addBackend("a", LOOPBACK, server.port());
        OpenAiChatModel chat = chatModel(lb);

        String text = streamedText(chat, "Say hello");
        streamsHandled();

        assertThat(text).isEqualTo("Hello");
        assertThat(server.endpoint().lastRequestBody()).contains("\"stream\":true");
        assertThat(a.successes()).isOne();
        assertThat(a.failures()).isZero();
        assertThat(a.activeConnections()).isZero();
        assertThat(a.firstByteCount()).isOne();
    }

    @Test
    void aServerErrorIsRetriedOnAnotherBackendForWholeAndStreamedCalls() throws Exception {
        FakeOpenAiServer failing = server("failing");
        failing.endpoint().status(503);
        FakeOpenAiServer healthy = server("healthy");
        LoadBalancer lb = balancer();
        Backend bad = lb.addBackend("bad", LOOPBACK, failing.port());
        Backend good = lb.addBackend("good", LOOPBACK, healthy.port());
        OpenAiChatModel chat = chatModel(lb);

        for (int i = 0; i < 2; i++) {
            assertThat(chat.call("Say hello")).isEqualTo("Hello");
            assertThat(streamedText(chat, "Say hello")).isEqualTo("Hello");
        }
        streamsHandled();

        assertThat(healthy.endpoint().requests()).isEqualTo(4);
        assertThat(good.successes()).isEqualTo(4);
        assertThat(good.failures()).isZero();
        assertThat(bad.failures()).isEqualTo(failing.endpoint().requests()).isPositive();
        assertThat(bad.successes()).isZero();
        LoadBalancerMetrics metrics = lb.getAllStats().metrics();
        assertThat(metrics.retries()).isEqualTo(bad.failures());
        assertThat(bad.activeConnections() + good.activeConnections()).isZero();
    }

    @Test
    void aStreamCancelledByItsSubscriberEndsItsLeaseExactlyOnce() throws Exception {
        FakeOpenAiServer server = server("a");
        server.endpoint().hold(); // the first chunk goes out, the rest waits
        LoadBalancer lb = balancer();
        Backend a = lb.addBackend("a", LOOPBACK, server.port());
        OpenAiChatModel chat = chatModel(lb);

        ChatResponse first = chat.stream(new Prompt("Say hello")).take(1).blockFirst(WAIT);
        streamsHandled();

        assertThat(first.getResult().getOutput().getText()).isEqualTo("Hel");
        assertThat(a.activeConnections()).isZero();
        assertThat(a.successes() + a.failures()).as("released once").isOne();
        assertThat(a.successes()).as("closed by its subscriber: the backend was answering").isOne();
        assertThat(lb.getAllStats().metrics().cancelledAttempts()).isZero();
    }

    @Test
    void aStreamCutByTheServerEndsItsLeaseOnceAsAFailure() throws Exception {
        FakeOpenAiServer server = server("a");
        CountDownLatch cut = new CountDownLatch(1);
        server.cutStreams(cut);
        LoadBalancer lb = balancer();
        Backend a = lb.addBackend("a", LOOPBACK, server.port());
        OpenAiChatModel chat = chatModel(lb);
        List<String> seen = new ArrayList<>();

        assertThatThrownBy(() -> chat.stream(new Prompt("Say hello"))
                .doOnNext(r -> {
                    seen.add(r.getResult().getOutput().getText());
                    cut.countDown(); // the server drops the connection once the first chunk is read
                })
                .blockLast(WAIT))
                .isInstanceOf(RuntimeException.class);
        streamsHandled();

        assertThat(seen).containsExactly("Hel");
        assertThat(server.cutRequests()).isOne();
        assertThat(a.activeConnections()).isZero();
        assertThat(a.failures()).as("released once, as the failure it was").isOne();
        assertThat(a.successes()).isZero();
    }

    @Test
    void aStoppedBackendsTrafficMovesToTheOthers() throws Exception {
        FakeOpenAiServer serverA = server("a");
        FakeOpenAiServer serverB = server("b");
        FakeOpenAiServer serverC = server("c");
        LoadBalancer lb = balancer();
        Backend a = lb.addBackend("a", LOOPBACK, serverA.port());
        Backend b = lb.addBackend("b", LOOPBACK, serverB.port());
        Backend c = lb.addBackend("c", LOOPBACK, serverC.port());
        OpenAiChatModel chat = chatModel(lb);
        for (int i = 0; i < 3; i++) {
            assertThat(chat.call("Say hello")).isEqualTo("Hello");
        }
        assertThat(List.of(a.successes(), b.successes(), c.successes())).containsExactly(1L, 1L, 1L);

        serverB.server().stop();
        for (int i = 0; i < 3; i++) {
            assertThat(chat.call("Say hello")).isEqualTo("Hello");
            assertThat(streamedText(chat, "Say hello")).isEqualTo("Hello");
        }
        streamsHandled();

        assertThat(serverB.endpoint().requests()).as("nothing reached the stopped backend").isOne();
        assertThat(b.successes()).isOne();
        assertThat(b.failures()).as("each attempt sent its way was refused").isPositive();
        assertThat(lb.getAllStats().metrics().retries()).isEqualTo(b.failures());
        assertThat(a.successes() + c.successes()).isEqualTo(2 + 6);
        assertThat(serverA.endpoint().requests() + serverC.endpoint().requests()).isEqualTo(8);
        assertThat(a.failures() + c.failures()).isZero();
        assertThat(a.activeConnections() + b.activeConnections() + c.activeConnections()).isZero();
    }

    @Test
    void optionsWithBothAKeyAndACredentialAreRefusedAndLeaveTheClientsBuilderAsItWas() {
        LoadBalancer lb = balancer();
        OpenAiClients.Builder clients = OpenAiClients.builder(lb);
        OpenAiChatOptions both = OpenAiChatOptions.builder().model("llama").apiKey("sk-1")
                .credential(BearerTokenCredential.create("t")).build();

        assertThatThrownBy(() -> OpenAiChatModels.builder(clients, both))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("options: both an API key and a credential (expected: one of the two)");

        // no key was set on the builder: a credential is still taken
        clients.credential(BearerTokenCredential.create("t"));
    }
}
