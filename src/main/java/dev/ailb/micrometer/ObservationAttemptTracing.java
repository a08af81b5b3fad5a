package dev.ailb.micrometer;

import static dev.ailb.internal.Preconditions.checkNotNull;

import dev.ailb.AttemptTracer;
import dev.ailb.LoadBalancerBuilder;
import dev.ailb.RoutingDecision;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import java.util.Locale;

/**
 * Each attempt of a request as a Micrometer {@link Observation} named {@value #NAME}: started when
 * the attempt has its backend, stopped when its lease is released. Where Micrometer Tracing is
 * bridged to the registry (as Spring Boot does for OpenTelemetry or Brave), each observation is a
 * span. Set it on the builder:
 *
 * <pre>{@code
 * LoadBalancer lb = LoadBalancer.builder()
 *         .attemptTracing(new ObservationAttemptTracing(observationRegistry))
 *         .build();
 * }</pre>
 *
 * <p>The parent of an attempt's observation is the registry's current observation on the thread
 * that routed the attempt, so that the attempts of a request nest under the application's
 * observation of it. A request that waits in the admission queue is routed on the thread whose
 * release freed the room, where the current observation belongs to another request: its parent is
 * the observation current on its own thread when it joined the queue
 * ({@link #forQueuedRequest()}).
 *
 * <p>Key values, from the attempt's {@link RoutingDecision}:
 * <ul>
 *   <li>low cardinality: {@code balancer}, {@code backend}, {@code strategy}, {@code reason} (the
 *       {@link RoutingDecision.Reason} in lower case), and when the lease is released
 *       {@code outcome} ({@code success}, {@code failure} or {@code cancelled});</li>
 *   <li>high cardinality: {@code attempt} (its number in its call), {@code figure} when the rule
 *       has one, {@code previous.backend} for a retry or a hedge.</li>
 * </ul>
 * A failed attempt whose failure the balancer knows ({@link AttemptTracer#ended}) records it as the
 * observation's error, so the span is marked as failed. With a no-op registry, no observation is made.
 *
 * <p>Thread-safe; one instance may serve several balancers.
 *
 * @see LoadBalancerBuilder#attemptTracing(AttemptTracer.Factory)
 */
public final class ObservationAttemptTracing implements AttemptTracer.Factory {
    /** The name of the observations. */
    public static final String NAME = "ailb.attempt";

    private static final AttemptTracer NONE = (outcome, failure) -> { };

    private final ObservationRegistry registry;

    /**
     * Observes the attempts in a registry.
     *
     * @param registry where the observations are made
     * @throws NullPointerException if {@code registry} is null
     */
    public ObservationAttemptTracing(ObservationRegistry registry) {
        this.registry = checkNotNull(registry, "registry");
    }

    /**
     * Starts the observation of an attempt.
     *
     * @param decision why the attempt went where it went
     * @return the tracer that stops the observation when the attempt's lease is released
     */
    @Override
    public AttemptTracer newTracer(RoutingDecision decision) {
        return start(decision, registry.getCurrentObservation());
    }

    /**
     * The factory for a request joining the admission queue: its attempt's observation will have
     * as parent the observation current now, on the waiting request's thread.
     *
     * @return a factory bound to the current observation
     */
    @Override
    public AttemptTracer.Factory forQueuedRequest() {
        Observation parent = registry.getCurrentObservation();
        return decision -> start(decision, parent);
    }

    private AttemptTracer start(RoutingDecision decision, Observation parent) {
        if (registry.isNoop()) {
            return NONE;
        }
        Observation observation = Observation.createNotStarted(NAME, registry)
                .contextualName("ailb attempt")
                .parentObservation(parent)
                .lowCardinalityKeyValue("balancer", decision.balancer())
                .lowCardinalityKeyValue("backend", decision.backend())
                .lowCardinalityKeyValue("strategy", decision.strategy())
                .lowCardinalityKeyValue("reason", lowerCase(decision.reason()))
                .highCardinalityKeyValue("attempt", Integer.toString(decision.attempt()));
        if (!Double.isNaN(decision.figure())) {
            observation.highCardinalityKeyValue("figure", Double.toString(decision.figure()));
        }
        decision.previousBackend().ifPresent(previous -> observation.highCardinalityKeyValue("previous.backend",
                previous));
        observation.start();
        return (outcome, failure) -> {
            observation.lowCardinalityKeyValue("outcome", lowerCase(outcome));
            if (failure != null) {
                observation.error(failure);
            }
            observation.stop();
        };
    }

    private static String lowerCase(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return "ObservationAttemptTracing{" + registry + '}';
    }
}
