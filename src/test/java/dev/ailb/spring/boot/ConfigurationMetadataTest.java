package dev.ailb.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The metadata that Spring Boot's configuration processor writes from {@link AilbProperties} at
 * compile time, with which IDEs complete and document the {@code ailb.*} keys: every key of a pool,
 * typed and described, under {@code ailb.defaults}; the pools' map; the hints of the keys that take
 * one of a few words.
 */
class ConfigurationMetadataTest {

    private static JsonNode metadata() throws Exception {
        Path classes = Path.of(AilbProperties.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path file = classes.resolve("META-INF/spring-configuration-metadata.json");
        assertThat(file).exists();
        return JsonMapper.builder().build().readTree(Files.readString(file));
    }

    private static Map<String, JsonNode> properties(JsonNode metadata) {
        Map<String, JsonNode> byName = new HashMap<>();
        for (JsonNode property : metadata.get("properties")) {
            byName.put(property.get("name").asString(), property);
        }
        return byName;
    }

    @Test
    void everyKeyOfAPoolIsTypedAndDescribed() throws Exception {
        Map<String, JsonNode> properties = properties(metadata());

        Map<String, String> expectedTypes = Map.ofEntries(
                Map.entry("ailb.defaults.strategy", "java.lang.String"),
                Map.entry("ailb.defaults.health-check.type", "java.lang.String"),
                Map.entry("ailb.defaults.health-check.path", "java.lang.String"),
                Map.entry("ailb.defaults.health-check.interval", "java.time.Duration"),
                Map.entry("ailb.defaults.health-check.timeout", "java.time.Duration"),
                Map.entry("ailb.defaults.health-check.jitter", "java.time.Duration"),
                Map.entry("ailb.defaults.healthy-threshold", "java.lang.Integer"),
                Map.entry("ailb.defaults.unhealthy-threshold", "java.lang.Integer"),
                Map.entry("ailb.defaults.initially-healthy", "java.lang.Boolean"),
                Map.entry("ailb.defaults.outlier-detection.enabled", "java.lang.Boolean"),
                Map.entry("ailb.defaults.all-unhealthy-policy", "dev.ailb.health.AllUnhealthyPolicy"),
                Map.entry("ailb.defaults.drain-timeout", "java.time.Duration"),
                Map.entry("ailb.defaults.session-affinity", "dev.ailb.SessionAffinity"),
                Map.entry("ailb.defaults.max-sessions", "java.lang.Integer"),
                Map.entry("ailb.defaults.session-idle-timeout", "java.time.Duration"),
                Map.entry("ailb.defaults.response-time-decay", "java.time.Duration"),
                Map.entry("ailb.defaults.count-tokens", "java.lang.Long"),
                Map.entry("ailb.defaults.load-source", "java.lang.String"),
                Map.entry("ailb.defaults.load-poll-interval", "java.time.Duration"),
                Map.entry("ailb.defaults.discover-models", "java.time.Duration"),
                Map.entry("ailb.defaults.saturation.waiting-requests", "java.lang.Integer"),
                Map.entry("ailb.defaults.saturation.kv-cache-usage", "java.lang.Double"),
                Map.entry("ailb.defaults.saturation.max-report-age", "java.time.Duration"),
                Map.entry("ailb.defaults.connection-limit", "java.lang.Integer"),
                Map.entry("ailb.defaults.admission-queue.capacity", "java.lang.Integer"),
                Map.entry("ailb.defaults.admission-queue.max-wait", "java.time.Duration"),
                Map.entry("ailb.defaults.slow-start.window", "java.time.Duration"),
                Map.entry("ailb.defaults.slow-start.aggression", "java.lang.Double"),
                Map.entry("ailb.defaults.slow-start.min-weight-percent", "java.lang.Double"),
                Map.entry("ailb.defaults.probe.scheme", "java.lang.String"),
                Map.entry("ailb.defaults.probe.trust-store", "java.lang.String"),
                Map.entry("ailb.defaults.probe.trust-store-password", "java.lang.String"),
                Map.entry("ailb.defaults.probe.bearer-token-file", "java.lang.String"),
                Map.entry("ailb.defaults.probe.headers", "java.util.Map<java.lang.String,java.lang.String>"),
                Map.entry("ailb.defaults.chat-model.enabled", "java.lang.Boolean"),
                Map.entry("ailb.defaults.chat-model.model", "java.lang.String"),
                Map.entry("ailb.defaults.chat-model.max-tokens", "java.lang.Integer"),
                Map.entry("ailb.defaults.discovery.dns.name", "java.lang.String"),
                Map.entry("ailb.defaults.discovery.dns.srv", "java.lang.Boolean"),
                Map.entry("ailb.defaults.discovery.dns.port", "java.lang.Integer"),
                Map.entry("ailb.defaults.discovery.dns.server", "java.lang.String"),
                Map.entry("ailb.defaults.discovery.dns.interval", "java.time.Duration"),
                Map.entry("ailb.defaults.discovery.dns.timeout", "java.time.Duration"),
                Map.entry("ailb.observations.enabled", "java.lang.Boolean"),
                Map.entry("ailb.pools", "java.util.Map<java.lang.String,dev.ailb.spring.boot.AilbProperties$Pool>"));
        expectedTypes.forEach((name, type) -> {
            assertThat(properties).as(name).containsKey(name);
            JsonNode property = properties.get(name);
            assertThat(property.get("type").asString()).as(name).isEqualTo(type);
            assertThat(property.get("description")).as("description of %s", name).isNotNull();
            assertThat(property.get("description").asString()).as(name).isNotBlank().doesNotContain("{@");
        });
        assertThat(properties.get("ailb.defaults.unhealthy-threshold").get("description").asString())
                .isEqualTo("failed checks in a row that take a backend down, 1..1000; default 3");
    }

    @Test
    void theKeysThatTakeOneOfAFewWordsHaveHints() throws Exception {
        Map<String, JsonNode> hints = new HashMap<>();
        for (JsonNode hint : metadata().get("hints")) {
            hints.put(hint.get("name").asString(), hint);
        }

        assertThat(hints).containsKeys("ailb.defaults.strategy", "ailb.defaults.health-check.type",
                "ailb.defaults.load-source", "ailb.defaults.probe.scheme");
        for (JsonNode source : hints.get("ailb.defaults.load-source").get("values")) {
            // each a source the properties take: a pool with it starts
            String name = source.get("value").asString();
            try (dev.ailb.LoadBalancer lb = dev.ailb.LoadBalancer.fromProperties(
                    Map.of("load-source", name), "")) {
                assertThat(lb.isClosed()).as(name).isFalse();
            }
        }
        JsonNode strategies = hints.get("ailb.defaults.strategy").get("values");
        assertThat(strategies.size()).isEqualTo(dev.ailb.BalancingStrategy.builtIns().size());
        for (JsonNode value : strategies) {
            String name = value.get("value").asString().toUpperCase(java.util.Locale.ROOT).replace('-', '_');
            assertThat(dev.ailb.BalancingStrategy.builtIn(name).name()).isEqualTo(name);
        }
    }
}
