package dev.ailb.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.AttemptTracer;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import dev.ailb.micrometer.ObservationAttemptTracing;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * With an {@link ObservationRegistry} in the context, every pool's attempts are observations
 * ({@link ObservationAttemptTracing}) without a line of the application's; without one, or with
 * {@code ailb.observations.enabled=false}, the pools trace nothing and a customizer may set its own
 * tracing. No backend is ever connected to: the leases are taken and released in memory.
 */
class PoolObservationsTest {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(AilbAutoConfiguration.class))
            .withPropertyValues("ailb.pools.chat.backends.a.host=10.0.0.1", "ailb.pools.chat.backends.a.port=8000");

    private static void oneAttempt(LoadBalancer pool) {
        try (Lease lease = pool.acquire(new Request("r1", "127.0.0.1", "/v1/chat/completions"))) {
            lease.success();
        }
    }

    @Test
    void withARegistryEveryAttemptIsAnObservation() {
        TestObservationRegistry registry = TestObservationRegistry.create();
        runner.withBean(ObservationRegistry.class, () -> registry).run(context -> {
            assertThat(context).hasNotFailed();
            oneAttempt(context.getBean(LoadBalancerPools.class).get("chat"));

            TestObservationRegistryAssert.assertThat(registry)
                    .hasObservationWithNameEqualTo(ObservationAttemptTracing.NAME)
                    .that()
                    .hasBeenStarted()
                    .hasBeenStopped()
                    .hasLowCardinalityKeyValue("balancer", "chat")
                    .hasLowCardinalityKeyValue("backend", "a");
        });
    }

    @Test
    void turnedOffTheApplicationsOwnTracingIsTheOneUsed() {
        TestObservationRegistry registry = TestObservationRegistry.create();
        List<String> ended = new ArrayList<>();
        runner.withBean(ObservationRegistry.class, () -> registry)
                .withPropertyValues("ailb.observations.enabled=false")
                .withBean(LoadBalancerBuilderCustomizer.class, () -> (pool, builder) -> builder.attemptTracing(
                        decision -> (AttemptTracer) (outcome, failure) -> ended.add(decision.backend() + " " + outcome)))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    oneAttempt(context.getBean(LoadBalancerPools.class).get("chat"));

                    assertThat(ended).containsExactly("a SUCCESS");
                    TestObservationRegistryAssert.assertThat(registry).doesNotHaveAnyObservation();
                });
    }

    @Test
    void withoutARegistryTheAutoConfigurationLeavesTheTracingToTheApplication() {
        List<String> ended = new ArrayList<>();
        runner.withBean(LoadBalancerBuilderCustomizer.class, () -> (pool, builder) -> builder.attemptTracing(
                        decision -> (AttemptTracer) (outcome, failure) -> ended.add(decision.backend() + " " + outcome)))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).doesNotHaveBean(ObservationRegistry.class);
                    oneAttempt(context.getBean(LoadBalancerPools.class).get("chat"));

                    assertThat(ended).containsExactly("a SUCCESS");
                });
    }
}
