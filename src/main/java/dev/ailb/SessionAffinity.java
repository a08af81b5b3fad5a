package dev.ailb;

/**
 * How {@link LoadBalancer#selectBackend(Request, String)} keeps a session on one backend.
 *
 * <ul>
 *   <li>{@link #TABLE} (the default) remembers each session's backend in a bounded table: the
 *       first request is placed by the strategy, so sessions spread as the strategy spreads load,
 *       and a session moves only when its backend stops taking requests. Choose it when one
 *       balancer instance sees all of a session's requests.
 *   <li>{@link #CONSISTENT_HASH} keeps no table: the session id is hashed onto a ring of the
 *       available backends, so every application replica running its own balancer sends a session
 *       to the same backend without sharing any state. It ignores the strategy and load, and when
 *       a backend joins or leaves, about 1/n of the sessions move. Choose it when several
 *       replicas serve the same sessions, e.g. to keep an LLM's prefix cache warm.
 * </ul>
 *
 * <p>Constants of an enum: immutable and thread-safe.
 */
public enum SessionAffinity {
    /** Remember each session's backend in a bounded table (LRU, idle timeout). */
    TABLE,
    /** Hash the session id onto a consistent-hash ring of the available backends. */
    CONSISTENT_HASH
}
