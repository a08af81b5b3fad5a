package dev.ailb;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A balancer's listeners, in a copy-on-write list: telling them walks a snapshot and takes no
 * lock, so events are told after the change, outside the routing table's lock.
 *
 * <p>Thread-safe.
 */
final class Listeners {
    private static final Logger log = LoggerFactory.getLogger(Listeners.class);

    private final String name;
    private final List<LoadBalancerListener> listeners = new CopyOnWriteArrayList<>();

    /** @param name the balancer's name, for the log line of a listener that failed */
    Listeners(String name) {
        this.name = name;
    }

    void add(LoadBalancerListener listener) {
        listeners.add(listener);
    }

    boolean remove(LoadBalancerListener listener) {
        return listeners.remove(listener);
    }

    /**
     * Tells every listener of an event. A listener's exception, or error, is logged and goes no
     * further: the change it was told of is made already, and what the balancer still has to do
     * after it (complete a removal, finish a release) must happen whatever a listener does.
     */
    void tell(Consumer<LoadBalancerListener> event) {
        for (LoadBalancerListener listener : listeners) {
            try {
                event.accept(listener);
            } catch (Throwable t) {
                log.error("{} - Listener {} failed", name, listener, t);
            }
        }
    }
}
