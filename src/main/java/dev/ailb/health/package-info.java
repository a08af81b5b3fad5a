/**
 * Health of backends: the {@link dev.ailb.health.HealthCheck} that active checks run, its
 * {@link dev.ailb.health.HealthCheckResult}, the passive {@link dev.ailb.health.OutlierDetection}
 * settings, the {@link dev.ailb.health.HealthState} of a backend and the
 * {@link dev.ailb.health.HealthStats} reported for it, and the
 * {@link dev.ailb.health.AllUnhealthyPolicy} that decides what happens when no backend is healthy.
 * The servers' own pages are read by {@link dev.ailb.health.PrometheusLoadSource} (load reports) and
 * {@link dev.ailb.health.ModelDiscovery} (what each serves); {@link dev.ailb.health.HttpProbeOptions}
 * gives these and the HTTP check their scheme, TLS context and headers.
 *
 * <p>All of it is configured through {@link dev.ailb.LoadBalancer#builder()}; the checking itself
 * runs inside the {@link dev.ailb.LoadBalancer}.
 */
package dev.ailb.health;
