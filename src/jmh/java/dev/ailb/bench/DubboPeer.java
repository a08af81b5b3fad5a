package dev.ailb.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.dubbo.common.URL;
import org.apache.dubbo.rpc.Invocation;
import org.apache.dubbo.rpc.Invoker;
import org.apache.dubbo.rpc.Result;
import org.apache.dubbo.rpc.RpcStatus;
import org.apache.dubbo.rpc.cluster.LoadBalance;
import org.apache.dubbo.rpc.cluster.loadbalance.ConsistentHashLoadBalance;
import org.apache.dubbo.rpc.cluster.loadbalance.LeastActiveLoadBalance;
import org.apache.dubbo.rpc.cluster.loadbalance.RandomLoadBalance;
import org.apache.dubbo.rpc.cluster.loadbalance.RoundRobinLoadBalance;
import org.apache.dubbo.rpc.model.ServiceModel;

/**
 * Apache Dubbo: {@code LoadBalance.select(invokers, url, invocation)} of the implementation named by
 * the variant ({@code RoundRobinLoadBalance}, {@code RandomLoadBalance},
 * {@code LeastActiveLoadBalance}, {@code ConsistentHashLoadBalance}), each constructed directly
 * rather than through Dubbo's extension loader: no registry, no protocol, nothing that listens or
 * connects. (Dubbo still starts its default framework and application models on first use, with a
 * couple of idle shared threads, as it would in an application.)
 *
 * <p>The invokers are in-memory stand-ins that only carry a URL ({@code dubbo://127.0.0.1:port/...})
 * and are never invoked; the invocation is a stand-in too, of one method whose single argument is
 * the client address. The URLs carry the weights of {@link PeerPicker}, except for
 * {@code RandomLoadBalance}: with weights it draws in proportion to them, in O(n), and this library's
 * {@code RANDOM} is uniform. {@code LeastActiveLoadBalance} reads Dubbo's own per-URL counters,
 * given the completed requests of {@link PeerPicker} (active count back to zero).
 * {@code ConsistentHashLoadBalance} hashes the first argument on its default ring of 160 points
 * per invoker; the ring is built by the first pick, before measuring.
 */
final class DubboPeer extends CountingPeer {

    static final String SERVICE = "dev.ailb.bench.Completions";
    static final String METHOD = "complete";

    /** The service interface the invokers claim to serve. */
    interface Completions {
        String complete(String prompt);
    }

    private final LoadBalance balance;
    private final List<Invoker<Completions>> invokers;
    private final URL consumer;
    private final Invocation[] invocations = new Invocation[KEYS];

    DubboPeer(String variant, int servers) {
        balance = switch (variant) {
            case "RoundRobinLoadBalance" -> new RoundRobinLoadBalance();
            case "RandomLoadBalance" -> new RandomLoadBalance();
            case "LeastActiveLoadBalance" -> new LeastActiveLoadBalance();
            case "ConsistentHashLoadBalance" -> new ConsistentHashLoadBalance();
            default -> throw new IllegalArgumentException("unknown Dubbo load balance " + variant);
        };
        boolean weighted = !(balance instanceof RandomLoadBalance);
        List<Invoker<Completions>> list = new ArrayList<>(servers);
        for (int i = 0; i < servers; i++) {
            Map<String, String> parameters = new HashMap<>();
            parameters.put("interface", SERVICE);
            if (weighted) {
                parameters.put("weight", Integer.toString(weight(i)));
            }
            URL url = new URL("dubbo", HOST, port(i), SERVICE, parameters);
            for (int k = 0; k < COMPLETED_PER_SERVER; k++) {
                RpcStatus.beginCount(url, METHOD);
                RpcStatus.endCount(url, METHOD, responseMicros(i, k) / 1_000L, true);
            }
            list.add(new StubInvoker(url));
        }
        invokers = list;
        consumer = new URL("consumer", HOST, 0, SERVICE, Map.of("interface", SERVICE));
        for (int k = 0; k < KEYS; k++) {
            invocations[k] = new StubInvocation(clientKey(k));
        }
    }

    @Override
    Object pick(int key) {
        return balance.select(invokers, consumer, invocations[key]);
    }

    @Override
    ServerCounts countsOf(Object server) {
        return ((StubInvoker) server).counts;
    }

    /** An invoker that is only ever chosen, never called, with the figures of the like-for-like paths. */
    static final class StubInvoker implements Invoker<Completions> {
        private final URL url;
        final ServerCounts counts = new ServerCounts();

        StubInvoker(URL url) {
            this.url = url;
        }

        @Override
        public Class<Completions> getInterface() {
            return Completions.class;
        }

        @Override
        public Result invoke(Invocation invocation) {
            throw new UnsupportedOperationException("benchmark invokers are never called");
        }

        @Override
        public URL getUrl() {
            return url;
        }

        @Override
        public boolean isAvailable() {
            return true;
        }

        @Override
        public void destroy() {
        }

        @Override
        public String toString() {
            return url.getAddress();
        }
    }

    /** A call of {@code complete(clientAddress)}, with no attachments and no attributes. */
    static final class StubInvocation implements Invocation {
        private static final Class<?>[] PARAMETER_TYPES = {String.class};

        private final Object[] arguments;

        StubInvocation(String clientAddress) {
            this.arguments = new Object[] {clientAddress};
        }

        @Override
        public String getTargetServiceUniqueName() {
            return SERVICE;
        }

        @Override
        public String getProtocolServiceKey() {
            return SERVICE;
        }

        @Override
        public String getMethodName() {
            return METHOD;
        }

        @Override
        public String getServiceName() {
            return SERVICE;
        }

        @Override
        public Class<?>[] getParameterTypes() {
            return PARAMETER_TYPES;
        }

        @Override
        public Object[] getArguments() {
            return arguments;
        }

        @Override
        public Map<String, String> getAttachments() {
            return Map.of();
        }

        @Override
        public Map<String, Object> getObjectAttachments() {
            return Map.of();
        }

        @Override
        public Map<String, Object> copyObjectAttachments() {
            return new HashMap<>();
        }

        @Override
        public void foreachAttachment(Consumer<Map.Entry<String, Object>> consumer) {
        }

        @Override
        public void setAttachment(String key, String value) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void setAttachment(String key, Object value) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void setObjectAttachment(String key, Object value) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void setAttachmentIfAbsent(String key, String value) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void setAttachmentIfAbsent(String key, Object value) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void setObjectAttachmentIfAbsent(String key, Object value) {
            throw new UnsupportedOperationException();
        }

        @Override
        public String getAttachment(String key) {
            return null;
        }

        @Override
        public Object getObjectAttachment(String key) {
            return null;
        }

        @Override
        public String getAttachment(String key, String defaultValue) {
            return defaultValue;
        }

        @Override
        public Object getObjectAttachment(String key, Object defaultValue) {
            return defaultValue;
        }

        @Override
        public Invoker<?> getInvoker() {
            return null;
        }

        @Override
        public void setServiceModel(ServiceModel serviceModel) {
            throw new UnsupportedOperationException();
        }

        @Override
        public ServiceModel getServiceModel() {
            return null;
        }

        @Override
        public Object put(Object key, Object value) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Object get(Object key) {
            return null;
        }

        @Override
        public Map<Object, Object> getAttributes() {
            return Map.of();
        }

        @Override
        public void addInvokedInvoker(Invoker<?> invoker) {
        }

        @Override
        public List<Invoker<?>> getInvokedInvokers() {
            return List.of();
        }
    }
}
