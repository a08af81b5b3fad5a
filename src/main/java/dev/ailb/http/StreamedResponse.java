package dev.ailb.http;

import dev.ailb.Lease;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpHeaders;
import java.net.http.HttpResponse;

/**
 * An answer of {@link BalancedHttpClient#stream} or {@link BalancedHttpClient#streamJson}, whose
 * body is read as it arrives. Its lease on the backend lasts until the body is read to its end (a
 * success), fails to read (a failure), is closed (a success) or is {@linkplain #cancel()
 * cancelled} (no outcome); the first byte read is recorded as the backend's time to first byte.
 *
 * <p>Read it from one thread at a time, as any {@link InputStream}.
 */
public final class StreamedResponse implements AutoCloseable {
    private final HttpResponse<InputStream> response;
    private final Body body;

    /** The answer of an attempt that succeeded, whose body the caller reads from {@code body}. */
    StreamedResponse(HttpResponse<InputStream> response, Lease lease, InputStream body) {
        this.response = response;
        this.body = new Body(body, lease);
    }

    private StreamedResponse(HttpResponse<InputStream> response, InputStream readBody) {
        this.response = response;
        this.body = new Body(readBody, null);
    }

    /** A 5xx answer handed back after the last attempt: its lease already ended, its body read. */
    static StreamedResponse ended(HttpResponse<InputStream> response, InputStream readBody) {
        return new StreamedResponse(response, readBody);
    }

    /**
     * The status of the answer.
     *
     * @return the status code
     */
    public int statusCode() {
        return response.statusCode();
    }

    /**
     * The headers of the answer.
     *
     * @return the headers
     */
    public HttpHeaders headers() {
        return response.headers();
    }

    /**
     * The body, read as it arrives; reading it to the end or closing it ends the lease.
     *
     * @return the body
     */
    public InputStream body() {
        return body;
    }

    /**
     * Whether the lease on the backend is still held.
     *
     * @return {@code true} until the body has been read to its end, failed or been closed
     */
    public boolean isOpen() {
        return body.lease != null && body.lease.isOpen();
    }

    /** Closes the body, ending the lease as a success if it was still held. */
    @Override
    public void close() throws IOException {
        body.close();
    }

    /**
     * Closes the body because its reader gave up on it (a user who stopped a stream half-way):
     * the lease, if it was still held, ends without an outcome, as {@link Lease#cancel()} ends
     * it, since an answer abandoned says nothing about the backend that was giving it. Once the
     * body has been read to its end, has failed or has been closed, this only closes it again.
     *
     * @throws IOException if closing the body fails; the lease has ended all the same
     */
    public void cancel() throws IOException {
        body.cancel();
    }

    private static final class Body extends FilterInputStream {
        private final Lease lease; // null: ended before this answer was handed out

        Body(InputStream in, Lease lease) {
            super(in);
            this.lease = lease;
        }

        @Override
        public int read() throws IOException {
            int b;
            try {
                b = super.read();
            } catch (IOException e) {
                failed();
                throw e;
            }
            seen(b < 0 ? -1 : 1);
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int n;
            try {
                n = super.read(buffer, offset, length);
            } catch (IOException e) {
                failed();
                throw e;
            }
            seen(n);
            return n;
        }

        private void seen(int n) {
            if (lease == null) {
                return;
            }
            if (n > 0) {
                lease.firstByte(); // counted once
            } else if (n < 0) {
                lease.success(); // read to its end
            }
        }

        private void failed() {
            if (lease != null) {
                lease.failure();
            }
        }

        /**
         * Ends the lease before closing the stream: a reader blocked on another thread (an SDK's
         * stream handler, say) fails or ends its read once the stream is closed, and must find
         * the lease ended as the success of a closed answer rather than end it as a failure.
         */
        @Override
        public void close() throws IOException {
            if (lease != null) {
                lease.success(); // a no-op once the lease has ended
            }
            super.close();
        }

        void cancel() throws IOException {
            if (lease != null) {
                lease.cancel(); // first, so that the close below finds the lease ended
            }
            super.close();
        }
    }
}
