package dev.ailb.http;

import java.nio.ByteBuffer;

/**
 * Reads an answer's bytes as they go by, on their way to the caller, without keeping or changing
 * them: {@link UsageScanner} for a JSON answer, {@link EventStreamScanner} for a stream of
 * server-sent events. Not thread-safe: fed by one thread at a time, as a body is read or delivered.
 */
abstract class AnswerScanner {
    /** The most bytes copied at once from a buffer whose array is out of reach. */
    private static final int COPY_CHUNK = 8192;

    private byte[] chunk; // for such buffers; allocated at the first

    /** Reads {@code length} bytes of {@code bytes} from {@code offset}. */
    abstract void scan(byte[] bytes, int offset, int length);

    /** Whether it has read all it needs: the bytes that follow may pass unread. */
    abstract boolean done();

    /** Reads the remaining bytes of this buffer, leaving its position where it was. */
    final void scan(ByteBuffer buffer) {
        if (done() || !buffer.hasRemaining()) {
            return;
        }
        if (buffer.hasArray()) {
            scan(buffer.array(), buffer.arrayOffset() + buffer.position(), buffer.remaining());
            return;
        }
        ByteBuffer copy = buffer.duplicate(); // read-only or direct: copied, a chunk at a time
        if (chunk == null) {
            chunk = new byte[COPY_CHUNK];
        }
        while (copy.hasRemaining() && !done()) {
            int n = Math.min(chunk.length, copy.remaining());
            copy.get(chunk, 0, n);
            scan(chunk, 0, n);
        }
    }
}
