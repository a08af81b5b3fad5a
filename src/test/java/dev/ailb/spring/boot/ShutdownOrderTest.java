package dev.ailb.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The pools close after the beans that use them: a bean that sends a last request through its
 * pool in its own shutdown finds the pool open, and the pool is closed once the context is.
 * No backend is connected to: the lease is taken and released in memory.
 */
class ShutdownOrderTest {
    private static final List<String> EVENTS = new ArrayList<>();

    /** Sends one request through its pool when it is destroyed, and says whether the pool was open. */
    record LastWords(LoadBalancer pool) implements DisposableBean {
        @Override
        public void destroy() {
            EVENTS.add("pool open at the bean's shutdown: " + !pool.isClosed());
            try (Lease lease = pool.acquire(new Request("last", "127.0.0.1", "/v1/chat/completions"))) {
                lease.success();
                EVENTS.add("last request on " + lease.backend().id());
            }
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Application {
        @Bean
        LastWords lastWords(@Qualifier("chat") LoadBalancer chat) {
            return new LastWords(chat);
        }
    }

    @Test
    void aBeanThatUsesItsPoolInItsShutdownFindsItOpen() {
        EVENTS.clear();
        LoadBalancer[] pool = new LoadBalancer[1];
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(AilbAutoConfiguration.class))
                .withUserConfiguration(Application.class)
                .withPropertyValues("ailb.pools.chat.backends.a.host=10.0.0.1", "ailb.pools.chat.backends.a.port=8000")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    pool[0] = context.getBean(LastWords.class).pool();
                });

        assertThat(EVENTS).containsExactly("pool open at the bean's shutdown: true", "last request on a");
        assertThat(pool[0].isClosed()).isTrue();
        assertThat(pool[0].getBackendStats("a").successes()).isOne();
    }
}
