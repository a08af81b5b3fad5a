package dev.ailb.health;

/**
 * Where a backend stands as far as health goes. Only {@link #HEALTHY} backends get new requests
 * (unless every backend is unhealthy and the {@link AllUnhealthyPolicy} says to route anyway).
 *
 * <p>Constants of an enum: immutable and thread-safe.
 */
public enum HealthState {
    /** Passing its checks, or never checked; takes new requests. */
    HEALTHY,
    /**
     * Failed enough consecutive active checks in a row (or was marked unhealthy by hand); stays so
     * until enough checks in a row pass.
     */
    UNHEALTHY,
    /**
     * Taken out for a while by passive outlier detection after failing too many requests in a row;
     * comes back on probation when the ejection time is over.
     */
    EJECTED
}
