package dev.ailb.internal;

/**
 * A divisor fixed once, whose remainders are taken with multiplications instead of a division: a
 * rotation's cursor is a 64-bit count, and a 64-bit division costs some 15 to 45 cycles on the
 * processors this library runs on, more than the rest of a round-robin pick. A picker built for
 * one set of backends makes its divisor when it is built and pays a multiply-high, a multiply and
 * a few shifts per pick.
 *
 * <p>The method is Granlund and Montgomery's division by invariant integers (1994, theorem 4.2):
 * for dividends of {@code N = 63} bits and a divisor {@code d} with {@code l = ceil(log2 d)}, the
 * multiplier {@code m = ceil(2^(N + l) / d)} fits in 64 unsigned bits, and
 * {@code floor(a / d) = floor(m * a / 2^(N + l))} for every {@code 0 <= a < 2^63}, because
 * {@code m * d} exceeds {@code 2^(N + l)} by less than {@code d <= 2^l}. The product's high word
 * comes from {@link Math#multiplyHigh}, corrected for {@code m} read as unsigned.
 *
 * <p>Immutable and thread-safe.
 */
public final class Divisor {
    private final int divisor;
    /** {@code ceil(2^(63 + l) / divisor)}, as an unsigned 64-bit number; unused when the divisor is 1. */
    private final long multiplier;
    /** {@code l - 1}: the high word of the product is shifted by this much more. */
    private final int shift;

    /**
     * A divisor.
     *
     * @param divisor the divisor, {@code >= 1}
     * @throws IllegalArgumentException if {@code divisor} is below 1
     */
    public Divisor(int divisor) {
        if (divisor < 1) {
            throw new IllegalArgumentException("divisor: " + divisor + " (expected: >= 1)");
        }
        this.divisor = divisor;
        int l = 32 - Integer.numberOfLeadingZeros(divisor - 1); // ceil(log2 divisor); 0 for 1
        if (l == 0) {
            this.multiplier = 0;
            this.shift = 0;
            return;
        }
        // 2^(63 + l) / d, with 2^(63 + l) = 2^(l - 1) * 2^64 and 2^(l - 1) < d: the quotient has no
        // part above 2^64, and its 64 bits come from two long divisions of 32 bits each, whose
        // partial dividends (a remainder below d < 2^31, shifted by 32) fit in a long.
        long remainder = 1L << (l - 1);
        long upper = (remainder << 32) / divisor;
        remainder = (remainder << 32) % divisor;
        long lower = (remainder << 32) / divisor;
        remainder = (remainder << 32) % divisor;
        long quotient = (upper << 32) | lower;
        this.multiplier = remainder == 0 ? quotient : quotient + 1;
        this.shift = l - 1;
    }

    /**
     * The divisor.
     *
     * @return the divisor given, {@code >= 1}
     */
    public int divisor() {
        return divisor;
    }

    /**
     * {@code dividend % divisor()}, for a dividend that is not negative.
     *
     * @param dividend {@code >= 0}; a negative one gives a meaningless result (not checked: this is
     *                 a pick's arithmetic; mask a cursor with {@link Long#MAX_VALUE} first)
     * @return the remainder, in {@code [0, divisor())}
     */
    public int remainder(long dividend) {
        if (divisor == 1) {
            return 0;
        }
        long high = Math.multiplyHigh(multiplier, dividend) + ((multiplier >> 63) & dividend);
        long quotient = high >>> shift;
        return (int) (dividend - quotient * divisor);
    }

    @Override
    public String toString() {
        return "Divisor{" + divisor + '}';
    }
}
