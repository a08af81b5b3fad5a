package dev.ailb.sim;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The shared system prompts of a {@link ChatWorkload}: their tokens, drawn once from a seed, and
 * their popularity, a Zipf law over their order. Immutable.
 */
final class SystemPrompts {
    private final int[][] tokens;
    /** cumulative[k]: the probability that one of the first k + 1 prompts is drawn. */
    private final double[] cumulative;

    SystemPrompts(ChatWorkload workload, long seed) {
        int n = workload.systemPrompts();
        SplittableRandom random = new SplittableRandom(seed);
        tokens = new int[n][];
        cumulative = new double[n];
        double logMin = Math.log(workload.systemMinTokens());
        double logMax = Math.log(workload.systemMaxTokens());
        double total = 0;
        for (int k = 0; k < n; k++) {
            int length = (int) Math.round(Math.exp(logMin + (logMax - logMin) * random.nextDouble()));
            tokens[k] = new int[length];
            for (int i = 0; i < length; i++) {
                tokens[k][i] = random.nextInt(1 << Prompt.TOKEN_BITS);
            }
            total += 1 / Math.pow(k + 1, workload.zipfExponent());
            cumulative[k] = total;
        }
        for (int k = 0; k < n; k++) {
            cumulative[k] /= total;
        }
    }

    /** How many there are. */
    int size() {
        return tokens.length;
    }

    /** The index of a prompt drawn by popularity, from {@code u} uniform in [0, 1). */
    int draw(double u) {
        int i = Arrays.binarySearch(cumulative, u);
        int k = i >= 0 ? i + 1 : -i - 1; // the first prompt whose cumulative share exceeds u
        return Math.min(k, tokens.length - 1);
    }

    /** The tokens of prompt {@code k}, appended to a conversation's prompt. */
    void appendTo(int k, Prompt.Builder prompt) {
        for (int t : tokens[k]) {
            prompt.append(t);
        }
    }
}
