package dev.ailb.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RetryBudgetTest {
    private static final long SECOND = 1_000_000_000L;
    private static final long WINDOW = 10 * SECOND;
    private static final long T0 = 42 * SECOND;

    @Test
    void twentyPercentOfAHundredRequestsAllowsExactlyTwentyRetries() {
        // given
        RetryBudget budget = new RetryBudget(0.2, 0, WINDOW);
        recordRequests(budget, 100, T0);

        // when
        int allowed = withdrawAll(budget, T0);

        // then
        assertThat(allowed).isEqualTo(20);
        assertThat(budget.tryWithdraw(T0)).isFalse();
        assertThat(budget.retriesAllowed()).isEqualTo(20);
        assertThat(budget.retriesRefused()).isEqualTo(2);
        assertThat(budget.balance(T0)).isZero();
    }

    @Test
    void balanceCountsDownAsRetriesAreTaken() {
        RetryBudget budget = new RetryBudget(0.2, 0, WINDOW);
        recordRequests(budget, 100, T0);

        assertThat(budget.balance(T0)).isEqualTo(20);
        budget.tryWithdraw(T0);
        budget.tryWithdraw(T0);
        assertThat(budget.balance(T0)).isEqualTo(18);
    }

    @Test
    void laterRequestsRaiseTheAllowanceAgain() {
        // given an exhausted budget
        RetryBudget budget = new RetryBudget(0.2, 0, WINDOW);
        recordRequests(budget, 100, T0);
        withdrawAll(budget, T0);

        // when 50 more requests arrive a second later
        recordRequests(budget, 50, T0 + SECOND);

        // then 20% of them can be retried
        assertThat(budget.balance(T0 + SECOND)).isEqualTo(10);
        assertThat(withdrawAll(budget, T0 + SECOND)).isEqualTo(10);
    }

    @Test
    void requestsAgeOutOfTheWindowAndTheAllowanceFallsBackToTheReserve() {
        // given
        RetryBudget budget = new RetryBudget(0.2, 1, WINDOW);
        recordRequests(budget, 100, T0);

        // then: counted until the window has passed, then only the reserve of 1/s x 10 s is left
        assertThat(budget.balance(T0 + WINDOW - 1)).isEqualTo(20 + 10);
        assertThat(budget.balance(T0 + WINDOW)).isEqualTo(10);
        assertThat(withdrawAll(budget, T0 + WINDOW)).isEqualTo(10);
    }

    @Test
    void retriesStillInTheWindowKeepCountingAfterTheirRequestsAgeOut() {
        // given 20 retries taken halfway through the window
        RetryBudget budget = new RetryBudget(0.2, 0, WINDOW);
        recordRequests(budget, 100, T0);
        assertThat(withdrawAll(budget, T0 + 5 * SECOND)).isEqualTo(20);

        // when the requests have aged out but the retries have not
        recordRequests(budget, 50, T0 + WINDOW);

        // then the new credit first pays for the old retries, and the balance never shows a debt
        assertThat(budget.balance(T0 + WINDOW)).isZero();
        assertThat(budget.tryWithdraw(T0 + WINDOW)).isFalse();
        assertThat(budget.balance(T0 + 5 * SECOND + WINDOW)).isEqualTo(10);
    }

    @Test
    void theReserveAllowsMinRetriesPerSecondTimesTheWindowWithoutAnyRequest() {
        // given
        RetryBudget budget = new RetryBudget(0.2, 10, WINDOW);

        // then
        assertThat(budget.balance(T0)).isEqualTo(100);
        assertThat(withdrawAll(budget, T0)).isEqualTo(100);

        // and the reserve is whole again once those retries have aged out
        assertThat(budget.balance(T0 + WINDOW - 1)).isZero();
        assertThat(withdrawAll(budget, T0 + WINDOW)).isEqualTo(100);
    }

    @Test
    void theReserveCountsPartialSecondsOfTheWindow() {
        RetryBudget budget = new RetryBudget(0.0, 10, 1_500_000_000L);

        assertThat(budget.balance(T0)).isEqualTo(15);
    }

    @Test
    void zeroPercentAndNoReserveNeverAllowsARetry() {
        // given
        RetryBudget budget = new RetryBudget(0.0, 0, WINDOW);
        recordRequests(budget, 1000, T0);

        // when
        int allowed = 0;
        for (int i = 0; i < 50; i++) {
            allowed += budget.tryWithdraw(T0 + i * SECOND) ? 1 : 0;
        }

        // then
        assertThat(allowed).isZero();
        assertThat(budget.retriesAllowed()).isZero();
        assertThat(budget.retriesRefused()).isEqualTo(50);
        assertThat(budget.balance(T0)).isZero();
    }

    @Test
    void aTickerThatOverflowsIsHandledBySubtraction() {
        // given readings that wrap from Long.MAX_VALUE to Long.MIN_VALUE in the middle of the window
        long start = Long.MAX_VALUE - SECOND / 2;
        RetryBudget budget = new RetryBudget(0.2, 0, WINDOW);
        recordRequests(budget, 100, start);

        // then the requests are still counted after the wrap, and age out a window after they came
        assertThat(budget.balance(start + SECOND)).isEqualTo(20);
        assertThat(budget.balance(start + WINDOW - 1)).isEqualTo(20);
        assertThat(budget.balance(start + WINDOW)).isZero();
    }

    @Test
    void concurrentRetriesNeverExceedTheBudgetAndEveryDecisionIsCounted() throws Exception {
        // given 8 threads, all within one slot period, each recording requests and asking for retries
        int threads = 8;
        int requestsPerThread = 10_000;
        int attemptsPerThread = 5_000;
        RetryBudget budget = new RetryBudget(0.2, 1, WINDOW);
        long reserve = 10;

        // when
        List<Integer> perThread = runConcurrently(threads, () -> {
            int allowed = 0;
            for (int i = 0; i < requestsPerThread; i++) {
                budget.recordRequest(T0);
                if (i % 2 == 0) {
                    allowed += budget.tryWithdraw(T0) ? 1 : 0;
                }
            }
            return allowed;
        });

        // then
        long limit = threads * requestsPerThread / 5 + reserve;
        long allowed = perThread.stream().mapToLong(Integer::longValue).sum();
        assertThat(allowed).isEqualTo(budget.retriesAllowed()).isLessThanOrEqualTo(limit);
        assertThat(allowed + budget.retriesRefused()).isEqualTo((long) threads * attemptsPerThread);
        // no retry was lost or counted twice: what is left is exactly what was not taken
        assertThat(budget.balance(T0)).isEqualTo(limit - allowed);
        assertThat(allowed + withdrawAll(budget, T0)).isEqualTo(limit);
    }

    @Test
    void racingForTheLastRetriesNeverOverdrawsTheBudget() throws Exception {
        // given many small budgets of 3 retries (20% of 10, plus 1 in reserve), so races for the last are frequent
        int threads = 8;
        int rounds = 1000;
        long limit = 3;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < rounds; round++) {
                RetryBudget budget = new RetryBudget(0.2, 1, SECOND);
                recordRequests(budget, 10, T0);

                // when 8 threads each ask for 2 retries at once
                List<Integer> perThread = runConcurrently(pool, threads, () -> {
                    int allowed = 0;
                    for (int i = 0; i < 2; i++) {
                        allowed += budget.tryWithdraw(T0) ? 1 : 0;
                    }
                    return allowed;
                });

                // then
                long allowed = perThread.stream().mapToLong(Integer::longValue).sum();
                assertThat(allowed).as("round %d", round).isLessThanOrEqualTo(limit);
                assertThat(budget.retriesAllowed() + budget.retriesRefused()).isEqualTo(threads * 2L);
                assertThat(budget.balance(T0)).isEqualTo(limit - allowed);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void rejectsArgumentsOutOfRange() {
        assertThatThrownBy(() -> new RetryBudget(-0.1, 0, WINDOW))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("percentCanRetry: -0.1 (expected: 0.0..1.0)");
        assertThatThrownBy(() -> new RetryBudget(1.5, 0, WINDOW))
                .hasMessage("percentCanRetry: 1.5 (expected: 0.0..1.0)");
        assertThatThrownBy(() -> new RetryBudget(Double.NaN, 0, WINDOW))
                .hasMessage("percentCanRetry: NaN (expected: 0.0..1.0)");
        assertThatThrownBy(() -> new RetryBudget(0.2, -1, WINDOW))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("minRetriesPerSecond: -1 (expected: >= 0)");
        assertThatThrownBy(() -> new RetryBudget(0.2, 10, SECOND - 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("windowNanos: 999999999 (expected: 1000000000..3600000000000)");
        assertThatThrownBy(() -> new RetryBudget(0.2, 10, 3600 * SECOND + 1))
                .hasMessage("windowNanos: 3600000000001 (expected: 1000000000..3600000000000)");
    }

    @Test
    void acceptsTheEdgesOfEachRange() {
        assertThat(new RetryBudget(0.0, 0, SECOND).balance(T0)).isZero();
        RetryBudget widest = new RetryBudget(1.0, Integer.MAX_VALUE, 3600 * SECOND);
        assertThat(widest.balance(T0)).isEqualTo(Integer.MAX_VALUE * 3600L);
    }

    private static void recordRequests(RetryBudget budget, int count, long nowNanos) {
        for (int i = 0; i < count; i++) {
            budget.recordRequest(nowNanos);
        }
    }

    /** Withdraws until refused and returns how many were allowed. */
    private static int withdrawAll(RetryBudget budget, long nowNanos) {
        int allowed = 0;
        while (budget.tryWithdraw(nowNanos)) {
            allowed++;
        }
        return allowed;
    }

    private interface Work {
        int run();
    }

    private static List<Integer> runConcurrently(int threads, Work work) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            return runConcurrently(pool, threads, work);
        } finally {
            pool.shutdownNow();
        }
    }

    /** Runs {@code work} on {@code threads} threads released together by a start gate. */
    private static List<Integer> runConcurrently(ExecutorService pool, int threads, Work work) throws Exception {
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch startGate = new CountDownLatch(1);
        List<Future<Integer>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            futures.add(pool.submit(() -> {
                ready.countDown();
                startGate.await();
                return work.run();
            }));
        }
        // Open the gate only when every thread waits at it, so that they really start together.
        ready.await();
        startGate.countDown();
        List<Integer> results = new ArrayList<>();
        for (Future<Integer> future : futures) {
            results.add(future.get(30, TimeUnit.SECONDS));
        }
        return results;
    }

    @Test
    void fivePercentOfAHundredRequestsAllowsExactlyFiveHedges() {
        // given
        RetryBudget budget = new RetryBudget(0.2, 0, 0.05, 0, WINDOW);
        recordRequests(budget, 100, T0);

        // when
        int hedges = 0;
        while (budget.tryWithdrawHedge(T0)) {
            hedges++;
        }

        // then
        assertThat(hedges).isEqualTo(5);
        assertThat(budget.hedgesAllowed()).isEqualTo(5);
        assertThat(budget.hedgesRefused()).isEqualTo(1);
        assertThat(budget.retriesRefused()).isZero();
        assertThat(budget.balance(T0)).as("retries left: 20 less the 5 hedges").isEqualTo(15);
    }

    @Test
    void hedgesAndRetriesShareTheRetryLimit() {
        // given: room for 20 extra attempts, 10 of which may be hedges
        RetryBudget budget = new RetryBudget(0.2, 0, 0.1, 0, WINDOW);
        recordRequests(budget, 100, T0);

        // when: 15 retries first
        for (int i = 0; i < 15; i++) {
            assertThat(budget.tryWithdraw(T0)).isTrue();
        }
        int hedges = 0;
        while (budget.tryWithdrawHedge(T0)) {
            hedges++;
        }

        // then: the hedges get only the 5 the retries left, not their own 10
        assertThat(hedges).isEqualTo(5);
        assertThat(budget.tryWithdraw(T0)).isFalse();
        assertThat(budget.retriesAllowed() + budget.hedgesAllowed()).isEqualTo(20);
    }

    @Test
    void aBudgetWithoutHedgeShareRefusesEveryHedge() {
        RetryBudget budget = new RetryBudget(0.2, 10, WINDOW);
        recordRequests(budget, 1000, T0);

        assertThat(budget.tryWithdrawHedge(T0)).isFalse();
        assertThat(budget.hedgesRefused()).isEqualTo(1);
        assertThat(budget.balance(T0)).isEqualTo(300);
    }

    @Test
    void hedgeReserveAllowsHedgesWithoutTraffic() {
        RetryBudget budget = new RetryBudget(0.2, 10, 0.05, 1, WINDOW);

        int hedges = 0;
        while (budget.tryWithdrawHedge(T0)) {
            hedges++;
        }

        assertThat(hedges).as("one per second of the 10 s window").isEqualTo(10);
    }

    @Test
    void rejectsAHedgeShareOutOfRange() {
        assertThatThrownBy(() -> new RetryBudget(0.2, 0, 1.5, 0, WINDOW))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("percentCanHedge: 1.5 (expected: 0.0..1.0)");
        assertThatThrownBy(() -> new RetryBudget(0.2, 0, 0.05, -1, WINDOW))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("minHedgesPerSecond: -1 (expected: >= 0)");
    }
}
