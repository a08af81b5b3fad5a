package dev.ailb.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A simulated instance with a prefix cache: what a request's prefill costs, and when. */
class InstanceTest {
    private static final int BLOCK = 16;
    /** 1 ms per prompt token, 10 ms per output token, at batch size 1. */
    private static final Instance.TokenCosts COSTS = new Instance.TokenCosts(0.001, 0.01);

    private static Prompt prompt(int base, int length) {
        Prompt.Builder b = new Prompt.Builder(BLOCK);
        for (int i = 0; i < length; i++) {
            b.append(base + i);
        }
        return b.build();
    }

    private static Instance instance(int maxBatch, double batchPenalty) {
        return new Instance("i1", maxBatch, 1.0, batchPenalty, new PrefixCache(10_000, BLOCK), COSTS);
    }

    /** Fires the instance's milestones until nothing runs; returns the jobs in the order they ended. */
    private static List<Instance.Job> drain(Instance inst) {
        List<Instance.Job> ended = new ArrayList<>();
        for (double at = inst.nextCompletion(); at != Double.POSITIVE_INFINITY; at = inst.nextCompletion()) {
            ended.addAll(inst.complete(at));
        }
        return ended;
    }

    @Test
    void theFirstTokenComesWhenThePrefillOfTheUncachedTokensIsDone() {
        Instance inst = instance(4, 0);
        Instance.Job cold = inst.admit("cold", 0, prompt(1, 200), 50);

        assertThat(inst.nextCompletion()).isCloseTo(0.2, within(1e-9));
        drain(inst);
        assertThat(cold.cachedTokens()).isZero();
        assertThat(cold.firstTokenAt()).isCloseTo(0.2, within(1e-9));

        Instance.Job warm = inst.admit("warm", 1.0, prompt(1, 230), 50);
        List<Instance.Job> ended = drain(inst);

        assertThat(warm.cachedTokens()).isEqualTo(192); // 12 blocks of the first prompt's 200 tokens
        assertThat(warm.firstTokenAt()).isCloseTo(1.0 + 0.038, within(1e-9));
        assertThat(ended).containsExactly(warm);
        assertThat(inst.nextCompletion()).isEqualTo(Double.POSITIVE_INFINITY);
    }

    @Test
    void aRequestFindsWhatIsCachedWhenItsPrefillStartsNotWhenItArrives() {
        Instance oneSlot = instance(1, 0);
        oneSlot.admit("first", 0, prompt(1, 200), 10);
        Instance.Job queued = oneSlot.admit("second", 0, prompt(1, 200), 10);
        Instance twoSlots = instance(2, 0);
        twoSlots.admit("first", 0, prompt(1, 200), 10);
        Instance.Job beside = twoSlots.admit("second", 0, prompt(1, 200), 10);

        drain(oneSlot);
        drain(twoSlots);

        // waiting, it started after the first had stored the prompt; beside it, before
        assertThat(queued.cachedTokens()).isEqualTo(192);
        assertThat(queued.firstTokenAt()).isCloseTo(0.2 + 0.1 + 0.008, within(1e-9));
        assertThat(beside.cachedTokens()).isZero();
    }

    @Test
    void aFullerBatchSlowsThePrefillToo() {
        Instance inst = instance(4, 0.5);
        inst.admit("a", 0, prompt(1, 100), 100);
        Instance.Job b = inst.admit("b", 0, prompt(1_000, 100), 100);

        drain(inst);

        assertThat(b.firstTokenAt()).isCloseTo(0.1 * 1.5, within(1e-9));
    }

    @Test
    void theOracleEstimateIsThePrefillWhileASlotIsFree() {
        Instance inst = instance(2, 0.5);
        inst.admit("a", 0, prompt(1, 100), 100);
        drain(inst);
        inst.admit("b", 2.0, prompt(5_000, 100), 100);

        // the second slot is free: the batch would be two, each at 1 / 1.5
        assertThat(inst.estimatedTimeToFirstToken(prompt(1, 150), 2.0)).isCloseTo((150 - 96) * 0.001 * 1.5,
                within(1e-9));
        assertThat(inst.estimatedTimeToFirstToken(prompt(9_000, 150), 2.0)).isCloseTo(150 * 0.001 * 1.5,
                within(1e-9));
    }

    @Test
    void theOracleEstimateWaitsForTheFirstSlotFreeAfterTheWaitingRequests() {
        Instance inst = instance(2, 0);
        inst.admit("a", 0, prompt(1, 100), 100); // work 0.1 + 1.0
        inst.admit("b", 0, prompt(1_000, 100), 200); // work 0.1 + 2.0
        inst.admit("c", 0, prompt(2_000, 100), 50); // waits; work 0.1 + 0.5

        // at 0.5: a has 0.6 left, b 1.6; c takes a's slot at 1.1 and frees it at 1.7
        assertThat(inst.estimatedTimeToFirstToken(prompt(3_000, 20), 0.5)).isCloseTo(1.2 + 0.02, within(1e-9));
    }
}
