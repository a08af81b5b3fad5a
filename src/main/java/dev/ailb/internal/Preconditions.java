package dev.ailb.internal;

import java.time.Duration;

/**
 * Argument checks with one message style, {@code name: value (expected: ...)}, so that every
 * rejection names the parameter and the value it got. Not part of the API.
 */
public final class Preconditions {
    /** The longest duration a {@code long} count of nanoseconds holds, about 292 years. */
    public static final Duration MAX_NANOS = Duration.ofNanos(Long.MAX_VALUE);

    private Preconditions() {}

    public static <T> T checkNotNull(T value, String name) {
        if (value == null) {
            throw new NullPointerException(name + ": null (expected: non-null)");
        }
        return value;
    }

    public static String checkId(String value, String name) {
        checkNotNull(value, name);
        if (value.isBlank()) {
            throw new IllegalArgumentException(name + ": " + quote(value) + " (expected: not blank)");
        }
        if (value.length() > 256) {
            throw new IllegalArgumentException(name + ": " + shown(value) + " (expected: at most 256 characters)");
        }
        for (int i = 0; i < value.length(); i++) {
            // Ids and hosts end up in log lines: a line break in one could forge a log line.
            if (Character.isISOControl(value.charAt(i))) {
                throw new IllegalArgumentException(
                        name + ": " + quote(value) + " (expected: no control characters)");
            }
        }
        return value;
    }

    /**
     * Checks a name that log lines, thread names and metric tags carry: 1 to 64 characters among
     * ASCII letters, digits, {@code .}, {@code _} and {@code -}.
     */
    public static String checkName(String value, String name) {
        checkNotNull(value, name);
        boolean ok = !value.isEmpty() && value.length() <= 64;
        for (int i = 0; ok && i < value.length(); i++) {
            char c = value.charAt(i);
            ok = c < 128 && (Character.isLetterOrDigit(c) || c == '.' || c == '_' || c == '-');
        }
        if (!ok) {
            throw new IllegalArgumentException(name + ": " + shown(value)
                    + " (expected: 1 to 64 characters among letters, digits, '.', '_' and '-')");
        }
        return value;
    }

    /**
     * Checks a host label: a DNS host name, an IPv4 address or an IPv6 address, judged by its
     * text alone. Nothing is resolved or looked up.
     *
     * <ul>
     *   <li>A host name: labels of ASCII letters, digits and hyphens, 1 to 63 characters each,
     *       neither starting nor ending with a hyphen, joined by dots, 253 characters at most,
     *       optionally followed by one dot (RFC 1123). The last label starts with a letter, so
     *       that no name reads as an address in the shorthand forms resolvers accept
     *       ({@code 127.1}, {@code 2130706433}, {@code 0x7f.0.0.1}), and so that
     *       {@link java.net.URI} parses it as a host. No underscores: they are not allowed in
     *       host names, and {@code URI} finds no host in a name with one.</li>
     *   <li>An IPv4 address in dotted-decimal form: four numbers 0..255, without leading zeros
     *       (which some parsers read as octal).</li>
     *   <li>An IPv6 address in any RFC 4291 text form, with or without brackets, optionally with
     *       a zone id of letters, digits, dots and underscores ({@code fe80::1%eth0}), the
     *       characters {@code URI} accepts there.</li>
     * </ul>
     *
     * <p>Everything else is refused, in particular anything that a URI would read as user
     * information, a port, a path, a query or a fragment around a different host
     * ({@code gpu-7@127.0.0.1}, {@code host:80}, {@code a/b}).
     *
     * @throws NullPointerException     if {@code value} is null
     * @throws IllegalArgumentException if {@code value} is none of the three
     */
    public static String checkHost(String value, String name) {
        checkNotNull(value, name);
        if (!isHost(value)) {
            throw new IllegalArgumentException(
                    name + ": " + shown(value) + " (expected: a host name, an IPv4 address or an IPv6 address)");
        }
        return value;
    }

    /**
     * A refused text as a message shows it: quoted (see {@link #quote}), or its start and length if
     * over 256 characters.
     */
    public static String shown(String value) {
        return value.length() <= 256 ? quote(value)
                : quote(value.substring(0, 32)) + "... of length " + value.length();
    }

    private static boolean isHost(String s) {
        int n = s.length();
        if (n == 0 || n > 256) {
            return false;
        }
        if (s.charAt(0) == '[') {
            return n > 2 && s.charAt(n - 1) == ']' && isIpv6(s, 1, n - 1);
        }
        if (s.indexOf(':') >= 0) {
            return isIpv6(s, 0, n);
        }
        return isIpv4(s, 0, n) || isHostName(s);
    }

    private static boolean isHostName(String s) {
        int end = s.charAt(s.length() - 1) == '.' ? s.length() - 1 : s.length();
        if (end == 0 || end > 253) {
            return false;
        }
        int labelStart = 0;
        int lastLabel = 0;
        for (int i = 0; i <= end; i++) {
            char c = i < end ? s.charAt(i) : '.';
            if (c == '.') {
                int length = i - labelStart;
                if (length < 1 || length > 63 || s.charAt(labelStart) == '-' || s.charAt(i - 1) == '-') {
                    return false;
                }
                lastLabel = labelStart;
                labelStart = i + 1;
            } else if (!isAsciiLetter(c) && !isDigit(c) && c != '-') {
                return false;
            }
        }
        return isAsciiLetter(s.charAt(lastLabel));
    }

