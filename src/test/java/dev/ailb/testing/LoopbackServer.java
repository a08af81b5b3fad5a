package dev.ailb.testing;

import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * A JDK {@link HttpServer} on {@code 127.0.0.1}, for the tests, the demo and the soak run: it serves
 * a fixed set of contexts on a port that it keeps when it is stopped and started again, so a backend
 * registered at that port can go down and come back as a real instance does.
 *
 * <p>{@link #stop()} stops the server as a crash would: the port and every open connection close at
 * once, and requests under way get no answer. {@link #restart(Duration)} binds the same port again.
 * The handlers run on the executor given to {@link #start}, which stays the caller's: it outlives a
 * stop and {@link #close()}, and the caller shuts it down. Thread-safe.
 */
public final class LoopbackServer implements AutoCloseable {

    /** The address every server binds. */
    public static final String HOST = "127.0.0.1";

    /** How long a restart waits between two tries to bind the port again. */
    private static final long REBIND_PAUSE_MILLIS = 20;

    private final Map<String, HttpHandler> contexts;
    private final Executor executor;
    private final int backlog;
    private final int port;
    private HttpServer server; // guarded by this; null while stopped
    private boolean closed; // guarded by this

    private LoopbackServer(int port, int backlog, Executor executor, Map<String, HttpHandler> contexts)
            throws IOException {
        this.contexts = new LinkedHashMap<>(contexts);
        this.executor = executor;
        this.backlog = backlog;
        HttpServer first = bind(port);
        try {
            first.start();
        } catch (RuntimeException e) {
            first.stop(0);
            throw e;
        }
        this.server = first;
        this.port = first.getAddress().getPort();
    }

    /**
     * Binds {@code 127.0.0.1:port} and serves each context with its handler.
     *
     * @param port     the port, or 0 for an ephemeral one
     * @param backlog  the listen backlog
     * @param executor where the handlers run; the caller's to shut down
     * @param contexts handlers by path prefix
     * @throws IOException if the port cannot be bound ({@link BindException} when it is taken)
     */
    public static LoopbackServer start(int port, int backlog, Executor executor, Map<String, HttpHandler> contexts)
            throws IOException {
        return new LoopbackServer(port, backlog, executor, contexts);
    }

    /** The port, the same after every restart. */
    public int port() {
        return port;
    }

    /** Whether it is serving: started and not stopped since, or restarted. */
    public synchronized boolean isUp() {
        return server != null;
    }

    /**
     * Stops the server as a crash would: the port and every open connection close at once.
     *
     * @throws IllegalStateException if it is stopped already
     */
    public void stop() {
        HttpServer s;
        synchronized (this) {
            if (server == null) {
                throw new IllegalStateException(this + " is stopped already");
            }
            s = server;
            server = null;
        }
        s.stop(0);
    }

    /**
     * Binds the same port again and serves. The JDK binds server sockets with {@code SO_REUSEADDR},
     * so the connections a stop left in {@code TIME_WAIT} do not block the bind; should another
     * process have taken the port meanwhile, a refused bind is tried again until {@code rebindTimeout}.
     *
     * @return the port the new server is bound to, as it reports it
     * @throws IllegalStateException if it is up or closed
     * @throws UncheckedIOException  if the port cannot be bound again in time
     * @throws InterruptedException  if the thread is interrupted while it waits to try again
     */
    public int restart(Duration rebindTimeout) throws InterruptedException {
        long deadline = System.nanoTime() + rebindTimeout.toNanos();
        for (;;) {
            try {
                return bindAndStart();
            } catch (BindException e) {
                if (System.nanoTime() - deadline > 0) {
                    throw new UncheckedIOException("cannot bind " + this + " again within " + rebindTimeout, e);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot restart " + this, e);
            }
            TimeUnit.MILLISECONDS.sleep(REBIND_PAUSE_MILLIS);
        }
    }

    private synchronized int bindAndStart() throws IOException {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        if (server != null) {
            throw new IllegalStateException(this + " is up already");
        }
        HttpServer s = bind(port);
        s.start();
        server = s;
        return s.getAddress().getPort();
    }

    private HttpServer bind(int bindPort) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getByName(HOST), bindPort), backlog);
        s.setExecutor(executor);
        contexts.forEach(s::createContext);
        return s;
    }

    /** Stops the server if it is up; it cannot be restarted afterwards. Idempotent. */
    @Override
    public void close() {
        HttpServer s;
        synchronized (this) {
            closed = true;
            s = server;
            server = null;
        }
        if (s != null) {
            s.stop(0);
        }
    }

    @Override
    public String toString() {
        return HOST + ":" + port;
    }
}
