package dev.ailb;

import java.util.List;

/**
 * The weights the built-in strategies use while some backend is in slow start: each backend's
 * weight times its {@linkplain Backend#slowStartFactor() slow-start factor}, in 1/{@value #SCALE}
 * of a unit of weight so that they stay whole numbers. Read once when a picker is built: the
 * balancer publishes a view with fresh pickers at each step of a ramp, so a pick never reads a
 * factor, and a picker built while no backend ramps is the strategy's plain one, at no cost.
 *
 * <p>A factor is a multiple of 1/{@value #SCALE}, so a ramped weight is exact; the largest,
 * {@link LoadBalancer#MAX_WEIGHT} times {@value #SCALE}, fits in an {@code int}, and the products
 * the strategies compare (a load times a weight) in a {@code long}.
 */
final class RampedWeights {
    /** The unit of a ramped weight: a backend out of its ramp weighs {@code weight * SCALE}. */
    static final int SCALE = 1024;

    private RampedWeights() {}

    /**
     * The ramped weights of {@code backends}, in their order; null when none of them ramps, which
     * tells the strategy to build its plain picker.
     */
    static int[] of(List<Backend> backends) {
        int[] ramped = null;
        for (int i = 0, n = backends.size(); i < n; i++) {
            double factor = backends.get(i).slowStartFactor();
            if (factor < 1.0) {
                ramped = new int[n];
                break;
            }
        }
        if (ramped != null) {
            for (int i = 0; i < ramped.length; i++) {
                Backend b = backends.get(i);
                ramped[i] = (int) Math.max(1L, Math.round(b.weight() * b.slowStartFactor() * SCALE));
            }
        }
        return ramped;
    }

    /**
     * The factors of {@code backends} as logarithms, {@code ln(factor) <= 0}, for strategies that
     * weigh costs in logarithms; null when none of them ramps.
     */
    static double[] logFactorsOf(List<Backend> backends) {
        double[] logs = null;
        for (int i = 0, n = backends.size(); i < n; i++) {
            double factor = backends.get(i).slowStartFactor();
            if (factor < 1.0) {
                if (logs == null) {
                    logs = new double[n];
                }
                logs[i] = Math.log(factor);
            }
        }
        return logs;
    }

    /** The factors of {@code backends}, in their order; null when none of them ramps. */
    static double[] factorsOf(List<Backend> backends) {
        double[] factors = null;
        for (int i = 0, n = backends.size(); i < n; i++) {
            double factor = backends.get(i).slowStartFactor();
            if (factor < 1.0 && factors == null) {
                factors = new double[n];
                for (int j = 0; j < i; j++) {
                    factors[j] = 1.0;
                }
            }
            if (factors != null) {
                factors[i] = factor;
            }
        }
        return factors;
    }
}
