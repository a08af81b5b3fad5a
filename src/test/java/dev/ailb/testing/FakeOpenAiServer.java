package dev.ailb.testing;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake OpenAI-compatible server on loopback: {@code POST /v1/chat/completions} answered by a
 * {@link ScriptedEndpoint} with a chat completion as the OpenAI SDK parses it, whole, or streamed
 * in two chunks when the body asks for a stream (the second held back while the endpoint is
 * {@linkplain ScriptedEndpoint#hold() held}). It records the headers of the latest request, and
 * can be told to cut its next streams after their first chunk ({@link #cutStreams()}): the
 * connection is dropped without the end of the chunked body, as when a server dies mid-answer.
 *
 * <p>Thread-safe. Close it to stop its server.
 */
public final class FakeOpenAiServer implements AutoCloseable {
    /** The path the SDK posts chat completions to with its default base path. */
    public static final String CHAT = "/v1/chat/completions";

    /** The whole answer, whose text is {@code Hello}. */
    public static final String COMPLETION = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,"
            + "\"model\":\"llama\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},"
            + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}";

    /** The first event of a streamed answer: {@code Hel}. */
    public static final String FIRST_CHUNK = chunk("{\"role\":\"assistant\",\"content\":\"Hel\"}", "null");

    /** The rest of a streamed answer: {@code lo}, the end of the choice, {@code [DONE]}. */
    public static final String REST = chunk("{\"content\":\"lo\"}", "null")
            + chunk("{}", "\"stop\"") + "data: [DONE]\n\n";

    private final ScriptedEndpoint endpoint = ScriptedEndpoint.answering(200, "application/json", COMPLETION)
            .streamWhenAsked(FIRST_CHUNK, REST);
    private final LoopbackServer server;
    private volatile Headers lastHeaders;
    private volatile String lastPath;
    private volatile CountDownLatch cut; // null: streams are not cut
    private final AtomicInteger cutRequests = new AtomicInteger();

    private FakeOpenAiServer(String name) {
        HttpHandler recording = exchange -> {
            lastHeaders = exchange.getRequestHeaders();
            lastPath = exchange.getRequestURI().toString();
            CountDownLatch cutting = cut;
            if (cutting != null) {
                cutAfterFirstChunk(exchange, cutting);
                return;
            }
            endpoint.handle(exchange);
        };
        this.server = LoopbackServer.start(name, Map.of(CHAT, recording));
    }

    /** Starts a server on an ephemeral port of {@code 127.0.0.1}, its threads named after {@code name}. */
    public static FakeOpenAiServer start(String name) {
        return new FakeOpenAiServer(name);
    }

    private static String chunk(String delta, String finishReason) {
        return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"llama\","
                + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"finish_reason\":" + finishReason + "}]}\n\n";
    }

    /** The endpoint that answers: its status, hold and counts. */
    public ScriptedEndpoint endpoint() {
        return endpoint;
    }

    /** The server, to stop and restart. */
    public LoopbackServer server() {
        return server;
    }

    public int port() {
        return server.port();
    }

    /** The headers of the latest request, or null before the first. */
    public Headers lastHeaders() {
        return lastHeaders;
    }

    /** The path and query of the latest request, or null before the first. */
    public String lastPath() {
        return lastPath;
    }

    /**
     * From now on, sends each request the first chunk of a stream and then, once {@code go} is
     * counted down, drops the connection without ending the body. These requests are counted
     * by {@link #cutRequests()}, not by the endpoint.
     */
    public void cutStreams(CountDownLatch go) {
        this.cut = go;
    }

    /** How many requests got a stream that was cut. */
    public int cutRequests() {
        return cutRequests.get();
    }

    private void cutAfterFirstChunk(HttpExchange exchange, CountDownLatch go) throws IOException {
        exchange.getRequestBody().readAllBytes();
        cutRequests.incrementAndGet();
        exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
        exchange.sendResponseHeaders(200, 0); // chunked
        OutputStream out = exchange.getResponseBody();
        out.write(FIRST_CHUNK.getBytes(StandardCharsets.UTF_8));
        out.flush();
        try {
            go.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Thrown out of the handler, the server closes the connection as it is: no last chunk.
        throw new IOException("cut mid-stream on purpose");
    }

    @Override
    public void close() {
        endpoint.release();
        CountDownLatch cutting = cut;
        if (cutting != null) {
            cutting.countDown();
        }
        server.close();
    }
}
