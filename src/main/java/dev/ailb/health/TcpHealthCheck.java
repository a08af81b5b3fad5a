package dev.ailb.health;

import dev.ailb.Backend;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** {@link HealthCheck#tcp()}: healthy when a TCP connection is accepted within the timeout. */
final class TcpHealthCheck implements HealthCheck {
    static final TcpHealthCheck INSTANCE = new TcpHealthCheck();

    private TcpHealthCheck() {}

    @Override
    public CompletionStage<HealthCheckResult> check(Backend backend, HealthCheckContext context) {
        // A blocking connect with a timeout is simpler and cheaper than a selector for a few dozen
        // backends; it runs on the checker's workers, never on the scheduling thread.
        return CompletableFuture.supplyAsync(() -> connect(backend, context), context.executor());
    }

    private static HealthCheckResult connect(Backend backend, HealthCheckContext context) {
        long timeoutMillis = Math.max(1, Math.min(Integer.MAX_VALUE, context.timeout().toMillis()));
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(backend.host(), backend.port()), (int) timeoutMillis);
            return HealthCheckResult.healthy();
        } catch (SocketTimeoutException e) {
            return HealthCheckResult.unhealthy("TCP connect: no answer within " + context.timeout());
        } catch (ConnectException e) {
            return HealthCheckResult.unhealthy("TCP connect: connection refused");
        } catch (IOException | IllegalArgumentException | SecurityException e) {
            return HealthCheckResult.unhealthy("TCP connect: " + e);
        }
    }

    @Override
    public String toString() {
        return "HealthCheck.tcp()";
    }
}
