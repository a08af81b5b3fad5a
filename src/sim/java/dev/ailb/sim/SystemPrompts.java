package dev.ailb.sim;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The shared system prompts of a {@link ChatWorkload}: their tokens, drawn once from a seed, and
 * their popularity, a Zipf law over their order. Immutable.
 */
final class SystemPrompts {
    private final Prompt[] prompts;
    /** cumulative[k]: the probability that one of the first k + 1 prompts is drawn. */
    private final double[] cumulative;

    /** The prompts, in blocks of {@code blockSize} tokens, as the conversations that open with them. */
    SystemPrompts(ChatWorkload workload, long seed, int blockSize) {
        int n = workload.systemPrompts();
        SplittableRandom random = new SplittableRandom(seed);
        prompts = new Prompt[n];
        cumulative = new double[n];
        double logMin = Math.log(workload.systemMinTokens());
        double logMax = Math.log(workload.systemMaxTokens());
        double total = 0;
        for (int k = 0; k < n; k++) {
            int length = (int) Math.round(Math.exp(logMin + (logMax - logMin) * random.nextDouble()));
            Prompt.Builder prompt = new Prompt.Builder(blockSize);
            for (int i = 0; i < length; i++) {
                prompt.append(random.nextInt(1 << Prompt.TOKEN_BITS));
            }
            prompts[k] = prompt.build();
            total += 1 / Math.pow(k + 1, workload.zipfExponent());
            cumulative[k] = total;
        }
        for (int k = 0; k < n; k++) {
            cumulative[k] /= total;
        }
    }

    /** How many there are. */
    int size() {
        return prompts.length;
    }

    /** The index of a prompt drawn by popularity, from {@code u} uniform in [0, 1). */
    int draw(double u) {
        int i = Arrays.binarySearch(cumulative, u);
        int k = i >= 0 ? i + 1 : -i - 1; // the first prompt whose cumulative share exceeds u
        return Math.min(k, prompts.length - 1);
    }

    /** Prompt {@code k}. */
    Prompt get(int k) {
        return prompts[k];
    }
}
