package dev.ailb;

import dev.ailb.health.HealthState;
import dev.ailb.internal.LatencyHistogram;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * A balancer's traffic figures: the requests it routed, rejected and retried, and their outcomes,
 * overall and per backend.
 *
 * <h2>The fold</h2>
 * The overall request, success and failure counts, response-time sum and histogram are the
 * registered backends' own figures plus those of the backends that left. A backend's figures are
 * foldable ({@code FoldableCounter}, {@code FoldableDoubleAdder}, {@link LatencyHistogram#fold()}):
 * when it leaves, {@link #fold} moves them into the departed figures here in one step per figure,
 * and a selection or completion that comes after that step learns it from the same atomic update
 * ({@link SelectionCount#recordSelection()}, {@link CompletionFigures#record}) and is counted here
 * instead ({@link #countSelection}, {@link #countLateCompletion}). So a selection updates one
 * count, on its backend, and a release each figure once, and nothing racing a departure is lost
 * or counted twice.
 *
 * <p>A fold moves figures from one side of the sum to the other, so a reader that overlaps it
 * could count a backend twice or not at all. {@link #departures} is odd while a fold is under way
 * (a sequence lock with one writer, the balancer's lock holder): {@link #consistently} repeats a
 * read that overlapped one.
 *
 * <p>Thread-safe; {@link #fold} is called under the balancer's lock.
 */
final class TrafficFigures {
    private final LongAdder departedRequests = new LongAdder();
    private final LongAdder departedSuccesses = new LongAdder();
    private final LongAdder departedFailures = new LongAdder();
    private final DoubleAdder departedResponseNanos = new DoubleAdder(); // see CompletionFigures.responseNanos
    private final LatencyHistogram departedHistogram = new LatencyHistogram();
    /** Odd while a departing backend's figures move here; written under the balancer's lock. */
    private volatile int departures;
    private final LongAdder rejected = new LongAdder();
    private final LongAdder panicSelections = new LongAdder();
    private final LongAdder retries = new LongAdder();
    private final LongAdder hedges = new LongAdder();
    private final LongAdder cancelled = new LongAdder();
    private final LongAdder firstTokenTimeouts = new LongAdder();
    private final LongAdder deadlinesExceeded = new LongAdder();

    /**
     * Counts a request routed to a backend from candidates in panic or not, here if the backend has
     * left meanwhile.
     */
    void countSelection(Backend backend, boolean panic) {
        if (!backend.recordSelection()) {
            departedRequests.increment(); // the backend left and its count was folded meanwhile
        }
        if (panic) {
            panicSelections.increment();
        }
    }

    /** Counts a selection that found no backend available. */
    void countRejection() {
        rejected.increment();
    }

    /** Counts an attempt made after a failed one. */
    void countRetry() {
        retries.increment();
    }

    /** Counts a hedge: a second attempt sent while the first still ran. */
    void countHedge() {
        hedges.increment();
    }

    /**
     * Counts an attempt abandoned without an outcome ({@link Lease#cancel()}): its connection was
     * given back, and it is neither a success nor a failure. Counted here only, never folded: a
     * backend keeps no figure of it.
     */
    void countCancelled() {
        cancelled.increment();
    }

    /** Counts an attempt abandoned because its first token did not come in time. */
    void countFirstTokenTimeout() {
        firstTokenTimeouts.increment();
    }

    /** Counts a call ended by its deadline. */
    void countDeadlineExceeded() {
        deadlinesExceeded.increment();
    }

    /**
     * Counts what a release recorded after its backend's fold: {@code late} is what
     * {@link Backend#recordCompletion} returned.
     */
    void countLateCompletion(int late, long responseTimeNanos, boolean success) {
        if ((late & CompletionFigures.LATE_COUNT) != 0) {
            (success ? departedSuccesses : departedFailures).increment();
        }
        if ((late & CompletionFigures.LATE_TIME) != 0) {
            departedResponseNanos.add(responseTimeNanos);
        }
        if ((late & CompletionFigures.LATE_HISTOGRAM) != 0) {
            departedHistogram.record(responseTimeNanos);
        }
    }

    /**
     * Folds a departing backend's figures into the departed ones, around {@code publish}, which
     * publishes the view without it: a reader sees either both or neither. Holds the balancer's lock.
     */
    void fold(Backend leaving, Runnable publish) {
        departures++; // a reader of the overall figures that overlaps this reads again
        publish.run();
        departedRequests.add(leaving.foldSelections());
        CompletionFigures.Folded folded = leaving.completions.fold();
        departedSuccesses.add(folded.successes());
        departedFailures.add(folded.failures());
        departedResponseNanos.add(folded.responseNanos());
        departedHistogram.recordAll(folded.histogram());
        departures++;
    }

    /** Runs {@code read} until it did not overlap a fold, and returns what it read. */
    <T> T consistently(Supplier<T> read) {
        for (;;) {
            int before = departures;
            if ((before & 1) == 0) {
                T value = read.get();
                if (departures == before) {
                    return value;
                }
            }
            Thread.onSpinWait();
        }
    }

    /**
     * The overall and per-backend figures of a view; call it through {@link #consistently}.
     *
     * @param sessions       the session routing, for its counts
     * @param boundSessions  the sessions bound now
     * @param retriesRefused the retries the budget refused
     * @param hedgesRefused  the hedges the budget refused
     * @param admission      the admission queue's figures
     */
    LoadBalancerStats statsOf(Registry view, long nowNanos, SessionRouting sessions, int boundSessions,
            long retriesRefused, long hedgesRefused, AdmissionStats admission) {
        List<BackendStats> perBackend = new ArrayList<>(view.all.size());
        List<LatencyHistogram.Snapshot> histograms = new ArrayList<>(view.all.size() + 1);
        histograms.add(departedHistogram.snapshot());
        long requests = departedRequests.sum();
        long ok = departedSuccesses.sum();
        long failed = departedFailures.sum();
        double responseNanos = departedResponseNanos.sum();
        long active = 0;
        int healthy = 0;
        int draining = 0;
        int ejected = 0;
        for (Backend b : view.all) {
            LatencyHistogram.Snapshot h = b.completions.histogramSnapshot();
            histograms.add(h);
            BackendStats s = statsOf(b, h, nowNanos);
            perBackend.add(s);
            requests += s.totalRequests();
            ok += s.successes();
            failed += s.failures();
            responseNanos += b.totalResponseNanos();
            active += s.activeConnections();
            if (s.healthy()) {
                healthy++;
            }
            if (s.draining()) {
                draining++;
            }
            if (s.health().state() == HealthState.EJECTED) {
                ejected++;
            }
        }
        LatencyHistogram.Snapshot h = LatencyHistogram.Snapshot.sum(histograms);
        LoadBalancerMetrics metrics = new LoadBalancerMetrics(
                requests, rejected.sum(), ok, failed, average(responseNanos, ok + failed),
                Duration.ofNanos(h.valueAt(0.50)), Duration.ofNanos(h.valueAt(0.95)),
                Duration.ofNanos(h.valueAt(0.99)), active, perBackend.size(), healthy, view.available.size(), draining,
                ejected, view.panic, panicSelections.sum(), retries.sum(), retriesRefused,
                boundSessions, sessions.hits.sum(), sessions.misses.sum(), sessions.rebinds.sum(),
                hedges.sum(), hedgesRefused, cancelled.sum(), firstTokenTimeouts.sum(), deadlinesExceeded.sum(), admission);
        return new LoadBalancerStats(view.strategy.name(), metrics, perBackend);
    }

    /** One backend's figures as of {@code nowNanos}. */
    static BackendStats statsOf(Backend b, long nowNanos) {
        return statsOf(b, b.completions.histogramSnapshot(), nowNanos);
    }

    private static BackendStats statsOf(Backend b, LatencyHistogram.Snapshot h, long nowNanos) {
        long ok = b.successes();
        long failed = b.failures();
        HealthState state = b.healthState();
        return new BackendStats(b.id(), b.host(), b.port(), b.weight(), state == HealthState.HEALTHY,
                b.isDraining(), b.isInMaintenance(), b.activeConnections(), b.selections(), ok, failed,
                average(b.totalResponseNanos(), ok + failed), Duration.ofNanos(h.valueAt(0.50)),
                Duration.ofNanos(h.valueAt(0.95)), Duration.ofNanos(h.valueAt(0.99)), b.loadReport(),
                b.health.stats(state, nowNanos), b.sessions.get(), b.promptCache(), b.profile(), b.learntProfile());
    }

    private static Duration average(double totalNanos, long count) {
        // The cast saturates: an average beyond Long.MAX_VALUE ns reads as that.
        return count == 0 ? Duration.ZERO : Duration.ofNanos((long) (totalNanos / count));
    }
}
