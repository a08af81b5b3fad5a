package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNonNegative;
import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.MAX_NANOS;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link DiscoverySource} running for a balancer: the context it delivers to and the handle
 * {@link LoadBalancer#discover} returns. Updates and failures are applied one at a time, under
 * the run's own lock, so that a close returns only once an update under way is done and none
 * follows it. A run of failures is logged once at WARN, its end at INFO.
 *
 * <p>Thread-safe.
 */
final class DiscoveryRun implements Discovery, DiscoveryContext {
    private static final Logger log = LoggerFactory.getLogger(DiscoveryRun.class);
    private static final MembershipChange NONE = new MembershipChange(List.of(), List.of(), List.of(), List.of(), 0);

    private final String name;
    private final DiscoverySource source;
    private final Function<Collection<BackendSpec>, MembershipChange> reconcile;
    private final Membership membership;
    private final BooleanSupplier balancerClosed;
    private final Consumer<DiscoveryRun> onClose;
    private final Object lock = new Object();
    private volatile boolean closed;
    private volatile long updates; // written under lock
    private volatile long failures; // written under lock
    private volatile boolean failing; // written under lock
    private long failuresInRun; // guarded by lock

    DiscoveryRun(String name, DiscoverySource source, Function<Collection<BackendSpec>, MembershipChange> reconcile,
            Membership membership, BooleanSupplier balancerClosed, Consumer<DiscoveryRun> onClose) {
        this.name = name;
        this.source = source;
        this.reconcile = reconcile;
        this.membership = membership;
        this.balancerClosed = balancerClosed;
        this.onClose = onClose;
    }

    @Override
    public String balancerName() {
        return name;
    }

    @Override
    public MembershipChange update(Collection<BackendSpec> backends) {
        synchronized (lock) {
            if (closed) {
                return NONE;
            }
            MembershipChange change;
            try {
                change = reconcile.apply(backends);
            } catch (IllegalStateException e) {
                if (closed || balancerClosed.getAsBoolean()) {
                    return NONE; // closing under way: the source is about to be closed too
                }
                failed(e);
                throw e;
            } catch (RuntimeException e) {
                failed(e);
                throw e;
            }
            updates++;
            if (failing) {
                log.info("{} - Discovery {} recovered after {} failures: {}", name, source, failuresInRun, change);
                failing = false;
                failuresInRun = 0;
            }
            return change;
        }
    }

    @Override
    public void fail(Throwable cause) {
        checkNotNull(cause, "cause");
        synchronized (lock) {
            if (!closed) {
                failed(cause);
            }
        }
    }

    /** Counts a failure and logs it, at WARN if it starts a run of failures. Holds the lock. */
    private void failed(Throwable cause) {
        failures++;
        failuresInRun++;
        if (!failing) {
            failing = true;
            log.warn("{} - Discovery {} failed, keeping the last membership until it answers again: {}", name,
                    source, cause.toString());
            log.debug("{} - Discovery {} failure", name, source, cause);
        } else {
            log.debug("{} - Discovery {} failed again ({} in a row)", name, source, failuresInRun, cause);
        }
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable task, Duration delay) {
        checkNotNull(task, "task");
        checkNonNegative(delay, "delay");
        if (closed) {
            return null;
        }
        long nanos = delay.compareTo(MAX_NANOS) > 0 ? Long.MAX_VALUE : delay.toNanos();
        return membership.schedule(() -> {
            if (!closed) {
                task.run();
            }
        }, nanos);
    }

    @Override
    public DiscoverySource source() {
        return source;
    }

    @Override
    public long updates() {
        return updates;
    }

    @Override
    public long failures() {
        return failures;
    }

    @Override
    public boolean isFailing() {
        return failing;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            source.close();
        } catch (RuntimeException e) {
            log.warn("{} - Discovery {} failed to close: {}", name, source, e.toString());
        }
        onClose.accept(this);
        log.info("{} - Discovery {} closed; the membership stays as it is", name, source);
    }

    @Override
    public String toString() {
        return "Discovery{" + source + ", updates=" + updates + ", failures=" + failures
                + (failing ? ", failing" : "") + (closed ? ", closed" : "") + '}';
    }
}
