package dev.ailb.demo.spring;

import dev.ailb.AttemptTracer;
import dev.ailb.RoutingDecision;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The attempts of the sample's pool as they end: each one's routing decision and how its lease was
 * released. The pool hands it every attempt ({@code LoadBalancerBuilder.attemptTracing}); a
 * streamed answer's lease ends on the OpenAI client's reading thread after its last event, so the
 * sample takes each attempt from here rather than from the thread that asked. Thread-safe.
 */
final class AttemptLog implements AttemptTracer.Factory {
    /** How long {@link #next()} waits for an attempt to end. */
    static final Duration WAIT = Duration.ofSeconds(30);

    /** An attempt that has ended. */
    record Attempt(RoutingDecision decision, AttemptTracer.Outcome outcome) {}

    private final BlockingQueue<Attempt> ended = new LinkedBlockingQueue<>();

    @Override
    public AttemptTracer newTracer(RoutingDecision decision) {
        return (outcome, failure) -> ended.add(new Attempt(decision, outcome));
    }

    /**
     * The next attempt to have ended, waiting for it up to {@link #WAIT}.
     *
     * @throws IllegalStateException if none ends in time
     */
    Attempt next() throws InterruptedException {
        Attempt attempt = ended.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        if (attempt == null) {
            throw new IllegalStateException("no attempt of the pool ended within " + WAIT);
        }
        return attempt;
    }

    /** Attempts that have ended and not been taken. */
    int pending() {
        return ended.size();
    }
}
