package dev.ailb.testing;

import dev.ailb.Backend;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import java.util.HashMap;
import java.util.Map;

/** Drives a balancer the way a test of a strategy needs, and judges the spread of its picks. */
public final class Traffic {
    /** The request every helper here routes; strategies that ignore the request see no difference. */
    public static final Request REQUEST = new Request("req-1", "192.168.1.100", "/api/process");

    private Traffic() {}

    /** Selects {@code times} times and counts the picks by backend id. */
    public static Map<String, Integer> pickMany(LoadBalancer lb, int times) {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < times; i++) {
            counts.merge(lb.selectBackend(REQUEST).id(), 1, Integer::sum);
        }
        return counts;
    }

    /** Acquires {@code times} connections on a backend. */
    public static void acquire(LoadBalancer lb, Backend backend, int times) {
        for (int i = 0; i < times; i++) {
            lb.acquireConnection(backend);
        }
    }

    /**
     * Pearson's chi-square statistic of {@code counts} against a uniform spread of {@code draws}
     * over {@code categories}; categories never drawn contribute their full expectation.
     */
    public static double chiSquare(Map<String, Integer> counts, int categories, int draws) {
        double expected = (double) draws / categories;
        double statistic = 0;
        for (int observed : counts.values()) {
            statistic += (observed - expected) * (observed - expected) / expected;
        }
        statistic += (categories - counts.size()) * expected;
        return statistic;
    }
}
