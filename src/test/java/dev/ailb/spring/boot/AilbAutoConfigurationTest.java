package dev.ailb.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import dev.ailb.health.HealthState;
import dev.ailb.micrometer.LoadBalancerMeterBinder;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.ScriptedEndpoint;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.BeanFactoryAnnotationUtils;
import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.actuate.endpoint.CompositeHealthDescriptor;
import org.springframework.boot.health.actuate.endpoint.HealthDescriptor;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.actuate.endpoint.IndicatedHealthDescriptor;
import org.springframework.boot.health.autoconfigure.actuate.endpoint.HealthEndpointAutoConfiguration;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.autoconfigure.registry.HealthContributorRegistryAutoConfiguration;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A real application context with the auto-configuration and Spring Boot's own auto-configurations
 * of the health endpoint and of metrics: properties become pools, the pools' health shows in the
 * health endpoint, the {@code ailb} endpoint reads and changes them, and their meters reach the
 * context's registry. The backends are real HTTP servers on loopback; the health checks run in
 * virtual time (a customizer hands each pool a manual ticker and scheduler), every round driven by
 * {@link LoadBalancer#performHealthChecks()}, which returns once each verdict is counted.
 */
class AilbAutoConfigurationTest {
    private static final String CHAT_PATH = "/v1/chat/completions";

    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private final List<LoopbackServer> servers = new ArrayList<>();
    private static final HttpClient http = HttpClient.newHttpClient();

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(AilbAutoConfiguration.class,
                    EndpointAutoConfiguration.class, HealthContributorAutoConfiguration.class,
                    HealthContributorRegistryAutoConfiguration.class, HealthEndpointAutoConfiguration.class,
                    MetricsAutoConfiguration.class, CompositeMeterRegistryAutoConfiguration.class,
                    SimpleMetricsExportAutoConfiguration.class))
            .withPropertyValues("management.endpoint.health.show-details=always",
                    "management.endpoints.web.exposure.include=health,ailb");

    @AfterEach
    void stopServers() {
        servers.forEach(LoopbackServer::close);
    }

    private LoopbackServer server(String name, ScriptedEndpoint health, ScriptedEndpoint chat) {
        LoopbackServer server = LoopbackServer.start(name, Map.of("/health", health, CHAT_PATH, chat));
        servers.add(server);
        return server;
    }

    /** The properties of a chat pool of two backends checked at /health, and an embeddings pool. */
    private String[] twoPools(LoopbackServer a, LoopbackServer b, LoopbackServer e) {
        return new String[] {
            "ailb.pools.chat.strategy=round-robin",
            "ailb.pools.chat.health-check.path=/health",
            "ailb.pools.chat.health-check.interval=5s",
            "ailb.pools.chat.unhealthy-threshold=2",
            "ailb.pools.chat.backends.a.host=127.0.0.1",
            "ailb.pools.chat.backends.a.port=" + a.port(),
            "ailb.pools.chat.backends.b.host=127.0.0.1",
            "ailb.pools.chat.backends.b.port=" + b.port(),
            "ailb.pools.chat.backends.b.models=llama-3.1-8b,qwen-2.5",
            "ailb.pools.chat.backends.b.labels.zone=z1",
            "ailb.pools.embeddings.strategy=least-connections",
            "ailb.pools.embeddings.backends.e.host=127.0.0.1",
            "ailb.pools.embeddings.backends.e.port=" + e.port(),
            "ailb.pools.embeddings.backends.e.weight=3",
        };
    }

    private LoadBalancerBuilderCustomizer virtualTime() {
        return (pool, builder) -> builder.ticker(ticker).healthCheckScheduler(scheduler);
    }

    @Test
    void twoPoolsFromPropertiesRunWithTheContextAndAStoppedBackendShowsInHealthAndLosesItsTraffic() {
        // given
        ScriptedEndpoint chatA = ScriptedEndpoint.answering(200);
        ScriptedEndpoint chatB = ScriptedEndpoint.answering(200);
        LoopbackServer a = server("a", ScriptedEndpoint.answering(200), chatA);
        LoopbackServer b = server("b", ScriptedEndpoint.answering(200), chatB);
        LoopbackServer e = server("e", ScriptedEndpoint.answering(200), ScriptedEndpoint.answering(200));

        runner.withPropertyValues(twoPools(a, b, e))
                .withBean(LoadBalancerBuilderCustomizer.class, this::virtualTime)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    // then: the pools, by name and as qualified beans
                    LoadBalancerPools pools = context.getBean(LoadBalancerPools.class);
                    assertThat(pools.names()).containsExactly("chat", "embeddings");
                    LoadBalancer chat = BeanFactoryAnnotationUtils.qualifiedBeanOfType(
                            context.getBeanFactory(), LoadBalancer.class, "chat");
                    LoadBalancer embeddings = context.getBean("embeddingsLoadBalancer", LoadBalancer.class);
                    assertThat(chat).isSameAs(pools.get("chat"));
                    assertThat(embeddings).isSameAs(pools.get("embeddings"));
                    assertThat(context.getBeansOfType(LoadBalancer.class)).hasSize(2);
                    assertThat(chat.name()).isEqualTo("chat");
                    assertThat(chat.getStrategy()).isSameAs(BalancingStrategy.ROUND_ROBIN);
                    assertThat(embeddings.getStrategy()).isSameAs(BalancingStrategy.LEAST_CONNECTIONS);
                    assertThat(chat.getBackends()).extracting(Backend::id).containsExactly("a", "b");
                    Backend backendB = chat.getBackend("b").orElseThrow();
                    assertThat(backendB.serves("qwen-2.5")).isTrue();
                    assertThat(backendB.labels()).containsEntry("zone", "z1");
                    assertThat(embeddings.getBackend("e").orElseThrow().weight()).isEqualTo(3);
                    // started with the context: the first round is queued in virtual time
                    assertThat(chat.isHealthCheckerRunning()).isTrue();
                    assertThat(embeddings.isHealthCheckerRunning()).isTrue();

                    HealthEndpoint health = context.getBean(HealthEndpoint.class);
                    assertThat(health.healthForPath("ailb").getStatus()).isEqualTo(Status.UP);
                    assertThat(sendAll(chat, 4)).containsOnly("a", "b");
                    int beforeA = chatA.requests();
                    int beforeB = chatB.requests();

                    // when: b crashes, and two check rounds see it
                    b.stop();
                    chat.performHealthChecks();
                    chat.performHealthChecks();

                    // then: b is down in the health details and in the endpoint, the pool still up
                    assertThat(backendB.healthState()).isEqualTo(HealthState.UNHEALTHY);
                    IndicatedHealthDescriptor chatHealth =
                            (IndicatedHealthDescriptor) health.healthForPath("ailb", "chat");
                    assertThat(chatHealth.getStatus()).isEqualTo(Status.UP);
                    assertThat(chatHealth.getDetails()).containsEntry("available", 1);
                    @SuppressWarnings("unchecked")
                    Map<String, PoolState.BackendState> details =
                            (Map<String, PoolState.BackendState>) chatHealth.getDetails().get("backends");
                    assertThat(details.get("b").health()).isEqualTo(HealthState.UNHEALTHY);
                    assertThat(details.get("b").available()).isFalse();
                    assertThat(details.get("b").lastFailure()).isNotNull();
                    assertThat(details.get("a").available()).isTrue();
                    LoadBalancerEndpoint endpoint = context.getBean(LoadBalancerEndpoint.class);
                    assertThat(endpoint.backend("chat", "b").health()).isEqualTo(HealthState.UNHEALTHY);
                    // and its traffic moves: every request now goes to a
                    assertThat(sendAll(chat, 6)).containsOnly("a");
                    assertThat(chatA.requests()).isEqualTo(beforeA + 6);
                    assertThat(chatB.requests()).isEqualTo(beforeB);

                    // when: a, the last one available, is taken out of rotation by the endpoint
                    PoolState.BackendState out = endpoint.maintenance("chat", "a", true);

                    // then: the pool is down, the whole health down with it; put back, up again
                    assertThat(out.inMaintenance()).isTrue();
                    assertThat(out.available()).isFalse();
                    assertThat(health.healthForPath("ailb", "chat").getStatus()).isEqualTo(Status.DOWN);
                    assertThat(health.healthForPath("ailb").getStatus()).isEqualTo(Status.DOWN);
                    assertThat(endpoint.maintenance("chat", "a", false).available()).isTrue();
                    assertThat(health.health().getStatus()).isEqualTo(Status.UP);
                    CompositeHealthDescriptor all = (CompositeHealthDescriptor) health.healthForPath("ailb");
                    assertThat(all.getComponents()).containsOnlyKeys("chat", "embeddings");
                });
    }

    @Test
    void theEndpointListsEveryPoolAndAnswersBadIdsClearly() {
        LoopbackServer a = server("a", ScriptedEndpoint.answering(200), ScriptedEndpoint.answering(200));
        LoopbackServer b = server("b", ScriptedEndpoint.answering(200), ScriptedEndpoint.answering(200));
        LoopbackServer e = server("e", ScriptedEndpoint.answering(200), ScriptedEndpoint.answering(200));

        runner.withPropertyValues(twoPools(a, b, e))
                .withBean(LoadBalancerBuilderCustomizer.class, this::virtualTime)
                .run(context -> {
                    LoadBalancerEndpoint endpoint = context.getBean(LoadBalancerEndpoint.class);
                    LoadBalancer chat = context.getBean(LoadBalancerPools.class).get("chat");

                    Map<String, PoolState> pools = endpoint.pools();
                    assertThat(pools).containsOnlyKeys("chat", "embeddings");
                    PoolState chatState = pools.get("chat");
                    assertThat(chatState.strategy()).isEqualTo("ROUND_ROBIN");
                    assertThat(chatState.healthCheckerRunning()).isTrue();
                    assertThat(chatState.available()).isEqualTo(2);
                    assertThat(chatState.backends()).extracting(PoolState.BackendState::id).containsExactly("a", "b");
                    PoolState.BackendState stateOfA = chatState.backends().get(0);
                    assertThat(stateOfA.host()).isEqualTo("127.0.0.1");
                    assertThat(stateOfA.port()).isEqualTo(a.port());
                    assertThat(stateOfA.health()).isEqualTo(HealthState.HEALTHY);
                    assertThat(stateOfA.draining()).isFalse();
                    assertThat(stateOfA.ejected()).isFalse();
                    assertThat(endpoint.pool("embeddings").backends().get(0).weight()).isEqualTo(3);

                    // a request in flight shows, and maintenance lets it finish
                    try (Lease lease = chat.acquire(new Request("r", "127.0.0.1", CHAT_PATH))) {
                        String id = lease.backend().id();
                        PoolState.BackendState out = endpoint.maintenance("chat", id, true);
                        assertThat(out.inMaintenance()).isTrue();
                        assertThat(out.activeConnections()).isOne();
                        assertThat(chat.getAvailableBackends()).extracting(Backend::id).doesNotContain(id);
                        lease.success();
                        assertThat(endpoint.backend("chat", id).activeConnections()).isZero();
                        assertThat(endpoint.maintenance("chat", id, false).inMaintenance()).isFalse();
                    }

                    assertThatThrownBy(() -> endpoint.pool("nope"))
                            .isInstanceOf(InvalidEndpointRequestException.class)
                            .hasMessage("pool: \"nope\" (expected one of [chat, embeddings])");
                    assertThatThrownBy(() -> endpoint.maintenance("chat", "z", true))
                            .isInstanceOf(InvalidEndpointRequestException.class)
                            .hasMessage("backend: \"z\" (expected one of [a, b])");
                    assertThatThrownBy(() -> endpoint.backend("nope", "a"))
                            .isInstanceOf(InvalidEndpointRequestException.class)
                            .hasMessageStartingWith("pool: \"nope\"");
                    // a backend being removed cannot go into maintenance: nothing changes
                    try (Lease lease = chat.acquire(new Request("r2", "127.0.0.1", CHAT_PATH))) {
                        String id = lease.backend().id();
                        chat.removeBackend(id);
                        assertThatThrownBy(() -> endpoint.maintenance("chat", id, true))
                                .isInstanceOf(InvalidEndpointRequestException.class)
                                .hasMessage("chat/" + id + ": id: \"" + id + "\" (expected: a backend not being removed)");
                        assertThat(endpoint.backend("chat", id).draining()).isTrue();
                        assertThat(endpoint.backend("chat", id).inMaintenance()).isFalse();
                        lease.success();
                    }
                    assertThatThrownBy(() -> new LoadBalancerEndpoint(null))
                            .isInstanceOf(NullPointerException.class)
                            .hasMessage("pools: null (expected: non-null)");
                });
    }

    @Test
    void eachPoolsMetersReachTheContextsRegistry() {
        LoopbackServer a = server("a", ScriptedEndpoint.answering(200), ScriptedEndpoint.answering(200));
        LoopbackServer b = server("b", ScriptedEndpoint.answering(200), ScriptedEndpoint.answering(200));
        LoopbackServer e = server("e", ScriptedEndpoint.answering(200), ScriptedEndpoint.answering(200));

        runner.withPropertyValues(twoPools(a, b, e))
                .withBean(LoadBalancerBuilderCustomizer.class, this::virtualTime)
                .run(context -> {
                    assertThat(context.getBeansOfType(LoadBalancerMeterBinder.class))
                            .containsOnlyKeys("chatMeterBinder", "embeddingsMeterBinder");
                    MeterRegistry registry = context.getBean(MeterRegistry.class);
                    LoadBalancer chat = context.getBean(LoadBalancerPools.class).get("chat");
                    sendAll(chat, 3);

                    assertThat(registry.get("ailb.backends").tag("balancer", "chat").gauge().value()).isEqualTo(2);
                    assertThat(registry.get("ailb.backends").tag("balancer", "embeddings").gauge().value())
                            .isEqualTo(1);
                    double requests = registry.get("ailb.backend.requests").tag("balancer", "chat")
                            .functionCounters().stream().mapToDouble(c -> c.count()).sum();
                    assertThat(requests).isEqualTo(3);
                });
    }

    @Test
    void checksLoadPollsAndModelDiscoveryRunFromTheContextsStart() throws Exception {
        // given: a backend answering its check, its metrics and its models
        ScriptedEndpoint check = ScriptedEndpoint.answering(200);
        ScriptedEndpoint metrics = ScriptedEndpoint.answering(200, "text/plain",
                "vllm:num_requests_waiting 0\nvllm:num_requests_running 1\n");
        ScriptedEndpoint models = ScriptedEndpoint.answering(200, "application/json",
                "{\"object\":\"list\",\"data\":[{\"id\":\"llama-3.1-8b\",\"object\":\"model\"}]}");
        LoopbackServer a = LoopbackServer.start("a", Map.of("/health", check, "/metrics", metrics,
                "/v1/models", models));
        servers.add(a);

        runner.withPropertyValues(
                        "ailb.pools.chat.health-check.path=/health",
                        "ailb.pools.chat.load-source=vllm",
                        "ailb.pools.chat.load-poll-interval=1s",
                        "ailb.pools.chat.discover-models=30s",
                        "ailb.pools.chat.backends.a.host=127.0.0.1",
                        "ailb.pools.chat.backends.a.port=" + a.port())
                .withBean(LoadBalancerBuilderCustomizer.class, this::virtualTime)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(check.requests() + metrics.requests() + models.requests()).isZero();

                    // when: virtual time passes; nothing but the context started the checker
                    scheduler.advance(java.time.Duration.ofSeconds(31));

                    // then: each kind of probe reached the backend
                    assertThat(check.arrivals().poll(60, java.util.concurrent.TimeUnit.SECONDS)).isNotNull();
                    assertThat(metrics.arrivals().poll(60, java.util.concurrent.TimeUnit.SECONDS)).isNotNull();
                    assertThat(models.arrivals().poll(60, java.util.concurrent.TimeUnit.SECONDS)).isNotNull();
                });
    }

    @Test
    void aPoolsSlowStartRampsABackendThatJoinsItOnceItServes() {
        runner.withPropertyValues(
                        "ailb.pools.chat.strategy=least-connections",
                        "ailb.pools.chat.slow-start.window=32s",
                        "ailb.pools.chat.slow-start.aggression=2",
                        "ailb.pools.chat.slow-start.min-weight-percent=25",
                        "ailb.pools.chat.backends.a.host=127.0.0.1",
                        "ailb.pools.chat.backends.a.port=8000")
                .withBean(LoadBalancerBuilderCustomizer.class, this::virtualTime)
                .run(context -> {
                    LoadBalancer chat = context.getBean(LoadBalancerPools.class).get("chat");
                    chat.acquire(new dev.ailb.Request("r1", "", "/")).success();

                    dev.ailb.Backend joining = chat.addBackend("b", "127.0.0.1", 8001);

                    assertThat(joining.slowStartFactor()).isEqualTo(0.25);
                    scheduler.advance(java.time.Duration.ofSeconds(8));
                    assertThat(joining.slowStartFactor()).isEqualTo(0.5);
                    scheduler.advance(java.time.Duration.ofSeconds(24));
                    assertThat(joining.slowStartFactor()).isEqualTo(1.0);
                });
    }

    @Test
    void closingTheContextStopsTheChecksClosesThePoolsAndLeavesNoThreadBehind() {
        // given: real threads this time, no customizer
        LoopbackServer a = server("a", ScriptedEndpoint.answering(200), ScriptedEndpoint.answering(200));
        Set<Thread> before = ailbThreads();
        List<LoadBalancer> seen = new ArrayList<>();

        runner.withPropertyValues(
                        "ailb.pools.chat.health-check.path=/health",
                        "ailb.pools.chat.load-source=vllm",
                        "ailb.pools.chat.backends.a.host=127.0.0.1",
                        "ailb.pools.chat.backends.a.port=" + a.port())
                .run(context -> {
                    LoadBalancer chat = context.getBean(LoadBalancerPools.class).get("chat");
                    seen.add(chat);
                    chat.performHealthChecks(); // its workers exist now
                    assertThat(chat.isHealthCheckerRunning()).isTrue();
                    assertThat(ailbThreads()).isNotEmpty();

                    // when: the context stops, then closes
                    ((ConfigurableApplicationContext) context.getSourceApplicationContext()).stop();
                    assertThat(chat.isHealthCheckerRunning()).isFalse();
                    assertThat(chat.isClosed()).isFalse();
                    ((ConfigurableApplicationContext) context.getSourceApplicationContext()).start();
                    assertThat(chat.isHealthCheckerRunning()).isTrue();
                });

        // then
        assertThat(seen).hasSize(1);
        assertThat(seen.get(0).isClosed()).isTrue();
        assertThat(seen.get(0).isHealthCheckerRunning()).isFalse();
        Set<Thread> left = ailbThreads();
        left.removeAll(before);
        assertThat(left).isEmpty();
    }

    @Test
    void aBadValueFailsTheStartNamingTheKey() {
        runner.withPropertyValues(
                        "ailb.pools.a-first.backends.x.host=10.0.0.1",
                        "ailb.pools.a-first.backends.x.port=8000",
                        "ailb.pools.chat.max-sessions=0")
                .withBean(LoadBalancerBuilderCustomizer.class, () -> (pool, builder) -> { })
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(rootCause(context.getStartupFailure()))
                            .isInstanceOf(IllegalArgumentException.class)
                            .hasMessage("ailb.pools.chat.max-sessions: maxSessions: 0 (expected: 1..10000000)");
                });
        runner.withPropertyValues("ailb.pools.chat.backends.x.host=10.0.0.1", "ailb.pools.chat.backends.x.port=70000")
                .run(context -> assertThat(rootCause(context.getStartupFailure()))
                        .hasMessageStartingWith("ailb.pools.chat.backends.x: port: 70000"));
        runner.withPropertyValues("ailb.pools.chat.strategy=fastest")
                .run(context -> assertThat(rootCause(context.getStartupFailure()))
                        .hasMessageStartingWith("ailb.pools.chat.strategy: name: \"FASTEST\""));
        runner.withPropertyValues("ailb.pools.chat.load-poll-interval=1s")
                .run(context -> assertThat(rootCause(context.getStartupFailure()))
                        .hasMessage("ailb.pools.chat.load-poll-interval: set without load-source"));
        // a value of the wrong type: Spring's binder refuses it, naming the key too
        runner.withPropertyValues("ailb.pools.chat.healthy-threshold=many")
                .run(context -> assertThat(context.getStartupFailure())
                        .hasStackTraceContaining("ailb.pools.chat.healthy-threshold"));
        // a customizer that sets what a property set
        runner.withPropertyValues("ailb.pools.chat.strategy=random")
                .withBean(LoadBalancerBuilderCustomizer.class,
                        () -> (pool, builder) -> builder.strategy(BalancingStrategy.ROUND_ROBIN))
                .run(context -> assertThat(rootCause(context.getStartupFailure()))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("strategy was already set"));
    }

    @Test
    void defaultsApplyToEveryPoolThatDoesNotSetTheKeyItself() {
        runner.withPropertyValues(
                        "ailb.defaults.strategy=least-connections",
                        "ailb.pools.chat.backends.x.host=10.0.0.1",
                        "ailb.pools.chat.backends.x.port=8000",
                        "ailb.pools.embeddings.strategy=random",
                        "ailb.pools.embeddings.backends.y.host=10.0.0.2",
                        "ailb.pools.embeddings.backends.y.port=8000")
                .run(context -> {
                    LoadBalancerPools pools = context.getBean(LoadBalancerPools.class);
                    assertThat(pools.get("chat").getStrategy()).isSameAs(BalancingStrategy.LEAST_CONNECTIONS);
                    assertThat(pools.get("embeddings").getStrategy()).isSameAs(BalancingStrategy.RANDOM);
                });
        runner.withPropertyValues("ailb.defaults.max-sessions=0", "ailb.pools.chat.strategy=random")
                .run(context -> assertThat(rootCause(context.getStartupFailure()))
                        .hasMessage("ailb.pools.chat.max-sessions: maxSessions: 0 (expected: 1..10000000)"));
        runner.withPropertyValues("ailb.defaults.backends.x.host=10.0.0.1", "ailb.pools.chat.strategy=random")
                .run(context -> assertThat(rootCause(context.getStartupFailure()))
                        .hasMessage("ailb.defaults.backends: [x] (expected: backends under"
                                + " ailb.pools.<name>.backends, each in its pool)"));
    }

    @Test
    void probeSettingsAreTakenFromDefaultsAndABadOneNamesItsKey() {
        ScriptedEndpoint check = ScriptedEndpoint.answering(200);
        LoopbackServer a = LoopbackServer.start("a", Map.of("/health", check));
        servers.add(a);
        runner.withPropertyValues(
                        "ailb.defaults.probe.headers.X-Fleet=chat",
                        "ailb.pools.chat.health-check.path=/health",
                        "ailb.pools.chat.backends.a.host=127.0.0.1",
                        "ailb.pools.chat.backends.a.port=" + a.port())
                .withBean(LoadBalancerBuilderCustomizer.class, this::virtualTime)
                .run(context -> {
                    LoadBalancer chat = context.getBean(LoadBalancerPools.class).get("chat");
                    chat.performHealthChecks();
                    assertThat(chat.getBackendStats("a").health().consecutiveCheckSuccesses()).isOne();
                    assertThat(check.requests()).isOne();
                });
        runner.withPropertyValues("ailb.pools.chat.health-check.path=/health", "ailb.pools.chat.probe.scheme=ftp")
                .run(context -> assertThat(rootCause(context.getStartupFailure()))
                        .hasMessageStartingWith("ailb.pools.chat.probe.scheme: "));
        runner.withPropertyValues("ailb.pools.chat.probe.headers.X-Fleet=chat")
                .run(context -> assertThat(rootCause(context.getStartupFailure()))
                        .hasMessageStartingWith("ailb.pools.chat.probe.headers.X-Fleet"));
    }

    @Test
    void theEndpointsAnswersAreWrittenAsJson() throws Exception {
        runner.withPropertyValues("ailb.pools.chat.backends.x.host=10.0.0.1", "ailb.pools.chat.backends.x.port=8000")
                .run(context -> {
                    String json = tools.jackson.databind.json.JsonMapper.builder().build()
                            .writeValueAsString(context.getBean(LoadBalancerEndpoint.class).pools());
                    assertThat(json).contains("\"name\":\"chat\"", "\"id\":\"x\"", "\"health\":\"HEALTHY\"",
                            "\"inMaintenance\":false", "\"activeConnections\":0");
                });
    }

    @Test
    void withoutPoolsNothingIsCreated() {
        runner.withPropertyValues("ailb.other=1").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).doesNotHaveBean(LoadBalancerPools.class);
            assertThat(context).doesNotHaveBean(LoadBalancer.class);
            assertThat(context).doesNotHaveBean(LoadBalancerEndpoint.class);
            assertThat(context).doesNotHaveBean("ailbHealthContributor");
            assertThat(context).doesNotHaveBean(LoadBalancerMeterBinder.class);
        });
    }

    @Test
    void withoutActuatorOrMicrometerThePoolsStillRun() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(AilbAutoConfiguration.class))
                .withClassLoader(new FilteredClassLoader("org.springframework.boot.actuate.",
                        "org.springframework.boot.health.", "io.micrometer."))
                .withPropertyValues("ailb.pools.chat.backends.x.host=10.0.0.1",
                        "ailb.pools.chat.backends.x.port=8000")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(LoadBalancer.class);
                    assertThat(context.getBean(LoadBalancer.class).isHealthCheckerRunning()).isTrue();
                    assertThat(context).doesNotHaveBean(LoadBalancerEndpoint.class);
                    assertThat(context).doesNotHaveBean("ailbHealthContributor");
                    assertThat(context).doesNotHaveBean("chatMeterBinder");
                });
    }

    @Test
    void theHealthContributorCanBeTurnedOff() {
        runner.withPropertyValues("management.health.ailb.enabled=false",
                        "ailb.pools.chat.backends.x.host=10.0.0.1", "ailb.pools.chat.backends.x.port=8000")
                .run(context -> {
                    assertThat(context).hasSingleBean(LoadBalancer.class);
                    assertThat(context).doesNotHaveBean("ailbHealthContributor");
                    HealthDescriptor all = context.getBean(HealthEndpoint.class).health();
                    assertThat(((CompositeHealthDescriptor) all).getComponents()).doesNotContainKey("ailb");
                });
    }

    /** Sends requests through a pool to its backends over HTTP; returns the ids of the backends. */
    private List<String> sendAll(LoadBalancer pool, int count) throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            try (Lease lease = pool.acquire(new Request("r" + i, "127.0.0.1", CHAT_PATH))) {
                HttpResponse<String> answer = http.send(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + lease.backend().port() + CHAT_PATH)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(answer.statusCode()).isEqualTo(200);
                lease.success();
                ids.add(lease.backend().id());
            }
        }
        return ids;
    }

    private static Set<Thread> ailbThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("ailb-") && t.isAlive())
                .collect(Collectors.toSet());
    }

    /** The first exception of the chain that Spring did not add: the library's own refusal. */
    private static Throwable rootCause(Throwable failure) {
        assertThat(failure).as("the start failed").isNotNull();
        Throwable cause = failure;
        while (cause instanceof org.springframework.core.NestedRuntimeException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }
}
