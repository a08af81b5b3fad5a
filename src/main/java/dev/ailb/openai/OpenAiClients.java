package dev.ailb.openai;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.quote;

import com.openai.client.OpenAIClient;
import com.openai.client.OpenAIClientAsync;
import com.openai.client.OpenAIClientImpl;
import com.openai.core.ClientOptions;
import com.openai.core.RequestOptions;
import com.openai.core.http.HttpClient;
import com.openai.core.http.HttpRequest;
import com.openai.core.http.HttpResponse;
import com.openai.credential.Credential;
import dev.ailb.LoadBalancer;
import dev.ailb.internal.IdleDaemonThreads;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.function.Consumer;

/**
 * The OpenAI Java SDK's clients on a pool: an {@link OpenAIClient} or {@link OpenAIClientAsync}
 * whose every request goes through a {@link LoadBalancer}, over a
 * {@link BalancedOpenAiHttpClient}.
 *
 * <pre>{@code
 * OpenAIClient openAi = OpenAiClients.client(lb);
 * ChatCompletion answer = openAi.chat().completions().create(ChatCompletionCreateParams.builder()
 *         .model("meta-llama/Llama-3.1-8B-Instruct")
 *         .addUserMessage("Hello")
 *         .build());
 * }</pre>
 *
 * <p>The clients are built with the SDK's own settings but for four, which are the pool's: the
 * transport; the base URL, a label whose host nothing connects to
 * ({@code http://ailb.invalid} with the {@linkplain Builder#basePath base path}, {@code /v1} by
 * default), since each request goes to the host and port of its backend; no retries
 * ({@code maxRetries(0)}), since the balancer retries a 5xx answer or a failed connection on
 * another backend within its retry budget, and a retry of the SDK would be counted again; and
 * the credential. The SDK will not send a request without one: with an
 * {@linkplain Builder#apiKey API key} each request carries it as {@code Authorization: Bearer},
 * and without one (a fleet that asks for none, as on loopback) the clients hold a placeholder
 * key to satisfy the SDK, and drop its header before the request is sent: the backends get no
 * {@code Authorization} header at all. The SDK does not read {@code OPENAI_API_KEY} or the other
 * variables of its environment here.
 *
 * <p>Close a client when done with it: it stops the SDK's threads. A client left open (as under
 * a chat model that nothing closes) holds no JVM open: the threads that read its streams are
 * daemons of its own, {@code ailb-openai-stream-<n>}, ended after a minute idle, unless the
 * options give the SDK an executor. The balancer stays open; it is the application's.
 * Thread-safe.
 */
public final class OpenAiClients {
    /** The host of the SDK's base URL: a name that resolves nowhere (RFC 2606), never connected to. */
    static final String LABEL_HOST = "http://ailb.invalid";

    private OpenAiClients() {}

    /**
     * A client on a pool, without an API key, routing by prompt and token estimate.
     *
     * @param balancer the pool
     * @return the client
     * @throws NullPointerException if {@code balancer} is null
     */
    public static OpenAIClient client(LoadBalancer balancer) {
        return builder(balancer).build();
    }

    /**
     * An asynchronous client on a pool, without an API key, routing by prompt and token
     * estimate.
     *
     * @param balancer the pool
     * @return the client
     * @throws NullPointerException if {@code balancer} is null
     */
    public static OpenAIClientAsync asyncClient(LoadBalancer balancer) {
        return builder(balancer).buildAsync();
    }

    /**
     * A builder of clients on a pool, over a transport of its own
     * ({@link BalancedOpenAiHttpClient#of}).
     *
     * @param balancer the pool
     * @return a new builder
     * @throws NullPointerException if {@code balancer} is null
     */
    public static Builder builder(LoadBalancer balancer) {
        return new Builder(BalancedOpenAiHttpClient.of(checkNotNull(balancer, "balancer")));
    }

    /**
     * A builder of clients over a transport, for one built with settings of its own (routing by
     * model, a {@link dev.ailb.http.BalancedHttpClient} with call options).
     *
     * @param transport the transport
     * @return a new builder
     * @throws NullPointerException if {@code transport} is null
     */
    public static Builder builder(BalancedOpenAiHttpClient transport) {
        return new Builder(checkNotNull(transport, "transport"));
    }

    /** Builds the SDK's clients on a pool. Not thread-safe. */
    public static final class Builder {
        private final BalancedOpenAiHttpClient transport;
        private String apiKey;
        private Credential credential;
        private String basePath = "/v1";
        private Consumer<ClientOptions.Builder> options = builder -> { };

        private Builder(BalancedOpenAiHttpClient transport) {
            this.transport = transport;
        }

        /**
         * The API key the backends ask for, sent as {@code Authorization: Bearer}; none by default.
         *
         * @param apiKey the key, not blank
         * @return this builder
         * @throws NullPointerException     if {@code apiKey} is null
         * @throws IllegalArgumentException if it is blank
         * @throws IllegalStateException    if a {@linkplain #credential credential} was set
         */
        public Builder apiKey(String apiKey) {
            checkNotNull(apiKey, "apiKey");
            if (credential != null) {
                throw new IllegalStateException("apiKey: a credential was already set (expected: one of the two)");
            }
            if (apiKey.isBlank()) {
                // The key is a secret: its length is shown, not its text.
                throw new IllegalArgumentException("apiKey: a blank key of length " + apiKey.length()
                        + " (expected: not blank; leave it unset for backends that ask for none)");
            }
            this.apiKey = apiKey;
            return this;
        }

