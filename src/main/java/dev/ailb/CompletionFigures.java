package dev.ailb;

import dev.ailb.internal.FoldableCounter;
import dev.ailb.internal.FoldableDoubleAdder;
import dev.ailb.internal.LatencyHistogram;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What a backend's completed requests measured: successes, failures, the sum of their response
 * times, their latency histogram, and the times to first byte of streamed responses.
 *
 * <p>The counts, the sum and the response-time histogram are foldable: when the backend leaves,
 * {@link #fold()} hands them to the balancer's {@link TrafficFigures} at one instant, and
 * {@link #record} reports each figure that came after that instant, for the balancer to count
 * instead (the fold is described there). The times to first byte are never folded: the balancer
 * keeps no overall figure of them.
 *
 * <p>Thread-safe. The histograms are allocated on first use, so that an idle backend in a large
 * fleet costs nothing.
 */
final class CompletionFigures {
    /** Bits of {@link #record}'s result: which figures came after the fold. */
    static final int LATE_COUNT = 1;
    static final int LATE_TIME = 2;
    static final int LATE_HISTOGRAM = 4;

    private static final VarHandle HISTOGRAM;

    static {
        try {
            HISTOGRAM = MethodHandles.lookup().findVarHandle(CompletionFigures.class, "histogram",
                    LatencyHistogram.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Stands for the histogram of a backend folded before its first completion; never written. */
    private static final LatencyHistogram FOLDED_EMPTY = new LatencyHistogram();

    private final FoldableCounter successes = new FoldableCounter();
    private final FoldableCounter failures = new FoldableCounter();
    // A double sum cannot overflow. A long wraps after 2^63 ns (292 years) of summed response
    // times: two releases of Long.MAX_VALUE, or a few weeks of thousands of requests in flight,
    // and the average turns negative. Below 2^53 ns (104 days in all) the double sum is exact, so
    // the average is what a long sum would give.
    private final FoldableDoubleAdder responseNanos = new FoldableDoubleAdder();
    /** Allocated on the first completion; {@link #FOLDED_EMPTY} once folded without one. */
    @SuppressWarnings("unused") // accessed through HISTOGRAM
    private volatile LatencyHistogram histogram;
    /** Allocated on the first time to first byte. */
    private volatile LatencyHistogram firstBytes;

    long successes() {
        return successes.sum();
    }

    long failures() {
        return failures.sum();
    }

    double responseNanos() {
        return responseNanos.sum();
    }

    /**
     * Records a completed request. Returns which of its figures came after the fold
     * ({@link #LATE_COUNT}, {@link #LATE_TIME}, {@link #LATE_HISTOGRAM}), 0 for none.
     */
    int record(long responseTimeNanos, boolean success) {
        int late = (success ? successes : failures).increment() ? 0 : LATE_COUNT;
        if (!responseNanos.add(responseTimeNanos)) {
            late |= LATE_TIME;
        }
        LatencyHistogram h = histogram();
        if (h == FOLDED_EMPTY || !h.record(responseTimeNanos)) {
            late |= LATE_HISTOGRAM;
        }
        return late;
    }

    private LatencyHistogram histogram() {
        LatencyHistogram h = (LatencyHistogram) HISTOGRAM.getAcquire(this);
        if (h == null) {
            LatencyHistogram fresh = new LatencyHistogram();
            h = (LatencyHistogram) HISTOGRAM.compareAndExchange(this, null, fresh);
            if (h == null) {
                h = fresh;
            }
        }
        return h;
    }

    /** The response-time histogram as it stands; empty before the first completion. */
    LatencyHistogram.Snapshot histogramSnapshot() {
        LatencyHistogram h = (LatencyHistogram) HISTOGRAM.getAcquire(this);
        return h == null || h == FOLDED_EMPTY ? LatencyHistogram.Snapshot.empty() : h.snapshot();
    }

    /**
     * Folds the counts, time sum and histogram at this instant, when the backend leaves its
     * balancer. Every completion recorded later reports itself late. Called once.
     */
    Folded fold() {
        LatencyHistogram h = (LatencyHistogram) HISTOGRAM.compareAndExchange(this, null, FOLDED_EMPTY);
        LatencyHistogram.Snapshot folded = h == null ? LatencyHistogram.Snapshot.empty() : h.fold();
        return new Folded(successes.fold(), failures.fold(), responseNanos.fold(), folded);
    }

    /** The foldable figures at the instant they were folded. */
    record Folded(long successes, long failures, double responseNanos, LatencyHistogram.Snapshot histogram) {}

    void recordFirstByte(long nanos) {
        LatencyHistogram h = firstBytes;
        if (h == null) {
            synchronized (this) {
                h = firstBytes;
                if (h == null) {
                    h = new LatencyHistogram();
                    firstBytes = h;
                }
            }
        }
        h.record(nanos);
    }

    /** The times to first byte as they stand; empty before the first one. */
    LatencyHistogram.Snapshot firstBytesSnapshot() {
        LatencyHistogram h = firstBytes;
        return h == null ? LatencyHistogram.Snapshot.empty() : h.snapshot();
    }

    /**
     * A percentile of the response times, read without copying the histogram; -1 before
     * {@code minCount} completions (or once folded: a backend that left is not hedged on).
     */
    long responseTimeAt(double quantile, long minCount) {
        LatencyHistogram h = (LatencyHistogram) HISTOGRAM.getAcquire(this);
        return h == null || h == FOLDED_EMPTY ? -1 : h.valueAt(quantile, minCount);
    }

    /** A percentile of the times to first byte, read without copying; -1 before {@code minCount}. */
    long firstByteAt(double quantile, long minCount) {
        LatencyHistogram h = firstBytes;
        return h == null ? -1 : h.valueAt(quantile, minCount);
    }
}
