package dev.ailb;

/**
 * Where a balancer learns its membership from: a DNS name, a Kubernetes Service, a service
 * registry of the application's own. {@link LoadBalancer#discover} starts a source; the source
 * tells the {@link DiscoveryContext} it is given each whole membership it learns
 * ({@link DiscoveryContext#update}, which reconciles the balancer to it as
 * {@link LoadBalancer#setBackends} does) and each time it cannot tell
 * ({@link DiscoveryContext#fail}, which keeps the last membership).
 *
 * <pre>{@code
 * final class FileSource implements DiscoverySource {
 *     private volatile ScheduledFuture<?> next;
 *     private volatile boolean closed;
 *
 *     public void start(DiscoveryContext context) {
 *         read(context);
 *     }
 *
 *     private void read(DiscoveryContext context) {
 *         if (closed) {
 *             return;
 *         }
 *         try {
 *             context.update(parse(Files.readAllLines(path)));
 *         } catch (IOException | RuntimeException e) {
 *             context.fail(e);
 *         }
 *         next = context.schedule(() -> read(context), Duration.ofSeconds(10));
 *     }
 *
 *     public void close() {
 *         closed = true;
 *         ScheduledFuture<?> pending = next;
 *         if (pending != null) {
 *             pending.cancel(false);
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>A source polls (on {@link DiscoveryContext#schedule}, the balancer's scheduler, which tests
 * drive in virtual time) or watches (on threads of its own or of its client library). It decides
 * what a failure is: an unreachable server or an error answer is a failure, an answer that lists
 * no backend is an empty membership. A backend being shut down (a terminating endpoint) is left
 * out of the membership: the balancer drains it. Each backend keeps one id across updates, such
 * as its {@code host:port}.
 *
 * <p>Implementations must be thread-safe: {@link #close} may be called from any thread while an
 * update is under way.
 */
public interface DiscoverySource extends AutoCloseable {

    /**
     * Starts delivering the membership to {@code context}. Called once, by
     * {@link LoadBalancer#discover}, on the caller's thread: a source may deliver its first
     * membership before it returns, or later.
     *
     * @param context where the memberships and failures go
     * @throws RuntimeException if the source cannot start; the balancer then does not run it
     */
    void start(DiscoveryContext context);

    /**
     * Stops delivering: no update or failure is delivered after this returns. Releases what the
     * source holds (a watch, a scheduled poll). Idempotent.
     */
    @Override
    void close();
}
