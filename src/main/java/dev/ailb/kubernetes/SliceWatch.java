package dev.ailb.kubernetes;

import dev.ailb.BackendProfile;
import dev.ailb.BackendSpec;
import dev.ailb.DiscoveryContext;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.function.BooleanSupplier;

/**
 * One run of an {@link EndpointSliceDiscovery}: the slices its informer holds, and what it tells
 * the balancer's {@link DiscoveryContext}.
 *
 * <h2>Design</h2>
 * The informer lists the Service's slices, then watches them; after a failure or an expired
 * watch it lists them again. Its events arrive one at a time on its own thread; the failures it
 * retries after arrive on another, and the watch check runs on the balancer's scheduler. All of
 * them take {@code lock}, so the membership is computed and delivered by one thread at a time, in
 * the order of the informer's events, and {@link #close} waits for a delivery under way: no
 * update is delivered after it returns. (The lock is held while the balancer reconciles, so the
 * order is always this lock, then the balancer's.)
 *
 * <p>Nothing is delivered while a list is under way ({@code onBeforeList} to {@code onList}): until
 * it completes, the informer's cache may still hold slices deleted meanwhile, or only some of the
 * Service's slices, and a partial view would drain backends that are still there. Each completed
 * list delivers the whole membership once; each event after it, the membership it leads to.
 *
 * <p>The view is unknown, and the balancer is told so with {@code fail} (it keeps the last good
 * membership), when the informer fails to list or watch (it retries by itself, with backoff), when
 * the slices state no membership (several ports and no port name), and when the watch has been
 * down for a whole check interval: the client reconnects a dropped watch by itself and says nothing
 * of it, so a check on the balancer's scheduler looks. The next delivery after a failure is made even
 * when the membership did not change, so that the balancer knows the view is known again.
 */
final class SliceWatch implements ResourceEventHandler<EndpointSlice> {
    private final DiscoveryContext context;
    private final String service;
    private final String portName;
    private final BackendProfile profile;
    private final Duration checkInterval;
    private final BooleanSupplier watching;

    private final Object lock = new Object();
    /** The slices by name. Guarded by lock. */
    private final Map<String, EndpointSlice> slices = new HashMap<>();
    /** Whether a list has completed and no other is under way. Guarded by lock. */
    private boolean listed;
    /** Whether a failure was reported since the last delivery. Guarded by lock. */
    private boolean failing;
    /** How many checks in a row found the watch down. Guarded by lock. */
    private int checksDown;
    /** The membership last delivered, or null before the first. Guarded by lock. */
    private List<BackendSpec> delivered;
    /** The next watch check. Guarded by lock. */
    private ScheduledFuture<?> check;
    private boolean closed;

    SliceWatch(DiscoveryContext context, String service, String portName, BackendProfile profile,
            Duration checkInterval, BooleanSupplier watching) {
        this.context = context;
        this.service = service;
        this.portName = portName;
        this.profile = profile;
        this.checkInterval = checkInterval;
        this.watching = watching;
    }

    /** Schedules the first watch check. */
    void start() {
        synchronized (lock) {
            scheduleCheck();
        }
    }

    @Override
    public void onBeforeList(String lastSyncResourceVersion) {
        synchronized (lock) {
            listed = false;
        }
    }

    @Override
    public void onList(String resourceVersion, boolean remainedEmpty) {
        synchronized (lock) {
            listed = true;
            deliver();
        }
    }

    @Override
    public void onAdd(EndpointSlice slice) {
        put(slice);
    }

    @Override
    public void onUpdate(EndpointSlice previous, EndpointSlice slice) {
        put(slice);
    }

    @Override
    public void onDelete(EndpointSlice slice, boolean finalStateUnknown) {
        synchronized (lock) {
            slices.remove(slice.getMetadata().getName());
            if (listed) {
                deliver();
            }
        }
    }

    private void put(EndpointSlice slice) {
        synchronized (lock) {
            slices.put(slice.getMetadata().getName(), slice);
            if (listed) {
                deliver();
            }
        }
    }

    /**
     * The informer's exception handler: a list or watch failed. The membership is unknown until the
     * informer's next list; it retries, with its backoff, until the source is closed.
     *
     * @return whether the informer should retry
     */
    boolean retryAfter(boolean started, Throwable failure) {
        synchronized (lock) {
            if (closed) {
                return false;
            }
            fail(failure);
            return true;
        }
    }

    /** The watch check: a watch down for a whole interval is a failure, a watch back ends one. */
    private void checkWatch() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            if (!listed) {
                checksDown = 0; // a list under way fails or completes on its own
            } else if (watching.getAsBoolean()) {
                checksDown = 0;
                if (failing) {
                    deliver();
                }
            } else if (++checksDown >= 2) {
                fail(new IllegalStateException("the watch of the EndpointSlices of Service " + service
                        + " has been down for " + checkInterval + " or more; the client is reconnecting"));
            }
            scheduleCheck();
        }
    }

    private void scheduleCheck() {
        check = context.schedule(this::checkWatch, checkInterval);
    }

    private void deliver() {
        if (closed) {
            return;
        }
        SliceMembership.Outcome outcome = SliceMembership.of(slices.values(), portName, profile, service);
        if (outcome.problem() != null) {
            fail(outcome.problem());
            return;
        }
        if (failing || !outcome.backends().equals(delivered)) {
            try {
                context.update(outcome.backends());
            } catch (RuntimeException refused) {
                // The balancer refused it (its strategy could not build a picker) and counted the
                // failure itself; the next event or check delivers again.
                failing = true;
                return;
            }
            delivered = outcome.backends();
            failing = false;
        }
    }

    private void fail(Throwable failure) {
        failing = true;
        context.fail(failure);
    }

    /** Delivers nothing more, and cancels the next watch check. */
    void close() {
        synchronized (lock) {
            closed = true;
            if (check != null) {
                check.cancel(false);
            }
        }
    }
}
