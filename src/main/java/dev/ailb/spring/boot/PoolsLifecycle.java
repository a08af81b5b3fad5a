package dev.ailb.spring.boot;

import dev.ailb.LoadBalancer;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the pools with the application context: their health checks, load polls and model
 * discovery start when it starts and stop when it stops. (The pools close when it closes, as the
 * destroy method of {@link LoadBalancerPools}, after the beans that use them.) Its phase is below the web server's, so that the checks
 * run before the server takes requests and until it has finished the last of them.
 */
final class PoolsLifecycle implements SmartLifecycle {
    /** Below the web server's graceful shutdown ({@code DEFAULT_PHASE - 1024}) and start/stop (- 2048). */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

    private final LoadBalancerPools pools;
    private volatile boolean running;

    PoolsLifecycle(LoadBalancerPools pools) {
        this.pools = pools;
    }

    @Override
    public void start() {
        for (LoadBalancer pool : pools.asMap().values()) {
            if (!pool.isClosed()) {
                pool.startHealthChecker();
            }
        }
        running = true;
    }

    @Override
    public void stop() {
        for (LoadBalancer pool : pools.asMap().values()) {
            pool.stopHealthChecker();
        }
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
