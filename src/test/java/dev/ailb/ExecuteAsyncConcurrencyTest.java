package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.health.OutlierDetection;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Hedged calls whose two attempts answer, give their first token and fail while their callers
 * cancel them, all at once from many threads: every lease is released exactly once, every call
 * ends once, and the counts add up.
 */
class ExecuteAsyncConcurrencyTest {
    private static final int CALLS = 400;
    private static final int THREADS = 8;
    private static final Request REQUEST = new Request("r", "10.1.1.1", "/v1/chat/completions");

    @Test
    void racingAnswersFirstTokensFailuresAndCancellationsReleaseEveryLeaseOnce() throws Exception {
        // given: every call has its first attempt and its hedge running
        ManualTicker ticker = new ManualTicker();
        ManualScheduler scheduler = new ManualScheduler(ticker);
        RetryPolicy generous = RetryPolicy.builder().maxAttempts(1).minRetriesPerSecond(10_000)
                .minHedgesPerSecond(10_000).build();
        try (LoadBalancer lb = LoadBalancer.builder().ticker(ticker).strategy(BalancingStrategy.LEAST_CONNECTIONS)
                .retryPolicy(generous).outlierDetection(OutlierDetection.disabled()).callScheduler(scheduler)
                .build()) {
            for (int i = 1; i <= 4; i++) {
                lb.addBackend("b" + i, "10.0.0." + i, 8000 + i);
            }
            List<ExecuteAsyncTest.Script> scripts = new ArrayList<>();
            List<CompletableFuture<String>> answers = new ArrayList<>();
            CallOptions hedged = CallOptions.builder().hedging(HedgeDelay.fixed(Duration.ofMillis(1))).build();
            for (int i = 0; i < CALLS; i++) {
                ExecuteAsyncTest.Script script = new ExecuteAsyncTest.Script();
                scripts.add(script);
                answers.add(lb.executeAsync(REQUEST, script, hedged));
            }
            scheduler.advance(Duration.ofMillis(1));
            for (ExecuteAsyncTest.Script script : scripts) {
                assertThat(script.attempts).hasSize(2);
            }
            assertThat(lb.getAllStats().metrics().activeConnections()).isEqualTo(2L * CALLS);

            // when: per call, the first attempt answers, the hedge gives its first token then
            // fails, and the caller cancels, in a shuffled order on many threads
            List<Runnable> work = new ArrayList<>();
            for (int i = 0; i < CALLS; i++) {
                ExecuteAsyncTest.Script script = scripts.get(i);
                CompletableFuture<String> answer = answers.get(i);
                work.add(() -> script.answer(0, "first"));
                work.add(() -> {
                    script.attempt(1).firstToken();
                    script.fail(1, new IllegalStateException("broken stream"));
                });
                work.add(() -> answer.cancel(true));
            }
            Collections.shuffle(work, new Random(42));
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int from = t;
                    done.add(pool.submit(() -> {
                        start.await();
                        for (int i = from; i < work.size(); i += THREADS) {
                            work.get(i).run();
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }

            // then
            long won = 0;
            long cancelledCalls = 0;
            long failedCalls = 0;
            for (int i = 0; i < CALLS; i++) {
                CompletableFuture<String> answer = answers.get(i);
                assertThat(answer).isDone();
                if (answer.isCancelled()) {
                    cancelledCalls++;
                } else if (answer.isCompletedExceptionally()) {
                    failedCalls++;
                } else {
                    won++;
                }
                ExecuteAsyncTest.Script script = scripts.get(i);
                for (int a = 0; a < 2; a++) {
                    assertThat(script.attempt(a).lease().isOpen()).isFalse();
                    assertThat(script.cancels(a)).isBetween(0, 1);
                    assertThat(script.cancels(a) == 1).isEqualTo(script.attempt(a).isCancelled());
                }
            }
            assertThat(won + cancelledCalls + failedCalls).isEqualTo(CALLS);
            LoadBalancerMetrics m = lb.getAllStats().metrics();
            assertThat(m.activeConnections()).isZero();
            assertThat(m.totalRequests()).isEqualTo(2L * CALLS);
            assertThat(m.hedges()).isEqualTo(CALLS);
            assertThat(m.successes() + m.failures() + m.cancelledAttempts()).isEqualTo(2L * CALLS);
            // An answer that wins a moment before its caller cancels is still its backend's success.
            assertThat(m.successes()).as("one success per call answered, or cancelled as it was")
                    .isBetween(won, won + cancelledCalls);
            assertThat(scheduler.pendingTasks()).isZero();
        }
    }
}
