package dev.ailb;

import java.util.random.RandomGenerator;

/**
 * Lowest expected latency; see {@link BalancingStrategy#LEAST_RESPONSE_TIME}. Immutable.
 *
 * <p>The cost of a backend is its peak EWMA response time, decayed to the present (see
 * {@link Backend#responseTimeEwmaNanos(long)}; counted as at least 1 ns), times
 * {@code activeConnections + 1}, the way Finagle's peak-EWMA balancer weighs latency by
 * outstanding work: the fastest backend draws
 * traffic only until its queue makes it slower than the next one, so it does not take the whole
 * herd; and a backend left idle after a slow answer sees its average fade until it is tried again.
 *
 * <p>A backend with no completed request yet has no average. If it is idle, it is chosen at once
 * so it gets measured. If it already has a request in flight, it is costed as the slowest measured
 * backend would be, so a new backend gets one probe at a time rather than every request while its
 * first answer is pending. When nothing has been measured, the cost reduces to the connection
 * count. Ties are settled by reservoir sampling, so equal backends share the traffic evenly.
 *
 * <p>A pick reads no clock and computes no exponential: it compares
 * {@linkplain Backend#responseTimeRank() ranks}, the logarithms of the averages shifted by the
 * time of their last update, to which the logarithm of {@code activeConnections + 1} is added.
 * All averages decay at the same pace, so this orders the backends exactly as the decayed costs
 * would at any instant.
 *
 * <p>Beyond {@link LeastConnectionsStrategy#EXACT_SCAN_MAX} available backends a pick compares two
 * backends drawn at random instead of scanning them all (power of two choices), with the same
 * costs: an unmeasured idle one is taken, a busy unmeasured one is costed with the other's
 * latency (the slowest the pick knows of), and a tie goes to the first drawn.
 */
final class LeastResponseTimeStrategy implements BalancingStrategy {

