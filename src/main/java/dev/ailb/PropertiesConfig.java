package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkRange;

import dev.ailb.health.AllUnhealthyPolicy;
import dev.ailb.health.HealthCheck;
import dev.ailb.health.HttpProbeOptions;
import dev.ailb.health.ModelDiscovery;
import dev.ailb.health.OutlierDetection;
import dev.ailb.health.PrometheusLoadSource;
import dev.ailb.internal.Preconditions;
import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Reads a balancer's settings from flat string properties, for {@link LoadBalancer#fromProperties}.
 * Every value goes through the builder, so a bad one is refused with the builder's own message,
 * prefixed with the property's name.
 */
final class PropertiesConfig {
    private static final Pattern SIMPLE_DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)");
    private static final Pattern BACKEND_KEY = Pattern.compile("backends\\.(.+)\\.(host|port|weight|models|adapters)");
    /** A backend's label: the id ends at the first {@code .labels.}, the label's key may hold dots. */
    private static final Pattern LABEL_KEY = Pattern.compile("backends\\.(.+?)\\.(labels\\..+)");
    /** A header of the HTTP probes: {@code probe.headers.<name>}. */
    private static final Pattern PROBE_HEADER_KEY = Pattern.compile("probe\\.headers\\.(.+)");

    private final String prefix;
    private final Map<String, String> values = new TreeMap<>();

    private PropertiesConfig(Map<?, ?> properties, String prefix) {
        this.prefix = prefix;
        if (properties instanceof Properties p) {
            // A Properties keeps its defaults outside its entries: only these two methods see them.
            for (String key : p.stringPropertyNames()) {
                read(key, p.getProperty(key));
            }
            return;
        }
        for (Map.Entry<?, ?> e : properties.entrySet()) {
            if (e.getKey() instanceof String key && e.getValue() instanceof String value) {
                read(key, value);
            } // else skipped: a map may hold other objects; only strings are settings
        }
    }

    private void read(String key, String value) {
        if (key.startsWith(prefix)) {
            values.put(key.substring(prefix.length()), value.trim());
        }
    }

    /** A backend named in the properties. */
    record BackendSpec(String id, String host, int port, int weight, BackendProfile profile) {}

    /** The builder with every setting applied, and the backends to add. */
    record Parsed(LoadBalancerBuilder builder, List<BackendSpec> backends) {}

    static Parsed parse(Map<?, ?> properties, String prefix) {
        checkNotNull(properties, "properties");
        checkNotNull(prefix, "prefix");
        return new PropertiesConfig(properties, prefix).parse();
    }

    private Parsed parse() {
        LoadBalancerBuilder b = LoadBalancer.builder();
        Map<String, Map<String, String>> backendParts = new LinkedHashMap<>();
        String healthType = null;
        String healthPath = null;
        String loadSource = null;
        Duration loadPoll = null;
        Duration discoverEvery = null;
        ProbeKeys probe = new ProbeKeys();
        String[] saturation = new String[3];
        String[] queue = new String[2];
        String[] slowStart = new String[3];
        for (Map.Entry<String, String> e : values.entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            Matcher label = LABEL_KEY.matcher(key);
            Matcher backend = label.matches() ? label : BACKEND_KEY.matcher(key);
            if (backend.matches()) {
                backendParts.computeIfAbsent(backend.group(1), id -> new LinkedHashMap<>()).put(backend.group(2), value);
                continue;
            }
            Matcher header = PROBE_HEADER_KEY.matcher(key);
            if (header.matches()) {
                probe.headers.put(header.group(1), value);
                continue;
            }
            switch (key) {
                case "name" -> apply(key, () -> b.name(value));
                case "strategy" -> apply(key, () -> b.strategy(BalancingStrategy.builtIn(value.toUpperCase(Locale.ROOT))));
                case "response-time-decay" -> apply(key, () -> b.responseTimeDecay(duration(key, value)));
                case "health-check.type" -> healthType = value.toLowerCase(Locale.ROOT);
                case "health-check.path" -> healthPath = value;
                case "health-check.interval" -> apply(key, () -> b.healthCheckInterval(duration(key, value)));
                case "health-check.timeout" -> apply(key, () -> b.healthCheckTimeout(duration(key, value)));
                case "health-check.jitter" -> apply(key, () -> b.healthCheckJitter(duration(key, value)));
                case "healthy-threshold" -> apply(key, () -> b.healthyThreshold(integer(key, value)));
                case "unhealthy-threshold" -> apply(key, () -> b.unhealthyThreshold(integer(key, value)));
                case "initially-healthy" -> apply(key, () -> b.initiallyHealthy(bool(key, value)));
                case "outlier-detection.enabled" -> apply(key, () -> b.outlierDetection(
                        bool(key, value) ? OutlierDetection.defaults() : OutlierDetection.disabled()));
                case "all-unhealthy-policy" -> apply(key, () -> b.allUnhealthyPolicy(
                        constant(AllUnhealthyPolicy.class, key, value)));
                case "drain-timeout" -> apply(key, () -> b.drainTimeout(duration(key, value)));
                case "session-affinity" -> apply(key, () -> b.sessionAffinity(constant(SessionAffinity.class, key, value)));
                case "max-sessions" -> apply(key, () -> b.maxSessions(integer(key, value)));
                case "session-idle-timeout" -> apply(key, () -> b.sessionIdleTimeout(duration(key, value)));
                case "count-tokens" -> apply(key, () -> b.countTokens(integer(key, value)));
                case "load-source" -> loadSource = value.toLowerCase(Locale.ROOT);
                case "load-poll-interval" -> loadPoll = duration(key, value);
                case "discover-models" -> discoverEvery = duration(key, value);
                case "probe.scheme" -> probe.scheme = value;
                case "probe.trust-store" -> probe.trustStore = value;
                case "probe.trust-store-password" -> probe.trustStorePassword = value;
                case "probe.bearer-token-file" -> probe.bearerTokenFile = value;
                case "saturation.waiting-requests" -> saturation[0] = value;
                case "saturation.kv-cache-usage" -> saturation[1] = value;
                case "saturation.max-report-age" -> saturation[2] = value;
                case "connection-limit" -> apply(key, () -> b.connectionLimit(integer(key, value)));
                case "admission-queue.capacity" -> queue[0] = value;
                case "admission-queue.max-wait" -> queue[1] = value;
                case "slow-start.window" -> slowStart[0] = value;
                case "slow-start.aggression" -> slowStart[1] = value;
                case "slow-start.min-weight-percent" -> slowStart[2] = value;
                default -> throw new IllegalArgumentException(prefix + key + ": unknown setting (expected one of: "
                        + "name, strategy, backends.<id>.host|port|weight|models|adapters|labels.<key>, health-check.type|path|interval|timeout|jitter, "
                        + "healthy-threshold, unhealthy-threshold, initially-healthy, outlier-detection.enabled, "
                        + "all-unhealthy-policy, drain-timeout, session-affinity, max-sessions, session-idle-timeout, "
                        + "response-time-decay, count-tokens, load-source, load-poll-interval, discover-models, "
                        + "probe.scheme|trust-store|trust-store-password|bearer-token-file|headers.<name>, "
                        + "saturation.waiting-requests|kv-cache-usage|max-report-age, connection-limit, "
                        + "admission-queue.capacity|max-wait, slow-start.window|aggression|min-weight-percent)");
            }
        }
        HttpProbeOptions http = probeOptions(probe);
        boolean httpCheck = (healthType != null || healthPath != null) && !"tcp".equals(healthType);
        if (http != null && !httpCheck && loadSource == null && discoverEvery == null) {
            throw new IllegalArgumentException(prefix + probe.firstKey() + ": set, but no probe goes over HTTP"
                    + " (expected: with health-check.path or health-check.type=http, load-source or discover-models)");
        }
        HttpProbeOptions probeHttp = http != null ? http : HttpProbeOptions.plain();
        healthCheck(b, healthType, healthPath, probeHttp);
        // The builder checks the jitter against the interval only when it builds: check it here,
        // where the refusal can still name the property.
        apply("health-check.jitter", b::checkJitterBelowInterval);
        if (loadSource != null) {
            PrometheusLoadSource source = switch (loadSource) {
                case "vllm" -> PrometheusLoadSource.vllm();
                case "tgi" -> PrometheusLoadSource.tgi();
                case "sglang" -> PrometheusLoadSource.sglang();
                default -> throw new IllegalArgumentException(prefix + "load-source: \"" + loadSource
                        + "\" (expected: vllm, tgi or sglang)");
            };
            Duration interval = loadPoll != null ? loadPoll : LoadBalancerBuilder.DEFAULT_LOAD_POLL_INTERVAL;
            // the source is never refused, the interval may be
            apply(loadPoll != null ? "load-poll-interval" : "load-source",
                    () -> b.loadSource(source.withHttp(probeHttp), interval));
        } else if (loadPoll != null) {
            throw new IllegalArgumentException(prefix + "load-poll-interval: set without load-source");
        }
        if (discoverEvery != null) {
            Duration every = discoverEvery;
            apply("discover-models", () -> b.discoverModels(ModelDiscovery.openAi().withHttp(probeHttp), every));
        }
        if (saturation[0] != null || saturation[1] != null || saturation[2] != null) {
            // One builder call takes the three values: check each first, naming its own property.
            int waiting = LoadBalancerBuilder.DEFAULT_SATURATION_WAITING;
            double kv = LoadBalancerBuilder.DEFAULT_SATURATION_KV_CACHE;
            Duration age = LoadBalancerBuilder.DEFAULT_SATURATION_MAX_AGE;
            if (saturation[0] != null) {
                String key = "saturation.waiting-requests";
                waiting = checked(key, () -> LoadBalancerBuilder.checkSaturationWaiting(integer(key, saturation[0])));
            }
            if (saturation[1] != null) {
                String key = "saturation.kv-cache-usage";
                kv = checked(key, () -> LoadBalancerBuilder.checkSaturationKvCache(decimal(key, saturation[1])));
            }
            if (saturation[2] != null) {
                String key = "saturation.max-report-age";
                age = checked(key, () -> LoadBalancerBuilder.checkSaturationMaxAge(duration(key, saturation[2])));
            }
            b.saturation(waiting, kv, age);
        }
        if (queue[0] != null || queue[1] != null) {
            // One builder call takes both values: check each first, naming its own property.
            int capacity = LoadBalancerBuilder.DEFAULT_QUEUE_CAPACITY;
            Duration maxWait = LoadBalancerBuilder.DEFAULT_MAX_WAIT;
            if (queue[0] != null) {
                String key = "admission-queue.capacity";
                capacity = checked(key, () -> checkRange(integer(key, queue[0]), 0,
                        LoadBalancerBuilder.MAX_QUEUE_CAPACITY, "capacity"));
            }
            if (queue[1] != null) {
                String key = "admission-queue.max-wait";
                maxWait = checked(key, () -> LoadBalancerBuilder.checkMaxWait(duration(key, queue[1]), "maxWait"));
            }
            b.admissionQueue(capacity, maxWait);
        }
        if (slowStart[0] != null) {
            // One SlowStart value takes the three: check each, naming its own property.
            String key = "slow-start.window";
            SlowStart ramp = checked(key, () -> SlowStart.of(duration(key, slowStart[0])));
            if (slowStart[1] != null) {
                String aggressionKey = "slow-start.aggression";
                SlowStart before = ramp;
                ramp = checked(aggressionKey, () -> before.withAggression(decimal(aggressionKey, slowStart[1])));
            }
            if (slowStart[2] != null) {
                String floorKey = "slow-start.min-weight-percent";
                SlowStart before = ramp;
                ramp = checked(floorKey, () -> before.withMinWeightPercent(decimal(floorKey, slowStart[2])));
            }
            SlowStart settings = ramp;
            apply(key, () -> b.slowStart(settings));
        } else if (slowStart[1] != null || slowStart[2] != null) {
            throw new IllegalArgumentException(prefix + (slowStart[1] != null ? "slow-start.aggression"
                    : "slow-start.min-weight-percent") + ": set without slow-start.window");
        }
        List<BackendSpec> backends = new ArrayList<>();
        backendParts.forEach((id, parts) -> backends.add(backend(id, parts)));
        return new Parsed(b, backends);
    }

    /** The {@code probe.*} keys, as read. */
    private static final class ProbeKeys {
        String scheme;
        String trustStore;
        String trustStorePassword;
        String bearerTokenFile;
        final Map<String, String> headers = new LinkedHashMap<>();

        boolean any() {
            return scheme != null || trustStore != null || trustStorePassword != null || bearerTokenFile != null
                    || !headers.isEmpty();
        }

        /** The first key set, in the order the keys sort. */
        String firstKey() {
            if (bearerTokenFile != null) {
                return "probe.bearer-token-file";
            }
            if (!headers.isEmpty()) {
                return "probe.headers." + headers.keySet().iterator().next();
            }
            if (scheme != null) {
                return "probe.scheme";
            }
            return trustStore != null ? "probe.trust-store" : "probe.trust-store-password";
        }
    }

    /**
     * The HTTP settings the {@code probe.*} keys give every HTTP probe, or null if none is set. A
     * header's value is a secret: a refusal names its key and never shows it.
     */
    private HttpProbeOptions probeOptions(ProbeKeys keys) {
        if (!keys.any()) {
            return null;
        }
        HttpProbeOptions.Builder http = HttpProbeOptions.builder();
        String scheme = keys.scheme != null ? keys.scheme : "http";
        apply("probe.scheme", () -> http.scheme(scheme));
        if (keys.trustStorePassword != null && keys.trustStore == null) {
            throw new IllegalArgumentException(prefix + "probe.trust-store-password: set without probe.trust-store");
        }
        if (keys.trustStore != null) {
            if (!scheme.equalsIgnoreCase("https")) {
                throw new IllegalArgumentException(prefix + "probe.trust-store: set with probe.scheme " + scheme
                        + " (expected: probe.scheme=https)");
            }
            http.sslContext(trusting(keys.trustStore, keys.trustStorePassword));
        }
        if (keys.bearerTokenFile != null) {
            apply("probe.bearer-token-file", () -> http.bearerTokenFile(Path.of(keys.bearerTokenFile)));
        }
        for (Map.Entry<String, String> header : keys.headers.entrySet()) {
            String key = "probe.headers." + header.getKey();
            apply(key, () -> {
                try {
                    http.header(header.getKey(), header.getValue());
                } catch (IllegalStateException e) {
                    throw new IllegalArgumentException(e.getMessage(), e); // the same name twice
                }
            });
        }
        return http.build();
    }

    /** A TLS context trusting the certificates of a PKCS12 or JKS file. */
    private SSLContext trusting(String file, String password) {
        try {
            KeyStore store = KeyStore.getInstance(new File(file), password != null ? password.toCharArray() : null);
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            // the JDK's words say what is wrong with the file; they never quote the password
            throw new IllegalArgumentException(prefix + "probe.trust-store: " + Preconditions.shown(file)
                    + " (expected: a readable PKCS12 or JKS trust store with a certificate: " + e.getMessage() + ")", e);
        }
    }

    private void healthCheck(LoadBalancerBuilder b, String type, String path, HttpProbeOptions http) {
        if (type == null && path == null) {
            return;
        }
        String kind = type != null ? type : "http";
        switch (kind) {
            case "http" -> apply("health-check.path",
                    () -> b.healthCheck(HealthCheck.http(path != null ? path : "/health", http)));
            case "tcp" -> {
                if (path != null) {
                    throw new IllegalArgumentException(prefix + "health-check.path: set for a tcp check, which has no path");
                }
                b.healthCheck(HealthCheck.tcp());
            }
            default -> throw new IllegalArgumentException(prefix + "health-check.type: \"" + type
                    + "\" (expected: http or tcp)");
        }
    }

    private BackendSpec backend(String id, Map<String, String> parts) {
        String base = "backends." + id + ".";
        String host = parts.get("host");
        if (host == null) {
            throw new IllegalArgumentException(prefix + base + "host: missing (expected: the backend's host)");
        }
        if (!parts.containsKey("port")) {
            throw new IllegalArgumentException(prefix + base + "port: missing (expected: 1..65535)");
        }
        int port = integer(base + "port", parts.get("port"));
        int weight = parts.containsKey("weight") ? integer(base + "weight", parts.get("weight")) : 1;
        BackendProfile.Builder profile = BackendProfile.builder();
        for (Map.Entry<String, String> part : parts.entrySet()) {
            String name = part.getKey();
            if (name.equals("models") || name.equals("adapters")) {
                for (String model : part.getValue().split(",")) {
                    String trimmed = model.strip();
                    apply(base + name, () -> {
                        if (name.equals("models")) {
                            profile.model(trimmed);
                        } else {
                            profile.adapter(trimmed);
                        }
                    });
                }
            } else if (name.startsWith("labels.")) {
                apply(base + name, () -> profile.label(name.substring("labels.".length()), part.getValue()));
            }
        }
        return new BackendSpec(id, host, port, weight, profile.build());
    }

    /** Applies a setting, prefixing a refusal with the property's name. */
    private void apply(String key, Runnable setting) {
        checked(key, () -> {
            setting.run();
            return null;
        });
    }

    /** Reads a value, prefixing a refusal with the property's name. */
    private <T> T checked(String key, Supplier<T> value) {
        try {
            return value.get();
        } catch (IllegalArgumentException e) {
            String message = e.getMessage();
            throw new IllegalArgumentException(message != null && message.startsWith(prefix + key)
                    ? message : prefix + key + ": " + message, e);
        }
    }

    private int integer(String key, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(prefix + key + ": \"" + value + "\" (expected: an integer)");
        }
    }

    private double decimal(String key, String value) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(prefix + key + ": \"" + value + "\" (expected: a number)");
        }
    }

    private boolean bool(String key, String value) {
        if (value.equalsIgnoreCase("true")) {
            return true;
        }
        if (value.equalsIgnoreCase("false")) {
            return false;
        }
        throw new IllegalArgumentException(prefix + key + ": \"" + value + "\" (expected: true or false)");
    }

    private <E extends Enum<E>> E constant(Class<E> type, String key, String value) {
        try {
            return Enum.valueOf(type, value.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            List<String> names = new ArrayList<>();
            for (E c : type.getEnumConstants()) {
                names.add(c.name());
            }
            throw new IllegalArgumentException(prefix + key + ": \"" + value + "\" (expected one of " + names + ")");
        }
    }

    /** {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}, {@code 2d}, or ISO-8601 such as {@code PT10S}. */
    private Duration duration(String key, String value) {
        Matcher m = SIMPLE_DURATION.matcher(value);
        if (m.matches()) {
            long n;
            try {
                n = Long.parseLong(m.group(1));
            } catch (NumberFormatException e) {
                throw badDuration(key, value);
            }
            try {
                return switch (m.group(2)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "h" -> Duration.ofHours(n);
                    default -> Duration.ofDays(n);
                };
            } catch (ArithmeticException e) {
                // more seconds than a long holds: no Duration can stand for it
                throw new IllegalArgumentException(prefix + key + ": \"" + value + "\" (expected: at most "
                        + Long.MAX_VALUE / 86_400 + "d, the longest java.time.Duration)", e);
            }
        }
        try {
            return Duration.parse(value);
        } catch (DateTimeParseException e) {
            throw badDuration(key, value);
        }
    }

    private IllegalArgumentException badDuration(String key, String value) {
        return new IllegalArgumentException(prefix + key + ": \"" + value
                + "\" (expected: a duration such as 500ms, 10s, 5m, 1h, 2d or PT10S)");
    }

    /** Adds the backends to a balancer just built, closing it if one is refused. */
    static LoadBalancer build(Parsed parsed, String prefix) {
        LoadBalancer lb = parsed.builder().build();
        try {
            for (BackendSpec spec : parsed.backends()) {
                try {
                    lb.addBackend(spec.id(), spec.host(), spec.port(), spec.weight(), spec.profile());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(prefix + "backends." + spec.id() + ": " + e.getMessage(), e);
                }
            }
        } catch (RuntimeException e) {
            lb.close();
            throw e;
        }
        return lb;
    }
}
