package dev.ailb.demo;

/**
 * What one request of the drain scenario did, as its client thread saw it.
 *
 * @param backend     the id of the instance its lease was on
 * @param acquiringAt when the client asked the balancer for a lease, by {@link System#nanoTime()}
 * @param releasingAt when the answer was in and the lease about to be released
 * @param success     whether it was released as a success
 */
record Routed(String backend, long acquiringAt, long releasingAt, boolean success) {}
