package dev.ailb;

import static dev.ailb.internal.Preconditions.checkId;
import static dev.ailb.internal.Preconditions.checkNotNull;
import static dev.ailb.internal.Preconditions.checkRange;
import static dev.ailb.internal.Preconditions.checkUnitInterval;
import static dev.ailb.internal.Preconditions.quote;

import java.util.List;

/**
 * What a backend says about its own load: CPU and memory utilisation, and the signals an LLM
 * inference server exposes (vLLM's {@code vllm:num_requests_waiting},
 * {@code vllm:num_requests_running} and {@code vllm:kv_cache_usage_perc}, or the equivalent of
 * another engine). Any signal may be missing: a missing utilisation is {@link Double#NaN}, a
 * missing count is {@link #UNKNOWN_COUNT}. Hand it to
 * {@link LoadBalancer#updateBackendResources(String, LoadReport)}, which time-stamps it.
 *
 * <p>A report may also say how large the instance's KV cache is, in tokens: a fact about the
 * instance rather than a signal of its load, so a report needs at least one signal besides it.
 * It bounds how much of the prompts routed to the instance can still be cached there. Likewise
 * the LoRA adapters it has loaded (running, or waiting for a slot) and how many it can hold at
 * once (vLLM's {@code vllm:lora_requests_info}): requests for an adapter prefer the instances that
 * hold it (as these reports, one after another, show), then those with a free slot.
 *
 * <p>Immutable and thread-safe. Build one with {@link #builder()}.
 *
 * @param cpu                   CPU utilisation in [0, 1], or NaN if not reported
 * @param memory                memory utilisation in [0, 1], or NaN if not reported
 * @param waitingRequests       requests queued and not yet running, {@code >= 0}, or
 *                              {@link #UNKNOWN_COUNT}
 * @param runningRequests       requests in the running batch, {@code >= 0}, or {@link #UNKNOWN_COUNT}
 * @param kvCacheUsage          share of the KV cache in use in [0, 1], or NaN if not reported
 * @param kvCacheCapacityTokens tokens the KV cache holds when full, {@code >= 1}, or
 *                              {@link #UNKNOWN_COUNT}
 * @param runningAdapters       the LoRA adapters with requests running, without repeats; empty if
 *                              none or not reported
 * @param waitingAdapters       the LoRA adapters with requests waiting for a slot, without repeats;
 *                              empty if none or not reported
 * @param maxAdapters           how many adapters the instance holds at once, {@code >= 0}, or
 *                              {@link #UNKNOWN_COUNT}
 */
