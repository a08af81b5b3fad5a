package dev.ailb.health;

import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.shown;

import dev.ailb.Backend;
import dev.ailb.internal.JdkHttpHeaders;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;

/**
 * How a probe reaches a backend over HTTP: the scheme, the TLS context of {@code https}, and the
 * headers every request carries, such as {@code Authorization: Bearer <token>} for a fleet behind
 * an authenticating proxy. The one way the HTTP health check ({@link HealthCheck#http(String,
 * HttpProbeOptions)}), the load polls ({@link PrometheusLoadSource#withHttp}) and model discovery
 * ({@link ModelDiscovery#withHttp}) take these settings.
 *
 * <pre>{@code
 * HttpProbeOptions probes = HttpProbeOptions.builder()
 *         .scheme("https")                                  // the JVM's default trust
 *         .bearerToken(() -> tokens.current())              // read again at every probe
 *         .build();
 * LoadBalancer lb = LoadBalancer.builder()
 *         .healthCheck(HealthCheck.http("/health", probes))
 *         .loadSource(PrometheusLoadSource.vllm().withHttp(probes), Duration.ofSeconds(1))
 *         .build();
 * }</pre>
 *
 * <p>A header's value is a supplier, asked at each probe, so a rotated token is sent from the next
 * probe on. Header values are secrets as far as this library is concerned: they appear in no log
 * line, no {@code toString} and no exception message; a value refused is described by its length
 * and the position of the character at fault, never shown. A supplier that throws, returns null or
 * returns a value the rules below refuse fails that probe (an unhealthy verdict, a rejected poll),
 * with a reason that names the header and the fault.
 *
 * <p>A header's name must be a token of RFC 9110 (letters, digits and {@code !#$%&'*+-.^_`|~}), and
 * not one the JDK's HTTP client sets itself ({@code Connection}, {@code Content-Length},
 * {@code Expect}, {@code Host}, {@code Upgrade}). A value may hold visible ASCII characters, spaces,
 * tabs and the Latin-1 characters above {@code 0x7F}; a CR, an LF or any other control character is
 * refused, so that no value can add a header or a request of its own. A header set here replaces
 * the probe's own of that name ({@code User-Agent}, {@code Accept}).
 *
 * <p>Immutable and thread-safe, if the suppliers are.
 */
public final class HttpProbeOptions {
    private static final HttpProbeOptions PLAIN = new HttpProbeOptions("http", null, List.of());
    private static final String TCHAR_SYMBOLS = "!#$%&'*+-.^_`|~";

    private final String scheme;
    private final SSLContext sslContext; // null: the JVM's default
    private final List<Header> headers;

    private HttpProbeOptions(String scheme, SSLContext sslContext, List<Header> headers) {
        this.scheme = scheme;
        this.sslContext = sslContext;
        this.headers = List.copyOf(headers);
    }

    /**
     * Plain {@code http}, no header of its own: what the probes use unless told otherwise.
     *
     * @return the plain options
     */
    public static HttpProbeOptions plain() {
        return PLAIN;
    }

    /**
     * A builder starting from {@link #plain()}.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The scheme of the probes' URIs.
     *
     * @return {@code "http"} or {@code "https"}
     */
    public String scheme() {
        return scheme;
    }

    /**
     * The TLS context of the probes' handshakes.
     *
     * @return the context given, or empty for the JVM's default
     */
    public Optional<SSLContext> sslContext() {
        return Optional.ofNullable(sslContext);
    }

    /**
     * The names of the headers added to every probe, in the order given; never their values.
     *
     * @return the header names
     */
    public List<String> headerNames() {
        List<String> names = new ArrayList<>(headers.size());
        for (Header h : headers) {
            names.add(h.name);
        }
        return List.copyOf(names);
    }

    /** The client to send with: the shared one, or the one of this TLS context. */
    HttpClient client(HealthCheckContext context) {
        return sslContext == null ? context.httpClient() : context.httpClient(sslContext);
    }

    /** {@code GET scheme://host:port/path}, with the timeout, the probe's own headers and then these. */
    HttpRequest get(Backend backend, String path, HealthCheckContext context, String accept, String userAgent) {
        HttpRequest.Builder request = HttpRequest.newBuilder(HttpProbe.uriOf(scheme, backend, path))
                .GET()
                .timeout(context.timeout())
                .header("User-Agent", userAgent);
        if (accept != null) {
            request.header("Accept", accept);
        }
        for (Header h : headers) {
            request.setHeader(h.name, h.valueNow());
        }
        return request.build();
    }

