package dev.ailb.spring.boot;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A pool's typed settings written back as the flat keys of
 * {@link dev.ailb.LoadBalancer#fromProperties(Map, String)}, so that the library's one parser
 * checks every value and names the key in its messages. Spring's binder has already turned each
 * value into its type; a duration goes back as ISO-8601, an enum as its constant, a list joined by
 * commas. The pool's name becomes the balancer's name.
 */
final class PoolProperties {
    private final Map<String, String> flat = new LinkedHashMap<>();

    private PoolProperties() {}

    /**
     * The keys of one pool, relative to {@code ailb.pools.<name>.}: those of the defaults, then the
     * pool's own over them.
     *
     * @throws IllegalArgumentException if the defaults name backends
     */
    static Map<String, String> of(String name, AilbProperties.Pool defaults, AilbProperties.Pool pool) {
        Map<String, String> keys = new LinkedHashMap<>();
        if (defaults != null) {
            if (!defaults.backends().isEmpty()) {
                throw new IllegalArgumentException("ailb.defaults.backends: " + defaults.backends().keySet()
                        + " (expected: backends under ailb.pools.<name>.backends, each in its pool)");
            }
            keys.putAll(of(name, defaults));
        }
        keys.putAll(of(name, pool));
        return keys;
    }

    private static Map<String, String> of(String name, AilbProperties.Pool pool) {
        PoolProperties p = new PoolProperties();
        p.put("name", name);
        p.put("strategy", pool.strategy() == null ? null
                : pool.strategy().strip().toUpperCase(Locale.ROOT).replace('-', '_'));
        pool.backends().forEach((id, backend) -> {
            String base = "backends." + id + ".";
            p.put(base + "host", backend.host());
            p.put(base + "port", backend.port());
            p.put(base + "weight", backend.weight());
            p.put(base + "models", backend.models());
            p.put(base + "adapters", backend.adapters());
            backend.labels().forEach((key, value) -> p.put(base + "labels." + key, value));
        });
        AilbProperties.HealthCheckSettings check = pool.healthCheck();
        if (check != null) {
            p.put("health-check.type", check.type());
            p.put("health-check.path", check.path());
            p.put("health-check.interval", check.interval());
            p.put("health-check.timeout", check.timeout());
            p.put("health-check.jitter", check.jitter());
        }
        p.put("healthy-threshold", pool.healthyThreshold());
        p.put("unhealthy-threshold", pool.unhealthyThreshold());
        p.put("initially-healthy", pool.initiallyHealthy());
        if (pool.outlierDetection() != null) {
            p.put("outlier-detection.enabled", pool.outlierDetection().enabled());
        }
        p.put("all-unhealthy-policy", pool.allUnhealthyPolicy());
        p.put("drain-timeout", pool.drainTimeout());
        p.put("session-affinity", pool.sessionAffinity());
        p.put("max-sessions", pool.maxSessions());
        p.put("session-idle-timeout", pool.sessionIdleTimeout());
        p.put("response-time-decay", pool.responseTimeDecay());
        p.put("count-tokens", pool.countTokens());
        p.put("load-source", pool.loadSource());
        p.put("load-poll-interval", pool.loadPollInterval());
        p.put("discover-models", pool.discoverModels());
        AilbProperties.SaturationSettings saturation = pool.saturation();
        if (saturation != null) {
            p.put("saturation.waiting-requests", saturation.waitingRequests());
            p.put("saturation.kv-cache-usage", saturation.kvCacheUsage());
            p.put("saturation.max-report-age", saturation.maxReportAge());
        }
        p.put("connection-limit", pool.connectionLimit());
        AilbProperties.AdmissionQueueSettings queue = pool.admissionQueue();
        if (queue != null) {
            p.put("admission-queue.capacity", queue.capacity());
            p.put("admission-queue.max-wait", queue.maxWait());
        }
        AilbProperties.SlowStartSettings slowStart = pool.slowStart();
        if (slowStart != null) {
            p.put("slow-start.window", slowStart.window());
            p.put("slow-start.aggression", slowStart.aggression());
            p.put("slow-start.min-weight-percent", slowStart.minWeightPercent());
        }
        AilbProperties.ProbeSettings probe = pool.probe();
        if (probe != null) {
            p.put("probe.scheme", probe.scheme());
            p.put("probe.trust-store", probe.trustStore());
            p.put("probe.trust-store-password", probe.trustStorePassword());
            p.put("probe.bearer-token-file", probe.bearerTokenFile());
            probe.headers().forEach((header, value) -> p.put("probe.headers." + header, value));
        }
        return p.flat;
    }

    /** Sets a key unless its value was left out (null, or an empty list). */
    private void put(String key, Object value) {
        if (value == null) {
            return;
        }
        String text;
        if (value instanceof List<?> list) {
            if (list.isEmpty()) {
                return;
            }
            text = String.join(",", list.stream().map(String::valueOf).toList());
        } else if (value instanceof Enum<?> constant) {
            text = constant.name();
        } else if (value instanceof Duration duration) {
            text = duration.toString();
        } else {
            text = value.toString();
        }
        flat.put(key, text);
    }
}
