package dev.ailb;

import static dev.ailb.internal.Preconditions.quote;

/**
 * Thrown by {@link LoadBalancer#selectBackend} when no backend can take a new request; the
 * {@link #reason()} and message say why. For a request that names a model or requires labels, the
 * backends counted are those that serve the model and carry the labels.
 */
public final class NoAvailableBackendException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why no backend was available. */
    public enum Reason {
        /** No backend is registered. */
        NO_BACKENDS,
        /** Every registered backend is unhealthy. */
        ALL_UNHEALTHY,
        /** Every registered backend is out of service: being removed, or in maintenance. */
        ALL_OUT_OF_SERVICE,
        /** Every registered backend is unhealthy or out of service, some of each. */
        ALL_UNHEALTHY_OR_OUT_OF_SERVICE,
        /**
         * No registered backend serves the model the request names, as a model or as an adapter,
         * whatever its state; see {@link NoAvailableBackendException#model()}.
         */
        MODEL_NOT_SERVED,
        /**
         * Some registered backends serve the request's model (or it names none), but none of them
         * carries the labels the request requires, whatever its state; see
         * {@link NoAvailableBackendException#labels()}.
         */
        LABELS_NOT_CARRIED,
        /**
         * Backends are available, but every one is full: at its
         * {@linkplain LoadBalancer#setConnectionLimit connection limit} or saturated by its last
         * load report. Only a balancer with connection limits or an admission queue says so, and
         * only to calls that do not wait for room ({@code selectBackend}, {@code execute}, sessions).
         */
        ALL_FULL
    }

    /** Why no backend was available. */
    private final Reason reason;
    /** How many backends were counted: registered, serving the model and carrying the labels. */
    private final int registered;
    /** The model or adapter the request named; empty if none. */
    private final String model;
    /** The request's labels; not serialised (the message has the required ones). */
    private final transient LabelSelector labels;

    NoAvailableBackendException(Reason reason, int registered, int unhealthy, int outOfService, String model,
            LabelSelector labels) {
        super(message(reason, registered, unhealthy, outOfService, model, labels));
        this.reason = reason;
        this.registered = registered;
        this.model = model;
        this.labels = labels;
    }

    NoAvailableBackendException(Reason reason, int registered, int unhealthy, int outOfService) {
        this(reason, registered, unhealthy, outOfService, "", LabelSelector.none());
    }

    /** No registered backend (of {@code registered}) serves the model. */
    static NoAvailableBackendException modelNotServed(String model, LabelSelector labels, int registered) {
        return new NoAvailableBackendException(Reason.MODEL_NOT_SERVED, registered, 0, 0, model, labels);
    }

    /** No registered backend (of {@code registered}) serving the model carries the required labels. */
    static NoAvailableBackendException labelsNotCarried(String model, LabelSelector labels, int registered) {
        return new NoAvailableBackendException(Reason.LABELS_NOT_CARRIED, registered, 0, 0, model, labels);
    }

    private static String message(Reason reason, int registered, int unhealthy, int outOfService, String model,
            LabelSelector labels) {
        String backends = registered == 1 ? " registered backend" : " registered backends";
        String serving = (model.isEmpty() ? "" : " serving model " + quote(model))
                + (labels.required().isEmpty() ? "" : (model.isEmpty() ? "" : " and") + " carrying labels "
                        + labels.required());
        switch (reason) {
            case NO_BACKENDS:
                return "no backend available: none is registered";
            case MODEL_NOT_SERVED:
                return "no backend available: none of the " + registered + backends + " serves model " + quote(model);
            case LABELS_NOT_CARRIED:
                return "no backend available: none of the " + registered + backends
                        + (model.isEmpty() ? "" : " serving model " + quote(model)) + " carries labels "
                        + labels.required();
            case ALL_UNHEALTHY:
                return "no backend available: all " + registered + backends + serving + " are unhealthy";
            case ALL_OUT_OF_SERVICE:
                return "no backend available: all " + registered + backends + serving
                        + " are out of service (being removed or in maintenance)";
            case ALL_FULL:
                return "no backend available: all available backends of the " + registered + backends + serving
                        + " are full (at their connection limit or saturated)";
            default:
                return "no backend available: of " + registered + backends + serving + ", " + unhealthy
                        + " are unhealthy and " + outOfService + " are out of service";
        }
    }

    /**
     * Why no backend was available.
     *
     * @return the reason, never null
     */
    public Reason reason() {
        return reason;
    }

    /**
     * How many backends were counted: those registered, draining ones included, that serve the
     * request's model and carry its required labels (every registered one for a request that names
     * neither); for {@link Reason#MODEL_NOT_SERVED} and {@link Reason#LABELS_NOT_CARRIED}, every
     * registered one.
     *
     * @return the number of backends counted, {@code >= 0}; 0 exactly when the reason is
     *         {@link Reason#NO_BACKENDS}
     */
    public int registeredBackends() {
        return registered;
    }

    /**
     * The model or adapter the request named.
     *
     * @return its name, empty if the request named none
     */
    public String model() {
        return model;
    }

    /**
     * The labels the request required and preferred.
     *
     * @return the request's selector, {@link LabelSelector#none()} if it had none (also after
     *         deserialisation, which does not keep it)
     */
    public LabelSelector labels() {
        return labels == null ? LabelSelector.none() : labels;
    }
}
