package dev.ailb.internal.probe;

import static dev.ailb.internal.Preconditions.checkNotNull;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;

/**
 * Probes a set of targets in rounds: each {@link RecurringTask} on a scheduler while the prober
 * runs, or on demand for a caller that waits. It starts at most one probe of a kind per target at a
 * time and bounds each by the timeout, whatever the probe does ({@link Probes} says how); the
 * threads, the scheduler and the HTTP client it lends the probes live in a {@link Session}, opened
 * by the first start or on-demand round and closed by {@link #stop()}. Once {@link #close()}d, the
 * prober opens no session again.
 *
 * <p>The first task's rounds are the prober's own: when the scheduler refuses the next one, the
 * prober stops running. When it refuses the next round of another task, that task alone stops.
 *
 * <p>Thread-safe.
 *
 * @param <K> the targets probed
 */
public final class Prober<K> {
    private final Identity id;
    private final Duration timeout;
    private final ScheduledExecutorService userScheduler; // null: each session starts its own
    private final LongSupplier ticker;
    private final RandomGenerator random;
    private final Targets<K> targets;
    private final List<RecurringTask<K>> tasks;

    private final Object lock = new Object();
    private Session<K> session; // guarded by lock
    private boolean running; // guarded by lock
    private boolean closed; // guarded by lock
    private final ScheduledFuture<?>[] nextRounds; // by task; guarded by lock

    /**
     * A prober, not running yet.
     *
     * @param id        how it names itself and where it logs
     * @param timeout   how long a probe may take from the moment its call returned; also the HTTP
     *                  client's connect timeout
     * @param scheduler where the rounds and timeouts run, left running by the prober; or null, for
     *                  a thread of each session's own
     * @param ticker    monotonic nanoseconds, read to tell a probe that is overdue
     * @param random    the source of the jitter
     * @param targets   what the rounds probe
     * @param tasks     what the prober does in rounds, at least one; the first one's rounds are the
     *                  prober's own
     * @throws NullPointerException     if an argument other than {@code scheduler} is null
     * @throws IllegalArgumentException if {@code tasks} is empty
     */
    public Prober(Identity id, Duration timeout, ScheduledExecutorService scheduler, LongSupplier ticker,
            RandomGenerator random, Targets<K> targets, List<RecurringTask<K>> tasks) {
        this.id = checkNotNull(id, "id");
        this.timeout = checkNotNull(timeout, "timeout");
        this.userScheduler = scheduler;
        this.ticker = checkNotNull(ticker, "ticker");
        this.random = checkNotNull(random, "random");
        this.targets = checkNotNull(targets, "targets");
        this.tasks = List.copyOf(checkNotNull(tasks, "tasks"));
        if (this.tasks.isEmpty()) {
            throw new IllegalArgumentException("tasks: [] (expected: at least one)");
        }
        this.nextRounds = new ScheduledFuture<?>[this.tasks.size()];
    }

    /**
     * Starts the rounds of every task.
     *
     * @return false if they were running already
     * @throws IllegalStateException       if the prober was closed
     * @throws RejectedExecutionException if the scheduler refused a first round; then nothing runs
     */
    public boolean start() {
        Session<K> opened;
        RejectedExecutionException refused = null;
        synchronized (lock) {
            if (running) {
                return false;
            }
            opened = session == null ? openSession() : null;
            Session<K> s = session;
            try {
                for (int i = 0; i < tasks.size(); i++) {
                    int task = i;
                    nextRounds[i] = s.scheduler().schedule(() -> scheduledRound(s, task),
                            tasks.get(i).firstDelay(random), TimeUnit.NANOSECONDS);
                }
                running = true;
            } catch (RejectedExecutionException e) {
                cancelNextRounds();
                if (opened != null) {
                    session = null; // closed below, outside the lock: closing joins threads
                }
                refused = e;
            }
        }
        if (refused != null) {
            if (opened != null) {
                opened.close();
            }
            throw refused;
        }
        return true;
    }

    /**
     * Stops the rounds and closes the session: the probes under way are cancelled and their
     * outcomes dropped, and the threads the session started end before this returns (unless it
     * runs on one of them). The prober may be started again.
     *
     * @return true if it was running
     */
    public boolean stop() {
        Session<K> s;
        boolean wasRunning;
        synchronized (lock) {
            wasRunning = running;
            running = false;
            cancelNextRounds();
            s = session;
            session = null;
        }
        if (s != null) {
            s.close();
        }
        return wasRunning;
    }

    /**
     * Stops the prober for good: a start or on-demand round that comes later, or races this call,
     * is refused, so nothing the prober runs outlives its owner's close.
     *
     * @return true if it was running
     */
    public boolean close() {
        synchronized (lock) {
            closed = true;
        }
        return stop();
    }

