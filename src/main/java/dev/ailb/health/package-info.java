/**
 * Health of backends: the {@link dev.ailb.health.HealthCheck} that active checks run, its
 * {@link dev.ailb.health.HealthCheckResult}, the passive {@link dev.ailb.health.OutlierDetection}
 * settings, the {@link dev.ailb.health.HealthState} of a backend and the
 * {@link dev.ailb.health.HealthStats} reported for it, and the
 * {@link dev.ailb.health.AllUnhealthyPolicy} that decides what happens when no backend is healthy.
 *
 * <p>All of it is configured through {@link dev.ailb.LoadBalancer#builder()}; the checking itself
 * runs inside the {@link dev.ailb.LoadBalancer}.
 */
package dev.ailb.health;
