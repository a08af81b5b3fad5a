package dev.ailb.soak;

import dev.ailb.Backend;
import dev.ailb.CallFailedException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the clients saw, counted on their side only, so that it can be held against what the
 * balancer reports. Thread-safe: every figure is a {@link LongAdder}.
 *
 * <p>Two levels are counted. An <em>operation</em> is one thing a client thread did: one
 * {@code execute}, or one {@code acquire} (with or without a session) and the call made under the
 * lease. An <em>attempt</em> is one HTTP call to one backend under one held connection: an
 * operation through {@code execute} makes one to three, a lease operation exactly one, and an
 * operation that found no backend none. Every attempt is what the balancer counts as one routed
 * request, released once as a success or a failure.
 */
final class Tally {

    /** The three ways the clients go through the balancer. */
    enum Path {
        EXECUTE("execute (retried)"),
        LEASE("acquire + lease"),
        STICKY("acquire(session) + lease");

        final String label;

        Path(String label) {
            this.label = label;
        }
    }

    /** Per path: operations started, succeeded, failed with a reported error, and how. */
    static final class PathCounts {
        final LongAdder sent = new LongAdder();
        final LongAdder succeeded = new LongAdder();
        /** No backend available for the first attempt ({@code NoAvailableBackendException}). */
        final LongAdder noBackend = new LongAdder();
        /** Lease paths: the call under the lease failed and the lease was released as a failure. */
        final LongAdder callFailed = new LongAdder();
        /** Execute path: {@code CallFailedException} by reason. */
        final Map<CallFailedException.Reason, LongAdder> gaveUp = new EnumMap<>(CallFailedException.Reason.class);
        /** Anything else thrown to the client: never expected. */
        final LongAdder unexpected = new LongAdder();

        PathCounts() {
            for (CallFailedException.Reason r : CallFailedException.Reason.values()) {
                gaveUp.put(r, new LongAdder());
            }
        }

        long reportedFailures() {
            long sum = noBackend.sum() + callFailed.sum();
            for (LongAdder a : gaveUp.values()) {
                sum += a.sum();
            }
            return sum;
        }
    }

    /** Attempts on one backend object (one registration of an id). */
    static final class BackendCounts {
        final LongAdder attempts = new LongAdder();
        final LongAdder succeeded = new LongAdder();
        final LongAdder failed = new LongAdder();
    }

    final Map<Path, PathCounts> paths = new EnumMap<>(Path.class);
    /** Operations finished, whatever the outcome; drives progress and the heap samples. */
    final LongAdder finished = new LongAdder();

    final LongAdder attempts = new LongAdder();
    final LongAdder attemptsSucceeded = new LongAdder();
    final LongAdder attemptsFailed = new LongAdder();
    /** Attempts after the first within one {@code execute}. */
    final LongAdder retries = new LongAdder();
    /** Sticky leases acquired (the balancer counts each as a session hit, miss or rebind). */
    final LongAdder stickyAcquired = new LongAdder();
    /** {@code CallFailedException.attempts()} differed from the attempts the call function saw. */
    final LongAdder attemptCountMismatches = new LongAdder();
    /** Answers that came from another instance than the backend the balancer chose. */
    final LongAdder wrongInstance = new LongAdder();

    private final Map<String, LongAdder> failureCauses = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> unexpected = new ConcurrentHashMap<>();
    private final Map<Backend, BackendCounts> perBackend = new ConcurrentHashMap<>();

    Tally() {
        for (Path p : Path.values()) {
            paths.put(p, new PathCounts());
        }
    }

    PathCounts path(Path p) {
        return paths.get(p);
    }

    /** Counts the start of an attempt on {@code backend}. */
    BackendCounts attemptOn(Backend backend) {
        // Backends are compared by identity: an id added again is another key.
        BackendCounts counts = perBackend.computeIfAbsent(backend, b -> new BackendCounts());
        counts.attempts.increment();
        attempts.increment();
        return counts;
    }

    void attemptSucceeded(BackendCounts counts) {
        counts.succeeded.increment();
        attemptsSucceeded.increment();
    }

    void attemptFailed(BackendCounts counts, Exception cause) {
        counts.failed.increment();
        attemptsFailed.increment();
        failureCauses.computeIfAbsent(describe(cause), k -> new LongAdder()).increment();
    }

    void unexpected(Path path, Throwable error) {
        path(path).unexpected.increment();
        unexpected.computeIfAbsent(path.name() + ": " + error, k -> new LongAdder()).increment();
    }

    BackendCounts countsOf(Backend backend) {
        BackendCounts counts = perBackend.get(backend);
        return counts != null ? counts : new BackendCounts();
    }

    Map<String, Long> failureCauses() {
        return snapshot(failureCauses);
    }

    Map<String, Long> unexpectedErrors() {
        return snapshot(unexpected);
    }

    long sent() {
        return sum(Which.SENT);
    }

    long succeeded() {
        return sum(Which.SUCCEEDED);
    }

    long reportedFailures() {
        return sum(Which.REPORTED);
    }

    long unexpectedCount() {
        return sum(Which.UNEXPECTED);
    }

    long noBackend() {
        long sum = 0;
        for (PathCounts c : paths.values()) {
            sum += c.noBackend.sum();
        }
        return sum;
    }

    long gaveUp(CallFailedException.Reason reason) {
        return path(Path.EXECUTE).gaveUp.get(reason).sum();
    }

    private enum Which { SENT, SUCCEEDED, REPORTED, UNEXPECTED }

    private long sum(Which which) {
        long sum = 0;
        for (PathCounts c : paths.values()) {
            switch (which) {
                case SENT:
                    sum += c.sent.sum();
                    break;
                case SUCCEEDED:
                    sum += c.succeeded.sum();
                    break;
                case REPORTED:
                    sum += c.reportedFailures();
                    break;
                default:
                    sum += c.unexpected.sum();
            }
        }
        return sum;
    }

    /** A short, stable name for what made an attempt fail. */
    static String describe(Exception cause) {
        if (cause instanceof StatusException) {
            return "HTTP " + ((StatusException) cause).status;
        }
        if (cause instanceof HttpConnectTimeoutException) {
            return "connect timeout";
        }
        if (cause instanceof HttpTimeoutException) {
            return "request timeout (instance hangs)";
        }
        if (cause instanceof ConnectException) {
            return "connection refused (instance down)";
        }
        if (cause instanceof IOException) {
            String message = String.valueOf(cause.getMessage());
            if (message.length() > 48) {
                message = message.substring(0, 48) + "...";
            }
            return "I/O: " + cause.getClass().getSimpleName() + ": " + message;
        }
        return cause.getClass().getName();
    }

    private static Map<String, Long> snapshot(Map<String, LongAdder> counts) {
        Map<String, Long> sorted = new TreeMap<>();
        counts.forEach((k, v) -> sorted.put(k, v.sum()));
        return sorted;
    }

    /** An answer other than 200 from an instance. */
    static final class StatusException extends IOException {
        private static final long serialVersionUID = 1L;
        final int status;

        StatusException(int status) {
            super("HTTP " + status);
            this.status = status;
        }
    }
}
