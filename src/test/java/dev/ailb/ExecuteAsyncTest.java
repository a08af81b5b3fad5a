package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.health.HealthState;
import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * executeAsync in virtual time: deadlines, first-token deadlines and hedges, every lease released
 * once and counted as it should be. The attempts answer through futures the test completes.
 */
class ExecuteAsyncTest {
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");
    private static final Duration MS = Duration.ofMillis(1);

    private final ManualTicker ticker = new ManualTicker();
    private final ManualScheduler scheduler = new ManualScheduler(ticker);
    private LoadBalancer lb;

    @AfterEach
    void close() {
        if (lb != null) {
            lb.close();
        }
    }

    private LoadBalancer balancer(RetryPolicy policy, OutlierDetection outliers, int backends) {
        lb = LoadBalancer.builder().ticker(ticker).random(new Random(5)).strategy(BalancingStrategy.ROUND_ROBIN)
                .retryPolicy(policy).outlierDetection(outliers).callScheduler(scheduler).build();
        for (int i = 1; i <= backends; i++) {
            lb.addBackend("b" + i, "10.0.0." + i, 8000 + i);
        }
        return lb;
    }

    private LoadBalancer balancer(int backends) {
        // A hedge floor so that a lone call may hedge: the default allows 5% of recent requests only.
        return balancer(RetryPolicy.builder().minHedgesPerSecond(100).build(), OutlierDetection.disabled(), backends);
    }

    /** The attempts of a call: each answers through a future the test completes. */
    static final class Script implements AttemptCall<String> {
        final List<Attempt> attempts = new ArrayList<>();
        final List<CompletableFuture<String>> answers = new ArrayList<>();
        final List<AtomicInteger> cancels = new ArrayList<>();

        @Override
        public synchronized CompletionStage<String> start(Attempt attempt) {
            CompletableFuture<String> answer = new CompletableFuture<>();
            AtomicInteger cancelled = new AtomicInteger();
            attempt.onCancel(cancelled::incrementAndGet);
            attempts.add(attempt);
            answers.add(answer);
            cancels.add(cancelled);
            return answer;
        }

        synchronized List<String> backends() {
            List<String> ids = new ArrayList<>();
            for (Attempt a : attempts) {
                ids.add(a.backend().id());
            }
            return ids;
        }

        synchronized Attempt attempt(int i) {
            return attempts.get(i);
        }

        synchronized void answer(int i, String value) {
            answers.get(i).complete(value);
        }

        synchronized void fail(int i, Throwable failure) {
            answers.get(i).completeExceptionally(failure);
        }

        synchronized int cancels(int i) {
            return cancels.get(i).get();
        }
    }

    private static CallOptions hedgeAfter(Duration delay) {
        return CallOptions.builder().hedging(HedgeDelay.fixed(delay)).build();
    }

    private LoadBalancerMetrics metrics() {
        return lb.getAllStats().metrics();
    }

    @Test
    void aCallWithoutOptionsAnswersAndReleasesItsLeaseAsASuccess() throws Exception {
        // given
        balancer(2);
        Script script = new Script();

        // when
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script);
        ticker.advance(Duration.ofMillis(30));
        script.answer(0, "ok");

