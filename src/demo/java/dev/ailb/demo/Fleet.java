package dev.ailb.demo;

import static dev.ailb.demo.Demo.SEED;

import java.util.ArrayList;
import java.util.List;

/** The running simulated instances. */
final class Fleet implements AutoCloseable {
    private final List<SimulatedInstance> instances;

    private Fleet(List<SimulatedInstance> instances) {
        this.instances = List.copyOf(instances);
    }

    static Fleet start(List<InstanceSpec> specs, int workerThreads, double timeScale) {
        List<SimulatedInstance> started = new ArrayList<>();
        try {
            for (int i = 0; i < specs.size(); i++) {
                started.add(SimulatedInstance.start(specs.get(i), SEED * 31 + i, workerThreads, timeScale));
            }
        } catch (RuntimeException | Error e) {
            for (SimulatedInstance instance : started) {
                instance.close();
            }
            throw e;
        }
        return new Fleet(started);
    }

    List<SimulatedInstance> instances() {
        return instances;
    }

    SimulatedInstance instance(String id) {
        for (SimulatedInstance instance : instances) {
            if (instance.spec().id().equals(id)) {
                return instance;
            }
        }
        throw new IllegalArgumentException("no instance " + id);
    }

    @Override
    public void close() {
        for (SimulatedInstance instance : instances) {
            instance.close();
        }
    }
}
