package dev.ailb.internal.probe;

import static dev.ailb.internal.Preconditions.checkNotNull;

import java.time.Duration;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * What a {@link Prober} does in rounds, on its scheduler while it runs or on demand: first a step of
 * the caller's, then one probe of a kind per target. Rounds follow each other at the interval, each
 * moved by a random offset within the jitter; the first comes within one jitter of the start.
 *
 * <p>Immutable and thread-safe.
 *
 * @param <K> the targets probed
 */
public final class RecurringTask<K> {
    private static final Runnable NOTHING = () -> { };

    private final String name;
    private final ProbeKind<K, ?> kind; // null: the rounds only run the step
    private final long intervalNanos;
    private final long jitterNanos;
    private final Runnable step;

    private RecurringTask(String name, ProbeKind<K, ?> kind, long intervalNanos, long jitterNanos, Runnable step) {
        this.name = name;
        this.kind = kind;
        this.intervalNanos = intervalNanos;
        this.jitterNanos = jitterNanos;
        this.step = step;
    }

    /**
     * Rounds that probe every target with {@code kind}.
     *
     * @param name     the round in log lines and errors, such as {@code "load poll"}
     * @param kind     the kind of probe
     * @param interval the time between rounds
     * @param jitter   how far a round may move from its time either way, at most {@code interval}
     * @param <K>      the targets probed
     * @return the task
     * @throws NullPointerException if an argument is null
     */
    public static <K> RecurringTask<K> probing(String name, ProbeKind<K, ?> kind, Duration interval, Duration jitter) {
        return new RecurringTask<>(checkNotNull(name, "name"), checkNotNull(kind, "kind"),
                checkNotNull(interval, "interval").toNanos(), checkNotNull(jitter, "jitter").toNanos(), NOTHING);
    }

    /**
     * Rounds that probe nothing: they only run the step given to {@link #startingWith}. On demand,
     * such a round runs on the calling thread and starts no thread.
     *
     * @param name     the round in log lines and errors
     * @param interval the time between rounds
     * @param jitter   how far a round may move from its time either way, at most {@code interval}
     * @param <K>      the targets the prober's other tasks probe
     * @return the task
     * @throws NullPointerException if an argument is null
     */
    public static <K> RecurringTask<K> withoutProbes(String name, Duration interval, Duration jitter) {
        return new RecurringTask<>(checkNotNull(name, "name"), null, checkNotNull(interval, "interval").toNanos(),
                checkNotNull(jitter, "jitter").toNanos(), NOTHING);
    }

    /**
     * This task with a step that each of its rounds runs before it probes anything.
     *
     * @param step what to run first; it must not block for long
     * @return a new task, this one with the step
     * @throws NullPointerException if {@code step} is null
     */
    public RecurringTask<K> startingWith(Runnable step) {
        return new RecurringTask<>(name, kind, intervalNanos, jitterNanos, checkNotNull(step, "step"));
    }

    String name() {
        return name;
    }

    Optional<ProbeKind<K, ?>> kind() {
        return Optional.ofNullable(kind);
    }

    Runnable step() {
        return step;
    }

    /** From the start to the first round: within one jitter. Draws from the random source only with a jitter. */
    long firstDelay(RandomGenerator random) {
        return jitterNanos == 0 ? 0 : random.nextLong(0, jitterNanos + 1);
    }

    /** From one round to the next: the interval, give or take the jitter. */
    long nextDelay(RandomGenerator random) {
        return intervalNanos + (jitterNanos == 0 ? 0 : random.nextLong(-jitterNanos, jitterNanos + 1));
    }

    @Override
    public String toString() {
        return name;
    }
}
