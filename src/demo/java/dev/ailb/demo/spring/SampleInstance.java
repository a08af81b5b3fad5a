package dev.ailb.demo.spring;

import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ScriptedEndpoint;
import java.util.Map;

/**
 * One simulated OpenAI-compatible inference instance of the Spring Boot sample, on an ephemeral port
 * of {@code 127.0.0.1}: {@code POST /v1/chat/completions} answers {@code Hello from <id>}, whole or
 * streamed in two events when the request asks for a stream, and {@code GET /health} answers 200, as
 * vLLM's does. Each endpoint counts its requests. Thread-safe; close it to stop its server.
 */
final class SampleInstance implements AutoCloseable {
    /** Where the OpenAI clients post chat completions. */
    static final String CHAT_PATH = "/v1/chat/completions";
    /** Where the pool's health check asks. */
    static final String HEALTH_PATH = "/health";

    private final String id;
    private final ScriptedEndpoint chat;
    private final ScriptedEndpoint health = ScriptedEndpoint.answering(200);
    private final LoopbackServer server;

    private SampleInstance(String id) {
        this.id = id;
        String greeting = "Hello from " + id;
        this.chat = ScriptedEndpoint.answering(200, "application/json", completion(greeting))
                .streamWhenAsked(event("{\"role\":\"assistant\",\"content\":\"Hello \"}", "null"),
                        event("{\"content\":\"from " + id + "\"}", "null") + event("{}", "\"stop\"")
                                + "data: [DONE]\n\n");
        this.server = LoopbackServer.start("sample-" + id, Map.of(CHAT_PATH, chat, HEALTH_PATH, health));
    }

    /** Starts an instance whose answers and threads are named after {@code id}. */
    static SampleInstance start(String id) {
        return new SampleInstance(id);
    }

    private static String completion(String text) {
        return "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"llama\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"" + text + "\"},\"finish_reason\":\"stop\"}],"
                + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":3,\"total_tokens\":6}}";
    }

    private static String event(String delta, String finishReason) {
        return "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"llama\","
                + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"finish_reason\":" + finishReason + "}]}\n\n";
    }

    String id() {
        return id;
    }

    int port() {
        return server.port();
    }

    /** Chat completions it has been asked for. */
    int chatRequests() {
        return chat.requests();
    }

    /** Health checks it has been asked. */
    int healthChecks() {
        return health.requests();
    }

    /** Stops it as a crash would: its port closes at once. */
    void stop() {
        server.stop();
    }

    @Override
    public void close() {
        chat.release();
        server.close();
    }
}
