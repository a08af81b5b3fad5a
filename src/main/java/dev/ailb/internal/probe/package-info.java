/**
 * A generic prober: rounds of probes (health checks, load polls, anything that answers with a
 * stage) over targets its caller hands it, each probe bounded by a timeout whatever it does. It
 * knows nothing of the balancer; {@code dev.ailb.HealthChecker} binds it to backends, health checks
 * and load sources.
 * <ul>
 *   <li>{@link dev.ailb.internal.probe.Prober}: start, stop, close and on-demand rounds; the
 *       recurring rounds on the scheduler;</li>
 *   <li>{@link dev.ailb.internal.probe.RecurringTask}, {@link dev.ailb.internal.probe.ProbeKind},
 *       {@link dev.ailb.internal.probe.Targets}: what the caller describes; a probe is lent a
 *       {@link dev.ailb.internal.probe.ProbeContext};</li>
 *   <li>{@code Probes}: one probe per target and forced outcomes (the design note is there),
 *       with {@code Probe} (one probe's outcome and timer) and {@code Work} (the tasks of one
 *       probe);</li>
 *   <li>{@code Session}: the threads, the scheduler and the HTTP client of one run (the note on
 *       threads is there), named by {@code ProberThreads};</li>
 *   <li>{@code OnDemandRound}: a round whose caller waits, bounded in real time.</li>
 * </ul>
 */
package dev.ailb.internal.probe;
