package dev.ailb.sim;

import java.util.SplittableRandom;

/**
 * Conversations with a model, as an instance's prefix cache sees them. Each conversation opens
 * with one of a few shared system prompts, chosen by popularity, and has several turns; the prompt
 * of turn {@code k + 1} is the prompt of turn {@code k}, its answer and a new user message, so each
 * turn's prompt begins with the whole of the last one. A user reads an answer and types the next
 * message for an exponential think time. With no system prompt and one turn, every prompt is a
 * single user message of its own: nothing is shared.
 *
 * @param systemPrompts   how many shared system prompts there are; 0 for none
 * @param systemMinTokens the shortest system prompt, in tokens (lengths are log-uniform between the
 *                        shortest and the longest)
 * @param systemMaxTokens the longest system prompt
 * @param zipfExponent    how skewed their popularity is: the {@code k}-th most popular opens a
 *                        conversation with a weight of {@code 1 / k^zipfExponent}
 * @param minTurns        the fewest turns of a conversation (uniform between the fewest and most)
 * @param maxTurns        the most turns
 * @param messageMedian   a user message's tokens, log-normal: median
 * @param messageSigma    and sigma
 * @param maxMessage      and the largest
 * @param answerMedian    an answer's tokens (the request's output), log-normal: median
 * @param answerSigma     and sigma
 * @param maxAnswer       and the largest
 * @param thinkSeconds    the mean think time between an answer and the next message
 */
record ChatWorkload(int systemPrompts, int systemMinTokens, int systemMaxTokens, double zipfExponent, int minTurns,
        int maxTurns, double messageMedian, double messageSigma, int maxMessage, double answerMedian,
        double answerSigma, int maxAnswer, double thinkSeconds) {

    ChatWorkload {
        if (minTurns < 1 || maxTurns < minTurns) {
            throw new IllegalArgumentException("turns: " + minTurns + ".." + maxTurns + " (expected: 1 <= min <= max)");
        }
        if (systemPrompts > 0 && (systemMinTokens < 1 || systemMaxTokens < systemMinTokens)) {
            throw new IllegalArgumentException("system prompt tokens: " + systemMinTokens + ".." + systemMaxTokens
                    + " (expected: 1 <= min <= max)");
        }
    }

    /** A log-normal count of tokens, at least 1 and at most {@code max}. */
    static int logNormal(SplittableRandom random, double median, double sigma, int max) {
        // Box-Muller, from the caller's own source
        double u = 1.0 - random.nextDouble();
        double v = random.nextDouble();
        double z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        return (int) Math.min(max, Math.max(1, Math.round(median * Math.exp(sigma * z))));
    }

    /**
     * What the requests of this workload take on average, cold (no token cached), and how many
     * requests a conversation makes.
     */
    record MeanRequest(double promptTokens, double outputTokens, double turns) {
        double work(Instance.TokenCosts costs) {
            return promptTokens * costs.prefillSecondsPerToken() + outputTokens * costs.decodeSecondsPerToken();
        }
    }

    /**
     * The mean prompt and output tokens of this workload's requests, over the turns of
     * {@code conversations} conversations drawn from a seed of their own.
     */
    MeanRequest meanRequest(int conversations, long seed) {
        SystemPrompts prompts = new SystemPrompts(this, seed, 16);
        double prompt = 0;
        double output = 0;
        long requests = 0;
        for (int i = 0; i < conversations; i++) {
            Conversation c = new Conversation(this, prompts, Prompt.mix(seed + i), 16);
            while (c.hasNextTurn()) {
                Conversation.Turn t = c.nextTurn(1);
                prompt += t.prompt().length();
                output += t.outputTokens();
                requests++;
            }
        }
        return new MeanRequest(prompt / requests, output / requests, (double) requests / conversations);
    }
}
