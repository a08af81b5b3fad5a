/**
 * Micrometer metrics for a {@link dev.ailb.LoadBalancer}: {@link dev.ailb.micrometer.LoadBalancerMeterBinder}.
 * Micrometer is an optional dependency; only this package uses it.
 */
package dev.ailb.micrometer;
