package dev.ailb.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A simulated instance serving LoRA adapters in a few slots, and requests timed to their first
 * token and cancelled.
 */
class InstanceAdapterTest {

    /** Fires the instance's milestones until nothing runs; returns the jobs in the order they ended. */
    private static List<Instance.Job> drain(Instance inst) {
        List<Instance.Job> ended = new ArrayList<>();
        for (double at = inst.nextCompletion(); at != Double.POSITIVE_INFINITY; at = inst.nextCompletion()) {
            ended.addAll(inst.complete(at));
        }
        return ended;
    }

    @Test
    void aColdAdapterStallsTheWholeBatchWhileItLoads() {
        Instance inst = new Instance("i1", 4, 1.0, 0, 2, 0.5);
        Instance.Job base = inst.admit("base", 0, 0.1, 1.0, null);
        Instance.Job cold = inst.admit("cold", 0.2, 0.1, 1.0, "sql");

        drain(inst);

        // the base request had 0.9 left at 0.2, then waited for the load until 0.7
        assertThat(base.loadedItsAdapter()).isFalse();
        assertThat(cold.loadedItsAdapter()).isTrue();
        assertThat(cold.firstTokenAt()).isCloseTo(0.8, within(1e-9));
        assertThat(inst.adapterLoads()).isEqualTo(1);

        Instance.Job warm = inst.admit("warm", 5.0, 0.1, 1.0, "sql");
        drain(inst);
        assertThat(warm.loadedItsAdapter()).isFalse();
        assertThat(warm.firstTokenAt()).isCloseTo(5.1, within(1e-9));
        assertThat(inst.adapterLoads()).isEqualTo(1);
    }

    @Test
    void aRequestWhoseAdapterWouldExceedTheSlotsIsPassedOverForOneThatFits() {
        Instance inst = new Instance("i1", 4, 1.0, 0, 2, 0);
        inst.admit("a", 0, 0, 1.0, "a");
        inst.admit("b", 0, 0, 2.0, "b");
        Instance.Job c = inst.admit("c", 0, 0, 1.0, "c");
        Instance.Job a2 = inst.admit("a2", 0, 0, 1.0, "a");

        assertThat(inst.runningAdapters()).containsExactlyInAnyOrder("a", "b");
        assertThat(inst.waitingAdapters()).containsExactly("c");
        assertThat(a2.startedAt()).isZero();
        assertThat(c.startedAt()).isNaN();

        drain(inst);

        // c starts when the last request of a ends, in the slot a leaves
        assertThat(c.startedAt()).isCloseTo(1.0, within(1e-9));
        assertThat(inst.adapterLoads()).isEqualTo(3);
    }

    @Test
    void aLoadEvictsTheLeastRecentlyUsedAdapterThatNoRequestRuns() {
        Instance inst = new Instance("i1", 4, 1.0, 0, 2, 0);
        inst.admit("a", 0, 0, 1.0, "a");
        inst.admit("b", 0, 0, 1.0, "b");
        drain(inst);
        inst.admit("a again", 2, 0, 1.0, "a"); // a is now the most recently used
        drain(inst);
        inst.admit("c", 4, 0, 1.0, "c"); // evicts b
        drain(inst);
        assertThat(inst.adapterLoads()).isEqualTo(3);

        Instance.Job a = inst.admit("a once more", 6, 0, 1.0, "a");
        Instance.Job b = inst.admit("b again", 6, 0, 1.0, "b");
        drain(inst);

        assertThat(a.loadedItsAdapter()).isFalse();
        assertThat(b.loadedItsAdapter()).isTrue();
    }

    @Test
    void aCancelledRequestLeavesItsSlotToTheNextAndCountsTheWorkItGot() {
        Instance inst = new Instance("i1", 1, 1.0, 0, 0, 0);
        Instance.Job first = inst.admit("first", 0, 0.5, 2.0, null);
        Instance.Job second = inst.admit("second", 0, 0.5, 1.0, null);
        Instance.Job third = inst.admit("third", 0, 0.5, 1.0, null);

        assertThat(inst.cancel(third, 0.2)).isTrue();
        assertThat(inst.cancel(first, 1.0)).isTrue();
        assertThat(inst.cancel(first, 1.0)).isFalse();
        List<Instance.Job> ended = drain(inst);

        assertThat(first.workDone()).isCloseTo(1.0, within(1e-9));
        assertThat(third.workDone()).isZero();
        assertThat(ended).containsExactly(second);
        assertThat(second.firstTokenAt()).isCloseTo(1.5, within(1e-9));
        assertThat(second.workDone()).isCloseTo(1.5, within(1e-9));
    }

    @Test
    void theFirstTokensOfAStepAreListed() {
        Instance inst = new Instance("i1", 2, 1.0, 0, 0, 0);
        Instance.Job a = inst.admit("a", 0, 0.3, 1.0, null);

        assertThat(inst.nextCompletion()).isCloseTo(0.3, within(1e-9));
        assertThat(inst.complete(0.3)).isEmpty();
        assertThat(inst.firstTokens()).containsExactly(a);
        assertThat(inst.nextCompletion()).isCloseTo(1.3, within(1e-9));
        assertThat(inst.complete(1.3)).containsExactly(a);
        assertThat(inst.firstTokens()).isEmpty();
    }

    @Test
    void aStalledInstanceHoldsItsRequestsForTheStall() {
        Instance inst = new Instance("i1", 2, 1.0, 0, 0, 0);
        Instance.Job a = inst.admit("a", 0, 0.5, 1.0, null);

        inst.stall(0.2, 3.0);
        List<Instance.Job> ended = drain(inst);

        assertThat(a.firstTokenAt()).isCloseTo(3.5, within(1e-9));
        assertThat(ended).containsExactly(a);
        assertThat(inst.nextCompletion()).isEqualTo(Double.POSITIVE_INFINITY);
    }

    @Test
    void anInstanceWithoutSlotsRefusesAnAdapter() {
        Instance inst = new Instance("i1", 2, 1.0, 0, 0, 0);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> inst.admit("a", 0, 0.1, 1.0, "sql"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("sql");
    }
}