public record LoadReport(double cpu, double memory, int waitingRequests, int runningRequests, double kvCacheUsage,
        long kvCacheCapacityTokens, List<String> runningAdapters, List<String> waitingAdapters, int maxAdapters) {

    /** The value of a count (of requests, or of the KV cache's tokens) that was not reported. */
    public static final int UNKNOWN_COUNT = -1;

    /**
     * Checks the values.
     *
     * @param cpu                   CPU utilisation in [0, 1], or NaN
     * @param memory                memory utilisation in [0, 1], or NaN
     * @param waitingRequests       queued requests, {@code >= 0}, or {@link #UNKNOWN_COUNT}
     * @param runningRequests       running requests, {@code >= 0}, or {@link #UNKNOWN_COUNT}
     * @param kvCacheUsage          KV-cache usage in [0, 1], or NaN
     * @param kvCacheCapacityTokens KV-cache capacity in tokens, {@code >= 1}, or {@link #UNKNOWN_COUNT}
     * @param runningAdapters       adapters with requests running; copied
     * @param waitingAdapters       adapters with requests waiting; copied
     * @param maxAdapters           adapters held at once, {@code >= 0}, or {@link #UNKNOWN_COUNT}
     * @throws NullPointerException     if a list of adapters is null or holds null
     * @throws IllegalArgumentException naming the first bad value: a utilisation outside [0, 1]
     *                                  (NaN stands for not reported), a count below -1, a capacity
     *                                  below 1 other than -1, an adapter name that is blank, too
     *                                  long or repeated in its list, or no signal at all (the
     *                                  capacity and the adapters are not ones)
     */
    public LoadReport {
        checkUtilisation(cpu, "cpu");
        checkUtilisation(memory, "memory");
        checkRange(waitingRequests, UNKNOWN_COUNT, Integer.MAX_VALUE, "waitingRequests");
        checkRange(runningRequests, UNKNOWN_COUNT, Integer.MAX_VALUE, "runningRequests");
        checkUtilisation(kvCacheUsage, "kvCacheUsage");
        if (kvCacheCapacityTokens != UNKNOWN_COUNT && kvCacheCapacityTokens < 1) {
            throw new IllegalArgumentException("kvCacheCapacityTokens: " + kvCacheCapacityTokens
                    + " (expected: >= 1, or " + UNKNOWN_COUNT + " if not reported)");
        }
        if (Double.isNaN(cpu) && Double.isNaN(memory) && waitingRequests == UNKNOWN_COUNT
                && runningRequests == UNKNOWN_COUNT && Double.isNaN(kvCacheUsage)) {
            throw new IllegalArgumentException("report: no signal (expected: at least one of cpu, memory, "
                    + "waitingRequests, runningRequests, kvCacheUsage)");
        }
        runningAdapters = checkAdapters(runningAdapters, "runningAdapters");
        waitingAdapters = checkAdapters(waitingAdapters, "waitingAdapters");
        checkRange(maxAdapters, UNKNOWN_COUNT, Integer.MAX_VALUE, "maxAdapters");
    }

    /**
     * A report without adapters.
     *
     * @param cpu                   CPU utilisation in [0, 1], or NaN
     * @param memory                memory utilisation in [0, 1], or NaN
     * @param waitingRequests       queued requests, {@code >= 0}, or {@link #UNKNOWN_COUNT}
     * @param runningRequests       running requests, {@code >= 0}, or {@link #UNKNOWN_COUNT}
     * @param kvCacheUsage          KV-cache usage in [0, 1], or NaN
     * @param kvCacheCapacityTokens KV-cache capacity in tokens, {@code >= 1}, or {@link #UNKNOWN_COUNT}
     * @throws IllegalArgumentException naming the first bad value, as the canonical constructor
     */
    public LoadReport(double cpu, double memory, int waitingRequests, int runningRequests, double kvCacheUsage,
            long kvCacheCapacityTokens) {
        this(cpu, memory, waitingRequests, runningRequests, kvCacheUsage, kvCacheCapacityTokens, List.of(), List.of(),
                UNKNOWN_COUNT);
    }

    private static List<String> checkAdapters(List<String> adapters, String name) {
        checkNotNull(adapters, name);
        List<String> copy = List.copyOf(adapters); // refuses null elements
        for (int i = 0; i < copy.size(); i++) {
            checkId(copy.get(i), name + "[" + i + "]");
            if (copy.subList(0, i).contains(copy.get(i))) {
                throw new IllegalArgumentException(
                        name + "[" + i + "]: " + quote(copy.get(i)) + " (expected: each adapter once)");
            }
        }
        return copy;
    }

    /**
     * Whether the report says how many adapters the instance holds at once.
     *
     * @return {@code true} if {@link #maxAdapters()} is not {@link #UNKNOWN_COUNT}
     */
    public boolean hasMaxAdapters() {
        return maxAdapters != UNKNOWN_COUNT;
    }

    /**
     * Whether an adapter is loaded: running, or waiting for a slot.
     *
     * @param adapter the adapter's name
     * @return {@code true} if it is among {@link #runningAdapters()} or {@link #waitingAdapters()}
     */
    public boolean hasAdapterLoaded(String adapter) {
        return runningAdapters.contains(adapter) || waitingAdapters.contains(adapter);
    }

    /**
     * Whether the instance has room for one more adapter: fewer adapters running or waiting than it
     * holds at once.
     *
     * @return {@code true} if {@link #maxAdapters()} is reported and above the adapters running
     *         plus waiting
     */
    public boolean hasFreeAdapterSlot() {
        return hasMaxAdapters() && runningAdapters.size() + waitingAdapters.size() < maxAdapters;
    }

    /**
     * A report without the KV cache's capacity.
     *
     * @param cpu             CPU utilisation in [0, 1], or NaN
     * @param memory          memory utilisation in [0, 1], or NaN
     * @param waitingRequests queued requests, {@code >= 0}, or {@link #UNKNOWN_COUNT}
     * @param runningRequests running requests, {@code >= 0}, or {@link #UNKNOWN_COUNT}
     * @param kvCacheUsage    KV-cache usage in [0, 1], or NaN
     * @throws IllegalArgumentException naming the first bad value, as the canonical constructor
     */
    public LoadReport(double cpu, double memory, int waitingRequests, int runningRequests, double kvCacheUsage) {
        this(cpu, memory, waitingRequests, runningRequests, kvCacheUsage, UNKNOWN_COUNT, List.of(), List.of(),
                UNKNOWN_COUNT);
    }

    private static void checkUtilisation(double value, String name) {
        if (!Double.isNaN(value) && !(value >= 0.0 && value <= 1.0)) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: 0.0..1.0, or NaN if not reported)");
        }
    }

    /**
     * A builder with every signal missing.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Whether the report has a CPU utilisation.
     *
     * @return {@code true} if {@link #cpu()} is not NaN
     */
    public boolean hasCpu() {
        return !Double.isNaN(cpu);
    }

    /**
     * Whether the report has a memory utilisation.
     *
     * @return {@code true} if {@link #memory()} is not NaN
     */
    public boolean hasMemory() {
        return !Double.isNaN(memory);
    }

    /**
     * Whether the report has a queue length.
     *
     * @return {@code true} if {@link #waitingRequests()} is not {@link #UNKNOWN_COUNT}
     */
    public boolean hasWaitingRequests() {
        return waitingRequests != UNKNOWN_COUNT;
    }

    /**
     * Whether the report has a running batch size.
     *
     * @return {@code true} if {@link #runningRequests()} is not {@link #UNKNOWN_COUNT}
     */
    public boolean hasRunningRequests() {
        return runningRequests != UNKNOWN_COUNT;
    }

    /**
     * Whether the report has a KV-cache usage.
     *
     * @return {@code true} if {@link #kvCacheUsage()} is not NaN
     */
    public boolean hasKvCacheUsage() {
        return !Double.isNaN(kvCacheUsage);
    }

    /**
     * Whether the report has the KV cache's capacity.
     *
     * @return {@code true} if {@link #kvCacheCapacityTokens()} is not {@link #UNKNOWN_COUNT}
     */
    public boolean hasKvCacheCapacity() {
        return kvCacheCapacityTokens != UNKNOWN_COUNT;
    }

    /**
     * Builds a {@link LoadReport}; a signal not set is not reported. Each setter checks its value
     * at once, naming it. Not thread-safe.
     */
    public static final class Builder {
        private double cpu = Double.NaN;
        private double memory = Double.NaN;
        private int waitingRequests = UNKNOWN_COUNT;
        private int runningRequests = UNKNOWN_COUNT;
        private double kvCacheUsage = Double.NaN;
        private long kvCacheCapacityTokens = UNKNOWN_COUNT;
        private List<String> runningAdapters = List.of();
        private List<String> waitingAdapters = List.of();
        private int maxAdapters = UNKNOWN_COUNT;

        private Builder() {}

        /**
         * Sets the LoRA adapters with requests running, as vLLM's {@code running_lora_adapters} lists
         * them. Not a signal of load: a report still needs one of the others.
         *
         * @param adapters the adapters' names, each once
         * @return this builder
         * @throws NullPointerException     if {@code adapters} is null or holds null
         * @throws IllegalArgumentException if a name is blank, too long or repeated
         */
        public Builder runningAdapters(List<String> adapters) {
            this.runningAdapters = checkAdapters(adapters, "runningAdapters");
            return this;
        }

        /**
         * Sets the LoRA adapters with requests waiting for a slot, as vLLM's
         * {@code waiting_lora_adapters} lists them. Not a signal of load.
         *
         * @param adapters the adapters' names, each once
         * @return this builder
         * @throws NullPointerException     if {@code adapters} is null or holds null
         * @throws IllegalArgumentException if a name is blank, too long or repeated
         */
        public Builder waitingAdapters(List<String> adapters) {
            this.waitingAdapters = checkAdapters(adapters, "waitingAdapters");
            return this;
        }

        /**
         * Sets how many adapters the instance holds at once (vLLM's {@code max_lora}). Not a
         * signal of load.
         *
         * @param maxAdapters {@code >= 0}
         * @return this builder
         * @throws IllegalArgumentException if {@code maxAdapters} is negative
         */
        public Builder maxAdapters(int maxAdapters) {
            this.maxAdapters = checkRange(maxAdapters, 0, Integer.MAX_VALUE, "maxAdapters");
            return this;
        }

        /**
         * Sets the CPU utilisation.
         *
         * @param cpu 0.0..1.0
         * @return this builder
         * @throws IllegalArgumentException if {@code cpu} is NaN or out of range
         */
        public Builder cpu(double cpu) {
            this.cpu = checkUnitInterval(cpu, "cpu");
            return this;
        }

        /**
         * Sets the memory utilisation.
         *
         * @param memory 0.0..1.0
         * @return this builder
         * @throws IllegalArgumentException if {@code memory} is NaN or out of range
         */
        public Builder memory(double memory) {
            this.memory = checkUnitInterval(memory, "memory");
            return this;
        }

        /**
         * Sets the number of requests queued and not yet running.
         *
         * @param waitingRequests {@code >= 0}
         * @return this builder
         * @throws IllegalArgumentException if {@code waitingRequests} is negative
         */
        public Builder waitingRequests(int waitingRequests) {
            this.waitingRequests = checkRange(waitingRequests, 0, Integer.MAX_VALUE, "waitingRequests");
            return this;
        }

        /**
         * Sets the number of requests in the running batch.
         *
         * @param runningRequests {@code >= 0}
         * @return this builder
         * @throws IllegalArgumentException if {@code runningRequests} is negative
         */
        public Builder runningRequests(int runningRequests) {
            this.runningRequests = checkRange(runningRequests, 0, Integer.MAX_VALUE, "runningRequests");
            return this;
        }

        /**
         * Sets the share of the KV cache in use.
         *
         * @param kvCacheUsage 0.0..1.0
         * @return this builder
         * @throws IllegalArgumentException if {@code kvCacheUsage} is NaN or out of range
         */
        public Builder kvCacheUsage(double kvCacheUsage) {
            this.kvCacheUsage = checkUnitInterval(kvCacheUsage, "kvCacheUsage");
            return this;
        }

        /**
         * Sets the number of tokens the KV cache holds when full. Not a signal of load: a report
         * still needs one of the others.
         *
         * @param kvCacheCapacityTokens {@code >= 1}
         * @return this builder
         * @throws IllegalArgumentException if {@code kvCacheCapacityTokens} is below 1
         */
        public Builder kvCacheCapacityTokens(long kvCacheCapacityTokens) {
            if (kvCacheCapacityTokens < 1) {
                throw new IllegalArgumentException(
                        "kvCacheCapacityTokens: " + kvCacheCapacityTokens + " (expected: >= 1)");
            }
            this.kvCacheCapacityTokens = kvCacheCapacityTokens;
            return this;
        }

        /**
         * The report.
         *
         * @return a new report with the signals set so far
         * @throws IllegalArgumentException if no signal was set (the capacity is not one)
         */
        public LoadReport build() {
            return new LoadReport(cpu, memory, waitingRequests, runningRequests, kvCacheUsage, kvCacheCapacityTokens,
                    runningAdapters, waitingAdapters, maxAdapters);
        }
    }
}
