package dev.ailb.soak;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerListener;
import dev.ailb.health.HealthState;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;

/**
 * Injects the faults of the soak on a fixed schedule while the clients run, one cycle after
 * another until {@link #stop()}, then puts the fleet back as it was.
 *
 * <p>A cycle lasts {@link #CYCLE_MILLIS} and picks its victims by rotating over the fleet, so that
 * every instance takes every part in turn. With five roles {@code A..E} (cycle {@code n}: instance
 * {@code n mod 6} is {@code A}, the next one {@code B}, and so on), at these offsets in seconds:
 * <pre>
 *  0.0  kill A (server stopped: port closed, connections dropped)
 *  3.0  B answers 503 to requests and probes
 *  5.0  restart A on the same port
 *  7.0  C hangs (accepts, never answers; the clients time out)
 *  8.0  B serves again
 *  8.5  removeBackend(C) while it hangs: requests it still holds outlast the drain timeout
 * 10.0  beginMaintenance(D)
 * 11.0  C serves again
 * 12.0  C added again under the same id, once its removal has completed
 * 13.0  removeBackend(E) under normal traffic: it leaves when its last request is released
 * 14.0  endMaintenance(D)
 * 16.0  E added again under the same id, once its removal has completed
 * 17.0  brownout: every instance answers 503 (health checks fail everywhere: panic routing)
 * 18.5  every instance serves again
 * 19.0  setStrategy: the next built-in strategy, in the order of BalancingStrategy.builtIns()
 * </pre>
 * Apart from the brownout, at most two instances are out of service at any moment. The brownout
 * is what makes calls run out of attempts and the retry budget run dry. Every backend ever
 * registered (the first ones and each one added again) is kept in {@link #incarnations()}, so that
 * its counts can be read after it has left.
 *
 * <p>It also listens to the balancer and counts what it hears: additions, drains, removals (and
 * how many of them happened with requests still in flight, that is by the drain timeout), and
 * health changes by kind.
 */
final class Chaos implements Runnable, LoadBalancerListener {
    static final long CYCLE_MILLIS = 20_000;
    /** How long re-adding waits for a removal to complete before it reports a problem. */
    private static final long REMOVAL_WAIT_MILLIS = 10_000;

    /** The faults and operations, in the order they are reported. */
    enum Action {
        KILL("instances killed"),
        RESTART("instances restarted on their port"),
        FAIL_503("instances set to answer 503"),
        BROWNOUT("brownouts (every instance answers 503)"),
        HANG("instances set to hang"),
        SERVE_AGAIN("instances serving again after 503 or hang"),
        STRATEGY("setStrategy (the next built-in)"),
        DRAIN("beginMaintenance"),
        DRAIN_COMPLETED("  maintenance waits completed before endMaintenance"),
        UNDRAIN("endMaintenance"),
        REMOVE("removeBackend"),
        READD("addBackend again under the same id");

        final String label;

        Action(String label) {
            this.label = label;
        }
    }

    private final LoadBalancer lb;
    private final List<SoakInstance> fleet;
    private final PrintStream log; // null: quiet
    private final long startNanos;

    private final Map<Action, LongAdder> actions = new EnumMap<>(Action.class);
    private final Map<String, LongAdder> events = new ConcurrentHashMap<>();
    private final List<Backend> incarnations = new CopyOnWriteArrayList<>();
    private final List<String> problems = new CopyOnWriteArrayList<>();

    // Used by the chaos thread only: the schedule, then the restore at its end.
    private final Map<String, CompletableFuture<Void>> removals = new LinkedHashMap<>();
    private final Map<String, CompletableFuture<Void>> maintenance = new LinkedHashMap<>();

    private volatile boolean stopping;
    private volatile int cycles;
    private volatile String outOfService = "";

    Chaos(LoadBalancer lb, List<SoakInstance> fleet, PrintStream log, long startNanos) {
        this.lb = lb;
        this.fleet = List.copyOf(fleet);
        this.log = log;
        this.startNanos = startNanos;
        for (Action a : Action.values()) {
            actions.put(a, new LongAdder());
        }
    }

    /** Registers an instance of the fleet before the run starts. */
    Backend register(SoakInstance instance) {
        Backend backend = lb.addBackend(instance.id(), SoakInstance.LOOPBACK, instance.port());
        incarnations.add(backend);
        return backend;
    }