    /** Four decimal numbers 0..255 without leading zeros, in {@code s[from, to)}. */
    private static boolean isIpv4(String s, int from, int to) {
        int parts = 0;
        int i = from;
        while (parts < 4) {
            int start = i;
            int value = 0;
            while (i < to && isDigit(s.charAt(i)) && i - start < 3) {
                value = value * 10 + (s.charAt(i) - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0 || value > 255 || (digits > 1 && s.charAt(start) == '0')) {
                return false;
            }
            parts++;
            if (parts < 4) {
                if (i >= to || s.charAt(i) != '.') {
                    return false;
                }
                i++;
            }
        }
        return i == to;
    }

    /**
     * An RFC 4291 text form in {@code s[from, to)}: eight groups of one to four hex digits, or
     * fewer with one {@code ::} standing for the rest, the last two optionally written as an IPv4
     * address; then optionally {@code %} and a zone id.
     */
    private static boolean isIpv6(String s, int from, int to) {
        int zone = s.indexOf('%', from);
        if (zone >= 0 && zone < to) {
            if (zone + 1 == to) {
                return false;
            }
            for (int i = zone + 1; i < to; i++) {
                char c = s.charAt(i);
                if (!isAsciiLetter(c) && !isDigit(c) && c != '.' && c != '_') {
                    return false;
                }
            }
            to = zone;
        }
        int groups = 0;
        boolean elided = false;
        int i = from;
        if (s.startsWith("::", i)) {
            elided = true;
            i += 2;
        } else if (i < to && s.charAt(i) == ':') {
            return false;
        }
        while (i < to) {
            int start = i;
            while (i < to && isHexDigit(s.charAt(i))) {
                i++;
            }
            if (i < to && s.charAt(i) == '.') {
                if (!isIpv4(s, start, to)) {
                    return false;
                }
                groups += 2;
                break;
            }
            int digits = i - start;
            if (digits < 1 || digits > 4) {
                return false;
            }
            groups++;
            if (i == to) {
                break;
            }
            if (s.charAt(i) != ':') {
                return false;
            }
            i++;
            if (i < to && s.charAt(i) == ':') {
                if (elided) {
                    return false;
                }
                elided = true;
                i++;
            } else if (i == to) {
                return false; // a single trailing colon
            }
        }
        return elided ? groups <= 7 : groups == 8;
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isHexDigit(char c) {
        return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    public static int checkRange(int value, int min, int max, String name) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(
                    name + ": " + value + " (expected: " + min + ".." + max + ")");
        }
        return value;
    }

    public static double checkUnitInterval(double value, String name) {
        if (!(value >= 0.0 && value <= 1.0)) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: 0.0..1.0)");
        }
        return value;
    }

    public static double checkNonNegativeFinite(double value, String name) {
        if (!(value >= 0.0) || Double.isInfinite(value)) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: finite and >= 0)");
        }
        return value;
    }

    public static Duration checkNonNegative(Duration value, String name) {
        checkNotNull(value, name);
        if (value.isNegative()) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: >= 0)");
        }
        return value;
    }

    public static Duration checkPositive(Duration value, String name) {
        checkNotNull(value, name);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
        }
        return value;
    }

    /** Checks {@code 0 < value <= MAX_NANOS}, for durations that are kept as nanoseconds. */
    public static Duration checkPositiveNanos(Duration value, String name) {
        checkPositive(value, name);
        if (value.compareTo(MAX_NANOS) > 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: at most " + MAX_NANOS + ")");
        }
        return value;
    }

    /** Checks {@code min <= value <= max}; the bounds keep nanosecond arithmetic from overflowing. */
    public static Duration checkBetween(Duration value, Duration min, Duration max, String name) {
        checkNotNull(value, name);
        if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: " + min + ".." + max + ")");
        }
        return value;
    }

    public static long checkNonNegative(long value, String name) {
        if (value < 0) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: >= 0)");
        }
        return value;
    }

    public static void checkState(boolean condition, String message) {
        if (!condition) {
            throw new IllegalStateException(message);
        }
    }

    /** For builders whose settings may be given once: a second call names the value already set. */
    public static void requireUnset(Object current, String name) {
        if (current != null) {
            throw new IllegalStateException(name + " was already set to " + current);
        }
    }

    /**
     * The value in double quotes, with control characters written as the escapes of a Java string
     * literal (a line feed as backslash-n), so that a message quoting untrusted input stays on one
     * line.
     */
    public static String quote(String s) {
        StringBuilder quoted = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> quoted.append("\\n");
                case '\r' -> quoted.append("\\r");
                case '\t' -> quoted.append("\\t");
                default -> {
                    if (Character.isISOControl(c)) {
                        quoted.append(String.format("\\u%04x", (int) c));
                    } else {
                        quoted.append(c);
                    }
                }
            }
        }
        return quoted.append('"').toString();
    }
}
