package dev.ailb.jcstress;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.LoadBalancerListener;
import dev.ailb.Request;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the race tests share: a balancer built so that thousands of them per second stay cheap,
 * a listener that counts and orders the events it hears, a scheduler that counts the drain
 * timeouts a balancer arms, and the request every selection routes.
 *
 * <p>Backends are registered at "127.0.0.1" with distinct ports; the host is a label and nothing
 * is ever contacted.
 */
final class Fixtures {
    static final String HOST = "127.0.0.1";

    /** The request the tests route; only IP_HASH looks at its client address. */
    static final Request REQUEST = new Request("race", "192.0.2.1", "/v1/completions");

    private Fixtures() {}

    /**
     * A balancer whose drain timeouts go to {@code timers} and are a day long, so that none fires
     * while a test runs and no balancer starts a timer thread of its own. The session table is
     * kept at its smallest, since no test uses sessions.
     */
    static LoadBalancer balancer(BalancingStrategy strategy, DrainTimers timers) {
        return LoadBalancer.builder()
                .strategy(strategy)
                .healthCheckScheduler(timers)
                .drainTimeout(Duration.ofDays(1))
                .maxSessions(1)
                .build();
    }

    /** Registers "a" of weight 3, then "b" of weight 1, and returns them in that order. */
    static List<Backend> registerPair(LoadBalancer lb) {
        Backend a = lb.addBackend("a", HOST, 8001, 3);
        Backend b = lb.addBackend("b", HOST, 8002, 1);
        return List.of(a, b);
    }

    /**
     * A request from a client address that IP_HASH sends to backend {@code id} while exactly the
     * pair of {@link #registerPair} is available. The ring depends only on the backends' ids and
     * weights, so a throwaway balancer finds the same address that every test balancer uses.
     */
    static Request addressHashingTo(String id) {
        LoadBalancer probe = balancer(BalancingStrategy.IP_HASH, new DrainTimers());
        registerPair(probe);
        for (int i = 1; i < 65_536; i++) {
            Request candidate = new Request("race", "198.51." + (i >> 8) + "." + (i & 0xff), "/v1/completions");
            if (probe.selectBackend(candidate).id().equals(id)) {
                return candidate;
            }
        }
        throw new IllegalStateException("no client address hashes to " + id);
    }

    /** Releases one connection; 1 if the call returned, 0 if it threw. */
    static int release(LoadBalancer lb, Backend backend, long nanos, boolean success) {
        try {
            lb.releaseConnection(backend, nanos, success);
            return 1;
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /**
     * Counts the events a balancer reports and stamps each with a shared sequence number, so a
     * test can tell in which order two threads told them.
     */
    static final class Events implements LoadBalancerListener {
        private final AtomicInteger sequence = new AtomicInteger();
        private final AtomicInteger removed = new AtomicInteger();
        private final AtomicInteger strategyChanges = new AtomicInteger();
        private volatile int drainingAt;
        private volatile int removedAt;
        private volatile Thread removedOn;

        @Override
        public void onBackendDraining(Backend backend) {
            drainingAt = sequence.incrementAndGet();
        }

        @Override
        public void onBackendRemoved(Backend backend) {
            removed.incrementAndGet();
            removedAt = sequence.incrementAndGet();
            removedOn = Thread.currentThread();
        }

        @Override
        public void onStrategyChanged(BalancingStrategy strategy) {
            strategyChanges.incrementAndGet();
        }

        int removed() {
            return removed.get();
        }

        int strategyChanges() {
            return strategyChanges.get();
        }

        /** The thread that reported the last removal, or null if none was reported. */
        Thread removedOn() {
            return removedOn;
        }

        /**
         * 1 if the draining event was told before the removal, 2 if the removal was told first, 0 if
         * either is missing.
         */
        int drainRemoveOrder() {
            int d = drainingAt;
            int r = removedAt;
            if (d == 0 || r == 0) {
                return 0;
            }
            return d < r ? 1 : 2;
        }
    }

    /**
     * The drain-timeout scheduler of one balancer. It counts the timeouts armed and remembers
     * their futures, so that a test can tell whether a drain was left without one and whether
     * every timeout was cancelled once its backend left. The work itself goes to one daemon
     * thread shared by the whole run; with a day-long drain timeout nothing ever runs there.
     */
    static final class DrainTimers extends AbstractExecutorService implements ScheduledExecutorService {
        private static final ScheduledThreadPoolExecutor SHARED = sharedExecutor();

        private final AtomicInteger armed = new AtomicInteger();
        private final List<ScheduledFuture<?>> scheduled = new CopyOnWriteArrayList<>();

        private static ScheduledThreadPoolExecutor sharedExecutor() {
            ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, task -> {
                Thread thread = new Thread(task, "drain-timers");
                thread.setDaemon(true);
                return thread;
            });
            executor.setRemoveOnCancelPolicy(true);
            return executor;
        }

        /** How many timeouts the balancer has scheduled. */
        int armed() {
            return armed.get();
        }

        /** How many scheduled timeouts are neither cancelled nor run. */
        int pending() {
            int count = 0;
            for (ScheduledFuture<?> f : scheduled) {
                if (!f.isDone()) {
                    count++;
                }
            }
            return count;
        }

        private <F extends ScheduledFuture<?>> F track(F future) {
            armed.incrementAndGet();
            scheduled.add(future);
            return future;
        }

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            return track(SHARED.schedule(command, delay, unit));
        }

        @Override
        public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
            return track(SHARED.schedule(callable, delay, unit));
        }

        @Override
        public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period,
                TimeUnit unit) {
            return track(SHARED.scheduleAtFixedRate(command, initialDelay, period, unit));
        }

        @Override
        public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay,
                TimeUnit unit) {
            return track(SHARED.scheduleWithFixedDelay(command, initialDelay, delay, unit));
        }

        @Override
        public void execute(Runnable command) {
            SHARED.execute(command);
        }

        /** The shared thread serves the whole run; a balancer never shuts a scheduler of the builder down. */
        @Override
        public void shutdown() {
            throw new UnsupportedOperationException("shared by the whole run");
        }

        @Override
        public List<Runnable> shutdownNow() {
            throw new UnsupportedOperationException("shared by the whole run");
        }

        @Override
        public boolean isShutdown() {
            return false;
        }

        @Override
        public boolean isTerminated() {
            return false;
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) {
            return false;
        }
    }
}
