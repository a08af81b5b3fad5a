package dev.ailb.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The per-backend prefix index: LRU with the longest prefix out first, bounded, and safe to read while written. */
class PrefixIndexTest {

    private static long[] prompt(long... hashes) {
        return hashes;
    }

    private static void record(PrefixIndex index, long... hashes) {
        index.record(hashes, hashes.length, new long[hashes.length]);
    }

    @Test
    void aMatchIsTheRunOfLeadingHashesHeld() {
        PrefixIndex index = new PrefixIndex(100);
        record(index, 1, 2, 3);

        assertThat(index.match(prompt(1, 2, 3, 4), 4)).isEqualTo(3);
        assertThat(index.match(prompt(1, 2, 9, 4), 4)).isEqualTo(2);
        assertThat(index.match(prompt(9, 2, 3), 3)).isZero();
        assertThat(index.match(prompt(1, 2, 3, 4), 2)).as("only the first count are looked at").isEqualTo(2);
        assertThat(index.size()).isEqualTo(3);
    }

    @Test
    void evictionTakesTheLongestPrefixOfTheOldestPromptFirst() {
        PrefixIndex index = new PrefixIndex(5);
        record(index, 1, 2, 3);   // stamps: 3 oldest, then 2, then 1
        record(index, 7, 8);      // full
        record(index, 20);        // evicts 3

        assertThat(index.match(prompt(1, 2, 3), 3)).isEqualTo(2);
        record(index, 21);        // evicts 2
        assertThat(index.match(prompt(1, 2, 3), 3)).isEqualTo(1);
        assertThat(index.size()).isEqualTo(5);
    }

    @Test
    void recordingGivesTheOldStampsAndRefreshesTheWholePrompt() {
        PrefixIndex index = new PrefixIndex(10);
        record(index, 1, 2);
        long[] old = new long[3];

        index.record(prompt(1, 2, 3), 3, old);

        assertThat(old[2]).isEqualTo(-1);
        assertThat(old[0]).isGreaterThan(old[1]).as("the first block was recorded last").isPositive();
        // Dropping what is at least as old as block 0 was before takes every entry older than this
        // second recording, and none of it.
        assertThat(index.evictNotNewerThan(old[0])).isZero();
        assertThat(index.match(prompt(1, 2, 3), 3)).isEqualTo(3);
    }

    @Test
    void theOldStampsAreThoseBeforeThePromptsOwnInsertionsEvictedAnything() {
        PrefixIndex index = new PrefixIndex(4);
        record(index, 1, 2);
        record(index, 50, 51);
        long[] old = new long[5];

        // Inserting 3, 4 and 5 evicts 2 and 1 on the way, but they were held when the call began.
        index.record(prompt(1, 2, 3, 4, 5), 5, old);

        assertThat(old[0]).isPositive();
        assertThat(old[1]).isPositive();
        assertThat(old[2]).isEqualTo(-1);
        assertThat(index.size()).isEqualTo(4);
    }

    @Test
    void evictingByAgeDropsTheOldEntriesOnly() {
        PrefixIndex index = new PrefixIndex(10);
        record(index, 1, 2);
        record(index, 5, 6);
        long[] old = new long[2];
        index.record(prompt(5, 6), 2, old); // stamps of 5 and 6 before: newer than 1 and 2

        // Entries at least as old as block 6 was: 1, 2 and nothing of the re-recorded prompt.
        assertThat(index.evictNotNewerThan(old[1])).isEqualTo(2);
        assertThat(index.match(prompt(1), 1)).isZero();
        assertThat(index.match(prompt(5, 6), 2)).isEqualTo(2);
    }

    @Test
    void refreshMovesHeldHashesUpAndAddsNone() {
        PrefixIndex index = new PrefixIndex(3);
        record(index, 1, 2);
        record(index, 7);
        index.refresh(prompt(1, 2, 99), 3);
        record(index, 8); // evicts the least recent: 7

        assertThat(index.size()).isEqualTo(3);
        assertThat(index.match(prompt(1, 2), 2)).isEqualTo(2);
        assertThat(index.match(prompt(7), 1)).isZero();
        assertThat(index.match(prompt(99), 1)).isZero();
    }

    @Test
    void resizingDownDropsTheLeastRecent() {
        PrefixIndex index = new PrefixIndex(10);
        record(index, 1, 2, 3, 4, 5);

        index.resize(2);

        assertThat(index.size()).isEqualTo(2);
        assertThat(index.maxEntries()).isEqualTo(2);
        assertThat(index.match(prompt(1, 2, 3), 3)).isEqualTo(2);
    }