        // then
        assertThat(answer.get()).isEqualTo("ok");
        assertThat(scheduler.pendingTasks()).isZero();
        BackendStats b1 = lb.getBackendStats("b1");
        assertThat(b1.successes()).isEqualTo(1);
        assertThat(b1.activeConnections()).isZero();
        assertThat(b1.avgResponseTime()).isEqualTo(Duration.ofMillis(30));
        assertThat(script.cancels(0)).isZero();
    }

    @Test
    void aMissedFirstTokenDeadlineMovesTheRequestToAnotherBackend() throws Exception {
        // given
        balancer(3);
        Script script = new Script();
        CallOptions options = CallOptions.builder().firstTokenDeadline(Duration.ofMillis(200)).build();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, options);

        // when: b1 says nothing for 200 ms
        scheduler.advance(Duration.ofMillis(199));
        assertThat(script.attempts).hasSize(1);
        scheduler.advance(MS);

        // then: abandoned and counted as b1's failure; the retry went to b2
        assertThat(script.backends()).containsExactly("b1", "b2");
        assertThat(script.attempt(0).isCancelled()).isTrue();
        assertThat(script.cancels(0)).isEqualTo(1);
        assertThat(script.attempt(0).lease().isOpen()).isFalse();
        assertThat(lb.getBackendStats("b1").failures()).isEqualTo(1);
        assertThat(lb.getBackendStats("b1").activeConnections()).isZero();

        // when: b2 gives its first token in time, then answers
        scheduler.advance(Duration.ofMillis(50));
        assertThat(script.attempt(1).firstToken()).isTrue();
        scheduler.advance(Duration.ofSeconds(5));
        script.answer(1, "from b2");
        script.answer(0, "too late from b1");

        // then
        assertThat(answer.get()).isEqualTo("from b2");
        LoadBalancerMetrics m = metrics();
        assertThat(m.firstTokenTimeouts()).isEqualTo(1);
        assertThat(m.retries()).isEqualTo(1);
        assertThat(m.totalRequests()).isEqualTo(2);
        assertThat(m.successes()).isEqualTo(1);
        assertThat(m.failures()).isEqualTo(1);
        assertThat(m.cancelledAttempts()).isZero();
        assertThat(m.activeConnections()).isZero();
        assertThat(lb.getBackends().get(1).firstByteCount()).isEqualTo(1);
        assertThat(lb.getBackends().get(1).timeToFirstByteAt(0.5)).isBetween(Duration.ofMillis(48),
                Duration.ofMillis(52));
        assertThat(scheduler.pendingTasks()).isZero();
    }

    @Test
    void firstTokenDeadlinesExhaustTheAttemptsAndSayWhy() {
        // given: two attempts in all
        balancer(RetryPolicy.builder().maxAttempts(2).build(), OutlierDetection.disabled(), 3);
        Script script = new Script();
        CallOptions options = CallOptions.builder().firstTokenDeadline(Duration.ofMillis(100)).build();

        // when
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, options);
        scheduler.advance(Duration.ofMillis(100));
        scheduler.advance(Duration.ofMillis(100));

        // then
        assertThat(script.backends()).containsExactly("b1", "b2");
        assertThatThrownBy(answer::get).isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(CallFailedException.class, e -> {
                    assertThat(e.reason()).isEqualTo(CallFailedException.Reason.ATTEMPTS_EXHAUSTED);
                    assertThat(e.attempts()).isEqualTo(2);
                    assertThat(e.getCause()).isInstanceOfSatisfying(DeadlineExceededException.class, d -> {
                        assertThat(d.kind()).isEqualTo(DeadlineExceededException.Kind.FIRST_TOKEN);
                        assertThat(d).hasMessage("no first token from backend b2 within the first-token "
                                + "deadline of PT0.1S");
                    });
                });
        assertThat(metrics().failures()).isEqualTo(2);
        assertThat(metrics().activeConnections()).isZero();
        assertThat(script.cancels(0) + script.cancels(1)).isEqualTo(2);
    }

    @Test
    void aHedgeThatAnswersFirstWinsAndTheLoserIsCancelledAndReleasedOnce() throws Exception {
        // given
        balancer(3);
        Script script = new Script();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, hedgeAfter(Duration.ofMillis(100)));

        // when: no first token from b1 within 100 ms
        scheduler.advance(Duration.ofMillis(100));

        // then: a hedge went to b2
        assertThat(script.backends()).containsExactly("b1", "b2");
        assertThat(script.attempt(1).isHedge()).isTrue();
        assertThat(script.attempt(1).number()).isEqualTo(2);
        assertThat(lb.getBackendStats("b1").activeConnections()).isEqualTo(1);
        assertThat(lb.getBackendStats("b2").activeConnections()).isEqualTo(1);

        // when: the hedge answers first, then the loser answers late
        scheduler.advance(Duration.ofMillis(20));
        script.answer(1, "from b2");
        script.answer(0, "from b1");

        // then: the loser was cancelled once and released without an outcome
        assertThat(answer.get()).isEqualTo("from b2");
        assertThat(script.cancels(0)).isEqualTo(1);
        assertThat(script.cancels(1)).isZero();
        assertThat(script.attempt(0).isCancelled()).isTrue();
        assertThat(script.attempt(0).lease().isOpen()).isFalse();
        assertThat(script.attempt(0).lease().success()).as("released already").isFalse();
        BackendStats b1 = lb.getBackendStats("b1");
        assertThat(b1.activeConnections()).isZero();
        assertThat(b1.successes()).isZero();
        assertThat(b1.failures()).isZero();
        assertThat(b1.p99ResponseTime()).isZero();
        BackendStats b2 = lb.getBackendStats("b2");
        assertThat(b2.successes()).isEqualTo(1);
        assertThat(b2.avgResponseTime()).isEqualTo(Duration.ofMillis(20));
        LoadBalancerMetrics m = metrics();
        assertThat(m.hedges()).isEqualTo(1);
        assertThat(m.retries()).isZero();
        assertThat(m.cancelledAttempts()).isEqualTo(1);
        assertThat(m.totalRequests()).isEqualTo(m.successes() + m.failures() + m.cancelledAttempts()
                + m.activeConnections()).isEqualTo(2);
        assertThat(scheduler.pendingTasks()).isZero();
    }

    @Test
    void theFirstTokenOfTheFirstAttemptCancelsTheHedgeAndNoneIsSentAfterIt() throws Exception {
        // given
        balancer(3);
        Script script = new Script();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, hedgeAfter(Duration.ofMillis(100)));
        scheduler.advance(Duration.ofMillis(100));

        // when: b1's first token comes before the hedge's
        assertThat(script.attempt(0).firstToken()).isTrue();

        // then: the hedge lost at once, and says so
        assertThat(script.cancels(1)).isEqualTo(1);
        assertThat(script.attempt(1).firstToken()).isFalse();
        assertThat(lb.getBackendStats("b2").activeConnections()).isZero();
        assertThat(answer).isNotDone();

        // when
        script.answer(0, "from b1");

        // then
        assertThat(answer.get()).isEqualTo("from b1");
        assertThat(metrics().cancelledAttempts()).isEqualTo(1);
        assertThat(metrics().successes()).isEqualTo(1);
    }

    @Test
    void aFirstTokenBeforeTheHedgeDelayMeansNoHedge() throws Exception {
        balancer(3);
        Script script = new Script();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, hedgeAfter(Duration.ofMillis(100)));

        scheduler.advance(Duration.ofMillis(99));
        script.attempt(0).firstToken();
        scheduler.advance(Duration.ofSeconds(1));
        script.answer(0, "ok");

        assertThat(answer.get()).isEqualTo("ok");
        assertThat(script.attempts).hasSize(1);
        assertThat(metrics().hedges()).isZero();
        assertThat(metrics().hedgesRefused()).isZero();
        assertThat(scheduler.pendingTasks()).isZero();
    }

    @Test
    void thePercentileHedgeDelayIsTheBackendsObservedTimeToFirstToken() {
        // given: b1's times to first token are 10, 20, .. 200 ms
        balancer(1);
        Backend b1 = lb.getBackends().get(0);
        HedgeDelay p95 = HedgeDelay.firstTokenPercentile(0.95, Duration.ofSeconds(3));
        for (int i = 1; i <= HedgeDelay.MIN_SAMPLES; i++) {
            assertThat(p95.delayFor(b1)).as("too few samples yet").isEqualTo(Duration.ofSeconds(3));
            Lease timed = lb.acquire(REQUEST);
            ticker.advance(Duration.ofMillis(10L * i));
            timed.firstByte();
            timed.success();
        }

        // when
        Duration delay = p95.delayFor(b1);

        // then: the 19th of 20 times, within the histogram's 3%
        assertThat(delay).isBetween(Duration.ofMillis(185), Duration.ofMillis(196));
        assertThat(HedgeDelay.fixed(Duration.ofMillis(7)).delayFor(b1)).isEqualTo(Duration.ofMillis(7));
    }

    @Test
    void theHedgeBudgetRefusesHedgesPastFivePercentOfTheRequests() throws Exception {
        // given: the default budgets, 20% for retries and hedges, 5% for hedges alone
        balancer(RetryPolicy.defaults(), OutlierDetection.disabled(), 3);

        // when: 100 calls in a row, each slow enough to want a hedge
        int hedged = 0;
        for (int i = 0; i < 100; i++) {
            Script script = new Script();
            CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, hedgeAfter(MS));
            scheduler.advance(MS);
            hedged += script.attempts.size() - 1;
            script.answer(0, "ok");
            assertThat(answer.get()).isEqualTo("ok");
        }

        // then: one hedge per 20 requests, exactly
        assertThat(hedged).isEqualTo(5);
        LoadBalancerMetrics m = metrics();
        assertThat(m.hedges()).isEqualTo(5);
        assertThat(m.hedgesRefused()).isEqualTo(95);
        assertThat(m.totalRequests()).isEqualTo(105);
        assertThat(m.cancelledAttempts()).isEqualTo(5);
        assertThat(m.activeConnections()).isZero();
    }

    @Test
    void retriesSpendTheBudgetHedgesShare() throws Exception {
        // given: room for 2 extra attempts in all (20% of 10 requests), hedges up to 100%
        balancer(RetryPolicy.builder().minRetriesPerSecond(0).hedgeBudgetPercent(100).build(),
                OutlierDetection.disabled(), 3);
        for (int i = 0; i < 8; i++) {
            Script script = new Script();
            lb.executeAsync(REQUEST, script);
            script.answer(0, "ok");
        }
        for (int i = 0; i < 2; i++) { // two retries
            Script script = new Script();
            CompletableFuture<String> answer = lb.executeAsync(REQUEST, script);
            script.fail(0, new IOException("reset"));
            script.answer(1, "ok");
            assertThat(answer.get()).isEqualTo("ok");
        }

        // when: a call wants a hedge
        Script script = new Script();
        lb.executeAsync(REQUEST, script, hedgeAfter(MS));
        scheduler.advance(MS);

        // then: the retries left no room for it
        assertThat(script.attempts).hasSize(1);
        assertThat(metrics().retries()).isEqualTo(2);
        assertThat(metrics().hedgesRefused()).isEqualTo(1);
        assertThat(metrics().hedges()).isZero();
    }

    @Test
    void theDeadlineCancelsEveryAttemptAndFailsTheCall() {
        // given
        balancer(3);
        Script script = new Script();
        CallOptions options = CallOptions.builder().deadline(Duration.ofSeconds(2))
                .hedging(HedgeDelay.fixed(Duration.ofMillis(500))).build();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, options);
        scheduler.advance(Duration.ofMillis(500));
        assertThat(script.attempts).hasSize(2);

        // when
        scheduler.advance(Duration.ofMillis(1500));

        // then
        assertThatThrownBy(answer::get).isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(DeadlineExceededException.class, e -> {
                    assertThat(e.kind()).isEqualTo(DeadlineExceededException.Kind.CALL);
                    assertThat(e.attempts()).isEqualTo(2);
                    assertThat(e).hasMessage("the call's deadline of PT2S passed after 2 attempts");
                });
        assertThat(script.cancels(0)).isEqualTo(1);
        assertThat(script.cancels(1)).isEqualTo(1);
        LoadBalancerMetrics m = metrics();
        assertThat(m.deadlinesExceeded()).isEqualTo(1);
        assertThat(m.cancelledAttempts()).isEqualTo(2);
        assertThat(m.failures()).isZero();
        assertThat(m.successes()).isZero();
        assertThat(m.activeConnections()).isZero();
        assertThat(scheduler.pendingTasks()).isZero();

        // when: the attempts answer after all
        script.answer(0, "late");
        script.fail(1, new IOException("late"));

        // then: nothing changes
        assertThat(metrics()).isEqualTo(m);
    }

    @Test
    void theCallersCancellationCancelsTheAttemptsStillRunning() {
        // given
        balancer(3);
        Script script = new Script();
        CallOptions options = CallOptions.builder().deadline(Duration.ofSeconds(2))
                .hedging(HedgeDelay.fixed(Duration.ofMillis(500))).build();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, options);
        scheduler.advance(Duration.ofMillis(500));

        // when
        assertThat(answer.cancel(true)).isTrue();

        // then
        assertThatThrownBy(answer::get).isInstanceOf(CancellationException.class);
        assertThat(script.cancels(0)).isEqualTo(1);
        assertThat(script.cancels(1)).isEqualTo(1);
        assertThat(script.attempt(0).isCancelled()).isTrue();
        LoadBalancerMetrics m = metrics();
        assertThat(m.cancelledAttempts()).isEqualTo(2);
        assertThat(m.activeConnections()).isZero();
        assertThat(m.deadlinesExceeded()).isZero();
        assertThat(scheduler.pendingTasks()).isZero();

        // when: an action registered after the cancellation runs at once
        AtomicInteger late = new AtomicInteger();
        script.attempt(0).onCancel(late::incrementAndGet);
        assertThat(late.get()).isEqualTo(1);
    }

    @Test
    void cancelledLosersAreNotFailuresForOutlierDetection() throws Exception {
        // given: one failure ejects a backend
        OutlierDetection outliers = OutlierDetection.builder().consecutiveFailures(1).build();
        balancer(RetryPolicy.builder().minHedgesPerSecond(100).build(), outliers, 2);

        // when: b1 loses ten hedge races in a row
        for (int i = 0; i < 10; i++) {
            Script script = new Script();
            CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, hedgeAfter(MS));
            scheduler.advance(MS);
            Attempt hedge = script.attempt(1);
            script.answer(1, "ok");
            assertThat(answer.get()).isEqualTo("ok");
            assertThat(script.attempt(0).backend()).isNotSameAs(hedge.backend());
        }

        // then
        assertThat(lb.getBackendStats("b1").health().state()).isEqualTo(HealthState.HEALTHY);
        assertThat(lb.getBackendStats("b2").health().state()).isEqualTo(HealthState.HEALTHY);
        assertThat(metrics().cancelledAttempts()).isEqualTo(10);
        assertThat(metrics().failures()).isZero();
        assertThat(metrics().ejectedBackends()).isZero();
    }

    @Test
    void aFailureWhileTheHedgeRunsWaitsForTheHedge() throws Exception {
        balancer(3);
        Script script = new Script();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, hedgeAfter(Duration.ofMillis(100)));
        scheduler.advance(Duration.ofMillis(100));

        script.fail(0, new IOException("reset by b1"));

        assertThat(script.attempts).as("no retry while the hedge runs").hasSize(2);
        assertThat(answer).isNotDone();
        script.answer(1, "from b2");
        assertThat(answer.get()).isEqualTo("from b2");
        assertThat(metrics().failures()).isEqualTo(1);
        assertThat(metrics().successes()).isEqualTo(1);
        assertThat(metrics().cancelledAttempts()).isZero();
        assertThat(metrics().retries()).isZero();
    }

    @Test
    void aFailureThePolicyDoesNotRetryEndsTheCallAndCancelsTheHedge() {
        balancer(RetryPolicy.builder().retryOn(e -> !(e instanceof IllegalArgumentException))
                .minHedgesPerSecond(100).build(), OutlierDetection.disabled(), 3);
        Script script = new Script();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, hedgeAfter(Duration.ofMillis(100)));
        scheduler.advance(Duration.ofMillis(100));

        script.fail(0, new IllegalArgumentException("bad prompt"));

        assertThatThrownBy(answer::get).isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(CallFailedException.class,
                        e -> assertThat(e.reason()).isEqualTo(CallFailedException.Reason.NOT_RETRYABLE));
        assertThat(script.cancels(1)).isEqualTo(1);
        assertThat(metrics().failures()).isEqualTo(1);
        assertThat(metrics().cancelledAttempts()).isEqualTo(1);
        assertThat(metrics().activeConnections()).isZero();
    }

    @Test
    void aCallThatThrowsOrReturnsNoStageIsAFailedAttempt() throws Exception {
        balancer(3);
        AtomicInteger calls = new AtomicInteger();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, attempt -> {
            switch (calls.incrementAndGet()) {
                case 1:
                    throw new IOException("refused");
                case 2:
                    return null;
                default:
                    return CompletableFuture.completedFuture("third time on " + attempt.backend().id());
            }
        });

        assertThat(answer.get()).isEqualTo("third time on b3");
        assertThat(metrics().failures()).isEqualTo(2);
        assertThat(metrics().successes()).isEqualTo(1);
    }

    @Test
    void noAvailableBackendFailsTheFutureAndSetsNoTimer() {
        balancer(0);

        CompletableFuture<String> answer = lb.executeAsync(REQUEST, new Script(),
                CallOptions.builder().deadline(Duration.ofSeconds(1)).build());

        assertThatThrownBy(answer::get).isInstanceOf(ExecutionException.class).cause()
                .isInstanceOf(NoAvailableBackendException.class);
        assertThat(scheduler.pendingTasks()).isZero();
        assertThat(metrics().rejectedRequests()).isEqualTo(1);
    }

    @Test
    void aLeaseKeptOpenIsTheCallersToEnd() throws Exception {
        balancer(2);
        CompletableFuture<Lease> answer = lb.executeAsync(REQUEST, attempt -> {
            attempt.keepLeaseOpen();
            return CompletableFuture.completedFuture(attempt.lease());
        });

        Lease lease = answer.get();
        assertThat(lease.isOpen()).isTrue();
        assertThat(metrics().activeConnections()).isEqualTo(1);
        assertThat(lease.success()).isTrue();
        assertThat(metrics().successes()).isEqualTo(1);
    }

    @Test
    void aCancelledAttemptEndsTheDrainOfItsBackend() {
        balancer(3);
        Script script = new Script();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script);
        CompletableFuture<Void> removal = lb.removeBackend("b1");
        assertThat(removal).isNotDone();

        answer.cancel(true);

        assertThat(removal).isCompleted();
        assertThat(lb.getBackend("b1")).isEmpty();
        assertThat(metrics().cancelledAttempts()).isEqualTo(1);
        assertThat(metrics().totalRequests()).isEqualTo(1);
    }

    @Test
    void aLoneBackendIsNotHedgedOnItselfAndTheBudgetIsNotAsked() throws Exception {
        balancer(1);
        Script script = new Script();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, hedgeAfter(MS));

        scheduler.advance(Duration.ofSeconds(1));
        script.answer(0, "ok");

        assertThat(answer.get()).isEqualTo("ok");
        assertThat(script.attempts).hasSize(1);
        assertThat(metrics().hedges()).isZero();
        assertThat(metrics().hedgesRefused()).isZero();
    }

    @Test
    void aClosedBalancerSendsNoHedgeButTheCallInFlightEndsAndIsCounted() throws Exception {
        balancer(3);
        Script script = new Script();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script, hedgeAfter(Duration.ofMillis(100)));

        lb.close();
        scheduler.advance(Duration.ofMillis(100));
        script.answer(0, "ok");

        assertThat(answer.get()).isEqualTo("ok");
        assertThat(script.attempts).hasSize(1);
        assertThat(metrics().successes()).isEqualTo(1);
        assertThat(metrics().activeConnections()).isZero();
    }

    @Test
    void theResponseTimePercentileReadsTheBackendsCompletions() {
        balancer(1);
        Backend b1 = lb.getBackends().get(0);
        HedgeDelay p50 = HedgeDelay.responseTimePercentile(0.5, Duration.ofSeconds(2));
        for (int i = 1; i <= HedgeDelay.MIN_SAMPLES; i++) {
            lb.acquireConnection(b1);
            lb.releaseConnection(b1, Duration.ofMillis(100), true);
        }

        assertThat(p50.delayFor(b1)).isBetween(Duration.ofMillis(97), Duration.ofMillis(103));
        assertThat(p50.toString()).isEqualTo("HedgeDelay{responseTime p50.0, fallback PT2S}");
    }

    private LoadBalancer admitting() {
        lb = LoadBalancer.builder().ticker(ticker).strategy(BalancingStrategy.ROUND_ROBIN).connectionLimit(1)
                .admissionQueue(10, Duration.ofMinutes(1)).healthCheckScheduler(scheduler).callScheduler(scheduler)
                .outlierDetection(OutlierDetection.disabled()).build();
        lb.addBackend("b1", "10.0.0.1", 8001);
        return lb;
    }

    @Test
    void aFullFleetAdmitsTheFirstAttemptWhenRoomIsFreed() throws Exception {
        // given: b1 holds its one connection
        admitting();
        Lease held = lb.acquire(REQUEST);
        Script script = new Script();

        // when
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script);

        // then: the call waits in the admission queue, with no attempt yet
        assertThat(script.attempts).isEmpty();
        assertThat(lb.getAllStats().metrics().admission().waiting()).isEqualTo(1);

        // when: the connection is freed
        held.success();

        // then: the first attempt starts on the connection admitted for it
        assertThat(script.attempts).hasSize(1);
        script.answer(0, "ok");
        assertThat(answer.get()).isEqualTo("ok");
        assertThat(metrics().successes()).isEqualTo(2);
        assertThat(metrics().activeConnections()).isZero();
    }

    @Test
    void theDeadlinePassingInTheAdmissionQueueWithdrawsTheCall() {
        // given
        admitting();
        Lease held = lb.acquire(REQUEST);
        Script script = new Script();
        CompletableFuture<String> answer = lb.executeAsync(REQUEST, script,
                CallOptions.builder().deadline(Duration.ofSeconds(2)).build());

        // when
        scheduler.advance(Duration.ofSeconds(2));
        held.success();

        // then: it never got a connection, and the one freed stays free
        assertThatThrownBy(answer::get).isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(DeadlineExceededException.class, e -> assertThat(e)
                        .hasMessage("the call's deadline of PT2S passed while it waited for admission"));
        assertThat(script.attempts).isEmpty();
        assertThat(lb.getAllStats().metrics().admission().waiting()).isZero();
        assertThat(lb.getAllStats().metrics().admission().withdrawn()).isEqualTo(1);
        assertThat(metrics().activeConnections()).isZero();
        assertThat(metrics().totalRequests()).isEqualTo(1);
    }
}
