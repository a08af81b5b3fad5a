package dev.ailb.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * Which pools get a chat model bean: those that set {@code chat-model.enabled}, each key a pool
 * leaves out taken from {@code ailb.defaults.chat-model}, as every other key of a pool is. Building
 * a chat model connects to nothing.
 */
class PoolChatModelBeansTest {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(AilbAutoConfiguration.class))
            .withPropertyValues("ailb.pools.chat.backends.a.host=10.0.0.1", "ailb.pools.chat.backends.a.port=8000",
                    "ailb.pools.code.backends.b.host=10.0.0.2", "ailb.pools.code.backends.b.port=8000",
                    "ailb.pools.embeddings.backends.e.host=10.0.0.3", "ailb.pools.embeddings.backends.e.port=8000");

    @Test
    void noPoolAsksNoChatModel() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).doesNotHaveBean(OpenAiChatModel.class);
        });
    }

    @Test
    void aPoolsOwnKeysAreMergedOverTheDefaultsKeyByKey() {
        runner.withPropertyValues("ailb.defaults.chat-model.enabled=true", "ailb.defaults.chat-model.model=llama",
                        "ailb.pools.code.chat-model.model=qwen-coder",
                        "ailb.pools.embeddings.chat-model.enabled=false")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBeansOfType(OpenAiChatModel.class))
                            .containsOnlyKeys("chatChatModel", "codeChatModel");
                    assertThat(context.getBean("chatChatModel", OpenAiChatModel.class).getOptions().getModel())
                            .isEqualTo("llama");
                    assertThat(context.getBean("codeChatModel", OpenAiChatModel.class).getOptions().getModel())
                            .isEqualTo("qwen-coder");
                });
    }
}
