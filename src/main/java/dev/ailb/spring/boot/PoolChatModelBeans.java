package dev.ailb.spring.boot;

import dev.ailb.spring.ai.OpenAiChatModels;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.config.RuntimeBeanReference;
import org.springframework.beans.factory.support.AutowireCandidateQualifier;
import org.springframework.beans.factory.support.BeanDefinitionRegistry;
import org.springframework.beans.factory.support.RootBeanDefinition;
import org.springframework.boot.context.properties.bind.Binder;

/**
 * Each pool's Spring AI chat model, for the pools that ask for one
 * ({@code ailb.pools.<pool>.chat-model.enabled=true}, or the same under {@code ailb.defaults}):
 * an {@link OpenAiChatModel} bean named {@code <pool>ChatModel} and qualified by the pool's name,
 * made by {@link OpenAiChatModels#create} on the pool's balancer. Imported only where Spring AI's
 * OpenAI module is.
 */
final class PoolChatModelBeans extends PerPoolBeans {
    @Override
    void register(String pool, BeanDefinitionRegistry registry) {
        AilbProperties.ChatModelSettings settings = settings(pool);
        if (settings == null || !Boolean.TRUE.equals(settings.enabled())) {
            return;
        }
        OpenAiChatOptions.Builder options = OpenAiChatOptions.builder();
        if (settings.model() != null) {
            options.model(settings.model());
        }
        if (settings.maxTokens() != null) {
            options.maxTokens(settings.maxTokens());
        }
        RootBeanDefinition model = new RootBeanDefinition(OpenAiChatModels.class);
        model.setFactoryMethodName("create");
        model.setTargetType(OpenAiChatModel.class);
        model.getConstructorArgumentValues().addIndexedArgumentValue(0,
                new RuntimeBeanReference(balancerBeanName(pool)));
        model.getConstructorArgumentValues().addIndexedArgumentValue(1, options.build());
        model.addQualifier(new AutowireCandidateQualifier(Qualifier.class, pool));
        registry.registerBeanDefinition(pool + "ChatModel", model);
    }

    /**
     * The pool's settings, each key that the pool does not set taken from the defaults, as every
     * other key of a pool is; null when neither sets any.
     */
    private AilbProperties.ChatModelSettings settings(String pool) {
        Binder binder = Binder.get(environment());
        AilbProperties.ChatModelSettings own = binder.bind("ailb.pools." + pool + ".chat-model",
                AilbProperties.ChatModelSettings.class).orElse(null);
        AilbProperties.ChatModelSettings defaults = binder.bind("ailb.defaults.chat-model",
                AilbProperties.ChatModelSettings.class).orElse(null);
        if (own == null || defaults == null) {
            return own != null ? own : defaults;
        }
        return new AilbProperties.ChatModelSettings(
                own.enabled() != null ? own.enabled() : defaults.enabled(),
                own.model() != null ? own.model() : defaults.model(),
                own.maxTokens() != null ? own.maxTokens() : defaults.maxTokens());
    }
}
