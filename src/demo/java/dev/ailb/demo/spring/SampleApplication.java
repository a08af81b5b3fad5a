package dev.ailb.demo.spring;

import dev.ailb.LoadBalancer;
import dev.ailb.spring.boot.LoadBalancerBuilderCustomizer;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;

/**
 * The Spring Boot application of the sample: the auto-configuration builds the pool {@code chat}
 * and its chat model from the properties {@link SpringBootSample} sets; the application adds an
 * {@link AttemptLog} that the pool reports its attempts to, and the {@link Assistant} service.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
class SampleApplication {

    @Bean
    AttemptLog attemptLog() {
        return new AttemptLog();
    }

    /** Every attempt of the pool {@code chat} is reported to the log. */
    @Bean
    LoadBalancerBuilderCustomizer chatAttemptLog(AttemptLog log) {
        return (pool, builder) -> {
            if (pool.equals(SpringBootSample.POOL)) {
                builder.attemptTracing(log);
            }
        };
    }

    @Bean
    Assistant assistant(@Qualifier(SpringBootSample.POOL) OpenAiChatModel chat,
            @Qualifier(SpringBootSample.POOL) LoadBalancer pool, AttemptLog log) {
        return new Assistant(chat, pool, log);
    }
}
