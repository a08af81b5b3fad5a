package dev.ailb;

import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the backends report about their load: recording a report with the time it arrived, the
 * outcome of a load poll, and saturation, judged from the reports still fresh.
 *
 * <p>A backend holds its last report in one volatile field, replaced whole, so a reader sees one
 * report or the next, never a mix. Thread-safe.
 */
final class LoadReports {
    private static final Logger log = LoggerFactory.getLogger(LoadReports.class);

    private final String name;
    private final Ticker ticker;
    private final BalancerSettings.Saturation saturation;
    private final CandidateFilter filter;

    LoadReports(String name, Ticker ticker, BalancerSettings.Saturation saturation, CandidateFilter filter) {
        this.name = name;
        this.ticker = ticker;
        this.saturation = saturation;
        this.filter = filter;
    }

    /**
     * Records a report, stamped now; see {@link LoadBalancer#updateBackendResources(String, LoadReport)}.
     * The report also moves the backend's estimate of the adapters it holds, and whether it is
     * saturated ({@link ResidentAdapters}); when that changes an adapter's tier there, the view is republished, since the candidates are
     * tiered by it ({@link Subsets}). The estimate is replaced by compare-and-set, so two reports
     * recorded at once each move it once.
     */
    void record(Backend backend, LoadReport report) {
        TimedLoadReport timed = new TimedLoadReport(report, ticker.read());
        backend.setLoadReport(timed);
        boolean saturated = saturates(timed, timed.reportedAtNanos());
        AtomicReference<ResidentAdapters> resident = backend.resident();
        ResidentAdapters before;
        ResidentAdapters after;
        do {
            before = resident.get();
            after = before.next(report, saturated);
        } while (before != after && !resident.compareAndSet(before, after));
        if (after.tiersDiffer(before)) {
            filter.adaptersChanged(backend);
        }
    }

    /**
     * Applies the end of a load poll: records the report, or logs why there is none (at WARN when a
     * backend's polls start failing, at DEBUG while they go on failing, at INFO when they work again).
     */
    void onPoll(Backend backend, LoadReport report, Throwable error) {
        if (error == null) {
            if (!backend.isRemoved()) {
                record(backend, report);
            }
            if (backend.loadProblem != null) {
                backend.loadProblem = null;
                log.info("{} - Backend {}: load reports are read again", name, backend.id());
            }
            return;
        }
        Throwable cause = error instanceof CompletionException && error.getCause() != null
                ? error.getCause() : error;
        String reason = cause.getMessage() != null ? cause.getMessage() : cause.toString();
        if (backend.loadProblem == null) {
            log.warn("{} - Backend {}: load report rejected: {}; its last good report is used until it is too old",
                    name, backend.id(), reason);
        } else {
            log.debug("{} - Backend {}: load report rejected again: {}", name, backend.id(), reason);
        }
        backend.loadProblem = reason;
    }

    /** See {@link LoadBalancer#isSaturated()}: stops at the first backend with room. */
    boolean allSaturated(List<Backend> available) {
        long now = ticker.read();
        for (Backend b : available) {
            if (!isSaturated(b, now)) {
                return false;
            }
        }
        return true;
    }

    /** See {@link LoadBalancer#isSaturated(Backend)}. */
    boolean isSaturated(Backend backend) {
        return isSaturated(backend, ticker.read());
    }

    private boolean isSaturated(Backend backend, long now) {
        TimedLoadReport report = backend.lastReport();
        return report != null && saturates(report, now);
    }

    /** Whether a report, read at {@code now}, is fresh and says its backend is saturated. */
    boolean saturates(TimedLoadReport report, long now) {
        return saysSaturated(report) && isFresh(report, now);
    }

    /**
     * Whether a report says its backend is saturated, whatever its age. Asked before
     * {@link #isFresh}, so that a pick reads the clock only for the rare report that says so.
     */
    boolean saysSaturated(TimedLoadReport report) {
        LoadReport load = report.load();
        return (load.hasWaitingRequests() && load.waitingRequests() >= saturation.waitingRequests())
                || (load.hasKvCacheUsage() && load.kvCacheUsage() >= saturation.kvCacheUsage());
    }

    /** Whether a report, read at {@code now}, is young enough to judge saturation by. */
    boolean isFresh(TimedLoadReport report, long now) {
        return report.ageNanos(now) <= saturation.maxAgeNanos();
    }
}
