package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.shown;

import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The labels a request requires and prefers of the backend that serves it, such as
 * {@code gpu=h100} required and {@code zone=a} preferred. A backend that lacks a required label is
 * not a candidate; among the candidates, those that carry every preferred label are chosen when
 * there are any, and the strategy picks among them.
 *
 * <pre>{@code
 * LabelSelector s = LabelSelector.require("gpu", "h100").andPrefer("zone", "a");
 * lb.acquire(request.withLabels(s));
 * }</pre>
 *
 * <p>A key is 1 to 128 characters among ASCII letters, digits, {@code .}, {@code _}, {@code -} and
 * {@code /} (so that Kubernetes-style keys such as {@code topology.kubernetes.io/zone} fit); a
 * value is 0 to 128 characters among letters, digits, {@code .}, {@code _} and {@code -}. A key is
 * either required or preferred, once.
 *
 * <p>Immutable and thread-safe; equal selectors have equal {@link #toString()}.
 */
public final class LabelSelector {
    private static final LabelSelector NONE = new LabelSelector(Map.of(), Map.of());

    private final Map<String, String> required;
    private final Map<String, String> preferred;
    /** Computed once: a selector is a key the request path looks its candidates up by on every pick. */
    private final int hash;

    private LabelSelector(Map<String, String> required, Map<String, String> preferred) {
        this.required = required;
        this.preferred = preferred;
        this.hash = 31 * required.hashCode() + preferred.hashCode();
    }

    /**
     * The selector that requires and prefers nothing: every backend is a candidate.
     *
     * @return the empty selector
     */
    public static LabelSelector none() {
        return NONE;
    }

    /**
     * A selector that requires one label.
     *
     * @param key   the label's key
     * @param value the value the backend's label must have
     * @return a new selector
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the key or the value is malformed
     */
    public static LabelSelector require(String key, String value) {
        return NONE.andRequire(key, value);
    }

    /**
     * A selector that prefers one label.
     *
     * @param key   the label's key
     * @param value the value preferred
     * @return a new selector
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the key or the value is malformed
     */
    public static LabelSelector prefer(String key, String value) {
        return NONE.andPrefer(key, value);
    }

    /**
     * This selector, also requiring a label.
     *
     * @param key   the label's key, not already in this selector
     * @param value the value the backend's label must have
     * @return a new selector
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the key or the value is malformed, or the key is already
     *                                  required or preferred
     */
    public LabelSelector andRequire(String key, String value) {
        checkLabel(key, value);
        checkNew(key);
        return new LabelSelector(with(required, key, value), preferred);
    }

    /**
     * This selector, also preferring a label.
     *
     * @param key   the label's key, not already in this selector
     * @param value the value preferred
     * @return a new selector
     * @throws NullPointerException     if an argument is null
     * @throws IllegalArgumentException if the key or the value is malformed, or the key is already
     *                                  required or preferred
     */
    public LabelSelector andPrefer(String key, String value) {
        checkLabel(key, value);
        checkNew(key);
        return new LabelSelector(required, with(preferred, key, value));
    }

    /**
     * The labels a backend must carry, sorted by key.
     *
     * @return an unmodifiable map, empty if none
     */
    public Map<String, String> required() {
        return required;
    }

    /**
     * The labels preferred, sorted by key.
     *
     * @return an unmodifiable map, empty if none
     */
    public Map<String, String> preferred() {
        return preferred;
    }

    /**
     * Whether this selector requires and prefers nothing.
     *
     * @return {@code true} for {@link #none()} and its equals
     */
    public boolean isEmpty() {
        return required.isEmpty() && preferred.isEmpty();
    }

    /**
     * Whether a backend with these labels may serve the request: it carries every required label.
     *
     * @param labels a backend's labels
     * @return {@code true} if every required label is among them with its value
     */
    public boolean admits(Map<String, String> labels) {
        return containsAll(labels, required);
    }

    /**
     * Whether a backend with these labels is preferred: it carries every preferred label.
     *
     * @param labels a backend's labels
     * @return {@code true} if every preferred label is among them with its value (so always when
     *         nothing is preferred)
     */
    public boolean prefers(Map<String, String> labels) {
        return containsAll(labels, preferred);
    }

    private static boolean containsAll(Map<String, String> labels, Map<String, String> wanted) {
        for (Map.Entry<String, String> e : wanted.entrySet()) {
            if (!e.getValue().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    private void checkNew(String key) {
        if (required.containsKey(key) || preferred.containsKey(key)) {
            throw new IllegalArgumentException("key: " + shown(key) + " (expected: a key not already in " + this + ")");
        }
    }

    private static Map<String, String> with(Map<String, String> map, String key, String value) {
        TreeMap<String, String> copy = new TreeMap<>(map);
        copy.put(key, value);
        return Collections.unmodifiableMap(copy);
    }

    /**
     * Checks a label's key and value, as backends and selectors take them.
     *
     * @throws NullPointerException     if either is null
     * @throws IllegalArgumentException if either is malformed, naming it and its value
     */
    static void checkLabel(String key, String value) {
        checkNotNull(key, "key");
        checkNotNull(value, "value");
        if (!isLabelText(key, true) || key.isEmpty()) {
            throw new IllegalArgumentException("key: " + shown(key)
                    + " (expected: 1 to 128 characters among letters, digits, '.', '_', '-' and '/')");
        }
        if (!isLabelText(value, false)) {
            throw new IllegalArgumentException("value: " + shown(value)
                    + " (expected: at most 128 characters among letters, digits, '.', '_' and '-')");
        }
    }

    private static boolean isLabelText(String s, boolean slash) {
        if (s.length() > 128) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = c < 128 && (Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-'
                    || (slash && c == '/'));
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean equals(Object o) {
        return o == this || o instanceof LabelSelector s && hash == s.hash && required.equals(s.required)
                && preferred.equals(s.preferred);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    /**
     * The selector, e.g. {@code LabelSelector{required={gpu=h100}, preferred={zone=a}}}.
     *
     * @return a description
     */
    @Override
    public String toString() {
        return "LabelSelector{required=" + required + ", preferred=" + preferred + "}";
    }
}
