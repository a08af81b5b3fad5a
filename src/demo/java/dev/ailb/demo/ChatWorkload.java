package dev.ailb.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The chats of the demo's prefix cache run, drawn from a seed, the same for every strategy. Each
 * chat opens with one of {@link #SYSTEM_PROMPTS} shared system prompts and lasts {@link #TURNS}
 * turns; a turn's prompt is the previous turn's prompt, the answer to it and a new user message,
 * laid out as a chat template lays out a conversation, so the previous prompt is a prefix of the
 * next. The answers come from the instances, which answer a prompt the same way wherever it is
 * sent: the prompts are the same in every run. Immutable and thread-safe.
 */
final class ChatWorkload {
    /** The system prompts the chats share. */
    static final int SYSTEM_PROMPTS = 4;
    /** Turns per chat. */
    static final int TURNS = 6;
    static final int MIN_SYSTEM_CHARS = 1_200;
    static final int MAX_SYSTEM_CHARS = 2_000;
    static final int MIN_MESSAGE_CHARS = 120;
    static final int MAX_MESSAGE_CHARS = 480;

    private static final String SYSTEM = "<|system|>\n";
    private static final String USER = "\n<|user|>\n";
    private static final String ASSISTANT = "\n<|assistant|>\n";
    private static final String[] WORDS = {
        "balancer", "instance", "prompt", "cache", "token", "block", "prefix", "answer", "request", "fleet",
        "queue", "batch", "latency", "model", "server", "route", "weight", "health", "drain", "lease",
        "the", "a", "of", "to", "and", "in", "is", "for", "on", "with", "that", "each", "every", "when",
        "keeps", "sends", "reads", "counts", "holds", "skips", "waits", "finds", "picks", "fills", "serves",
        "first", "last", "long", "short", "warm", "cold", "busy", "idle", "shared", "same", "next",
    };

    private final List<String> systemPrompts;
    private final int[] systemOf;
    private final List<List<String>> messages;

    private ChatWorkload(List<String> systemPrompts, int[] systemOf, List<List<String>> messages) {
        this.systemPrompts = systemPrompts;
        this.systemOf = systemOf;
        this.messages = messages;
    }

    /**
     * Draws the system prompts, and for each chat its system prompt and its user messages.
     *
     * @param chats how many chats, >= 1
     * @param seed  the seed; the same seed gives the same chats
     */
    static ChatWorkload generate(int chats, long seed) {
        if (chats < 1) {
            throw new IllegalArgumentException("chats: " + chats + " (expected: >= 1)");
        }
        SplittableRandom random = new SplittableRandom(seed);
        List<String> systemPrompts = new ArrayList<>(SYSTEM_PROMPTS);
        for (int s = 0; s < SYSTEM_PROMPTS; s++) {
            systemPrompts.add("You are assistant " + (s + 1) + " of the ailb demo. "
                    + words(random, MIN_SYSTEM_CHARS, MAX_SYSTEM_CHARS));
        }
        int[] systemOf = new int[chats];
        List<List<String>> messages = new ArrayList<>(chats);
        for (int c = 0; c < chats; c++) {
            systemOf[c] = random.nextInt(SYSTEM_PROMPTS);
            List<String> turns = new ArrayList<>(TURNS);
            for (int t = 0; t < TURNS; t++) {
                turns.add(words(random, MIN_MESSAGE_CHARS, MAX_MESSAGE_CHARS));
            }
            messages.add(List.copyOf(turns));
        }
        return new ChatWorkload(List.copyOf(systemPrompts), systemOf, List.copyOf(messages));
    }

    /** @return the number of chats */
    int chats() {
        return systemOf.length;
    }

    /** The prompt of the chat's first turn: its system prompt and first message. */
    String firstPrompt(int chat) {
        return SYSTEM + systemPrompts.get(systemOf[chat]) + USER + messages.get(chat).get(0) + ASSISTANT;
    }

    /**
     * The prompt of a later turn: the previous turn's prompt, the answer to it and the turn's message.
     *
     * @param turn 1..{@link #TURNS}-1
     */
    String nextPrompt(String previous, String answer, int chat, int turn) {
        return previous + answer + USER + messages.get(chat).get(turn) + ASSISTANT;
    }

    /**
     * Words drawn from {@code random}, separated by spaces and cut into sentences, of a length
     * drawn uniformly between the two bounds (the last word may run a few characters over).
     */
    static String words(SplittableRandom random, int minChars, int maxChars) {
        int length = minChars + random.nextInt(maxChars - minChars + 1);
        StringBuilder text = new StringBuilder(length + 16);
        boolean sentenceStart = true;
        while (text.length() < length) {
            String word = WORDS[random.nextInt(WORDS.length)];
            if (sentenceStart) {
                word = Character.toUpperCase(word.charAt(0)) + word.substring(1);
                sentenceStart = false;
            }
            text.append(word);
            if (random.nextInt(9) == 0 || text.length() >= length) {
                text.append('.');
                sentenceStart = true;
            }
            if (text.length() < length) {
                text.append(' ');
            }
        }
        return text.toString();
    }
}