        /**
         * A credential of the SDK's instead of an API key: a supplier of bearer tokens, say.
         *
         * @param credential the credential
         * @return this builder
         * @throws NullPointerException  if {@code credential} is null
         * @throws IllegalStateException if an API key was set
         */
        public Builder credential(Credential credential) {
            checkNotNull(credential, "credential");
            if (apiKey != null) {
                throw new IllegalStateException("credential: an API key was already set (expected: one of the two)");
            }
            this.credential = credential;
            return this;
        }

        /**
         * The path the SDK's request paths start with, as the backends serve them: {@code /v1}
         * by default, as vLLM, TGI and SGLang serve the OpenAI API; empty for a backend serving
         * it at the root.
         *
         * @param basePath empty, or an absolute path without a query
         * @return this builder
         * @throws NullPointerException     if {@code basePath} is null
         * @throws IllegalArgumentException if it is neither
         */
        public Builder basePath(String basePath) {
            checkNotNull(basePath, "basePath");
            if (!basePath.isEmpty() && (!basePath.startsWith("/") || basePath.startsWith("//")
                    || basePath.indexOf('?') >= 0 || basePath.indexOf('#') >= 0
                    || basePath.chars().anyMatch(c -> c <= ' ' || c == 0x7f))) {
                throw new IllegalArgumentException("basePath: " + quote(basePath)
                        + " (expected: empty, or an absolute path such as /v1)");
            }
            this.basePath = basePath.endsWith("/") ? basePath.substring(0, basePath.length() - 1) : basePath;
            return this;
        }

        /**
         * More of the SDK's settings, applied to its builder in the order given (each call adds
         * to the ones before) and before the pool's own (the
         * transport, the base URL, no retries, the credential), which win: default headers, an
         * organization or project, timeouts, the JSON mapper, the log level. Set the API key with
         * {@link #apiKey} or {@link #credential}: without either, a credential set here makes
         * {@link #build} fail with the SDK's {@link IllegalStateException}.
         *
         * @param options applies settings to the SDK's builder
         * @return this builder
         * @throws NullPointerException if {@code options} is null
         */
        public Builder options(Consumer<ClientOptions.Builder> options) {
            this.options = this.options.andThen(checkNotNull(options, "options"));
            return this;
        }

        /**
         * The client.
         *
         * @return a new client; close it when done
         * @throws IllegalStateException if the SDK refuses its settings
         */
        public OpenAIClient build() {
            ClientOptions.Builder sdk = ClientOptions.builder();
            // Set first, so that an executor given in the options wins.
            sdk.streamHandlerExecutor(streamThreads());
            options.accept(sdk);
            sdk.baseUrl(LABEL_HOST + basePath).maxRetries(0);
            if (apiKey != null) {
                sdk.apiKey(apiKey).httpClient(transport);
            } else if (credential != null) {
                sdk.credential(credential).httpClient(transport);
            } else {
                sdk.apiKey(WithoutCredential.PLACEHOLDER_KEY).httpClient(new WithoutCredential(transport));
            }
            return new OpenAIClientImpl(sdk.build());
        }

        /**
         * The asynchronous client: {@link OpenAIClient#async()} of a new client, sharing its
         * settings and threads.
         *
         * @return a new client; close it when done
         * @throws IllegalStateException if the SDK refuses its settings
         */
        public OpenAIClientAsync buildAsync() {
            return build().async();
        }
    }

    /**
     * The threads on which a client's SDK reads streamed answers: daemon threads of its own,
     * {@code ailb-openai-stream-<n>}, made as streams need them and ended after a minute idle, and
     * shut down when the client is closed. The SDK's default threads are not daemons: a client
     * left open, such as the one under a chat model bean that nothing closes, would hold the JVM
     * for a minute after its last stream.
     */
    private static ExecutorService streamThreads() {
        return IdleDaemonThreads.named("ailb-openai-stream-");
    }

    /**
     * The transport of a client without a credential. The SDK sends nothing without one, so such a
     * client has a placeholder key, whose {@code Authorization} header this drops from every
     * request before the balancer sees it: the backends get no header at all.
     */
    private static final class WithoutCredential implements HttpClient {
        static final String PLACEHOLDER_KEY = "ailb-no-api-key";
        private static final String PLACEHOLDER_HEADER = "Bearer " + PLACEHOLDER_KEY;

        private final HttpClient transport;

        WithoutCredential(HttpClient transport) {
            this.transport = transport;
        }

        @Override
        public HttpResponse execute(HttpRequest request, RequestOptions requestOptions) {
            return transport.execute(withoutPlaceholder(request), requestOptions);
        }

        @Override
        public CompletableFuture<HttpResponse> executeAsync(HttpRequest request, RequestOptions requestOptions) {
            return transport.executeAsync(withoutPlaceholder(request), requestOptions);
        }

        private static HttpRequest withoutPlaceholder(HttpRequest request) {
            return request.headers().values("Authorization").contains(PLACEHOLDER_HEADER)
                    ? request.toBuilder().removeHeaders("Authorization").build()
                    : request;
        }

        @Override
        public void close() {
            transport.close();
        }
    }
}
