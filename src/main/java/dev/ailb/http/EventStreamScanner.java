package dev.ailb.http;

/**
 * Reads a stream of server-sent events ({@code text/event-stream}) as it goes by and hands the
 * data of each event that holds a JSON object to a {@link UsageScanner}: the chunks of an
 * OpenAI-style stream, whose last one carries the {@code usage} when the request asked for
 * {@code stream_options.include_usage}. Lines end with CR, LF or CRLF; a blank line ends an
 * event; a field other than {@code data}, a comment and an event whose data does not start with
 * an opening brace (such as {@code [DONE]}) are passed over; the data lines of one event are joined with
 * a line break, as the event-stream format says. Nothing is buffered: a data line's bytes go to
 * the JSON scanner as they arrive, so a stream of any length costs the parser's state and no more.
 * Once the report is made, the bytes that follow pass unread.
 *
 * <p>Not thread-safe, as every {@link AnswerScanner}.
 */
final class EventStreamScanner extends AnswerScanner {
    private static final byte[] DATA = {'d', 'a', 't', 'a', ':'};
    private static final byte[] LINE_BREAK = {'\n'};

    private final UsageScanner json;

    // The line being read.
    private int matched; // bytes of "data:" seen at its start; -1 once it cannot be a data line
    private boolean inData; // past "data:"
    private boolean spaceToSkip; // the one space that may follow "data:" not passed yet
    private boolean blank = true; // nothing on it yet
    private boolean afterCr; // the last byte ended a line with CR: an LF next ends nothing

    // The event being read.
    private boolean decided; // whether its data is JSON is known: its first non-blank byte came
    private boolean isJson;
    private boolean joinNext; // a data line of it was fed: the next one is joined by a line break

    EventStreamScanner(UsageScanner json) {
        this.json = json;
    }

    @Override
    boolean done() {
        return json.reported();
    }

    @Override
    void scan(byte[] bytes, int offset, int length) {
        int end = offset + length;
        int i = offset;
        while (i < end && !done()) {
            byte b = bytes[i];
            if (b == '\n' || b == '\r') {
                if (!(b == '\n' && afterCr)) {
                    endOfLine();
                }
                afterCr = b == '\r';
                i++;
                continue;
            }
            afterCr = false;
            blank = false;
            if (inData) {
                int stop = i;
                while (stop < end && bytes[stop] != '\n' && bytes[stop] != '\r') {
                    stop++;
                }
                data(bytes, i, stop - i);
                i = stop;
                continue;
            }
            if (matched >= 0) {
                if (b == DATA[matched]) {
                    matched++;
                    if (matched == DATA.length) {
                        inData = true;
                        spaceToSkip = true;
                    }
                } else {
                    matched = -1; // another field or a comment: passed over to its end
                }
            }
            i++;
        }
    }

    /** Bytes of a data line's value. */
    private void data(byte[] bytes, int offset, int length) {
        int from = offset;
        int end = offset + length;
        if (spaceToSkip) {
            spaceToSkip = false;
            if (bytes[from] == ' ') {
                from++;
            }
        }
        if (!decided) {
            while (from < end && isBlank(bytes[from])) {
                from++;
            }
            if (from == end) {
                return;
            }
            decided = true;
            isJson = bytes[from] == '{';
        }
        if (!isJson || from == end) {
            return;
        }
        if (joinNext) {
            joinNext = false;
            json.scan(LINE_BREAK, 0, 1);
        }
        json.scan(bytes, from, end - from);
    }

    private void endOfLine() {
        if (blank) {
            json.endOfEvent();
            decided = false;
            isJson = false;
            joinNext = false;
        } else if (inData && isJson) {
            joinNext = true;
        }
        matched = 0;
        inData = false;
        spaceToSkip = false;
        blank = true;
    }

    private static boolean isBlank(byte b) {
        return b == ' ' || b == '\t';
    }
}
