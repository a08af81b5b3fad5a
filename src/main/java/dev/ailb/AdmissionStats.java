package dev.ailb;

import java.time.Duration;

/**
 * What the admission queue has done: the requests waiting now, those that waited and how each wait
 * ended, and the rejections by reason. Every request that met a full fleet is counted exactly
 * once: admitted after its wait, withdrawn by its caller, or rejected under one reason (some
 * rejections come before any wait: {@code shed} always, {@code queueFull} when the queue had no
 * place). So {@code queued == admitted + withdrawn + deadlinePassed + displaced + closed + waiting},
 * where {@code displaced} are the waiters among {@code queueFull} and {@code closed} the waiters
 * among {@code balancerClosed}.
 *
 * <p>Immutable and thread-safe. All zero for a balancer without limits or a queue.
 *
 * @param waiting        requests waiting now (the queue's depth)
 * @param queued         requests that have entered the queue
 * @param admitted       waiters admitted: given a connection when room was freed
 * @param withdrawn      waiters that left before a decision: their future cancelled or completed
 *                       by the caller, or their blocking caller interrupted
 * @param shed           {@link RequestRejectedException.Reason#SHED} rejections
 * @param queueFull      {@link RequestRejectedException.Reason#QUEUE_FULL} rejections, arrivals
 *                       and displaced waiters
 * @param displaced      of {@code queueFull}, the waiters that gave their place to a critical
 *                       arrival
 * @param deadlinePassed {@link RequestRejectedException.Reason#DEADLINE_PASSED} rejections
 * @param balancerClosed {@link RequestRejectedException.Reason#BALANCER_CLOSED} rejections
 * @param medianWait     the median wait of the waiters admitted (within about 3%), zero if none
 * @param p99Wait        their 99th percentile wait (within about 3%), zero if none
 */
public record AdmissionStats(
        int waiting,
        long queued,
        long admitted,
        long withdrawn,
        long shed,
        long queueFull,
        long displaced,
        long deadlinePassed,
        long balancerClosed,
        Duration medianWait,
        Duration p99Wait) {

    /**
     * All rejections, whatever their reason.
     *
     * @return {@code shed + queueFull + deadlinePassed + balancerClosed}
     */
    public long rejected() {
        return shed + queueFull + deadlinePassed + balancerClosed;
    }
}
