package dev.ailb.http;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.Backend;
import dev.ailb.BackendCall;
import dev.ailb.CallFailedException;
import dev.ailb.Lease;
import dev.ailb.LeasedCall;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.Function;

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
 * <p>Thread-safe.
 */
public final class BalancedHttpClient {
    /** The most of a 5xx body a streamed request keeps, so that the answer can still be read. */
    static final int MAX_ERROR_BODY = 64 * 1024;

    private final LoadBalancer balancer;
    private final HttpClient client;
    private final String scheme;

    private BalancedHttpClient(LoadBalancer balancer, HttpClient client, String scheme) {
        this.balancer = balancer;
        this.client = client;
        this.scheme = scheme;
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
        BackendCall<HttpResponse<T>> call = backend -> {
            HttpResponse<T> response = client.send(build(requestFor, backend), handler);
            if (response.statusCode() >= 500) {
                throw new ServerErrorException(response);
            }
            return response;
        };
        try {
            return sessionId == null ? balancer.execute(request, call) : balancer.execute(request, sessionId, call);
        } catch (CallFailedException e) {
            return lastAnswer(e);
        }
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
        LeasedCall<StreamedResponse> call = lease -> {
            HttpResponse<InputStream> response =
                    client.send(build(requestFor, lease.backend()), HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() >= 500) {
                byte[] body;
                try (InputStream in = response.body()) {
                    body = in.readNBytes(MAX_ERROR_BODY);
                }
                throw new ServerErrorException(new ReadResponse(response, body));
            }
            return new StreamedResponse(response, lease);
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
         * The client.
         *
         * @return a new client with these settings
         */
        public BalancedHttpClient build() {
            HttpClient c = client != null ? client : HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(10))
                    .build();
            return new BalancedHttpClient(balancer, c, scheme);
        }
    }

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
