package dev.ailb.http;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.quote;

import dev.ailb.Attempt;
import dev.ailb.AttemptCall;
import dev.ailb.Backend;
import dev.ailb.BackendCall;
import dev.ailb.CallFailedException;
import dev.ailb.CallOptions;
import dev.ailb.Lease;
import dev.ailb.LeasedCall;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * Sends HTTP requests through a {@link LoadBalancer} with the JDK's {@link HttpClient}: each
 * attempt goes to the backend the balancer picks (its base URI is {@code http://host:port}), holds
 * a lease for as long as the backend works on it, and reports its time and outcome. A 5xx answer
 * or a failure to connect or to read counts as a failure and is retried on another backend as the
 * balancer's {@linkplain dev.ailb.LoadBalancerBuilder#retryPolicy retry policy} and retry budget allow; a
 * 4xx answer is the caller's mistake, not the backend's, and counts as a success.
 *
 * <p>Works for OpenAI-compatible endpoints such as {@code /v1/chat/completions}:
 * {@link #send} for a whole answer, {@link #stream} for a streamed one (server-sent events), whose
 * lease lasts until its body has been read or closed and whose time to first byte is recorded.
 * Their overloads taking a session id keep the requests of a conversation on one instance, for its
 * prefix cache, and move it when that instance fails them.
 *
 * <pre>{@code
 * BalancedHttpClient http = BalancedHttpClient.of(lb);
 * HttpResponse<String> answer = http.send(request,
 *         base -> HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
 *                 .header("Content-Type", "application/json")
 *                 .POST(HttpRequest.BodyPublishers.ofString(json))
 *                 .build(),
 *         HttpResponse.BodyHandlers.ofString());
 * }</pre>
 *
 * <p>{@link #sendJson} and {@link #streamJson} are the same calls for a JSON body that they post
 * themselves: they route the request by the prompt read from the body ({@link OpenAiPrompt}) and
 * report the server's prompt-cache figures from its answer on the attempt's lease
 * ({@link Lease#reportCachedTokens}). They need {@code com.fasterxml.jackson.core:jackson-core},
 * an optional dependency; every other method works without it.
 *
 * <pre>{@code
 * HttpResponse<String> answer = http.sendJson(request, "/v1/chat/completions", json,
 *         HttpResponse.BodyHandlers.ofString());
 * }</pre>
 *
 * <p>{@link #sendAsync}, {@link #sendJsonAsync}, {@link #streamAsync} and {@link #streamJsonAsync}
 * send without blocking a thread, through
 * {@link LoadBalancer#executeAsync}, with the deadlines and hedging of a {@link CallOptions}
 * (the client's {@linkplain Builder#callOptions default}, or the request's own): the first byte
 * of an answer below 500 is the attempt's first token, and an attempt the balancer abandons (a
 * missed first-token deadline, a hedge that lost, the call's deadline, the caller's
 * cancellation) has its exchange cancelled in the JDK client, which closes its connection.
 *
 * <pre>{@code
 * CompletableFuture<HttpResponse<String>> answer = http.sendJsonAsync(request, "/v1/chat/completions",
 *         json, HttpResponse.BodyHandlers.ofString(), CallOptions.builder()
 *                 .deadline(Duration.ofSeconds(30))
 *                 .hedging(HedgeDelay.responseTimePercentile(0.95, Duration.ofSeconds(2)))
 *                 .build());
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class BalancedHttpClient {
    /** The most of a 5xx body a streamed request keeps, so that the answer can still be read. */
    static final int MAX_ERROR_BODY = 64 * 1024;

    private final LoadBalancer balancer;
    private final HttpClient client;
    private final String scheme;
    private final UnaryOperator<HttpRequest.Builder> jsonRequestCustomizer;
    private final CallOptions callOptions;

    private BalancedHttpClient(LoadBalancer balancer, HttpClient client, String scheme,
            UnaryOperator<HttpRequest.Builder> jsonRequestCustomizer, CallOptions callOptions) {
        this.balancer = balancer;
        this.client = client;
        this.scheme = scheme;
        this.jsonRequestCustomizer = jsonRequestCustomizer;
        this.callOptions = callOptions;
    }

    /**
     * A client over plain HTTP with a JDK client of its own (HTTP/1.1, 10 s connect timeout).
     *
     * @param balancer the balancer that picks the backends
     * @return the client
     * @throws NullPointerException if {@code balancer} is null
     */
    public static BalancedHttpClient of(LoadBalancer balancer) {
        return builder(balancer).build();
    }

    /**
     * A builder of a client for a balancer.
     *
     * @param balancer the balancer that picks the backends
     * @return a new builder
     * @throws NullPointerException if {@code balancer} is null
     */
    public static Builder builder(LoadBalancer balancer) {
        return new Builder(checkNotNull(balancer, "balancer"));
    }

    /**
     * A backend's base URI, {@code scheme://host:port}, with an IPv6 host in brackets.
     *
     * @param backend the backend
     * @return its base URI
     */
    public URI baseUri(Backend backend) {
        String host = backend.host();
        if (host.indexOf(':') >= 0 && !host.startsWith("[")) {
            host = '[' + host + ']';
        }
        return URI.create(scheme + "://" + host + ':' + backend.port());
    }

    /**
     * Sends a request to the backend the balancer picks for it, and retries it elsewhere after a
     * 5xx answer or an I/O failure, as the retry policy allows. The lease of each attempt ends when
     * its answer has been read by {@code handler}.
     *
     * @param <T>        the type of the body
     * @param request    what the balancer routes by (client address, token estimate)
     * @param requestFor builds the HTTP request from the chosen backend's base URI; called once per
     *                   attempt, and an exception it throws counts as a failed attempt
     * @param handler    reads the body
     * @return the first answer below 500, or the last 5xx answer when no attempt is left
     * @throws CallFailedException         if the last attempt failed without an answer (a refused
     *                                     connection, a timeout); its cause is that failure
     * @throws InterruptedException        if the thread was interrupted while waiting
     * @throws NullPointerException        if an argument is null
     * @throws dev.ailb.NoAvailableBackendException if no backend is available
     */
    public <T> HttpResponse<T> send(Request request, Function<URI, HttpRequest> requestFor,
            HttpResponse.BodyHandler<T> handler) throws InterruptedException {
        return sendOf(request, null, requestFor, handler);
    }

    /**
     * Like {@link #send(Request, Function, HttpResponse.BodyHandler)} for a request of a session
     * (a conversation, say, whose instance keeps its prefix cache): the first attempt goes to the
     * session's backend, and a retry that succeeds elsewhere after a 5xx answer or an I/O failure
     * moves the session there, as {@link LoadBalancer#execute(Request, String, BackendCall)}
     * does. A 4xx answer counts as a success and leaves the session where it is.
     *
     * @param <T>        the type of the body
     * @param request    what the balancer routes by
     * @param sessionId  the session, not blank, at most 256 characters
     * @param requestFor builds the HTTP request from the chosen backend's base URI
     * @param handler    reads the body
     * @return the first answer below 500, or the last 5xx answer when no attempt is left
     * @throws CallFailedException         if the last attempt failed without an answer
     * @throws InterruptedException        if the thread was interrupted while waiting
     * @throws NullPointerException        if an argument is null
     * @throws IllegalArgumentException    if {@code sessionId} is blank or too long
     * @throws dev.ailb.NoAvailableBackendException if no backend is available
     */
    public <T> HttpResponse<T> send(Request request, String sessionId, Function<URI, HttpRequest> requestFor,
            HttpResponse.BodyHandler<T> handler) throws InterruptedException {
        return sendOf(request, checkNotNull(sessionId, "sessionId"), requestFor, handler);
    }

    /** {@link #send} of a session, or of none when {@code sessionId} is null. */
    private <T> HttpResponse<T> sendOf(Request request, String sessionId, Function<URI, HttpRequest> requestFor,
            HttpResponse.BodyHandler<T> handler) throws InterruptedException {
        checkNotNull(requestFor, "requestFor");
        checkNotNull(handler, "handler");
        return sendLeased(request, sessionId, backend -> build(requestFor, backend), lease -> handler);
    }

    /**
     * Sends each attempt's request to its backend and reads the answer with the handler made for
     * the attempt's lease; a 5xx answer fails the attempt. The lease ends once the answer is read,
     * after a retry's session has moved, as {@link LoadBalancer#execute} ends its own.
     */
    private <T> HttpResponse<T> sendLeased(Request request, String sessionId,
            Function<Backend, HttpRequest> requestFor, Function<Lease, HttpResponse.BodyHandler<T>> handlerFor)
            throws InterruptedException {
        LeasedCall<Answered<T>> call = lease -> {
            HttpResponse<T> response = client.send(requestFor.apply(lease.backend()), handlerFor.apply(lease));
            if (response.statusCode() >= 500) {
                throw new ServerErrorException(response);
            }
            return new Answered<>(response, lease);
        };
        try {
            Answered<T> answered = sessionId == null
                    ? balancer.executeLeased(request, call)
                    : balancer.executeLeased(request, sessionId, call);
            answered.lease().success();
            return answered.response();
        } catch (CallFailedException e) {
            return lastAnswer(e);
        }
    }

    /**
     * Like {@link #send(Request, Function, HttpResponse.BodyHandler)} without blocking, with the
     * client's {@linkplain Builder#callOptions default call options}; see
     * {@link #sendAsync(Request, Function, HttpResponse.BodyHandler, CallOptions)}.
     *
     * @param <T>        the type of the body
     * @param request    what the balancer routes by
     * @param requestFor builds the HTTP request from the chosen backend's base URI; called once per
     *                   attempt, on the thread that starts it
     * @param handler    reads the body
     * @return the answer to come
     * @throws NullPointerException  if an argument is null
     * @throws IllegalStateException if the balancer is closed
     */
    public <T> CompletableFuture<HttpResponse<T>> sendAsync(Request request, Function<URI, HttpRequest> requestFor,
            HttpResponse.BodyHandler<T> handler) {
        return sendAsync(request, requestFor, handler, callOptions);
    }

    /**
     * Sends a request with the JDK client's {@code sendAsync} to the backend the balancer picks,
     * through {@link LoadBalancer#executeAsync} with these deadlines and hedging. A 5xx answer or
     * an I/O failure fails the attempt, which is retried elsewhere as the retry policy allows; the
     * first byte of an answer below 500 is the attempt's first token. An attempt abandoned by the
     * balancer has its exchange cancelled ({@code cancel(true)} on the JDK client's future, which
     * aborts the exchange and closes its connection), and so has every attempt still running when
     * the caller cancels the returned future. The lease of the attempt that won ends once
     * {@code handler} has read its answer.
     *
     * <p>The future completes with the first answer below 500, or the last 5xx answer when no
     * attempt is left; it fails with {@link CallFailedException} when the last attempt failed
     * without an answer, {@link dev.ailb.DeadlineExceededException} when the call's deadline
     * passed, {@link dev.ailb.NoAvailableBackendException} when no backend is available, and a
     * {@link java.util.concurrent.CancellationException} once cancelled.
     *
     * @param <T>        the type of the body
     * @param request    what the balancer routes by
     * @param requestFor builds the HTTP request from the chosen backend's base URI; called once per
     *                   attempt, on the thread that starts it
     * @param handler    reads the body
     * @param options    the deadlines and hedging of this request
     * @return the answer to come
     * @throws NullPointerException  if an argument is null
     * @throws IllegalStateException if the balancer is closed
     */
    public <T> CompletableFuture<HttpResponse<T>> sendAsync(Request request, Function<URI, HttpRequest> requestFor,
            HttpResponse.BodyHandler<T> handler, CallOptions options) {
        checkNotNull(request, "request");
        checkNotNull(requestFor, "requestFor");
        checkNotNull(handler, "handler");
        checkNotNull(options, "options");
        return sendAttempts(request, backend -> build(requestFor, backend), attempt -> handler, options);
    }

    /**
     * The attempts of an asynchronous send: each sends its request and reads the answer with the
     * handler made for it, and cancelling the attempt cancels its exchange. The returned future is
     * the caller's: cancelling it cancels the call.
     */
    private <T> CompletableFuture<HttpResponse<T>> sendAttempts(Request request,
            Function<Backend, HttpRequest> requestFor, Function<Attempt, HttpResponse.BodyHandler<T>> handlerFor,
            CallOptions options) {
        AttemptCall<HttpResponse<T>> call = attempt -> {
            HttpRequest built = requestFor.apply(attempt.backend());
            CompletableFuture<HttpResponse<T>> exchange =
                    client.sendAsync(built, new FirstByteHandler<>(handlerFor.apply(attempt), attempt));
            attempt.onCancel(() -> exchange.cancel(true));
            return exchange.thenApply(response -> {
                if (response.statusCode() >= 500) {
                    throw new CompletionException(new ServerErrorException(response)); // unwrapped by the balancer
                }
                return response;
            });
        };
        CompletableFuture<HttpResponse<T>> attempts = balancer.executeAsync(request, call, options);
        CompletableFuture<HttpResponse<T>> answer = new CompletableFuture<>();
        attempts.whenComplete((response, failure) -> {
            if (failure == null) {
                answer.complete(response);
                return;
            }
            Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                    ? failure.getCause() : failure;
            if (cause instanceof CallFailedException && cause.getCause() instanceof ServerErrorException) {
                @SuppressWarnings("unchecked")
                HttpResponse<T> last = (HttpResponse<T>) ((ServerErrorException) cause.getCause()).response();
                answer.complete(last);
            } else {
                answer.completeExceptionally(cause);
            }
        });
        // A dependent future does not pass its cancellation back: this one does, to every attempt.
        answer.whenComplete((response, failure) -> {
            if (answer.isCancelled()) {
                attempts.cancel(true);
            }
        });
        return answer;
    }

    /**
     * Sends a request whose answer streams (server-sent events, say) to the backend the balancer
     * picks, and retries it elsewhere after a 5xx answer or an I/O failure before the answer's
     * headers, as the retry policy allows. Once the headers of an answer below 500 are in, the
     * answer is the caller's: its lease lasts until its body is read to the end (a success), fails
     * to read (a failure) or is closed (a success: the backend was answering). The first byte read
     * from the body is recorded as the backend's time to first byte.
     *
     * @param request    what the balancer routes by
     * @param requestFor builds the HTTP request from the chosen backend's base URI
     * @return the answer; close it (or read its body to the end) to end its lease
     * @throws CallFailedException         if the last attempt failed without an answer
     * @throws InterruptedException        if the thread was interrupted while waiting
     * @throws NullPointerException        if an argument is null
     * @throws dev.ailb.NoAvailableBackendException if no backend is available
     */
    public StreamedResponse stream(Request request, Function<URI, HttpRequest> requestFor)
            throws InterruptedException {
        return streamOf(request, null, requestFor);
    }

    /**
     * Like {@link #stream(Request, Function)} for a request of a session: the first attempt goes to
     * the session's backend, and a retry whose answer's headers come in below 500 after a failed
     * attempt moves the session to the backend that answered, as
     * {@link LoadBalancer#executeLeased(Request, String, LeasedCall)} does.
     *
     * @param request    what the balancer routes by
     * @param sessionId  the session, not blank, at most 256 characters
     * @param requestFor builds the HTTP request from the chosen backend's base URI
     * @return the answer; close it (or read its body to the end) to end its lease
     * @throws CallFailedException         if the last attempt failed without an answer
     * @throws InterruptedException        if the thread was interrupted while waiting
     * @throws NullPointerException        if an argument is null
     * @throws IllegalArgumentException    if {@code sessionId} is blank or too long
     * @throws dev.ailb.NoAvailableBackendException if no backend is available
     */
    public StreamedResponse stream(Request request, String sessionId, Function<URI, HttpRequest> requestFor)
            throws InterruptedException {
        return streamOf(request, checkNotNull(sessionId, "sessionId"), requestFor);
    }

    /** {@link #stream} of a session, or of none when {@code sessionId} is null. */
    private StreamedResponse streamOf(Request request, String sessionId, Function<URI, HttpRequest> requestFor)
            throws InterruptedException {
        checkNotNull(requestFor, "requestFor");
        return streamOf(request, sessionId, backend -> build(requestFor, backend), (response, lease) -> response.body());
    }

    /**
     * The attempts of a streamed request: {@code requestFor} builds each attempt's request, and
     * {@code bodyOf} the body its caller reads, from the answer of an attempt that succeeded.
     */
    private StreamedResponse streamOf(Request request, String sessionId, Function<Backend, HttpRequest> requestFor,
            BiFunction<HttpResponse<InputStream>, Lease, InputStream> bodyOf) throws InterruptedException {
        LeasedCall<StreamedResponse> call = lease -> {
            HttpResponse<InputStream> response =
                    client.send(requestFor.apply(lease.backend()), HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() >= 500) {
                byte[] body;
                try (InputStream in = response.body()) {
                    body = in.readNBytes(MAX_ERROR_BODY);
                }
                throw new ServerErrorException(new ReadResponse(response, body));
            }
            return new StreamedResponse(response, lease, bodyOf.apply(response, lease));
        };
        try {
            return sessionId == null
                    ? balancer.executeLeased(request, call)
                    : balancer.executeLeased(request, sessionId, call);
        } catch (CallFailedException e) {
            HttpResponse<?> last = lastAnswer(e);
            ReadResponse read = (ReadResponse) last;
            return StreamedResponse.ended(read.original(), new ByteArrayInputStream(read.body()));
        }
    }

    /**
     * Like {@link #stream(Request, Function)} without blocking, with the client's
     * {@linkplain Builder#callOptions default call options}; see
     * {@link #streamAsync(Request, Function, CallOptions)}.
     *
     * @param request    what the balancer routes by
     * @param requestFor builds the HTTP request from the chosen backend's base URI
     * @return the answer to come; close it (or read its body to the end) to end its lease
     * @throws NullPointerException  if an argument is null
     * @throws IllegalStateException if the balancer is closed
     */
    public CompletableFuture<StreamedResponse> streamAsync(Request request, Function<URI, HttpRequest> requestFor) {
        return streamAsync(request, requestFor, callOptions);
    }

    /**
     * Like {@link #stream(Request, Function)} without blocking, through
     * {@link LoadBalancer#executeAsync} with these deadlines and hedging: an attempt answers when
     * the first byte of its body arrives (its first token), not at its headers, so that a hedged
     * stream is won by the backend that starts generating first, and a backend that sends its
     * headers and then nothing misses its first-token deadline. The winner's lease lasts until its
     * body is read to the end, fails to read or is closed, as {@code stream}'s does. An abandoned
     * attempt has its exchange cancelled, or its body closed if its headers had come. A 5xx
     * answer's body is read whole (without blocking) and fails the attempt; the last one is the
     * answer when no attempt is left.
     *
     * @param request    what the balancer routes by
     * @param requestFor builds the HTTP request from the chosen backend's base URI
     * @param options    the deadlines and hedging of this request
     * @return the answer to come; close it (or read its body to the end) to end its lease
     * @throws NullPointerException  if an argument is null
     * @throws IllegalStateException if the balancer is closed
     */
    public CompletableFuture<StreamedResponse> streamAsync(Request request, Function<URI, HttpRequest> requestFor,
            CallOptions options) {
        checkNotNull(request, "request");
        checkNotNull(requestFor, "requestFor");
        checkNotNull(options, "options");
        return streamAttempts(request, backend -> build(requestFor, backend), (response, lease) -> response.body(),
                options);
    }

    /**
     * The attempts of an asynchronous stream: each answers at the first byte of a body below 500,
     * keeping its lease open for the caller; a 5xx body is read whole and fails the attempt.
     */
    private CompletableFuture<StreamedResponse> streamAttempts(Request request,
            Function<Backend, HttpRequest> requestFor, BiFunction<HttpResponse<InputStream>, Lease, InputStream> bodyOf,
            CallOptions options) {
        HttpResponse.BodyHandler<InputStream> bodies = info -> info.statusCode() >= 500
                ? HttpResponse.BodySubscribers.mapping(HttpResponse.BodySubscribers.ofByteArray(),
                        ByteArrayInputStream::new)
                : HttpResponse.BodySubscribers.ofInputStream();
        AttemptCall<StreamedResponse> call = attempt -> {
            HttpRequest built = requestFor.apply(attempt.backend());
            FirstByteHandler<InputStream> handler = new FirstByteHandler<>(bodies, attempt);
            CompletableFuture<HttpResponse<InputStream>> exchange = client.sendAsync(built, handler);
            attempt.keepLeaseOpen();
            attempt.onCancel(() -> {
                exchange.cancel(true);
                closeBodyOf(exchange);
            });
            return exchange.thenCompose(response -> {
                if (response.statusCode() >= 500) {
                    throw new CompletionException(new ServerErrorException(response));
                }
                return handler.firstByte().thenApply(first -> {
                    if (attempt.isCancelled()) {
                        closeBodyOf(exchange); // abandoned meanwhile: nobody reads this body
                    }
                    return new StreamedResponse(response, attempt.lease(), bodyOf.apply(response, attempt.lease()));
                });
            });
        };
        CompletableFuture<StreamedResponse> attempts = balancer.executeAsync(request, call, options);
        CompletableFuture<StreamedResponse> answer = new CompletableFuture<>();
        attempts.whenComplete((streamed, failure) -> {
            if (failure == null) {
                if (!answer.complete(streamed)) {
                    closeQuietly(streamed); // the caller cancelled as it came
                }
                return;
            }
            Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                    ? failure.getCause() : failure;
            if (cause instanceof CallFailedException && cause.getCause() instanceof ServerErrorException) {
                @SuppressWarnings("unchecked")
                HttpResponse<InputStream> last =
                        (HttpResponse<InputStream>) ((ServerErrorException) cause.getCause()).response();
                answer.complete(StreamedResponse.ended(last, last.body()));
            } else {
                answer.completeExceptionally(cause);
            }
        });
        answer.whenComplete((streamed, failure) -> {
            if (answer.isCancelled()) {
                attempts.cancel(true);
            }
        });
        return answer;
    }

    /** Closes the body of an exchange whose headers came, so that its connection is let go. */
    private static void closeBodyOf(CompletableFuture<HttpResponse<InputStream>> exchange) {
        if (!exchange.isDone() || exchange.isCompletedExceptionally()) {
            return; // cancelled, or failed: no body was handed out
        }
        try {
            exchange.join().body().close();
        } catch (IOException e) {
            // closing is all that is left to do with it
        }
    }

    private static void closeQuietly(StreamedResponse streamed) {
        try {
            streamed.close();
        } catch (IOException e) {
            // the body was closed: its lease ended with it
        }
    }

    /**
     * Like {@link #send(Request, Function, HttpResponse.BodyHandler)} for a JSON body that this
     * client posts itself, {@code POST path} with {@code Content-Type: application/json} (and what
     * the builder's {@linkplain Builder#jsonRequestCustomizer customizer} adds), and two things
     * more. When {@code path} ends with {@code /v1/chat/completions} or {@code /v1/completions}
     * and the request has no {@linkplain Request#hasPrompt() prompt} yet, the request is routed
     * with the prompt read from the body ({@link OpenAiPrompt}). And when the answer of the attempt
     * that succeeded is a 2xx of JSON (or of server-sent events), its {@code usage.prompt_tokens}
     * and {@code usage.prompt_tokens_details.cached_tokens} are reported on that attempt's lease
     * ({@link Lease#reportCachedTokens}) as the body arrives, before the lease ends; an answer
     * without them (a server that does not report its prefix cache) reports nothing, and a
     * malformed one logs one DEBUG line; either way {@code handler} gets the body as it came.
     *
     * <p>Named after {@code send}, whose retries, leases and outcomes it shares, with {@code Json}
     * for what it adds: it takes the JSON body rather than a request builder, and reads it and the
     * answer. With a handler that hands the body over before it has arrived
     * ({@code ofInputStream}, {@code ofLines}, {@code ofPublisher}) the lease ends when the
     * headers are in, as it does for {@code send}, and the report comes once the caller has read
     * it: {@link #streamJson} holds the lease until then.
     *
     * @param <T>     the type of the body
     * @param request what the balancer routes by; its prompt, if it has none, is read from the body
     * @param path    the path to post to, from the backend's base URI, such as
     *                {@code /v1/chat/completions}; may carry a query
     * @param body    the JSON body, sent in UTF-8
     * @param handler reads the body of the answer
     * @return the first answer below 500, or the last 5xx answer when no attempt is left
     * @throws CallFailedException         if the last attempt failed without an answer
     * @throws InterruptedException        if the thread was interrupted while waiting
     * @throws NullPointerException        if an argument is null
     * @throws IllegalArgumentException    if {@code path} is not an absolute path, or the body of a
     *                                     chat or completion request is not one (see
     *                                     {@link OpenAiPrompt}); nothing is sent then
     * @throws IllegalStateException       if {@code jackson-core} is missing
     * @throws dev.ailb.NoAvailableBackendException if no backend is available
     */
    public <T> HttpResponse<T> sendJson(Request request, String path, String body, HttpResponse.BodyHandler<T> handler)
            throws InterruptedException {
        return sendJsonOf(request, null, path, body, handler);
    }

    /**
     * Like {@link #sendJson(Request, String, String, HttpResponse.BodyHandler)} for a request of a
     * session, placed and moved as {@link #send(Request, String, Function, HttpResponse.BodyHandler)}
     * places and moves it.
     *
     * @param <T>       the type of the body
     * @param request   what the balancer routes by; its prompt, if it has none, is read from the body
     * @param sessionId the session, not blank, at most 256 characters
     * @param path      the path to post to, such as {@code /v1/chat/completions}
     * @param body      the JSON body, sent in UTF-8
     * @param handler   reads the body of the answer
     * @return the first answer below 500, or the last 5xx answer when no attempt is left
     * @throws CallFailedException         if the last attempt failed without an answer
     * @throws InterruptedException        if the thread was interrupted while waiting
     * @throws NullPointerException        if an argument is null
     * @throws IllegalArgumentException    if {@code sessionId} is blank or too long, {@code path}
     *                                     is not an absolute path, or the body of a chat or
     *                                     completion request is not one; nothing is sent then
     * @throws IllegalStateException       if {@code jackson-core} is missing
     * @throws dev.ailb.NoAvailableBackendException if no backend is available
     */
    public <T> HttpResponse<T> sendJson(Request request, String sessionId, String path, String body,
            HttpResponse.BodyHandler<T> handler) throws InterruptedException {
        return sendJsonOf(request, checkNotNull(sessionId, "sessionId"), path, body, handler);
    }

    /** {@link #sendJson} of a session, or of none when {@code sessionId} is null. */
    private <T> HttpResponse<T> sendJsonOf(Request request, String sessionId, String path, String body,
            HttpResponse.BodyHandler<T> handler) throws InterruptedException {
        checkNotNull(handler, "handler");
        Request routed = routedByBody("BalancedHttpClient.sendJson", request, path, body);
        String name = balancer.name();
        return sendLeased(routed, sessionId, backend -> post(path, body, backend),
                lease -> UsageTap.handler(handler, name, lease));
    }

    /**
     * Like {@link #sendJson(Request, String, String, HttpResponse.BodyHandler)} without blocking,
     * with the client's {@linkplain Builder#callOptions default call options}; see
     * {@link #sendJsonAsync(Request, String, String, HttpResponse.BodyHandler, CallOptions)}.
     *
     * @param <T>     the type of the body
     * @param request what the balancer routes by; its prompt, if it has none, is read from the body
     * @param path    the path to post to, such as {@code /v1/chat/completions}
     * @param body    the JSON body, sent in UTF-8
     * @param handler reads the body of the answer
     * @return the answer to come
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code path} is not an absolute path, or the body of a
     *                                  chat or completion request is not one; nothing is sent then
     * @throws IllegalStateException    if {@code jackson-core} is missing, or the balancer is closed
     */
    public <T> CompletableFuture<HttpResponse<T>> sendJsonAsync(Request request, String path, String body,
            HttpResponse.BodyHandler<T> handler) {
        return sendJsonAsync(request, path, body, handler, callOptions);
    }

    /**
     * Like {@link #sendJson(Request, String, String, HttpResponse.BodyHandler)} without blocking,
     * through the attempts, deadlines and hedging of
     * {@link #sendAsync(Request, Function, HttpResponse.BodyHandler, CallOptions)}: the request is
     * routed with the prompt read from the body when it has none, and the server's prompt-cache
     * figures are reported on the lease of the attempt that answered. A streamed answer (a body
     * asking for {@code "stream":true}) gives its first token with its first event, so that the
     * first-token deadline and hedging see the server's time to first token.
     *
     * @param <T>     the type of the body
     * @param request what the balancer routes by; its prompt, if it has none, is read from the body
     * @param path    the path to post to, such as {@code /v1/chat/completions}
     * @param body    the JSON body, sent in UTF-8
     * @param handler reads the body of the answer
     * @param options the deadlines and hedging of this request
     * @return the answer to come
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code path} is not an absolute path, or the body of a
     *                                  chat or completion request is not one; nothing is sent then
     * @throws IllegalStateException    if {@code jackson-core} is missing, or the balancer is closed
     */
    public <T> CompletableFuture<HttpResponse<T>> sendJsonAsync(Request request, String path, String body,
            HttpResponse.BodyHandler<T> handler, CallOptions options) {
        checkNotNull(handler, "handler");
        checkNotNull(options, "options");
        Request routed = routedByBody("BalancedHttpClient.sendJsonAsync", request, path, body);
        String name = balancer.name();
        return sendAttempts(routed, backend -> post(path, body, backend),
                attempt -> UsageTap.handler(handler, name, attempt.lease()), options);
    }

    /**
     * Like {@link #stream(Request, Function)} for a JSON body that this client posts itself, as
     * {@link #sendJson(Request, String, String, HttpResponse.BodyHandler) sendJson} posts it: the
     * request is routed with the prompt read from the body when it has none, and the server's
     * prompt-cache figures are reported on the lease of the attempt that answered. In a stream of
     * server-sent events they come in the last chunk, when the body asks for them
     * ({@code "stream_options":{"include_usage":true}}); they are read as the caller reads
     * {@link StreamedResponse#body()}, a chunk at a time, without holding the stream or changing a
     * byte of it, and reported before the caller reaches the end of the stream (and so before the
     * lease ends). A stream without them reports nothing.
     *
     * <p>Named after {@code stream}, whose retries and lease it shares, with {@code Json} for the
     * body it posts and reads.
     *
     * @param request what the balancer routes by; its prompt, if it has none, is read from the body
     * @param path    the path to post to, such as {@code /v1/chat/completions}
     * @param body    the JSON body, sent in UTF-8
     * @return the answer; close it (or read its body to the end) to end its lease
     * @throws CallFailedException         if the last attempt failed without an answer
     * @throws InterruptedException        if the thread was interrupted while waiting
     * @throws NullPointerException        if an argument is null
     * @throws IllegalArgumentException    if {@code path} is not an absolute path, or the body of a
     *                                     chat or completion request is not one; nothing is sent then
     * @throws IllegalStateException       if {@code jackson-core} is missing
     * @throws dev.ailb.NoAvailableBackendException if no backend is available
     */
    public StreamedResponse streamJson(Request request, String path, String body) throws InterruptedException {
        return streamJsonOf(request, null, path, body);
    }

    /**
     * Like {@link #streamJson(Request, String, String)} for a request of a session, placed and
     * moved as {@link #stream(Request, String, Function)} places and moves it.
     *
     * @param request   what the balancer routes by; its prompt, if it has none, is read from the body
     * @param sessionId the session, not blank, at most 256 characters
     * @param path      the path to post to, such as {@code /v1/chat/completions}
     * @param body      the JSON body, sent in UTF-8
     * @return the answer; close it (or read its body to the end) to end its lease
     * @throws CallFailedException         if the last attempt failed without an answer
     * @throws InterruptedException        if the thread was interrupted while waiting
     * @throws NullPointerException        if an argument is null
     * @throws IllegalArgumentException    if {@code sessionId} is blank or too long, {@code path}
     *                                     is not an absolute path, or the body of a chat or
     *                                     completion request is not one; nothing is sent then
     * @throws IllegalStateException       if {@code jackson-core} is missing
     * @throws dev.ailb.NoAvailableBackendException if no backend is available
     */
    public StreamedResponse streamJson(Request request, String sessionId, String path, String body)
            throws InterruptedException {
        return streamJsonOf(request, checkNotNull(sessionId, "sessionId"), path, body);
    }

    /** {@link #streamJson} of a session, or of none when {@code sessionId} is null. */
    private StreamedResponse streamJsonOf(Request request, String sessionId, String path, String body)
            throws InterruptedException {
        Request routed = routedByBody("BalancedHttpClient.streamJson", request, path, body);
        String name = balancer.name();
        return streamOf(routed, sessionId, backend -> post(path, body, backend),
                (response, lease) -> UsageTap.body(response, name, lease));
    }

    /**
     * Like {@link #streamJson(Request, String, String)} without blocking, with the client's
     * {@linkplain Builder#callOptions default call options}; see
     * {@link #streamJsonAsync(Request, String, String, CallOptions)}.
     *
     * @param request what the balancer routes by; its prompt, if it has none, is read from the body
     * @param path    the path to post to, such as {@code /v1/chat/completions}
     * @param body    the JSON body, sent in UTF-8
     * @return the answer to come; close it (or read its body to the end) to end its lease
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code path} is not an absolute path, or the body of a
     *                                  chat or completion request is not one; nothing is sent then
     * @throws IllegalStateException    if {@code jackson-core} is missing, or the balancer is closed
     */
    public CompletableFuture<StreamedResponse> streamJsonAsync(Request request, String path, String body) {
        return streamJsonAsync(request, path, body, callOptions);
    }

    /**
     * Like {@link #streamJson(Request, String, String)} without blocking, through the attempts,
     * deadlines and hedging of {@link #streamAsync(Request, Function, CallOptions)}: the request
     * is routed with the prompt read from the body when it has none, and the server's prompt-cache
     * figures are reported on the winner's lease as the caller reads the stream.
     *
     * @param request what the balancer routes by; its prompt, if it has none, is read from the body
     * @param path    the path to post to, such as {@code /v1/chat/completions}
     * @param body    the JSON body, sent in UTF-8
     * @param options the deadlines and hedging of this request
     * @return the answer to come; close it (or read its body to the end) to end its lease
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code path} is not an absolute path, or the body of a
     *                                  chat or completion request is not one; nothing is sent then
     * @throws IllegalStateException    if {@code jackson-core} is missing, or the balancer is closed
     */
    public CompletableFuture<StreamedResponse> streamJsonAsync(Request request, String path, String body,
            CallOptions options) {
        checkNotNull(options, "options");
        Request routed = routedByBody("BalancedHttpClient.streamJsonAsync", request, path, body);
        String name = balancer.name();
        return streamAttempts(routed, backend -> post(path, body, backend),
                (response, lease) -> UsageTap.body(response, name, lease), options);
    }

    /**
     * The request as a body-aware call routes it: with the prompt read from the body when it has
     * none and the path is a chat or completion endpoint. Checks the arguments first.
     */
    private static Request routedByBody(String caller, Request request, String path, String body) {
        checkNotNull(request, "request");
        checkNotNull(path, "path");
        checkNotNull(body, "body");
        Jackson.require(caller);
        checkPath(path);
        if (request.hasPrompt()) {
            return request;
        }
        return OpenAiPrompt.Endpoint.of(path)
                .map(endpoint -> request.withPrompt(OpenAiPrompt.read(endpoint, body)))
                .orElse(request);
    }

    private static void checkPath(String path) {
        URI uri;
        try {
            uri = new URI(path);
        } catch (URISyntaxException e) {
            uri = null;
        }
        if (uri == null || !path.startsWith("/") || path.startsWith("//") || uri.getScheme() != null) {
            throw new IllegalArgumentException("path: " + quote(path)
                    + " (expected: an absolute path such as /v1/chat/completions)");
        }
    }

    /** The POST of a body-aware call to a backend, as the customizer finishes it. */
    private HttpRequest post(String path, String body, Backend backend) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(baseUri(backend).resolve(path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        HttpRequest.Builder customized = jsonRequestCustomizer.apply(builder);
        if (customized == null) {
            throw new IllegalStateException("jsonRequestCustomizer returned no builder for " + backend.id());
        }
        return customized.build();
    }

    private HttpRequest build(Function<URI, HttpRequest> requestFor, Backend backend) {
        HttpRequest built = requestFor.apply(baseUri(backend));
        if (built == null) {
            throw new IllegalStateException("requestFor returned no request for " + backend.id());
        }
        return built;
    }

    /** The last 5xx answer of a call that ran out of attempts, or the failure rethrown. */
    @SuppressWarnings("unchecked")
    private static <T> HttpResponse<T> lastAnswer(CallFailedException e) throws InterruptedException {
        Throwable cause = e.getCause();
        if (cause instanceof ServerErrorException) {
            return (HttpResponse<T>) ((ServerErrorException) cause).response();
        }
        if (cause instanceof InterruptedException) {
            Thread.interrupted(); // set again by the balancer; the exception now carries it
            throw (InterruptedException) cause;
        }
        throw e;
    }

    @Override
    public String toString() {
        return "BalancedHttpClient{" + scheme + '}';
    }

    /** Builds a {@link BalancedHttpClient}. Not thread-safe. */
    public static final class Builder {
        private final LoadBalancer balancer;
        private HttpClient client;
        private String scheme = "http";
        private UnaryOperator<HttpRequest.Builder> jsonRequestCustomizer = UnaryOperator.identity();
        private CallOptions callOptions = CallOptions.none();

        private Builder(LoadBalancer balancer) {
            this.balancer = balancer;
        }

        /**
         * The JDK client to send with; by default one of its own (HTTP/1.1, 10 s connect
         * timeout). Set request timeouts on the requests themselves.
         *
         * @param client the client
         * @return this builder
         * @throws NullPointerException if {@code client} is null
         */
        public Builder httpClient(HttpClient client) {
            this.client = checkNotNull(client, "client");
            return this;
        }

        /**
         * The scheme of the backends' base URIs; default {@code http}.
         *
         * @param scheme {@code http} or {@code https}
         * @return this builder
         * @throws NullPointerException     if {@code scheme} is null
         * @throws IllegalArgumentException if it is neither
         */
        public Builder scheme(String scheme) {
            checkNotNull(scheme, "scheme");
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new IllegalArgumentException("scheme: \"" + scheme + "\" (expected: http or https)");
            }
            this.scheme = scheme;
            return this;
        }

        /**
         * Finishes each request of {@link #sendJson} and {@link #streamJson}, once per attempt:
         * headers to add (an API key), a timeout, a version. It is given a builder with the URI,
         * the {@code Content-Type} and the POST of the body already set, and returns the builder
         * to build (the same one, usually). An exception it throws counts as a failed attempt.
         * By default none.
         *
         * <pre>{@code
         * BalancedHttpClient http = BalancedHttpClient.builder(lb)
         *         .jsonRequestCustomizer(b -> b.header("Authorization", "Bearer " + key)
         *                 .timeout(Duration.ofMinutes(2)))
         *         .build();
         * }</pre>
         *
         * @param customizer finishes a request builder; called from the threads that send
         * @return this builder
         * @throws NullPointerException if {@code customizer} is null
         */
        public Builder jsonRequestCustomizer(UnaryOperator<HttpRequest.Builder> customizer) {
            this.jsonRequestCustomizer = checkNotNull(customizer, "customizer");
            return this;
        }

        /**
         * The deadlines and hedging of {@link #sendAsync}, {@link #sendJsonAsync},
         * {@link #streamAsync} and {@link #streamJsonAsync} when the request gives none of its own; default {@link CallOptions#none()}. The blocking
         * {@code send} and {@code stream} forms do not use them.
         *
         * @param options the default options of the asynchronous forms
         * @return this builder
         * @throws NullPointerException if {@code options} is null
         */
        public Builder callOptions(CallOptions options) {
            this.callOptions = checkNotNull(options, "callOptions");
            return this;
        }

        /**
         * The client.
         *
         * @return a new client with these settings
         */
        public BalancedHttpClient build() {
            HttpClient c = client != null ? client : HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(10))
                    .build();
            return new BalancedHttpClient(balancer, c, scheme, jsonRequestCustomizer, callOptions);
        }
    }

    /** An answer of a body-aware call and the lease of its attempt, still open. */
    private record Answered<T>(HttpResponse<T> response, Lease lease) {}

    /** A streamed 5xx answer whose body was read, so that it can be handed back when no attempt is left. */
    private record ReadResponse(HttpResponse<InputStream> original, byte[] body) implements HttpResponse<byte[]> {
        @Override
        public int statusCode() {
            return original.statusCode();
        }

        @Override
        public HttpRequest request() {
            return original.request();
        }

        @Override
        public java.util.Optional<HttpResponse<byte[]>> previousResponse() {
            return java.util.Optional.empty();
        }

        @Override
        public java.net.http.HttpHeaders headers() {
            return original.headers();
        }

        @Override
        public java.util.Optional<javax.net.ssl.SSLSession> sslSession() {
            return original.sslSession();
        }

        @Override
        public URI uri() {
            return original.uri();
        }

        @Override
        public HttpClient.Version version() {
            return original.version();
        }
    }
}
