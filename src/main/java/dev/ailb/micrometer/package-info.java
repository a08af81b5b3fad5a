/**
 * Micrometer for a {@link dev.ailb.LoadBalancer}: its metrics
 * ({@link dev.ailb.micrometer.LoadBalancerMeterBinder}) and an Observation, so a span, per attempt
 * ({@link dev.ailb.micrometer.ObservationAttemptTracing}). Micrometer is an optional dependency;
 * only this package uses it.
 */
package dev.ailb.micrometer;
