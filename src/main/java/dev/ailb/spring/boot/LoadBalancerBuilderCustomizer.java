package dev.ailb.spring.boot;

import dev.ailb.LoadBalancerBuilder;

/**
 * Adjusts the builder of a pool before its balancer is built, for what the {@code ailb.pools.*}
 * properties cannot say: a custom strategy or health check, a retry policy, a scheduler, a ticker
 * (tests drive health checks in virtual time this way). Every bean of this type is called for every
 * pool, in the order of {@link org.springframework.core.Ordered} and
 * {@link org.springframework.core.annotation.Order}, with the builder that already holds the pool's
 * properties; a customizer that applies to some pools only looks at the name.
 *
 * <pre>{@code
 * @Bean
 * LoadBalancerBuilderCustomizer chatRetries() {
 *     return (pool, builder) -> {
 *         if (pool.equals("chat")) {
 *             builder.retryPolicy(RetryPolicy.builder().maxAttempts(3).build());
 *         }
 *     };
 * }
 * }</pre>
 *
 * <p>A builder setting may be given once: setting what a property already set fails the
 * application's start with the builder's {@link IllegalStateException}. Called once per pool, on
 * the thread that creates the pools.
 */
@FunctionalInterface
public interface LoadBalancerBuilderCustomizer {

    /**
     * Adjusts one pool's builder.
     *
     * @param pool    the pool's name, as under {@code ailb.pools}
     * @param builder the builder, with the pool's properties applied
     */
    void customize(String pool, LoadBalancerBuilder builder);
}
