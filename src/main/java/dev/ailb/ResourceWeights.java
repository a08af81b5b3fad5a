package dev.ailb;

import static dev.ailb.internal.Preconditions.checkNonNegativeFinite;

import java.time.Duration;

/**
 * The weights of the signals in a {@link BalancingStrategy#RESOURCE_BASED} score; see
 * {@link BalancingStrategy#resourceBased(ResourceWeights, Duration)}. Only their ratios matter.
 *
 * <p>Immutable and thread-safe. Start from {@link #DEFAULT} and change what differs:
 * {@code ResourceWeights.DEFAULT.withCpu(0).withKvCache(0.6)}.
 *
 * @param cpu     weight of the reported CPU utilisation, finite and {@code >= 0}
 * @param memory  weight of the reported memory utilisation, finite and {@code >= 0}
 * @param load    weight of the balancer's own count of requests in flight, finite and {@code >= 0}
 * @param queue   weight of the reported queue of waiting requests, finite and {@code >= 0}
 * @param kvCache weight of the reported KV-cache usage, finite and {@code >= 0}
 */
public record ResourceWeights(double cpu, double memory, double load, double queue, double kvCache) {

    /** CPU 0.4, memory 0.3, load 0.3, queue 0.3, KV cache 0.3. */
    public static final ResourceWeights DEFAULT = new ResourceWeights(0.4, 0.3, 0.3, 0.3, 0.3);

    /**
     * Checks the weights.
     *
     * @param cpu     weight of the CPU utilisation
     * @param memory  weight of the memory utilisation
     * @param load    weight of the in-flight load
     * @param queue   weight of the queue
     * @param kvCache weight of the KV-cache usage
     * @throws IllegalArgumentException naming a weight that is negative, NaN or infinite, or all of
     *                                  them if they are all 0
     */
    public ResourceWeights {
        checkNonNegativeFinite(cpu, "cpu");
        checkNonNegativeFinite(memory, "memory");
        checkNonNegativeFinite(load, "load");
        checkNonNegativeFinite(queue, "queue");
        checkNonNegativeFinite(kvCache, "kvCache");
        if (cpu + memory + load + queue + kvCache == 0.0) {
            throw new IllegalArgumentException("cpu + memory + load + queue + kvCache: 0.0 (expected: > 0)");
        }
    }

    /**
     * These weights with another CPU weight.
     *
     * @param weight finite and {@code >= 0}
     * @return the new weights
     * @throws IllegalArgumentException if {@code weight} is negative, NaN or infinite, or all
     *                                  weights would be 0
     */
    public ResourceWeights withCpu(double weight) {
        return new ResourceWeights(weight, memory, load, queue, kvCache);
    }

    /**
     * These weights with another memory weight.
     *
     * @param weight finite and {@code >= 0}
     * @return the new weights
     * @throws IllegalArgumentException if {@code weight} is negative, NaN or infinite, or all
     *                                  weights would be 0
     */
    public ResourceWeights withMemory(double weight) {
        return new ResourceWeights(cpu, weight, load, queue, kvCache);
    }

    /**
     * These weights with another load weight.
     *
     * @param weight finite and {@code >= 0}
     * @return the new weights
     * @throws IllegalArgumentException if {@code weight} is negative, NaN or infinite, or all
     *                                  weights would be 0
     */
    public ResourceWeights withLoad(double weight) {
        return new ResourceWeights(cpu, memory, weight, queue, kvCache);
    }

    /**
     * These weights with another queue weight.
     *
     * @param weight finite and {@code >= 0}
     * @return the new weights
     * @throws IllegalArgumentException if {@code weight} is negative, NaN or infinite, or all
     *                                  weights would be 0
     */
    public ResourceWeights withQueue(double weight) {
        return new ResourceWeights(cpu, memory, load, weight, kvCache);
    }

    /**
     * These weights with another KV-cache weight.
     *
     * @param weight finite and {@code >= 0}
     * @return the new weights
     * @throws IllegalArgumentException if {@code weight} is negative, NaN or infinite, or all
     *                                  weights would be 0
     */
    public ResourceWeights withKvCache(double weight) {
        return new ResourceWeights(cpu, memory, load, queue, weight);
    }
}