    @Test
    void aBadBoundIsRefusedByName() {
        assertThatThrownBy(() -> new PrefixIndex(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxEntries: 0 (expected: 1..16777216)");
        PrefixIndex index = new PrefixIndex(4);
        record(index, 1, 2);
        assertThatThrownBy(() -> index.resize(PrefixIndex.MAX_ENTRIES + 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxEntries: 16777217 (expected: 1..16777216)");
        assertThat(index.size()).isEqualTo(2);
        assertThat(index.maxEntries()).isEqualTo(4);
    }

    @Test
    void itAgreesWithAReferenceLruUnderRandomUse() {
        SplittableRandom random = new SplittableRandom(7);
        for (int round = 0; round < 20; round++) {
            int bound = 1 + random.nextInt(64);
            PrefixIndex index = new PrefixIndex(bound);
            LinkedHashMap<Long, Boolean> reference = new LinkedHashMap<>(16, 0.75f, true);
            for (int step = 0; step < 3_000; step++) {
                int length = 1 + random.nextInt(6);
                long[] hashes = new long[length];
                for (int i = 0; i < length; i++) {
                    hashes[i] = random.nextInt(200) - 100; // small keys: many collisions of slots
                }
                int op = random.nextInt(10);
                if (op < 6) {
                    record(index, hashes);
                    for (int i = length - 1; i >= 0; i--) {
                        reference.put(hashes[i], Boolean.TRUE);
                        if (reference.size() > bound) {
                            Long eldest = reference.keySet().iterator().next();
                            reference.remove(eldest);
                        }
                    }
                } else if (op < 8) {
                    index.refresh(hashes, length);
                    for (int i = length - 1; i >= 0; i--) {
                        reference.get(hashes[i]);
                    }
                } else {
                    int expected = 0;
                    while (expected < length && reference.containsKey(hashes[expected])) {
                        expected++;
                    }
                    assertThat(index.match(hashes, length)).isEqualTo(expected);
                }
                assertThat(index.size()).isEqualTo(reference.size());
            }
            for (Long key : reference.keySet()) {
                assertThat(index.match(new long[] {key}, 1)).isEqualTo(1);
            }
        }
    }

    @Test
    void itsMemoryGrowsWithWhatItHoldsAndStaysBounded() {
        PrefixIndex index = new PrefixIndex(8192);
        long empty = index.retainedBytes();
        long[] hashes = new long[8192 * 2];
        for (int i = 0; i < hashes.length; i++) {
            hashes[i] = i * 0x9E3779B97F4A7C15L;
        }

        index.record(hashes, hashes.length, new long[hashes.length]);

        assertThat(empty).isLessThan(1_000);
        assertThat(index.size()).isEqualTo(8192);
        assertThat(index.retainedBytes()).as("at most 32 bytes per entry, plus headers")
                .isLessThanOrEqualTo(8192L * 32 + 200);
    }

    @Test
    void readersNeverFailWhileWritersGrowEvictAndResize() throws Exception {
        PrefixIndex index = new PrefixIndex(512);
        long[] stable = {11, 12, 13};
        record(index, stable);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            threads.add(new Thread(() -> {
                try {
                    start.await();
                    while (!stop.get()) {
                        int m = index.match(stable, 3);
                        if (m < 0 || m > 3) {
                            throw new AssertionError("match " + m);
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        threads.add(new Thread(() -> {
            try {
                start.await();
                SplittableRandom random = new SplittableRandom(1);
                for (int i = 0; i < 20_000; i++) {
                    long[] h = {random.nextLong(), random.nextLong(), random.nextLong()};
                    record(index, h);
                    if (i % 1000 == 0) {
                        index.resize(64 + random.nextInt(1024));
                    }
                    if (i % 777 == 0) {
                        index.evictNotNewerThan(i);
                    }
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            } finally {
                stop.set(true);
            }
        }));
        threads.forEach(Thread::start);
        start.countDown();
        for (Thread t : threads) {
            t.join(60_000);
        }

        assertThat(failure.get()).isNull();
        assertThat(index.size()).isLessThanOrEqualTo(index.maxEntries());
    }

    @Test
    void manyKeysCollidingOnOneSlotAreAllFoundAndRemoved() {
        PrefixIndex index = new PrefixIndex(64);
        Map<Long, Boolean> keys = new LinkedHashMap<>();
        // Keys whose spread is equal: the same low 32 bits xor high 32 bits.
        for (long i = 0; i < 40; i++) {
            long key = (i << 32) | i;
            keys.put(key, true);
            record(index, key);
        }
        for (long key : keys.keySet()) {
            assertThat(index.match(new long[] {key}, 1)).isEqualTo(1);
        }
        index.resize(10);
        int held = 0;
        for (long key : keys.keySet()) {
            held += index.match(new long[] {key}, 1);
        }
        assertThat(held).isEqualTo(10);
    }
}
