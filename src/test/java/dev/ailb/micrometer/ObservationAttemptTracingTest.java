package dev.ailb.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.Attempt;
import dev.ailb.AttemptCall;
import dev.ailb.BalancingStrategy;
import dev.ailb.CallOptions;
import dev.ailb.HedgeDelay;
import dev.ailb.Lease;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerBuilder;
import dev.ailb.Request;
import dev.ailb.RetryPolicy;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import io.micrometer.tracing.handler.DefaultTracingObservationHandler;
import io.micrometer.tracing.test.simple.SimpleSpan;
import io.micrometer.tracing.test.simple.SimpleTracer;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every attempt as a Micrometer Observation, checked with Micrometer's test registry (which refuses an
 * observation stopped twice) and, bridged to tracing, as spans of the simple test tracer.
 */
class ObservationAttemptTracingTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");

    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private LoadBalancer lb;

    @AfterEach
    void close() {
        if (lb != null) {
            lb.close();
        }
    }

    private LoadBalancer balancer(ObservationRegistry registry, int backends) {
        return balancer(LoadBalancer.builder(), registry, backends);
    }

    private LoadBalancer balancer(LoadBalancerBuilder builder, ObservationRegistry registry, int backends) {
        lb = builder.name("chat").ticker(ticker).random(new Random(3))
                .strategy(BalancingStrategy.ROUND_ROBIN).outlierDetection(OutlierDetection.disabled())
                .retryPolicy(RetryPolicy.builder().minHedgesPerSecond(100).build()).callScheduler(scheduler)
                .attemptTracing(new ObservationAttemptTracing(registry)).build();
        for (int i = 1; i <= backends; i++) {
            lb.addBackend("b" + i, "10.0.0." + i, 8000 + i);
        }
        return lb;
    }

    @Test
    void anAttemptIsObservedFromItsBackendToItsReleaseUnderTheApplicationsObservation() {
        TestObservationRegistry registry = TestObservationRegistry.create();
        balancer(registry, 2);
        Observation request = Observation.start("chat.request", registry);

        Lease lease;
        try (Observation.Scope scope = request.openScope()) {
            lease = lb.acquire(REQUEST);
        }
        TestObservationRegistryAssert.assertThat(registry).hasObservationWithNameEqualTo("ailb.attempt").that()
                .hasBeenStarted().isNotStopped();
        lease.success();
        request.stop();

        TestObservationRegistryAssert.assertThat(registry)
                .hasNumberOfObservationsWithNameEqualTo("ailb.attempt", 1)
                .hasObservationWithNameEqualTo("ailb.attempt").that()
                .hasBeenStarted().hasBeenStopped()
                .hasParentObservationEqualTo(request)
                .hasContextualNameEqualTo("ailb attempt")
                .hasLowCardinalityKeyValue("balancer", "chat")
                .hasLowCardinalityKeyValue("backend", "b1")
                .hasLowCardinalityKeyValue("strategy", "ROUND_ROBIN")
                .hasLowCardinalityKeyValue("reason", "rotation")
                .hasLowCardinalityKeyValue("outcome", "success")
                .hasHighCardinalityKeyValue("attempt", "1")
                .doesNotHaveHighCardinalityKeyValueWithKey("figure")
                .doesNotHaveHighCardinalityKeyValueWithKey("previous.backend");
    }

    @Test
    void aRequestThatWaitedInTheAdmissionQueueNestsUnderItsOwnObservationNotTheReleasers() {
        TestObservationRegistry registry = TestObservationRegistry.create();
        balancer(LoadBalancer.builder().connectionLimit(1).admissionQueue(4, Duration.ofSeconds(5)), registry, 1);
        Observation holder = Observation.start("holder.request", registry);
        Observation waiter = Observation.start("waiting.request", registry);
        Lease held;
        try (Observation.Scope scope = holder.openScope()) {
            held = lb.acquire(REQUEST);
        }
        CompletableFuture<Lease> waiting;
        try (Observation.Scope scope = waiter.openScope()) {
            waiting = lb.acquireAsync(REQUEST);
        }

        try (Observation.Scope scope = holder.openScope()) {
            held.success(); // the room it frees is handed to the waiter, on this thread
        }
        Lease handed = waiting.join();
        handed.success();

        assertThat(handed.decision().reason().name()).isEqualTo("ADMISSION_QUEUE");
        TestObservationRegistryAssert.assertThat(registry)
                .hasNumberOfObservationsWithNameEqualTo("ailb.attempt", 2)
                .hasAnObservation(o -> o.hasNameEqualTo("ailb.attempt")
                        .hasLowCardinalityKeyValue("reason", "admission_queue")
                        .hasParentObservationEqualTo(waiter))
                .hasAnObservation(o -> o.hasNameEqualTo("ailb.attempt")
                        .hasLowCardinalityKeyValue("reason", "rotation")
                        .hasParentObservationEqualTo(holder));
        holder.stop();
        waiter.stop();
    }

    @Test
    void aRetryAHedgeAndTheLoserEachStopTheirObservationOnceWithTheirOutcome() {
        TestObservationRegistry registry = TestObservationRegistry.create();
        balancer(registry, 3);
        Script script = new Script();

        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script,
                CallOptions.builder().hedging(HedgeDelay.fixed(Duration.ofMillis(100))).build());
        script.answers.get(0).completeExceptionally(new IOException("connection reset")); // b1 fails: retry on b2
        scheduler.advance(Duration.ofMillis(100)); // the hedge on b3 races b2
        script.answers.get(2).complete("hedged"); // b3 wins, b2 is cancelled

        assertThat(answer.join()).isEqualTo("hedged");
        TestObservationRegistryAssert.assertThat(registry)
                .hasNumberOfObservationsWithNameEqualTo("ailb.attempt", 3)
                .forAllObservationsWithNameEqualTo("ailb.attempt", o -> o.hasLowCardinalityKeyValueWithKey("outcome"));
        assertThat(outcomes(registry)).containsExactlyInAnyOrderEntriesOf(Map.of(
                "b1", "rotation/failure", "b2", "retry/cancelled", "b3", "hedge/success"));
        TestObservationRegistryAssert.assertThat(registry).hasAnObservation(o -> o
                .hasLowCardinalityKeyValue("backend", "b1").hasError());
        TestObservationRegistryAssert.assertThat(registry).hasAnObservation(o -> o
                .hasLowCardinalityKeyValue("backend", "b3").doesNotHaveError());
        assertThat(lb.getAllStats().metrics().activeConnections()).isZero();
    }

    @Test
    void aCallCancelledByItsCallerStopsTheObservationOfItsAttemptAsCancelled() {
        TestObservationRegistry registry = TestObservationRegistry.create();
        balancer(registry, 2);
        Script script = new Script();

        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script);
        answer.cancel(true);

        assertThat(script.attempts).hasSize(1);
        assertThat(outcomes(registry)).containsExactly(Map.entry("b1", "rotation/cancelled"));
        assertThat(script.attempts.get(0).lease().isOpen()).isFalse();
    }

    @Test
    void eachAttemptIsASpanChildOfTheApplicationsSpan() {
        SimpleTracer tracer = new SimpleTracer();
        ObservationRegistry registry = ObservationRegistry.create();
        registry.observationConfig().observationHandler(new DefaultTracingObservationHandler(tracer));
        balancer(registry, 2);
        Observation request = Observation.start("chat.request", registry);

        List<String> answers = new ArrayList<>();
        try (Observation.Scope scope = request.openScope()) {
            answers.add(lb.executeLeased(REQUEST, lease -> {
                if (lease.backend().id().equals("b1")) {
                    throw new IOException("connection reset");
                }
                lease.success();
                return "ok";
            }));
        }
        request.stop();

        assertThat(answers).containsExactly("ok");
        List<SimpleSpan> spans = new ArrayList<>(tracer.getSpans());
        assertThat(spans).hasSize(3);
        SimpleSpan parent = spans.stream().filter(s -> s.getName().equals("chat.request")).findFirst().orElseThrow();
        List<SimpleSpan> attempts = spans.stream().filter(s -> s.getName().equals("ailb attempt")).toList();
        assertThat(attempts).hasSize(2).allSatisfy(s -> {
            assertThat(s.getParentId()).isEqualTo(parent.getSpanId());
            assertThat(s.getTraceId()).isEqualTo(parent.getTraceId());
            assertThat(s.getEndTimestamp()).isAfterOrEqualTo(s.getStartTimestamp());
        });
        assertThat(attempts.get(0).getError()).isInstanceOf(IOException.class).hasMessage("connection reset");
        assertThat(attempts.get(1).getError()).isNull();
        assertThat(attempts).extracting(s -> s.getTags().get("backend") + "/" + s.getTags().get("reason") + "/"
                + s.getTags().get("outcome") + "/" + s.getTags().get("previous.backend"))
                .containsExactly("b1/rotation/failure/null", "b2/retry/success/b1");
    }

    @Test
    void aNoopRegistryMakesNoObservation() {
        balancer(ObservationRegistry.NOOP, 1);

        Lease lease = lb.acquire(REQUEST);

        assertThat(lease.success()).isTrue();
        assertThat(lease.decision().reason().name()).isEqualTo("ROTATION");
    }

    @Test
    void aNullRegistryIsRefused() {
        assertThatThrownBy(() -> new ObservationAttemptTracing(null))
                .isInstanceOf(NullPointerException.class).hasMessage("registry: null (expected: non-null)");
    }

    /** Each observed attempt's backend, with its reason and outcome. */
    private static Map<String, String> outcomes(TestObservationRegistry registry) {
        List<Observation.Context> contexts = new ArrayList<>();
        TestObservationRegistryAssert.assertThat(registry).hasHandledContextsThatSatisfy(contexts::addAll);
        return contexts.stream().filter(c -> c.getName().equals("ailb.attempt")).collect(Collectors.toMap(
                c -> c.getLowCardinalityKeyValue("backend").getValue(),
                c -> c.getLowCardinalityKeyValue("reason").getValue() + "/"
                        + c.getLowCardinalityKeyValue("outcome").getValue()));
    }

    /** The attempts of a call: each answers through a future the test completes. */
    private static final class Script implements AttemptCall<String> {
        final List<Attempt> attempts = new ArrayList<>();
        final List<CompletableFuture<String>> answers = new ArrayList<>();

        @Override
        public synchronized CompletionStage<String> start(Attempt attempt) {
            CompletableFuture<String> answer = new CompletableFuture<>();
            attempts.add(attempt);
            answers.add(answer);
            return answer;
        }
    }
}
