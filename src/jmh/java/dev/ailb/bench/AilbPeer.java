package dev.ailb.bench;

import dev.ailb.Backend;
import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import java.util.List;

/**
 * This library's side of {@link PeerBenchmark}: {@link LoadBalancer#selectBackend(Request)} under
 * the built-in strategy named by the variant ({@code ROUND_ROBIN}, {@code LEAST_CONNECTIONS}, ...),
 * over backends with the weights and completed requests of {@link PeerPicker}.
 *
 * <p>The selection counts its request on its backend, so the counted pick is the pick itself; the
 * call's bookkeeping is {@code acquireConnection} and {@code releaseConnection} of a 1 ms success.
 */
final class AilbPeer extends PeerPicker {

    /** The response time of every release of {@link #pickAcquireRelease}: 1 ms. */
    static final long RESPONSE_NANOS = 1_000_000L;

    private final LoadBalancer lb;
    private final Request[] requests = new Request[KEYS];

    AilbPeer(String strategy, int servers) {
        BalancingStrategy target = BalancingStrategy.builtIn(strategy);
        // Registered under ROUND_ROBIN, cheap to rebuild per registration; the measured strategy
        // is set once at the end, so its picker is built once for the final set.
        lb = new LoadBalancer(BalancingStrategy.ROUND_ROBIN);
        for (int i = 0; i < servers; i++) {
            lb.addBackend("b-" + i, HOST, port(i), weight(i));
        }
        List<Backend> all = lb.getBackends();
        for (int i = 0; i < all.size(); i++) {
            Backend backend = all.get(i);
            for (int k = 0; k < COMPLETED_PER_SERVER; k++) {
                lb.acquireConnection(backend);
                lb.releaseConnection(backend, responseMicros(i, k) * 1_000L, true);
            }
        }
        lb.setStrategy(target);
        for (int k = 0; k < KEYS; k++) {
            requests[k] = new Request("req-" + k, clientKey(k), "/v1/completions");
        }
    }

    @Override
    Object pick(int key) {
        return lb.selectBackend(requests[key]);
    }

    @Override
    Object pickCounted(int key) {
        return lb.selectBackend(requests[key]);
    }

    @Override
    Object pickAcquireRelease(int key) {
        Backend backend = lb.selectBackend(requests[key]);
        lb.acquireConnection(backend);
        lb.releaseConnection(backend, RESPONSE_NANOS, true);
        return backend;
    }

    @Override
    public void close() {
        lb.close();
    }
}
