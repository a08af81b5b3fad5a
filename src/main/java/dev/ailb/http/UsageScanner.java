package dev.ailb.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import dev.ailb.Lease;
import dev.ailb.Request;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the server's prompt-cache report in an answer's JSON as its bytes go by, and reports it on
 * the answer's lease: {@code usage.prompt_tokens} and {@code usage.prompt_tokens_details.cached_tokens}
 * of a top-level object. Fed with Jackson's non-blocking parser, so nothing of the answer is kept
 * but the parser's state: the bytes are the caller's, read once, never changed or held.
 *
 * <p>The JSON may be several top-level values one after the other (the events of a stream, fed
 * by {@link EventStreamScanner}); each object is judged when it closes, and the first one with a
 * whole report is reported, before the bytes that closed it are handed on, hence before the lease
 * can end. Then the scanner stops. An object whose {@code usage} is null or missing, or whose
 * {@code prompt_tokens_details} is (servers without prefix-cache figures), reports nothing. One
 * whose figures are malformed (not integers, negative, more cached tokens than prompt tokens)
 * reports nothing and logs one DEBUG line; so does JSON that cannot be read, which ends the
 * scanning of a whole answer (an event stream starts afresh at its next event). The caller's
 * answer is never touched.
 *
 * <p>Not thread-safe, as every {@link AnswerScanner}.
 */
final class UsageScanner extends AnswerScanner {
    private static final Logger log = LoggerFactory.getLogger(UsageScanner.class);
    private static final JsonFactory FACTORY = new JsonFactory();
    /** How deep the fields of interest lie: usage (1), its fields (2), the details' fields (3). */
    private static final int DEPTH = 3;

    private final String balancer;
    private final Lease lease;
    private JsonParser parser; // null until fed, and after a value cut short or unreadable
    private ByteArrayFeeder feeder;
    private boolean reported; // for good: the lease has its report
    private boolean unreadable; // until the next event of a stream; for good in a whole answer
    private boolean logged; // one DEBUG line per answer

    // The top-level value being read.
    private int depth; // containers open
    private final boolean[] isObject = new boolean[DEPTH + 1];
    private final String[] names = new String[DEPTH + 1]; // the field being read at each depth
    private boolean usage; // usage is an object
    private boolean details; // usage.prompt_tokens_details is an object
    private long promptTokens;
    private long cachedTokens;
    private String malformed; // why the usage cannot be reported, if it cannot

    UsageScanner(String balancer, Lease lease) {
        this.balancer = balancer;
        this.lease = lease;
        startValue();
    }

    /** Whether feeding more does nothing: the report was made, or the JSON could not be read. */
    @Override
    boolean done() {
        return reported || unreadable;
    }

    /** Whether the report was made. */
    boolean reported() {
        return reported;
    }

    /** Reads these bytes of the JSON. */
    @Override
    void scan(byte[] bytes, int offset, int length) {
        if (done() || length <= 0) {
            return;
        }
        try {
            if (parser == null) {
                parser = FACTORY.createNonBlockingByteArrayParser();
                feeder = (ByteArrayFeeder) parser.getNonBlockingInputFeeder();
            }
            feeder.feedInput(bytes, offset, offset + length);
            JsonToken token;
            while (!reported && (token = parser.nextToken()) != JsonToken.NOT_AVAILABLE && token != null) {
                read(token);
            }
        } catch (IOException | RuntimeException e) {
            String why = e instanceof JsonProcessingException json ? json.getOriginalMessage() : e.toString();
            debug("its JSON could not be read: " + why);
            parser = null;
            startValue();
            unreadable = true;
        }
    }

    /**
     * An event of a stream has ended: a value it left open is dropped, and the next event is read
     * afresh even if this one could not be read.
     */
    void endOfEvent() {
        if (!reported && (depth > 0 || unreadable)) {
            parser = null;
            unreadable = false;
            startValue();
        }
    }

    private void read(JsonToken token) throws IOException {
        switch (token) {
            case FIELD_NAME -> {
                if (depth <= DEPTH) {
                    names[depth] = parser.currentName();
                }
            }
            case START_OBJECT, START_ARRAY -> {
                value(token);
                depth++;
                if (depth <= DEPTH) {
                    isObject[depth] = token == JsonToken.START_OBJECT;
                    names[depth] = null;
                }
            }
            case END_OBJECT, END_ARRAY -> {
                depth--;
                if (depth == 0) {
                    endValue();
                }
            }
            default -> value(token);
        }
    }

    /** A value (or the start of one) in the current container: is it one of the fields of interest? */
    private void value(JsonToken token) throws IOException {
        if (depth == 0 || depth > DEPTH || !isObject[depth]) {
            return;
        }
        String name = names[depth];
        if (depth == 1 && name.equals("usage")) {
            if (token == JsonToken.START_OBJECT) {
                usage = true;
            } else if (token != JsonToken.VALUE_NULL) {
                malformed("usage", token, "an object or null");
            }
        } else if (depth == 2 && usage && names[1].equals("usage")) {
            if (name.equals("prompt_tokens")) {
                promptTokens = count("usage.prompt_tokens", token);
            } else if (name.equals("prompt_tokens_details")) {
                if (token == JsonToken.START_OBJECT) {
                    details = true;
                } else if (token != JsonToken.VALUE_NULL) {
                    malformed("usage.prompt_tokens_details", token, "an object or null");
                }
            }
        } else if (depth == 3 && details && names[1].equals("usage") && names[2].equals("prompt_tokens_details")
                && name.equals("cached_tokens") && token != JsonToken.VALUE_NULL) {
            cachedTokens = count("usage.prompt_tokens_details.cached_tokens", token);
        }
    }

    /** A token count, 0..{@link Request#MAX_TOKENS}; -1 (and a reason) if the value is not one. */
    private long count(String path, JsonToken token) throws IOException {
        if (token == JsonToken.VALUE_NUMBER_INT && parser.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
            long n = parser.getLongValue();
            if (n >= 0 && n <= Request.MAX_TOKENS) {
                return n;
            }
        }
        malformed(path, token, "an integer 0.." + Request.MAX_TOKENS);
        return -1;
    }

    private void malformed(String path, JsonToken token, String expected) throws IOException {
        if (malformed == null) {
            String shown = switch (token) {
                case START_OBJECT -> "an object";
                case START_ARRAY -> "an array";
                default -> token == JsonToken.VALUE_STRING ? '"' + parser.getText() + '"' : parser.getText();
            };
            malformed = path + ": " + (shown.length() > 40 ? shown.substring(0, 40) + "..." : shown)
                    + " (expected: " + expected + ")";
        }
    }

    /** A top-level value has closed: report its usage if it has a whole one. */
    private void endValue() {
        if (malformed != null) {
            debug("its usage is malformed: " + malformed);
        } else if (details && cachedTokens >= 0) {
            if (promptTokens < 0) {
                debug("its usage has prompt_tokens_details.cached_tokens but no prompt_tokens");
            } else if (cachedTokens > promptTokens) {
                debug("its usage has more cached tokens (" + cachedTokens + ") than prompt tokens ("
                        + promptTokens + ")");
            } else {
                lease.reportCachedTokens(promptTokens, cachedTokens);
                reported = true;
            }
        }
        startValue();
    }

    private void startValue() {
        depth = 0;
        usage = false;
        details = false;
        promptTokens = -1;
        cachedTokens = -1;
        malformed = null;
    }

    private void debug(String why) {
        if (!logged) {
            logged = true;
            log.debug("{} - Backend {}: no prompt-cache report read from the answer: {}", balancer,
                    lease.backend().id(), why);
        }
    }
}
