package dev.ailb.internal.probe;

import java.net.http.HttpClient;
import java.time.Duration;
import java.util.concurrent.Executor;
import javax.net.ssl.SSLContext;

/**
 * What one probe of one target is lent: the session's timeout and HTTP client, and the workers
 * through an executor that counts the tasks handed to it, so that the probe's work is known to have
 * ended once its stage has ended and every one of them has returned. Work that outlives a forced
 * outcome keeps its target busy until it ends (see {@link Probes}).
 */
final class Work<K> implements ProbeContext, Executor {
    /** The work whose task the current thread is running, if any. */
    private static final ThreadLocal<Work<?>> RUNNING = new ThreadLocal<>();

    private final K target;
    private final Probes<K, ?> owner;
    private final Session<K> session;
    private int unstarted; // tasks handed to the workers and not started; guarded by this
    private int running; // tasks started and not returned; guarded by this
    private boolean stageEnded; // guarded by this
    private boolean overdue; // guarded by this

    Work(K target, Probes<K, ?> owner, Session<K> session) {
        this.target = target;
        this.owner = owner;
        this.session = session;
    }

    @Override
    public Duration timeout() {
        return session.timeout;
    }

    @Override
    public Executor executor() {
        return this;
    }

    @Override
    public HttpClient httpClient() {
        return session.httpClient();
    }

    @Override
    public HttpClient httpClient(SSLContext sslContext) {
        return session.httpClient(sslContext);
    }

    @Override
    public void execute(Runnable task) {
        synchronized (this) {
            unstarted++;
        }
        try {
            session.workers().execute(() -> run(task));
        } catch (RuntimeException e) {
            synchronized (this) {
                unstarted--;
            }
            throw e;
        }
    }

    private void run(Runnable task) {
        synchronized (this) {
            unstarted--;
            running++;
        }
        RUNNING.set(this);
        try {
            task.run();
        } finally {
            RUNNING.remove();
            boolean idle;
            synchronized (this) {
                running--;
                idle = overdue && isIdle();
            }
            if (idle) {
                owner.free(target, this);
            }
        }
    }

    void stageEnded() {
        boolean idle;
        synchronized (this) {
            stageEnded = true;
            idle = overdue && isIdle();
        }
        if (idle) {
            owner.free(target, this);
        }
    }

    /**
     * The probe's outcome was forced: cancels its stage, and if its work still runs, its target is
     * busy until that work ends. Only then: work that ended in time never touches the busy map, so
     * a round never races the last moments of a task that delivered its outcome. The tasks that
     * count are those handed over before the cancel: a cancelled HTTP exchange hands its dependants
     * to the executor, and those find the stage complete and return at once.
     */
    void forced(Runnable cancel) {
        boolean wasRunning;
        synchronized (this) {
            wasRunning = othersRunning() > 0 || unstarted > 0;
        }
        cancel.run();
        synchronized (this) {
            if ((wasRunning && (othersRunning() > 0 || unstarted > 0)) || !stageEnded) {
                overdue = true;
                // Marked under this lock, so that the end of the work, which frees under it, comes after.
                owner.busy(target, this);
            }
        }
    }

    /** Holds this lock. A task that ends the stage is on its way out: not work left running. */
    private boolean isIdle() {
        return stageEnded && othersRunning() == 0 && unstarted == 0;
    }

    /** Holds this lock. The tasks running, the calling thread's own excepted. */
    private int othersRunning() {
        return running - (RUNNING.get() == this ? 1 : 0);
    }
}
