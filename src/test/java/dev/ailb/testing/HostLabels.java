package dev.ailb.testing;

import java.util.stream.Stream;

/** Host labels for the tests of what addBackend accepts as a host, and of the URIs built from them. */
public final class HostLabels {
    private HostLabels() {}

    /** Host labels addBackend takes as given: DNS names and address literals. */
    public static Stream<String> accepted() {
        String label63 = "a".repeat(63);
        return Stream.of(
                "localhost", "LOCALHOST.", "h", "gpu-7.internal", "inference-0.vllm.svc.cluster.local",
                "1.example.com", "xn--bcher-kva.example", "a-b--c.d9",
                label63 + ".example", name(253), name(253) + ".",
                "10.0.0.1", "0.0.0.0", "255.255.255.255", "127.0.0.1",
                "::1", "[::1]", "::", "2001:db8::8a2e:370:7334", "2001:DB8:0:0:0:0:0:1", "1:2:3:4:5:6:7::",
                "::ffff:10.0.0.1", "[::ffff:10.0.0.1]", "fe80::1%eth0", "[fe80::1%eth0]", "fe80::1%eth0.100",
                "fe80::1%1");
    }

    /** Hosts addBackend refuses: anything that could read as another host, a port, a path or an address. */
    public static Stream<String> refused() {
        return Stream.of(
                "gpu-7.internal@127.0.0.1", "user@10.0.0.1", "a/b", "http://gpu-7", "gpu-7/v1", "a?b", "a#b",
                "host:80", "10.0.0.1:8000", "[::1]:80", "[::1", "::1]", "[gpu-7]", "[]",
                "", " ", "a b", " localhost", "localhost\n", "a\u0000b", "a\tb",
                "a..b", ".a", "a..", "..", ".", "-a.b", "a-.b", "a.-b", "a_b.example", "_srv.example",
                "a".repeat(64) + ".example", name(254), name(253) + "..",
                "gpu.7b", "8gpu", "2130706433", "127.1", "1.2.3", "1.2.3.4.5", "1.2.3.4.", "256.0.0.1",
                "010.0.0.1", "10.0.0.01", "0x7f.0.0.1", "0x7f000001", "-1.0.0.1",
                "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", ":::", "1:2", ":1::", "1::2:", "fe80::1%",
                "fe80::1%br-lan", "fe80::1%eth0%1", "%eth0", "::ffff:1.2.3", "::ffff:01.2.3.4",
                "1.2.3.4::", "g::1", "ex\u00e4mple.com", "exa%6dple.com");
    }

    /** A DNS name of exactly {@code length} characters: 63-character labels, then a shorter one. */
    public static String name(int length) {
        StringBuilder name = new StringBuilder();
        while (length - name.length() > 64) {
            name.append("a".repeat(63)).append('.');
        }
        return name.append("b".repeat(length - name.length())).toString();
    }
}
