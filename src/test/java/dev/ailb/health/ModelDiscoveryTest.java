package dev.ailb.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.Backend;
import dev.ailb.BackendProfile;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.NoAvailableBackendException;
import dev.ailb.Request;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.ScriptedEndpoint;
import dev.ailb.testing.StandardErrorCapture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What backends serve, learnt from {@code GET /v1/models} on {@link LoopbackServer}s. */
class ModelDiscoveryTest {
    private static final String LOOPBACK = LoopbackServer.HOST;
    private static final String JSON = "application/json";
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");

    private final ManualTicker ticker = new ManualTicker();
    private final List<LoopbackServer> servers = new ArrayList<>();
    private final List<LoadBalancer> balancers = new ArrayList<>();
    private StandardErrorCapture captured;

    @BeforeEach
    void captureStandardError() {
        captured = StandardErrorCapture.start();
    }

    @AfterEach
    void cleanUp() {
        captured.close();
        balancers.forEach(LoadBalancer::close);
        servers.forEach(LoopbackServer::close);
    }

    private static String list(String... entries) {
        return "{\"object\":\"list\",\"data\":[" + String.join(",", entries) + "]}";
    }

    private static String model(String id) {
        return "{\"id\":\"" + id + "\",\"object\":\"model\",\"owned_by\":\"vllm\",\"parent\":null}";
    }

    private static String adapter(String id, String parent) {
        return "{\"id\":\"" + id + "\",\"object\":\"model\",\"owned_by\":\"vllm\",\"parent\":\"" + parent + "\"}";
    }

    private int serve(ScriptedEndpoint models) {
        LoopbackServer server = LoopbackServer.start("models", Map.of("/v1/models", models));
        servers.add(server);
        return server.port();
    }

    private LoadBalancer balancer() {
        LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.ROUND_ROBIN).ticker(ticker)
                .healthCheckTimeout(TIMEOUT).discoverModels(ModelDiscovery.openAi(), Duration.ofSeconds(30)).build();
        balancers.add(lb);
        return lb;
    }

    @Test
    void theModelsAndAdaptersListedRouteBesideTheDeclaredOnes() {
        ScriptedEndpoint first = ScriptedEndpoint.answering(200, JSON, list(model("llama"), adapter("sql-v2", "llama")));
        ScriptedEndpoint second = ScriptedEndpoint.answering(200, JSON, list(model("qwen")));
        LoadBalancer lb = balancer();
        Backend one = lb.addBackend("one", LOOPBACK, serve(first), 1, BackendProfile.builder().model("old").build());
        lb.addBackend("two", LOOPBACK, serve(second));
        assertThatThrownBy(() -> lb.selectBackend(REQUEST.withModel("sql-v2")))
                .isInstanceOfSatisfying(NoAvailableBackendException.class, e -> assertThat(e.reason())
                        .isEqualTo(NoAvailableBackendException.Reason.MODEL_NOT_SERVED));

        lb.discoverModels();

        assertThat(one.learntProfile()).isEqualTo(BackendProfile.builder().model("llama").adapter("sql-v2").build());
        assertThat(one.profile()).as("the declared profile stays").isEqualTo(BackendProfile.builder().model("old").build());
        assertThat(lb.selectBackend(REQUEST.withModel("sql-v2")).id()).isEqualTo("one");
        assertThat(lb.selectBackend(REQUEST.withModel("old")).id()).isEqualTo("one");
        assertThat(lb.selectBackend(REQUEST.withModel("qwen")).id()).isEqualTo("two");
        assertThat(lb.getBackendStats("two").learntProfile().models()).containsExactly("qwen");
        assertThat(first.requests()).isEqualTo(1);

        second.body(list(model("qwen"), model("llama")));
        lb.discoverModels();

        assertThat(List.of(lb.selectBackend(REQUEST.withModel("llama")).id(),
                lb.selectBackend(REQUEST.withModel("llama")).id())).containsExactlyInAnyOrder("one", "two");
    }

    @Test
    void aBadAnswerIsLoggedOnceAndWhatWasLearntIsKept() {
        ScriptedEndpoint models = ScriptedEndpoint.answering(200, JSON, list(model("llama")));
        LoadBalancer lb = balancer();
        Backend backend = lb.addBackend("flaky", LOOPBACK, serve(models));
        lb.discoverModels();
        BackendProfile learnt = backend.learntProfile();

        models.body("{\"object\":\"list\",\"data\":[{\"object\":\"model\"}]}");
        lb.discoverModels();
        models.status(500);
        lb.discoverModels();

        assertThat(backend.learntProfile()).isSameAs(learnt);
        assertThat(lb.selectBackend(REQUEST.withModel("llama"))).isSameAs(backend);
        String log = captured.text();
        assertThat(log).contains("Backend flaky: model list rejected: model list: '{' at character 25 "
                + "(expected: an \"id\" in each model); what was learnt before is kept");
        assertThat(log.lines().filter(l -> l.contains("WARN") && l.contains("model list rejected")).count())
                .as("one warning while the answers go on failing").isEqualTo(1);

        models.status(200).body(list(model("mistral")));
        lb.discoverModels();
        assertThat(backend.serves("mistral")).isTrue();
        assertThat(backend.serves("llama")).isFalse();
    }

    @Test
    void aModelNameRequestsCannotCarryRejectsTheAnswer() {
        ModelDiscovery discovery = ModelDiscovery.openAi();

        assertThatThrownBy(() -> discovery.profileOf(list(model(" "))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model list: model: \" \" (expected: not blank)");
        assertThatThrownBy(() -> discovery.profileOf(list(adapter("a\\u0007", "b"))))
                .hasMessage("model list: adapter: \"a\\u0007\" (expected: no control characters)");
    }

    @Test
    void withoutADiscoveryAskingOnDemandIsRefused() {
        LoadBalancer lb = LoadBalancer.builder().ticker(ticker).build();
        balancers.add(lb);

        assertThatThrownBy(lb::discoverModels).isInstanceOf(IllegalStateException.class)
                .hasMessage("no model discovery (expected: LoadBalancerBuilder.discoverModels)");
        assertThat(ModelDiscovery.openAi("/models").toString()).isEqualTo("GET /models");
    }
}
