package dev.ailb;

/**
 * Thrown by {@link LoadBalancer#selectBackend} when no backend can take a new request; the
 * {@link #reason()} and message say why.
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
        ALL_UNHEALTHY_OR_OUT_OF_SERVICE
    }

    /** Why no backend was available. */
    private final Reason reason;
    /** How many backends were registered, those out of service included. */
    private final int registered;

    NoAvailableBackendException(Reason reason, int registered, int unhealthy, int outOfService) {
        super(message(reason, registered, unhealthy, outOfService));
        this.reason = reason;
        this.registered = registered;
    }

    private static String message(Reason reason, int registered, int unhealthy, int outOfService) {
        switch (reason) {
            case NO_BACKENDS:
                return "no backend available: none is registered";
            case ALL_UNHEALTHY:
                return "no backend available: all " + registered + " registered backends are unhealthy";
            case ALL_OUT_OF_SERVICE:
                return "no backend available: all " + registered
                        + " registered backends are out of service (being removed or in maintenance)";
            default:
                return "no backend available: of " + registered + " registered backends, " + unhealthy
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
     * How many backends were registered, draining ones included.
     *
     * @return the number of registered backends, {@code >= 0}; 0 exactly when the reason is
     *         {@link Reason#NO_BACKENDS}
     */
    public int registeredBackends() {
        return registered;
    }
}
