package dev.ailb;

import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the backends' servers say they serve ({@link dev.ailb.health.ModelDiscovery}): the outcome
 * of each discovery, applied to the backend's learnt profile, which routes beside the declared one.
 * A changed answer republishes the view ({@link RoutingTable#reprofile}); an unchanged one changes
 * nothing; a rejected one keeps what was learnt before and is logged at WARN when a backend's
 * answers start failing, at DEBUG while they go on failing, at INFO when they are read again.
 *
 * <p>Thread-safe: called on the health checker's threads.
 */
final class LearntModels {
    private static final Logger log = LoggerFactory.getLogger(LearntModels.class);

    private final RoutingTable table;

    LearntModels(RoutingTable table) {
        this.table = table;
    }

    void onDiscovery(Backend backend, BackendProfile learnt, Throwable error) {
        if (error != null) {
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            String reason = cause.getMessage() != null ? cause.getMessage() : cause.toString();
            if (backend.modelsProblem == null) {
                log.warn("{} - Backend {}: model list rejected: {}; what was learnt before is kept", table.name(),
                        backend.id(), reason);
            } else {
                log.debug("{} - Backend {}: model list rejected again: {}", table.name(), backend.id(), reason);
            }
            backend.modelsProblem = reason;
            return;
        }
        if (backend.modelsProblem != null) {
            backend.modelsProblem = null;
            log.info("{} - Backend {}: model lists are read again", table.name(), backend.id());
        }
        if (learnt.equals(backend.learntProfile())) {
            return;
        }
        table.lock();
        try {
            if (backend.isRemoved() || table.current().byId.get(backend.id()) != backend) {
                return;
            }
            BackendProfile previous = backend.learntProfile();
            table.reprofile(backend, learnt, true);
            log.info("{} - Backend {} serves, by its server: models {}, adapters {} (before: models {}, adapters {})",
                    table.name(), backend.id(), learnt.models(), learnt.adapters(), previous.models(),
                    previous.adapters());
        } catch (IllegalStateException e) {
            log.warn("{} - Backend {}: its model list changed, but the view could not be rebuilt: {}", table.name(),
                    backend.id(), e.getMessage());
        } finally {
            table.unlock();
        }
    }
}
