package dev.ailb;

/**
 * Turns a prompt into the token ids its model uses, for {@link PrefixAffinity} to cut the prompt
 * into blocks of real tokens rather than of characters. Without one, a block is
 * {@link PrefixAffinity#blockTokens()} times {@link PrefixAffinity#charsPerToken()} characters.
 *
 * <p>Implementations must be thread-safe and deterministic (the same text gives the same ids in
 * every process, so that balancers in separate replicas name prefixes alike), and should be fast:
 * a pick calls it once per request that carries a prompt.
 */
@FunctionalInterface
public interface Tokenizer {

    /**
     * The token ids of a text.
     *
     * @param text the prompt, not null
     * @return its token ids, in order; never null
     */
    int[] encode(String text);
}
