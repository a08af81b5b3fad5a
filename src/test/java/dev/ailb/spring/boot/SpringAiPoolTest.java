package dev.ailb.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.AttemptTracer;
import dev.ailb.LoadBalancer;
import dev.ailb.RoutingDecision;
import dev.ailb.testing.FakeOpenAiServer;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.beans.factory.annotation.BeanFactoryAnnotationUtils;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.actuate.endpoint.IndicatedHealthDescriptor;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;

/**
 * The whole way, as an application meets it: properties name a pool of three fake OpenAI servers on
 * loopback and ask for its chat model; Spring Boot builds the pool, starts its checks, shows it in
 * Actuator health and creates Spring AI's {@link OpenAiChatModel} over it; whole and streamed
 * answers go through the pool, every lease ends once; a backend stopped mid-test shows in health
 * and its traffic moves to the others.
 *
 * <p>The checks run in virtual time (a customizer hands the pool a manual ticker and scheduler, and
 * {@link LoadBalancer#performHealthChecks()} runs a round). A stream's lease ends on the SDK's
 * reading thread after the last event reaches the subscriber: the test waits for each attempt's end
 * through the pool's attempt tracing, which reports it, rather than for a time.
 */
class SpringAiPoolTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    private final List<FakeOpenAiServer> servers = new ArrayList<>();

    @AfterEach
    void stopServers() {
        servers.forEach(FakeOpenAiServer::close);
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class ChatApplication {
        static final ManualTicker TICKER = new ManualTicker();
        static final BlockingQueue<String> ENDED = new LinkedBlockingQueue<>();

        /** Virtual time for the checks, and each attempt's end reported as "backend outcome". */
        @Bean
        LoadBalancerBuilderCustomizer virtualTimeAndAttemptEnds() {
            ManualScheduler scheduler = new ManualScheduler(TICKER);
            return (pool, builder) -> builder.ticker(TICKER).healthCheckScheduler(scheduler)
                    .attemptTracing(SpringAiPoolTest::reportingTracer);
        }
    }

    private static AttemptTracer reportingTracer(RoutingDecision decision) {
        return (outcome, failure) -> ChatApplication.ENDED.add(decision.backend() + " " + outcome);
    }

    private FakeOpenAiServer server(String name) {
        FakeOpenAiServer server = FakeOpenAiServer.start(name);
        servers.add(server);
        return server;
    }

    /** The next attempt's end, as "backend outcome". */
    private static String nextEnd() throws InterruptedException {
        String end = ChatApplication.ENDED.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(end).as("an attempt's end within %s", WAIT).isNotNull();
        return end;
    }

    private static String streamed(OpenAiChatModel chat, String question) {
        List<ChatResponse> responses = chat.stream(new Prompt(question)).collectList().block(WAIT);
        return responses.stream()
                .map(r -> r.getResult() == null || r.getResult().getOutput().getText() == null ? ""
                        : r.getResult().getOutput().getText())
                .collect(Collectors.joining());
    }

    @Test
    void aSpringAiChatModelOverAPoolFromPropertiesAnswersWholeAndStreamedAndItsTrafficLeavesAStoppedBackend()
            throws Exception {
        ChatApplication.ENDED.clear();
        FakeOpenAiServer a = server("a");
        FakeOpenAiServer b = server("b");
        FakeOpenAiServer c = server("c");
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(ChatApplication.class)
                .web(WebApplicationType.NONE)
                .properties(Map.of(
                        "spring.main.banner-mode", "off",
                        "management.endpoint.health.show-details", "always",
                        "ailb.observations.enabled", "false", // the test traces the attempts itself
                        "ailb.pools.chat.strategy", "round-robin",
                        "ailb.pools.chat.health-check.type", "tcp",
                        "ailb.pools.chat.unhealthy-threshold", "1",
                        "ailb.pools.chat.outlier-detection.enabled", "false",
                        "ailb.pools.chat.chat-model.enabled", "true",
                        "ailb.pools.chat.chat-model.model", "llama"))
                .properties("ailb.pools.chat.backends.a.host=" + LoopbackServer.HOST,
                        "ailb.pools.chat.backends.a.port=" + a.port(),
                        "ailb.pools.chat.backends.b.host=" + LoopbackServer.HOST,
                        "ailb.pools.chat.backends.b.port=" + b.port(),
                        "ailb.pools.chat.backends.c.host=" + LoopbackServer.HOST,
                        "ailb.pools.chat.backends.c.port=" + c.port())
                .run()) {
            LoadBalancer pool = BeanFactoryAnnotationUtils.qualifiedBeanOfType(context.getBeanFactory(),
                    LoadBalancer.class, "chat");
            OpenAiChatModel chat = BeanFactoryAnnotationUtils.qualifiedBeanOfType(context.getBeanFactory(),
                    OpenAiChatModel.class, "chat");
            assertThat(context.getBean("chatChatModel")).isSameAs(chat);
            HealthEndpoint health = context.getBean(HealthEndpoint.class);
            assertThat(pool.isHealthCheckerRunning()).isTrue();
            pool.performHealthChecks();
            assertThat(health.healthForPath("ailb", "chat").getStatus()).isEqualTo(Status.UP);

            // whole answers, one per backend in turn
            for (int i = 0; i < 3; i++) {
                assertThat(chat.call("Say hello")).isEqualTo("Hello");
            }
            assertThat(List.of(nextEnd(), nextEnd(), nextEnd()))
                    .containsExactlyInAnyOrder("a SUCCESS", "b SUCCESS", "c SUCCESS");
            assertThat(a.endpoint().lastRequestBody()).contains("\"model\":\"llama\"").contains("Say hello");

            // a streamed answer, its lease ended once, at its end
            assertThat(streamed(chat, "Say hello")).isEqualTo("Hello");
            assertThat(nextEnd()).isEqualTo("a SUCCESS");

            // c stops; one check round takes it down, in health and in the pool
            c.server().stop();
            pool.performHealthChecks();
            IndicatedHealthDescriptor chatHealth = (IndicatedHealthDescriptor) health.healthForPath("ailb", "chat");
            assertThat(chatHealth.getStatus()).isEqualTo(Status.UP);
            assertThat(chatHealth.getDetails()).containsEntry("available", 2);
            @SuppressWarnings("unchecked")
            Map<String, PoolState.BackendState> backends =
                    (Map<String, PoolState.BackendState>) chatHealth.getDetails().get("backends");
            assertThat(backends.get("c").available()).isFalse();

            // and its traffic moves: whole and streamed answers go to a and b only
            int cBefore = c.endpoint().requests();
            for (int i = 0; i < 4; i++) {
                assertThat(chat.call("Say hello")).isEqualTo("Hello");
                assertThat(nextEnd()).isIn("a SUCCESS", "b SUCCESS");
            }
            assertThat(streamed(chat, "Say hello")).isEqualTo("Hello");
            assertThat(nextEnd()).isIn("a SUCCESS", "b SUCCESS");
            assertThat(c.endpoint().requests()).isEqualTo(cBefore);
            assertThat(ChatApplication.ENDED).isEmpty();

            // every count exact: nothing in flight, nothing failed
            assertThat(pool.getBackendStats("a").activeConnections()).isZero();
            assertThat(pool.getBackendStats("b").activeConnections()).isZero();
            assertThat(pool.getBackendStats("a").totalRequests() + pool.getBackendStats("b").totalRequests())
                    .isEqualTo(8);
            assertThat(pool.getBackendStats("c").totalRequests()).isEqualTo(1);
            assertThat(a.endpoint().requests() + b.endpoint().requests()).isEqualTo(8);
            for (String id : List.of("a", "b", "c")) {
                assertThat(pool.getBackendStats(id).failures()).as(id).isZero();
            }

            context.close();
            assertThat(pool.isClosed()).isTrue();
        }
    }
}
