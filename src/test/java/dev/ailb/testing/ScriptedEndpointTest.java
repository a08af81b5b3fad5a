package dev.ailb.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ScriptedEndpointTest {
    private static final String PATH = "/v1/chat/completions";
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(WAIT).build();
    private LoopbackServer server;

    @AfterEach
    void closeServer() {
        if (server != null) {
            server.close();
        }
    }

    private URI serve(ScriptedEndpoint endpoint) {
        server = LoopbackServer.start("scripted", Map.of(PATH, endpoint));
        return URI.create("http://" + LoopbackServer.HOST + ":" + server.port() + PATH);
    }

    private CompletableFuture<HttpResponse<String>> post(URI uri, String body) {
        return client.sendAsync(HttpRequest.newBuilder(uri).timeout(WAIT)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void answersWithTheStatusAndBodySetAndRecordsEachRequest() throws Exception {
        // given
        ScriptedEndpoint endpoint = ScriptedEndpoint.answering(200, "application/json", "{\"ok\":true}");
        URI uri = serve(endpoint);

        // when
        HttpResponse<String> first = post(uri, "one").get(WAIT.toSeconds(), TimeUnit.SECONDS);
        endpoint.status(503).body("{\"error\":\"busy\"}");
        HttpResponse<String> second = post(uri, "two").get(WAIT.toSeconds(), TimeUnit.SECONDS);

        // then
        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(first.body()).isEqualTo("{\"ok\":true}");
        assertThat(first.headers().firstValue("Content-Type")).contains("application/json");
        assertThat(second.statusCode()).isEqualTo(503);
        assertThat(second.body()).isEqualTo("{\"error\":\"busy\"}");
        assertThat(endpoint.requests()).isEqualTo(2);
        assertThat(endpoint.lastRequestBody()).isEqualTo("two");
        assertThat(endpoint.arrivals()).containsExactly(1, 2);
    }

    @Test
    void aHeldAnswerGoesOutWhenReleased() throws Exception {
        // given
        ScriptedEndpoint endpoint = ScriptedEndpoint.answering(204).hold();
        URI uri = serve(endpoint);

        // when
        CompletableFuture<HttpResponse<String>> answer = post(uri, "");
        assertThat(endpoint.arrivals().poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(1);

        // then
        assertThat(answer).isNotDone();
        endpoint.release();
        assertThat(answer.get(WAIT.toSeconds(), TimeUnit.SECONDS).statusCode()).isEqualTo(204);
    }

    @Test
    void aStreamAskedForSendsItsFirstEventAtOnceAndTheRestWhenReleased() throws Exception {
        // given
        ScriptedEndpoint endpoint = ScriptedEndpoint.answering(200, "application/json", "{}")
                .streamWhenAsked("data: first\n\n", "data: [DONE]\n\n").hold();
        URI uri = serve(endpoint);

        // when
        HttpResponse<InputStream> answer = client.send(HttpRequest.newBuilder(uri).timeout(WAIT)
                .POST(HttpRequest.BodyPublishers.ofString("{\"stream\":true}")).build(),
                HttpResponse.BodyHandlers.ofInputStream());

        // then
        assertThat(answer.headers().firstValue("Content-Type")).contains("text/event-stream");
        try (InputStream body = answer.body()) {
            String first = "data: first\n\n";
            assertThat(new String(body.readNBytes(first.length()), StandardCharsets.UTF_8)).isEqualTo(first);
            endpoint.release();
            assertThat(new String(body.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("data: [DONE]\n\n");
        }
    }

    @Test
    void aServerErrorIsAnsweredWholeEvenWhenAStreamIsAskedFor() throws Exception {
        // given
        ScriptedEndpoint endpoint = ScriptedEndpoint.answering(500, "application/json", "{\"error\":\"x\"}")
                .streamWhenAsked("data: first\n\n", "data: [DONE]\n\n");
        URI uri = serve(endpoint);

        // when
        HttpResponse<String> answer = post(uri, "{\"stream\":true}").get(WAIT.toSeconds(), TimeUnit.SECONDS);

        // then
        assertThat(answer.statusCode()).isEqualTo(500);
        assertThat(answer.body()).isEqualTo("{\"error\":\"x\"}");
    }

    @Test
    void closingTheServerEndsAHeldRequestUnanswered() throws Exception {
        // given
        ScriptedEndpoint endpoint = ScriptedEndpoint.answering(200).hold();
        URI uri = serve(endpoint);
        CompletableFuture<HttpResponse<String>> answer = post(uri, "");
        assertThat(endpoint.arrivals().poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(1);

        // when: close returns once the server's threads have ended
        server.close();

        // then
        assertThatThrownBy(() -> answer.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(IOException.class);
    }

    @Test
    void badSettingsAreRejectedNamingThem() {
        assertThatThrownBy(() -> ScriptedEndpoint.answering(99))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("status: 99 (expected: 100..599)");
        assertThatThrownBy(() -> ScriptedEndpoint.answering(200).body("{}"))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> ScriptedEndpoint.answering(200, "text/plain", null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("body");
    }
}
