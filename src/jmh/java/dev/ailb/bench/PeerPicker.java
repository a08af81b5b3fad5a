package dev.ailb.bench;

import java.util.Objects;

/**
 * One library's picker, built over a fixed list of servers and asked for one server per call of
 * {@link #pick(int)}. The servers are labels only ({@value #HOST} and a port from
 * {@value #BASE_PORT} on): no picker is ever given anything that could open a connection.
 *
 * <p>Every library is given the same fleet: server {@code i} listens (in name only) on port
 * {@code BASE_PORT + i}, has weight {@code 1 + i % 3} where the library knows weights, and has three
 * completed requests of {@link #responseMicros(int, int)} behind it where the library keeps
 * response times or active counts.
 */
abstract class PeerPicker implements AutoCloseable {

    static final String HOST = "127.0.0.1";
    static final int BASE_PORT = 20_000;

    /** Number of prepared request keys; a power of two so that the index wraps with a mask. */
    static final int KEYS = 1024;
    static final int KEY_MASK = KEYS - 1;

    /** Picks made by setup; a few slow pickers take milliseconds per pick at 10,000 servers. */
    static final int PRIMING_PICKS = 64;

    /** Completed requests recorded per server before measuring. */
    static final int COMPLETED_PER_SERVER = 3;

    static int port(int server) {
        return BASE_PORT + server;
    }

    static String address(int server) {
        return HOST + ":" + port(server);
    }

    static int weight(int server) {
        return 1 + server % 3;
    }

    /** Response time of completed request {@code k} of server {@code i}: 0.2 ms to about 50 ms. */
    static long responseMicros(int server, int k) {
        return 200 + (server * 7_919L + k * 104_729L) % 50_000;
    }

    /** Client address of request key {@code k}, the input of the hashing pickers. */
    static String clientKey(int k) {
        return "127.1." + (k >>> 8) + "." + (k & 0xff);
    }

    /** The server for request key {@code key} (in {@code [0, KEYS)}); never null. */
    abstract Object pick(int key);

    /**
     * The pick, with what this library's {@code selectBackend} keeps on the path: the request
     * counted on the server picked. For this library, its pick itself.
     */
    abstract Object pickCounted(int key);

    /**
     * The counted pick, then a connection counted in on the server and counted out again: the
     * bookkeeping of one call around the pick, the call itself left out.
     */
    abstract Object pickAcquireRelease(int key);

    @Override
    public void close() {
    }

    /**
     * The picker named {@code library:variant}, over {@code servers} servers, with the first
     * {@value #PRIMING_PICKS} request keys picked once, so that lazily built tables are in place
     * before measuring (and so that a picker that picks nothing fails at once).
     */
    static PeerPicker create(String name, int servers) {
        int colon = name.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("expected library:variant, got " + name);
        }
        String library = name.substring(0, colon);
        String variant = name.substring(colon + 1);
        PeerPicker picker = switch (library) {
            case "ailb" -> new AilbPeer(variant, servers);
            case "ribbon" -> new RibbonPeer(variant, servers);
            case "armeria" -> new ArmeriaPeer(variant, servers);
            case "dubbo" -> new DubboPeer(variant, servers);
            case "spring" -> new SpringCloudPeer(variant, servers);
            default -> throw new IllegalArgumentException("unknown library " + library);
        };
        for (int k = 0; k < PRIMING_PICKS; k++) {
            Objects.requireNonNull(picker.pick(k), () -> name + " picked nothing");
        }
        return picker;
    }
}
