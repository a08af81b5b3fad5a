package dev.ailb.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.LoadBalancer;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ScriptedEndpoint;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.annotation.ImportCandidates;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;

/**
 * An application as a user writes it: {@code @EnableAutoConfiguration} finds the auto-configuration
 * through its imports file, among every other one on the test class path, and a bean of the
 * application takes a pool by its name.
 */
class SpringApplicationTest {

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class ChatApplication {
        @Bean
        ChatService chatService(@Qualifier("chat") LoadBalancer chat) {
            return new ChatService(chat);
        }
    }

    record ChatService(LoadBalancer pool) {}

    @Test
    void theImportsFileNamesTheAutoConfiguration() {
        assertThat(ImportCandidates.load(AutoConfiguration.class, getClass().getClassLoader()).getCandidates())
                .contains(AilbAutoConfiguration.class.getName());
    }

    @Test
    void anApplicationGetsItsPoolByNameAndItsHealth() {
        try (LoopbackServer server = LoopbackServer.start("app", Map.of("/health", ScriptedEndpoint.answering(200)));
                ConfigurableApplicationContext context = new SpringApplicationBuilder(ChatApplication.class)
                        .web(WebApplicationType.NONE)
                        .properties("ailb.pools.chat.health-check.path=/health",
                                "ailb.pools.chat.backends.gpu-1.host=127.0.0.1",
                                "ailb.pools.chat.backends.gpu-1.port=" + server.port(),
                                "spring.main.banner-mode=off")
                        .run()) {
            LoadBalancer chat = context.getBean(ChatService.class).pool();

            assertThat(chat.name()).isEqualTo("chat");
            assertThat(chat.isHealthCheckerRunning()).isTrue();
            chat.performHealthChecks();
            assertThat(chat.getBackendStats("gpu-1").health().consecutiveCheckSuccesses()).isOne();
            assertThat(context.getBean(HealthEndpoint.class).healthForPath("ailb", "chat").getStatus())
                    .isEqualTo(Status.UP);
            context.close();
            assertThat(chat.isClosed()).isTrue();
        }
    }
}
