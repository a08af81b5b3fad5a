package dev.ailb.http;

import dev.ailb.Lease;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpHeaders;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts an {@link AnswerScanner} on the way of an answer's bytes, so that the server's prompt-cache
 * report reaches the attempt's lease while the caller reads the answer as it came: a body
 * subscriber that shows each buffer to the scanner before its caller's subscriber gets it, for a
 * whole answer, or an input stream that shows each byte read to the scanner before it returns,
 * for a streamed one. Either way the scanner sees the report before the caller can have read the
 * answer's end, and so before the lease ends. Only a 2xx answer of JSON or server-sent events is
 * scanned. A scanner that fails is dropped with one DEBUG line; the caller's answer goes on.
 */
final class UsageTap {
    private static final Logger log = LoggerFactory.getLogger(UsageTap.class);

    private UsageTap() {}

    /** The scanner for an answer, if it may carry a report: a 2xx answer of JSON or of events. */
    static Optional<AnswerScanner> scannerFor(int status, HttpHeaders headers, String balancer, Lease lease) {
        if (status < 200 || status > 299) {
            return Optional.empty();
        }
        String type = headers.firstValue("Content-Type").orElse("").toLowerCase(Locale.ROOT);
        if (type.startsWith("text/event-stream")) {
            return Optional.of(new EventStreamScanner(new UsageScanner(balancer, lease)));
        }
        if (type.contains("json")) {
            return Optional.of(new UsageScanner(balancer, lease));
        }
        return Optional.empty();
    }

    /** {@code handler}, with the body of a scanned answer shown to its scanner on the way. */
    static <T> HttpResponse.BodyHandler<T> handler(HttpResponse.BodyHandler<T> handler, String balancer, Lease lease) {
        return info -> {
            HttpResponse.BodySubscriber<T> subscriber = handler.apply(info);
            Optional<AnswerScanner> scanner = scannerFor(info.statusCode(), info.headers(), balancer, lease);
            return scanner.isEmpty() || subscriber == null ? subscriber
                    : new ScanningSubscriber<>(subscriber, scanner.get(), balancer, lease);
        };
    }

    /** The body of a streamed answer, shown to its scanner as it is read if it is scanned. */
    static InputStream body(HttpResponse<InputStream> response, String balancer, Lease lease) {
        return scannerFor(response.statusCode(), response.headers(), balancer, lease)
                .<InputStream>map(scanner -> new ScanningStream(response.body(), scanner, balancer, lease))
                .orElse(response.body());
    }

    private static void dropped(RuntimeException e, String balancer, Lease lease) {
        log.debug("{} - Backend {}: no prompt-cache report read from the answer: its scanner failed",
                balancer, lease.backend().id(), e);
    }

    /** Shows each buffer to the scanner, then hands it on unchanged. */
    private static final class ScanningSubscriber<T> implements HttpResponse.BodySubscriber<T> {
        private final HttpResponse.BodySubscriber<T> delegate;
        private final String balancer;
        private final Lease lease;
        private AnswerScanner scanner; // null once done or dropped; onNext calls never overlap

        ScanningSubscriber(HttpResponse.BodySubscriber<T> delegate, AnswerScanner scanner, String balancer,
                Lease lease) {
            this.delegate = delegate;
            this.scanner = scanner;
            this.balancer = balancer;
            this.lease = lease;
        }

        @Override
        public CompletionStage<T> getBody() {
            return delegate.getBody();
        }

        @Override
        public void onSubscribe(Flow.Subscription subscription) {
            delegate.onSubscribe(subscription);
        }

        @Override
        public void onNext(List<ByteBuffer> buffers) {
            if (scanner != null) {
                try {
                    for (int i = 0; i < buffers.size() && !scanner.done(); i++) {
                        scanner.scan(buffers.get(i));
                    }
                    if (scanner.done()) {
                        scanner = null;
                    }
                } catch (RuntimeException e) {
                    scanner = null;
                    dropped(e, balancer, lease);
                }
            }
            delegate.onNext(buffers);
        }

        @Override
        public void onError(Throwable throwable) {
            delegate.onError(throwable);
        }

        @Override
        public void onComplete() {
            delegate.onComplete();
        }
    }

    /** Shows each byte read to the scanner before it returns. */
    private static final class ScanningStream extends FilterInputStream {
        private final String balancer;
        private final Lease lease;
        private final byte[] one = new byte[1];
        private AnswerScanner scanner; // null once done or dropped

        ScanningStream(InputStream in, AnswerScanner scanner, String balancer, Lease lease) {
            super(in);
            this.scanner = scanner;
            this.balancer = balancer;
            this.lease = lease;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0 && scanner != null) {
                one[0] = (byte) b;
                scan(one, 0, 1);
            }
            return b;
        }

        @Override
        public int read(byte[] bytes, int offset, int length) throws IOException {
            int n = super.read(bytes, offset, length);
            if (n > 0 && scanner != null) {
                scan(bytes, offset, n);
            }
            return n;
        }

        /** Skipped bytes are read, so that the scanner sees them too. */
        @Override
        public long skip(long n) throws IOException {
            if (scanner == null || n <= 0) {
                return super.skip(n);
            }
            byte[] skipped = new byte[(int) Math.min(n, 8192)];
            long left = n;
            while (left > 0) {
                int read = read(skipped, 0, (int) Math.min(left, skipped.length));
                if (read < 0) {
                    break;
                }
                left -= read;
            }
            return n - left;
        }

        @Override
        public boolean markSupported() {
            return false; // a reset would show the scanner the same bytes twice
        }

        @Override
        public synchronized void mark(int limit) {
            // not supported
        }

        @Override
        public synchronized void reset() throws IOException {
            throw new IOException("mark/reset not supported");
        }

        private void scan(byte[] bytes, int offset, int length) {
            try {
                scanner.scan(bytes, offset, length);
                if (scanner.done()) {
                    scanner = null;
                }
            } catch (RuntimeException e) {
                scanner = null;
                dropped(e, balancer, lease);
            }
        }
    }
}
