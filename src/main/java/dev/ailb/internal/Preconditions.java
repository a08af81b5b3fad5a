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
            throw new IllegalArgumentException(
                    name + ": " + quote(value.substring(0, 32)) + "... of length " + value.length()
                            + " (expected: at most 256 characters)");
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
