package dev.ailb.spring.boot;

import dev.ailb.micrometer.ObservationAttemptTracing;
import io.micrometer.observation.ObservationRegistry;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;

/**
 * Each pool's attempts as Micrometer Observations ({@link ObservationAttemptTracing}, one
 * {@code ailb.attempt} observation per attempt, under the application's current one), on the
 * application's {@link ObservationRegistry}, so that Spring Boot's tracing turns them into spans.
 * Imported only where Micrometer's Observation API is; a context without a registry, or with a
 * no-op one, gets none. {@code ailb.observations.enabled=false} turns it off, for an application
 * that sets a pool's attempt tracing itself with a customizer (a pool takes one).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(prefix = "ailb.observations", name = "enabled", matchIfMissing = true)
class PoolObservations {
    /**
     * Gives every pool attempt tracing on the registry, first of the customizers.
     *
     * @param registry the application's observation registry, if it has one
     * @return the customizer
     */
    @Bean
    @Order(Ordered.HIGHEST_PRECEDENCE)
    LoadBalancerBuilderCustomizer ailbAttemptObservations(ObjectProvider<ObservationRegistry> registry) {
        return (pool, builder) -> {
            ObservationRegistry observations = registry.getIfAvailable();
            if (observations != null && !observations.isNoop()) {
                builder.attemptTracing(new ObservationAttemptTracing(observations));
            }
        };
    }
}
