package dev.ailb.spring.boot;

import dev.ailb.LoadBalancer;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * The auto-configuration of ailb's pools, active when the application sets {@code ailb.pools.*}
 * (see {@link AilbProperties}); without them it creates nothing, and without Spring Boot nothing
 * loads it. It creates:
 * <ul>
 *   <li>{@link LoadBalancerPools}, every pool by name, built from the properties and the
 *       {@link LoadBalancerBuilderCustomizer} beans;</li>
 *   <li>each pool's {@link LoadBalancer}, a bean named {@code <pool>LoadBalancer} and qualified
 *       by the pool's name ({@code @Qualifier("chat")});</li>
 *   <li>the pools' lifecycle: health checks, load polls and model discovery start with the
 *       context and stop with it, and the pools close with it;</li>
 *   <li>with Micrometer, a {@code LoadBalancerMeterBinder} per pool ({@code <pool>MeterBinder}),
 *       which Spring Boot binds to its meter registries;</li>
 *   <li>with an {@code ObservationRegistry}, every pool's attempts as observations
 *       ({@code ObservationAttemptTracing}; {@code ailb.observations.enabled=false} turns it
 *       off);</li>
 *   <li>with Spring Boot's health module, the health contributor {@code ailb}, one indicator per
 *       pool: down when no backend of it takes requests, each backend's state in the details
 *       ({@code management.health.ailb.enabled=false} turns it off);</li>
 *   <li>with Actuator, the endpoint {@code ailb} ({@link LoadBalancerEndpoint});</li>
 *   <li>with Spring AI's OpenAI module, for each pool that sets {@code chat-model.enabled}, an
 *       {@code OpenAiChatModel} over the pool ({@code <pool>ChatModel}, qualified by the pool's
 *       name).</li>
 * </ul>
 *
 * <p>Spring creates it once, on the thread that refreshes the context; it holds no state of its
 * own, and the beans it makes say how each may be shared.
 */
@AutoConfiguration(afterName = "org.springframework.boot.micrometer.observation.autoconfigure.ObservationAutoConfiguration")
@Conditional(AilbAutoConfiguration.OnPools.class)
@EnableConfigurationProperties(AilbProperties.class)
@Import(PoolBalancerBeans.class)
public class AilbAutoConfiguration {

    /** Created by Spring Boot. */
    public AilbAutoConfiguration() {}

    /**
     * Every pool, built from the properties with every customizer applied.
     *
     * @param properties  the {@code ailb.*} properties
     * @param customizers the customizers, in their order
     * @return the pools
     * @throws IllegalArgumentException naming the first key of a pool that is unknown, missing or
     *                                  bad; no pool is left open then
     */
    @Bean(name = PerPoolBeans.POOLS_BEAN, destroyMethod = "closeAll")
    public LoadBalancerPools loadBalancerPools(AilbProperties properties,
            ObjectProvider<LoadBalancerBuilderCustomizer> customizers) {
        return PoolFactory.build(properties, customizers.orderedStream().toList());
    }

    /** Starts the pools' checks with the context, stops them with it, and closes the pools. */
    @Bean
    PoolsLifecycle ailbPoolsLifecycle(LoadBalancerPools pools) {
        return new PoolsLifecycle(pools);
    }

    // Each framework's per-pool beans come as a nested configuration under that framework's
    // condition, importing a PerPoolBeans subclass: the meter binders and the chat models below.

    /** Each attempt as a Micrometer Observation, where the Observation API is. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "io.micrometer.observation.ObservationRegistry")
    @Import(PoolObservations.class)
    static class Observations {}

    /** A Spring AI chat model per pool that asks for one, where Spring AI's OpenAI module is. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = {"org.springframework.ai.openai.OpenAiChatModel", "com.openai.client.OpenAIClient"})
    @Import(PoolChatModelBeans.class)
    static class SpringAi {}

    /** A meter binder per pool, where Micrometer is. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "io.micrometer.core.instrument.binder.MeterBinder")
    @Import(PoolMeterBinderBeans.class)
    static class Metrics {}

    /**
     * The health contributor, where Spring Boot's health module is. Its own condition on
     * {@code management.health.ailb.enabled} is on the class it imports: that condition's class is
     * in the health module, so it may be read only once the module is known to be there.
     */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
    @Import(PoolHealthConfiguration.class)
    static class Health {}

    /** The endpoint {@code ailb}, where Actuator is. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.springframework.boot.actuate.endpoint.annotation.Endpoint")
    static class Actuator {
        @Bean
        @ConditionalOnMissingBean
        LoadBalancerEndpoint loadBalancerEndpoint(LoadBalancerPools pools) {
            return new LoadBalancerEndpoint(pools);
        }
    }

    /** Matches when at least one pool is named under {@code ailb.pools}. */
    static final class OnPools extends SpringBootCondition {
        @Override
        public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
            var names = PerPoolBeans.poolNames(context.getEnvironment());
            return names.isEmpty()
                    ? ConditionOutcome.noMatch("no pool under ailb.pools")
                    : ConditionOutcome.match("pools under ailb.pools: " + names);
        }
    }
}
