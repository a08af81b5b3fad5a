package dev.ailb.testing;

import static dev.ailb.internal.Preconditions.checkNotNull;

import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A JDK {@link HttpServer} on {@code 127.0.0.1}, for the tests, the demo and the soak run: it serves
 * a fixed set of contexts on a port that it keeps when it is stopped and started again, so a backend
 * registered at that port can go down and come back as a real instance does.
 *
 * <p>{@link #stop()} stops the server as a crash would: the port and every open connection close at
 * once, and requests under way get no answer. {@link #restart(Duration)} binds the same port again.
 * The handlers run on the executor given to {@link #start(int, int, Executor, Map)}, which stays the
 * caller's: it outlives a stop and {@link #close()}, and the caller shuts it down. A server started
 * by {@link #start(String, Map)}, as a test starts one, runs them on threads of its own instead,
 * which outlive a stop and end with {@link #close()}. A {@link ScriptedEndpoint} is a handler whose
 * answers the test sets. Thread-safe.
 */
public final class LoopbackServer implements AutoCloseable {

    /** The address every server binds. */
    public static final String HOST = "127.0.0.1";

    /** How long a restart waits between two tries to bind the port again. */
    private static final long REBIND_PAUSE_MILLIS = 20;
    /** The listen backlog of a server started by {@link #start(String, Map)}. */
    private static final int BACKLOG = 50;
    /** How long {@link #close()} waits for the threads of its own to end. */
    private static final long THREADS_END_SECONDS = 5;
    /** How long a thread of its own with no request to handle lives on. */
    private static final long IDLE_THREAD_SECONDS = 5;

    private final Map<String, HttpHandler> contexts;
    private final Executor executor;
    private final ExecutorService ownThreads; // null when the executor is the caller's
    private final int backlog;
    private final int port;
    private HttpServer server; // guarded by this; null while stopped
    private boolean closed; // guarded by this

    private LoopbackServer(int port, int backlog, Executor executor, ExecutorService ownThreads,
            Map<String, HttpHandler> contexts) throws IOException {
        this.contexts = new LinkedHashMap<>(contexts);
        this.executor = executor;
        this.ownThreads = ownThreads;
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
        return new LoopbackServer(port, backlog, executor, null, contexts);
    }

    /**
     * Binds an ephemeral port of {@code 127.0.0.1} and serves each context with its handler, on
     * daemon threads of its own named {@code loopback-<name>-<n>}, as many as the requests under
     * way need (a held request keeps its thread). {@link #close()} ends them.
     *
     * @param name     names the threads
     * @param contexts handlers by path prefix
     * @throws UncheckedIOException if no port can be bound
     * @throws NullPointerException if an argument is null
     */
    public static LoopbackServer start(String name, Map<String, HttpHandler> contexts) {
        checkNotNull(name, "name");
        checkNotNull(contexts, "contexts");
        AtomicInteger threads = new AtomicInteger();
        ExecutorService own = new ThreadPoolExecutor(0, Integer.MAX_VALUE, IDLE_THREAD_SECONDS, TimeUnit.SECONDS,
                new SynchronousQueue<>(), task -> {
                    Thread thread = new Thread(task, "loopback-" + name + "-" + threads.incrementAndGet());
                    thread.setDaemon(true);
                    return thread;
                });
        try {
            return new LoopbackServer(0, BACKLOG, own, own, contexts);
        } catch (IOException e) {
            own.shutdownNow();
            throw new UncheckedIOException("cannot bind " + name + " to " + HOST, e);
        } catch (RuntimeException e) {
            own.shutdownNow();
            throw e;
        }
    }

    /**
     * A port of {@code 127.0.0.1} that nothing listens on: a connection to it is refused. It was
     * free a moment ago, so only another process binding it meanwhile could answer there.
     */
    public static int closedPort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free port on " + HOST, e);
        }
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

    /**
     * Stops the server if it is up; it cannot be restarted afterwards. A server with threads of its
     * own interrupts them, which ends held requests, and waits for them to end. Idempotent.
     *
     * @throws IllegalStateException if threads of its own are still alive after a few seconds, or
     *     the wait for them is interrupted
     */
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
        if (ownThreads != null) {
            ownThreads.shutdownNow();
            try {
                if (!ownThreads.awaitTermination(THREADS_END_SECONDS, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("threads of " + this + " still alive "
                            + THREADS_END_SECONDS + " s after close");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the threads of " + this + " end", e);
            }
        }
    }

    @Override
    public String toString() {
        return HOST + ":" + port;
    }
}
