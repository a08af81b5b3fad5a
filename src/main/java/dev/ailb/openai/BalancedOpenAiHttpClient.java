package dev.ailb.openai;

import static dev.ailb.internal.Preconditions.checkNotNull;

import com.openai.core.RequestOptions;
import com.openai.core.http.HttpClient;
import com.openai.core.http.HttpRequest;
import com.openai.core.http.HttpResponse;
import com.openai.errors.OpenAIIoException;
import dev.ailb.CallFailedException;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import dev.ailb.http.BalancedHttpClient;
import dev.ailb.http.StreamedResponse;
import dev.ailb.internal.IdleDaemonThreads;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The OpenAI Java SDK's pluggable transport ({@link HttpClient}) over a {@link LoadBalancer}:
 * every request the SDK makes goes to the backend the balancer picks for it, through a
 * {@link BalancedHttpClient}. Set it with {@code ClientOptions.builder().httpClient(...)}, or let
 * {@link OpenAiClients} build the SDK's clients on it.
 *
 * <p>Each request keeps the SDK's method, path, query, headers and body; the scheme, host and
 * port are the backend's (the SDK's base URL is only a label then: its path, {@code /v1} for
 * the SDK's default, is kept). A {@code /v1/chat/completions} or {@code /v1/completions} body
 * routes its request by its prompt ({@link dev.ailb.http.OpenAiPrompt}) and, when it caps its
 * output ({@code max_completion_tokens}, else {@code max_tokens}), by a token estimate: the
 * prompt at four characters a token plus the cap, which a balancer that
 * {@linkplain dev.ailb.LoadBalancerBuilder#countTokens counts tokens} weighs it by. Any JSON body
 * routes its request by the model it names when {@linkplain Builder#routeByModel() asked}
 * ({@link dev.ailb.http.OpenAiRequestFields}). Its attempt holds its lease on the
 * backend until the SDK closes the answer or reads its body to the end (a success), or a read
 * fails (a failure): for a whole answer once the SDK has parsed it, for a stream once the stream
 * ends, fails or is closed by its subscriber.
 *
 * <p>A 5xx answer or a failure to connect is retried on another backend as the balancer's
 * {@linkplain dev.ailb.LoadBalancerBuilder#retryPolicy retry policy} and retry budget allow; when
 * no attempt is left the SDK gets the last 5xx answer, or an {@link OpenAIIoException} whose
 * cause is the balancer's {@link CallFailedException}. Give the SDK no retries of its own
 * ({@code maxRetries(0)}, as {@link OpenAiClients} does): each of them would be a new call
 * through the balancer, counted again and outside its budget. A 4xx answer (429 included) is
 * handed to the SDK as it came. {@link dev.ailb.NoAvailableBackendException} reaches the caller
 * as it is.
 *
 * <p>The SDK's per-request timeout ({@code Timeout.request()}) bounds each attempt until the
 * headers of its answer are in; a stream then runs as long as it flows. {@link #execute} blocks
 * its thread through the attempts; {@link #executeAsync} blocks none and applies the
 * {@link BalancedHttpClient}'s {@linkplain BalancedHttpClient.Builder#callOptions call options}
 * (deadlines, hedging).
 *
 * <p>Thread-safe. {@link #close()} closes nothing: the balancer and its client are the
 * application's, and the transport may be shared by several SDK clients; its own hand-over
 * threads end after a minute idle.
 */
public final class BalancedOpenAiHttpClient implements HttpClient {
    private final SdkRequests requests;
    private final BalancedHttpClient http;
    private final Executor handOver;

    private BalancedOpenAiHttpClient(SdkRequests requests, BalancedHttpClient http, Executor handOver) {
        this.requests = requests;
        this.http = http;
        this.handOver = handOver;
    }

    /**
     * A transport over a balancer with a {@link BalancedHttpClient} of its own (plain HTTP, the
     * JDK's client), routing by prompt and token estimate but not by model.
     *
     * @param balancer the balancer that picks the backends
     * @return the transport
     * @throws NullPointerException if {@code balancer} is null
     */
    public static BalancedOpenAiHttpClient of(LoadBalancer balancer) {
        return builder(BalancedHttpClient.of(checkNotNull(balancer, "balancer"))).build();
    }

    /**
     * A builder of a transport that sends with a {@link BalancedHttpClient}: its balancer, scheme,
     * JDK client and call options are the transport's.
     *
     * @param http the client to send with
     * @return a new builder
     * @throws NullPointerException if {@code http} is null
     */
    public static Builder builder(BalancedHttpClient http) {
        return new Builder(checkNotNull(http, "http"));
    }

    /**
     * Sends a request to the backend the balancer picks, retrying it elsewhere after a 5xx answer
     * or a failure to connect, and blocks until the headers of an answer are in.
     *
     * @param request        the SDK's request
     * @param requestOptions the SDK's options of this request (its timeout)
     * @return the answer; its lease ends when it is closed or its body is read to the end
     * @throws OpenAIIoException                    if the last attempt failed without an answer,
     *                                              or the thread was interrupted (its flag set again)
     * @throws dev.ailb.NoAvailableBackendException if no backend is available
     * @throws NullPointerException                 if an argument is null
     */
    @Override
    public HttpResponse execute(HttpRequest request, RequestOptions requestOptions) {
        checkNotNull(request, "request");
        checkNotNull(requestOptions, "requestOptions");
        SdkRequests.Prepared prepared = requests.prepare(request, requestOptions);
        try {
            return new StreamedSdkResponse(http.stream(prepared.routed(), prepared::toBackend));
        } catch (CallFailedException e) {
            throw new OpenAIIoException("Request failed on every backend tried: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            InterruptedIOException cause = new InterruptedIOException("interrupted while waiting for an answer");
            cause.initCause(e);
            throw new OpenAIIoException("Request interrupted", cause);
        }
    }

    /**
     * Sends a request without blocking, through the attempts, deadlines and hedging of
     * {@link BalancedHttpClient#streamAsync}; the answer is handed over at the first byte of its
     * body, on a thread of the {@linkplain Builder#executor hand-over executor}, where the SDK
     * goes on to parse a whole answer.
     *
     * @param request        the SDK's request
     * @param requestOptions the SDK's options of this request (its timeout)
     * @return the answer to come, failed with an {@link OpenAIIoException} if the last attempt
     *         failed without an answer
     * @throws NullPointerException  if an argument is null
     * @throws IllegalStateException if the balancer is closed
     */
    @Override
    public CompletableFuture<HttpResponse> executeAsync(HttpRequest request, RequestOptions requestOptions) {
        checkNotNull(request, "request");
        checkNotNull(requestOptions, "requestOptions");
        SdkRequests.Prepared prepared = requests.prepare(request, requestOptions);
        CompletableFuture<StreamedResponse> answer = http.streamAsync(prepared.routed(), prepared::toBackend);
        CompletableFuture<HttpResponse> sdkAnswer = new CompletableFuture<>();
        // Handed over on a thread of its own: the answer completes on the JDK client's thread that
        // delivers its first bytes, and the SDK parses a whole answer in its continuation, reading
        // the body that same thread has yet to deliver.
        answer.whenComplete((streamed, failure) -> {
            try {
                handOver.execute(() -> handOver(streamed, failure, sdkAnswer));
            } catch (RejectedExecutionException e) {
                // An executor that refuses: the answer's lease ends here, and the caller hears why.
                if (streamed != null) {
                    abandon(streamed, e);
                }
                sdkAnswer.completeExceptionally(e);
            }
        });
        // The SDK never cancels, but a caller holding this future may: pass it on to the attempts.
        sdkAnswer.whenComplete((response, failure) -> {
            if (sdkAnswer.isCancelled()) {
                answer.cancel(true);
            }
        });
        return sdkAnswer;
    }

    /**
     * Completes the SDK's future with the answer or the failure. An answer that the future no
     * longer takes (its caller cancelled it meanwhile) is closed, so that its lease ends.
     */
    private static void handOver(StreamedResponse streamed, Throwable failure, CompletableFuture<HttpResponse> sdkAnswer) {
        if (failure == null) {
            if (!sdkAnswer.complete(new StreamedSdkResponse(streamed))) {
                abandon(streamed, null);
            }
            return;
        }
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        sdkAnswer.completeExceptionally(cause instanceof CallFailedException
                ? new OpenAIIoException("Request failed on every backend tried: " + cause.getMessage(), cause)
                : cause);
    }

    /** Ends an answer no one will read: its lease without an outcome, its body closed. */
    private static void abandon(StreamedResponse streamed, Throwable reason) {
        try {
            streamed.cancel();
        } catch (IOException e) {
            if (reason != null) {
                reason.addSuppressed(e);
            }
        }
    }

    /** Closes nothing: the balancer and the {@link BalancedHttpClient} belong to the application. */
    @Override
    public void close() {
        // nothing of its own to release
    }

    @Override
    public String toString() {
        return "BalancedOpenAiHttpClient{" + http + ", " + requests + '}';
    }

    /** Builds a {@link BalancedOpenAiHttpClient}. Not thread-safe. */
    public static final class Builder {
        private final BalancedHttpClient http;
        private boolean routeByModel;
        private String clientAddress = "";
        private Executor executor;

        private Builder(BalancedHttpClient http) {
            this.http = http;
        }

        /**
         * The threads on which {@link #executeAsync} hands each answer to the SDK, which parses a
         * whole answer there as it arrives (a stream it reads on threads of its own). It may not
         * be the JDK client's executor, which delivers the bytes being waited for. By default
         * daemon threads of the transport's own, {@code ailb-openai-<n>}, made as answers need
         * them and ended after a minute idle.
         *
         * @param executor the executor
         * @return this builder
         * @throws NullPointerException if {@code executor} is null
         */
        public Builder executor(Executor executor) {
            this.executor = checkNotNull(executor, "executor");
            return this;
        }

        /**
         * Routes each request by the model its body names ({@link Request#withModel}): only the
         * backends that serve it are candidates. Turn it on when the backends declare their
         * models ({@link dev.ailb.BackendProfile}) or learn them from their servers; a backend
         * with no model serves only requests that name none, so a fleet that declares none
         * would serve nothing. Off by default.
         *
         * @return this builder
         */
        public Builder routeByModel() {
            this.routeByModel = true;
            return this;
        }

        /**
         * The client address of the requests ({@link Request#clientIp()}, the key of
         * {@link dev.ailb.BalancingStrategy#IP_HASH}); by default empty, unknown.
         *
         * @param clientAddress the address, used as an opaque string
         * @return this builder
         * @throws NullPointerException if {@code clientAddress} is null
         */
        public Builder clientAddress(String clientAddress) {
            this.clientAddress = checkNotNull(clientAddress, "clientAddress");
            return this;
        }

        /**
         * The transport.
         *
         * @return a new transport with these settings
         */
        public BalancedOpenAiHttpClient build() {
            return new BalancedOpenAiHttpClient(new SdkRequests(routeByModel, clientAddress, new AtomicLong()), http,
                    executor != null ? executor : IdleDaemonThreads.named("ailb-openai-"));
        }
    }
}
