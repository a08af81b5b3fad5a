/**
 * The load balancer: {@link dev.ailb.LoadBalancer}, the {@link dev.ailb.BalancingStrategy} it
 * picks with, the {@link dev.ailb.Backend}s it spreads {@link dev.ailb.Request}s over, and what it
 * reports about them.
 *
 * <h2>Use</h2>
 * Build a balancer ({@code new LoadBalancer()}, {@link dev.ailb.LoadBalancer#builder()} or
 * {@link dev.ailb.LoadBalancer#fromProperties}), add backends, then for each request either
 * select a backend and bracket the call with {@code acquireConnection} and
 * {@code releaseConnection}, or take a {@link dev.ailb.Lease} with {@code acquire}, or let
 * {@code execute} run the call with retries, or {@code executeAsync} without a waiting thread,
 * with deadlines and hedging ({@link dev.ailb.CallOptions}).
 *
 * <h2>Threading</h2>
 * Every public type is thread-safe. Selection takes no lock: the registered backends, the
 * available ones and the picker the strategy built for them live in one immutable snapshot behind
 * a volatile field, and a selection reads it once. Changes (backends added or removed, health,
 * strategy) take one lock, build the next snapshot and publish it; they never block a selection.
 * A selection counts its request with one atomic increment on its backend, and a release updates
 * each of its backend's figures once; the balancer's overall figures are derived from the
 * backends' when read. Listeners are called after the lock is released. Health checks and load
 * polls run on the health checker's threads, never on a caller's.
 *
 * <h2>Inside</h2>
 * {@code LoadBalancer} validates each call and delegates to package-private collaborators, each
 * owning its state; {@code LoadBalancerBuilder} resolves the settings into one
 * {@code BalancerSettings} record that the collaborators take their part of:
 * <ul>
 *   <li>{@code RequestPath}: one request top-down, the candidates of the view, the strategy's pick,
 *       the re-check, the capacity stage ({@code ConnectionLimits}: when a backend is full, and
 *       where a full pick's request goes instead), the acquisition, the count and the lease;</li>
 *   <li>{@code CandidateFilter}: the stage that narrows a view to what a request may go to, the
 *       backends serving its model and carrying its labels, best adapter tier first
 *       ({@code Candidates}); {@code Subsets} keeps each kind of request with its own selector and
 *       builds their candidates when a view is published (the design note is there);</li>
 *   <li>{@code Admission}: the requests that found every candidate full, waiting by priority and
 *       tenant until room is freed, their deadline passes or their caller withdraws them (the
 *       design note is there);</li>
 *   <li>{@code DecisionRecords}: where each attempt's routing decision goes when it is made, the
 *       DEBUG line of {@code dev.ailb.routing} and the attempt's {@link dev.ailb.AttemptTracer}; a
 *       lease keeps the decision in its own fields ({@link dev.ailb.RoutingDecision} is built on
 *       demand);</li>
 *   <li>{@code Releases}: the end of a request, its connection given back, its outcome counted
 *       and shown to outlier detection, the drain its last release finishes, and the room it
 *       frees offered to the admission queue;</li>
 *   <li>{@code RoutingTable}: the published view ({@code Registry}), the writers' lock, and the
 *       orders in which a writer publishes a view and flags a backend (the design note is there);
 *       {@code SlowStartRamps}, which it owns: the backends in slow start, their factors and the
 *       timer that steps them;</li>
 *   <li>{@code Membership}: registration (one backend, several at once, or the whole membership
 *       reconciled), removal by drain and its timeout, maintenance, and the backends a reconcile
 *       set waiting for a namesake to drain;</li>
 *   <li>{@code DiscoveryRun}: a running {@code DiscoverySource}: its updates reconciled one at a
 *       time, its failures counted and logged once per run;</li>
 *   <li>{@code HealthTransitions}: check verdicts against the thresholds, outlier ejection, the
 *       end of ejections, marking by hand; {@code HealthChecker} runs the checks and load polls on
 *       the generic prober of {@code dev.ailb.internal.probe}, which owns their threads and timeouts;</li>
 *   <li>{@code SessionRouting}: sticky sessions, in table or hash mode, over the pick path
 *       ({@code Router});</li>
 *   <li>{@code RetryingExecutor}: the attempts of {@code execute} with the retry budget, a
 *       session's first on its backend;</li>
 *   <li>{@code AsyncExecutor}: the attempts of {@code executeAsync}, each call's deadline,
 *       first-token deadlines and hedge decided under the call's own lock, retries and hedges
 *       spending {@code RetryingExecutor}'s budget, and the timer thread (the design note is
 *       there);</li>
 *   <li>{@code TrafficFigures}: the counts, times and histograms, and how a departing backend's
 *       figures fold into the balancer's;</li>
 *   <li>{@code LoadReports}: the backends' load reports, the outcome of load polls, saturation, and each backend's estimate of the adapters it holds ({@code ResidentAdapters});</li>
 *   <li>{@code LearntModels}: what the backends' servers say they serve (model discovery);</li>
 *   <li>{@code Listeners}: the listeners, told outside the lock;</li>
 *   <li>the built-in strategies, one small class each ({@code *Strategy}), which see only the
 *       strategy SPI ({@code Selector}, {@code Picker}, {@code Backend}, {@code Request}).</li>
 * </ul>
 * {@code Backend} is the public view of one backend; its machinery is in classes named after what
 * they own: {@code LifecycleWord} (the connection count and the maintenance, draining and removed
 * flags; the design note is there), {@code InFlightTokens} and {@code PeakEwma}, a chain of
 * superclasses so that the fields the strategies scan stay inline, and {@code CompletionFigures}.
 * {@code ArchitectureTest} holds the layering.
 *
 * <h2>Choosing a strategy</h2>
 * For LLM inference, where a request may take 50 ms or a minute, use
 * {@link dev.ailb.BalancingStrategy#LEAST_CONNECTIONS} (optionally counting tokens with
 * {@link dev.ailb.LoadBalancerBuilder#countTokens}): on simulated fleets it stays within a few
 * percent of an oracle that sees the true queues, whether an instance is slower, degrades or fails.
 * {@link dev.ailb.BalancingStrategy#RESOURCE_BASED} adds what the instances report (queue, KV
 * cache), which matters when other clients share the fleet. Round robin and random keep sending a
 * slow instance its fixed share, more than it can serve; use them only for equal instances and
 * uniform requests. {@link dev.ailb.BalancingStrategy#IP_HASH} and sticky sessions keep a client or
 * a conversation on one instance, for its caches.
 */
package dev.ailb;
