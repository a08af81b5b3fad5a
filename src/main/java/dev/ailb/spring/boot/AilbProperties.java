package dev.ailb.spring.boot;

import dev.ailb.SessionAffinity;
import dev.ailb.dns.DnsDiscovery;
import dev.ailb.health.AllUnhealthyPolicy;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code ailb.*} properties: one or several named pools, each a balancer of its own. A pool
 * takes the keys of {@link dev.ailb.LoadBalancer#fromProperties(Map, String)} under
 * {@code ailb.pools.<name>.}; the same keys under {@code ailb.defaults.} (all but
 * {@code backends}) apply to every pool that does not set them. Every value is checked by the
 * library's parser: a bad value fails the
 * application's start with the library's message after the full key
 * ({@code ailb.pools.chat.max-sessions: maxSessions: 0 (expected: 1..10000000)}); a value of the
 * wrong type (a word for a number) is refused by Spring's binder, naming the key too. A setting
 * left out keeps the builder's default.
 *
 * <pre>
 * ailb:
 *   pools:
 *     chat:
 *       strategy: least-connections
 *       health-check:
 *         path: /health
 *         interval: 5s
 *       backends:
 *         gpu-1: { host: 10.0.0.1, port: 8000, models: [llama-3.1-8b] }
 *         gpu-2: { host: 10.0.0.2, port: 8000, weight: 2 }
 * </pre>
 *
 * <p>Immutable and thread-safe.
 *
 * @param pools    the pools by name; each name becomes the balancer's
 *                 name and its bean's qualifier
 * @param defaults the settings of every pool that does not set them itself; backends are only
 *                 set per pool
 */
@ConfigurationProperties("ailb")
public record AilbProperties(Map<String, Pool> pools, Pool defaults) {

    /**
     * Keeps the pools in the order of the configuration, and none when none is set.
     *
     * @param pools    the pools by name, or null for none
     * @param defaults the settings every pool inherits, or null for none
     */
    public AilbProperties {
        pools = pools == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(pools));
    }

    /**
     * The settings of one pool; each is left to the builder's default when not set.
     *
     * @param strategy           the strategy, by the name of a built-in one
     *                           (round-robin, least-connections,
     *                           weighted-round-robin, ip-hash,
     *                           least-response-time, random,
     *                           resource-based, prefix-affinity); default
     *                           round robin. A custom strategy is set with a
     *                           LoadBalancerBuilderCustomizer
     * @param backends           the backends by id, added when the pool is built
     * @param healthCheck        the active health check; none by default
     * @param healthyThreshold   passed checks in a row that bring a backend back, 1..1000; default 2
     * @param unhealthyThreshold failed checks in a row that take a backend down, 1..1000; default 3
     * @param initiallyHealthy   whether a new backend takes requests before its first passed
     *                           check; default true
     * @param outlierDetection   passive ejection of backends that fail requests
     * @param allUnhealthyPolicy what happens when no backend is healthy; default fail-open
     * @param drainTimeout       how long a removed backend may finish its requests; default 10m
     * @param sessionAffinity    how sessions stick: table or consistent-hash; default table
     * @param maxSessions        sessions the table keeps, 1..10000000; default 100000
     * @param sessionIdleTimeout how long an idle session is kept; default 30m
     * @param responseTimeDecay  how fast the latency average of least-response-time forgets;
     *                           default 10s
     * @param countTokens        count tokens in flight instead of connections, with this estimate
     *                           for a request that says nothing of its size; off by default
     * @param loadSource         where load reports are polled, from each backend's GET /metrics:
     *                           vllm, tgi or sglang, by the metric names each server exports;
     *                           none by default
     * @param loadPollInterval   how often the load source is polled; default 1s
     * @param discoverModels     how often each backend is asked GET /v1/models which
     *                           models and adapters it serves; not asked by default
     * @param saturation         when a backend counts as saturated
     * @param connectionLimit    the most connections a backend takes at once; none by default
     * @param admissionQueue     where requests wait while every backend is full (with a
     *                           connection limit)
     * @param slowStart          how a backend that joins a serving pool, or comes back, ramps its
     *                           weight up; off by default
     * @param probe              what every HTTP probe (the http check, the /metrics polls, model
     *                           discovery) shares: https, a trust store, a bearer token, headers
     * @param chatModel          a Spring AI chat model over the pool, as a bean; none by default
     * @param discovery          where the pool learns its backends instead of listing them: a DNS
     *                           name re-resolved on an interval; not with backends
     */
    public record Pool(
            String strategy,
            Map<String, PoolBackend> backends,
            HealthCheckSettings healthCheck,
            Integer healthyThreshold,
            Integer unhealthyThreshold,
            Boolean initiallyHealthy,
            OutlierDetectionSettings outlierDetection,
            AllUnhealthyPolicy allUnhealthyPolicy,
            Duration drainTimeout,
            SessionAffinity sessionAffinity,
            Integer maxSessions,
            Duration sessionIdleTimeout,
            Duration responseTimeDecay,
            Long countTokens,
            String loadSource,
            Duration loadPollInterval,
            Duration discoverModels,
            SaturationSettings saturation,
            Integer connectionLimit,
            AdmissionQueueSettings admissionQueue,
            SlowStartSettings slowStart,
            ProbeSettings probe,
            ChatModelSettings chatModel,
            DiscoverySettings discovery) {

        /**
         * Keeps the backends in the order of the configuration, and none when none is set.
         *
         * @param strategy           see the record's description
         * @param backends           see the record's description
         * @param healthCheck        see the record's description
         * @param healthyThreshold   see the record's description
         * @param unhealthyThreshold see the record's description
         * @param initiallyHealthy   see the record's description
         * @param outlierDetection   see the record's description
         * @param allUnhealthyPolicy see the record's description
         * @param drainTimeout       see the record's description
         * @param sessionAffinity    see the record's description
         * @param maxSessions        see the record's description
         * @param sessionIdleTimeout see the record's description
         * @param responseTimeDecay  see the record's description
         * @param countTokens        see the record's description
         * @param loadSource         see the record's description
         * @param loadPollInterval   see the record's description
         * @param discoverModels     see the record's description
         * @param saturation         see the record's description
         * @param connectionLimit    see the record's description
         * @param admissionQueue     see the record's description
         * @param slowStart          see the record's description
         * @param probe              see the record's description
         * @param chatModel          see the record's description
         * @param discovery          see the record's description
         */
        public Pool {
            backends = backends == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(backends));
        }
    }

    /**
     * One backend of a pool. An id with dots is written in brackets
     * (ailb.pools.chat.backends.[gpu.1].host), as Spring Boot binds map keys.
     *
     * @param host     its host name or address, never resolved by the balancer
     * @param port     its port, 1..65535
     * @param weight   its relative capacity, 1..1000000; default 1
     * @param models   the models it serves; a request naming a model goes only to backends that
     *                 serve it
     * @param adapters the LoRA adapters it serves
     * @param labels   its labels, for requests that select backends by label
     */
    public record PoolBackend(String host, Integer port, Integer weight, List<String> models,
            List<String> adapters, Map<String, String> labels) {

        /**
         * Takes no model, adapter or label as none.
         *
         * @param host     see the record's description
         * @param port     see the record's description
         * @param weight   see the record's description
         * @param models   see the record's description
         * @param adapters see the record's description
         * @param labels   see the record's description
         */
        public PoolBackend {
            models = models == null ? List.of() : List.copyOf(models);
            adapters = adapters == null ? List.of() : List.copyOf(adapters);
            labels = labels == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(labels));
        }
    }

    /**
     * The active health check of a pool's backends, which runs from the application's start.
     *
     * @param type     http (a GET of the path answered 2xx) or tcp (a
     *                 connection accepted); default http when a path is set
     * @param path     the path of the http check; default /health
     * @param interval mean time between check rounds; default 5s
     * @param timeout  a check without a verdict by then has failed; default 2s
     * @param jitter   spread of the rounds, below the interval; default a tenth of it
     */
    public record HealthCheckSettings(String type, String path, Duration interval, Duration timeout,
            Duration jitter) {}

    /**
     * Passive ejection of backends that fail requests.
     *
     * @param enabled whether failing backends are ejected for a while; default true
     */
    public record OutlierDetectionSettings(Boolean enabled) {}

    /**
     * When a backend counts as saturated, from its load reports.
     *
     * @param waitingRequests requests waiting in its queue from which it is saturated; default 5
     * @param kvCacheUsage    its KV-cache use from which it is saturated, in (0, 1]; default 0.8
     * @param maxReportAge    a report older than this says nothing; default 30s
     */
    public record SaturationSettings(Integer waitingRequests, Double kvCacheUsage, Duration maxReportAge) {}

    /**
     * What every HTTP probe of a pool shares: the health check (when http), the /metrics polls and
     * model discovery, which all go to the same servers.
     *
     * @param scheme              http or https; default http
     * @param trustStore          a PKCS12 or JKS file whose certificates the probes trust instead of
     *                            the JVM's; needs https
     * @param trustStorePassword  the trust store's password, if it has one
     * @param bearerTokenFile     a file whose content is sent as Authorization: Bearer, read again
     *                            at each probe
     * @param headers             headers of fixed values sent with every probe, by name (a name
     *                            with dots is written in brackets)
     */
    public record ProbeSettings(String scheme, String trustStore, String trustStorePassword,
            String bearerTokenFile, Map<String, String> headers) {

        /**
         * Takes no header as none.
         *
         * @param scheme             see the record's description
         * @param trustStore         see the record's description
         * @param trustStorePassword see the record's description
         * @param bearerTokenFile    see the record's description
         * @param headers            see the record's description
         */
        public ProbeSettings {
            headers = headers == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(headers));
        }
    }

    /**
     * Where requests wait while every backend is at its connection limit.
     *
     * @param capacity requests that may wait, 0..1000000; default 1000
     * @param maxWait  how long a request waits at most; default 30s
     */
    public record AdmissionQueueSettings(Integer capacity, Duration maxWait) {}

    /**
     * Slow start: the ramp of a backend's weight after it joins a pool already serving, or comes
     * back after being unhealthy, ejected or in maintenance.
     *
     * @param window           how long a ramp lasts, 1s..1d; slow start is off without it
     * @param aggression       the curve: 1 linear, above 1 faster at first, below 1 slower, at most
     *                         100; default 1
     * @param minWeightPercent the share of its weight a backend takes at the start of its ramp,
     *                         0..100; default 10
     */
    public record SlowStartSettings(Duration window, Double aggression, Double minWeightPercent) {}

    /**
     * A Spring AI chat model over the pool: with Spring AI's OpenAI module on the class path, an
     * {@code OpenAiChatModel} bean named {@code <pool>ChatModel} and qualified by the pool's name,
     * whose whole and streamed calls go to the pool's backends (see
     * {@code dev.ailb.spring.ai.OpenAiChatModels}). For options that these keys do not say, define
     * the bean yourself with that factory.
     *
     * @param enabled   whether the pool has a chat model bean; default false
     * @param model     the model the calls name; default Spring AI's
     * @param maxTokens the cap on each answer's tokens, which the pool adds to the prompt's for the
     *                  request's token estimate; none by default
     */
    public record ChatModelSettings(Boolean enabled, String model, Integer maxTokens) {}

    /**
     * Where a pool learns its backends, instead of listing them under {@code backends}: the source
     * states the whole membership, and the pool follows it (new backends added, gone ones drained).
     * Per pool only, not under {@code ailb.defaults}.
     *
     * @param dns a DNS name whose records are the pool's backends
     */
    public record DiscoverySettings(DnsSettings dns) {}

    /**
     * A DNS name whose records are the pool's backends, re-resolved on an interval
     * ({@link DnsDiscovery}): each address of its A (or AAAA) records at the port, or with
     * {@code srv: true} each address of each target of its SRV records, at the record's port and
     * with its weight.
     *
     * @param name     the DNS name, such as vllm.fleet.internal or _llm._tcp.fleet.internal
     * @param srv      whether to ask for SRV records, which give each backend's port and weight;
     *                 default false
     * @param port     the port of every backend of address records, 1..65535; not with srv
     * @param family   which address records are asked for, of the name or of each SRV target:
     *                 ipv4 (A), ipv6 (AAAA) or both; default ipv4
     * @param server   the DNS server, an IP address optionally with a port (10.0.0.2:5353);
     *                 default the system's resolver
     * @param interval time from one resolution's end to the next one's start, 1ms..24h; default 30s
     * @param timeout  how long one query waits for its answer, 1ms..1m; default 5s
     */
    public record DnsSettings(String name, Boolean srv, Integer port, DnsDiscovery.AddressFamily family,
            String server, Duration interval, Duration timeout) {}
}
