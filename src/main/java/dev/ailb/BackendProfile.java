package dev.ailb;

import static dev.ailb.internal.Preconditions.checkId;
import static dev.ailb.internal.Preconditions.checkNotNull;

import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a backend serves and what it is: the base models it serves, the LoRA adapters it can load,
 * and free-form labels such as {@code zone=a} or {@code gpu=h100}. A request that
 * {@linkplain Request#withModel names a model} goes only to backends that serve it, as a model or as
 * an adapter; a request with a {@linkplain Request#withLabels label selector} only to backends
 * whose labels it admits.
 *
 * <pre>{@code
 * BackendProfile profile = BackendProfile.builder()
 *         .model("llama-3-8b")
 *         .adapter("sql-v2")
 *         .label("zone", "a")
 *         .build();
 * lb.addBackend("gpu-1", "10.0.0.1", 8000, 1, profile);
 * }</pre>
 *
 * <p>A model or adapter name is 1 to 256 characters, not blank, without control characters (as
 * {@link Request#withModel} takes them); labels are checked as {@link LabelSelector} checks them. A
 * name may be both a model and an adapter of the same backend; it is then served as a model.
 *
 * <p>Immutable and thread-safe.
 */
public final class BackendProfile {
    private static final BackendProfile NONE = new BackendProfile(Set.of(), Set.of(), Map.of());

    private final Set<String> models;
    private final Set<String> adapters;
    private final Map<String, String> labels;

    private BackendProfile(Set<String> models, Set<String> adapters, Map<String, String> labels) {
        this.models = models;
        this.adapters = adapters;
        this.labels = labels;
    }

    /**
     * The profile of a backend that declares nothing: it serves requests that name no model and
     * carries no label. Backends registered without a profile have it.
     *
     * @return the empty profile
     */
    public static BackendProfile none() {
        return NONE;
    }

    /**
     * A builder of a profile, empty to start with.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A builder holding this profile's models, adapters and labels, to derive another from it.
     *
     * @return a new builder
     */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.models.addAll(models);
        b.adapters.addAll(adapters);
        b.labels.putAll(labels);
        return b;
    }

    /**
     * The base models declared, sorted.
     *
     * @return an unmodifiable set, empty if none
     */
    public Set<String> models() {
        return models;
    }

    /**
     * The LoRA adapters declared, sorted.
     *
     * @return an unmodifiable set, empty if none
     */
    public Set<String> adapters() {
        return adapters;
    }

    /**
     * The labels, sorted by key.
     *
     * @return an unmodifiable map, empty if none
     */
    public Map<String, String> labels() {
        return labels;
    }

    /**
     * Whether this profile serves a model or adapter of this name.
     *
     * @param model a model's or adapter's name
     * @return {@code true} if it is among the models or the adapters
     * @throws NullPointerException if {@code model} is null
     */
    public boolean serves(String model) {
        checkNotNull(model, "model");
        return models.contains(model) || adapters.contains(model);
    }

    /**
     * Whether this profile declares nothing at all.
     *
     * @return {@code true} for {@link #none()} and its equals
     */
    public boolean isEmpty() {
        return models.isEmpty() && adapters.isEmpty() && labels.isEmpty();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BackendProfile p && models.equals(p.models) && adapters.equals(p.adapters)
                && labels.equals(p.labels);
    }

    @Override
    public int hashCode() {
        return (31 * models.hashCode() + adapters.hashCode()) * 31 + labels.hashCode();
    }

    /**
     * The profile, e.g. {@code BackendProfile{models=[llama-3-8b], adapters=[sql-v2], labels={zone=a}}}.
     *
     * @return a description
     */
    @Override
    public String toString() {
        return "BackendProfile{models=" + models + ", adapters=" + adapters + ", labels=" + labels + "}";
    }

    /**
     * Builds a {@link BackendProfile}; each method checks its argument at once. Not thread-safe.
     */
    public static final class Builder {
        private final TreeSet<String> models = new TreeSet<>();
        private final TreeSet<String> adapters = new TreeSet<>();
        private final TreeMap<String, String> labels = new TreeMap<>();

        private Builder() {
        }

        /**
         * Adds a base model served; adding one twice changes nothing.
         *
         * @param model the model's name, as requests name it
         * @return this builder
         * @throws NullPointerException     if {@code model} is null
         * @throws IllegalArgumentException if {@code model} is blank, longer than 256 characters or
         *                                  has a control character
         */
        public Builder model(String model) {
            models.add(checkId(model, "model"));
            return this;
        }

        /**
         * Adds a LoRA adapter the backend can load; adding one twice changes nothing.
         *
         * @param adapter the adapter's name, as requests name it
         * @return this builder
         * @throws NullPointerException     if {@code adapter} is null
         * @throws IllegalArgumentException if {@code adapter} is blank, longer than 256 characters
         *                                  or has a control character
         */
        public Builder adapter(String adapter) {
            adapters.add(checkId(adapter, "adapter"));
            return this;
        }

        /**
         * Sets a label; a key set again takes the new value.
         *
         * @param key   the label's key: 1 to 128 characters among ASCII letters, digits, {@code .},
         *              {@code _}, {@code -} and {@code /}
         * @param value its value: at most 128 characters among ASCII letters, digits, {@code .},
         *              {@code _} and {@code -}
         * @return this builder
         * @throws NullPointerException     if an argument is null
         * @throws IllegalArgumentException if the key or the value is malformed
         */
        public Builder label(String key, String value) {
            LabelSelector.checkLabel(key, value);
            labels.put(key, value);
            return this;
        }

        /**
         * The profile built so far; the builder may go on being used.
         *
         * @return a new immutable profile
         */
        public BackendProfile build() {
            if (models.isEmpty() && adapters.isEmpty() && labels.isEmpty()) {
                return NONE;
            }
            return new BackendProfile(Collections.unmodifiableSet(new TreeSet<>(models)),
                    Collections.unmodifiableSet(new TreeSet<>(adapters)),
                    Collections.unmodifiableMap(new TreeMap<>(labels)));
        }
    }
}
