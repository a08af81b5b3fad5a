package dev.ailb.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real DNS server on loopback for the discovery tests: dnsmasq (Debian's {@code dnsmasq-base}),
 * started on a free high port of {@code 127.0.0.1}, answering only from a hosts file and SRV lines
 * that the test writes, never forwarding a query anywhere (no upstream server, no
 * {@code /etc/hosts}, no {@code /etc/resolv.conf}).
 *
 * <p>The names under the test's local domains ({@code fleet.test} unless the test says otherwise)
 * are answered from the hosts file: a name not in it gets NXDOMAIN, a name with only an IPv6
 * address gets an empty answer (NOERROR) to an A query. A name outside those domains is refused
 * (REFUSED), and a name under a domain forwarded with {@link #forwardToNowhere} gets no answer at
 * all, as from a server whose upstream is down.
 *
 * <p>{@link #hosts} rewrites the hosts file and has dnsmasq read it again (SIGHUP), returning once
 * dnsmasq has logged that it read it; {@link #srv} rewrites the SRV lines, which dnsmasq reads only
 * at start, and restarts it on the same port. {@link #stop()} ends the process, as a crash would:
 * queries then meet a closed port. Caching is off, so every query sees the files as they are.
 * Waits are for dnsmasq's own log lines, never for a fixed time. Not thread-safe: one test drives it.
 */
public final class Dnsmasq implements AutoCloseable {
    /** Where Debian installs it; the PATH of a non-root user often lacks {@code /usr/sbin}. */
    private static final List<String> PLACES = List.of("/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq",
            "/usr/local/sbin/dnsmasq");
    /** How long to wait for dnsmasq to start or to read its files; a healthy one takes milliseconds. */
    private static final long READY_SECONDS = 20;
    private static final int PORT_TRIES = 10;

    private final String executable;
    private final Path hostsFile;
    private final Path confFile;
    private final List<String> localDomains;
    private final List<String> forwarded = new ArrayList<>();
    private List<String> srvLines = List.of();
    private int port;
    private Process process;
    private DnsmasqLog log;

    private Dnsmasq(String executable, Path dir, List<String> localDomains) {
        this.executable = executable;
        this.hostsFile = dir.resolve("hosts");
        this.confFile = dir.resolve("dnsmasq.conf");
        this.localDomains = List.copyOf(localDomains);
    }

    /**
     * Starts dnsmasq with an empty hosts file in {@code dir}, answering for the names under
     * {@code fleet.test}.
     *
     * @param dir a directory of the test's own (a {@code @TempDir}) for the hosts and configuration files
     * @return the running server
     * @throws AssertionError if dnsmasq is not installed, saying what to install
     */
    public static Dnsmasq start(Path dir) {
        return start(dir, List.of("fleet.test"));
    }

    /**
     * Starts dnsmasq with an empty hosts file in {@code dir}, answering for the names under the
     * given domains from its files and refusing every other name.
     *
     * @param dir          a directory of the test's own for the hosts and configuration files
     * @param localDomains the domains whose names it answers (NXDOMAIN when a name is not in the files)
     * @return the running server
     * @throws AssertionError if dnsmasq is not installed, saying what to install
     */
    public static Dnsmasq start(Path dir, List<String> localDomains) {
        Dnsmasq dns = new Dnsmasq(executable(), dir, localDomains);
        try {
            Files.writeString(dns.hostsFile, "");
            dns.writeConf();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        dns.startOnAFreePort();
        return dns;
    }

    /** The path of the dnsmasq executable, or an AssertionError telling how to install it. */
    static String executable() {
        for (String place : PLACES) {
            if (Files.isExecutable(Path.of(place))) {
                return place;
            }
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                Path candidate = Path.of(dir, "dnsmasq");
                if (Files.isExecutable(candidate)) {
                    return candidate.toString();
                }
            }
        }
        throw new AssertionError("dnsmasq is not installed, and the DNS discovery tests run against it: install"
                + " Debian's dnsmasq-base (apt-get install -y dnsmasq-base; .ci/run does it when it is missing)");
    }

    /** The port dnsmasq listens on, UDP and TCP, on {@code 127.0.0.1}; kept across restarts. */
    public int port() {
        return port;
    }

    /** The server as a discovery source's option names it: {@code 127.0.0.1:<port>}. */
    public String address() {
        return "127.0.0.1:" + port;
    }

    /**
     * Replaces the hosts file with these lines ({@code "127.0.0.11 api.fleet.test"}) and waits until
     * dnsmasq has read it again.
     *
     * @param lines the lines of the hosts file, an address then one or more names
     */
    public void hosts(String... lines) {
        requireRunning();
        write(hostsFile, String.join("\n", lines) + "\n");
        int reads = log.count(hostsReadLine());
        signal("HUP");
        log.awaitCount(hostsReadLine(), reads + 1, process, READY_SECONDS);
    }

    /**
     * Replaces the SRV records with these {@code srv-host} values
     * ({@code "_llm._tcp.fleet.test,gpu-a.fleet.test,8001,0,5"}: name, target, port, priority,
     * weight) and restarts dnsmasq on the same port, which reads them only when it starts.
     *
     * @param records the values of dnsmasq's {@code srv-host} option, one record each
     */
    public void srv(String... records) {
        srvLines = List.of(records);
        writeConf();
        if (process != null) {
            stop();
            launch();
        }
    }

    /**
     * Forwards the names under {@code domain} to a server that never answers, so that dnsmasq keeps
     * a query under it waiting for its upstream and gives the client no answer. Restarts dnsmasq.
     *
     * @param domain a domain outside the local ones, such as {@code slow.test}
     */
    public void forwardToNowhere(String domain) {
        // A UDP port of loopback that is bound, by a socket that is closed at once, then left free:
        // dnsmasq's query to it meets a closed port and gets nothing back, and it keeps trying.
        forwarded.add("server=/" + domain + "/127.0.0.1#" + freePort());
        writeConf();
        if (process != null) {
            stop();
            launch();
        }
    }

    /** Ends dnsmasq, as a crash would; queries meet a closed port until {@link #restart()}. */
    public void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(READY_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while stopping dnsmasq", e);
        }
        process = null;
    }

    /** Starts dnsmasq again on the same port, with the files as they are now. */
    public void restart() {
        if (process != null) {
            stop();
        }
        launch();
    }

    /** What dnsmasq logged since it last started, for a failing test's message. */
    public String log() {
        return log == null ? "" : log.text();
    }

    /** Stops dnsmasq. */
    @Override
    public void close() {
        stop();
    }

    private void startOnAFreePort() {
        AssertionError last = null;
        for (int i = 0; i < PORT_TRIES; i++) {
            port = freePort();
            try {
                launch();
                return;
            } catch (AssertionError e) {
                // Another process may have taken the port between the probe and dnsmasq's bind.
                if (!log().contains("Address already in use")) {
                    throw e;
                }
                last = e;
            }
        }
        throw last;
    }

    private void launch() {
        List<String> command = new ArrayList<>(List.of(executable, "--no-daemon",
                "--port=" + port, "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                "--no-poll", "--cache-size=0", "--pid-file=", "--log-facility=-", "--conf-file=" + confFile,
                "--addn-hosts=" + hostsFile));
        if ("root".equals(System.getProperty("user.name"))) {
            // As root dnsmasq would drop to "nobody", who cannot read the test's private directory.
            command.add("--user=root");
        }
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start " + executable, e);
        }
        log = new DnsmasqLog(process);
        log.awaitCount(hostsReadLine(), 1, process, READY_SECONDS);
    }

    private void requireRunning() {
        if (process == null) {
            throw new IllegalStateException("dnsmasq is stopped");
        }
    }

    private String hostsReadLine() {
        return "read " + hostsFile;
    }

    private void writeConf() {
        StringBuilder conf = new StringBuilder();
        for (String domain : localDomains) {
            conf.append("local=/").append(domain).append("/\n");
        }
        for (String line : forwarded) {
            conf.append(line).append('\n');
        }
        for (String record : srvLines) {
            conf.append("srv-host=").append(record).append('\n');
        }
        write(confFile, conf.toString());
    }

    private void signal(String name) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
            if (kill.waitFor() != 0) {
                throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while signalling dnsmasq", e);
        }
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A port that is free for both UDP and TCP on loopback at the moment of asking. */
    private static int freePort() {
        for (int i = 0; i < 100; i++) {
            try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
                int candidate = udp.getLocalPort();
                try (ServerSocket tcp = new ServerSocket()) {
                    tcp.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), candidate));
                    return candidate;
                } catch (IOException taken) {
                    // TCP side taken: try another
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        throw new IllegalStateException("no free port on loopback");
    }

    /** The lines dnsmasq writes, read on a thread of their own, and a wait for one of them. */
    private static final class DnsmasqLog {
        private final StringBuilder text = new StringBuilder(); // guarded by this

        DnsmasqLog(Process process) {
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        append(line);
                    }
                } catch (IOException e) {
                    append("(log read failed: " + e + ")");
                }
                append("(exited)");
            }, "dnsmasq-log-" + process.pid());
            reader.setDaemon(true);
            reader.start();
        }

        private synchronized void append(String line) {
            text.append(line).append('\n');
            notifyAll();
        }

        synchronized String text() {
            return text.toString();
        }

        synchronized int count(String fragment) {
            int n = 0;
            for (int at = text.indexOf(fragment); at >= 0; at = text.indexOf(fragment, at + 1)) {
                n++;
            }
            return n;
        }

        /** Waits until {@code fragment} has been logged {@code times} times; fails if dnsmasq exits first. */
        synchronized void awaitCount(String fragment, int times, Process process, long seconds) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (count(fragment) < times) {
                if (text.indexOf("(exited)") >= 0) {
                    throw new AssertionError("dnsmasq exited (code " + exitCode(process) + "):\n" + text);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("dnsmasq did not log \"" + fragment + "\" within " + seconds + " s:\n" + text);
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for dnsmasq", e);
                }
            }
        }

        private static String exitCode(Process process) {
            try {
                return process.waitFor(1, TimeUnit.SECONDS) ? Integer.toString(process.exitValue()) : "unknown";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "unknown";
            }
        }
    }
}
