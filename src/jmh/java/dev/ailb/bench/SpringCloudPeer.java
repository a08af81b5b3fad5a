package dev.ailb.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.cloud.client.DefaultServiceInstance;
import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.loadbalancer.DefaultRequest;
import org.springframework.cloud.client.loadbalancer.Request;
import org.springframework.cloud.client.loadbalancer.Response;
import org.springframework.cloud.loadbalancer.core.RandomLoadBalancer;
import org.springframework.cloud.loadbalancer.core.ReactorServiceInstanceLoadBalancer;
import org.springframework.cloud.loadbalancer.core.RoundRobinLoadBalancer;
import org.springframework.cloud.loadbalancer.core.ServiceInstanceListSupplier;
import reactor.core.publisher.Flux;

/**
 * Spring Cloud LoadBalancer: {@code RoundRobinLoadBalancer} or {@code RandomLoadBalancer}, built
 * directly, without an application context, over an in-memory instance list supplier handed in
 * through an {@code ObjectProvider} of our own. Each pick is {@code choose(request)} blocked on, as
 * Spring's blocking client does; the supplier emits the same fixed list every time, so the cost is
 * the picker's and Reactor's, with none of the caching or health-check suppliers of a real setup.
 */
final class SpringCloudPeer extends CountingPeer {

    static final String SERVICE_ID = "completions";

    private final ReactorServiceInstanceLoadBalancer balancer;
    private final Request<?>[] requests = new Request<?>[KEYS];

    SpringCloudPeer(String variant, int servers) {
        List<ServiceInstance> instances = new ArrayList<>(servers);
        for (int i = 0; i < servers; i++) {
            instances.add(new CountedInstance("i-" + i, HOST, port(i)));
        }
        ObjectProvider<ServiceInstanceListSupplier> provider = new FixedProvider(new FixedInstances(instances));
        balancer = switch (variant) {
            case "RoundRobinLoadBalancer" -> new RoundRobinLoadBalancer(provider, SERVICE_ID);
            case "RandomLoadBalancer" -> new RandomLoadBalancer(provider, SERVICE_ID);
            default -> throw new IllegalArgumentException("unknown Spring Cloud load balancer " + variant);
        };
        for (int k = 0; k < KEYS; k++) {
            requests[k] = new DefaultRequest<>(clientKey(k));
        }
    }

    @Override
    Object pick(int key) {
        Response<ServiceInstance> response = balancer.choose(requests[key]).block();
        return response == null ? null : response.getServer();
    }

    @Override
    ServerCounts countsOf(Object server) {
        return ((CountedInstance) server).counts;
    }

    /** An instance with the figures of the like-for-like paths. */
    static final class CountedInstance extends DefaultServiceInstance {
        final ServerCounts counts = new ServerCounts();

        CountedInstance(String instanceId, String host, int port) {
            super(instanceId, SERVICE_ID, host, port, false);
        }
    }

    /** The same list of instances on every call. */
    static final class FixedInstances implements ServiceInstanceListSupplier {
        private final Flux<List<ServiceInstance>> instances;

        FixedInstances(List<ServiceInstance> instances) {
            this.instances = Flux.just(List.copyOf(instances));
        }

        @Override
        public String getServiceId() {
            return SERVICE_ID;
        }

        @Override
        public Flux<List<ServiceInstance>> get() {
            return instances;
        }
    }

    /** What a context would inject: the one supplier. */
    static final class FixedProvider implements ObjectProvider<ServiceInstanceListSupplier> {
        private final ServiceInstanceListSupplier supplier;

        FixedProvider(ServiceInstanceListSupplier supplier) {
            this.supplier = supplier;
        }

        @Override
        public ServiceInstanceListSupplier getObject() {
            return supplier;
        }

        @Override
        public ServiceInstanceListSupplier getObject(Object... args) {
            return supplier;
        }

        @Override
        public ServiceInstanceListSupplier getIfAvailable() {
            return supplier;
        }

        @Override
        public ServiceInstanceListSupplier getIfAvailable(Supplier<ServiceInstanceListSupplier> fallback) {
            return supplier;
        }

        @Override
        public ServiceInstanceListSupplier getIfUnique() {
            return supplier;
        }
    }
}
