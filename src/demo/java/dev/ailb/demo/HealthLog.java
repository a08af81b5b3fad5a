package dev.ailb.demo;

import dev.ailb.Backend;
import dev.ailb.LoadBalancerListener;
import dev.ailb.health.HealthState;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Prints every health change of a balancer's backends as it happens, with the time since the
 * balancer was set up, and keeps them. The demo's own steps are printed in the same form.
 */
final class HealthLog implements LoadBalancerListener {
    private final PrintStream out;
    private final long startNanos = System.nanoTime();
    private final List<HealthEvent> events = new ArrayList<>(); // guarded by this

    HealthLog(PrintStream out) {
        this.out = out;
    }

    @Override
    public synchronized void onBackendHealthChanged(Backend backend, HealthState previous, HealthState current,
                                                    String reason) {
        long at = System.nanoTime() - startNanos;
        HealthEvent event = new HealthEvent(at, backend.id(), previous, current, reason);
        events.add(event);
        out.println(String.format(Locale.ROOT, "  [health] %6.2f s  %s %s -> %s: %s",
                event.atNanos() / 1e9, event.backend(), previous, current, reason));
    }

    synchronized void note(String what) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        out.println(String.format(Locale.ROOT, "  [demo]   %6.2f s  %s", seconds, what));
    }

    synchronized List<HealthEvent> events() {
        return List.copyOf(events);
    }
}
