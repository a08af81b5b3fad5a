package dev.ailb.spring.boot;

import java.util.Map;
import java.util.Set;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.EnvironmentAware;
import org.springframework.context.annotation.ImportBeanDefinitionRegistrar;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotationMetadata;

/**
 * Registers beans of one kind per pool, one for each name under {@code ailb.pools}: the pools'
 * names are known from the environment before any bean exists, so that each bean can be injected
 * by its pool's name. A subclass says which bean; the auto-configuration imports each subclass
 * under the conditions of its framework (the meter binders only when Micrometer is there). A
 * further per-pool bean, such as a chat model over each pool, is one more subclass imported the
 * same way.
 */
abstract class PerPoolBeans implements ImportBeanDefinitionRegistrar, EnvironmentAware {
    /** The bean of all pools, which every per-pool bean is taken from. */
    static final String POOLS_BEAN = "loadBalancerPools";

    private Environment environment;

    @Override
    public void setEnvironment(Environment environment) {
        this.environment = environment;
    }

    @Override
    public void registerBeanDefinitions(AnnotationMetadata importingClass, BeanDefinitionRegistry registry) {
        for (String pool : poolNames(environment)) {
            register(pool, registry);
        }
    }

    /** The environment the pools' names were read from. */
    Environment environment() {
        return environment;
    }

    /** Registers this kind's bean for one pool. */
    abstract void register(String pool, BeanDefinitionRegistry registry);

    /** The name under which a pool's balancer is registered: {@code chat} gives {@code chatLoadBalancer}. */
    static String balancerBeanName(String pool) {
        return pool + "LoadBalancer";
    }

    /**
     * The names under {@code ailb.pools}, in the order of the configuration. Only the names are
     * read here; the values are bound and checked with the pools.
     */
    static Set<String> poolNames(Environment environment) {
        return Binder.get(environment)
                .bind("ailb.pools", Bindable.mapOf(String.class, Object.class))
                .map(Map::keySet)
                .orElse(Set.of());
    }
}
