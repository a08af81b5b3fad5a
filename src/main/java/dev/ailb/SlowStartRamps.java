package dev.ailb;

import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backends in slow start ({@link SlowStart}) and the timer that steps their factors. Owned by
 * the {@link RoutingTable}, which calls it under its lock: {@link #begin} when a backend is about
 * to become available, before the view with it is built, so that its very first picker already
 * weighs it by its factor; {@link #advance} at each step, after which the table publishes a view
 * with fresh pickers.
 *
 * <p>The factor lives on the backend ({@link Backend#slowStartFactor()}), where the strategies
 * read it while they build a picker; it is written only here, under the lock, and never while a
 * view built from it is being read, since the view is published after it is written. A pick never
 * reads a clock: the factor is a step function of time, recomputed every 1/{@value SlowStart#STEPS}
 * of the window on one timer for all the ramps of a balancer, and at the end of each ramp, so that
 * a ramp ends exactly when its window does. While no backend ramps no timer is pending.
 *
 * <p>Not thread-safe by itself: every method holds the table's lock.
 */
final class SlowStartRamps {
    private static final Logger log = LoggerFactory.getLogger(SlowStartRamps.class);

    /** Schedules a task after a delay; null if it cannot (the balancer is closed). */
    @FunctionalInterface
    interface Timers {
        ScheduledFuture<?> schedule(Runnable task, long delayNanos);
    }

    /** The ramp a backend had before {@link #begin}: null if none; what {@link #undo} puts back. */
    record Saved(long startedAtNanos, int share) {}

    private final String name;
    private final SlowStart settings; // null: slow start is off
    private final Ticker ticker;
    private final Timers timers;
    private final Runnable step;
    private final long stepNanos;
    /** When each ramping backend became available, by the ticker. */
    private final Map<Backend, Long> startedAt = new IdentityHashMap<>();
    private ScheduledFuture<?> pending;
    /** The ticker reading {@link #pending} is due at; meaningless while it is null. */
    private long pendingAtNanos;

    /**
     * @param step what the timer runs at each step: the table's {@link RoutingTable#stepSlowStart}
     */
    SlowStartRamps(String name, SlowStart settings, Ticker ticker, Timers timers, Runnable step) {
        this.name = name;
        this.settings = settings;
        this.ticker = ticker;
        this.timers = timers;
        this.step = step;
        this.stepNanos = settings == null ? 0 : Math.max(1L, settings.window().toNanos() / SlowStart.STEPS);
    }

    /**
     * A backend is about to become available in the view after {@code current}: starts its ramp,
     * or starts it over, if slow start is on and another backend of {@code current} is available,
     * out of its own ramp and has taken requests (picked there, or one finished there). Sets its factor before the caller builds the
     * view.
     *
     * @return what {@link #undo} needs if that view cannot be built; null when nothing changed
     */
    Saved begin(Backend backend, Registry current) {
        if (settings == null || !warmPeerIn(current, backend)) {
            return null;
        }
        Long before = startedAt.get(backend);
        Saved saved = new Saved(before == null ? 0L : before, before == null ? -1 : backend.slowStartShare());
        long now = ticker.read();
        startedAt.put(backend, now);
        backend.setSlowStartShare(shareAt(0L));
        if (before == null) {
            log.info("{} - Backend {} in slow start: {}% of its weight, full after {}", name, backend.id(),
                    Math.round(100.0 * backend.slowStartFactor()), settings.window());
        }
        schedule(now, now + stepNanos);
        return saved;
    }

    /** Puts back the ramp a backend had before {@link #begin} returned {@code saved}. */
    void undo(Backend backend, Saved saved) {
        if (saved == null) {
            return;
        }
        if (saved.share() < 0) {
            startedAt.remove(backend);
            backend.setSlowStartShare(Backend.SHARE_UNIT);
        } else {
            startedAt.put(backend, saved.startedAtNanos());
            backend.setSlowStartShare(saved.share());
        }
    }

    /**
     * Steps every ramp to now: a backend past its window, or no longer available, leaves slow start
     * at full weight; the others take the factor of their time. Schedules the next step.
     *
     * @return whether a factor changed, so the table must publish a view with fresh pickers
     */
    boolean advance() {
        long now = ticker.read();
        // A step that ran before the one pending (a timer cancelled too late to stop it) steps the
        // factors all the same, and leaves the pending step be.
        boolean early = pending != null && now - pendingAtNanos < 0;
        if (!early) {
            pending = null;
        }
        if (startedAt.isEmpty()) {
            return false;
        }
        long windowNanos = settings.window().toNanos();
        boolean changed = false;
        long nextEnd = 0;
        boolean ramping = false;
        for (Iterator<Map.Entry<Backend, Long>> it = startedAt.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Backend, Long> ramp = it.next();
            Backend b = ramp.getKey();
            long elapsed = now - ramp.getValue();
            int share = b.isAvailable() ? shareAt(elapsed) : Backend.SHARE_UNIT;
            if (share != b.slowStartShare()) {
                b.setSlowStartShare(share);
                changed = true;
            }
            if (share == Backend.SHARE_UNIT) {
                it.remove();
                if (b.isAvailable()) {
                    log.info("{} - Backend {} out of slow start: full weight", name, b.id());
                }
                continue;
            }
            long end = ramp.getValue() + windowNanos;
            if (!ramping || end - nextEnd < 0) {
                nextEnd = end;
                ramping = true;
            }
        }
        if (ramping) {
            long next = now + stepNanos;
            schedule(now, nextEnd - next < 0 ? nextEnd : next);
        }
        return changed;
    }

    /** Arranges a step at {@code atNanos} unless one is due sooner. */
    private void schedule(long now, long atNanos) {
        if (pending != null && pendingAtNanos - atNanos <= 0) {
            return;
        }
        if (pending != null) {
            pending.cancel(false);
        }
        pending = timers.schedule(step, Math.max(0L, atNanos - now));
        pendingAtNanos = atNanos;
        if (pending == null && !startedAt.isEmpty()) {
            log.debug("{} - No timer for the slow-start steps: the balancer is closed", name);
        }
    }

    /** The factor {@code elapsedNanos} into a ramp, in 1/{@link Backend#SHARE_UNIT}, at least 1. */
    private int shareAt(long elapsedNanos) {
        double factor = settings.factorAt(elapsedNanos);
        return factor >= 1.0 ? Backend.SHARE_UNIT
                : (int) Math.max(1L, Math.min(Backend.SHARE_UNIT - 1, Math.round(factor * Backend.SHARE_UNIT)));
    }

    /**
     * Whether {@code current} has something to ramp {@code joining} against: another available
     * backend out of its ramp that has taken requests. Looks at the available backends in order
     * and stops at the first; only a fleet that has served nothing is scanned whole.
     */
    private boolean warmPeerIn(Registry current, Backend joining) {
        for (Backend b : current.available) {
            if (b != joining && !startedAt.containsKey(b) && hasServed(b)) {
                return true;
            }
        }
        return false;
    }

    /** Whether a backend has taken a request: picked by the balancer, or one finished there. */
    private static boolean hasServed(Backend b) {
        return b.totalRequests() > 0 || b.successes() > 0 || b.failures() > 0;
    }
}
