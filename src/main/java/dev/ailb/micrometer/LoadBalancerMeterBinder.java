package dev.ailb.micrometer;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.AdmissionStats;
import dev.ailb.Backend;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerListener;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Exposes a {@link LoadBalancer}'s figures as Micrometer meters, read when the registry is
 * scraped: nothing is added to the request path. Every meter carries the tag
 * {@code balancer=<name>} ({@link LoadBalancer#name()}) unless the common tags given here set
 * {@code balancer} themselves, and every meter of a backend the tag {@code backend=<id>}; the
 * meters of a backend are added when it is added and removed when it leaves the balancer.
 *
 * <p>Per backend:
 * <ul>
 *   <li>gauges {@code ailb.backend.active.connections}, {@code ailb.backend.inflight.tokens},
 *       {@code ailb.backend.healthy} and {@code ailb.backend.available} (1 or 0),
 *       {@code ailb.backend.weight}, {@code ailb.backend.sessions};</li>
 *   <li>counters {@code ailb.backend.requests}, {@code ailb.backend.successes},
 *       {@code ailb.backend.failures}, {@code ailb.backend.ejections};</li>
 *   <li>a timer {@code ailb.backend.response.time} (count and total of the completed requests) and
 *       the time gauge {@code ailb.backend.response.time.percentile} for the quantiles 0.5, 0.95
 *       and 0.99 (tag {@code quantile}), from the backend's latency histogram, and
 *       {@code ailb.backend.time.to.first.byte.percentile} for streamed answers (see
 *       {@link dev.ailb.Lease#firstByte()});</li>
 *   <li>for the prompt cache ({@link Backend#promptCache()}), with the tag {@code source}:
 *       {@code predicted} for the balancer's predictions, {@code reported} for what the servers
 *       reported ({@link dev.ailb.Lease#reportCachedTokens}): counters
 *       {@code ailb.backend.prompt.tokens} and {@code ailb.backend.prompt.cached.tokens}, whose
 *       rates divide into the hit rate over any window, and the gauge
 *       {@code ailb.backend.prompt.cache.hit.rate}, the hit rate since the backend was added.</li>
 * </ul>
 * For the balancer: gauges {@code ailb.backends} (registered), {@code ailb.backends.available}
 * and {@code ailb.saturated} (1 or 0, see {@link LoadBalancer#isSaturated()}); for its admission
 * queue ({@link LoadBalancer#getAdmissionStats()}), the gauge {@code ailb.admission.waiting} (the
 * queue's depth), the counters {@code ailb.admission.queued}, {@code ailb.admission.admitted},
 * {@code ailb.admission.withdrawn} and {@code ailb.admission.rejections} (tag {@code reason}:
 * {@code shed}, {@code queue_full}, {@code deadline_passed}, {@code balancer_closed}), and the
 * time gauge {@code ailb.admission.wait.percentile} of the admitted requests' waits (tag
 * {@code quantile}, 0.5 and 0.99).
 *
 * <p>Micrometer is an optional dependency of ailb: this package is the only one that uses it, and
 * an application without Micrometer never loads it. Thread-safe; one binder may be bound to
 * several registries.
 *
 * <pre>{@code
 * new LoadBalancerMeterBinder(lb, Tags.of("pool", "chat")).bindTo(registry);
 * }</pre>
 */
@SuppressWarnings("exports") // Micrometer's types in this API: its users require Micrometer themselves
public final class LoadBalancerMeterBinder implements MeterBinder {
    private static final double[] QUANTILES = {0.5, 0.95, 0.99};
    private static final String PROMPT_TOKENS = "ailb.backend.prompt.tokens";
    private static final String PROMPT_TOKENS_HELP =
            "Prompt tokens of the requests routed to the backend, with a prediction or a report of its prompt cache";
    private static final String CACHED_TOKENS = "ailb.backend.prompt.cached.tokens";
    private static final String CACHED_TOKENS_HELP = "Of those prompt tokens, the ones predicted or reported cached";
    private static final String HIT_RATE = "ailb.backend.prompt.cache.hit.rate";
    private static final String HIT_RATE_HELP =
            "Cached prompt tokens over prompt tokens since the backend was added, 0 before any";

    private final LoadBalancer balancer;
    private final Tags tags;
    private final Object lock = new Object();
    /** The meters of each backend, per registry bound. Guarded by lock. */
    private final Map<MeterRegistry, Map<Backend, List<Meter>>> bound = new LinkedHashMap<>();
    private boolean listening; // guarded by lock

    /**
     * A binder for a balancer, with no common tag.
     *
     * @param balancer the balancer
     * @throws NullPointerException if {@code balancer} is null
     */
    public LoadBalancerMeterBinder(LoadBalancer balancer) {
        this(balancer, Tags.empty());
    }

    /**
     * A binder for a balancer, with tags added to every meter (a {@code balancer} tag here replaces
     * the one holding the balancer's name).
     *
     * @param balancer the balancer
     * @param tags     the common tags
     * @throws NullPointerException if an argument is null
     */
    public LoadBalancerMeterBinder(LoadBalancer balancer, Iterable<Tag> tags) {
        this.balancer = checkNotNull(balancer, "balancer");
        this.tags = Tags.of("balancer", balancer.name()).and(checkNotNull(tags, "tags"));
    }

    /**
     * Registers the balancer's meters, and those of each of its backends, with a registry; binding
     * the same registry again does nothing.
     *
     * @param registry the registry
     * @throws NullPointerException  if {@code registry} is null
     * @throws IllegalStateException if the balancer was closed before this binder was first bound
     *                               (it cannot listen to a closed balancer; nothing is registered)
     */
    @Override
    public void bindTo(MeterRegistry registry) {
        checkNotNull(registry, "registry");
        synchronized (lock) {
            if (bound.containsKey(registry)) {
                return;
            }
            if (!listening) {
                // Listen before looking at the backends, so that none added meanwhile is missed;
                // adding a backend's meters twice is a no-op.
                balancer.addListener(new Listener());
                listening = true;
            }
            bound.put(registry, new HashMap<>());
            Gauge.builder("ailb.backends", balancer, lb -> lb.getBackends().size())
                    .tags(tags).description("Backends registered, draining ones included").register(registry);
            Gauge.builder("ailb.backends.available", balancer, lb -> lb.getAvailableBackends().size())
                    .tags(tags).description("Backends that new requests may go to").register(registry);
            Gauge.builder("ailb.saturated", balancer, lb -> lb.isSaturated() ? 1 : 0)
                    .tags(tags).description("1 while every available backend reports no room").register(registry);
            registerAdmission(registry);
        }
        for (Backend b : balancer.getBackends()) {
            added(b);
        }
    }

    private void registerAdmission(MeterRegistry registry) {
        Gauge.builder("ailb.admission.waiting", balancer, lb -> lb.getAdmissionStats().waiting())
                .tags(tags).description("Requests waiting for room in the admission queue").register(registry);
        admissionCounter(registry, "ailb.admission.queued", Tags.empty(), AdmissionStats::queued,
                "Requests that have waited for room");
        admissionCounter(registry, "ailb.admission.admitted", Tags.empty(), AdmissionStats::admitted,
                "Waiting requests admitted when room was freed");
        admissionCounter(registry, "ailb.admission.withdrawn", Tags.empty(), AdmissionStats::withdrawn,
                "Waiting requests withdrawn by their callers");
        String rejections = "Requests refused by admission";
        admissionCounter(registry, "ailb.admission.rejections", Tags.of("reason", "shed"), AdmissionStats::shed,
                rejections);
        admissionCounter(registry, "ailb.admission.rejections", Tags.of("reason", "queue_full"),
                AdmissionStats::queueFull, rejections);
        admissionCounter(registry, "ailb.admission.rejections", Tags.of("reason", "deadline_passed"),
                AdmissionStats::deadlinePassed, rejections);
        admissionCounter(registry, "ailb.admission.rejections", Tags.of("reason", "balancer_closed"),
                AdmissionStats::balancerClosed, rejections);
        TimeGauge.builder("ailb.admission.wait.percentile", balancer, TimeUnit.NANOSECONDS,
                        lb -> lb.getAdmissionStats().medianWait().toNanos())
                .tags(tags.and("quantile", "0.5")).description("Waits of the admitted requests").register(registry);
        TimeGauge.builder("ailb.admission.wait.percentile", balancer, TimeUnit.NANOSECONDS,
                        lb -> lb.getAdmissionStats().p99Wait().toNanos())
                .tags(tags.and("quantile", "0.99")).description("Waits of the admitted requests").register(registry);
    }

    private void admissionCounter(MeterRegistry registry, String name, Tags extra,
            java.util.function.ToLongFunction<AdmissionStats> figure, String description) {
        FunctionCounter.builder(name, balancer, lb -> figure.applyAsLong(lb.getAdmissionStats()))
                .tags(tags.and(extra)).description(description).register(registry);
    }

    /** The meters bound for a backend in a registry: empty once it has left. For tests. */
    List<Meter> metersOf(MeterRegistry registry, Backend backend) {
        synchronized (lock) {
            Map<Backend, List<Meter>> perBackend = bound.get(registry);
            List<Meter> meters = perBackend == null ? null : perBackend.get(backend);
            return meters == null ? List.of() : List.copyOf(meters);
        }
    }

    private void added(Backend backend) {
        synchronized (lock) {
            if (backend.isRemoved()) {
                return;
            }
            for (Map.Entry<MeterRegistry, Map<Backend, List<Meter>>> e : bound.entrySet()) {
                if (!e.getValue().containsKey(backend)) {
                    e.getValue().put(backend, register(e.getKey(), backend));
                }
            }
        }
    }

    private void removed(Backend backend) {
        synchronized (lock) {
            for (Map.Entry<MeterRegistry, Map<Backend, List<Meter>>> e : bound.entrySet()) {
                List<Meter> meters = e.getValue().remove(backend);
                if (meters != null) {
                    for (Meter m : meters) {
                        e.getKey().remove(m);
                    }
                }
            }
        }
    }

    private List<Meter> register(MeterRegistry registry, Backend b) {
        Tags t = tags.and("backend", b.id());
        List<Meter> meters = new ArrayList<>();
        meters.add(gauge(registry, t, b, "ailb.backend.active.connections", Backend::activeConnections,
                "Connections acquired and not yet released"));
        meters.add(gauge(registry, t, b, "ailb.backend.inflight.tokens", Backend::inFlightTokens,
                "Estimated tokens of the requests in flight, when the balancer counts tokens"));
        meters.add(gauge(registry, t, b, "ailb.backend.healthy", x -> x.isHealthy() ? 1 : 0,
                "1 while the backend is healthy"));
        meters.add(gauge(registry, t, b, "ailb.backend.available", x -> x.isAvailable() ? 1 : 0,
                "1 while new requests may go to the backend"));
        meters.add(gauge(registry, t, b, "ailb.backend.weight", Backend::weight, "The backend's weight"));
        meters.add(gauge(registry, t, b, "ailb.backend.sessions", Backend::boundSessions,
                "Sessions bound to the backend"));
        meters.add(counter(registry, t, b, "ailb.backend.requests", Backend::totalRequests,
                "Requests routed to the backend"));
        meters.add(counter(registry, t, b, "ailb.backend.successes", Backend::successes,
                "Requests released as successes"));
        meters.add(counter(registry, t, b, "ailb.backend.failures", Backend::failures,
                "Requests released as failures"));
        meters.add(counter(registry, t, b, "ailb.backend.ejections", Backend::ejections,
                "Ejections by outlier detection"));
        meters.add(FunctionTimer.builder("ailb.backend.response.time", b, x -> x.successes() + x.failures(),
                        Backend::totalResponseNanos, TimeUnit.NANOSECONDS)
                .tags(t).description("Response times of the completed requests").register(registry));
        registerPromptCache(registry, t, b, meters);
        for (double q : QUANTILES) {
            Tags quantile = t.and("quantile", Double.toString(q));
            meters.add(timeGauge(registry, quantile, b, "ailb.backend.response.time.percentile",
                    x -> x.responseTimeAt(q).toNanos(),
                    "Response time below which this quantile of the completed requests lie"));
            meters.add(timeGauge(registry, quantile, b, "ailb.backend.time.to.first.byte.percentile",
                    x -> x.timeToFirstByteAt(q).toNanos(),
                    "Time to the first byte of streamed answers below which this quantile lie"));
        }
        return meters;
    }

    /**
     * The prompt-cache meters of a backend, one of each per source. The two counters of a source
     * carry the same tags, so that a dashboard divides the rate of one by the other's: over a
     * window, {@code rate(cached) / rate(prompt)} is the hit rate, which the gauge, cumulative,
     * cannot give.
     */
    private static void registerPromptCache(MeterRegistry registry, Tags t, Backend b, List<Meter> meters) {
        Tags predicted = t.and("source", "predicted");
        Tags reported = t.and("source", "reported");
        meters.add(counter(registry, predicted, b, PROMPT_TOKENS, x -> x.promptCache().predictedPromptTokens(),
                PROMPT_TOKENS_HELP));
        meters.add(counter(registry, predicted, b, CACHED_TOKENS, x -> x.promptCache().predictedCachedTokens(),
                CACHED_TOKENS_HELP));
        meters.add(gauge(registry, predicted, b, HIT_RATE, x -> x.promptCache().predictedHitRate(), HIT_RATE_HELP));
        meters.add(counter(registry, reported, b, PROMPT_TOKENS, x -> x.promptCache().reportedPromptTokens(),
                PROMPT_TOKENS_HELP));
        meters.add(counter(registry, reported, b, CACHED_TOKENS, x -> x.promptCache().reportedCachedTokens(),
                CACHED_TOKENS_HELP));
        meters.add(gauge(registry, reported, b, HIT_RATE, x -> x.promptCache().reportedHitRate(), HIT_RATE_HELP));
    }

    private static Meter gauge(MeterRegistry registry, Tags tags, Backend b, String name,
            ToDoubleFunction<Backend> value, String description) {
        return Gauge.builder(name, b, value).tags(tags).description(description).register(registry);
    }

    private static Meter counter(MeterRegistry registry, Tags tags, Backend b, String name,
            ToDoubleFunction<Backend> count, String description) {
        return FunctionCounter.builder(name, b, count).tags(tags).description(description).register(registry);
    }

    private static Meter timeGauge(MeterRegistry registry, Tags tags, Backend b, String name,
            ToDoubleFunction<Backend> nanos, String description) {
        return TimeGauge.builder(name, b, TimeUnit.NANOSECONDS, nanos).tags(tags).description(description)
                .register(registry);
    }

    private final class Listener implements LoadBalancerListener {
        @Override
        public void onBackendAdded(Backend backend) {
            added(backend);
        }

        @Override
        public void onBackendRemoved(Backend backend) {
            removed(backend);
        }
    }

    @Override
    public String toString() {
        return "LoadBalancerMeterBinder{" + tags + '}';
    }
}
