package dev.ailb;

import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stage of the request path that turns a view and a request into what the strategy's picker
 * picks from ({@link Candidates}): the whole view for a request that names no model and no labels,
 * otherwise the backends that serve its model and carry its required labels, best tier first (see
 * {@link Subsets}).
 *
 * <p>Readers never lock on a kind of request the view already keeps: the candidates are built when
 * the view is published, and a pick reads two hash maps. The first request of a new kind that some
 * registered backend can serve takes the balancer's lock once, to keep the kind and publish a view
 * with its candidates; a request no registered backend can serve is refused without the lock (and
 * the kind is not kept, so made-up model names cost nothing beyond their request).
 *
 * <p>Thread-safe.
 */
final class CandidateFilter {
    private static final Logger log = LoggerFactory.getLogger(CandidateFilter.class);

    private final RoutingTable table;
    /** Whether running out of kinds was logged; written under the table's lock. */
    private boolean fullLogged;

    CandidateFilter(RoutingTable table) {
        this.table = table;
    }

    /**
     * The candidates of a request in a view: {@link Registry#everything} for a request that names
     * no model and no labels, else those of its kind. Empty candidates mean none may take it now.
     *
     * @throws IllegalStateException if the strategy fails to build a picker for a new kind
     */
    Candidates candidates(Registry view, Request request) {
        LabelSelector labels = request.labels();
        // The shared empty selector is what nearly every request carries: comparing with it spares
        // the pick the two calls through the Map interface that isEmpty() makes.
        if (!request.hasModel() && (labels == LabelSelector.none() || labels.isEmpty())) {
            return view.everything;
        }
        Candidates kept = view.candidatesOf(request.model(), request.labels());
        return kept != null ? kept : firstOfKind(view, request.model(), request.labels());
    }

    private Candidates firstOfKind(Registry view, String model, LabelSelector labels) {
        if (!anyAdmits(view.all, model, labels)) {
            return new Candidates(model, labels, List.of(), List.of(), null, null, false, false);
        }
        table.lock();
        try {
            Registry current = table.current();
            Candidates kept = current.candidatesOf(model, labels);
            if (kept != null) {
                return kept;
            }
            if (!current.subsets.add(model, labels)) {
                if (!fullLogged) {
                    fullLogged = true;
                    log.warn("{} - More than {} kinds of request (model and labels): the candidates of the others "
                            + "are built for each request; first left out: model {}, {}", table.name(),
                            Subsets.MAX_KINDS, model.isEmpty() ? "any" : model, labels);
                }
                return current.subsets.adHoc(model, labels, current);
            }
            try {
                table.republish();
            } catch (IllegalStateException e) {
                current.subsets.remove(model, labels);
                throw e;
            }
            return Objects.requireNonNull(table.current().candidatesOf(model, labels));
        } finally {
            table.unlock();
        }
    }

    /**
     * A backend's last load report changed the adapters it holds, its free slot or its saturation
     * ({@link ResidentAdapters}): publishes a view whose tiers see it, if a kind of request names a
     * model. A strategy that fails to build its picker leaves the older view, and the failure is
     * logged.
     */
    void adaptersChanged(Backend backend) {
        if (!table.current().keepsModels()) {
            // A kind kept from now on is built with the report already recorded.
            return;
        }
        table.lock();
        try {
            Registry current = table.current();
            if (current.byId.get(backend.id()) != backend) {
                return;
            }
            try {
                table.republishAdapters(backend);
            } catch (IllegalStateException e) {
                log.warn("{} - Backend {}: its adapters changed, but the view could not be rebuilt: {}",
                        table.name(), backend.id(), e.getMessage());
            }
        } finally {
            table.unlock();
        }
    }

    /** Whether a registered backend serves a model and carries the required labels, whatever its state. */
    static boolean anyAdmits(List<Backend> all, String model, LabelSelector labels) {
        for (Backend b : all) {
            if (Candidates.admits(b, model, labels)) {
                return true;
            }
        }
        return false;
    }
}
