package dev.ailb;

import dev.ailb.health.AllUnhealthyPolicy;
import dev.ailb.health.HealthCheck;
import dev.ailb.health.LoadSource;
import dev.ailb.health.ModelDiscovery;
import dev.ailb.health.OutlierDetection;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.random.RandomGenerator;

/**
 * A balancer's settings as {@link LoadBalancerBuilder#settings()} resolved them: every default
 * filled in, every value checked alone and against the others. The collaborators take what they
 * need from here, so no default is decided in two places.
 *
 * @param name                the balancer's name, shown in its log lines and threads
 * @param strategy            the initial strategy
 * @param ticker              the source of time
 * @param random              the source of randomness for strategies and retry jitter
 * @param decayNanos          the response-time decay
 * @param defaultTokens       the token estimate of a request that carries none; 0 to count connections
 * @param saturation          when a load report says a backend is saturated
 * @param allUnhealthyPolicy  what a pick does when no backend is healthy
 * @param health              active checks, outlier ejection and load polls
 * @param drainTimeoutNanos   how long a removed backend's requests may keep it
 * @param sessionAffinity     how sticky sessions are placed
 * @param maxSessions         how many sessions the table holds
 * @param sessionIdleNanos    how long an unused session stays bound
 * @param retryPolicy         how {@code execute} retries and {@code executeAsync} hedges
 * @param callScheduler       the application's scheduler for the timers of {@code executeAsync};
 *                            null when the balancer starts its own
 * @param admission           connection limits and the admission queue
 * @param attemptTracing      the factory of each attempt's tracer; null for none
 * @param slowStart           the ramp of backends becoming available; null for none
 */
record BalancerSettings(
        String name,
        BalancingStrategy strategy,
        Ticker ticker,
        RandomGenerator random,
        double decayNanos,
        long defaultTokens,
        Saturation saturation,
        AllUnhealthyPolicy allUnhealthyPolicy,
        Health health,
        long drainTimeoutNanos,
        SessionAffinity sessionAffinity,
        int maxSessions,
        long sessionIdleNanos,
        RetryPolicy retryPolicy,
        ScheduledExecutorService callScheduler,
        Admission admission,
        AttemptTracer.Factory attemptTracing,
        SlowStart slowStart) {

    boolean failOpen() {
        return allUnhealthyPolicy == AllUnhealthyPolicy.FAIL_OPEN;
    }

    /**
     * When a backend's load report marks it saturated: at least this many waiting requests, or a
     * KV cache at least this full, in a report no older than the age.
     */
    record Saturation(int waitingRequests, double kvCacheUsage, long maxAgeNanos) {}

    /**
     * Connection limits and the admission queue.
     *
     * @param connectionLimit the limit of a backend without its own;
     *                        {@link LoadBalancer#NO_CONNECTION_LIMIT} for none
     * @param on              whether backends can be full from the start: a limit or a queue was set
     * @param queueCapacity   how many requests may wait for room
     * @param maxWaitNanos    how long a request waits at most, unless its call says otherwise
     */
    record Admission(int connectionLimit, boolean on, int queueCapacity, long maxWaitNanos) {}

    /**
     * Active checks and their thresholds, outlier ejection, and load polls.
     *
     * @param check              the active check; null when the rounds only end ejections
     * @param interval           between check rounds
     * @param timeout            of one check or poll
     * @param jitter             of the first round's start
     * @param healthyThreshold   passed checks in a row that bring a backend up
     * @param unhealthyThreshold failed checks in a row that take it down
     * @param scheduler          the application's scheduler; null when the checker starts its own
     * @param initiallyHealthy   whether a new backend starts healthy
     * @param outlierDetection   passive ejection on failed requests
     * @param loadSource         where load reports come from; null for none
     * @param pollInterval       between load polls
     */
    record Health(
            HealthCheck check,
            Duration interval,
            Duration timeout,
            Duration jitter,
            int healthyThreshold,
            int unhealthyThreshold,
            ScheduledExecutorService scheduler,
            boolean initiallyHealthy,
            OutlierDetection outlierDetection,
            LoadSource loadSource,
            Duration pollInterval,
            ModelDiscovery discovery,
            Duration discoveryInterval) {}
}