    @Override
    public Selector newSelector(SelectionContext context) {
        RandomGenerator random = context.random();
        return available -> {
            Backend[] backends = available.toArray(new Backend[0]);
            int n = backends.length;
            double[] logFactors = RampedWeights.logFactorsOf(available);
            if (logFactors != null) {
                return rampedPicker(backends, logFactors, random);
            }
            if (n > LeastConnectionsStrategy.EXACT_SCAN_MAX) {
                return request -> {
                    long pair = TwoChoices.draw(random, n);
                    return cheaperOfTwo(backends[TwoChoices.first(pair)], backends[TwoChoices.second(pair)]);
                };
            }
            return request -> {
                Backend idle = null; // an unmeasured backend with nothing in flight: try it first
                int idleTies = 0;
                Backend probing = null; // the least busy unmeasured backend with work in flight
                int probingActive = Integer.MAX_VALUE;
                int probingTies = 0;
                Backend best = null;
                double bestCost = Double.POSITIVE_INFINITY; // costs are logarithms from here on
                int bestTies = 0;
                double slowest = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < n; i++) {
                    Backend b = backends[i];
                    int active = b.activeConnections();
                    double rank = b.responseTimeRank();
                    if (Double.isNaN(rank)) {
                        if (active == 0) {
                            if (random.nextInt(++idleTies) == 0) {
                                idle = b;
                            }
                        } else if (active < probingActive) {
                            probing = b;
                            probingActive = active;
                            probingTies = 1;
                        } else if (active == probingActive && random.nextInt(++probingTies) == 0) {
                            probing = b;
                        }
                        continue;
                    }
                    slowest = Math.max(slowest, rank);
                    double cost = rank + logOnePlus(active);
                    if (cost < bestCost) {
                        best = b;
                        bestCost = cost;
                        bestTies = 1;
                    } else if (cost == bestCost && random.nextInt(++bestTies) == 0) {
                        best = b;
                    }
                }
                if (idle != null) {
                    return idle;
                }
                if (probing != null) {
                    if (best == null || slowest + logOnePlus(probingActive) < bestCost) {
                        return probing;
                    }
                }
                return best;
            };
        };
    }

    /**
     * The picker while a backend is in slow start: the same costs, each divided by the backend's
     * slow-start factor (its logarithm subtracted), so that a warming backend is taken only while
     * its expected latency times {@code 1 / factor} is the least; an unmeasured one is still
     * probed one request at a time.
     */
    private static Picker rampedPicker(Backend[] backends, double[] logFactors, RandomGenerator random) {
        int n = backends.length;
        if (n > LeastConnectionsStrategy.EXACT_SCAN_MAX) {
            return request -> {
                long pair = TwoChoices.draw(random, n);
                int a = TwoChoices.first(pair);
                int b = TwoChoices.second(pair);
                return cheaperOfTwo(backends[a], logFactors[a], backends[b], logFactors[b]);
            };
        }
        return request -> {
            Backend idle = null;
            int idleTies = 0;
            Backend probing = null;
            int probingActive = Integer.MAX_VALUE;
            int probingTies = 0;
            Backend best = null;
            double bestCost = Double.POSITIVE_INFINITY;
            int bestTies = 0;
            double slowest = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                Backend b = backends[i];
                int active = b.activeConnections();
                double rank = b.responseTimeRank();
                if (Double.isNaN(rank)) {
                    if (active == 0) {
                        if (random.nextInt(++idleTies) == 0) {
                            idle = b;
                        }
                    } else if (active < probingActive) {
                        probing = b;
                        probingActive = active;
                        probingTies = 1;
                    } else if (active == probingActive && random.nextInt(++probingTies) == 0) {
                        probing = b;
                    }
                    continue;
                }
                slowest = Math.max(slowest, rank);
                double cost = rank + logOnePlus(active) - logFactors[i];
                if (cost < bestCost) {
                    best = b;
                    bestCost = cost;
                    bestTies = 1;
                } else if (cost == bestCost && random.nextInt(++bestTies) == 0) {
                    best = b;
                }
            }
            if (idle != null) {
                return idle;
            }
            if (probing != null && (best == null || slowest + logOnePlus(probingActive) < bestCost)) {
                return probing;
            }
            return best;
        };
    }

    /** {@link #cheaperOfTwo(Backend, Backend)} with each cost divided by a slow-start factor. */
    private static Backend cheaperOfTwo(Backend a, double logFactorA, Backend b, double logFactorB) {
        double rankA = a.responseTimeRank();
        double rankB = b.responseTimeRank();
        int activeA = a.activeConnections();
        int activeB = b.activeConnections();
        boolean measuredA = !Double.isNaN(rankA);
        boolean measuredB = !Double.isNaN(rankB);
        if (!measuredA && activeA == 0) {
            return a;
        }
        if (!measuredB && activeB == 0) {
            return b;
        }
        double latencyA = measuredA ? rankA : measuredB ? rankB : 0.0;
        double latencyB = measuredB ? rankB : latencyA;
        return latencyB + logOnePlus(activeB) - logFactorB < latencyA + logOnePlus(activeA) - logFactorA ? b : a;
    }

    /** The cheaper of two backends by the costs above; {@code a} on a tie. */
    private static Backend cheaperOfTwo(Backend a, Backend b) {
        double rankA = a.responseTimeRank();
        double rankB = b.responseTimeRank();
        int activeA = a.activeConnections();
        int activeB = b.activeConnections();
        boolean measuredA = !Double.isNaN(rankA);
        boolean measuredB = !Double.isNaN(rankB);
        if (!measuredA && activeA == 0) {
            return a;
        }
        if (!measuredB && activeB == 0) {
            return b;
        }
        // A busy unmeasured backend takes the other's latency; two of them compare by load alone.
        double latencyA = measuredA ? rankA : measuredB ? rankB : 0.0;
        double latencyB = measuredB ? rankB : latencyA;
        return latencyB + logOnePlus(activeB) < latencyA + logOnePlus(activeA) ? b : a;
    }

    private static final double[] LOG_ONE_PLUS = new double[256];

    static {
        for (int i = 0; i < LOG_ONE_PLUS.length; i++) {
            LOG_ONE_PLUS[i] = Math.log1p(i);
        }
    }

    /** ln(1 + active): adding it to a rank stands for multiplying the latency by active + 1. */
    static double logOnePlus(int active) {
        return active < LOG_ONE_PLUS.length ? LOG_ONE_PLUS[active] : Math.log1p(active);
    }

    @Override
    public String name() {
        return "LEAST_RESPONSE_TIME";
    }

    @Override
    public String toString() {
        return name();
    }
}
