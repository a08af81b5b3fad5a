package dev.ailb.sim;

import java.util.SplittableRandom;

/**
 * One conversation of a {@link ChatWorkload}, turn by turn. Everything it holds is drawn from a
 * random source of its own, seeded when it starts, so that its system prompt, messages, answers,
 * think times and balancer replicas are the same whatever the routing and whenever its turns come.
 *
 * <p>Not thread-safe.
 */
final class Conversation {
    /**
     * One turn: the prompt to prefill, the answer's tokens, the replica of the balancer it goes
     * through, and the think time before the next turn, counted from the answer.
     */
    record Turn(int number, Prompt prompt, int outputTokens, int replica, double thinkSeconds) {}

    private final ChatWorkload workload;
    private final SplittableRandom random;
    private final Prompt.Builder prompt;
    private final int turns;
    private final int systemPrompt;
    private int turn;
    private int lastAnswer;

    /** A conversation whose prompts are cut into blocks as the system prompts are, or of {@code blockSize} without them. */
    Conversation(ChatWorkload workload, SystemPrompts systemPrompts, long seed, int blockSize) {
        this.workload = workload;
        this.random = new SplittableRandom(seed);
        this.turns = workload.minTurns() + random.nextInt(workload.maxTurns() - workload.minTurns() + 1);
        if (systemPrompts.size() > 0) {
            systemPrompt = systemPrompts.draw(random.nextDouble());
            Prompt opening = systemPrompts.get(systemPrompt);
            if (opening.blockSize() != blockSize) {
                throw new IllegalArgumentException("blockSize: " + blockSize + " (expected: " + opening.blockSize()
                        + ", the system prompts')");
            }
            prompt = new Prompt.Builder(opening);
        } else {
            systemPrompt = -1;
            prompt = new Prompt.Builder(blockSize);
        }
    }

    boolean hasNextTurn() {
        return turn < turns;
    }

    int turns() {
        return turns;
    }

    /** The system prompt it opened with; -1 for none. */
    int systemPrompt() {
        return systemPrompt;
    }

    /**
     * The next turn: the last answer and a new message appended to the prompt.
     *
     * @param replicas how many balancer replicas there are; the turn's is drawn uniformly among them
     *                 with one draw whatever their number, so that the rest is the same for every
     *                 number of replicas
     */
    Turn nextTurn(int replicas) {
        if (!hasNextTurn()) {
            throw new IllegalStateException("turn " + (turn + 1) + " of a conversation of " + turns);
        }
        appendTokens(lastAnswer);
        appendTokens(ChatWorkload.logNormal(random, workload.messageMedian(), workload.messageSigma(),
                workload.maxMessage()));
        lastAnswer = ChatWorkload.logNormal(random, workload.answerMedian(), workload.answerSigma(), workload.maxAnswer());
        int replica = (int) (random.nextDouble() * replicas);
        double think = -workload.thinkSeconds() * Math.log(1.0 - random.nextDouble());
        turn++;
        return new Turn(turn, prompt.build(), lastAnswer, replica, think);
    }

    private void appendTokens(int n) {
        for (int i = 0; i < n; i++) {
            prompt.append(random.nextInt(1 << Prompt.TOKEN_BITS));
        }
    }
}