    /** Asks the schedule to stop at its next step; the thread then restores the fleet and ends. */
    void stop() {
        stopping = true;
        synchronized (this) {
            notifyAll();
        }
    }

    @Override
    public void run() {
        try {
            for (int n = 0; !stopping; n++) {
                cycle(n);
                if (!stopping) {
                    cycles = n + 1;
                }
            }
        } catch (InterruptedException e) {
            problems.add("chaos interrupted");
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            problems.add("chaos step failed: " + e);
            e.printStackTrace();
        } finally {
            try {
                restore();
            } catch (InterruptedException e) {
                problems.add("restore interrupted");
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                problems.add("restore failed: " + e);
                e.printStackTrace();
            }
        }
    }

    private void cycle(int n) throws InterruptedException {
        int size = fleet.size();
        SoakInstance a = fleet.get(n % size);
        SoakInstance b = fleet.get((n + 1) % size);
        SoakInstance c = fleet.get((n + 2) % size);
        SoakInstance d = fleet.get((n + 3) % size);
        SoakInstance e = fleet.get((n + 4) % size);
        long t0 = System.nanoTime();
        if (!at(t0, 0)) {
            return;
        }
        kill(a);
        if (!at(t0, 3_000)) {
            return;
        }
        setMode(b, SoakInstance.Mode.FAILING, Action.FAIL_503);
        if (!at(t0, 5_000)) {
            return;
        }
        restart(a);
        if (!at(t0, 7_000)) {
            return;
        }
        setMode(c, SoakInstance.Mode.HANGING, Action.HANG);
        if (!at(t0, 8_000)) {
            return;
        }
        setMode(b, SoakInstance.Mode.SERVING, Action.SERVE_AGAIN);
        if (!at(t0, 8_500)) {
            return;
        }
        remove(c);
        if (!at(t0, 10_000)) {
            return;
        }
        drain(d);
        if (!at(t0, 11_000)) {
            return;
        }
        setMode(c, SoakInstance.Mode.SERVING, Action.SERVE_AGAIN);
        if (!at(t0, 12_000)) {
            return;
        }
        addAgain(c);
        if (!at(t0, 13_000)) {
            return;
        }
        remove(e);
        if (!at(t0, 14_000)) {
            return;
        }
        undrain(d);
        if (!at(t0, 16_000)) {
            return;
        }
        addAgain(e);
        if (!at(t0, 17_000)) {
            return;
        }
        brownout(true);
        if (!at(t0, 18_500)) {
            return;
        }
        brownout(false);
        if (!at(t0, 19_000)) {
            return;
        }
        nextStrategy();
        at(t0, CYCLE_MILLIS);
    }

