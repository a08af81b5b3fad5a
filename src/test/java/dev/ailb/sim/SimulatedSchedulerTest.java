package dev.ailb.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The simulation's scheduler: tasks run as events, at their time on the simulated clock. */
class SimulatedSchedulerTest {
    private final EventQueue events = new EventQueue();
    private final SimulatedScheduler scheduler = new SimulatedScheduler(events);
    private final List<String> ran = new ArrayList<>();

    private void at(double seconds, String name) {
        events.schedule(seconds, new EventQueue.Event() {
            @Override
            void fire() {
                ran.add(name + "@" + events.now());
            }
        });
    }

    @Test
    void aDelayedTaskRunsAtItsTimeAmongTheOtherEvents() {
        at(1.0, "arrival");
        at(3.0, "completion");
        scheduler.schedule(() -> ran.add("deadline@" + events.now()), 2, TimeUnit.SECONDS);

        events.run(() -> false);

        assertThat(ran).containsExactly("arrival@1.0", "deadline@2.0", "completion@3.0");
    }

    @Test
    void aCancelledTaskDoesNothingWhenItsTimeComes() {
        ScheduledFuture<?> f = scheduler.schedule(() -> ran.add("hedge"), 500, TimeUnit.MILLISECONDS);
        at(0.1, "answer");

        assertThat(f.cancel(false)).isTrue();
        events.run(() -> false);

        assertThat(ran).containsExactly("answer@0.1");
        assertThat(f.isCancelled()).isTrue();
    }

    @Test
    void aPeriodicTaskRunsAgainUntilCancelled() {
        List<Double> times = new ArrayList<>();
        ScheduledFuture<?>[] f = new ScheduledFuture<?>[1];
        f[0] = scheduler.scheduleAtFixedRate(() -> {
            times.add(events.now());
            if (times.size() == 3) {
                f[0].cancel(false);
            }
        }, 1, 2, TimeUnit.SECONDS);

        events.run(() -> false);

        assertThat(times).containsExactly(1.0, 3.0, 5.0);
        assertThat(f[0].isCancelled()).isTrue();
    }

    @Test
    void aShutDownSchedulerRefusesTasks() {
        scheduler.shutdown();

        assertThat(scheduler.isShutdown()).isTrue();
        assertThatThrownBy(() -> scheduler.execute(() -> ran.add("late")))
                .isInstanceOf(RejectedExecutionException.class);
    }
}
