package dev.ailb.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class IdleDaemonThreadsTest {
    @Test
    void tasksRunAtOnceOnNamedDaemonThreadsThatEndWhenIdle() throws Exception {
        ExecutorService threads = IdleDaemonThreads.named("ailb-test-");
        try {
            CompletableFuture<Thread> ran = CompletableFuture.supplyAsync(Thread::currentThread, threads);

            Thread thread = ran.get(30, TimeUnit.SECONDS);
            assertThat(thread.getName()).isEqualTo("ailb-test-1");
            assertThat(thread.isDaemon()).isTrue();
            ThreadPoolExecutor pool = (ThreadPoolExecutor) threads;
            assertThat(pool.getCorePoolSize()).as("no thread kept when idle").isZero();
            assertThat(pool.getKeepAliveTime(TimeUnit.SECONDS)).isEqualTo(60);
        } finally {
            threads.shutdown();
            assertThat(threads.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void aNullPrefixIsRefused() {
        assertThatThrownBy(() -> IdleDaemonThreads.named(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("prefix: null (expected: non-null)");
    }
}
