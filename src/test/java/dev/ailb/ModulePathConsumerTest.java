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
 * against the exported packages and runs (with the SLF4J API and without Micrometer, which the
 * library requires only statically), and the internal packages stay out of its reach.
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

    private int compile(Path sources, Path out, ByteArrayOutputStream errors) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> args = new ArrayList<>(List.of("--module-path", modulePath(), "-d", out.toString()));
        try (var files = Files.walk(sources)) {
            files.filter(p -> p.toString().endsWith(".java")).forEach(p -> args.add(p.toString()));
        }
        return javac.run(null, null, errors, args.toArray(new String[0]));
    }

    /** The sources of module {@code consumer}, which requires {@code dev.ailb}: its class {@code consumer.Main}. */
    private Path consumerSources(String... mainLines) throws IOException {
        Path sources = work.resolve("src");
        Files.createDirectories(sources.resolve("consumer"));
        Files.writeString(sources.resolve("module-info.java"), "module consumer { requires dev.ailb; }");
        Files.writeString(sources.resolve("consumer/Main.java"), String.join("\n", mainLines));
        return sources;
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
