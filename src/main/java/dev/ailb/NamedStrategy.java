package dev.ailb;

/** A strategy under a name given by its user; see {@link BalancingStrategy#named}. Immutable. */
final class NamedStrategy implements BalancingStrategy {
    private final String name;
    private final BalancingStrategy delegate;

    NamedStrategy(String name, BalancingStrategy delegate) {
        this.name = name;
        this.delegate = delegate;
    }

    @Override
    public Selector newSelector(SelectionContext context) {
        return delegate.newSelector(context);
    }

    /** The strategy this one names. */
    BalancingStrategy delegate() {
        return delegate;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return name;
    }
}