    /** Waits until {@code offsetMillis} after {@code t0}; false if asked to stop first. */
    private boolean at(long t0, long offsetMillis) throws InterruptedException {
        long due = t0 + TimeUnit.MILLISECONDS.toNanos(offsetMillis);
        synchronized (this) {
            for (;;) {
                if (stopping) {
                    return false;
                }
                long left = due - System.nanoTime();
                if (left <= 0) {
                    return true;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }
    }

    private void kill(SoakInstance instance) {
        instance.kill();
        note(Action.KILL, instance.id());
    }

    private void restart(SoakInstance instance) throws InterruptedException {
        instance.start();
        note(Action.RESTART, instance.id());
    }

    private void setMode(SoakInstance instance, SoakInstance.Mode mode, Action action) {
        instance.setMode(mode);
        note(action, instance.id());
    }

    private void brownout(boolean on) {
        for (SoakInstance instance : fleet) {
            instance.setMode(on ? SoakInstance.Mode.FAILING : SoakInstance.Mode.SERVING);
        }
        note(on ? Action.BROWNOUT : Action.SERVE_AGAIN, "all");
    }

    private void nextStrategy() {
        List<BalancingStrategy> all = BalancingStrategy.builtIns();
        BalancingStrategy next = all.get((all.indexOf(lb.getStrategy()) + 1) % all.size());
        lb.setStrategy(next);
        note(Action.STRATEGY, next.name());
    }

    private void remove(SoakInstance instance) {
        removals.put(instance.id(), lb.removeBackend(instance.id()));
        note(Action.REMOVE, instance.id());
    }

    private void addAgain(SoakInstance instance) throws InterruptedException {
        CompletableFuture<Void> removal = removals.remove(instance.id());
        if (removal == null) {
            return;
        }
        try {
            removal.get(REMOVAL_WAIT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            problems.add("the removal of " + instance.id() + " did not complete within " + REMOVAL_WAIT_MILLIS + " ms");
            return;
        } catch (ExecutionException e) {
            problems.add("the removal of " + instance.id() + " failed: " + e.getCause());
            return;
        }
        register(instance);
        note(Action.READD, instance.id());
    }

    private void drain(SoakInstance instance) {
        maintenance.put(instance.id(), lb.beginMaintenance(instance.id()));
        note(Action.DRAIN, instance.id());
    }

    private void undrain(SoakInstance instance) {
        CompletableFuture<Void> drained = maintenance.remove(instance.id());
        if (drained == null) {
            return;
        }
        if (drained.isDone() && !drained.isCompletedExceptionally()) {
            actions.get(Action.DRAIN_COMPLETED).increment();
        }
        if (!lb.endMaintenance(instance.id())) {
            problems.add("endMaintenance(" + instance.id() + ") found it in service already");
        }
        note(Action.UNDRAIN, instance.id());
    }

    /** Puts every instance back up, serving and registered, whatever step the schedule stopped at. */
    private void restore() throws InterruptedException {
        for (SoakInstance instance : fleet) {
            if (!instance.isUp()) {
                restart(instance);
            }
            if (instance.mode() != SoakInstance.Mode.SERVING) {
                setMode(instance, SoakInstance.Mode.SERVING, Action.SERVE_AGAIN);
            }
        }
        for (SoakInstance instance : fleet) {
            if (maintenance.containsKey(instance.id())) {
                undrain(instance);
            }
            if (removals.containsKey(instance.id())) {
                addAgain(instance);
            }
        }
    }

    private void note(Action action, String id) {
        actions.get(action).increment();
        updateOutOfService();
        if (log != null) {
            log.printf(Locale.ROOT, "%8.1f s  chaos  %-40s %s%n", (System.nanoTime() - startNanos) / 1e9,
                    action.label, id);
        }
    }

    private void updateOutOfService() {
        List<String> out = new ArrayList<>();
        for (SoakInstance instance : fleet) {
            String id = instance.id();
            if (!instance.isUp()) {
                out.add(id + " killed");
            } else if (instance.mode() != SoakInstance.Mode.SERVING) {
                out.add(id + (instance.mode() == SoakInstance.Mode.FAILING ? " 503" : " hanging"));
            }
            if (removals.containsKey(id)) {
                out.add(id + " removed");
            }
            if (maintenance.containsKey(id)) {
                out.add(id + " drained");
            }
        }
        outOfService = String.join(", ", out);
    }

    // ---------------------------------------------------------------- what the balancer says

    @Override
    public void onBackendAdded(Backend backend) {
        count("backend added");
    }

    @Override
    public void onBackendDraining(Backend backend) {
        count("backend draining (removal)");
    }

    @Override
    public void onMaintenanceBegan(Backend backend) {
        count("backend in maintenance");
    }

    @Override
    public void onMaintenanceEnded(Backend backend) {
        count("backend back in service after maintenance");
    }

    @Override
    public void onBackendRemoved(Backend backend) {
        count("backend removed");
        if (backend.activeConnections() > 0) {
            count("backend removed, requests still in flight (drain timeout)");
        }
    }

    @Override
    public void onBackendHealthChanged(Backend backend, HealthState previous, HealthState current, String reason) {
        count("health " + previous + " -> " + current);
    }

    private void count(String event) {
        events.computeIfAbsent(event, k -> new LongAdder()).increment();
    }

    // ---------------------------------------------------------------- results

    long count(Action action) {
        return actions.get(action).sum();
    }

    /** Listener events by kind, in a stable order. */
    Map<String, Long> events() {
        Map<String, Long> sorted = new java.util.TreeMap<>();
        events.forEach((k, v) -> sorted.put(k, v.sum()));
        return sorted;
    }

    long event(String name) {
        LongAdder adder = events.get(name);
        return adder == null ? 0 : adder.sum();
    }

    /** Every backend ever registered by the soak, in the order of registration. */
    List<Backend> incarnations() {
        return List.copyOf(incarnations);
    }

    List<String> problems() {
        return List.copyOf(problems);
    }

    int cycles() {
        return cycles;
    }

    String outOfService() {
        return outOfService;
    }
}
