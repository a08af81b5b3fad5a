package dev.ailb.langchain4j;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.CallFailedException;
import dev.ailb.CallOptions;
import dev.ailb.DeadlineExceededException;
import dev.ailb.LoadBalancer;
import dev.ailb.http.BalancedHttpClient;
import dev.ailb.http.StreamedResponse;
import dev.langchain4j.exception.HttpException;
import dev.langchain4j.exception.TimeoutException;
import dev.langchain4j.http.client.HttpClient;
import dev.langchain4j.http.client.HttpRequest;
import dev.langchain4j.http.client.SuccessfulHttpResponse;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventParser;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LangChain4j's {@link HttpClient} over a pool, as {@link BalancedHttpClientBuilder} builds it:
 * each request is checked and converted once ({@link Outgoing}), then sent through
 * {@link BalancedHttpClient}'s asynchronous calls (the body-aware ones for a chat or completion
 * POST whose body was read, so that the server's prompt-cache figures are counted), which pick a backend per attempt, retry a 5xx
 * answer or a failure to connect on another one within the balancer's retry policy and budget,
 * and hold each attempt's lease until its answer is read. A streamed answer is handed to
 * LangChain4j's parser by an {@link EventStreamRelay} on the client's executor. Thread-safe.
 */
final class PoolHttpClient implements HttpClient {
    private static final Logger log = LoggerFactory.getLogger(PoolHttpClient.class);

    private final LoadBalancer balancer;
    private final java.net.http.HttpClient jdk;
    private final BalancedHttpClient http;
    private final Duration readTimeout;
    private final CallOptions callOptions;
    private final Executor relays;
    private final boolean byModel;
    private final String idPrefix;
    private final AtomicLong ids = new AtomicLong();

    PoolHttpClient(LoadBalancer balancer, java.net.http.HttpClient jdk, Duration readTimeout, CallOptions callOptions,
            Executor relays, boolean byModel) {
        this.balancer = balancer;
        this.jdk = jdk;
        this.http = BalancedHttpClient.builder(balancer).httpClient(jdk).build();
        this.readTimeout = readTimeout;
        this.callOptions = callOptions;
        this.relays = relays;
        this.byModel = byModel;
        this.idPrefix = "langchain4j-" + balancer.name() + '-';
    }

    @Override
    public SuccessfulHttpResponse execute(HttpRequest request) {
        Outgoing outgoing = Outgoing.of(request, nextId(), readTimeout, byModel);
        CompletableFuture<HttpResponse<byte[]>> answer = outgoing.jsonBody().isPresent()
                ? jsonClient(outgoing).sendJsonAsync(outgoing.routing(), outgoing.pathAndQuery(),
                        outgoing.jsonBody().get(), HttpResponse.BodyHandlers.ofByteArray(), callOptions)
                : http.sendAsync(outgoing.routing(), outgoing::toBackend, HttpResponse.BodyHandlers.ofByteArray(),
                        callOptions);
        HttpResponse<byte[]> response;
        try {
            response = answer.get();
        } catch (InterruptedException e) {
            answer.cancel(true); // its attempts' exchanges are cancelled with it
            Thread.currentThread().interrupt();
            throw new RuntimeException("interrupted while waiting for " + outgoing.routing().id(), e);
        } catch (ExecutionException e) {
            throw translated(e.getCause());
        }
        int status = response.statusCode();
        if (status < 200 || status >= 300) {
            throw new HttpException(status, new String(response.body(), StandardCharsets.UTF_8));
        }
        return SuccessfulHttpResponse.builder()
                .statusCode(status)
                .headers(response.headers().map())
                .body(response.body())
                .build();
    }

    @Override
    public void execute(HttpRequest request, ServerSentEventParser parser, ServerSentEventListener listener) {
        checkNotNull(parser, "parser");
        checkNotNull(listener, "listener");
        Outgoing outgoing = Outgoing.of(request, nextId(), readTimeout, byModel);
        CompletableFuture<StreamedResponse> streamed = outgoing.jsonBody().isPresent()
                ? jsonClient(outgoing).streamJsonAsync(outgoing.routing(), outgoing.pathAndQuery(),
                        outgoing.jsonBody().get(), callOptions)
                : http.streamAsync(outgoing.routing(), outgoing::toBackend, callOptions);
        streamed.whenComplete((answer, failure) -> {
            if (failure != null) {
                Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                        ? failure.getCause() : failure;
                notifyError(listener, translated(cause));
                return;
            }
            try {
                relays.execute(new EventStreamRelay(answer, parser, listener));
            } catch (RejectedExecutionException e) {
                EventStreamRelay.abandon(answer);
                notifyError(listener, e);
            }
        });
    }

    /**
     * A client for one chat or completion POST, whose body-aware calls send it with its own
     * headers and report the server's prompt-cache figures ({@code usage}) on the backend that
     * answered. Cheap: it shares the JDK client and holds a few references.
     */
    private BalancedHttpClient jsonClient(Outgoing outgoing) {
        return BalancedHttpClient.builder(balancer).httpClient(jdk).jsonRequestCustomizer(outgoing::finish).build();
    }

    private String nextId() {
        return idPrefix + ids.incrementAndGet();
    }

    /**
     * A failure as LangChain4j's own clients report it: a timeout (the JDK client's, or the call's
     * deadline) as its {@link TimeoutException}, any other unchecked failure as it is (a
     * {@link CallFailedException} saying why no attempt was left, a
     * {@link dev.ailb.NoAvailableBackendException}), a checked one wrapped.
     */
    private static RuntimeException translated(Throwable failure) {
        if (failure instanceof DeadlineExceededException
                || failure instanceof CallFailedException && failure.getCause() instanceof HttpTimeoutException) {
            return new TimeoutException(failure);
        }
        if (failure instanceof RuntimeException) {
            return (RuntimeException) failure;
        }
        return new RuntimeException(failure);
    }

    private static void notifyError(ServerSentEventListener listener, Throwable failure) {
        try {
            listener.onError(failure);
        } catch (RuntimeException e) {
            log.debug("A server-sent event listener threw; ignored", e);
        }
    }

    @Override
    public String toString() {
        return "PoolHttpClient{" + idPrefix + '}';
    }
}
