package dev.ailb.kubernetes;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;

/**
 * fabric8's Kubernetes mock server in CRUD mode, on loopback only, with a client of its own: the
 * API server double that the Java Kubernetes ecosystem tests against, since no real API server can
 * run here. In CRUD mode it keeps the objects it is sent, answers lists and label selectors from
 * them, and streams their changes to watches, as an API server does; expectations set with
 * {@link #server()}{@code .expect()} take precedence, to script a failure.
 */
final class MockApiServer implements AutoCloseable {
    private final KubernetesMockServer server;
    private final NamespacedKubernetesClient client;

    private MockApiServer(KubernetesMockServer server, NamespacedKubernetesClient client) {
        this.server = server;
        this.client = client;
    }

    /** Starts a server on a free loopback port, and a client of it in namespace {@code ai}. */
    static MockApiServer start() {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        KubernetesMockServer server = new KubernetesMockServer(new Context(Serialization.jsonMapper()),
                new MockWebServer(), responses, new KubernetesMixedDispatcher(responses), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        NamespacedKubernetesClient client = server.createClient(builder -> builder.editOrNewConfig()
                .withNamespace("ai")
                // a failed list is retried after this, doubling: short, so that a test of a failure ends soon
                .withWatchReconnectInterval(50)
                .endConfig());
        return new MockApiServer(server, client);
    }

    /** The client, in namespace {@code ai}; the source under test watches with it. */
    NamespacedKubernetesClient client() {
        return client;
    }

    /** The server, to script failures. */
    KubernetesMockServer server() {
        return server;
    }

    /** Creates or replaces a slice, as the EndpointSlice controller does. */
    void apply(EndpointSlice slice) {
        client.discovery().v1().endpointSlices().inNamespace(slice.getMetadata().getNamespace()).resource(slice)
                .createOr(existing -> existing.update());
    }

    /** Deletes a slice. */
    void delete(String namespace, String name) {
        client.discovery().v1().endpointSlices().inNamespace(namespace).withName(name).delete();
    }

    /** Closes the client, then stops the server. */
    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}
