package dev.ailb.testing;

import dev.ailb.Ticker;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A ticker that moves only when a test advances it. Thread-safe. */
public final class ManualTicker implements Ticker {
    private final AtomicLong nanos = new AtomicLong();

    @Override
    public long read() {
        return nanos.get();
    }

    public ManualTicker advance(Duration by) {
        nanos.addAndGet(by.toNanos());
        return this;
    }
}
