package dev.ailb.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Reads an OpenAI-style model list, the answer to {@code GET /v1/models}:
 * {@code {"object":"list","data":[{"id":"llama","object":"model","parent":null,...},...]}}. vLLM
 * lists each LoRA adapter it serves with its base model as {@code parent}.
 *
 * <p>A small strict reader of JSON (RFC 8259) rather than a dependency: it keeps the {@code id}
 * and {@code parent} of each entry of {@code data} and skips every other member, whatever its
 * value. A page is rejected, with the reason and where, when it is not one JSON object, nests
 * deeper than {@value #MAX_DEPTH}, has no {@code data} array, an entry that is not an object or
 * lacks a string {@code id}, a {@code parent} that is neither a string nor null, or more than
 * {@value #MAX_ENTRIES} entries.
 *
 * <p>Stateless and thread-safe.
 */
public final class ModelList {
    /** The most entries a list may have. */
    public static final int MAX_ENTRIES = 10_000;
    /** The deepest nesting of arrays and objects read. */
    public static final int MAX_DEPTH = 32;

    /**
     * One model of the list.
     *
     * @param id     its name, as requests name it
     * @param parent the base model of a LoRA adapter; null for a base model
     */
    public record Entry(String id, String parent) {}

    private final String text;
    private int at;

    private ModelList(String text) {
        this.text = text;
    }

    /**
     * The entries of a model list, in the order of the page.
     *
     * @throws IllegalArgumentException if the page is not a model list, saying why and at which
     *                                  character
     */
    public static List<Entry> parse(String page) {
        ModelList reader = new ModelList(page);
        List<Entry> entries = reader.list();
        reader.space();
        if (reader.at != page.length()) {
            throw reader.bad("the end of the page");
        }
        return entries;
    }

    private List<Entry> list() {
        space();
        expect('{', "a JSON object");
        List<Entry> entries = null;
        if (!peekIs('}')) {
            do {
                space();
                String key = string();
                space();
                expect(':', "':'");
                space();
                if (key.equals("data")) {
                    if (entries != null) {
                        throw bad("\"data\" once");
                    }
                    entries = data();
                } else {
                    skipValue(1);
                }
                space();
            } while (tryConsume(','));
        }
        expect('}', "',' or '}'");
        if (entries == null) {
            throw new IllegalArgumentException("model list: no \"data\" array");
        }
        return entries;
    }

    private List<Entry> data() {
        expect('[', "the \"data\" array");
        List<Entry> entries = new ArrayList<>();
        space();
        if (!peekIs(']')) {
            do {
                space();
                if (entries.size() == MAX_ENTRIES) {
                    throw bad("at most " + MAX_ENTRIES + " models");
                }
                entries.add(entry());
                space();
            } while (tryConsume(','));
        }
        expect(']', "',' or ']'");
        return entries;
    }

    private Entry entry() {
        int start = at;
        expect('{', "a model object");
        String id = null;
        String parent = null;
        space();
        if (!peekIs('}')) {
            do {
                space();
                String key = string();
                space();
                expect(':', "':'");
                space();
                if (key.equals("id")) {
                    if (!peekIs('"')) {
                        throw bad("\"id\" as a string");
                    }
                    id = string();
                } else if (key.equals("parent")) {
                    if (tryLiteral("null")) {
                        parent = null;
                    } else if (peekIs('"')) {
                        parent = string();
                    } else {
                        throw bad("\"parent\" as a string or null");
                    }
                } else {
                    skipValue(2);
                }
                space();
            } while (tryConsume(','));
        }
        expect('}', "',' or '}'");
        if (id == null) {
            at = start;
            throw bad("an \"id\" in each model");
        }
        return new Entry(id, parent);
    }

    private void skipValue(int depth) {
        if (depth > MAX_DEPTH) {
            throw bad("at most " + MAX_DEPTH + " levels of nesting");
        }
        if (at >= text.length()) {
            throw bad("a value");
        }
        char c = text.charAt(at);
        if (c == '"') {
            string();
        } else if (c == '{') {
            at++;
            space();
            if (!peekIs('}')) {
                do {
                    space();
                    string();
                    space();
                    expect(':', "':'");
                    space();
                    skipValue(depth + 1);
                    space();
                } while (tryConsume(','));
            }
            expect('}', "',' or '}'");
        } else if (c == '[') {
            at++;
            space();
            if (!peekIs(']')) {
                do {
                    space();
                    skipValue(depth + 1);
                    space();
                } while (tryConsume(','));
            }
            expect(']', "',' or ']'");
        } else if (!(tryLiteral("true") || tryLiteral("false") || tryLiteral("null"))) {
            number();
        }
    }

    private void number() {
        int start = at;
        tryConsume('-');
        if (tryConsume('0')) {
            // no leading zeros
        } else if (!digits()) {
            at = start;
            throw bad("a value");
        }
        if (tryConsume('.') && !digits()) {
            throw bad("a digit");
        }
        if (at < text.length() && (text.charAt(at) == 'e' || text.charAt(at) == 'E')) {
            at++;
            if (!tryConsume('+')) {
                tryConsume('-');
            }
            if (!digits()) {
                throw bad("a digit");
            }
        }
    }

    private boolean digits() {
        int start = at;
        while (at < text.length() && text.charAt(at) >= '0' && text.charAt(at) <= '9') {
            at++;
        }
        return at > start;
    }

    private String string() {
        expect('"', "a string");
        StringBuilder out = new StringBuilder();
        while (true) {
            if (at >= text.length()) {
                throw bad("the end of a string");
            }
            char c = text.charAt(at++);
            if (c == '"') {
                return out.toString();
            }
            if (c < 0x20) {
                at--;
                throw bad("no control character in a string");
            }
            if (c != '\\') {
                out.append(c);
                continue;
            }
            if (at >= text.length()) {
                throw bad("an escape");
            }
            char e = text.charAt(at++);
            switch (e) {
                case '"', '\\', '/' -> out.append(e);
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'u' -> out.append(hex4());
                default -> {
                    at--;
                    throw bad("an escape");
                }
            }
        }
    }

    private char hex4() {
        if (at + 4 > text.length()) {
            throw bad("four hex digits");
        }
        int value = 0;
        for (int i = 0; i < 4; i++) {
            int d = Character.digit(text.charAt(at), 16);
            if (d < 0) {
                throw bad("four hex digits");
            }
            value = value * 16 + d;
            at++;
        }
        return (char) value;
    }

    private void space() {
        while (at < text.length()) {
            char c = text.charAt(at);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            at++;
        }
    }

    private boolean peekIs(char c) {
        return at < text.length() && text.charAt(at) == c;
    }

    private boolean tryConsume(char c) {
        if (peekIs(c)) {
            at++;
            return true;
        }
        return false;
    }

    private boolean tryLiteral(String literal) {
        if (text.startsWith(literal, at)) {
            at += literal.length();
            return true;
        }
        return false;
    }

    private void expect(char c, String what) {
        if (!tryConsume(c)) {
            throw bad(what);
        }
    }

    private IllegalArgumentException bad(String expected) {
        String found = at >= text.length() ? "the end of the page" : "'" + printable(text.charAt(at)) + "'";
        return new IllegalArgumentException("model list: " + found + " at character " + at + " (expected: "
                + expected + ")");
    }

    private static String printable(char c) {
        return c < 0x20 || c > 0x7e ? String.format("\\u%04x", (int) c) : String.valueOf(c);
    }
}
