package dev.ailb.spring.boot;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The health contributor {@code ailb}: one {@link PoolHealthIndicator} per pool, under the pool's
 * name ({@code /actuator/health/ailb/chat}). Imported by {@link AilbAutoConfiguration} where the
 * health module is; {@code management.health.ailb.enabled=false} turns it off.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnEnabledHealthIndicator("ailb")
class PoolHealthConfiguration {
    @Bean
    CompositeHealthContributor ailbHealthContributor(LoadBalancerPools pools) {
        Map<String, HealthIndicator> indicators = new LinkedHashMap<>();
        pools.asMap().forEach((name, pool) -> indicators.put(name, new PoolHealthIndicator(name, pool)));
        return CompositeHealthContributor.fromMap(indicators);
    }
}
