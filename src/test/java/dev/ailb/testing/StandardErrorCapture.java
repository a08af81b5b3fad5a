package dev.ailb.testing;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Swaps a buffer in for {@code System.err} until closed. slf4j-simple writes every log line to
 * whatever {@code System.err} is at that moment, so a test can read what was logged.
 */
public final class StandardErrorCapture implements AutoCloseable {
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private final PrintStream original;

    private StandardErrorCapture() {
        original = System.err;
        System.setErr(new PrintStream(buffer, true, StandardCharsets.UTF_8));
    }

    /** Starts capturing. */
    public static StandardErrorCapture start() {
        return new StandardErrorCapture();
    }

    /** Everything written so far. */
    public String text() {
        return buffer.toString(StandardCharsets.UTF_8);
    }

    /** Puts the original {@code System.err} back. */
    @Override
    public void close() {
        System.setErr(original);
    }
}
