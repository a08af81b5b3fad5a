package dev.ailb.dns;

import static dev.ailb.internal.Preconditions.checkBetween;
import static dev.ailb.internal.Preconditions.checkHost;
import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkRange;
import static dev.ailb.internal.Preconditions.checkState;
import static dev.ailb.internal.Preconditions.requireUnset;
import static dev.ailb.internal.Preconditions.shown;

import dev.ailb.BackendSpec;
import dev.ailb.DiscoveryContext;
import dev.ailb.DiscoverySource;
import dev.ailb.LoadBalancer;
import dev.ailb.internal.IdleDaemonThreads;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fleet whose membership is a DNS name: the name is resolved when the source starts and again
 * at every interval, and each resolution's backends become the balancer's
 * ({@link LoadBalancer#setBackends reconciled}: the new are added, the kept get their new weight,
 * the gone are drained, their requests in flight finishing).
 *
 * <pre>{@code
 * // the addresses of a name, each one backend at port 8000
 * lb.discover(DnsDiscovery.addresses("vllm.fleet.internal", 8000).build());
 * // SRV records: each target's addresses, at the record's port, with the record's weight
 * lb.discover(DnsDiscovery.srv("_llm._tcp.fleet.internal")
 *         .server("10.0.0.2:53")                // default: the system's resolver
 *         .interval(Duration.ofSeconds(10))     // default: 30 s
 *         .build());
 * }</pre>
 *
 * <p><b>What the records become.</b> Address records (A, AAAA, as {@link AddressFamily} says) give
 * one backend per address at the given port, weight 1. SRV records give one backend per address of
 * each target, at the record's port, with the record's weight clamped to
 * 1..{@link LoadBalancer#MAX_WEIGHT} (0 becomes 1); only the lowest-numbered priority group whose
 * targets have an address is used, the others are left out. A backend's id is
 * {@code address:port}, an IPv6 address in brackets ({@code [fd00::7]:8000}), the same at every
 * resolution; its host is the address.
 *
 * <p><b>Failures.</b> A resolution fails when a query gets no usable answer: the name (or an SRV
 * target) does not exist (NXDOMAIN), the server fails (SERVFAIL) or refuses, no answer comes
 * within the timeout, or no server listens. It is reported to the balancer
 * ({@link DiscoveryContext#fail}), which keeps the last good membership and logs the run of
 * failures once; the next interval tries again. An answer without records, on the other hand, is
 * the name saying the fleet is empty: every backend is drained. (To empty a fleet through DNS,
 * keep the name and remove its records; removing the name is a failure, and changes nothing.)
 *
 * <p><b>Threads.</b> The balancer's scheduler times the resolutions; the queries themselves run on
 * a daemon thread of the source's own ({@code ailb-dns-N}, made when a resolution needs it, ended
 * after a minute idle and when the source closes), since they block for up to the timeout each:
 * one query for address records (two for {@link AddressFamily#BOTH}), one for SRV plus those of
 * each target. {@link Builder#executor} runs them elsewhere. Resolutions never overlap: the next
 * is scheduled an interval after one ends. No backend change is delivered after {@link #close()}
 * returns.
 *
 * <p>Queries go through the JDK's own DNS client, JNDI's DNS provider (module {@code jdk.naming.dns},
 * which a {@code jlink} image must include), over UDP and over TCP when an answer is truncated,
 * without a cache: every resolution asks the server. A source is started by one balancer, once;
 * build another for another balancer. Thread-safe.
 */
public final class DnsDiscovery implements DiscoverySource {
    /** The interval between two resolutions unless {@link Builder#interval} says otherwise: 30 seconds. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);
    /** How long one query waits for its answer unless {@link Builder#timeout} says otherwise: 5 seconds. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    private static final Logger log = LoggerFactory.getLogger(DnsDiscovery.class);
    private static final Duration MIN_DURATION = Duration.ofMillis(1);
    private static final Duration MAX_INTERVAL = Duration.ofHours(24);
    private static final Duration MAX_TIMEOUT = Duration.ofMinutes(1);

    private final DnsMembership membership;
    private final DnsResolver resolver;
    private final Duration interval;
    private final Executor lookups;
    /** The threads the source made for its queries, shut down when it closes; null with a given executor. */
    private final ExecutorService ownThreads;

    // Guards the three fields below and every delivery to the context: a resolution queries without
    // the lock, then delivers and schedules the next under it, after checking closed; close() sets
    // closed under it. So no delivery can follow the return of close().
    private final Object lock = new Object();
    private DiscoveryContext context;
    private ScheduledFuture<?> next;
    private boolean closed;

    private DnsDiscovery(Builder b) {
        this.membership = new DnsMembership(b.name, b.srv, b.port,
                b.family != null ? b.family : AddressFamily.IPV4);
        this.resolver = new DnsResolver(b.server, b.timeout != null ? b.timeout : DEFAULT_TIMEOUT);
        this.interval = b.interval != null ? b.interval : DEFAULT_INTERVAL;
        this.ownThreads = b.executor == null ? IdleDaemonThreads.named("ailb-dns-") : null;
        this.lookups = b.executor != null ? b.executor : ownThreads;
    }

    /**
     * A source for the address records of {@code name}: each address is one backend at {@code port}.
     *
     * @param name a DNS name: labels of letters, digits, hyphens and underscores, 1..63 characters
     *             each, joined by dots, at most 253 characters, optionally one final dot; always
     *             taken as absolute (no search domain is appended)
     * @param port the port of every backend, 1..65535
     * @return a builder for the source
     * @throws NullPointerException     if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is not a DNS name or {@code port} is out of range
     */
    public static Builder addresses(String name, int port) {
        return new Builder(checkDnsName(name), false, checkRange(port, 1, 65535, "port"));
    }

    /**
     * A source for the SRV records of {@code name}, such as {@code _llm._tcp.fleet.internal}: each
     * address of each target is one backend, at the record's port, with the record's weight.
     *
     * @param name a DNS name, as {@link #addresses(String, int)} describes
     * @return a builder for the source
     * @throws NullPointerException     if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is not a DNS name
     */
    public static Builder srv(String name) {
        return new Builder(checkDnsName(name), true, 0);
    }

    /**
     * Starts resolving: the first resolution is due at once on the balancer's scheduler, the next
     * an interval after each one ends. Called by {@link LoadBalancer#discover}.
     *
     * @param context where the resolutions deliver the membership
     * @throws NullPointerException  if {@code context} is null
     * @throws IllegalStateException if the source was started already
     */
    @Override
    public void start(DiscoveryContext context) {
        checkNotNull(context, "context");
        synchronized (lock) {
            checkState(this.context == null, this + " was already started (expected: one source per balancer)");
            this.context = context;
            if (!closed) {
                next = context.schedule(this::handOff, Duration.ZERO);
            }
        }
    }

    /** Stops resolving: the next resolution is cancelled, and none delivers anything after this returns. */
    @Override
    public void close() {
        ScheduledFuture<?> pending;
        synchronized (lock) {
            closed = true;
            pending = next;
            next = null;
        }
        if (pending != null) {
            pending.cancel(false);
        }
        if (ownThreads != null) {
            // An idle thread ends now; one in a query ends when the query does, within the timeout.
            ownThreads.shutdown();
        }
    }

    /** The name, the records asked for and the server, as log lines show the source. */
    @Override
    public String toString() {
        return "DnsDiscovery{" + membership.question() + " from " + resolver.server() + " every " + interval + "}";
    }

    /** On the balancer's scheduler: hands the resolution to the threads of the queries. */
    private void handOff() {
        try {
            lookups.execute(this::resolveAndDeliver);
        } catch (RejectedExecutionException e) {
            // Closed meanwhile (its own threads are shut down), or a given executor refused: the
            // source is stopped either way, since no resolution is left to schedule the next.
            log.warn("{} could not run its resolution: {}", this, e.toString());
        }
    }

    private void resolveAndDeliver() {
        List<BackendSpec> backends = null;
        Exception failure = null;
        try {
            backends = membership.resolve(resolver);
        } catch (DnsLookupException | RuntimeException e) {
            failure = e;
        }
        synchronized (lock) {
            if (closed) {
                return;
            }
            try {
                if (failure != null) {
                    context.fail(failure);
                } else {
                    log.debug("{} - {} resolved to {} backends", context.balancerName(), this, backends.size());
                    context.update(backends);
                }
            } catch (RuntimeException e) {
                // The balancer refused the membership and counted and logged that as a failure of the
                // source; the next resolution tries again.
                log.debug("{} - {}: the balancer refused the membership", context.balancerName(), this, e);
            }
            next = context.schedule(this::handOff, interval);
        }
    }

    /** Which address records to ask for, of the name or of each SRV target. */
    public enum AddressFamily {
        /** A records only: IPv4 addresses. */
        IPV4("A"),
        /** AAAA records only: IPv6 addresses. */
        IPV6("AAAA"),
        /**
         * Both A and AAAA records. A host with an address of each family is then two backends, and
         * gets twice the share of a host with one.
         */
        BOTH("A+AAAA");

        private final String recordTypes;

        AddressFamily(String recordTypes) {
            this.recordTypes = recordTypes;
        }

        String recordTypes() {
            return recordTypes;
        }
    }

    /**
     * The options of a {@link DnsDiscovery}, each given at most once. Not thread-safe: build on one
     * thread.
     */
    public static final class Builder {
        private final String name;
        private final boolean srv;
        private final int port;
        private String server;
        private Duration interval;
        private Duration timeout;
        private AddressFamily family;
        private Executor executor;

        private Builder(String name, boolean srv, int port) {
            this.name = name;
            this.srv = srv;
            this.port = port;
        }

        /**
         * The DNS server to ask, instead of the system's resolver (the name servers of
         * {@code /etc/resolv.conf} on Unix). An address, not a name: finding the server must not
         * need DNS.
         *
         * @param address an IPv4 or IPv6 address, optionally with a port (default 53):
         *                {@code 10.0.0.2}, {@code 10.0.0.2:5353}, {@code fd00::2} or
         *                {@code [fd00::2]:5353}
         * @return this builder
         * @throws NullPointerException     if {@code address} is null
         * @throws IllegalArgumentException if it is not such an address, or its port is not 1..65535
         * @throws IllegalStateException    if the server was already set
         */
        public Builder server(String address) {
            checkNotNull(address, "server");
            String normalized = serverAddress(address);
            requireUnset(server, "server");
            server = normalized;
            return this;
        }

        /**
         * How long after one resolution ends the next starts; default {@link #DEFAULT_INTERVAL}.
         *
         * @param interval 1 ms..24 h
         * @return this builder
         * @throws NullPointerException     if {@code interval} is null
         * @throws IllegalArgumentException if it is out of range
         * @throws IllegalStateException    if the interval was already set
         */
        public Builder interval(Duration interval) {
            checkBetween(interval, MIN_DURATION, MAX_INTERVAL, "interval");
            requireUnset(this.interval, "interval");
            this.interval = interval;
            return this;
        }

        /**
         * How long one query waits for its answer before the resolution fails; default
         * {@link #DEFAULT_TIMEOUT}. Each query is tried once per resolution.
         *
         * @param timeout 1 ms..1 min
         * @return this builder
         * @throws NullPointerException     if {@code timeout} is null
         * @throws IllegalArgumentException if it is out of range
         * @throws IllegalStateException    if the timeout was already set
         */
        public Builder timeout(Duration timeout) {
            checkBetween(timeout, MIN_DURATION, MAX_TIMEOUT, "timeout");
            requireUnset(this.timeout, "timeout");
            this.timeout = timeout;
            return this;
        }

        /**
         * Which address records to ask for, of the name or of each SRV target; default
         * {@link AddressFamily#IPV4}.
         *
         * @param family A, AAAA or both
         * @return this builder
         * @throws NullPointerException  if {@code family} is null
         * @throws IllegalStateException if the family was already set
         */
        public Builder family(AddressFamily family) {
            checkNotNull(family, "family");
            requireUnset(this.family, "family");
            this.family = family;
            return this;
        }

        /**
         * Where the queries run, instead of a daemon thread of the source's own. The executor
         * stays the caller's: the source never shuts it down. {@code Runnable::run} runs them on
         * the balancer's scheduler itself, as tests on virtual time do; a query then holds that
         * scheduler for up to the timeout.
         *
         * @param executor runs each resolution's queries, one resolution at a time
         * @return this builder
         * @throws NullPointerException  if {@code executor} is null
         * @throws IllegalStateException if the executor was already set
         */
        public Builder executor(Executor executor) {
            checkNotNull(executor, "executor");
            requireUnset(this.executor, "executor");
            this.executor = executor;
            return this;
        }

        /**
         * Builds the source; {@link LoadBalancer#discover} starts it.
         *
         * @return a new source, not started
         */
        public DnsDiscovery build() {
            return new DnsDiscovery(this);
        }
    }

    /**
     * Checks a DNS name: labels of ASCII letters, digits, hyphens and underscores (SRV names such
     * as {@code _llm._tcp} have them), 1..63 characters, not starting or ending with a hyphen,
     * joined by dots, at most 253 characters without the optional final dot.
     */
    static String checkDnsName(String name) {
        checkNotNull(name, "name");
        int end = name.endsWith(".") ? name.length() - 1 : name.length();
        boolean valid = end > 0 && end <= 253;
        int labelStart = 0;
        for (int i = 0; valid && i <= end; i++) {
            char c = i < end ? name.charAt(i) : '.';
            if (c == '.') {
                int length = i - labelStart;
                valid = length >= 1 && length <= 63 && name.charAt(labelStart) != '-' && name.charAt(i - 1) != '-';
                labelStart = i + 1;
            } else {
                valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
                        || c == '_';
            }
        }
        if (!valid) {
            throw new IllegalArgumentException("name: " + shown(name)
                    + " (expected: a DNS name, labels of letters, digits, '-' and '_' joined by dots)");
        }
        return name;
    }

    /**
     * Reads a server address as {@link Builder#server} describes it, into the {@code host:port}
     * form of a provider URL ({@code 10.0.0.2:53}, {@code [fd00::2]:53}).
     */
    static String serverAddress(String address) {
        String host;
        String port = "53";
        int colons = (int) address.chars().filter(c -> c == ':').count();
        if (address.startsWith("[")) {
            int close = address.indexOf(']');
            host = close > 0 ? address.substring(1, close) : "";
            String rest = close > 0 ? address.substring(close + 1) : "";
            if (!rest.isEmpty()) {
                port = rest.startsWith(":") ? rest.substring(1) : "";
            }
            if (host.indexOf(':') < 0) {
                host = ""; // only an IPv6 address goes in brackets
            }
        } else if (colons == 1) {
            host = address.substring(0, address.indexOf(':'));
            port = address.substring(address.indexOf(':') + 1);
        } else {
            host = address;
        }
        if (!isIpLiteral(host) || !isPort(port)) {
            throw new IllegalArgumentException("server: " + shown(address) + " (expected: an IP address, optionally"
                    + " with a port 1..65535: 10.0.0.2, 10.0.0.2:5353, fd00::2 or [fd00::2]:5353)");
        }
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + Integer.parseInt(port) : host + ":" + Integer.parseInt(port);
    }

    private static boolean isPort(String port) {
        if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return false;
        }
        int value = Integer.parseInt(port);
        return value >= 1 && value <= 65535;
    }

    /** An IPv4 address in dotted-decimal form, or an IPv6 address without a zone id. */
    private static boolean isIpLiteral(String host) {
        if (host.isEmpty() || host.indexOf('%') >= 0) {
            return false;
        }
        if (host.indexOf(':') >= 0) {
            // The balancer's own host check knows the IPv6 forms; a host name never holds a colon.
            return isHost(host);
        }
        String[] parts = host.split("\\.", -1);
        if (parts.length != 4) {
            return false;
        }
        for (String part : parts) {
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(c -> c >= '0' && c <= '9')
                    || (part.length() > 1 && part.charAt(0) == '0') || Integer.parseInt(part) > 255) {
                return false;
            }
        }
        return true;
    }

    private static boolean isHost(String host) {
        try {
            checkHost(host, "server");
            return true;
        } catch (IllegalArgumentException e) {
            return false; // the caller's message says what a server may be
        }
    }
}
