package dev.ailb.langchain4j;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkPositive;

import dev.ailb.CallOptions;
import dev.ailb.LoadBalancer;
import dev.ailb.http.BalancedHttpClient;
import dev.ailb.internal.IdleDaemonThreads;
import dev.langchain4j.http.client.HttpClient;
import dev.langchain4j.http.client.HttpClientBuilder;
import java.time.Duration;
import java.util.concurrent.Executor;

/**
 * LangChain4j's pluggable HTTP client over a {@link LoadBalancer}: give it to a model's builder
 * and every call of that model goes to a backend of the pool.
 *
 * <pre>{@code
 * ChatModel model = OpenAiChatModel.builder()
 *         .baseUrl("http://fleet/v1")          // its path is kept; its host is replaced by each backend's
 *         .modelName("llama-3.1-8b")
 *         .httpClientBuilder(BalancedHttpClientBuilder.of(lb))
 *         .build();
 * }</pre>
 *
 * <p>Each request (a whole answer with {@code execute(request)}, a stream of server-sent events
 * with {@code execute(request, parser, listener)}) is routed by the balancer as its body describes
 * it, when it is a chat or completion request whose body reads as one: with its prompt
 * ({@link dev.ailb.http.OpenAiPrompt}, for {@link dev.ailb.BalancingStrategy#PREFIX_AFFINITY}),
 * with a token estimate when the body caps the answer (the prompt at four characters a token plus
 * {@code max_completion_tokens} or {@code max_tokens}, for a balancer that
 * {@linkplain dev.ailb.LoadBalancerBuilder#countTokens counts tokens}), and with its model if
 * {@link #routeByModel} is on ({@link dev.ailb.http.OpenAiRequestFields}). Reading the body needs
 * Jackson's {@code jackson-core}, which LangChain4j's OpenAI models bring; without it, or with a
 * body that does not read, the request is routed without them. It is sent to the backend picked, {@code http://host:port} followed by the path
 * and query of the request's URL, with its method, headers and body, through
 * {@link BalancedHttpClient} (its body-aware calls for a chat or completion POST whose body was
 * read, so that the server's prompt-cache figures are counted on the backend that answered,
 * {@link dev.ailb.BackendStats#promptCache()}): a 5xx answer or a failure to connect or to read is retried on
 * another backend as the balancer's retry policy and retry budget allow, and each attempt holds a
 * lease on its backend until its answer has been read whole, or, for a stream, until the stream
 * ends (a success), fails (a failure) or is cancelled by the model's handler (no outcome). The
 * answer the model gets is the first below 500, or the last 5xx one when no attempt is left; any
 * answer outside 2xx reaches it as LangChain4j's {@link dev.langchain4j.exception.HttpException}
 * with the status and body, as LangChain4j's own JDK client reports it, and a timeout as its
 * {@link dev.langchain4j.exception.TimeoutException}. Set the model's own retries
 * ({@code maxRetries}) to 0 to leave retrying to the pool, which knows to go elsewhere.
 *
 * <p>A multipart form (audio or image uploads) is refused with an
 * {@link IllegalArgumentException} before anything is sent.
 *
 * <p>Not registered with LangChain4j's {@code ServiceLoader} ({@code HttpClientBuilderFactory}) on
 * purpose: a registered factory would become the client of every LangChain4j model in the
 * application, those that call a hosted API or a vector store included, and it could not know
 * which pool each should use. Each model names its pool here instead.
 *
 * <p>A builder is not thread-safe (LangChain4j's model builders set its timeouts, then build);
 * the clients it builds are. Each client built has threads of its own to read streams on unless
 * {@link #executor} gives an executor: daemon threads named {@code ailb-langchain4j-<pool>-<n>}, made as
 * streams need them and ended after a minute idle, since LangChain4j never closes a client.
 */
public final class BalancedHttpClientBuilder implements HttpClientBuilder {
    private static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private final LoadBalancer balancer;
    private Duration connectTimeout;
    private Duration readTimeout;
    private CallOptions callOptions = CallOptions.none();
    private Executor executor;
    private boolean byModel;

    private BalancedHttpClientBuilder(LoadBalancer balancer) {
        this.balancer = balancer;
    }

