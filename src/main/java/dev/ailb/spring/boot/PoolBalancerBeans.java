package dev.ailb.spring.boot;

import dev.ailb.LoadBalancer;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.support.AutowireCandidateQualifier;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.RootBeanDefinition;

/**
 * Each pool's {@link LoadBalancer} as a bean named {@code <pool>LoadBalancer} and qualified by the
 * pool's name, taken from {@link LoadBalancerPools}, which builds, starts and closes it.
 */
final class PoolBalancerBeans extends PerPoolBeans {
    @Override
    void register(String pool, BeanDefinitionRegistry registry) {
        RootBeanDefinition balancer = new RootBeanDefinition(LoadBalancer.class);
        balancer.setFactoryBeanName(POOLS_BEAN);
        balancer.setFactoryMethodName("get");
        balancer.getConstructorArgumentValues().addGenericArgumentValue(pool);
        balancer.addQualifier(new AutowireCandidateQualifier(Qualifier.class, pool));
        // LoadBalancerPools closes it with the context; the bean itself is only a view of it.
        balancer.setDestroyMethodName("");
        registry.registerBeanDefinition(balancerBeanName(pool), balancer);
    }
}
