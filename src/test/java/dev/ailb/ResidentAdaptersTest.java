package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The estimate of the adapters a backend holds: what a report lists is resident and the most
 * recent, what was resident before stays, least recently listed evicted first, up to the report's
 * maximum; no maximum keeps only what is listed; another maximum starts again.
 */
class ResidentAdaptersTest {

    private static LoadReport report(List<String> running, List<String> waiting, int max) {
        LoadReport.Builder report = LoadReport.builder().waitingRequests(0).runningAdapters(running)
                .waitingAdapters(waiting);
        return (max == LoadReport.UNKNOWN_COUNT ? report : report.maxAdapters(max)).build();
    }

    private static ResidentAdapters after(LoadReport... reports) {
        ResidentAdapters estimate = ResidentAdapters.none();
        for (LoadReport r : reports) {
            estimate = estimate.next(r, false);
        }
        return estimate;
    }

    @Test
    void aBackendNoReportSpokeOfHoldsNothingAndHasNoKnownFreeSlot() {
        ResidentAdapters none = ResidentAdapters.none();

        assertThat(none.adapters()).isEmpty();
        assertThat(none.hasFreeSlot()).isFalse();
        assertThat(none.tier("sql")).isEqualTo(2);
    }

    @Test
    void theListedAdaptersAreResidentRunningBeforeWaiting() {
        ResidentAdapters estimate = after(report(List.of("a", "b"), List.of("c"), 4));

        assertThat(estimate.adapters()).containsExactly("a", "b", "c");
        assertThat(estimate.max()).isEqualTo(4);
        assertThat(estimate.tier("b")).isZero();
        assertThat(estimate.tier("d")).isEqualTo(1);
    }

    @Test
    void anAdapterWhoseRequestsFinishedStaysResidentWhileTheSlotsAllowIt() {
        ResidentAdapters estimate = after(report(List.of("a"), List.of(), 2), report(List.of(), List.of(), 2));

        assertThat(estimate.adapters()).containsExactly("a");
        assertThat(estimate.tier("a")).isZero();
        assertThat(estimate.tier("b")).isEqualTo(1);
    }

    @Test
    void theLeastRecentlyListedAdapterGoesWhenANewOneNeedsItsSlot() {
        ResidentAdapters estimate = after(
                report(List.of("a"), List.of(), 2),
                report(List.of("b"), List.of(), 2),
                report(List.of("a"), List.of(), 2), // a is now more recent than b
                report(List.of("c"), List.of(), 2));

        assertThat(estimate.adapters()).containsExactly("c", "a");
        assertThat(estimate.tier("b")).isEqualTo(2);
        assertThat(estimate.hasFreeSlot()).isFalse();
    }

    @Test
    void moreListedThanSlotsKeepsEveryListedOneAndNothingOlder() {
        ResidentAdapters estimate = after(report(List.of("old"), List.of(), 2),
                report(List.of("a", "b"), List.of("c"), 2));

        assertThat(estimate.adapters()).containsExactly("a", "b", "c");
        assertThat(estimate.hasFreeSlot()).isFalse();
    }

    @Test
    void withoutAMaximumOnlyTheListedAdaptersAreKept() {
        ResidentAdapters estimate = after(report(List.of("a"), List.of(), LoadReport.UNKNOWN_COUNT),
                report(List.of("b"), List.of(), LoadReport.UNKNOWN_COUNT));

        assertThat(estimate.adapters()).containsExactly("b");
        assertThat(estimate.hasFreeSlot()).isFalse();
        assertThat(after(report(List.of("a"), List.of(), 2), LoadReport.builder().waitingRequests(1).build()))
                .isSameAs(ResidentAdapters.none());
    }

    @Test
    void anotherMaximumStartsAgainFromWhatTheReportLists() {
        ResidentAdapters estimate = after(report(List.of("a"), List.of(), 2), report(List.of("b"), List.of(), 4));

        assertThat(estimate.adapters()).containsExactly("b");
        assertThat(estimate.max()).isEqualTo(4);
    }

    @Test
    void noSlotsMeansNoFreeSlot() {
        assertThat(after(report(List.of(), List.of(), 0)).hasFreeSlot()).isFalse();
    }

    @Test
    void aReportThatChangesNothingKeepsTheSameEstimate() {
        ResidentAdapters estimate = after(report(List.of("a"), List.of(), 2));

        assertThat(estimate.next(report(List.of(), List.of(), 2), false)).isSameAs(estimate);
    }

    @Test
    void onlyWhatMovesATierCountsAsAChange() {
        ResidentAdapters ab = after(report(List.of("a", "b"), List.of(), 3));
        ResidentAdapters ba = after(report(List.of("b", "a"), List.of(), 3));
        ResidentAdapters abFull = after(report(List.of("a", "b"), List.of(), 2));
        ResidentAdapters ac = after(report(List.of("a", "c"), List.of(), 3));

        assertThat(ab.tiersDiffer(ba)).isFalse();
        assertThat(ab.tiersDiffer(abFull)).isTrue();
        assertThat(ab.tiersDiffer(ac)).isTrue();
        assertThat(ab.tiersDiffer(ResidentAdapters.none())).isTrue();
    }

    @Test
    void theSameReportsGiveEqualEstimates() {
        LoadReport[] reports = {report(List.of("a"), List.of("b"), 3), report(List.of("c"), List.of(), 3),
            report(List.of("d"), List.of(), 3)};

        assertThat(after(reports).adapters()).isEqualTo(after(reports).adapters()).containsExactly("d", "c", "a");
    }

    @Test
    void aSaturatedBackendIsOneTierLower() {
        ResidentAdapters estimate = ResidentAdapters.none().next(report(List.of("a"), List.of(), 2), true);

        assertThat(estimate.saturated()).isTrue();
        assertThat(estimate.tier("a")).isEqualTo(1);
        assertThat(estimate.tier("b")).isEqualTo(2);
        assertThat(ResidentAdapters.none().next(report(List.of("a", "b"), List.of(), 2), true).tier("c")).isEqualTo(2);
    }

    @Test
    void saturationCountsAsAChangeOnlyWhereItMovesATier() {
        ResidentAdapters idle = after(report(List.of("a"), List.of(), 2));
        ResidentAdapters busy = idle.next(report(List.of(), List.of(), 2), true);
        LoadReport noAdapters = LoadReport.builder().waitingRequests(0).build();

        assertThat(busy.adapters()).containsExactly("a");
        assertThat(idle.tiersDiffer(busy)).isTrue();
        assertThat(ResidentAdapters.none().next(noAdapters, true).tiersDiffer(ResidentAdapters.none())).isFalse();
    }
}
