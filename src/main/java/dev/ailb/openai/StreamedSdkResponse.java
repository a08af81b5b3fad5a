package dev.ailb.openai;

import com.openai.core.http.Headers;
import com.openai.core.http.HttpResponse;
import dev.ailb.http.StreamedResponse;
import java.io.IOException;
import java.io.InputStream;

/**
 * An answer of the balancer as the SDK reads it: the status, the headers, and the body whose end,
 * failure or closing ends the attempt's lease ({@link StreamedResponse}). Read by one thread at a
 * time, as the SDK does; {@link #close()} may come from another (a subscriber that cancels).
 */
final class StreamedSdkResponse implements HttpResponse {
    private final StreamedResponse answer;
    private final Headers headers;

    StreamedSdkResponse(StreamedResponse answer) {
        this.answer = answer;
        this.headers = Headers.builder().putAll(answer.headers().map()).build();
    }

    @Override
    public int statusCode() {
        return answer.statusCode();
    }

    @Override
    public Headers headers() {
        return headers;
    }

    @Override
    public InputStream body() {
        return answer.body();
    }

    /** Ends the lease (a success if it was still held) and lets the connection go. */
    @Override
    public void close() {
        try {
            answer.close();
        } catch (IOException e) {
            // the lease ended before the stream was closed; nothing is left to release
        }
    }

    @Override
    public String toString() {
        return "StreamedSdkResponse{" + answer.statusCode() + (answer.isOpen() ? ", open}" : ", ended}");
    }
}
