package dev.ailb;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A backend's peak EWMA of response times, as Finagle keeps it: the average jumps to any response
 * slower than itself and otherwise moves toward each new response with a weight that grows with
 * the time since the previous one, at the pace of the balancer's decay time.
 *
 * <h2>Three words, written without a lock</h2>
 * <ul>
 *   <li>the average, {@code NaN} before the first sample, updated by compare-and-set so that
 *       racing completions each move it once;</li>
 *   <li>the stamp, when the average was last updated. It is written with release semantics, a
 *       plain store on x86, not with a volatile store, which would cost a full fence on every
 *       release, for a time that only weighs samples and is never compared exactly. Two racing
 *       updates may both decay from the same stamp, which only shifts the weight of one sample
 *       slightly;</li>
 *   <li>the rank, {@code ln(max(average, 1 ns)) + (stamp - origin) / decay}, written after the
 *       average with release semantics as the stamp. All the averages of one balancer decay at the
 *       same pace from the same origin, so ranks order the backends as their decayed averages
 *       would at any instant, and a strategy compares them without reading the clock. A completion
 *       racing another may leave the rank one sample behind the average until the next one.</li>
 * </ul>
 *
 * <p>The base of {@link Backend}'s chain of superclasses, only to keep its fields inline (see
 * {@link LifecycleWord}). Thread-safe.
 */
abstract sealed class PeakEwma permits LifecycleWord {
    private static final VarHandle EWMA_BITS;
    private static final VarHandle EWMA_STAMP;
    private static final VarHandle RANK;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            EWMA_BITS = lookup.findVarHandle(PeakEwma.class, "ewmaBits", long.class);
            EWMA_STAMP = lookup.findVarHandle(PeakEwma.class, "ewmaStampNanos", long.class);
            RANK = lookup.findVarHandle(PeakEwma.class, "rank", double.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final long UNMEASURED = Double.doubleToRawLongBits(Double.NaN);

    private final double decayNanos;
    private final long originNanos;
    @SuppressWarnings("unused") // accessed through EWMA_BITS
    private volatile long ewmaBits = UNMEASURED;
    @SuppressWarnings("unused") // accessed through EWMA_STAMP
    private long ewmaStampNanos;
    // Declared last, so that it is laid out next to the lifecycle word (see LifecycleWord).
    @SuppressWarnings("unused") // accessed through RANK
    private double rank = Double.NaN;

    PeakEwma(double decayNanos, long originNanos) {
        this.decayNanos = decayNanos;
        this.originNanos = originNanos;
    }

    /** The average as of the last sample, or {@code NaN} before the first. */
    final double ewmaNanos() {
        return Double.longBitsToDouble((long) EWMA_BITS.getVolatile(this));
    }

    /** The average decayed toward zero over the time from the last sample to {@code nowNanos}. */
    final double ewmaNanos(long nowNanos) {
        double ewma = ewmaNanos();
        long elapsed = nowNanos - (long) EWMA_STAMP.getAcquire(this);
        if (elapsed <= 0 || Double.isNaN(ewma)) {
            return ewma;
        }
        return ewma * decay(elapsed / decayNanos);
    }

    /** The clock-free rank of the class comment, or {@code NaN} before the first sample. */
    final double rank() {
        return (double) RANK.getAcquire(this);
    }

    /** Moves the average by one response time, measured to have ended at {@code nowNanos}. */
    final void updateEwma(long sampleNanos, long nowNanos) {
        long elapsed = Math.max(0L, nowNanos - (long) EWMA_STAMP.getAcquire(this));
        EWMA_STAMP.setRelease(this, nowNanos);
        double keep = decay(elapsed / decayNanos);
        double sample = sampleNanos;
        for (;;) {
            long bits = (long) EWMA_BITS.getVolatile(this);
            double current = Double.longBitsToDouble(bits);
            double next = Double.isNaN(current) || sample > current
                    ? sample
                    : current * keep + sample * (1.0 - keep);
            if (EWMA_BITS.compareAndSet(this, bits, Double.doubleToRawLongBits(next))) {
                RANK.setRelease(this, Math.log(Math.max(next, 1.0)) + (nowNanos - originNanos) / decayNanos);
                return;
            }
        }
    }

    /**
     * e^-x for x >= 0. Under load the time between two completions is a tiny fraction of the decay
     * time, and there the first four terms of the series are exact to 1e-13 at a fraction of the
     * cost of {@link Math#exp}.
     */
    static double decay(double x) {
        if (x < 0x1p-10) {
            return 1.0 - x * (1.0 - x * (0.5 - x * (1.0 / 6.0)));
        }
        return Math.exp(-x);
    }
}
