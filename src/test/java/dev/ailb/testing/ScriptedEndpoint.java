package dev.ailb.testing;

import static dev.ailb.internal.Preconditions.checkNotNull;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * An endpoint of a fake inference instance, served by a {@link LoopbackServer}: it answers every
 * request with the status and body the test sets, and records what it was sent. Its answers can be
 * held back until the test lets them go ({@link #hold()}, {@link #release()}), so that a test
 * makes an instance silent or slow without sleeping.
 *
 * <p>Like an OpenAI-style server it can stream ({@link #streamWhenAsked}): a request whose JSON
 * body asks for a stream ({@code "stream":true}, spaced or not) gets server-sent events, unless the status set is
 * a server error, which is answered whole as a real server does.
 *
 * <p>A held answer waits until it is released or its handler thread is interrupted, as when the
 * server that owns the thread closes; an interrupted one is not sent. Thread-safe.
 */
public final class ScriptedEndpoint implements HttpHandler {
    /** {@code "stream":true}, with or without whitespace around the colon, as clients write JSON either way. */
    private static final Pattern STREAM_FLAG = Pattern.compile("\"stream\"\\s*:\\s*true");
    private static final String EVENT_STREAM = "text/event-stream";

    private final String contentType;
    private volatile int status;
    private volatile String body; // null: the answer has no body
    private volatile String firstEvent; // null: never streams
    private volatile String restOfStream;
    private volatile CountDownLatch gate = new CountDownLatch(0); // open
    private final AtomicInteger requests = new AtomicInteger();
    private volatile String lastRequestBody;
    private final BlockingQueue<Integer> arrivals = new LinkedBlockingQueue<>();

    private ScriptedEndpoint(int status, String contentType, String body) {
        this.contentType = contentType;
        this.body = body;
        status(status);
    }

    /** An endpoint that answers {@code status} with no body. */
    public static ScriptedEndpoint answering(int status) {
        return new ScriptedEndpoint(status, null, null);
    }

    /** An endpoint that answers {@code status} with {@code body} of {@code contentType}. */
    public static ScriptedEndpoint answering(int status, String contentType, String body) {
        return new ScriptedEndpoint(status, checkNotNull(contentType, "contentType"), checkNotNull(body, "body"));
    }

    /**
     * Sets the status of the answers from now on.
     *
     * @throws IllegalArgumentException if {@code status} is not an HTTP status
     */
    public ScriptedEndpoint status(int status) {
        if (status < 100 || status > 599) {
            throw new IllegalArgumentException("status: " + status + " (expected: 100..599)");
        }
        this.status = status;
        return this;
    }

    /**
     * Sets the body of the answers from now on, sent with the content type the endpoint was made with.
     *
     * @throws IllegalStateException if the endpoint was made to answer with no body
     */
    public ScriptedEndpoint body(String body) {
        if (contentType == null) {
            throw new IllegalStateException("an endpoint made to answer with no body has no content type for one");
        }
        this.body = checkNotNull(body, "body");
        return this;
    }

    /**
     * Streams to the requests that ask for a stream: {@code firstEvent} goes out at once, then
     * {@code rest} once the endpoint is not held (see {@link #hold()}).
     */
    public ScriptedEndpoint streamWhenAsked(String firstEvent, String rest) {
        checkNotNull(firstEvent, "firstEvent");
        this.restOfStream = checkNotNull(rest, "rest");
        this.firstEvent = firstEvent; // last: a handler that sees it sees the rest too
        return this;
    }

    /**
     * Holds the answers back from now on until {@link #release()}: a whole answer is held before
     * anything of it is sent, a stream after its first event. Requests are still counted as they
     * arrive.
     */
    public synchronized ScriptedEndpoint hold() {
        if (gate.getCount() == 0) {
            gate = new CountDownLatch(1);
        }
        return this;
    }

    /** Lets every held answer go, and the answers from now on through. */
    public synchronized void release() {
        gate.countDown();
    }

    /** How many requests have arrived, held ones included. */
    public int requests() {
        return requests.get();
    }

    /** The body of the latest request to arrive, or null before the first. */
    public String lastRequestBody() {
        return lastRequestBody;
    }

    /**
     * The requests as they arrive, each by its number (1 for the first): a test waits for a
     * request with {@code poll(timeout, unit)} rather than for a time, and may clear the queue.
     */
    public BlockingQueue<Integer> arrivals() {
        return arrivals;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            lastRequestBody = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            arrivals.add(requests.incrementAndGet());
            int answerStatus = status;
            String first = firstEvent;
            if (first != null && answerStatus < 500 && STREAM_FLAG.matcher(lastRequestBody).find()) {
                stream(exchange, answerStatus, first);
            } else if (passGate()) {
                answerWhole(exchange, answerStatus);
            }
        }
    }

    private void answerWhole(HttpExchange exchange, int answerStatus) throws IOException {
        String answerBody = body;
        if (answerBody == null) {
            exchange.sendResponseHeaders(answerStatus, -1);
            return;
        }
        byte[] bytes = answerBody.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", contentType);
        exchange.sendResponseHeaders(answerStatus, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private void stream(HttpExchange exchange, int answerStatus, String first) throws IOException {
        String rest = restOfStream;
        exchange.getResponseHeaders().add("Content-Type", EVENT_STREAM);
        exchange.sendResponseHeaders(answerStatus, 0); // chunked
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(first.getBytes(StandardCharsets.UTF_8));
            out.flush();
            if (passGate()) {
                out.write(rest.getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    /** Waits while the endpoint is held; false if interrupted first. */
    private boolean passGate() {
        try {
            gate.await();
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
