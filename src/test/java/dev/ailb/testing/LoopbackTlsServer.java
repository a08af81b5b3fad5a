package dev.ailb.testing;

import static dev.ailb.internal.Preconditions.checkNotNull;

import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A JDK {@link HttpsServer} on {@code 127.0.0.1} with a self-signed certificate made for the test:
 * {@link #certificate(Path)} runs the JDK's {@code keytool} once to write a PKCS12 key store (an EC
 * key, valid two days, for {@code localhost} and {@code 127.0.0.1}) into a directory of the test's,
 * and {@link #start} serves a fixed set of contexts with it. {@link Certificate#trustingClient()} is
 * a client TLS context that trusts that certificate and nothing else, as does the trust store file
 * {@link Certificate#trustStore()}; the JVM's default context does not trust it. Thread-safe.
 */
public final class LoopbackTlsServer implements AutoCloseable {
    private static final char[] PASSWORD = "loopback-only".toCharArray();
    private static final String ALIAS = "loopback";

    private final HttpsServer server;
    private final ExecutorService threads;

    private LoopbackTlsServer(HttpsServer server, ExecutorService threads) {
        this.server = server;
        this.threads = threads;
    }

    /**
     * A key store and what is made from it: the server's TLS context, a client's that trusts the
     * certificate, and a PKCS12 trust store file holding the certificate alone, with its password.
     */
    public record Certificate(SSLContext server, SSLContext trustingClient, Path trustStore, String trustStorePassword) {}

    /**
     * Makes a self-signed certificate with {@code keytool} in {@code directory}.
     *
     * @throws IllegalStateException if keytool fails
     */
    public static Certificate certificate(Path directory) {
        checkNotNull(directory, "directory");
        Path store = directory.resolve("loopback.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        List<String> command = List.of(keytool.toString(), "-genkeypair", "-alias", ALIAS,
                "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
                "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1",
                "-storetype", "PKCS12", "-keystore", store.toString(),
                "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output;
            try (InputStream out = process.getInputStream()) {
                output = new String(out.readAllBytes(), StandardCharsets.UTF_8);
            }
            if (!process.waitFor(2, TimeUnit.MINUTES) || process.exitValue() != 0) {
                process.destroyForcibly();
                throw new IllegalStateException("keytool failed: " + output);
            }
            KeyStore keys = KeyStore.getInstance("PKCS12");
            try (InputStream in = Files.newInputStream(store)) {
                keys.load(in, PASSWORD);
            }
            KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keyManagers.init(keys, PASSWORD);
            SSLContext server = SSLContext.getInstance("TLS");
            server.init(keyManagers.getKeyManagers(), null, null);

            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            trusted.setCertificateEntry(ALIAS, keys.getCertificate(ALIAS));
            TrustManagerFactory trustManagers =
                    TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trustManagers.init(trusted);
            SSLContext client = SSLContext.getInstance("TLS");
            client.init(null, trustManagers.getTrustManagers(), null);
            Path trustStore = directory.resolve("loopback-trust.p12");
            try (OutputStream out = Files.newOutputStream(trustStore)) {
                trusted.store(out, PASSWORD);
            }
            return new Certificate(server, client, trustStore, new String(PASSWORD));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Serves {@code contexts} over TLS with {@code certificate}'s key, on a free port. */
    public static LoopbackTlsServer start(Certificate certificate, Map<String, HttpHandler> contexts) {
        checkNotNull(certificate, "certificate");
        checkNotNull(contexts, "contexts");
        try {
            HttpsServer server = HttpsServer.create(
                    new InetSocketAddress(InetAddress.getByName(LoopbackServer.HOST), 0), 50);
            server.setHttpsConfigurator(new HttpsConfigurator(certificate.server()));
            contexts.forEach(server::createContext);
            ExecutorService threads = Executors.newCachedThreadPool(task -> {
                Thread t = new Thread(task, "loopback-tls");
                t.setDaemon(true);
                return t;
            });
            server.setExecutor(threads);
            server.start();
            return new LoopbackTlsServer(server, threads);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The port the server listens on. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** Stops the server at once and ends its threads. */
    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
        try {
            if (!threads.awaitTermination(5, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the server's threads did not end");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