    /**
     * Whether the rounds run.
     *
     * @return true between {@link #start()} and {@link #stop()}, unless the scheduler refused a
     *         round of the first task meanwhile
     */
    public boolean isRunning() {
        synchronized (lock) {
            return running;
        }
    }

    /**
     * One round of a task on demand; returns once every probe of it has an outcome, applied. A
     * probe still under way from another round is joined, not started twice. The caller is blocked
     * in real time, so each probe's wait is bounded by the timeout, counted from the moment its
     * call returned, whether or not a scheduler fires the probes' own timeouts; outcomes forced by
     * that bound are applied on the calling thread. A task without probes runs its step on the
     * calling thread.
     *
     * @param task one of this prober's tasks
     * @throws IllegalArgumentException if the task is not one of this prober's
     * @throws IllegalStateException    if the prober was closed, or the round failed to start
     */
    public void runOnce(RecurringTask<K> task) {
        if (!tasks.contains(task)) {
            throw new IllegalArgumentException("task: " + task + " (expected: one of " + tasks + ")");
        }
        if (task.kind().isEmpty()) {
            synchronized (lock) {
                requireNotClosed();
            }
            task.step().run(); // nothing to send anywhere: no thread needed
            return;
        }
        Session<K> s;
        synchronized (lock) {
            s = openSession();
        }
        OnDemandRound.launchAndWait(s, round -> startRound(s, task, round), task.name(), task.kind().get());
    }

    private void scheduledRound(Session<K> s, int index) {
        if (!isCurrent(s)) {
            return;
        }
        RecurringTask<K> task = tasks.get(index);
        try {
            startRound(s, task, null);
        } catch (Throwable t) { // the rounds must go on whatever one of them does
            id.log().error("{} - {} failed", id.owner(), Identity.capitalized(task.name()), t);
        }
        synchronized (lock) {
            if (!running || session != s) {
                return;
            }
            try {
                nextRounds[index] = s.scheduler().schedule(() -> scheduledRound(s, index), task.nextDelay(random),
                        TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                if (index == 0) {
                    running = false;
                    id.log().error("{} - {} stopped: its scheduler refused the next round", id.owner(), id.title(), e);
                } else {
                    id.log().error("{} - {} rounds stopped: the scheduler refused the next one", id.owner(),
                            Identity.capitalized(task.name()), e);
                }
            }
        }
    }

    private boolean isCurrent(Session<K> s) {
        synchronized (lock) {
            return running && session == s;
        }
    }

    /** Runs the task's step, then starts (or joins) one probe per target; a scheduled round has no {@code round}. */
    private void startRound(Session<K> s, RecurringTask<K> task, OnDemandRound round) {
        task.step().run();
        if (task.kind().isEmpty()) {
            return;
        }
        Probes<K, ?> probes = s.probes(task.kind().get());
        for (K target : targets.current()) {
            if (round != null && round.isAbandoned()) {
                return;
            }
            if (!targets.isGone(target)) {
                probes.probe(target, round);
            }
        }
    }

    /** Holds the lock. */
    private void cancelNextRounds() {
        for (int i = 0; i < nextRounds.length; i++) {
            if (nextRounds[i] != null) {
                nextRounds[i].cancel(false);
                nextRounds[i] = null;
            }
        }
    }

    /** Holds the lock. */
    private Session<K> openSession() {
        requireNotClosed();
        if (session == null) {
            session = new Session<>(id, timeout, userScheduler, ticker, targets, tasks);
        }
        return session;
    }

    /** Holds the lock. */
    private void requireNotClosed() {
        if (closed) {
            throw new IllegalStateException(id.closedMessage());
        }
    }

    /**
     * How a prober names itself and where it logs.
     *
     * @param owner         what the prober works for, which its log lines start with (a
     *                      balancer's name)
     * @param name          the prober in reasons and log lines, lower case, such as
     *                      {@code "health checker"}
     * @param threadPrefix  the names of its threads: {@code <prefix>-N} for its scheduler,
     *                      {@code <prefix>-worker-N} for its workers
     * @param closedMessage the message of the exception that a closed prober's start or on-demand
     *                      round throws
     * @param log           where it logs
     */
    public record Identity(String owner, String name, String threadPrefix, String closedMessage, Logger log) {

        /**
         * Checks the parts.
         *
         * @throws NullPointerException if a part is null
         */
        public Identity {
            checkNotNull(owner, "owner");
            checkNotNull(name, "name");
            checkNotNull(threadPrefix, "threadPrefix");
            checkNotNull(closedMessage, "closedMessage");
            checkNotNull(log, "log");
        }

        /** The name at the start of a sentence. */
        String title() {
            return capitalized(name);
        }

        static String capitalized(String s) {
            return s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1);
        }
    }
}
