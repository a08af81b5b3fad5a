package dev.ailb.demo.spring;

import dev.ailb.AttemptTracer;
import dev.ailb.LoadBalancer;
import dev.ailb.RoutingDecision;
import java.util.List;
import org.springframework.ai.openai.OpenAiChatModel;

/**
 * The sample application's service: it asks Spring AI's chat model of the pool {@code chat}, and
 * tells with each answer where the pool sent it and why. It takes the model and the pool by the
 * pool's name, as any bean of an application would.
 */
final class Assistant {

    /**
     * One answer and the attempt that served it.
     *
     * @param question what was asked
     * @param text     the answer, whole or joined from its streamed events
     * @param streamed whether it was streamed
     * @param decision where the pool sent it and why
     * @param outcome  how its lease was released
     */
    record Answer(String question, String text, boolean streamed, RoutingDecision decision,
            AttemptTracer.Outcome outcome) {

        String backend() {
            return decision.backend();
        }
    }

    private final OpenAiChatModel chat;
    private final LoadBalancer pool;
    private final AttemptLog attempts;

    Assistant(OpenAiChatModel chat, LoadBalancer pool, AttemptLog attempts) {
        this.chat = chat;
        this.pool = pool;
        this.attempts = attempts;
    }

    /** Asks for a whole answer. */
    Answer ask(String question) throws InterruptedException {
        String text = chat.call(question);
        AttemptLog.Attempt attempt = attempts.next();
        return new Answer(question, text, false, attempt.decision(), attempt.outcome());
    }

    /** Asks for a streamed answer and joins its events. */
    Answer askStreamed(String question) throws InterruptedException {
        List<String> events = chat.stream(question).collectList().block(AttemptLog.WAIT);
        String text = events == null ? "" : String.join("", events);
        AttemptLog.Attempt attempt = attempts.next(); // its lease ends after the last event
        return new Answer(question, text, true, attempt.decision(), attempt.outcome());
    }

    /** The pool the model sends through. */
    LoadBalancer pool() {
        return pool;
    }
}
