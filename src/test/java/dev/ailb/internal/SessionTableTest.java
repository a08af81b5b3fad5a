package dev.ailb.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ailb.internal.SessionTable.Cause;
import dev.ailb.internal.SessionTable.Outcome;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SessionTableTest {
    private static final long TIMEOUT = 1_000;

    private final List<Event> events = new ArrayList<>();

    private SessionTable<String> recordingTable(int maxSessions) {
        return new SessionTable<>(maxSessions, TIMEOUT, (id, value, cause) -> events.add(new Event(id, value, cause)));
    }

    @Test
    void getReturnsTheBoundValueAndPutRebindsReportingTheOldValueAsReplaced() {
        SessionTable<String> table = recordingTable(10);

        table.put("s1", "b1", 0);
        table.put("s2", "b2", 0);
        assertThat(table.get("s1", 1)).isEqualTo("b1");
        assertThat(table.get("unknown", 1)).isNull();

        table.put("s1", "b3", 2);
        table.put("s2", "b2", 2);

        assertThat(table.get("s1", 3)).isEqualTo("b3");
        assertThat(table.get("s2", 3)).isEqualTo("b2");
        assertThat(table.size()).isEqualTo(2);
        assertThat(events).containsExactly(
                new Event("s1", "b1", Cause.REPLACED), new Event("s2", "b2", Cause.REPLACED));
    }

    @Test
    void bindKeepsABindingTheCallerAcceptsAndReplacesOneItDoesNot() {
        SessionTable<String> table = recordingTable(10);

        assertThat(table.bind("s", "b1", v -> true, 0)).as("bound").isEqualTo(binding(Outcome.NEW, null));
        assertThat(table.bind("s", "b2", v -> true, 1)).as("kept").isEqualTo(binding(Outcome.KEPT, "b1"));
        assertThat(table.bind("s", "b1", v -> true, 1)).as("kept, though equal to the new value")
                .isEqualTo(binding(Outcome.KEPT, "b1"));
        assertThat(table.get("s", 2)).isEqualTo("b1");
        assertThat(events).isEmpty();

        assertThat(table.bind("s", "b3", "b2"::equals, 3)).as("replaced").isEqualTo(binding(Outcome.REBOUND, null));
        assertThat(table.get("s", 4)).isEqualTo("b3");
        assertThat(events).containsExactly(new Event("s", "b1", Cause.REPLACED));

        table.get("s", 4);
        assertThat(table.bind("s", "b4", v -> true, 4 + TIMEOUT)).as("an expired binding is never kept")
                .isEqualTo(binding(Outcome.NEW, null));
        assertThat(table.get("s", 5 + TIMEOUT)).isEqualTo("b4");
        assertThat(events).endsWith(new Event("s", "b3", Cause.EXPIRED));
        assertThat(table.size()).isEqualTo(1);
    }

    @Test
    void getAndPutRefreshTheIdleClock() {
        SessionTable<String> table = recordingTable(10);
        table.put("s", "b", 0);

        assertThat(table.get("s", TIMEOUT - 1)).isEqualTo("b");
        assertThat(table.get("s", 2 * TIMEOUT - 2)).isEqualTo("b");
        table.put("s", "b", 3 * TIMEOUT - 3);
        assertThat(table.get("s", 4 * TIMEOUT - 4)).isEqualTo("b");

        assertThat(table.get("s", 5 * TIMEOUT - 4)).isNull();
        assertThat(events).endsWith(new Event("s", "b", Cause.EXPIRED));
        assertThat(table.size()).isZero();
    }

    @Test
    void aSessionLivesUntilOneNanosecondBeforeTheIdleTimeoutAndIsGoneAtIt() {
        SessionTable<String> table = recordingTable(10);
        table.put("early", "b1", 0);
        table.put("late", "b2", 0);

        assertThat(table.get("early", TIMEOUT - 1)).isEqualTo("b1");
        assertThat(table.get("late", TIMEOUT)).isNull();

        assertThat(events).containsExactly(new Event("late", "b2", Cause.EXPIRED));
        assertThat(table.expire(2 * TIMEOUT - 2)).isZero();
        assertThat(table.expire(2 * TIMEOUT - 1)).isOne();
        assertThat(table.size()).isZero();
    }

    @Test
    void timesAreComparedByDifferenceSoTheTickerMayBeNegativeOrWrap() {
        SessionTable<String> table = recordingTable(10);
        long start = Long.MAX_VALUE - 5;
        table.put("s", "b", start);

        assertThat(table.get("s", start + TIMEOUT - 1)).isEqualTo("b");
        assertThat(table.expire(start + 2 * TIMEOUT - 2)).isZero();
        assertThat(table.expire(start + 2 * TIMEOUT - 1)).isOne();

        table.put("n", "b", Long.MIN_VALUE);
        assertThat(table.get("n", Long.MIN_VALUE + TIMEOUT - 1)).isEqualTo("b");
    }

    @Test
    void evictsTheLeastRecentlyUsedSessionAndKeepsTheOnesTouchedSince() {
        SessionTable<String> table = recordingTable(3);
        assertThat(table.segmentCount()).isOne();
        table.put("a", "b1", 0);
        table.put("b", "b2", 1);
        table.put("c", "b3", 2);
        table.get("a", 3);

        table.put("d", "b4", 4);
        table.put("b", "b2", 5);
        table.put("e", "b5", 6);

        assertThat(events).containsExactly(
                new Event("b", "b2", Cause.EVICTED),
                new Event("c", "b3", Cause.EVICTED),
                new Event("a", "b1", Cause.EVICTED));
        assertThat(table.size()).isEqualTo(3);
        assertThat(table.get("d", 7)).isEqualTo("b4");
        assertThat(table.get("b", 7)).isEqualTo("b2");
        assertThat(table.get("e", 7)).isEqualTo("b5");
    }

    /**
     * Hits take no lock and leave the list as it was; the walk of an eviction or an expiry puts
     * the touched entries in their place. Evictions and expiries must still follow the order of
     * last access exactly, late readings included.
     */
    @Test
    void hitsWithoutTheLockStillEvictAndExpireInOrderOfLastAccess() {
        SessionTable<String> table = recordingTable(5);
        assertThat(table.segmentCount()).isOne();
        for (int i = 0; i < 5; i++) {
            table.put("s" + i, "b" + i, i); // list order s0..s4
        }
        assertThat(table.get("s3", 10)).isEqualTo("b3");
        assertThat(table.get("s0", 11)).isEqualTo("b0");
        assertThat(table.get("s1", 12)).isEqualTo("b1");
        assertThat(table.get("s0", 9)).as("a late reading changes nothing").isEqualTo("b0");
        // order of last access: s2 (2), s4 (4), s3 (10), s0 (11), s1 (12)

        table.put("n1", "x", 13);
        table.put("n2", "x", 14);
        table.put("n3", "x", 15);
        assertThat(events).containsExactly(
                new Event("s2", "b2", Cause.EVICTED),
                new Event("s4", "b4", Cause.EVICTED),
                new Event("s3", "b3", Cause.EVICTED));
        events.clear();

        // s0 (11) and s1 (12) sit behind n1..n3 (13..15) now; a hit on s0 moves it last again
        assertThat(table.get("s0", 16)).isEqualTo("b0");
        // at 12 + TIMEOUT, s1 has been idle for the timeout; nothing else has
        assertThat(table.expire(12 + TIMEOUT)).isOne();
        assertThat(events).containsExactly(new Event("s1", "b1", Cause.EXPIRED));
        events.clear();
        // n1..n3 expire next, in order, then s0 last
        assertThat(table.expire(15 + TIMEOUT)).isEqualTo(3);
        assertThat(events).extracting(Event::id).containsExactly("n1", "n2", "n3");
        assertThat(table.get("s0", 15 + TIMEOUT)).isEqualTo("b0");
        assertThat(table.size()).isOne();
    }

    @Test
    void putDropsExpiredSessionsBeforeEvictingLiveOnes() {
        SessionTable<String> table = recordingTable(3);
        table.put("old1", "b1", 0);
        table.put("old2", "b2", 1);
        table.put("live", "b3", TIMEOUT);

        table.put("new", "b4", TIMEOUT + 1);

        assertThat(events).containsExactly(
                new Event("old1", "b1", Cause.EXPIRED), new Event("old2", "b2", Cause.EXPIRED));
        assertThat(table.size()).isEqualTo(2);
        assertThat(table.get("live", TIMEOUT + 2)).isEqualTo("b3");
    }

    @Test
    void rebindingAnExpiredSessionReportsItAsExpiredNotReplaced() {
        SessionTable<String> table = recordingTable(3);
        table.put("s", "b1", 0);

        table.put("s", "b2", TIMEOUT);

        assertThat(events).containsExactly(new Event("s", "b1", Cause.EXPIRED));
        assertThat(table.get("s", TIMEOUT)).isEqualTo("b2");
    }

    @Test
    void aReadingThatArrivesLateCountsAsTheLatestSoExpireNeverLeavesAnExpiredSessionBehind() {
        SessionTable<String> table = recordingTable(3);
        table.put("a", "b1", 10);
        // Another thread read the ticker earlier but took the lock later.
        table.put("b", "b2", 5);

        assertThat(table.expire(TIMEOUT + 5)).isZero();

        assertThat(table.get("b", TIMEOUT + 5)).isEqualTo("b2");
        assertThat(table.get("a", TIMEOUT + 5)).isEqualTo("b1");
        assertThat(events).isEmpty();
    }

    @Test
    void expireDropsOnlyIdleSessionsAndCountsThem() {
        SessionTable<String> table = recordingTable(10_000);
        for (int i = 0; i < 1_000; i++) {
            table.put("s" + i, "b", i);
        }

        // Idle for >= TIMEOUT at 1_500: last used at 0..500.
        assertThat(table.expire(1_500)).isEqualTo(501);

        assertThat(events).hasSize(501).allMatch(e -> e.cause() == Cause.EXPIRED
                && Integer.parseInt(e.id().substring(1)) <= 500);
        assertThat(table.size()).isEqualTo(499);
        for (int i = 501; i < 1_000; i++) {
            assertThat(table.get("s" + i, 1_500)).isEqualTo("b");
        }
        assertThat(table.expire(1_500)).isZero();
    }

    @Test
    void removeTakesASessionAwayOnlyWhenItIsBoundToTheExpectedValue() {
        SessionTable<String> table = recordingTable(10);
        table.put("s", "b1", 0);

        assertThat(table.remove("s", "b2")).isFalse();
        assertThat(table.remove("other", "b1")).isFalse();
        assertThat(table.get("s", 1)).isEqualTo("b1");
        assertThat(table.remove("s", new String("b1"))).isTrue();

        assertThat(table.get("s", 2)).isNull();
        assertThat(events).containsExactly(new Event("s", "b1", Cause.EXPLICIT));
    }

    @Test
    void removeIfDropsEverySessionOfAMatchingValueAndCountsThem() {
        SessionTable<String> table = recordingTable(1_000);
        for (int i = 0; i < 300; i++) {
            table.put("s" + i, "b" + (i % 3), i);
        }

        int removed = table.removeIf("b1"::equals);

        assertThat(removed).isEqualTo(100);
        assertThat(events).hasSize(100).allMatch(e -> e.value().equals("b1") && e.cause() == Cause.EXPLICIT);
        assertThat(table.size()).isEqualTo(200);
        assertThat(table.get("s1", 300)).isNull();
        assertThat(table.get("s2", 300)).isEqualTo("b2");
    }

    @Test
    void unbindIfWithdrawsAValueAndKeepsItsSessionsSoThatTheirNextBindingIsARebind() {
        // given
        SessionTable<String> table = recordingTable(10);
        table.put("s1", "b1", 0);
        table.put("s2", "b1", 0);
        table.put("s3", "b2", 0);

        // when
        int unbound = table.unbindIf("b1"::equals);

        // then: the value is reported once per session, and the sessions stay, unbound
        assertThat(unbound).isEqualTo(2);
        assertThat(events).containsExactlyInAnyOrder(
                new Event("s1", "b1", Cause.UNBOUND), new Event("s2", "b1", Cause.UNBOUND));
        assertThat(table.size()).isEqualTo(3);
        assertThat(table.boundSize()).isOne();
        assertThat(table.get("s1", 1)).isNull();
        assertThat(table.unbindIf("b1"::equals)).isZero();
        assertThat(table.removeIf(v -> true)).as("only s3 is still bound").isOne();
        events.clear();

        // and: binding them again is a rebind, which reports nothing and asks no keep
        assertThat(table.bind("s1", "b3", v -> true, 2)).isEqualTo(binding(Outcome.REBOUND, null));
        assertThat(table.bind("s4", "b3", v -> true, 2)).isEqualTo(binding(Outcome.NEW, null));
        assertThat(table.get("s1", 3)).isEqualTo("b3");
        assertThat(events).isEmpty();
        assertThat(table.size()).as("s1, s2 (still unbound) and s4").isEqualTo(3);
        assertThat(table.boundSize()).isEqualTo(2);
    }

    @Test
    void anUnboundSessionHoldsNoValueAndLeavesWithoutAReport() {
        // given: a full table of two, one of its sessions unbound
        SessionTable<String> table = recordingTable(2);
        table.put("a", "b1", 0);
        table.put("b", "b2", 1);
        assertThat(table.unbind("a", "b2")).as("bound to another value").isFalse();
        assertThat(table.unbind("a", new String("b1"))).isTrue();
        assertThat(table.unbind("a", "b1")).as("already unbound").isFalse();
        assertThat(table.remove("a", "b1")).as("an unbound session has no value to remove").isFalse();
        events.clear();

        // when: a third session evicts it, and the other one expires
        table.put("c", "b3", 2);
        table.expire(1 + TIMEOUT);

        // then: only the bound value is reported
        assertThat(events).containsExactly(new Event("b", "b2", Cause.EXPIRED));
        assertThat(table.size()).isOne();
        assertThat(table.boundSize()).isOne();
        assertThat(table.bind("a", "b1", v -> true, 3)).as("forgotten").isEqualTo(binding(Outcome.NEW, null));
    }

    @Test
    void aGetOfAnUnboundSessionKeepsItFromExpiring() {
        SessionTable<String> table = recordingTable(10);
        table.put("s", "b1", 0);
        table.unbindIf(v -> true);

        assertThat(table.get("s", TIMEOUT - 1)).isNull();

        assertThat(table.expire(2 * TIMEOUT - 2)).isZero();
        assertThat(table.bind("s", "b2", v -> true, 2 * TIMEOUT - 2)).isEqualTo(binding(Outcome.REBOUND, null));
    }

    @Test
    void theSegmentsSharesAddUpToMaxSessions() {
        int[][] sizesAndSegments = {
            {1, 1}, {3, 1}, {127, 1}, {128, 2}, {1_000, 8}, {1_001, 8}, {1_024, 16}, {5_003, 16}
        };
        for (int[] row : sizesAndSegments) {
            int max = row[0];
            SessionTable<String> table = new SessionTable<>(max, TIMEOUT, (id, value, cause) -> { });
            for (int i = 0; i < 30 * max + 100; i++) {
                table.put("s" + i, "b", 0);
            }
            assertThat(table.segmentCount()).as("segments for %d", max).isEqualTo(row[1]);
            assertThat(table.size()).as("size for %d", max).isEqualTo(max);
        }
    }

    @Test
    void aFloodOfDistinctSessionIdsKeepsTheTableAtItsBound() {
        int[] evicted = new int[1];
        SessionTable<String> table = new SessionTable<>(10_000, Long.MAX_VALUE, (id, value, cause) -> {
            if (cause == Cause.EVICTED) {
                evicted[0]++;
            }
        });

        for (int i = 0; i < 1_000_000; i++) {
            table.put("flood-" + i, "b", i);
            if (i % 1_000 == 0) {
                assertThat(table.size()).isLessThanOrEqualTo(10_000);
            }
        }

        assertThat(table.size()).isEqualTo(10_000);
        assertThat(evicted[0]).isEqualTo(1_000_000 - 10_000);
        // Count what the segments' lists really hold, not just the size counters.
        int[] retained = new int[1];
        assertThat(table.removeIf(v -> {
            retained[0]++;
            return false;
        })).isZero();
        assertThat(retained[0]).isEqualTo(10_000);
        assertThat(table.get("flood-0", 1_000_000)).isNull();
        assertThat(table.get("flood-999999", 1_000_000)).isEqualTo("b");
    }

    @Test
    void randomOperationsMatchAReferenceModelAndTheListenerAccountsForEveryValue() {
        int max = 50;
        Map<String, Integer> counts = new HashMap<>();
        SessionTable<String> table = new SessionTable<>(max, TIMEOUT, (id, value, cause) -> {
            events.add(new Event(id, value, cause));
            counts.merge(value, -1, Integer::sum);
        });
        assertThat(table.segmentCount()).isOne();
        Model model = new Model(max, TIMEOUT);
        Random random = new Random(42);
        long now = -5_000;

        for (int op = 0; op < 100_000; op++) {
            now += random.nextInt(100) == 0 ? TIMEOUT : random.nextInt(20);
            String id = "s" + random.nextInt(80);
            String value = "b" + random.nextInt(5);
            events.clear();
            model.events.clear();
            int kind = random.nextInt(100);
            if (kind < 45) {
                assertThat(table.get(id, now)).as("get at op %d", op).isEqualTo(model.get(id, now));
            } else if (kind < 70) {
                counts.merge(value, 1, Integer::sum);
                table.put(id, value, now);
                model.put(id, value, now);
            } else if (kind < 85) {
                counts.merge(value, 1, Integer::sum);
                assertThat(table.bind(id, value, v -> false, now).outcome()).as("bind at op %d", op)
                        .isEqualTo(model.put(id, value, now));
            } else if (kind < 90) {
                assertThat(table.remove(id, value)).as("remove at op %d", op).isEqualTo(model.remove(id, value));
            } else if (kind < 91) {
                assertThat(table.removeIf(value::equals)).as("removeIf at op %d", op)
                        .isEqualTo(model.removeIf(value));
            } else if (kind < 92) {
                assertThat(table.unbindIf(value::equals)).as("unbindIf at op %d", op)
                        .isEqualTo(model.unbindIf(value));
            } else if (kind < 93) {
                assertThat(table.unbind(id, value)).as("unbind at op %d", op).isEqualTo(model.unbind(id, value));
            } else {
                assertThat(table.expire(now)).as("expire at op %d", op).isEqualTo(model.expire(now));
            }
            assertThat(events).as("events at op %d", op).containsExactlyInAnyOrderElementsOf(model.events);
            assertThat(table.size()).as("size at op %d", op).isEqualTo(model.entries.size());
            assertThat(table.boundSize()).as("bound size at op %d", op).isEqualTo(model.contents().values().stream()
                    .mapToInt(Integer::intValue).sum());
            if (op % 10_000 == 0) {
                assertCountsEqualContents(counts, table, model);
            }
        }
        assertCountsEqualContents(counts, table, model);
    }

    private static void assertCountsEqualContents(
            Map<String, Integer> counts, SessionTable<String> table, Model model) {
        Map<String, Integer> contents = new HashMap<>();
        table.removeIf(v -> {
            contents.merge(v, 1, Integer::sum);
            return false;
        });
        Map<String, Integer> nonZeroCounts = new HashMap<>(counts);
        nonZeroCounts.values().removeIf(c -> c == 0);
        assertThat(nonZeroCounts).isEqualTo(contents).isEqualTo(model.contents());
    }

    @Test
    void concurrentOperationsKeepTheBoundAndReportEveryValueExactlyOnce() throws Exception {
        int threads = 8;
        int opsPerThread = 200_000;
        int max = 1_000;
        int backends = 8;
        AtomicIntegerArray counts = new AtomicIntegerArray(backends);
        AtomicBoolean negativeCount = new AtomicBoolean();
        AtomicBoolean overBound = new AtomicBoolean();
        SessionTable<Integer> table = new SessionTable<>(max, 50_000, (id, value, cause) -> {
            if (counts.decrementAndGet(value) < 0) {
                negativeCount.set(true);
            }
        });
        assertThat(table.segmentCount()).isEqualTo(8);
        AtomicLong ticker = new AtomicLong(Long.MAX_VALUE - 500_000);
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Random random = new Random(1_000 + t);
                workers.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < opsPerThread; i++) {
                        String id = "s" + random.nextInt(4 * max);
                        int value = random.nextInt(backends);
                        int kind = random.nextInt(1_000);
                        if (kind < 500) {
                            table.get(id, ticker.incrementAndGet());
                        } else if (kind < 850) {
                            // Counted before the put, so a concurrent removal can never drive it negative.
                            counts.incrementAndGet(value);
                            table.put(id, value, ticker.incrementAndGet());
                            if (table.size() > max) {
                                overBound.set(true);
                            }
                        } else if (kind < 945) {
                            table.remove(id, value);
                        } else if (kind < 995) {
                            table.expire(ticker.incrementAndGet());
                        } else {
                            table.removeIf(v -> v == value);
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> worker : workers) {
                worker.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(negativeCount).isFalse();
        assertThat(overBound).isFalse();
        assertThat(table.size()).isBetween(1, max);
        int[] contents = new int[backends];
        table.removeIf(v -> {
            contents[v]++;
            return false;
        });
        int total = 0;
        for (int b = 0; b < backends; b++) {
            assertThat(counts.get(b)).as("sessions of backend %d", b).isEqualTo(contents[b]);
            total += contents[b];
        }
        assertThat(total).isEqualTo(table.size());
        assertThat(table.removeIf(v -> true)).isEqualTo(total);
        for (int b = 0; b < backends; b++) {
            assertThat(counts.get(b)).isZero();
        }
    }

    @Test
    void concurrentBindingAndUnbindingReportEveryValueExactlyOnce() throws Exception {
        int threads = 8;
        int opsPerThread = 100_000;
        int max = 1_000;
        int backends = 8;
        AtomicIntegerArray counts = new AtomicIntegerArray(backends);
        AtomicBoolean negativeCount = new AtomicBoolean();
        AtomicBoolean overBound = new AtomicBoolean();
        SessionTable<Integer> table = new SessionTable<>(max, 50_000, (id, value, cause) -> {
            if (counts.decrementAndGet(value) < 0) {
                negativeCount.set(true);
            }
        });
        AtomicLong ticker = new AtomicLong(Long.MAX_VALUE - 500_000);
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Random random = new Random(2_000 + t);
                workers.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < opsPerThread; i++) {
                        String id = "s" + random.nextInt(4 * max);
                        int value = random.nextInt(backends);
                        int kind = random.nextInt(1_000);
                        if (kind < 400) {
                            table.get(id, ticker.incrementAndGet());
                        } else if (kind < 850) {
                            counts.incrementAndGet(value);
                            SessionTable.Binding<Integer> made =
                                    table.bind(id, value, v -> v % 2 == 0, ticker.incrementAndGet());
                            if (made.outcome() == Outcome.KEPT) {
                                counts.decrementAndGet(value); // not bound after all
                            }
                            if (table.size() > max) {
                                overBound.set(true);
                            }
                        } else if (kind < 950) {
                            table.unbind(id, value);
                        } else if (kind < 995) {
                            table.expire(ticker.incrementAndGet());
                        } else {
                            table.unbindIf(v -> v == value);
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> worker : workers) {
                worker.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(negativeCount).isFalse();
        assertThat(overBound).isFalse();
        int[] contents = new int[backends];
        table.removeIf(v -> {
            contents[v]++;
            return false;
        });
        for (int b = 0; b < backends; b++) {
            assertThat(counts.get(b)).as("sessions bound to %d", b).isEqualTo(contents[b]);
        }
        assertThat(table.boundSize()).isEqualTo(Arrays.stream(contents).sum());
        assertThat(table.unbindIf(v -> true)).isEqualTo(Arrays.stream(contents).sum());
        for (int b = 0; b < backends; b++) {
            assertThat(counts.get(b)).isZero();
        }
    }

    @Test
    void aThrowingListenerLeavesTheTableConsistent() {
        SessionTable<String> table = new SessionTable<>(2, TIMEOUT, (id, value, cause) -> {
            throw new IllegalStateException("listener bug");
        });
        table.put("a", "b", 0);
        table.put("b", "b", 1);

        table.put("c", "b", 2);

        assertThat(table.size()).isEqualTo(2);
        assertThat(table.get("a", 3)).isNull();
        assertThat(table.get("c", 3)).isEqualTo("b");
    }

    @Test
    void rejectsBadArgumentsNamingTheParameterAndLeavesTheTableUntouched() {
        SessionTable.RemovalListener<String> ignore = (id, value, cause) -> { };
        assertThatThrownBy(() -> new SessionTable<>(0, TIMEOUT, ignore))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxSessions: 0 (expected: >= 1)");
        assertThatThrownBy(() -> new SessionTable<>(10, 0, ignore))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("idleTimeoutNanos: 0 (expected: > 0)");
        assertThatThrownBy(() -> new SessionTable<>(10, -1, ignore))
                .hasMessage("idleTimeoutNanos: -1 (expected: > 0)");
        assertThatThrownBy(() -> new SessionTable<String>(10, TIMEOUT, null))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("listener: null (expected: non-null)");

        SessionTable<String> table = recordingTable(10);
        table.put("s", "b", 0);
        assertThatThrownBy(() -> table.put(null, "b", 1)).hasMessage("sessionId: null (expected: non-null)");
        assertThatThrownBy(() -> table.put("s", null, 1)).hasMessage("value: null (expected: non-null)");
        assertThatThrownBy(() -> table.get(null, 1)).hasMessage("sessionId: null (expected: non-null)");
        assertThatThrownBy(() -> table.remove("s", null)).hasMessage("expected: null (expected: non-null)");
        assertThatThrownBy(() -> table.removeIf(null)).hasMessage("stale: null (expected: non-null)");
        assertThatThrownBy(() -> table.unbindIf(null)).hasMessage("stale: null (expected: non-null)");
        assertThatThrownBy(() -> table.unbind("s", null)).hasMessage("expected: null (expected: non-null)");
        assertThatThrownBy(() -> table.unbind(null, "b")).hasMessage("sessionId: null (expected: non-null)");
        assertThat(table.get("s", 1)).isEqualTo("b");
        assertThat(events).isEmpty();
    }

    private record Event(String id, String value, Cause cause) {}

    private static SessionTable.Binding<String> binding(Outcome outcome, String kept) {
        return new SessionTable.Binding<>(outcome, kept);
    }

    /**
     * The specification written the plain way: a map of entries, each with its last access time,
     * a use counter and its value (null once unbound); eviction scans for the smallest counter.
     * Single segment only.
     */
    private static final class Model {
        private final int max;
        private final long timeout;
        private final Map<String, Entry> entries = new HashMap<>();
        private final List<Event> events = new ArrayList<>();
        private long uses;

        Model(int max, long timeout) {
            this.max = max;
            this.timeout = timeout;
        }

        String get(String id, long now) {
            Entry e = entries.get(id);
            if (e == null) {
                return null;
            }
            if (now - e.lastAccess >= timeout) {
                drop(id, Cause.EXPIRED);
                return null;
            }
            e.lastAccess = now;
            e.lastUse = ++uses;
            return e.value;
        }

        Outcome put(String id, String value, long now) {
            expire(now);
            Entry e = entries.get(id);
            if (e != null) {
                if (e.value != null) {
                    events.add(new Event(id, e.value, Cause.REPLACED));
                }
            } else if (entries.size() == max) {
                String eldest = null;
                for (Map.Entry<String, Entry> candidate : entries.entrySet()) {
                    if (eldest == null || candidate.getValue().lastUse < entries.get(eldest).lastUse) {
                        eldest = candidate.getKey();
                    }
                }
                drop(eldest, Cause.EVICTED);
            }
            Entry fresh = new Entry();
            fresh.value = value;
            fresh.lastAccess = now;
            fresh.lastUse = ++uses;
            entries.put(id, fresh);
            return e != null ? Outcome.REBOUND : Outcome.NEW;
        }

        boolean remove(String id, String expected) {
            Entry e = entries.get(id);
            if (e == null || !expected.equals(e.value)) {
                return false;
            }
            drop(id, Cause.EXPLICIT);
            return true;
        }

        int removeIf(String value) {
            List<String> ids = new ArrayList<>();
            entries.forEach((id, e) -> {
                if (value.equals(e.value)) {
                    ids.add(id);
                }
            });
            ids.forEach(id -> drop(id, Cause.EXPLICIT));
            return ids.size();
        }

        boolean unbind(String id, String expected) {
            Entry e = entries.get(id);
            if (e == null || !expected.equals(e.value)) {
                return false;
            }
            events.add(new Event(id, e.value, Cause.UNBOUND));
            e.value = null;
            return true;
        }

        int unbindIf(String value) {
            List<String> ids = new ArrayList<>();
            entries.forEach((id, e) -> {
                if (value.equals(e.value)) {
                    ids.add(id);
                }
            });
            ids.forEach(id -> unbind(id, value));
            return ids.size();
        }

        int expire(long now) {
            List<String> ids = new ArrayList<>();
            entries.forEach((id, e) -> {
                if (now - e.lastAccess >= timeout) {
                    ids.add(id);
                }
            });
            ids.forEach(id -> drop(id, Cause.EXPIRED));
            return ids.size();
        }

        Map<String, Integer> contents() {
            Map<String, Integer> contents = new HashMap<>();
            entries.values().stream().filter(e -> e.value != null)
                    .forEach(e -> contents.merge(e.value, 1, Integer::sum));
            return contents;
        }

        private void drop(String id, Cause cause) {
            String value = entries.remove(id).value;
            if (value != null) {
                events.add(new Event(id, value, cause));
            }
        }

        private static final class Entry {
            String value;
            long lastAccess;
            long lastUse;
        }
    }
}
