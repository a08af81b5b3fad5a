package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.RoutingDecision.Reason;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualTicker;
import dev.ailb.testing.StandardErrorCapture;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.BasicMDCAdapter;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/**
 * The DEBUG line of each routing decision with its MDC keys, written to a capturing logger and a real
 * MDC; and the tracers of the attempts, each ended once, whatever a tracer throws.
 */
class DecisionRecordsTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");

    private final ManualTicker ticker = new ManualTicker();
    private LoadBalancer lb;

    @AfterEach
    void close() {
        if (lb != null) {
            lb.close();
        }
    }

    private LoadBalancer balancer(AttemptTracer.Factory tracing) {
        LoadBalancerBuilder builder = LoadBalancer.builder().name("chat").ticker(ticker)
                .strategy(BalancingStrategy.ROUND_ROBIN).outlierDetection(OutlierDetection.disabled());
        lb = (tracing == null ? builder : builder.attemptTracing(tracing)).build();
        lb.addBackend("b1", "10.0.0.1", 8001);
        lb.addBackend("b2", "10.0.0.2", 8002);
        return lb;
    }

    /** A logger that keeps each line with the MDC as it stood when the line was written. */
    static final class CapturingLogger extends LegacyAbstractLogger {
        final List<String> lines = new ArrayList<>();
        final List<Map<String, String>> contexts = new ArrayList<>();
        private final BasicMDCAdapter mdc;
        private final boolean debug;

        CapturingLogger(BasicMDCAdapter mdc, boolean debug) {
            this.mdc = mdc;
            this.debug = debug;
            this.name = RoutingDecision.LOGGER;
        }

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        @Override
        protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] arguments,
                Throwable throwable) {
            lines.add(level + " " + MessageFormatter.basicArrayFormat(pattern, arguments));
            Map<String, String> copy = mdc.getCopyOfContextMap();
            contexts.add(copy == null ? Map.of() : copy);
        }

        @Override
        public boolean isTraceEnabled() {
            return false;
        }

        @Override
        public boolean isDebugEnabled() {
            return debug;
        }

        @Override
        public boolean isInfoEnabled() {
            return true;
        }

        @Override
        public boolean isWarnEnabled() {
            return true;
        }

        @Override
        public boolean isErrorEnabled() {
            return true;
        }
    }

    @Test
    void eachAttemptWritesOneDebugLineWithItsFieldsInTheMdcAndPutsTheCallersBack() {
        balancer(null);
        BasicMDCAdapter mdc = new BasicMDCAdapter();
        mdc.put("ailb.backend", "the caller's own");
        mdc.put("request.id", "abc");
        CapturingLogger logger = new CapturingLogger(mdc, true);
        DecisionRecords records = new DecisionRecords("chat", null, logger, mdc);
        Backend b1 = lb.getBackend("b1").orElseThrow();
        Backend b2 = lb.getBackend("b2").orElseThrow();

        AttemptTracer first = records.started(b1, BalancingStrategy.LEAST_CONNECTIONS, Reason.LEAST_LOADED, 3.0, 1, null, null);
        AttemptTracer retry = records.started(b2, BalancingStrategy.LEAST_CONNECTIONS, Reason.RETRY, Double.NaN, 2, b1, null);

        assertThat(first).isNull();
        assertThat(retry).isNull();
        assertThat(logger.lines).containsExactly(
                "DEBUG routed balancer=chat backend=b1 strategy=LEAST_CONNECTIONS reason=LEAST_LOADED figure=3.0 attempt=1",
                "DEBUG routed balancer=chat backend=b2 strategy=LEAST_CONNECTIONS reason=RETRY attempt=2 previous=b1");
        assertThat(logger.contexts.get(0)).containsExactlyInAnyOrderEntriesOf(Map.of(
                "ailb.balancer", "chat", "ailb.backend", "b1", "ailb.strategy", "LEAST_CONNECTIONS",
                "ailb.reason", "LEAST_LOADED", "ailb.figure", "3.0", "ailb.attempt", "1", "request.id", "abc"));
        assertThat(logger.contexts.get(1)).containsExactlyInAnyOrderEntriesOf(Map.of(
                "ailb.balancer", "chat", "ailb.backend", "b2", "ailb.strategy", "LEAST_CONNECTIONS",
                "ailb.reason", "RETRY", "ailb.attempt", "2", "ailb.previous", "b1", "request.id", "abc"));
        assertThat(mdc.getCopyOfContextMap()).containsExactlyInAnyOrderEntriesOf(Map.of(
                "ailb.backend", "the caller's own", "request.id", "abc"));
    }

    @Test
    void withTheLoggerOffAndNoTracingNothingIsWrittenOrBuilt() {
        balancer(null);
        BasicMDCAdapter mdc = new BasicMDCAdapter();
        CapturingLogger logger = new CapturingLogger(mdc, false);
        DecisionRecords records = new DecisionRecords("chat", null, logger, mdc);

        AttemptTracer tracer = records.started(lb.getBackend("b1").orElseThrow(), BalancingStrategy.ROUND_ROBIN,
                Reason.ROTATION, Double.NaN, 1, null, null);

        assertThat(tracer).isNull();
        assertThat(logger.lines).isEmpty();
        assertThat(mdc.getCopyOfContextMap()).isNullOrEmpty();
    }

    @Test
    void everyAttemptOfARetriedCallEndsItsTracerOnceWithItsOutcome() {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        balancer(decision -> {
            events.add("start " + decision.backend() + " " + decision.reason() + " " + decision.attempt());
            return (outcome, failure) -> events.add("end " + decision.backend() + " " + outcome
                    + (failure == null ? "" : " " + failure.getMessage()));
        });

        String answer = lb.executeLeased(REQUEST, lease -> {
            if (lease.backend().id().equals("b1")) {
                throw new IOException("connection reset");
            }
            lease.success();
            lease.close(); // a second release: nothing more is ended
            return "ok";
        });
        Lease cancelled = lb.acquire(REQUEST);
        cancelled.cancel();
        cancelled.failure();

        assertThat(answer).isEqualTo("ok");
        assertThat(events).containsExactly(
                "start b1 ROTATION 1", "end b1 FAILURE connection reset",
                "start b2 RETRY 2", "end b2 SUCCESS",
                "start b1 ROTATION 1", "end b1 CANCELLED");
    }

    @Test
    void aLeaseFailedWithItsCauseTellsTheTracerAndANullCauseIsRefusedWithTheLeaseLeftOpen() {
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        balancer(decision -> (outcome, failure) -> events.add(outcome + " " + failure));
        Lease lease = lb.acquire(REQUEST);

        assertThatThrownBy(() -> lease.failure(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("cause: null (expected: non-null)");
        assertThat(lease.isOpen()).isTrue();
        assertThat(events).isEmpty();
        assertThat(lease.failure(new IOException("stream cut"))).isTrue();
        assertThat(lease.failure(new IOException("again"))).isFalse();

        assertThat(events).containsExactly("FAILURE java.io.IOException: stream cut");
        assertThat(lb.getAllStats().metrics().failures()).isEqualTo(1);
    }

    @Test
    void racingReleasesOfOneLeaseEndItsTracerExactlyOnce() throws Exception {
        Map<Integer, AtomicInteger> ends = new ConcurrentHashMap<>();
        AtomicInteger made = new AtomicInteger();
        balancer(decision -> {
            AtomicInteger count = new AtomicInteger();
            ends.put(made.incrementAndGet(), count);
            return (outcome, failure) -> count.incrementAndGet();
        });
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            for (int round = 0; round < 200; round++) {
                Lease lease = lb.acquire(REQUEST);
                CountDownLatch start = new CountDownLatch(1);
                List<Future<Boolean>> releases = List.of(
                        pool.submit(() -> {
                            start.await();
                            return lease.success();
                        }),
                        pool.submit(() -> {
                            start.await();
                            return lease.cancel();
                        }),
                        pool.submit(() -> {
                            start.await();
                            return lease.failure(new IOException("reset"));
                        }));
                start.countDown();
                int released = 0;
                for (Future<Boolean> f : releases) {
                    released += f.get() ? 1 : 0;
                }
                assertThat(released).isEqualTo(1);
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(made.get()).isEqualTo(200);
        assertThat(ends.values()).allSatisfy(count -> assertThat(count.get()).isEqualTo(1));
        assertThat(lb.getAllStats().metrics().activeConnections()).isZero();
    }

    @Test
    void aTracerThatThrowsChangesNothingInTheCounts() {
        balancer(decision -> {
            if (decision.backend().equals("b2")) {
                throw new IllegalStateException("factory broken");
            }
            return (outcome, failure) -> {
                throw new IllegalStateException("tracer broken");
            };
        });

        String logged;
        try (StandardErrorCapture err = StandardErrorCapture.start()) {
            lb.acquire(REQUEST).success(); // b1: its tracer throws when it ends
            lb.acquire(REQUEST).success(); // b2: its factory throws
            logged = err.text();
        }

        assertThat(lb.getAllStats().metrics().successes()).isEqualTo(2);
        assertThat(lb.getAllStats().metrics().activeConnections()).isZero();
        assertThat(logged).contains("[chat] an attempt tracer threw when its attempt ended SUCCESS")
                .contains("[chat] the attempt tracer factory threw for balancer=chat backend=b2");
    }
}
