package dev.ailb.kubernetes;

import static dev.ailb.kubernetes.Slices.endpoint;
import static dev.ailb.kubernetes.Slices.onlyPort;
import static dev.ailb.kubernetes.Slices.slice;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.LoadBalancer;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Kubernetes discovery on the module path: an application module that requires the library and
 * the fabric8 client compiles against {@code dev.ailb.kubernetes} and, in a JVM of its own, discovers
 * its backends from the mock API server that this test runs on loopback. The fabric8 jars name no
 * module, so this is what holds the names the library's descriptor requires them by.
 */
class KubernetesModulePathTest {
    @TempDir
    Path work;

    /** The library, the SLF4J API, and the fabric8 client with what it needs, from the test's class path. */
    private static String modulePath() throws Exception {
        List<String> path = new ArrayList<>();
        path.add(location(LoadBalancer.class));
        path.add(location(org.slf4j.Logger.class));
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(KubernetesModulePathTest::isClientJar)
                .forEach(path::add);
        return String.join(File.pathSeparator, path);
    }

    /** The client's jars: fabric8's but the mock server's, Jackson 3 and its annotations, SnakeYAML. */
    private static boolean isClientJar(String entry) {
        String p = entry.replace('\\', '/');
        return (p.contains("/io/fabric8/") && !p.contains("/kubernetes-server-mock/") && !p.contains("/mockwebserver/"))
                || p.contains("/tools/jackson/") || p.contains("/com/fasterxml/jackson/core/jackson-annotations/")
                || p.contains("/org/snakeyaml/");
    }

    private static String location(Class<?> type) throws Exception {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    @Test
    void anApplicationModuleDiscoversItsBackendsWithTheLibraryAndFabric8OnTheModulePath() throws Exception {
        // Given a Service with one ready pod on the mock API server
        try (MockApiServer api = MockApiServer.start()) {
            api.apply(slice("vllm-abc", "vllm", onlyPort(8000), endpoint("10.1.0.1", true, false)));

            // When an application module is compiled and run on the module path against it
            Path sources = work.resolve("src");
            Files.createDirectories(sources.resolve("consumer"));
            Files.writeString(sources.resolve("module-info.java"),
                    "module consumer { requires dev.ailb; requires kubernetes.client.api; }");
            Files.writeString(sources.resolve("consumer/Main.java"), String.join("\n",
                    "package consumer;",
                    "import dev.ailb.*;",
                    "import dev.ailb.kubernetes.EndpointSliceDiscovery;",
                    "import io.fabric8.kubernetes.client.*;",
                    "import java.util.concurrent.*;",
                    "public class Main {",
                    "  public static void main(String[] args) throws Exception {",
                    "    Config config = new ConfigBuilder(Config.empty()).withMasterUrl(args[0])",
                    "        .withNamespace(\"ai\").withHttp2Disable(true).build();",
                    "    CountDownLatch added = new CountDownLatch(1);",
                    "    try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();",
                    "        LoadBalancer lb = LoadBalancer.builder().build()) {",
                    "      lb.addListener(new LoadBalancerListener() {",
                    "        @Override public void onBackendAdded(Backend backend) { added.countDown(); }",
                    "      });",
                    "      Discovery discovery = lb.discover(EndpointSliceDiscovery.builder(client).service(\"vllm\").build());",
                    "      System.out.println(\"added \" + added.await(30, TimeUnit.SECONDS) + \" \" + lb.getBackends()",
                    "          .stream().map(Backend::id).toList() + \" \" + discovery.source());",
                    "      System.out.flush();",
                    "      System.in.read(); // until the test has stopped its server: see there",
                    "    }",
                    "  }",
                    "}"));
            Path out = work.resolve("out");
            List<String> args = new ArrayList<>(List.of("--module-path", modulePath(), "-d", out.toString()));
            try (var files = Files.walk(sources)) {
                args.addAll(files.filter(p -> p.toString().endsWith(".java")).map(Path::toString)
                        .collect(Collectors.toList()));
            }
            JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
            ByteArrayOutputStream errors = new ByteArrayOutputStream();
            assertThat(javac.run(null, null, errors, args.toArray(new String[0])))
                    .as(errors.toString(StandardCharsets.UTF_8)).isZero();
            // fabric8's jars are automatic modules, which declare no requires: the explicit modules
            // they use (Jackson 3) are resolved only when added, as any application of theirs does
            Process java = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--module-path", out + File.pathSeparator + modulePath(), "--add-modules", "ALL-MODULE-PATH",
                    "-m", "consumer/consumer.Main",
                    api.client().getMasterUrl().toString())
                    .redirectErrorStream(true).start();
            BufferedReader lines = new BufferedReader(new InputStreamReader(java.getInputStream(), StandardCharsets.UTF_8));
            StringBuilder output = new StringBuilder();
            String added = null;
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                output.append(line).append('\n');
                if (line.startsWith("added ")) {
                    added = line;
                    break;
                }
            }
            // The application's watch is still open: the server is stopped first, which closes it
            // from the server's side. (An application that exits with its watch open resets the
            // connection, which blocks this mock server's event loop for seconds.) Then the
            // application reads the end of its input, and closes its balancer.
            api.close();
            java.getOutputStream().close();
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                output.append(line).append('\n');
            }
            assertThat(java.waitFor(60, TimeUnit.SECONDS)).isTrue();

            // Then it ran, and its balancer has the pod as a backend
            assertThat(java.exitValue()).as(output.toString()).isZero();
            assertThat(added).as(output.toString())
                    .isEqualTo("added true [10.1.0.1:8000] EndpointSliceDiscovery{service=ai/vllm, port=the only one}");
        }
    }
}
