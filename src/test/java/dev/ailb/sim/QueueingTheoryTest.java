package dev.ailb.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

import dev.ailb.BalancingStrategy;
import org.junit.jupiter.api.Test;

/**
 * The simulator against queueing theory, before any claim is made with it: n single-slot FCFS
 * servers with exponential service (mean 1 s) and Poisson arrivals, routed by the real balancer.
 */
class QueueingTheoryTest {

    /** Random routing splits Poisson arrivals into n independent M/M/1 queues: mean 1 / (1 - load). */
    @Test
    void randomRoutingOverEqualServersIsMm1() {
        double load = 0.7;
        Simulation.Result r = Simulation.run(Scenario.queueingModel(10, load, 200_000),
                Simulation.Policy.of(BalancingStrategy.RANDOM), 1);

        assertThat(r.mean()).isCloseTo(1 / (1 - load), withinPercentage(10));
        assertThat(r.errorRate()).isZero();
    }

    /**
     * Two random choices, the shorter queue (LEAST_CONNECTIONS beyond 32 backends): Mitzenmacher's
     * supermarket model, whose mean time in system for n large is the sum over i >= 1 of
     * load^(2^i - 2).
     */
    @Test
    void twoChoicesOverManyServersIsTheSupermarketModel() {
        double load = 0.9;
        Simulation.Result r = Simulation.run(Scenario.queueingModel(100, load, 300_000),
                Simulation.Policy.of(BalancingStrategy.LEAST_CONNECTIONS), 2);

        assertThat(r.mean()).isCloseTo(supermarket(load), withinPercentage(15));
        // and far below what random routing would give at that load (10 s)
        assertThat(r.mean()).isLessThan(0.5 / (1 - load));
    }

    static double supermarket(double load) {
        double sum = 0;
        for (int i = 1; i < 64; i++) {
            double term = Math.pow(load, Math.pow(2, i) - 2);
            sum += term;
            if (term < 1e-12) {
                break;
            }
        }
        return sum;
    }

    @Test
    void theSupermarketFormulaMatchesItsKnownValues() {
        // d = 2 at load 0.9: 1 + 0.81 + 0.531 + 0.229 + 0.042 + 0.0015 + ...
        assertThat(supermarket(0.9)).isCloseTo(2.6142, withinPercentage(0.1));
        assertThat(supermarket(0.5)).isCloseTo(1.0 + 0.25 + 0.015625 + Math.pow(0.5, 14) + Math.pow(0.5, 30),
                withinPercentage(1e-6));
    }
}
