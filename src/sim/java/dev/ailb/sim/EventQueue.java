package dev.ailb.sim;

import dev.ailb.Ticker;
import java.util.PriorityQueue;
import java.util.function.BooleanSupplier;

/**
 * The simulated clock and what is due on it: events fire in the order of their time, and events
 * due at the same time in the order they were scheduled, so a run is the same every time. The
 * clock is also read in whole nanoseconds, by the balancers' {@linkplain #ticker() tickers}; it
 * moves only when the next event is later than the last.
 *
 * <p>Not thread-safe: a simulation runs on one thread.
 */
final class EventQueue {

    /** Something that happens at a time: an arrival, a completion, a scrape. */
    abstract static class Event implements Comparable<Event> {
        private double at;
        private long order;

        @Override
        public int compareTo(Event o) {
            int c = Double.compare(at, o.at);
            return c != 0 ? c : Long.compare(order, o.order);
        }

        abstract void fire();
    }

    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private long sequence;
    private double now;
    private long nanos;

    /** The time, in seconds since the start of the run. */
    double now() {
        return now;
    }

    /**
     * A ticker on this clock, for a balancer. Each call gives a ticker of its own; they all read
     * the same time.
     */
    Ticker ticker() {
        return () -> nanos;
    }

    void schedule(double at, Event e) {
        e.at = at;
        e.order = sequence++;
        events.add(e);
    }

    /** Fires the events in order until none is left or, after an event, {@code done} says so. */
    void run(BooleanSupplier done) {
        while (!events.isEmpty()) {
            Event e = events.poll();
            if (e.at > now) {
                long target = Math.round(e.at * 1e9);
                if (target > nanos) {
                    nanos = target;
                }
                now = e.at;
            }
            e.fire();
            if (done.getAsBoolean()) {
                return;
            }
        }
    }
}
