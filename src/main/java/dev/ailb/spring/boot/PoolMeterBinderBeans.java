package dev.ailb.spring.boot;

import dev.ailb.micrometer.LoadBalancerMeterBinder;
import org.springframework.beans.factory.config.RuntimeBeanReference;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.RootBeanDefinition;

/**
 * Each pool's meters: a {@link LoadBalancerMeterBinder} bean named {@code <pool>MeterBinder},
 * which Spring Boot binds to the application's meter registries. Its meters carry the tag
 * {@code balancer=<pool>}.
 */
final class PoolMeterBinderBeans extends PerPoolBeans {
    @Override
    void register(String pool, BeanDefinitionRegistry registry) {
        RootBeanDefinition binder = new RootBeanDefinition(LoadBalancerMeterBinder.class);
        binder.getConstructorArgumentValues().addIndexedArgumentValue(0,
                new RuntimeBeanReference(balancerBeanName(pool)));
        registry.registerBeanDefinition(pool + "MeterBinder", binder);
    }
}