    @Override
    public String toString() {
        return "HttpProbeOptions{" + scheme + (sslContext != null ? ", own TLS context" : "")
                + (headers.isEmpty() ? "" : ", headers=" + headerNames()) + '}';
    }

    /** Checks a header name: an RFC 9110 token the JDK's client lets a request set. */
    static String checkHeaderName(String name) {
        checkNotNull(name, "name");
        boolean token = !name.isEmpty();
        for (int i = 0; token && i < name.length(); i++) {
            char c = name.charAt(i);
            token = c < 0x80 && (Character.isLetterOrDigit(c) || TCHAR_SYMBOLS.indexOf(c) >= 0);
        }
        if (!token) {
            throw new IllegalArgumentException("name: " + shown(name)
                    + " (expected: an RFC 9110 token, such as X-Api-Key)");
        }
        if (JdkHttpHeaders.setByTheClient(name)) {
            throw new IllegalArgumentException("name: " + shown(name)
                    + " (expected: a header the client does not set itself, not Connection, Content-Length,"
                    + " Expect, Host or Upgrade)");
        }
        return name;
    }

    /**
     * Why a header's value is refused, without the value; null if it is accepted. A value is a
     * secret: the reason gives its length and the first character at fault.
     */
    static String faultOf(String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            boolean allowed = c == '\t' || (c >= 0x20 && c != 0x7F && c <= 0xFF);
            if (!allowed) {
                return String.format(Locale.ROOT, "%d characters, not shown, with U+%04X at index %d",
                        value.length(), (int) c, i);
            }
        }
        return null;
    }

    /** One header: its name and where its value comes from. */
    private record Header(String name, Supplier<String> value) {

        /** The value to send now; an exception naming the header, never showing the value, if refused. */
        String valueNow() {
            String now;
            try {
                now = value.get();
            } catch (TokenFile.Unreadable e) {
                throw new IllegalStateException("header " + name + ": " + e.getMessage());
            } catch (RuntimeException e) {
                // The exception's own message may quote what the supplier read: its type only.
                throw new IllegalStateException("header " + name + ": its supplier threw " + e.getClass().getName());
            }
            if (now == null) {
                throw new IllegalStateException("header " + name + ": its supplier returned null");
            }
            String fault = faultOf(now);
            if (fault != null) {
                throw new IllegalStateException("header " + name + ": a value of " + fault
                        + " (expected: no CR, LF or other control character)");
            }
            return now;
        }

        @Override
        public String toString() {
            return name; // never the value
        }
    }

    /** A token kept in a file, read at each probe. */
    private static final class TokenFile implements Supplier<String> {
        private static final int MAX_BYTES = 64 * 1024;
        private final Path file;

        TokenFile(Path file) {
            this.file = file;
        }

        @Override
        public String get() {
            byte[] bytes;
            try (InputStream in = Files.newInputStream(file)) {
                bytes = in.readNBytes(MAX_BYTES + 1);
            } catch (IOException | RuntimeException e) {
                throw new Unreadable("cannot read the token file " + file + ": " + e.getClass().getSimpleName());
            }
            if (bytes.length > MAX_BYTES) {
                throw new Unreadable("the token file " + file + " is larger than " + MAX_BYTES + " bytes");
            }
            String token = new String(bytes, StandardCharsets.UTF_8).strip();
            if (token.isEmpty()) {
                throw new Unreadable("the token file " + file + " is empty");
            }
            return token;
        }

        /** Why the file gave no token: its path and the kind of failure, never its content. */
        static final class Unreadable extends RuntimeException {
            private static final long serialVersionUID = 1L;

            Unreadable(String message) {
                super(message, null, false, false);
            }
        }
    }

    /** Builds {@link HttpProbeOptions}. Not thread-safe. */
    public static final class Builder {
        private String scheme = "http";
        private SSLContext sslContext;
        private final List<Header> headers = new ArrayList<>();

        private Builder() {}

        /**
         * The scheme of the probes' URIs; default {@code http}.
         *
         * @param scheme {@code http} or {@code https}, in any case
         * @return this builder
         * @throws NullPointerException     if {@code scheme} is null
         * @throws IllegalArgumentException if it is neither
         */
        public Builder scheme(String scheme) {
            checkNotNull(scheme, "scheme");
            String lower = scheme.toLowerCase(Locale.ROOT);
            if (!lower.equals("http") && !lower.equals("https")) {
                throw new IllegalArgumentException("scheme: " + shown(scheme) + " (expected: http or https)");
            }
            this.scheme = lower;
            return this;
        }

        /**
         * The TLS context of the probes' handshakes, such as one whose trust store holds the
         * fleet's own certificate authority; by default the JVM's. Needs the scheme {@code https}.
         * The health checker keeps one HTTP client per context: give every probe the same context
         * object rather than one each.
         *
         * @param sslContext an initialised TLS context
         * @return this builder
         * @throws NullPointerException  if {@code sslContext} is null
         * @throws IllegalStateException if one was already set
         */
        public Builder sslContext(SSLContext sslContext) {
            checkNotNull(sslContext, "sslContext");
            if (this.sslContext != null) {
                throw new IllegalStateException("sslContext was already set");
            }
            this.sslContext = sslContext;
            return this;
        }

        /**
         * A header of a fixed value added to every probe. The value is checked now and never shown.
         *
         * @param name  the header's name
         * @param value its value
         * @return this builder
         * @throws NullPointerException     if an argument is null
         * @throws IllegalArgumentException if the name is not a token a request may set, or the
         *                                  value holds a CR, an LF or another control character
         * @throws IllegalStateException    if a header of that name, in any case, was already added
         */
        public Builder header(String name, String value) {
            checkHeaderName(name);
            checkNotNull(value, "value");
            String fault = faultOf(value);
            if (fault != null) {
                throw new IllegalArgumentException("value: " + fault + " (expected: no CR, LF or other control character)");
            }
            return add(name, () -> value);
        }

        /**
         * A header whose value is asked of {@code value} at every probe, on a health checker
         * thread, so a rotated secret is sent from the next probe on. The supplier must return
         * promptly and be thread-safe.
         *
         * @param name  the header's name
         * @param value where its value comes from
         * @return this builder
         * @throws NullPointerException     if an argument is null
         * @throws IllegalArgumentException if the name is not a token a request may set
         * @throws IllegalStateException    if a header of that name, in any case, was already added
         */
        public Builder header(String name, Supplier<String> value) {
            checkHeaderName(name);
            checkNotNull(value, "value");
            return add(name, value);
        }

        /**
         * {@code Authorization: Bearer <token>}, the token asked of {@code token} at every probe.
         *
         * @param token where the token comes from; it must return promptly and be thread-safe
         * @return this builder
         * @throws NullPointerException  if {@code token} is null
         * @throws IllegalStateException if an {@code Authorization} header was already added
         */
        public Builder bearerToken(Supplier<String> token) {
            checkNotNull(token, "token");
            return add("Authorization", () -> {
                String now = token.get();
                return now == null ? null : "Bearer " + now;
            });
        }

        /**
         * {@code Authorization: Bearer <token>}, the token read from {@code file} at every probe,
         * such as a Kubernetes service account's token, which the kubelet rewrites before it
         * expires. The file holds the token alone; whitespace around it is dropped. A file missing,
         * unreadable, empty or larger than 64 KiB fails the probe with a reason naming the file.
         * The read is a small local read on a health checker thread: keep the file on a local
         * file system.
         *
         * @param file the token's file
         * @return this builder
         * @throws NullPointerException  if {@code file} is null
         * @throws IllegalStateException if an {@code Authorization} header was already added
         */
        public Builder bearerTokenFile(Path file) {
            checkNotNull(file, "file");
            TokenFile token = new TokenFile(file);
            return add("Authorization", () -> "Bearer " + token.get());
        }

        private Builder add(String name, Supplier<String> value) {
            for (Header h : headers) {
                if (h.name.equalsIgnoreCase(name)) {
                    throw new IllegalStateException("name: " + shown(name) + " (expected: one header of each name; "
                            + h.name + " was already added)");
                }
            }
            headers.add(new Header(name, value));
            return this;
        }

        /**
         * The options.
         *
         * @return new options with these settings
         * @throws IllegalStateException if a TLS context was set with the scheme {@code http}
         */
        public HttpProbeOptions build() {
            if (sslContext != null && !scheme.equals("https")) {
                throw new IllegalStateException("sslContext: set with the scheme " + scheme + " (expected: https)");
            }
            if (scheme.equals("http") && sslContext == null && headers.isEmpty()) {
                return PLAIN;
            }
            return new HttpProbeOptions(scheme, sslContext, headers);
        }
    }
}
