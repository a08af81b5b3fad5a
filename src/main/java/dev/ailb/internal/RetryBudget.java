package dev.ailb.internal;

import static dev.ailb.internal.Preconditions.checkNonNegative;
import static dev.ailb.internal.Preconditions.checkUnitInterval;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Limits retries to a share of recent requests, so that an outage does not turn into a retry storm
 * (the idea of Finagle's {@code RetryBudget} and Envoy's retry budget). Every first attempt is
 * recorded with {@link #recordRequest}; every retry must first get a yes from {@link #tryWithdraw}.
 * A retry is allowed while the retries in the recent window stay within {@code percentCanRetry} of
 * the requests in that window, plus a reserve of {@code minRetriesPerSecond} times the window in
 * seconds, so that a client with little traffic can still retry.
 *
 * <p>The window is a ring of ten slots, each a tenth of the window long and stamped with its period
 * of the caller's ticker. A slot is reused once its period is more than a window old, so a request is
 * counted for between nine tenths of the window and the whole window; the budget is approximate to
 * one slot, which is precise enough for its purpose. Times are ticker readings, compared only by
 * subtraction, so a ticker that overflows is fine.
 *
 * <h2>Hedges</h2>
 * A hedge (a second attempt sent while the first is still running, to cut the tail latency) is an
 * extra attempt like a retry, and shares the same window. A hedge must fit two limits at once:
 * <ul>
 *   <li>the shared one: retries and hedges together stay within {@code percentCanRetry} of the
 *       window's requests plus the retry reserve, so hedging can never let the extra attempts of
 *       the balancer grow past what the retry budget allows;</li>
 *   <li>its own: hedges alone stay within {@code percentCanHedge} of the window's requests plus
 *       the hedge reserve ({@code minHedgesPerSecond} times the window in seconds).</li>
 * </ul>
 * A retry needs only the shared limit, so hedges spend the room retries would have had, and a
 * storm of retries leaves no room for hedges: when the fleet fails, the balancer stops hedging
 * before it stops retrying.
 *
 * <p>Thread-safe. Recording a request is two volatile reads and one atomic add; only the first
 * call in each slot period allocates the slot's counters. Under contention at the limit a retry may
 * be refused that a lone caller would have got, but the allowed retries never exceed the budget.
 */
public final class RetryBudget {
    private static final int SLOTS = 10;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final long MIN_WINDOW_NANOS = NANOS_PER_SECOND;
    private static final long MAX_WINDOW_NANOS = 3600 * NANOS_PER_SECOND;
    // The share is kept in millionths so that 20% of 100 requests is exactly 20, not 19.999...
    private static final long PARTS = 1_000_000L;
    // Far enough before any real period that the initial slots never look live.
    private static final Slot EMPTY = new Slot(Long.MIN_VALUE / 2);

    private final long partsPerMillion;
    private final long reserve;
    private final long hedgePartsPerMillion;
    private final long hedgeReserve;
    private final long slotNanos;
    private final AtomicReferenceArray<Slot> slots = new AtomicReferenceArray<>(SLOTS);
    private final LongAdder allowed = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder hedgesAllowed = new LongAdder();
    private final LongAdder hedgesRefused = new LongAdder();

    // Periods count from the first reading, so that only differences of readings are ever used.
    private volatile boolean started;
    private long origin;

    /**
     * Creates a budget.
     *
     * @param percentCanRetry the share of the window's requests that may be retried, 0.0..1.0,
     *     rounded to a millionth
     * @param minRetriesPerSecond the reserve: this many retries per second of the window are always
     *     allowed, whatever the traffic
     * @param windowNanos the length of the window, 1 second..1 hour
     * @throws IllegalArgumentException if an argument is out of range
     */
    public RetryBudget(double percentCanRetry, int minRetriesPerSecond, long windowNanos) {
        this(percentCanRetry, minRetriesPerSecond, 0.0, 0, windowNanos);
    }

    /**
     * Creates a budget for retries and hedges; see the class comment for how they share it.
     *
     * @param percentCanRetry the share of the window's requests that retries and hedges together
     *     may add, 0.0..1.0, rounded to a millionth
     * @param minRetriesPerSecond the retry reserve: this many extra attempts per second of the
     *     window are always allowed, whatever the traffic
     * @param percentCanHedge the share of the window's requests that hedges alone may add,
     *     0.0..1.0, rounded to a millionth
     * @param minHedgesPerSecond the hedge reserve, counted like the retry reserve
     * @param windowNanos the length of the window, 1 second..1 hour
     * @throws IllegalArgumentException if an argument is out of range
     */
    public RetryBudget(double percentCanRetry, int minRetriesPerSecond, double percentCanHedge,
            int minHedgesPerSecond, long windowNanos) {
        checkUnitInterval(percentCanRetry, "percentCanRetry");
        checkNonNegative(minRetriesPerSecond, "minRetriesPerSecond");
        checkUnitInterval(percentCanHedge, "percentCanHedge");
        checkNonNegative(minHedgesPerSecond, "minHedgesPerSecond");
        if (windowNanos < MIN_WINDOW_NANOS || windowNanos > MAX_WINDOW_NANOS) {
            throw new IllegalArgumentException("windowNanos: " + windowNanos
                    + " (expected: " + MIN_WINDOW_NANOS + ".." + MAX_WINDOW_NANOS + ")");
        }
        this.partsPerMillion = Math.round(percentCanRetry * PARTS);
        this.reserve = reserveOf(minRetriesPerSecond, windowNanos);
        this.hedgePartsPerMillion = Math.round(percentCanHedge * PARTS);
        this.hedgeReserve = reserveOf(minHedgesPerSecond, windowNanos);
        this.slotNanos = windowNanos / SLOTS;
        for (int i = 0; i < SLOTS; i++) {
            slots.set(i, EMPTY);
        }
    }

    private static long reserveOf(long perSecond, long windowNanos) {
        // Split into whole and partial seconds so that the product cannot overflow.
        return perSecond * (windowNanos / NANOS_PER_SECOND)
                + perSecond * (windowNanos % NANOS_PER_SECOND) / NANOS_PER_SECOND;
    }

    /**
     * Records a first attempt, which earns credit for later retries.
     *
     * @param nowNanos the current ticker reading
     */
    public void recordRequest(long nowNanos) {
        slotFor(periodOf(nowNanos)).requests.incrementAndGet();
    }

    /**
     * Takes one retry from the budget if the budget allows it now.
     *
     * @param nowNanos the current ticker reading
     * @return {@code true} if the retry may go ahead and was counted, {@code false} if it was refused
     */
    public boolean tryWithdraw(long nowNanos) {
        long period = periodOf(nowNanos);
        // During a storm most calls end here, reading the counters without writing to them.
        if (balanceAt(period) <= 0) {
            refused.increment();
            return false;
        }
        // Count first, then check: two racing callers cannot both take the last retry, because the
        // later of the two increments always sees the earlier one.
        Slot slot = slotFor(period);
        slot.retries.incrementAndGet();
        if (balanceAt(period) < 0) {
            slot.retries.decrementAndGet();
            refused.increment();
            return false;
        }
        allowed.increment();
        return true;
    }

    /**
     * Takes one hedge from the budget if both its limits allow it now: the shared one of retries
     * and hedges, and the hedges' own.
     *
     * @param nowNanos the current ticker reading
     * @return {@code true} if the hedge may go ahead and was counted, {@code false} if it was refused
     */
    public boolean tryWithdrawHedge(long nowNanos) {
        long period = periodOf(nowNanos);
        if (balanceAt(period) <= 0 || hedgeBalanceAt(period) <= 0) {
            hedgesRefused.increment();
            return false;
        }
        // Count first, then check, as tryWithdraw does: a hedge is an extra attempt in both limits.
        Slot slot = slotFor(period);
        slot.hedges.incrementAndGet();
        if (balanceAt(period) < 0 || hedgeBalanceAt(period) < 0) {
            slot.hedges.decrementAndGet();
            hedgesRefused.increment();
            return false;
        }
        hedgesAllowed.increment();
        return true;
    }

    /** Returns how many hedges {@link #tryWithdrawHedge} has allowed since this budget was created. */
    public long hedgesAllowed() {
        return hedgesAllowed.sum();
    }

    /** Returns how many hedges {@link #tryWithdrawHedge} has refused since this budget was created. */
    public long hedgesRefused() {
        return hedgesRefused.sum();
    }

    /**
     * Returns how many retries would be allowed now, for statistics.
     *
     * @param nowNanos the current ticker reading
     * @return the retries left in the budget, never negative
     */
    public long balance(long nowNanos) {
        return Math.max(0, balanceAt(periodOf(nowNanos)));
    }

    /** Returns how many retries {@link #tryWithdraw} has allowed since this budget was created. */
    public long retriesAllowed() {
        return allowed.sum();
    }

    /** Returns how many retries {@link #tryWithdraw} has refused since this budget was created. */
    public long retriesRefused() {
        return refused.sum();
    }

    private long periodOf(long nowNanos) {
        if (!started) {
            start(nowNanos);
        }
        return Math.floorDiv(nowNanos - origin, slotNanos);
    }

    // Locks once in the budget's life, never again after the first reading is published.
    private synchronized void start(long nowNanos) {
        if (!started) {
            origin = nowNanos;
            started = true;
        }
    }

    private Slot slotFor(long period) {
        int index = Math.floorMod(period, SLOTS);
        Slot slot = slots.get(index);
        // A fresh slot replaces a stale one instead of resetting its counters, so a count can never
        // land in the wrong period. A newer slot is used as is: the caller's reading was late.
        while (slot.period < period) {
            Slot fresh = new Slot(period);
            if (slots.compareAndSet(index, slot, fresh)) {
                return fresh;
            }
            slot = slots.get(index);
        }
        return slot;
    }

    /** The extra attempts the shared limit still allows: retries and hedges together. */
    private long balanceAt(long period) {
        long requests = 0;
        long extra = 0;
        for (int i = 0; i < SLOTS; i++) {
            Slot slot = slots.get(i);
            // Slots a little ahead count too: a caller whose reading is late must still see them.
            if (Math.abs(period - slot.period) < SLOTS) {
                requests += slot.requests.get();
                extra += slot.retries.get() + slot.hedges.get();
            }
        }
        return share(requests, partsPerMillion) + reserve - extra;
    }

    /** The hedges the hedges' own limit still allows. */
    private long hedgeBalanceAt(long period) {
        long requests = 0;
        long hedges = 0;
        for (int i = 0; i < SLOTS; i++) {
            Slot slot = slots.get(i);
            if (Math.abs(period - slot.period) < SLOTS) {
                requests += slot.requests.get();
                hedges += slot.hedges.get();
            }
        }
        return share(requests, hedgePartsPerMillion) + hedgeReserve - hedges;
    }

    private static long share(long requests, long perMillion) {
        return requests / PARTS * perMillion + requests % PARTS * perMillion / PARTS;
    }

    /** The counts of one slot period; replaced, never reset, when the period is over. */
    private static final class Slot {
        final long period;
        final AtomicLong requests = new AtomicLong();
        final AtomicLong retries = new AtomicLong();
        final AtomicLong hedges = new AtomicLong();

        Slot(long period) {
            this.period = period;
        }
    }
}
