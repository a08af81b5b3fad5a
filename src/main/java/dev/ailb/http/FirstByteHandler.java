package dev.ailb.http;

import dev.ailb.Attempt;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * Wraps a body handler so that the first byte of an answer below 500 tells its attempt that the
 * first token came ({@link Attempt#firstToken()}): that is what the first-token deadline waits
 * for and what makes a hedged attempt the winner. A 5xx answer's body is no token: such an answer
 * fails its attempt, and must not win over another still running. {@link #firstByte()} completes
 * at the first byte too, or when a body below 500 ends or fails without one, so that a streamed
 * answer can wait for it before it answers.
 */
final class FirstByteHandler<T> implements HttpResponse.BodyHandler<T> {
    private final HttpResponse.BodyHandler<T> handler;
    private final Attempt attempt;
    private final CompletableFuture<Void> firstByte = new CompletableFuture<>();

    FirstByteHandler(HttpResponse.BodyHandler<T> handler, Attempt attempt) {
        this.handler = handler;
        this.attempt = attempt;
    }

    /** Completes at the first byte of a body below 500, or at its end without one. */
    CompletableFuture<Void> firstByte() {
        return firstByte;
    }

    @Override
    public HttpResponse.BodySubscriber<T> apply(HttpResponse.ResponseInfo info) {
        HttpResponse.BodySubscriber<T> subscriber = handler.apply(info);
        return info.statusCode() >= 500 ? subscriber : new Subscriber<>(subscriber, attempt, firstByte);
    }

    /** Passes everything on, and says so at the first non-empty buffer. */
    private static final class Subscriber<T> implements HttpResponse.BodySubscriber<T> {
        private final HttpResponse.BodySubscriber<T> delegate;
        private final Attempt attempt;
        private final CompletableFuture<Void> firstByte;
        private boolean seen; // the client delivers the body's buffers one call at a time

        Subscriber(HttpResponse.BodySubscriber<T> delegate, Attempt attempt, CompletableFuture<Void> firstByte) {
            this.delegate = delegate;
            this.attempt = attempt;
            this.firstByte = firstByte;
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
        public void onNext(List<ByteBuffer> item) {
            if (!seen) {
                for (ByteBuffer buffer : item) {
                    if (buffer.hasRemaining()) {
                        seen = true;
                        attempt.firstToken();
                        firstByte.complete(null);
                        break;
                    }
                }
            }
            delegate.onNext(item);
        }

        @Override
        public void onError(Throwable throwable) {
            firstByte.complete(null); // the body's own stage carries the failure
            delegate.onError(throwable);
        }

        @Override
        public void onComplete() {
            firstByte.complete(null);
            delegate.onComplete();
        }
    }
}
