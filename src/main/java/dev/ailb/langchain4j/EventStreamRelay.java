package dev.ailb.langchain4j;

import dev.ailb.http.StreamedResponse;
import dev.langchain4j.exception.HttpException;
import dev.langchain4j.http.client.SuccessfulHttpResponse;
import dev.langchain4j.http.client.sse.ServerSentEvent;
import dev.langchain4j.http.client.sse.ServerSentEventContext;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventParser;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands one streamed answer to LangChain4j's parser and listener, on a thread of its own, and
 * ends the answer's lease however the stream ends.
 *
 * <p>The lease follows the body the parser reads ({@link StreamedResponse}): read to its end, a
 * success; a read that fails (the server cut the stream), a failure; closed before its end, no
 * outcome, since that is how a handler's cancellation reaches the body (LangChain4j's parsing
 * handle closes the stream it parses) and a user who stopped listening says nothing about the
 * backend. Whatever the parser does, the body is closed once it returns, so the lease never
 * outlives the relay.
 *
 * <p>The listener hears, in order: {@code onOpen} and the events, then either {@code onClose}
 * (the stream ended, or was cancelled) or {@code onError} (it failed), never both: LangChain4j's
 * OpenAI models take {@code onClose} for a complete answer. An answer of 300 or more is one
 * {@code onError} with an {@link HttpException} carrying its status and body. A listener's
 * exception is logged at DEBUG and ignored, as LangChain4j's own clients ignore it.
 */
final class EventStreamRelay implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(EventStreamRelay.class);

    private final StreamedResponse answer;
    private final ServerSentEventParser parser;
    private final ServerSentEventListener listener;

    EventStreamRelay(StreamedResponse answer, ServerSentEventParser parser, ServerSentEventListener listener) {
        this.answer = answer;
        this.parser = parser;
        this.listener = listener;
    }

    @Override
    public void run() {
        int status = answer.statusCode();
        if (status < 200 || status >= 300) {
            tell(() -> listener.onError(new HttpException(status, readWhole())));
            return;
        }
        tell(() -> listener.onOpen(SuccessfulHttpResponse.builder()
                .statusCode(status)
                .headers(answer.headers().map())
                .build()));
        ErrorWatch watched = new ErrorWatch(listener);
        RuntimeException parserFailure = null;
        try (InputStream body = new AbandonableBody(answer)) {
            parser.parse(body, watched);
        } catch (IOException e) {
            log.debug("Closing a streamed answer failed", e); // its lease has ended all the same
        } catch (RuntimeException e) {
            parserFailure = e;
        }
        if (parserFailure != null) {
            RuntimeException failure = parserFailure;
            tell(() -> listener.onError(failure));
        } else if (!watched.failed) {
            tell(listener::onClose);
        }
    }

    /** Cancels the answer unread: the listener is gone, or the relay could not be started. */
    static void abandon(StreamedResponse answer) {
        try {
            answer.cancel();
        } catch (IOException e) {
            log.debug("Closing an abandoned streamed answer failed", e);
        }
    }

    private String readWhole() {
        try (InputStream body = answer.body()) {
            return new String(body.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(the body could not be read: " + e.getMessage() + ")";
        }
    }

    private static void tell(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            log.debug("A server-sent event listener threw; ignored", e);
        }
    }

    /** The body as the parser sees it: closing it before its end abandons the answer. */
    private static final class AbandonableBody extends FilterInputStream {
        private final StreamedResponse answer;

        AbandonableBody(StreamedResponse answer) {
            super(answer.body());
            this.answer = answer;
        }

        @Override
        public void close() throws IOException {
            answer.cancel(); // a no-op on the lease once the body was read to its end or failed
        }
    }

    /** The listener, noting whether the parser reported a failure to it. */
    private static final class ErrorWatch implements ServerSentEventListener {
        private final ServerSentEventListener delegate;
        private volatile boolean failed;

        ErrorWatch(ServerSentEventListener delegate) {
            this.delegate = delegate;
        }

        @Override
        public void onOpen(SuccessfulHttpResponse response) {
            delegate.onOpen(response);
        }

        @Override
        public void onEvent(ServerSentEvent event, ServerSentEventContext context) {
            delegate.onEvent(event, context);
        }

        @Override
        public void onEvent(ServerSentEvent event) {
            delegate.onEvent(event);
        }

        @Override
        public void onError(Throwable throwable) {
            failed = true;
            delegate.onError(throwable);
        }

        @Override
        public void onClose() {
            delegate.onClose();
        }
    }
}
