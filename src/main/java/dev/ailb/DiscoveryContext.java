package dev.ailb;

import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.ScheduledFuture;

/**
 * What a running {@link DiscoverySource} tells its balancer, and the scheduler it may poll on.
 *
 * <p>Thread-safe: a source may call it from any thread, its calls are applied one at a time.
 */
public interface DiscoveryContext {

    /**
     * The name of the balancer the source feeds, for the source's own log lines.
     *
     * @return the balancer's name
     */
    String balancerName();

    /**
     * The whole membership now: the balancer is reconciled to it as
     * {@link LoadBalancer#setBackends} reconciles (new backends added, kept ones updated, the
     * others drained). An empty collection drains every backend. A source that failed before and
     * delivers again is logged as recovered. Ignored once the discovery is closed.
     *
     * @param backends the membership
     * @return what changed; empty if the discovery is closed
     * @throws NullPointerException     if {@code backends} or one of its elements is null
     * @throws IllegalArgumentException if an id is given twice (nothing changes; it also counts
     *                                  as a failure of the source)
     * @throws IllegalStateException    if the balancer's strategy fails to build its picker for the
     *                                  new set (nothing changes; it also counts as a failure)
     */
    MembershipChange update(Collection<BackendSpec> backends);

    /**
     * The source cannot tell the membership now (its server is unreachable or answers with an
     * error): the balancer keeps the last membership. The first failure of a run of failures is
     * logged at WARN with its cause, the next ones at DEBUG, and the first update after them at
     * INFO.
     *
     * @param cause why
     * @throws NullPointerException if {@code cause} is null
     */
    void fail(Throwable cause);

    /**
     * Runs a task once after a delay, on the balancer's scheduler: the one given to
     * {@link LoadBalancerBuilder#healthCheckScheduler}, or a daemon thread of the balancer's own.
     * Keep tasks short: drain timeouts run there too; a source whose lookups block for long runs
     * them on threads of its own and only schedules here.
     *
     * @param task  the task
     * @param delay how long from now, not negative
     * @return the task's future, to cancel it; null once the discovery or the balancer is closed
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if {@code delay} is negative
     */
    ScheduledFuture<?> schedule(Runnable task, Duration delay);
}
