package dev.ailb.spring.ai;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.quote;

import com.openai.client.OpenAIClient;
import dev.ailb.LoadBalancer;
import dev.ailb.openai.OpenAiClients;
import java.net.URI;
import java.util.Map;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;

/**
 * Spring AI's {@link OpenAiChatModel} on a pool: its {@code call} and {@code stream} go through a
 * {@link LoadBalancer}, each request to the backend the balancer picks, over the OpenAI Java SDK's
 * clients that {@link OpenAiClients} builds. A whole answer holds its lease until the SDK has read
 * it; a stream until it ends, fails or its subscriber cancels it ({@code take(n)}, a disposed
 * subscription), whichever comes first, and then exactly once.
 *
 * <pre>{@code
 * OpenAiChatModel chat = OpenAiChatModels.create(lb, OpenAiChatOptions.builder()
 *         .model("meta-llama/Llama-3.1-8B-Instruct")
 *         .temperature(0.2)
 *         .build());
 * String answer = chat.call("Hello");
 * Flux<String> tokens = chat.stream("Hello");
 * }</pre>
 *
 * <p>The options are the model's defaults, as Spring AI takes them (model, temperature, tools,
 * ...), and some of them set the clients: the API key or credential (none: no
 * {@code Authorization} header), the organization, the custom headers, the timeout (until an
 * answer's headers are in, per attempt) and the path of the base URL ({@code /v1} when none is
 * given). The base URL's scheme, host and port are not used: each request goes to its backend.
 * Nor is {@code maxRetries}: the balancer retries a 5xx answer or a failed connection on another
 * backend within its retry policy and budget, and the SDK retries nothing. The settings of
 * Azure, Microsoft Foundry, GitHub Models and the proxy do not apply to a pool.
 *
 * <p>Stateless and thread-safe; the models are as thread-safe as Spring AI makes them. Each model
 * has SDK clients of its own, whose threads end when the model is no longer reachable.
 */
public final class OpenAiChatModels {
    private static final String DEFAULT_BASE_PATH = "/v1";

    private OpenAiChatModels() {}

    /**
     * A chat model on a pool, routing by prompt and token estimate.
     *
     * @param balancer the pool
     * @param options  the model's options
     * @return the chat model
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the options' base URL is not a URL, or its API key is blank
     * @throws IllegalStateException    if the options hold both an API key and a credential
     */
    public static OpenAiChatModel create(LoadBalancer balancer, OpenAiChatOptions options) {
        return builder(OpenAiClients.builder(checkNotNull(balancer, "balancer")), options).build();
    }

    /**
     * Spring AI's builder of a chat model, its clients built by {@code clients} with the
     * options' settings added, and its options set: for a transport of its own (routing by
     * model, say), more of the SDK's settings, or what else Spring AI's builder takes (an
     * observation registry). Leave its clients as they are.
     *
     * <pre>{@code
     * OpenAiChatModel chat = OpenAiChatModels.builder(
     *                 OpenAiClients.builder(BalancedOpenAiHttpClient.builder(BalancedHttpClient.of(lb))
     *                         .routeByModel().build()),
     *                 options)
     *         .observationRegistry(registry)
     *         .build();
     * }</pre>
     *
     * @param clients the builder of the SDK's clients, which this changes
     * @param options the model's options
     * @return Spring AI's builder
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the options' base URL is not a URL, or its API key is blank
     * @throws IllegalStateException    if the options hold both an API key and a credential (the
     *                                  builder left as it was), or {@code clients} has one already
     */
    public static OpenAiChatModel.Builder builder(OpenAiClients.Builder clients, OpenAiChatOptions options) {
        checkNotNull(clients, "clients");
        checkNotNull(options, "options");
        OpenAIClient client = withOptions(clients, options).build();
        return OpenAiChatModel.builder()
                .openAiClient(client)
                .openAiClientAsync(client.async())
                .options(options);
    }

    /** The clients' builder with the settings the options give. */
    private static OpenAiClients.Builder withOptions(OpenAiClients.Builder clients, OpenAiChatOptions options) {
        String basePath = basePath(options.getBaseUrl());
        if (options.getApiKey() != null && options.getCredential() != null) {
            // Checked before the clients' builder is touched, so that a refusal leaves it as it was.
            throw new IllegalStateException("options: both an API key and a credential (expected: one of the two)");
        }
        if (options.getApiKey() != null) {
            clients.apiKey(options.getApiKey());
        }
        if (options.getCredential() != null) {
            clients.credential(options.getCredential());
        }
        clients.basePath(basePath);
        String organization = options.getOrganizationId();
        Map<String, String> headers = options.getCustomHeaders();
        clients.options(sdk -> {
            sdk.timeout(options.getTimeout());
            if (organization != null) {
                sdk.organization(organization);
            }
            if (headers != null) {
                headers.forEach(sdk::putHeader);
            }
        });
        return clients;
    }

    /** The path of the options' base URL, whose host is the backend's; {@code /v1} without one. */
    private static String basePath(String baseUrl) {
        if (baseUrl == null) {
            return DEFAULT_BASE_PATH;
        }
        URI uri;
        try {
            uri = URI.create(baseUrl);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("baseUrl: " + quote(baseUrl) + " (expected: a URL such as http://localhost:8000/v1)", e);
        }
        return uri.getRawPath() == null ? "" : uri.getRawPath();
    }
}
