package dev.ailb;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

/**
 * Hands callers a future of the balancer's own without letting them change it.
 *
 * <p>{@link CompletableFuture#copy()} protects the original too, but a copy of a cancelled
 * future completes with a {@link java.util.concurrent.CompletionException} around the
 * {@link CancellationException}: it is not cancelled itself, and its {@code get()} throws an
 * {@link java.util.concurrent.ExecutionException}. A view is cancelled when its source is.
 */
final class FutureViews {
    private FutureViews() {}

    /**
     * A new future that completes as {@code source} does: with its value, with its exception, or
     * cancelled when it is cancelled. Completing or cancelling the view leaves {@code source} and
     * its other views as they are.
     */
    static <T> CompletableFuture<T> viewOf(CompletableFuture<T> source) {
        CompletableFuture<T> view = new CompletableFuture<>();
        source.whenComplete((value, error) -> {
            if (error == null) {
                view.complete(value);
            } else if (error instanceof CancellationException) {
                view.cancel(false);
            } else {
                view.completeExceptionally(error);
            }
        });
        return view;
    }
}
