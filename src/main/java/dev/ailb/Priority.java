package dev.ailb;

/**
 * How much a request matters when the fleet is full: the order in which waiting requests are
 * admitted, and which are refused first. When every backend that could serve a request is at its
 * limit, a {@link #CRITICAL} request waits ahead of a {@link #STANDARD} one, and a
 * {@link #SHEDDABLE} one is refused rather than made to wait. When the fleet has room, every
 * request is routed alike, whatever its priority.
 *
 * <p>The three classes are those of the Kubernetes Gateway API inference extension's criticality
 * (critical, standard, sheddable), so that a request keeps its class across the tiers it passes.
 *
 * <p>An enum: immutable and thread-safe.
 */
public enum Priority {
    /** Interactive traffic that must be served: admitted first, never shed while others wait. */
    CRITICAL,
    /** The default: admitted after critical requests, in arrival order among its tenant's. */
    STANDARD,
    /** Batch or best-effort traffic: refused, not queued, when the fleet is full. */
    SHEDDABLE
}
