package dev.ailb.bench;

import com.netflix.loadbalancer.BaseLoadBalancer;
import com.netflix.loadbalancer.BestAvailableRule;
import com.netflix.loadbalancer.DummyPing;
import com.netflix.loadbalancer.IRule;
import com.netflix.loadbalancer.LoadBalancerStats;
import com.netflix.loadbalancer.RandomRule;
import com.netflix.loadbalancer.RoundRobinRule;
import com.netflix.loadbalancer.Server;
import com.netflix.loadbalancer.WeightedResponseTimeRule;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Netflix Ribbon: {@code BaseLoadBalancer.chooseServer} with the rule named by the variant
 * ({@code RoundRobinRule}, {@code RandomRule}, {@code BestAvailableRule},
 * {@code WeightedResponseTimeRule}).
 *
 * <p>The balancer pings with {@code DummyPing}, which it recognises as needing no ping task: every
 * server is up and no ping timer is ever started. The servers' statistics hold the completed
 * requests of {@link PeerPicker} (active count back to zero, three response times each). The rule
 * is set once the statistics are filled, so that {@code WeightedResponseTimeRule} computes its
 * weights from them (on a timer thread of its own, at once and then every 30 s; it touches only
 * those statistics, and setup waits until the weights are in force) and {@code BestAvailableRule}
 * reads the balancer's statistics.
 */
final class RibbonPeer extends CountingPeer {

    private final BaseLoadBalancer lb;
    private final IRule rule;
    private final String[] keys = new String[KEYS];

    RibbonPeer(String variant, int servers) {
        LoadBalancerStats stats = new LoadBalancerStats("ailb-bench");
        lb = new BaseLoadBalancer("ailb-bench", new RoundRobinRule(), stats, new DummyPing());
        List<Server> list = new ArrayList<>(servers);
        for (int i = 0; i < servers; i++) {
            list.add(new CountedServer(HOST, port(i)));
        }
        lb.addServers(list);
        for (int i = 0; i < servers; i++) {
            Server server = list.get(i);
            for (int k = 0; k < COMPLETED_PER_SERVER; k++) {
                stats.incrementActiveRequestsCount(server);
                stats.incrementNumRequests(server);
                stats.noteResponseTime(server, responseMicros(i, k) / 1_000.0);
                stats.decrementActiveRequestsCount(server);
            }
        }
        rule = switch (variant) {
            case "RoundRobinRule" -> new RoundRobinRule();
            case "RandomRule" -> new RandomRule();
            case "BestAvailableRule" -> new BestAvailableRule();
            case "WeightedResponseTimeRule" -> new WeightedResponseTimeRule();
            default -> throw new IllegalArgumentException("unknown Ribbon rule " + variant);
        };
        lb.setRule(rule);
        if (lb.getReachableServers().size() != servers) {
            throw new IllegalStateException("Ribbon sees " + lb.getReachableServers().size()
                    + " of " + servers + " servers up");
        }
        if (rule instanceof WeightedResponseTimeRule && servers > 1) {
            requireWeightsInForce(list);
        }
        for (int k = 0; k < KEYS; k++) {
            keys[k] = clientKey(k);
        }
    }

    /**
     * Waits until the rule's weights are in force. The rule computes them on a timer thread of its
     * own, started when the rule is set, which takes a while for thousands of servers; until then
     * it falls back to round robin, which over {@code 4n} picks gives every server exactly four.
     */
    private void requireWeightsInForce(List<Server> list) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (roundRobins(list)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("WeightedResponseTimeRule computed no weights in 60 s");
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for weights", e);
            }
        }
    }

    private boolean roundRobins(List<Server> list) {
        Map<Server, Integer> counts = new HashMap<>();
        for (int p = 0; p < 4 * list.size(); p++) {
            counts.merge(lb.chooseServer(null), 1, Integer::sum);
        }
        return counts.size() == list.size() && counts.values().stream().allMatch(c -> c == 4);
    }

    @Override
    Object pick(int key) {
        return lb.chooseServer(keys[key]);
    }

    @Override
    ServerCounts countsOf(Object server) {
        return ((CountedServer) server).counts;
    }

    /** A Ribbon server with the figures of the like-for-like paths. */
    static final class CountedServer extends Server {
        final ServerCounts counts = new ServerCounts();

        CountedServer(String host, int port) {
            super(host, port);
        }
    }

    @Override
    public void close() {
        if (rule instanceof WeightedResponseTimeRule weighted) {
            weighted.shutdown();
        }
        lb.shutdown();
    }
}
