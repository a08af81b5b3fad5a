package dev.ailb.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.ailb.testing.Docs;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The table under {@code ### Kubernetes discovery} in {@code src/site/markdown/bad-input.md}: each
 * row's call must throw exactly the exception and message the row shows. A row without a call, or a
 * call without a row, fails. The clients point at a loopback address and are never used to connect.
 */
class KubernetesBadInputTest {
    private static final Path GUIDE = Docs.guide("bad-input.md");

    private static final KubernetesClient CLIENT = client("ai");
    private static final KubernetesClient NO_NAMESPACE = client(null);

    /** A call on the fixture's clients. */
    @FunctionalInterface
    interface Call {
        void run(KubernetesClient client, KubernetesClient noNamespace);
    }

    private static final Map<String, Map.Entry<String, Call>> CALLS = new LinkedHashMap<>();

    static {
        call("k8s-client-null", "EndpointSliceDiscovery.builder(null)",
                (client, noNamespace) -> EndpointSliceDiscovery.builder(null));
        call("k8s-service-uppercase", "EndpointSliceDiscovery.builder(client).service(\"vLLM\")",
                (client, noNamespace) -> EndpointSliceDiscovery.builder(client).service("vLLM"));
        call("k8s-service-digit-first", "EndpointSliceDiscovery.builder(client).service(\"7b-chat\")",
                (client, noNamespace) -> EndpointSliceDiscovery.builder(client).service("7b-chat"));
        call("k8s-service-twice", "EndpointSliceDiscovery.builder(client).service(\"vllm\").service(\"tgi\")",
                (client, noNamespace) -> EndpointSliceDiscovery.builder(client).service("vllm").service("tgi"));
        call("k8s-namespace-too-long", "EndpointSliceDiscovery.builder(client).namespace(\"a\".repeat(64))",
                (client, noNamespace) -> EndpointSliceDiscovery.builder(client).namespace("a".repeat(64)));
        call("k8s-port-name-underscore", "EndpointSliceDiscovery.builder(client).portName(\"http_api\")",
                (client, noNamespace) -> EndpointSliceDiscovery.builder(client).portName("http_api"));
        call("k8s-profile-null", "EndpointSliceDiscovery.builder(client).profile(null)",
                (client, noNamespace) -> EndpointSliceDiscovery.builder(client).profile(null));
        call("k8s-check-interval-zero", "EndpointSliceDiscovery.builder(client).checkInterval(Duration.ZERO)",
                (client, noNamespace) -> EndpointSliceDiscovery.builder(client).checkInterval(Duration.ZERO));
        call("k8s-no-service", "EndpointSliceDiscovery.builder(client).build()",
                (client, noNamespace) -> EndpointSliceDiscovery.builder(client).build());
        call("k8s-no-namespace", "EndpointSliceDiscovery.builder(noNamespace).service(\"vllm\").build()",
                (client, noNamespace) -> EndpointSliceDiscovery.builder(noNamespace).service("vllm").build());
    }

    private static void call(String key, String code, Call call) {
        CALLS.put(key, Map.entry(code, call));
    }

    private static KubernetesClient client(String namespace) {
        return new KubernetesClientBuilder().withConfig(new ConfigBuilder(Config.empty())
                .withMasterUrl("https://127.0.0.1:6443").withNamespace(namespace).build()).build();
    }

    @AfterAll
    static void closeClients() {
        CLIENT.close();
        NO_NAMESPACE.close();
    }

    @TestFactory
    List<DynamicTest> everyRowIsRefusedAsItSays() {
        List<List<String>> rows = Docs.firstTable(Docs.section(GUIDE, "### Kubernetes discovery"));
        assertThat(rows).extracting(row -> row.get(0).replace("`", ""))
                .containsExactlyInAnyOrderElementsOf(CALLS.keySet());
        return rows.stream().map(row -> DynamicTest.dynamicTest(row.get(0), () -> {
            String key = row.get(0).replace("`", "");
            assertThat(unquote(row.get(1))).as(key).isEqualTo(CALLS.get(key).getKey());
            Throwable refusal = catchThrowable(() -> CALLS.get(key).getValue().run(CLIENT, NO_NAMESPACE));
            assertThat(refusal).as(key).isNotNull();
            assertThat(refusal.getClass().getSimpleName()).as(key).isEqualTo(unquote(row.get(2)));
            assertThat(refusal).as(key).hasMessage(unquote(row.get(3)));
        })).toList();
    }

    private static String unquote(String cell) {
        assertThat(cell).startsWith("`").endsWith("`");
        return cell.substring(1, cell.length() - 1);
    }
}