    /**
     * A builder of clients over a pool.
     *
     * @param balancer the pool
     * @return a new builder
     * @throws NullPointerException if {@code balancer} is null
     */
    public static BalancedHttpClientBuilder of(LoadBalancer balancer) {
        return new BalancedHttpClientBuilder(checkNotNull(balancer, "balancer"));
    }

    /**
     * The connect timeout set, or null if none was: LangChain4j's model builders read it to
     * choose theirs.
     *
     * @return the timeout, or null
     */
    @Override
    public Duration connectTimeout() {
        return connectTimeout;
    }

    /**
     * How long a connection to a backend may take to open; a backend that takes longer fails the
     * attempt, which may be retried elsewhere. Null leaves it unset (10 seconds), as LangChain4j's
     * model builders pass what their user set or null.
     *
     * @param timeout the timeout, > 0, or null
     * @return this builder
     * @throws IllegalArgumentException if {@code timeout} is zero or negative
     */
    @Override
    public BalancedHttpClientBuilder connectTimeout(Duration timeout) {
        this.connectTimeout = timeout == null ? null : checkPositive(timeout, "connectTimeout");
        return this;
    }

    /**
     * The read timeout set, or null if none was.
     *
     * @return the timeout, or null
     */
    @Override
    public Duration readTimeout() {
        return readTimeout;
    }

    /**
     * How long an attempt may wait for its answer's headers, as LangChain4j's JDK client applies
     * it; an attempt that waits longer fails, and may be retried elsewhere. Null leaves it unset
     * (no limit).
     *
     * @param timeout the timeout, > 0, or null
     * @return this builder
     * @throws IllegalArgumentException if {@code timeout} is zero or negative
     */
    @Override
    public BalancedHttpClientBuilder readTimeout(Duration timeout) {
        this.readTimeout = timeout == null ? null : checkPositive(timeout, "readTimeout");
        return this;
    }

    /**
     * The deadlines and hedging of every request, whole or streamed; default
     * {@link CallOptions#none()}. A stream's first token is its first byte of body, so that a
     * first-token deadline moves a stream whose backend sends nothing.
     *
     * @param options the options
     * @return this builder
     * @throws NullPointerException if {@code options} is null
     */
    public BalancedHttpClientBuilder callOptions(CallOptions options) {
        this.callOptions = checkNotNull(options, "callOptions");
        return this;
    }

    /**
     * Whether each request names the model of its body ({@link dev.ailb.Request#withModel}), so
     * that a fleet whose backends serve different models
     * ({@link dev.ailb.BackendProfile}, or learnt from {@code GET /v1/models}) sends it only to
     * those that serve it, preferring those that hold its LoRA adapter. Off by default, since a
     * backend that declares no model serves only requests that name none: turn it on for a pool
     * whose backends say what they serve.
     *
     * @param byModel whether to route by the body's model
     * @return this builder
     */
    public BalancedHttpClientBuilder routeByModel(boolean byModel) {
        this.byModel = byModel;
        return this;
    }

    /**
     * The threads that read each stream and hand its events to LangChain4j's listener, one per
     * stream for as long as it lasts; a bounded executor bounds the streams read at once. It is
     * not the JDK client's executor, which keeps its own threads, so that streams blocked on
     * their next event cannot starve the deliveries they wait for. By default each client built
     * has its own (see the class comment). It must run each task on a thread of its own, never
     * on the caller's: the task is handed over by the thread that received the stream's first
     * bytes, which may be one the JDK client needs to receive the rest.
     *
     * @param executor the executor; the application shuts it down, if it must be
     * @return this builder
     * @throws NullPointerException if {@code executor} is null
     */
    public BalancedHttpClientBuilder executor(Executor executor) {
        this.executor = checkNotNull(executor, "executor");
        return this;
    }

    /**
     * A client over the pool with these settings.
     *
     * @return a new client; thread-safe
     */
    @Override
    public HttpClient build() {
        Executor threads = executor != null ? executor
                : IdleDaemonThreads.named("ailb-langchain4j-" + balancer.name() + '-');
        java.net.http.HttpClient jdk = java.net.http.HttpClient.newBuilder()
                .version(java.net.http.HttpClient.Version.HTTP_1_1)
                .connectTimeout(connectTimeout != null ? connectTimeout : DEFAULT_CONNECT_TIMEOUT)
                .build();
        return new PoolHttpClient(balancer, jdk, readTimeout, callOptions, threads, byModel);
    }

}
