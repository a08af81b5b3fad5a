package dev.ailb.dns;

import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import javax.naming.CommunicationException;
import javax.naming.Context;
import javax.naming.NameNotFoundException;
import javax.naming.NamingEnumeration;
import javax.naming.NamingException;
import javax.naming.OperationNotSupportedException;
import javax.naming.ServiceUnavailableException;
import javax.naming.directory.Attribute;
import javax.naming.directory.Attributes;
import javax.naming.directory.DirContext;
import javax.naming.directory.InitialDirContext;

/**
 * One DNS query at a time, asked of one server, through the JDK's own DNS client: the DNS provider
 * of JNDI ({@code jdk.naming.dns}), the only resolver in the JDK that asks for a chosen record type
 * (A, AAAA, SRV) of a chosen server and port. It sends each query over UDP and again over TCP when
 * the answer comes back truncated; it keeps no cache, so every query reaches the server. With no
 * server given it asks the name servers of the system's resolver configuration
 * ({@code /etc/resolv.conf} on Unix).
 *
 * <p>Each query gets one try of at most the timeout; a failed query is tried again by the next
 * resolution, not here. The JNDI context is made for each query and closed after it: a context is
 * not safe for concurrent use, and making one costs nothing next to the query. Thread-safe.
 *
 * <p>This class is the only one of the library that names a JNDI type.
 */
final class DnsResolver {
    private static final String FACTORY = "com.sun.jndi.dns.DnsContextFactory";

    private final String providerUrl;
    private final String server;
    private final String timeoutMillis;
    private final Duration timeout;

    /**
     * @param server  the server as {@code host:port} with an IPv6 host in brackets, or null for the
     *                system's resolver
     * @param timeout how long one query may wait for its answer, at least a millisecond
     */
    DnsResolver(String server, Duration timeout) {
        this.providerUrl = server == null ? "dns:" : "dns://" + server + "/";
        this.server = server == null ? "the system's resolver" : server;
        this.timeout = timeout;
        this.timeoutMillis = Long.toString(Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis())));
    }

    /** The server as log lines and messages show it. */
    String server() {
        return server;
    }

    /**
     * The records of one type of one name, as the provider writes them: an address for A and AAAA
     * ({@code 127.0.0.1}, {@code ::1}), {@code "priority weight port target"} for SRV.
     *
     * @param name an absolute DNS name, with or without its final dot
     * @param type {@code "A"}, {@code "AAAA"} or {@code "SRV"}
     * @return the records, empty when the name exists without records of this type
     * @throws DnsLookupException when the server gave no usable answer: the name does not exist
     *                            (NXDOMAIN), the server failed or refused, or no answer came in time
     */
    List<String> query(String name, String type) throws DnsLookupException {
        Hashtable<String, String> env = new Hashtable<>();
        env.put(Context.INITIAL_CONTEXT_FACTORY, FACTORY);
        env.put(Context.PROVIDER_URL, providerUrl);
        env.put("com.sun.jndi.dns.timeout.initial", timeoutMillis);
        env.put("com.sun.jndi.dns.timeout.retries", "1");
        DirContext context = null;
        try {
            context = new InitialDirContext(env);
            Attributes answer = context.getAttributes(name, new String[] {type});
            Attribute records = answer.get(type);
            List<String> values = new ArrayList<>();
            if (records != null) {
                NamingEnumeration<?> all = records.getAll();
                while (all.hasMore()) {
                    values.add(String.valueOf(all.next()));
                }
            }
            return values;
        } catch (NamingException e) {
            throw new DnsLookupException(name + " " + type + " from " + server + ": " + reason(e), e);
        } finally {
            closeQuietly(context);
        }
    }

    /** What went wrong, in the words of DNS: the response code or the missing answer. */
    private String reason(NamingException e) {
        String detail = e.getExplanation();
        if (e instanceof NameNotFoundException) {
            return "NXDOMAIN, the name does not exist (" + detail + ")";
        }
        if (e instanceof ServiceUnavailableException) {
            return "SERVFAIL, the server failed to answer (" + detail + ")";
        }
        if (e instanceof OperationNotSupportedException) {
            return "the server refused the query or does not implement it (" + detail + ")";
        }
        if (e instanceof CommunicationException) {
            Throwable root = e.getRootCause();
            if (root instanceof SocketTimeoutException) {
                return "no answer within " + timeout;
            }
            if (root instanceof PortUnreachableException) {
                return "no server listens there (port unreachable)";
            }
            return "no answer (" + (root != null ? root : detail) + ")";
        }
        return e.getClass().getSimpleName() + " (" + detail + ")";
    }

    private static void closeQuietly(DirContext context) {
        if (context != null) {
            try {
                context.close();
            } catch (NamingException ignored) {
                // nothing is held open between queries; the query's own outcome is what counts
            }
        }
    }
}
