package dev.ailb.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import dev.ailb.testing.LoopbackServer;
import dev.ailb.testing.ScriptedEndpoint;
import java.io.File;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Jackson is optional: on a class path with the SLF4J API alone (no Jackson, no Micrometer, none
 * of the frameworks of the integrations: Spring Boot, Spring AI, the OpenAI SDK, LangChain4j, the
 * fabric8 Kubernetes client), the balancer and every call of the HTTP client that existed before
 * the body-aware ones work against a loopback server, and the body-aware calls fail with an {@link IllegalStateException} that
 * names the artifact to add. Run in a JVM of its own, whose class path is only that.
 */
class ClassPathWithoutJacksonTest {
    private static final String CHAT = "/v1/chat/completions";
    private static final String BODY = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}";

    @Test
    void theCoreAndTheClientRunWithoutJacksonAndTheBodyAwareCallsSayWhatIsMissing() throws Exception {
        String classPath = String.join(File.pathSeparator, location(LoadBalancer.class),
                location(org.slf4j.Logger.class), location(ClassPathWithoutJacksonTest.class));
        Process java = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classPath, Main.class.getName())
                .redirectErrorStream(true).start();
        String output = new String(java.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(java.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(java.exitValue()).as(output).isZero();
        String missing = " reads JSON with com.fasterxml.jackson.core:jackson-core (version 2), an optional"
                + " dependency of ailb that is missing here: add it to the class path, or, on the module path,"
                + " make the application module require com.fasterxml.jackson.core";
        assertThat(output.lines().filter(line -> !line.startsWith("SLF4J("))) // no logger bound: its notice
                .containsExactly(
                "jackson false, micrometer false",
                "spring boot false, spring ai false, openai sdk false, langchain4j false, fabric8 false",
                "send 200, stream 200 data: {\"delta\":\"hi\"}, successes 2",
                "IllegalStateException: BalancedHttpClient.sendJson" + missing,
                "IllegalStateException: BalancedHttpClient.streamJson" + missing,
                "IllegalStateException: OpenAiPrompt" + missing,
                "IllegalStateException: OpenAiRequestFields" + missing,
                "requests 2");
    }

    private static String location(Class<?> type) throws Exception {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    /** The balancer and the HTTP client against one loopback instance, then the body-aware calls. */
    public static final class Main {
        public static void main(String[] args) throws Exception {
            System.out.println("jackson " + loadable("com.fasterxml.jackson.core.JsonFactory")
                    + ", micrometer " + loadable("io.micrometer.core.instrument.MeterRegistry"));
            System.out.println("spring boot " + loadable("org.springframework.boot.SpringApplication")
                    + ", spring ai " + loadable("org.springframework.ai.openai.OpenAiChatModel")
                    + ", openai sdk " + loadable("com.openai.client.OpenAIClient")
                    + ", langchain4j " + loadable("dev.langchain4j.http.client.HttpClient")
                    + ", fabric8 " + loadable("io.fabric8.kubernetes.client.KubernetesClient"));
            ScriptedEndpoint model = ScriptedEndpoint.answering(200, "application/json", "{\"usage\":null}")
                    .streamWhenAsked("data: {\"delta\":\"hi\"}", "");
            try (LoopbackServer server = LoopbackServer.start("plain", Map.of(CHAT, model));
                    LoadBalancer lb = LoadBalancer.builder().build()) {
                lb.addBackend("a", LoopbackServer.HOST, server.port());
                BalancedHttpClient http = BalancedHttpClient.of(lb);
                Request request = new Request("r", "", CHAT);

                HttpResponse<String> whole = http.send(request, base -> post(base.resolve(CHAT), "{}"),
                        HttpResponse.BodyHandlers.ofString());
                String streamed;
                try (StreamedResponse answer = http.stream(request, base -> post(base.resolve(CHAT), BODY));
                        InputStream body = answer.body()) {
                    streamed = answer.statusCode() + " " + new String(body.readAllBytes(), StandardCharsets.UTF_8);
                }
                System.out.println("send " + whole.statusCode() + ", stream " + streamed + ", successes "
                        + lb.getAllStats().metrics().successes());

                try {
                    http.sendJson(request, CHAT, BODY, HttpResponse.BodyHandlers.ofString());
                } catch (IllegalStateException e) {
                    System.out.println("IllegalStateException: " + e.getMessage());
                }
                try {
                    http.streamJson(request, CHAT, BODY);
                } catch (IllegalStateException e) {
                    System.out.println("IllegalStateException: " + e.getMessage());
                }
                try {
                    OpenAiPrompt.ofChatCompletions(BODY);
                } catch (IllegalStateException e) {
                    System.out.println("IllegalStateException: " + e.getMessage());
                }
                try {
                    OpenAiRequestFields.read(BODY);
                } catch (IllegalStateException e) {
                    System.out.println("IllegalStateException: " + e.getMessage());
                }
                System.out.println("requests " + model.requests());
            }
        }

        private static HttpRequest post(java.net.URI uri, String body) {
            return HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(body)).build();
        }

        private static boolean loadable(String name) {
            try {
                Class.forName(name, false, Main.class.getClassLoader());
                return true;
            } catch (ClassNotFoundException e) {
                return false;
            }
        }
    }
}
