package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library as a JPMS module, seen from an application module on the module path: it compiles
 * against the exported packages and runs (with the SLF4J API and without Micrometer or Jackson,
 * which the library requires only statically), and the internal packages stay out of its reach.
 * With Jackson on the module path and required by the application, the body-aware calls read JSON.
 */
class ModulePathConsumerTest {
    @TempDir
    Path work;

    private static String location(Class<?> type) throws Exception {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    private String modulePath() throws Exception {
        return location(LoadBalancer.class) + File.pathSeparator + location(org.slf4j.Logger.class);
    }

    private String modulePathWithJackson() throws Exception {
        return modulePath() + File.pathSeparator + location(com.fasterxml.jackson.core.JsonFactory.class);
    }

    private int compile(Path sources, Path out, ByteArrayOutputStream errors) throws Exception {
        return compile(sources, out, errors, modulePath());
    }

    private int compile(Path sources, Path out, ByteArrayOutputStream errors, String modulePath) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> args = new ArrayList<>(List.of("--module-path", modulePath, "-d", out.toString()));
        try (var files = Files.walk(sources)) {
            files.filter(p -> p.toString().endsWith(".java")).forEach(p -> args.add(p.toString()));
        }
        return javac.run(null, null, errors, args.toArray(new String[0]));
    }

    /** The sources of module {@code consumer}, which requires {@code dev.ailb}: its class {@code consumer.Main}. */
    private Path consumerSources(String... mainLines) throws IOException {
        return consumerSourcesWith("module consumer { requires dev.ailb; }", mainLines);
    }

    /** The sources of module {@code consumer} with this module declaration. */
    private Path consumerSourcesWith(String moduleInfo, String... mainLines) throws IOException {
        Path sources = work.resolve("src");
        Files.createDirectories(sources.resolve("consumer"));
        Files.writeString(sources.resolve("module-info.java"), moduleInfo);
        Files.writeString(sources.resolve("consumer/Main.java"), String.join("\n", mainLines));
        return sources;
    }

    /** Runs {@code consumer.Main} on this module path; returns what it printed, failing if it failed. */
    private static String run(Path out, String modulePath) throws Exception {
        Process java = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--module-path", out + File.pathSeparator + modulePath, "-m", "consumer/consumer.Main")
                .redirectErrorStream(true).start();
        String output = new String(java.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(java.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(java.exitValue()).as(output).isZero();
        return output;
    }

    /** A program that asks the body-aware calls for the routing text of a chat body. */
    private static final String[] READS_A_CHAT_BODY = {
            "package consumer;",
            "import dev.ailb.*;",
            "import dev.ailb.http.*;",
            "public class Main {",
            "  public static void main(String[] args) throws Exception {",
            "    try (LoadBalancer lb = LoadBalancer.builder().build()) {",
            "      lb.addBackend(\"a\", \"192.168.1.1\", 8001);",
            "      BalancedHttpClient http = BalancedHttpClient.of(lb);",
            "      System.out.println(\"client \" + http.baseUri(lb.getBackend(\"a\").orElseThrow()));",
            "      try {",
            "        System.out.print(\"prompt \" + OpenAiPrompt.ofChatCompletions(",
            "            \"{\\\"messages\\\":[{\\\"role\\\":\\\"user\\\",\\\"content\\\":\\\"hi\\\"}]}\"));",
            "      } catch (IllegalStateException e) {",
            "        System.out.println(\"missing: \" + e.getMessage());",
            "      }",
            "      try {",
            "        http.sendJson(new Request(\"r\", \"\", \"/v1/chat/completions\"), \"/v1/chat/completions\", \"{\\\"messages\\\":\",",
            "            java.net.http.HttpResponse.BodyHandlers.discarding());",
            "      } catch (IllegalStateException | IllegalArgumentException e) {",
            "        System.out.println(e.getClass().getSimpleName() + \": \" + e.getMessage());",
            "      }",
            "    }",
            "  }",
            "}"};

    @Test
    void withoutJacksonTheClientLoadsAndTheBodyAwareCallsSayWhatIsMissing() throws Exception {
        Path sources = consumerSources(READS_A_CHAT_BODY);
        Path out = work.resolve("out");
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        assertThat(compile(sources, out, errors)).as(errors.toString(StandardCharsets.UTF_8)).isZero();

        String output = run(out, modulePath());

        assertThat(output).contains("client http://192.168.1.1:8001",
                "missing: OpenAiPrompt reads JSON with com.fasterxml.jackson.core:jackson-core",
                "IllegalStateException: BalancedHttpClient.sendJson reads JSON with"
                        + " com.fasterxml.jackson.core:jackson-core");
    }

    @Test
    void withJacksonRequiredByTheApplicationTheBodyAwareCallsReadJson() throws Exception {
        Path sources = consumerSourcesWith("module consumer { requires dev.ailb; requires com.fasterxml.jackson.core; }",
                READS_A_CHAT_BODY);
        Path out = work.resolve("out");
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        assertThat(compile(sources, out, errors, modulePathWithJackson()))
                .as(errors.toString(StandardCharsets.UTF_8)).isZero();

        String output = run(out, modulePathWithJackson());

        assertThat(output).contains("prompt [user] hi\n",
                "IllegalArgumentException: body: invalid JSON near messages at line 1, column 13 (Unexpected"
                        + " end-of-input within/between Object entries)");
    }

    @Test
    void anApplicationModuleCompilesAndRunsAgainstTheExportedPackages() throws Exception {
        Path sources = consumerSources(
                "package consumer;",
                "import dev.ailb.*;",
                "import dev.ailb.health.HealthCheck;",
                "public class Main {",
                "  public static void main(String[] args) {",
                "    try (LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS)",
                "        .healthCheck(HealthCheck.tcp()).build()) {",
                "      lb.addBackend(\"a\", \"192.168.1.1\", 8001, 2);",
                "      lb.addBackend(\"b\", \"192.168.1.2\", 8002);",
                "      Backend chosen = lb.selectBackend(new Request(\"r\", \"10.0.0.1\", \"/v1/completions\"));",
                "      lb.acquireConnection(chosen);",
                "      lb.releaseConnection(chosen, 1_000_000L, true);",
                "      System.out.println(\"picked \" + chosen.id() + \", successes \"",
                "          + lb.getAllStats().metrics().successes());",
                "    }",
                "  }",
                "}");
        Path out = work.resolve("out");
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        assertThat(compile(sources, out, errors)).as(errors.toString(StandardCharsets.UTF_8)).isZero();

        Process java = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--module-path", out + File.pathSeparator + modulePath(), "-m", "consumer/consumer.Main")
                .redirectErrorStream(true).start();
        String output = new String(java.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(java.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(java.exitValue()).as(output).isZero();
        assertThat(output).containsPattern("picked [ab], successes 1");
    }

    @Test
    void theInternalPackagesAreNotExported() throws Exception {
        Path sources = consumerSources(
                "package consumer;",
                "public class Main {",
                "  Object counter = new dev.ailb.internal.FoldableCounter();",
                "}");
        ByteArrayOutputStream errors = new ByteArrayOutputStream();

        assertThat(compile(sources, work.resolve("out"), errors)).isNotZero();
        assertThat(errors.toString(StandardCharsets.UTF_8)).contains("package dev.ailb.internal is not visible");
    }
}
