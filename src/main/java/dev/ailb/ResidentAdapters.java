package dev.ailb;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * An estimate of the LoRA adapters one backend still holds in its adapter slots, most recently
 * seen first, updated by each of its load reports ({@link #next}).
 *
 * <h2>Why an estimate</h2>
 * vLLM's {@code vllm:lora_requests_info} lists only the adapters with requests running or waiting.
 * An adapter whose requests have finished stays loaded in its slot until a new adapter needs the
 * slot, when the server evicts the least recently used. A balancer that trusted the report alone
 * would forget the adapter as soon as its burst ended and send the next burst to a backend that
 * must load it again. So the adapters a report lists are resident and the most recent; those
 * resident before stay, in the order they were last listed, until more than the report's maximum
 * would be resident, when the least recently listed go, as the server itself would evict them.
 *
 * <h2>What resets it</h2>
 * A report without a maximum keeps only what it lists: with no slot count, nothing says how long an
 * idle adapter stays. A report whose maximum differs from the last one's starts again from what it
 * lists: the server was restarted with other settings, and a restarted server holds nothing. A
 * backend removed and added again is a new backend, whose estimate starts empty. A server restarted
 * with the same settings is not seen: its estimate keeps adapters it no longer holds until newer
 * ones push them out, which costs at most one load of each, the cost of routing without it.
 *
 * <h2>Saturation</h2>
 * It also keeps whether the last report said the backend was saturated
 * ({@link LoadReports#saturates}), which lowers its tier by one ({@link #tier}), so that a popular
 * adapter spreads to more backends when those holding it are full.
 *
 * <p>Only load reports move it, never picks: the views' tiers are built from it when a report
 * changes it ({@link LoadReports#record}), so a pick writes nothing here and never republishes. A
 * request routed here for an adapter shows in the next report as running or waiting, and from then
 * on the adapter is resident.
 *
 * <p>Immutable and thread-safe.
 */
final class ResidentAdapters {
    private static final ResidentAdapters NONE = new ResidentAdapters(new String[0], LoadReport.UNKNOWN_COUNT, false);

    /** The adapters resident, most recently listed first; never longer than max unless a report listed more. */
    private final String[] adapters;
    /** The slots of the last report, or {@link LoadReport#UNKNOWN_COUNT}. */
    private final int max;
    /** Whether the last report said the backend was saturated. */
    private final boolean saturated;

    private ResidentAdapters(String[] adapters, int max, boolean saturated) {
        this.adapters = adapters;
        this.max = max;
        this.saturated = saturated;
    }

    /** The estimate of a backend no report has spoken of: nothing resident, no maximum known. */
    static ResidentAdapters none() {
        return NONE;
    }

    /**
     * The estimate after a report: what it lists (running, then waiting), then what was resident
     * before and is not listed, most recent first, while fewer than the report's maximum are kept.
     * Pure: the same estimate and report always give equal results.
     *
     * @param saturated whether the report says the backend is saturated (see {@link #tier})
     */
    ResidentAdapters next(LoadReport report, boolean saturated) {
        Set<String> listed = new LinkedHashSet<>(report.runningAdapters());
        listed.addAll(report.waitingAdapters());
        int nextMax = report.maxAdapters();
        if (report.hasMaxAdapters() && nextMax == max) {
            for (String older : adapters) {
                if (listed.size() >= nextMax) {
                    break;
                }
                listed.add(older);
            }
        }
        if (listed.isEmpty() && nextMax == LoadReport.UNKNOWN_COUNT && !saturated) {
            return NONE;
        }
        String[] next = listed.toArray(new String[0]);
        if (nextMax == max && saturated == this.saturated && Arrays.equals(next, adapters)) {
            return this;
        }
        return new ResidentAdapters(next, nextMax, saturated);
    }

    /** Whether the adapter is held, by this estimate. */
    boolean holds(String adapter) {
        for (String a : adapters) {
            if (a.equals(adapter)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a known maximum leaves room for one more adapter without evicting one. */
    boolean hasFreeSlot() {
        return max != LoadReport.UNKNOWN_COUNT && adapters.length < max;
    }

    /**
     * How well the backend suits a request for an adapter: 0 if it holds it, 1 if it has a free
     * slot, 2 otherwise; but a saturated backend is one tier lower (1 if it holds it, 2 otherwise).
     * So a held adapter spills over to a backend with a free slot once every backend holding it is
     * saturated, and the adapter is then held in one more place; without that, the backends that
     * held an adapter first would take all of its requests however many there were.
     */
    int tier(String adapter) {
        int tier = holds(adapter) ? 0 : hasFreeSlot() ? 1 : 2;
        return saturated ? Math.min(2, tier + 1) : tier;
    }

    /**
     * Whether two estimates give some adapter a different tier: they hold other adapters, one has a
     * free slot and the other not, or one is saturated and the other not while either holds an
     * adapter or has a free slot. The order of recency alone changes no tier.
     */
    boolean tiersDiffer(ResidentAdapters other) {
        if (hasFreeSlot() != other.hasFreeSlot() || adapters.length != other.adapters.length) {
            return true;
        }
        if (saturated != other.saturated && (adapters.length > 0 || hasFreeSlot())) {
            return true;
        }
        for (String a : adapters) {
            if (!other.holds(a)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the last report said the backend was saturated. */
    boolean saturated() {
        return saturated;
    }

    /** The adapters held, most recently listed first. */
    List<String> adapters() {
        return List.of(adapters);
    }

    /** The slots of the last report, or {@link LoadReport#UNKNOWN_COUNT}. */
    int max() {
        return max;
    }

    @Override
    public String toString() {
        return "ResidentAdapters" + new ArrayList<>(Arrays.asList(adapters)) + " of " + (max < 0 ? "?" : max)
                + (saturated ? ", saturated" : "");
    }
}
