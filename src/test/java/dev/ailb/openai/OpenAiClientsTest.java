package dev.ailb.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.InternalServerException;
import com.openai.errors.OpenAIIoException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.ailb.Backend;
import dev.ailb.BackendProfile;
import dev.ailb.BalancingStrategy;
import dev.ailb.CallFailedException;
import dev.ailb.LoadBalancer;
import dev.ailb.NoAvailableBackendException;
import dev.ailb.RetryPolicy;
import dev.ailb.health.OutlierDetection;
import dev.ailb.http.BalancedHttpClient;
import dev.ailb.testing.FakeOpenAiServer;
import dev.ailb.testing.LoopbackServer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The OpenAI Java SDK's own client, {@code chat().completions().create(...)}, through a pool of
 * fake OpenAI servers on loopback: where each request goes, what it carries, and how each attempt
 * is counted on its backend.
 */
class OpenAiClientsTest {
    private static final String LOOPBACK = LoopbackServer.HOST;
    private static final ChatCompletionCreateParams HELLO = ChatCompletionCreateParams.builder()
            .model("llama")
            .addUserMessage("Say hello")
            .maxCompletionTokens(16)
            .build();

    private final List<FakeOpenAiServer> servers = new ArrayList<>();
    private final List<LoadBalancer> balancers = new ArrayList<>();
    private final List<OpenAIClient> clients = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        clients.forEach(OpenAIClient::close);
        balancers.forEach(LoadBalancer::close);
        servers.forEach(FakeOpenAiServer::close);
    }

    private FakeOpenAiServer server(String name) {
        FakeOpenAiServer server = FakeOpenAiServer.start(name);
        servers.add(server);
        return server;
    }

    private LoadBalancer balancer(RetryPolicy retries) {
        LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.ROUND_ROBIN).retryPolicy(retries)
                .outlierDetection(OutlierDetection.disabled()).build();
        balancers.add(lb);
        return lb;
    }

    private OpenAIClient client(OpenAiClients.Builder builder) {
        OpenAIClient client = builder.build();
        clients.add(client);
        return client;
    }

    @Test
    void theSdksOwnCreateGoesToTheBackendWithItsPathAndNoAuthorization() {
        FakeOpenAiServer server = server("a");
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend a = lb.addBackend("a", LOOPBACK, server.port());
        OpenAIClient openAi = client(OpenAiClients.builder(lb));

        ChatCompletion answer = openAi.chat().completions().create(HELLO);

        assertThat(answer.choices().get(0).message().content()).contains("Hello");
        assertThat(server.lastPath()).isEqualTo(FakeOpenAiServer.CHAT);
        assertThat(server.endpoint().lastRequestBody()).contains("\"model\":\"llama\"").contains("Say hello");
        assertThat(server.lastHeaders().containsKey("Authorization")).isFalse();
        assertThat(server.lastHeaders().getFirst("Content-Type")).startsWith("application/json");
        assertThat(a.successes()).isOne();
        assertThat(a.failures()).isZero();
        assertThat(a.activeConnections()).isZero();
    }

    @Test
    void anApiKeyIsSentAsABearerTokenAndTheBasePathStartsThePath() {
        FakeOpenAiServer server = server("a");
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        lb.addBackend("a", LOOPBACK, server.port());
        OpenAIClient openAi = client(OpenAiClients.builder(lb).apiKey("sk-fleet").basePath("/v1/"));

        openAi.chat().completions().create(HELLO);

        assertThat(server.lastHeaders().get("Authorization")).containsExactly("Bearer sk-fleet");
        assertThat(server.lastPath()).isEqualTo(FakeOpenAiServer.CHAT);
    }

    @Test
    void aStreamHoldsItsLeaseUntilItEnds() {
        FakeOpenAiServer server = server("a");
        server.endpoint().hold();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend a = lb.addBackend("a", LOOPBACK, server.port());
        OpenAIClient openAi = client(OpenAiClients.builder(lb));

        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> stream = openAi.chat().completions().createStreaming(HELLO)) {
            assertThat(a.activeConnections()).as("the stream is under way").isOne();
            server.endpoint().release();
            stream.stream().forEach(chunk -> chunk.choices().forEach(c -> c.delta().content().ifPresent(text::append)));
        }

        assertThat(text).hasToString("Hello");
        assertThat(a.activeConnections()).isZero();
        assertThat(a.successes()).isOne();
        assertThat(a.failures()).isZero();
        assertThat(a.firstByteCount()).isOne();
    }

    @Test
    void aServerErrorIsRetriedOnAnotherBackendAndTheSdkRetriesNothing() {
        FakeOpenAiServer failing = server("failing");
        failing.endpoint().status(503);
        FakeOpenAiServer healthy = server("healthy");
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend bad = lb.addBackend("bad", LOOPBACK, failing.port());
        Backend good = lb.addBackend("good", LOOPBACK, healthy.port());
        OpenAIClient openAi = client(OpenAiClients.builder(lb));

        for (int i = 0; i < 4; i++) {
            assertThat(openAi.chat().completions().create(HELLO).choices()).hasSize(1);
        }

        assertThat(good.successes()).isEqualTo(4);
        assertThat(healthy.endpoint().requests()).isEqualTo(4);
        assertThat(bad.failures()).isEqualTo(failing.endpoint().requests()).isPositive();
        assertThat(bad.successes()).isZero();
        assertThat(lb.getAllStats().metrics().retries()).isEqualTo(bad.failures());
        assertThat(bad.activeConnections() + good.activeConnections()).isZero();
    }

    @Test
    void whenEveryAttemptFailsTheSdkGetsTheLastServerErrorOnce() {
        FakeOpenAiServer first = server("first");
        FakeOpenAiServer second = server("second");
        first.endpoint().status(503);
        second.endpoint().status(503);
        LoadBalancer lb = balancer(RetryPolicy.builder().maxAttempts(2).build());
        lb.addBackend("a", LOOPBACK, first.port());
        lb.addBackend("b", LOOPBACK, second.port());
        OpenAIClient openAi = client(OpenAiClients.builder(lb));

        assertThatThrownBy(() -> openAi.chat().completions().create(HELLO))
                .isInstanceOf(InternalServerException.class)
                .satisfies(e -> assertThat(((InternalServerException) e).statusCode()).isEqualTo(503));

        assertThat(first.endpoint().requests() + second.endpoint().requests())
                .as("the balancer's two attempts, none of the SDK's").isEqualTo(2);
        assertThat(lb.getAllStats().metrics().failures()).isEqualTo(2);
        assertThat(lb.getAllStats().metrics().successes()).isZero();
    }

    @Test
    void aRefusedConnectionOnEveryBackendIsTheSdksIoException() {
        LoadBalancer lb = balancer(RetryPolicy.builder().maxAttempts(2).build());
        Backend down = lb.addBackend("down", LOOPBACK, LoopbackServer.closedPort());
        OpenAIClient openAi = client(OpenAiClients.builder(lb));

        assertThatThrownBy(() -> openAi.chat().completions().create(HELLO))
                .isInstanceOf(OpenAIIoException.class)
                .cause().isInstanceOf(CallFailedException.class)
                .cause().isInstanceOf(java.net.ConnectException.class);

        assertThat(down.failures()).as("one attempt: every available backend was tried").isOne();
        assertThat(down.activeConnections()).isZero();
    }

    @Test
    void theAsyncClientParsesAWholeAnswerThatArrivesAfterItStartedWaiting() throws Exception {
        FakeOpenAiServer server = server("a");
        server.endpoint().hold();
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend a = lb.addBackend("a", LOOPBACK, server.port());
        OpenAIClient openAi = client(OpenAiClients.builder(lb));

        // The SDK's parsing waits on the answer before its first byte comes: it must then run on
        // another thread than the one delivering the bytes it reads.
        CompletableFuture<ChatCompletion> pending = openAi.async().chat().completions().create(HELLO);
        assertThat(server.endpoint().arrivals().poll(30, TimeUnit.SECONDS)).isOne();
        server.endpoint().release();
        ChatCompletion answer = pending.get(30, TimeUnit.SECONDS);

        assertThat(answer.choices().get(0).message().content()).contains("Hello");
        assertThat(a.successes()).isOne();
        assertThat(a.activeConnections()).isZero();
    }

    @Test
    void routingByModelSendsEachRequestToABackendServingIt() {
        FakeOpenAiServer llamaServer = server("llama");
        FakeOpenAiServer qwenServer = server("qwen");
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        lb.addBackend("llama", LOOPBACK, llamaServer.port(), 1, BackendProfile.builder().model("llama").build());
        lb.addBackend("qwen", LOOPBACK, qwenServer.port(), 1, BackendProfile.builder().model("qwen").build());
        BalancedOpenAiHttpClient byModel = BalancedOpenAiHttpClient.builder(BalancedHttpClient.of(lb))
                .routeByModel().build();
        OpenAIClient openAi = client(OpenAiClients.builder(byModel));

        for (int i = 0; i < 3; i++) {
            openAi.chat().completions().create(HELLO);
            openAi.chat().completions().create(HELLO.toBuilder().model("qwen").build());
        }

        assertThat(llamaServer.endpoint().requests()).isEqualTo(3);
        assertThat(qwenServer.endpoint().requests()).isEqualTo(3);
        assertThat(qwenServer.endpoint().lastRequestBody()).contains("\"model\":\"qwen\"");
    }

    @Test
    void withoutRoutingByModelAFleetThatDeclaresNoModelServesEveryRequest() {
        FakeOpenAiServer server = server("a");
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        Backend a = lb.addBackend("a", LOOPBACK, server.port());
        OpenAIClient openAi = client(OpenAiClients.builder(lb));

        openAi.chat().completions().create(HELLO.toBuilder().model("any-model").build());

        assertThat(a.successes()).isOne();
    }

    @Test
    void theSdksDefaultHeadersGoThroughAndItsOptionsAddUp() {
        FakeOpenAiServer server = server("a");
        LoadBalancer lb = balancer(RetryPolicy.defaults());
        lb.addBackend("a", LOOPBACK, server.port());
        OpenAIClient openAi = client(OpenAiClients.builder(lb)
                .options(sdk -> sdk.putHeader("X-Tenant", "blue"))
                .options(sdk -> sdk.organization("org-1")));

        openAi.chat().completions().create(HELLO);

        assertThat(server.lastHeaders().getFirst("X-Tenant")).isEqualTo("blue");
        assertThat(server.lastHeaders().getFirst("OpenAI-Organization")).isEqualTo("org-1");
        assertThat(server.lastHeaders().keySet().stream().map(String::toLowerCase).collect(Collectors.toSet()))
                .contains("x-stainless-lang");
    }

    @Test
    void aPoolWithNoBackendSaysSoAsTheBalancerDoes() {
        OpenAIClient empty = client(OpenAiClients.builder(balancer(RetryPolicy.defaults())));

        assertThatThrownBy(() -> empty.chat().completions().create(HELLO))
                .isInstanceOf(NoAvailableBackendException.class);
        assertThatThrownBy(() -> empty.async().chat().completions().create(HELLO).join())
                .hasCauseInstanceOf(NoAvailableBackendException.class);
    }
}
