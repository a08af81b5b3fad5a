package dev.ailb.kubernetes;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkPositive;
import static dev.ailb.internal.Preconditions.requireUnset;
import static dev.ailb.internal.Preconditions.shown;

import dev.ailb.BackendProfile;
import dev.ailb.DiscoveryContext;
import dev.ailb.DiscoverySource;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The backends of a balancer from the EndpointSlices of a Kubernetes Service, watched with the
 * fabric8 client: its ready endpoints are the backends, one per address and port; an endpoint that
 * terminates leaves the membership, and the balancer drains it (its requests in flight finish);
 * the endpoints' zone and node become the labels {@code zone} and {@code node} of each backend's
 * profile, for {@link dev.ailb.LabelSelector}s.
 *
 * <pre>{@code
 * KubernetesClient client = new KubernetesClientBuilder().build();
 * LoadBalancer lb = LoadBalancer.builder().strategy(BalancingStrategy.LEAST_CONNECTIONS).build();
 * lb.discover(EndpointSliceDiscovery.builder(client)
 *         .namespace("inference")
 *         .service("vllm")
 *         .portName("http")
 *         .profile(BackendProfile.builder().model("llama-3-8b").build())
 *         .build());
 * }</pre>
 *
 * <p>The source watches the slices labelled {@code kubernetes.io/service-name=<service>} in the
 * namespace, all of them together: the membership is the union of their ready endpoints. Which
 * endpoints count, which port is taken and how the ids are made is said on the options below and in
 * the Discovery guide. While the view is unknown (the list or the watch fails, the watch has been
 * down for a {@linkplain Builder#checkInterval check interval}, or the slices name several ports
 * and no port name is set), the balancer is told so and keeps its last good membership; the
 * client's informer reconnects by itself.
 *
 * <p>The client is the application's: the source starts an informer on it, and closing the source
 * (or the balancer it was given to) stops that informer, never the client. It needs permission to
 * list and watch {@code endpointslices} of the {@code discovery.k8s.io} group in the namespace.
 * The fabric8 client is an optional dependency of the library; only this package uses it.
 *
 * <p>Thread-safe. Started once, by {@link dev.ailb.LoadBalancer#discover}.
 */
public final class EndpointSliceDiscovery implements DiscoverySource {
    /** The label that EndpointSlices carry with the name of their Service. */
    static final String SERVICE_LABEL = "kubernetes.io/service-name";
    /** How often the watch is checked unless set. */
    static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofSeconds(5);

    private final KubernetesClient client;
    private final String namespace;
    private final String service;
    private final String portName;
    private final BackendProfile profile;
    private final Duration checkInterval;
    /** The run: null before start, then the informer and its watch; CLOSED once closed. */
    private final AtomicReference<Run> run = new AtomicReference<>();

    private record Run(SharedIndexInformer<EndpointSlice> informer, SliceWatch watch) {}

    private static final Run CLOSED = new Run(null, null);

    private EndpointSliceDiscovery(Builder b, String namespace) {
        this.client = b.client;
        this.namespace = namespace;
        this.service = b.service;
        this.portName = b.portName;
        this.profile = b.profile == null ? BackendProfile.none() : b.profile;
        this.checkInterval = b.checkInterval == null ? DEFAULT_CHECK_INTERVAL : b.checkInterval;
    }

    /**
     * A builder of a source over this client.
     *
     * @param client the client to watch with, the application's; it is never closed by the source
     * @return a new builder
     * @throws NullPointerException if {@code client} is null
     */
    public static Builder builder(KubernetesClient client) {
        return new Builder(checkNotNull(client, "client"));
    }

    /**
     * Starts the informer on the Service's EndpointSlices; the membership is delivered once their
     * first list completes. Returns at once: the list and the watch run on the client's threads.
     *
     * @param context where the membership goes
     * @throws NullPointerException  if {@code context} is null
     * @throws IllegalStateException if the source was started or closed already
     */
    @Override
    public void start(DiscoveryContext context) {
        checkNotNull(context, "context");
        SharedIndexInformer<EndpointSlice> informer = client.discovery().v1().endpointSlices()
                .inNamespace(namespace).withLabel(SERVICE_LABEL, service).runnableInformer(0);
        SliceWatch watch = new SliceWatch(context, namespace + "/" + service, portName, profile, checkInterval,
                informer::isWatching);
        Run started = new Run(informer, watch);
        if (!run.compareAndSet(null, started)) {
            throw new IllegalStateException(this + " was " + (run.get() == CLOSED ? "closed" : "started")
                    + " already (expected: a source started once, by one balancer)");
        }
        informer.exceptionHandler(watch::retryAfter);
        informer.addEventHandler(watch);
        watch.start();
        informer.start();
        if (run.get() != started) {
            informer.stop(); // closed while starting: close() may have stopped it before it started
        }
    }

    /** Stops the informer; no membership is delivered after this returns. Closing again does nothing. */
    @Override
    public void close() {
        Run closing = run.getAndSet(CLOSED);
        if (closing != null && closing != CLOSED) {
            closing.watch().close();
            closing.informer().stop();
        }
    }

    /**
     * The Service watched.
     *
     * @return {@code namespace/name}
     */
    public String service() {
        return namespace + "/" + service;
    }

    /**
     * The source, e.g. {@code EndpointSliceDiscovery{service=inference/vllm, port=http}}.
     *
     * @return a description
     */
    @Override
    public String toString() {
        return "EndpointSliceDiscovery{service=" + service() + ", port=" + (portName == null ? "the only one" : portName)
                + "}";
    }

    /**
     * Builds an {@link EndpointSliceDiscovery}; each option may be set once and is checked at once.
     * Not thread-safe.
     */
    public static final class Builder {
        private final KubernetesClient client;
        private String namespace;
        private String service;
        private String portName;
        private BackendProfile profile;
        private Duration checkInterval;

        private Builder(KubernetesClient client) {
            this.client = client;
        }

        /**
         * The namespace of the Service. Unless set, the client's namespace (from its kubeconfig,
         * or the pod's own namespace in a cluster).
         *
         * @param namespace a namespace name: 1 to 63 lowercase letters, digits and {@code '-'},
         *                  starting and ending with a letter or digit
         * @return this builder
         * @throws NullPointerException     if {@code namespace} is null
         * @throws IllegalArgumentException if it is not a namespace name
         * @throws IllegalStateException    if it was already set
         */
        public Builder namespace(String namespace) {
            requireUnset(this.namespace, "namespace");
            this.namespace = checkLabel(namespace, "namespace", false);
            return this;
        }

        /**
         * The Service whose EndpointSlices make the membership. Required.
         *
         * @param service a Service name: 1 to 63 lowercase letters, digits and {@code '-'},
         *                starting with a letter and ending with a letter or digit
         * @return this builder
         * @throws NullPointerException     if {@code service} is null
         * @throws IllegalArgumentException if it is not a Service name
         * @throws IllegalStateException    if it was already set
         */
        public Builder service(String service) {
            requireUnset(this.service, "service");
            this.service = checkLabel(service, "service", true);
            return this;
        }

        /**
         * The name of the Service's port that the backends serve on. Unless set, each slice's only
         * port; a Service with several ports names each, and then this must be set.
         *
         * @param portName the port's name in the Service: 1 to 63 lowercase letters, digits and
         *                 {@code '-'}, starting and ending with a letter or digit
         * @return this builder
         * @throws NullPointerException     if {@code portName} is null
         * @throws IllegalArgumentException if it is not a port name
         * @throws IllegalStateException    if it was already set
         */
        public Builder portName(String portName) {
            requireUnset(this.portName, "portName");
            this.portName = checkLabel(portName, "portName", false);
            return this;
        }

        /**
         * The profile every backend starts from, such as the models the Service's pods serve; each
         * backend adds its endpoint's {@code zone} and {@code node} labels to it. Unless set,
         * {@link BackendProfile#none()}.
         *
         * @param profile the profile
         * @return this builder
         * @throws NullPointerException  if {@code profile} is null
         * @throws IllegalStateException if it was already set
         */
        public Builder profile(BackendProfile profile) {
            requireUnset(this.profile, "profile");
            this.profile = checkNotNull(profile, "profile");
            return this;
        }

        /**
         * How often the source checks, on the balancer's scheduler, that its watch is up. The
         * client reconnects a dropped watch without telling; a watch found down by two checks in a
         * row is reported as a failure. Unless set, 5 seconds.
         *
         * @param checkInterval the interval, positive
         * @return this builder
         * @throws NullPointerException     if {@code checkInterval} is null
         * @throws IllegalArgumentException if it is zero or negative
         * @throws IllegalStateException    if it was already set
         */
        public Builder checkInterval(Duration checkInterval) {
            requireUnset(this.checkInterval, "checkInterval");
            this.checkInterval = checkPositive(checkInterval, "checkInterval");
            return this;
        }

        /**
         * The source, not yet started.
         *
         * @return a new source
         * @throws IllegalStateException if no Service was set, or no namespace was set and the
         *                               client has none
         */
        public EndpointSliceDiscovery build() {
            if (service == null) {
                throw new IllegalStateException("service: not set (expected: the name of the Service to watch)");
            }
            String ns = namespace != null ? namespace : client.getNamespace();
            if (ns == null) {
                throw new IllegalStateException(
                        "namespace: not set, and the client has none (expected: the namespace of the Service)");
            }
            return new EndpointSliceDiscovery(this, ns);
        }

        /**
         * Checks a DNS label as Kubernetes names namespaces, Services and their ports: 1 to 63
         * lowercase letters, digits and '-', starting (with a letter, for a Service) and ending with a
         * letter or digit.
         */
        private static String checkLabel(String value, String name, boolean letterFirst) {
            checkNotNull(value, name);
            boolean ok = !value.isEmpty() && value.length() <= 63 && value.charAt(value.length() - 1) != '-'
                    && (letterFirst ? isLower(value.charAt(0)) : value.charAt(0) != '-');
            for (int i = 0; ok && i < value.length(); i++) {
                char c = value.charAt(i);
                ok = isLower(c) || (c >= '0' && c <= '9') || c == '-';
            }
            if (!ok) {
                throw new IllegalArgumentException(name + ": " + shown(value) + " (expected: 1 to 63 lowercase"
                        + " letters, digits and '-', starting with a " + (letterFirst ? "letter" : "letter or digit")
                        + " and ending with a letter or digit)");
            }
            return value;
        }

        private static boolean isLower(char c) {
            return c >= 'a' && c <= 'z';
        }
    }
}
