package dev.ailb.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import dev.ailb.testing.Docs;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.NestedRuntimeException;

/**
 * The table under {@code ### Spring Boot} in {@code src/site/markdown/bad-input.md}: each row's
 * call must throw exactly the exception and message the row shows, and a refused call on the pools
 * or the endpoint must leave every pool as it was. A row without a call, or a call without a row,
 * fails.
 */
class SpringBootBadInputTest {
    private static final Path GUIDE = Docs.guide("bad-input.md");

    /** A call on the fixture's pools and endpoint. */
    @FunctionalInterface
    interface Call {
        void run(LoadBalancerPools pools, LoadBalancerEndpoint endpoint);
    }

    private static final Map<String, Map.Entry<String, Call>> CALLS = new LinkedHashMap<>();
    /** The rows whose call is a property: the application starts with it. */
    private static final Map<String, String> PROPERTIES = new LinkedHashMap<>();

    static {
        call("pools-unknown", "pools.get(\"nope\")", (pools, endpoint) -> pools.get("nope"));
        call("pools-name-null", "pools.find(null)", (pools, endpoint) -> pools.find(null));
        call("endpoint-pools-null", "new LoadBalancerEndpoint(null)", (pools, endpoint) -> new LoadBalancerEndpoint(null));
        call("endpoint-pool-unknown", "endpoint.pool(\"nope\")", (pools, endpoint) -> endpoint.pool("nope"));
        call("endpoint-backend-unknown", "endpoint.maintenance(\"chat\", \"z\", true)",
                (pools, endpoint) -> endpoint.maintenance("chat", "z", true));
        call("endpoint-backend-removed", "endpoint.maintenance(\"chat\", \"b\", true)",
                (pools, endpoint) -> endpoint.maintenance("chat", "b", true));
        PROPERTIES.put("property-bad-value", "ailb.pools.chat.max-sessions=0");
        PROPERTIES.put("property-unknown-strategy", "ailb.pools.chat.strategy=fastest");
        PROPERTIES.put("property-missing-host", "ailb.pools.chat.backends.a.port=8000");
        PROPERTIES.put("property-defaults-backends", "ailb.defaults.backends.x.host=10.0.0.1");
        PROPERTIES.put("property-dns-name-missing", "ailb.pools.chat.discovery.dns.port=8000");
        PROPERTIES.put("property-dns-in-defaults", "ailb.defaults.discovery.dns.name=vllm.fleet.internal");
    }

    private static void call(String key, String code, Call call) {
        CALLS.put(key, Map.entry(code, call));
    }

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(AilbAutoConfiguration.class));

    @TestFactory
    List<DynamicTest> everyRowIsRefusedAsItSays() {
        List<List<String>> rows = Docs.firstTable(Docs.section(GUIDE, "### Spring Boot"));
        assertThat(rows).extracting(row -> row.get(0).replace("`", ""))
                .containsExactlyInAnyOrderElementsOf(keys());
        return rows.stream().map(row -> DynamicTest.dynamicTest(row.get(0), () -> check(
                row.get(0).replace("`", ""), unquote(row.get(1)), unquote(row.get(2)), unquote(row.get(3)))))
                .toList();
    }

    private static List<String> keys() {
        List<String> keys = new java.util.ArrayList<>(CALLS.keySet());
        keys.addAll(PROPERTIES.keySet());
        return keys;
    }

    private void check(String key, String code, String exception, String message) {
        if (PROPERTIES.containsKey(key)) {
            assertThat(code).isEqualTo(PROPERTIES.get(key));
            runner.withPropertyValues(code, "ailb.pools.embeddings.strategy=random").run(context -> {
                Throwable refusal = context.getStartupFailure();
                assertThat(refusal).as(key).isNotNull();
                while (refusal instanceof NestedRuntimeException && refusal.getCause() != null) {
                    refusal = refusal.getCause();
                }
                assertThat(refusal.getClass().getSimpleName()).as(key).isEqualTo(exception);
                assertThat(refusal).as(key).hasMessage(message);
            });
            return;
        }
        assertThat(code).as(key).isEqualTo(CALLS.get(key).getKey());
        runner.withPropertyValues(
                        "ailb.pools.chat.backends.a.host=10.0.0.1", "ailb.pools.chat.backends.a.port=8000",
                        "ailb.pools.chat.backends.b.host=10.0.0.2", "ailb.pools.chat.backends.b.port=8000",
                        "ailb.pools.embeddings.backends.e.host=10.0.1.1", "ailb.pools.embeddings.backends.e.port=8000")
                .run(context -> {
                    LoadBalancerPools pools = context.getBean(LoadBalancerPools.class);
                    LoadBalancerEndpoint endpoint = context.getBean(LoadBalancerEndpoint.class);
                    LoadBalancer chat = pools.get("chat");
                    Lease inFlight = chat.acquire(new Request("r", "10.1.1.1", "/v1/chat/completions"));
                    if (!inFlight.backend().id().equals("b")) { // round robin: the next one is b
                        inFlight.success();
                        inFlight = chat.acquire(new Request("r2", "10.1.1.1", "/v1/chat/completions"));
                    }
                    chat.removeBackend("b");
                    Map<String, PoolState> before = endpoint.pools();

                    Throwable refusal = catchThrowable(() -> CALLS.get(key).getValue().run(pools, endpoint));

                    assertThat(refusal).as(key).isNotNull();
                    assertThat(refusal.getClass().getSimpleName()).as(key).isEqualTo(exception);
                    assertThat(refusal).as(key).hasMessage(message);
                    assertThat(endpoint.pools()).as("%s changed nothing", key).isEqualTo(before);
                    inFlight.success();
                });
    }

    private static String unquote(String cell) {
        assertThat(cell).startsWith("`").endsWith("`");
        return cell.substring(1, cell.length() - 1);
    }
}
