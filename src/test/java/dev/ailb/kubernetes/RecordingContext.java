package dev.ailb.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ailb.BackendSpec;
import dev.ailb.DiscoveryContext;
import dev.ailb.LoadBalancer;
import dev.ailb.MembershipChange;
import dev.ailb.testing.ManualScheduler;
import dev.ailb.testing.ManualTicker;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A {@link DiscoveryContext} that records what a source tells it, in order, for a test to take one
 * by one as the source's threads deliver them, and reconciles a balancer of its own to each
 * update; its scheduler runs in virtual time.
 */
final class RecordingContext implements DiscoveryContext, AutoCloseable {
    /** How long a test waits for the informer's threads: generous, since they are real. */
    static final long WAIT_SECONDS = 30;

    /** One thing the source said: an update's ids, or a failure. */
    record Said(List<String> ids, List<BackendSpec> backends, Throwable failure) {}

    final ManualScheduler scheduler = new ManualScheduler(new ManualTicker());
    private final BlockingQueue<Said> said = new LinkedBlockingQueue<>();
    private final LoadBalancer balancer = LoadBalancer.builder().build();

    @Override
    public String balancerName() {
        return "recording";
    }

    @Override
    public MembershipChange update(Collection<BackendSpec> backends) {
        List<BackendSpec> copy = List.copyOf(backends);
        said.add(new Said(copy.stream().map(BackendSpec::id).toList(), copy, null));
        return balancer.setBackends(copy);
    }

    @Override
    public void fail(Throwable cause) {
        said.add(new Said(null, null, cause));
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable task, Duration delay) {
        return scheduler.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** The next thing said, waiting for it. */
    Said next() throws InterruptedException {
        Said next = said.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(next).as("something said within " + WAIT_SECONDS + " s").isNotNull();
        return next;
    }

    /** The next update, which must come before any failure. */
    Said nextUpdate() throws InterruptedException {
        Said next = next();
        assertThat(next.failure()).as("a failure instead of an update").isNull();
        return next;
    }

    /** The next failure, which must come before any update. */
    Throwable nextFailure() throws InterruptedException {
        Said next = next();
        assertThat(next.ids()).as("an update instead of a failure").isNull();
        return next.failure();
    }

    /** Whether nothing was said that no test has taken yet. */
    boolean quiet() {
        return said.isEmpty();
    }

    /** Closes the balancer. */
    @Override
    public void close() {
        balancer.close();
    }

    /** The next thing said if any, without waiting. */
    Said poll() {
        return said.poll();
    }
}
