package dev.ailb.demo;

import static dev.ailb.demo.Demo.PATH;
import static dev.ailb.demo.Demo.THREAD_PREFIX;

import com.sun.net.httpserver.HttpExchange;
import dev.ailb.testing.LoopbackServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A simulated inference instance with a prefix cache, for the demo's prefix cache run: a
 * {@link LoopbackServer} whose {@code POST /v1/completions} takes {@code {"prompt": "..."}} and
 * <ol>
 *   <li>looks the prompt up in its {@link PromptCache} and caches it;
 *   <li>prefills: waits {@link #PREFILL_NANOS_PER_TOKEN} for each token that was not cached;
 *   <li>sends the response headers, the first byte of its answer (a streaming server's first token);
 *   <li>decodes: waits {@link #DECODE_NANOS}, then caches the prompt and its answer together, as a
 *       server keeps the blocks of the tokens it generates (a chat's next prompt starts with both);
 *   <li>sends an OpenAI-style completion whose {@code usage} gives {@code prompt_tokens} and
 *       {@code prompt_tokens_details.cached_tokens}.
 * </ol>
 * Its answer depends only on the prompt, so every instance answers a prompt alike and a chat
 * unfolds the same whichever instances serve its turns. Each request has a thread of its own and
 * nothing queues: the time to the first byte is the part of the prompt that was not cached, and
 * nothing else.
 */
final class CachingInstance implements AutoCloseable {
    /** Prefill time per token not cached: 25 us, 40,000 tokens a second, at time scale 1. */
    static final long PREFILL_NANOS_PER_TOKEN = 25_000;
    /** Decode time of every answer, at time scale 1. */
    static final long DECODE_NANOS = TimeUnit.MILLISECONDS.toNanos(4);
    /** The blocks each instance's cache holds: 1,024 blocks of 64 characters, 16,384 tokens. */
    static final int CACHE_BLOCKS = 1_024;
    /** The shortest and the longest answer, in characters. */
    static final int MIN_ANSWER_CHARS = 200;
    static final int MAX_ANSWER_CHARS = 600;

    private final String id;
    private final PromptCache cache = new PromptCache(CACHE_BLOCKS);
    private final long prefillNanosPerToken;
    private final long decodeNanos;
    private final ExecutorService executor;
    private final NamedThreadFactory threads;
    private final LoopbackServer server;

    private CachingInstance(String id, int workerThreads, double timeScale) {
        this.id = id;
        this.prefillNanosPerToken = Math.round(PREFILL_NANOS_PER_TOKEN * timeScale);
        this.decodeNanos = Math.round(DECODE_NANOS * timeScale);
        this.threads = new NamedThreadFactory(THREAD_PREFIX + id + "-");
        this.executor = Executors.newFixedThreadPool(workerThreads, threads);
        try {
            this.server = LoopbackServer.start(0, 128, executor,
                    Map.of(PATH, this::handle));
        } catch (IOException e) {
            executor.shutdownNow();
            throw new UncheckedIOException("cannot bind " + id + " to " + LoopbackServer.HOST, e);
        } catch (RuntimeException e) {
            executor.shutdownNow();
            throw e;
        }
    }

    /**
     * Starts an instance on an ephemeral loopback port, its cache empty.
     *
     * @param workerThreads the client threads that may call it at once
     * @param timeScale     factor applied to its prefill and decode times
     */
    static CachingInstance start(String id, int workerThreads, double timeScale) {
        return new CachingInstance(id, workerThreads, timeScale);
    }

    String id() {
        return id;
    }

    int port() {
        return server.port();
    }

    /** Empties its cache, as a restart would, and keeps serving. */
    void clearCache() {
        cache.clear();
    }

    /** The answer to a prompt: the same text from every instance. */
    static String answer(String prompt) {
        SplittableRandom random = new SplittableRandom(prompt.hashCode() * 0x9E3779B97F4A7C15L ^ prompt.length());
        return ChatWorkload.words(random, MIN_ANSWER_CHARS, MAX_ANSWER_CHARS);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestURI().getPath().equals(PATH)) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            if (!exchange.getRequestMethod().equals("POST")) {
                exchange.getResponseHeaders().set("Allow", "POST");
                exchange.sendResponseHeaders(405, -1);
                return;
            }
            String body;
            try (InputStream in = exchange.getRequestBody()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.getResponseHeaders().set("X-Instance", id);
            Optional<String> prompt = ChatJson.string(body, "prompt");
            if (prompt.isEmpty()) {
                byte[] error = "{\"error\":{\"message\":\"no prompt\",\"type\":\"invalid_request_error\"}}"
                        .getBytes(StandardCharsets.UTF_8);
                exchange.sendResponseHeaders(400, error.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(error);
                }
                return;
            }
            String requestId = exchange.getRequestHeaders().getFirst("X-Request-Id");
            String text = prompt.get();
            long promptTokens = PromptCache.tokens(text);
            long cachedTokens = cache.prefill(text);
            String answer = answer(text);
            long completionTokens = PromptCache.tokens(answer);
            try {
                TimeUnit.NANOSECONDS.sleep((promptTokens - cachedTokens) * prefillNanosPerToken);
                exchange.sendResponseHeaders(200, 0); // chunked: the headers go now, the body after decoding
                TimeUnit.NANOSECONDS.sleep(decodeNanos);
                cache.store(text + answer);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return; // the demo is stopping: the exchange closes unanswered
            }
            String json = "{\"id\":" + ChatJson.quote("cmpl-" + (requestId == null ? id : requestId))
                    + ",\"object\":\"text_completion\",\"model\":\"sim-chat\",\"instance\":\"" + id + "\","
                    + "\"choices\":[{\"index\":0,\"text\":" + ChatJson.quote(answer)
                    + ",\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":" + promptTokens
                    + ",\"completion_tokens\":" + completionTokens + ",\"total_tokens\":"
                    + (promptTokens + completionTokens) + ",\"prompt_tokens_details\":{\"cached_tokens\":"
                    + cachedTokens + "}}}";
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(json.getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    @Override
    public void close() {
        server.close();
        DemoThreads.shutdown(executor, threads);
    }
}
