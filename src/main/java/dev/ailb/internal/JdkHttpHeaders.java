package dev.ailb.internal;

import java.util.Locale;
import java.util.Set;

/**
 * What the JDK's HTTP client ({@code java.net.http}) decides about request headers itself. Stateless
 * and thread-safe.
 */
public final class JdkHttpHeaders {
    /** The names the JDK's client sets itself and refuses from a caller, lower case. */
    private static final Set<String> SET_BY_THE_CLIENT = Set.of("connection", "content-length", "expect", "host",
            "upgrade");

    private JdkHttpHeaders() {}

    /**
     * Whether the JDK's client sets this header itself and refuses it from a caller
     * ({@code Connection}, {@code Content-Length}, {@code Expect}, {@code Host}, {@code Upgrade}).
     *
     * @param name a header name, in any case
     * @return true if the client refuses it
     */
    public static boolean setByTheClient(String name) {
        return SET_BY_THE_CLIENT.contains(name.toLowerCase(Locale.ROOT));
    }
}
