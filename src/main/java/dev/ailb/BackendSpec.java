package dev.ailb;

import static dev.ailb.internal.Preconditions.checkHost;
import static dev.ailb.internal.Preconditions.checkId;
import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkRange;
import static dev.ailb.internal.Preconditions.quote;

/**
 * A backend as a membership states it: its id, address, weight and profile. What
 * {@link LoadBalancer#setBackends} reconciles the balancer to and {@link LoadBalancer#addBackends}
 * registers, and what a {@linkplain DiscoverySource discovery source} reports.
 *
 * <pre>{@code
 * lb.setBackends(List.of(
 *         BackendSpec.of("gpu-1", "10.0.0.1", 8000),
 *         BackendSpec.of("gpu-2", "10.0.0.2", 8000).withWeight(2)));
 * }</pre>
 *
 * <p>Each part is checked when the spec is made, as {@link LoadBalancer#addBackend(String, String,
 * int, int, BackendProfile)} checks its arguments, so a collection of specs can only be refused
 * for what lies between them (an id given twice). Two specs are equal when all five parts are.
 *
 * <p>Immutable and thread-safe.
 */
public final class BackendSpec {
    private final String id;
    private final String host;
    private final int port;
    private final int weight;
    private final BackendProfile profile;

    private BackendSpec(String id, String host, int port, int weight, BackendProfile profile) {
        this.id = id;
        this.host = host;
        this.port = port;
        this.weight = weight;
        this.profile = profile;
    }

    /**
     * A backend of weight 1 that declares no profile.
     *
     * @param id   unique id, not blank, at most 256 characters
     * @param host the host, as {@link LoadBalancer#addBackend(String, String, int, int)} takes it
     * @param port port, 1..65535
     * @return the spec
     * @throws NullPointerException     if {@code id} or {@code host} is null
     * @throws IllegalArgumentException if an argument is out of range or the host is not a host
     *                                  name, an IPv4 address or an IPv6 address
     */
    public static BackendSpec of(String id, String host, int port) {
        return new BackendSpec(checkId(id, "id"), checkHost(host, "host"), checkRange(port, 1, 65535, "port"), 1,
                BackendProfile.none());
    }

    /**
     * This spec with another weight.
     *
     * @param weight relative capacity, 1..{@link LoadBalancer#MAX_WEIGHT}
     * @return the spec with that weight
     * @throws IllegalArgumentException if {@code weight} is out of range
     */
    public BackendSpec withWeight(int weight) {
        checkRange(weight, 1, LoadBalancer.MAX_WEIGHT, "weight");
        return weight == this.weight ? this : new BackendSpec(id, host, port, weight, profile);
    }

    /**
     * This spec with another profile.
     *
     * @param profile what the backend serves and its labels; {@link BackendProfile#none()} for none
     * @return the spec with that profile
     * @throws NullPointerException if {@code profile} is null
     */
    public BackendSpec withProfile(BackendProfile profile) {
        checkNotNull(profile, "profile");
        return profile.equals(this.profile) ? this : new BackendSpec(id, host, port, weight, profile);
    }

    /**
     * The backend's id.
     *
     * @return the id
     */
    public String id() {
        return id;
    }

    /**
     * The backend's host, as given.
     *
     * @return the host
     */
    public String host() {
        return host;
    }

    /**
     * The backend's port.
     *
     * @return the port, 1..65535
     */
    public int port() {
        return port;
    }

    /**
     * The backend's weight.
     *
     * @return the weight, 1..{@link LoadBalancer#MAX_WEIGHT}
     */
    public int weight() {
        return weight;
    }

    /**
     * What the backend serves and its labels.
     *
     * @return the profile, {@link BackendProfile#none()} when it declares nothing
     */
    public BackendProfile profile() {
        return profile;
    }

    /** Whether a registered backend stands at this spec's address. */
    boolean sameAddress(Backend backend) {
        return backend.host().equals(host) && backend.port() == port;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BackendSpec s && id.equals(s.id) && host.equals(s.host) && port == s.port
                && weight == s.weight && profile.equals(s.profile);
    }

    @Override
    public int hashCode() {
        return ((id.hashCode() * 31 + host.hashCode()) * 31 + port) * 31 + weight + 961 * profile.hashCode();
    }

    @Override
    public String toString() {
        return "BackendSpec{id=" + quote(id) + ", " + host + ':' + port + ", weight=" + weight
                + (profile.isEmpty() ? "" : ", " + profile) + '}';
    }
}
