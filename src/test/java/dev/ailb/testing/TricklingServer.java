package dev.ailb.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/**
 * A hostile HTTP server on loopback: it answers every request with {@code 200} and a chunked body
 * that never ends, one byte every {@code byteEvery}. It counts the connections it accepted and those
 * still open: a connection counts as closed once a write to it fails, which happens within two
 * bytes of the client closing it.
 *
 * <p>Thread-safe; {@link #close()} ends every connection and thread it started.
 */
public final class TricklingServer implements AutoCloseable {
    private final ServerSocket socket;
    private final long byteEveryMillis;
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger open = new AtomicInteger();
    private final Thread acceptor;
    private volatile boolean closed;

    private TricklingServer(Duration byteEvery) throws IOException {
        this.socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.byteEveryMillis = byteEvery.toMillis();
        this.acceptor = new Thread(this::accept, "trickling-server-" + socket.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /**
     * Starts a server on an ephemeral loopback port.
     *
     * @param byteEvery the time between two bytes of a body
     * @return the running server
     */
    public static TricklingServer start(Duration byteEvery) {
        try {
            return new TricklingServer(byteEvery);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return socket.getLocalPort();
    }

    /** Connections accepted so far. */
    public int accepted() {
        return accepted.get();
    }

    /** Connections accepted and not yet seen closed. */
    public int open() {
        return open.get();
    }

    /**
     * Polls, in real time, until {@code condition} holds: the server's view of the connections
     * changes as the client's selector thread and the server's writes get round to it.
     *
     * @return whether it held within {@code within}
     */
    public static boolean eventually(BooleanSupplier condition, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.onSpinWait();
            Thread.yield();
        }
        return true;
    }

    private void accept() {
        while (!closed) {
            Socket connection;
            try {
                connection = socket.accept();
            } catch (IOException e) {
                return; // closed
            }
            accepted.incrementAndGet();
            open.incrementAndGet();
            Thread writer = new Thread(() -> trickle(connection), "trickling-connection-" + accepted.get());
            writer.setDaemon(true);
            writer.start();
        }
    }

    private void trickle(Socket connection) {
        try (connection) {
            InputStream in = connection.getInputStream();
            byte[] request = new byte[8192];
            int read = 0;
            // Reads the request head; the checks and polls send no body.
            while (read < request.length && !endsHead(request, read)) {
                int n = in.read(request, read, request.length - read);
                if (n < 0) {
                    return;
                }
                read += n;
            }
            OutputStream out = connection.getOutputStream();
            out.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            while (!closed) {
                out.write("1\r\nx\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                Thread.sleep(byteEveryMillis); // the server's own pace, in real time: it is the hostile peer
            }
        } catch (IOException e) {
            // the client closed the connection
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            open.decrementAndGet();
        }
    }

    private static boolean endsHead(byte[] b, int n) {
        return n >= 4 && b[n - 4] == '\r' && b[n - 3] == '\n' && b[n - 2] == '\r' && b[n - 1] == '\n';
    }

    @Override
    public void close() {
        closed = true;
        try {
            socket.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
