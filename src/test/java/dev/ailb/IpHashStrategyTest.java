package dev.ailb;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class IpHashStrategyTest {

    private static final int IP_COUNT = 20_000;
    private static final List<String> IPS = syntheticIps(IP_COUNT, 31L);

    @Test
    void sameIpGoesToTheSameBackendOnEveryPick() {
        // given
        LoadBalancer lb = balancerWith(10);
        Map<String, String> first = route(lb, IPS.subList(0, 2000));

        // when
        List<Map<String, String>> repeats = new ArrayList<>();
        for (int round = 0; round < 5; round++) {
            repeats.add(route(lb, IPS.subList(0, 2000)));
        }

        // then
        assertThat(repeats).allSatisfy(routes -> assertThat(routes).isEqualTo(first));
    }

    @Test
    void twoBalancersWithTheSameBackendsAddedInDifferentOrderRouteEveryIpAlike() {
        // given
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(17));
        LoadBalancer inOrder = balancerWith(10);
        LoadBalancer shuffled = new LoadBalancer(BalancingStrategy.IP_HASH);
        for (int i : order) {
            shuffled.addBackend("b" + i, "10.0.0." + (i + 1), 8000);
        }
        assertThat(order).isNotEqualTo(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));

        // when
        Map<String, String> fromFirst = route(inOrder, IPS);
        Map<String, String> fromSecond = route(shuffled, IPS);

        // then
        assertThat(fromSecond).isEqualTo(fromFirst);
    }

    @Test
    void removingOneOfTenBackendsMovesOnlyTheIpsThatWereOnIt() {
        // given
        LoadBalancer lb = balancerWith(10);
        Map<String, String> before = route(lb, IPS);

        // when
        lb.removeBackend("b3");
        Map<String, String> after = route(lb, IPS);

        // then
        int moved = 0;
        for (String ip : IPS) {
            if (before.get(ip).equals("b3")) {
                assertThat(after.get(ip)).as("ip %s", ip).isNotEqualTo("b3");
                moved++;
            } else {
                assertThat(after.get(ip)).as("ip %s", ip).isEqualTo(before.get(ip));
            }
        }
        assertThat(moved).isPositive();
    }

    @Test
    void ipsOfARemovedBackendAreSpreadOverSeveralOthers() {
        // given
        LoadBalancer lb = balancerWith(10);
        Map<String, String> before = route(lb, IPS);

        // when
        lb.removeBackend("b3");
        Map<String, String> after = route(lb, IPS);

        // then
        Set<String> newHomes = new LinkedHashSet<>();
        for (String ip : IPS) {
            if (before.get(ip).equals("b3")) {
                newHomes.add(after.get(ip));
            }
        }
        assertThat(newHomes.size()).isGreaterThanOrEqualTo(5);
    }

    @Test
    void addingAnEleventhBackendMovesAboutOneEleventhOfIpsAllToTheNewBackend() {
        // given
        LoadBalancer lb = balancerWith(10);
        Map<String, String> before = route(lb, IPS);

        // when
        lb.addBackend("b10", "10.0.0.11", 8000);
        Map<String, String> after = route(lb, IPS);

        // then
        int moved = 0;
        for (String ip : IPS) {
            if (!after.get(ip).equals(before.get(ip))) {
                assertThat(after.get(ip)).as("new backend of moved ip %s", ip).isEqualTo("b10");
                moved++;
            }
        }
        double share = (double) moved / IP_COUNT;
        assertThat(share).isBetween(0.5 / 11, 2.0 / 11);
    }

    @Test
    void unhealthyBackendSendsItsIpsElsewhereAndGetsThemBackWhenHealthyAgain() {
        // given
        LoadBalancer lb = balancerWith(10);
        Map<String, String> before = route(lb, IPS);
        String ip = IPS.get(0);
        String home = before.get(ip);

        // when
        lb.setBackendHealthy(home, false);
        Map<String, String> whileDown = route(lb, IPS);
        lb.setBackendHealthy(home, true);
        Map<String, String> afterRecovery = route(lb, IPS);

        // then
        assertThat(whileDown.get(ip)).isNotEqualTo(home);
        assertThat(afterRecovery.get(ip)).isEqualTo(home);
        for (String other : IPS) {
            if (!before.get(other).equals(home)) {
                assertThat(whileDown.get(other)).as("ip %s", other).isEqualTo(before.get(other));
            }
        }
        assertThat(afterRecovery).isEqualTo(before);
    }

    @Test
    void tenEqualBackendsEachGetBetweenFiveAndFifteenPercentOfIps() {
        // given
        LoadBalancer lb = balancerWith(10);

        // when
        Map<String, Integer> counts = countByBackend(route(lb, IPS));

        // then
        assertThat(counts).hasSize(10);
        assertThat(counts.values()).allSatisfy(count -> assertThat((double) count / IP_COUNT).isBetween(0.05, 0.15));
    }

    @Test
    void backendOfWeightThreeGetsAboutThreeTimesTheIpsOfWeightOneBackends() {
        // given
        LoadBalancer lb = new LoadBalancer(BalancingStrategy.IP_HASH);
        lb.addBackend("heavy", "10.0.0.1", 8000, 3);
        for (int i = 0; i < 4; i++) {
            lb.addBackend("light" + i, "10.0.0." + (i + 2), 8000, 1);
        }

        // when
        Map<String, Integer> counts = countByBackend(route(lb, IPS));

        // then
        double lightAverage = 0;
        for (int i = 0; i < 4; i++) {
            lightAverage += counts.getOrDefault("light" + i, 0) / 4.0;
        }
        assertThat(counts.get("heavy") / lightAverage).isBetween(2.0, 4.0);
    }

    @Test
    void emptyClientAddressesAllGoToOneBackend() {
        // given
        LoadBalancer lb = balancerWith(10);

        // when
        Set<String> targets = new LinkedHashSet<>();
        for (int i = 0; i < 100; i++) {
            targets.add(lb.selectBackend(new Request("req-" + i, "", "/")).id());
        }

        // then
        assertThat(targets).hasSize(1);
    }

    @Test
    void keysPastTheLastPointOfTheRingWrapToTheFirstPoint() {
        // given
        LoadBalancer lb = balancerWith(10);
        IpHashStrategy.Ring ring = IpHashStrategy.ring(lb.getAvailableBackends());

        // when: the smallest key belongs to the first point; the largest lies past the last one
        Backend ownerOfSmallestKey = ring.backendFor(Long.MIN_VALUE);
        Backend ownerOfLargestKey = ring.backendFor(Long.MAX_VALUE & ~((1L << 20) - 1));

        // then
        assertThat(ownerOfLargestKey).isSameAs(ownerOfSmallestKey);
    }

    /**
     * A lookup scans one cell of the ring; it must find what a search of the whole
     * ring finds: the first point at or after the key, or the first point past the last one. Keys
     * are drawn at random and also placed on, just before and just after every point.
     */
    @Test
    void aCellFindsWhatASearchOfTheWholeRingFinds() {
        Random random = new Random(5);
        for (int backends : new int[] {1, 2, 3, 6, 17, 64, 300}) {
            LoadBalancer lb = new LoadBalancer(BalancingStrategy.IP_HASH);
            for (int i = 0; i < backends; i++) {
                lb.addBackend("b" + i, "10.0." + (i / 250) + "." + (i % 250 + 1), 8000, 1 + random.nextInt(3));
            }
            IpHashStrategy.Ring ring = IpHashStrategy.ring(lb.getAvailableBackends());
            long grain = 1L << 20; // keys and positions leave their low 20 bits clear
            List<Long> keys = new ArrayList<>();
            for (int i = 0; i < 5_000; i++) {
                keys.add(random.nextLong() & -grain);
            }
            long[] points = ring.points();
            for (long point : points) {
                long p = IpHashStrategy.Ring.positionOf(point);
                keys.add(p);
                keys.add(p - grain);
                keys.add(p + grain);
            }
            keys.add(Long.MIN_VALUE);
            keys.add(Long.MAX_VALUE & -grain);
            for (long key : keys) {
                assertThat(ring.backendFor(key)).as("%d backends, key %d", backends, key)
                        .isSameAs(wholeRingLookup(ring, points, key));
            }
        }
    }

    /** Binary search over every point of the ring. */
    private static Backend wholeRingLookup(IpHashStrategy.Ring ring, long[] points, long key) {
        int lo = 0;
        int hi = points.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (IpHashStrategy.Ring.positionOf(points[mid]) < key) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return ring.ownerOf(points[lo == points.length ? 0 : lo]);
    }

    @Test
    void ringPicksAgreeWithTheBalancerAndDependOnlyOnTheClientAddress() {
        // given
        LoadBalancer lb = balancerWith(10);
        IpHashStrategy.Ring ring = IpHashStrategy.ring(lb.getAvailableBackends());

        // when / then
        for (String ip : IPS.subList(0, 1000)) {
            Backend viaRing = ring.backendFor(IpHashStrategy.keyOf(ip));
            assertThat(ring.pick(new Request("other-id", ip, "/other/path"))).isSameAs(viaRing);
            assertThat(lb.selectBackend(new Request("req", ip, "/"))).isSameAs(viaRing);
        }
    }

    @Test
    void heavyBackendsKeepTheirAddressesWhenAnotherLeavesOrJoins() {
        // given: a total weight far above what one ring's points are sized for
        LoadBalancer lb = new LoadBalancer(BalancingStrategy.IP_HASH);
        for (int i = 0; i < 10; i++) {
            lb.addBackend("b" + i, "10.0.0." + (i + 1), 8000, 200);
        }
        Map<String, String> before = route(lb, IPS);

        // when / then: b3 leaves, and only its addresses move
        lb.setBackendHealthy("b3", false);
        Map<String, String> without = route(lb, IPS);
        for (String ip : IPS) {
            if (!before.get(ip).equals("b3")) {
                assertThat(without.get(ip)).as("ip %s", ip).isEqualTo(before.get(ip));
            }
        }

        // when / then: a heavy newcomer joins, and every address that moves, moves to it
        lb.addBackend("b10", "10.0.0.11", 8000, 200);
        Map<String, String> with = route(lb, IPS);
        int moved = 0;
        for (String ip : IPS) {
            if (!with.get(ip).equals(without.get(ip))) {
                assertThat(with.get(ip)).as("ip %s", ip).isEqualTo("b10");
                moved++;
            }
        }
        assertThat(moved).isBetween(IP_COUNT / 10 / 2, IP_COUNT / 10 * 2);
    }

    @Test
    void ringsBuiltStepByStepEqualRingsBuiltFromScratch() {
        // given: a balancer that goes through many changes of its available set
        LoadBalancer lb = new LoadBalancer(BalancingStrategy.IP_HASH);
        Random random = new Random(17);
        for (int step = 0; step < 60; step++) {
            String id = "b" + random.nextInt(12);
            if (lb.getBackend(id).isEmpty()) {
                lb.addBackend(id, "10.0.0.1", 8000, 1 + random.nextInt(4));
            } else if (random.nextBoolean()) {
                lb.setBackendHealthy(id, !lb.getBackend(id).get().isHealthy());
            } else {
                lb.removeBackend(id);
            }
            if (lb.getAvailableBackends().isEmpty()) {
                continue;
            }

            // then: every address lands where a ring built afresh for the same set sends it
            IpHashStrategy.Ring fresh = IpHashStrategy.ring(lb.getAvailableBackends());
            for (String ip : IPS.subList(0, 500)) {
                assertThat(lb.selectBackend(new Request("r", ip, "/")))
                        .as("step %d, ip %s", step, ip)
                        .isSameAs(fresh.backendFor(IpHashStrategy.keyOf(ip)));
            }
        }
    }

    /**
     * A ring edited one backend at a time (joins, leaves, new weights, as the balancer tells its
     * selector) holds exactly the points, in the same order and with the same owners, as the ring
     * built whole for the same set; growing from one backend to 150 and shrinking back also cuts
     * its table of cells afresh a few times on the way.
     */
    @Test
    void ringsEditedOneBackendAtATimeHoldTheSamePointsAsRingsBuiltWhole() {
        LoadBalancer lb = new LoadBalancer(BalancingStrategy.IP_HASH);
        List<Backend> pool = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            pool.add(lb.addBackend("p" + i, "10.0.0." + (i + 1), 8000, 1 + i % 3));
        }
        IpHashStrategy.RingSelector selector = new IpHashStrategy.RingSelector();
        List<Backend> set = List.of();
        Picker picker = selector.newPicker(set);
        Random random = new Random(23);
        java.util.Set<Integer> cellCounts = new java.util.TreeSet<>();
        for (int step = 0; step < 500; step++) {
            List<Backend> next = new ArrayList<>(set);
            Backend changed;
            boolean growing = step < 250;
            if (!set.isEmpty() && random.nextInt(5) == 0) {
                changed = set.get(random.nextInt(set.size()));
                lb.setWeight(changed.id(), 1 + random.nextInt(random.nextInt(8) == 0 ? 12 : 3));
                next = set;
            } else if (set.size() < pool.size() && (set.isEmpty() || growing == (random.nextInt(4) > 0))) {
                changed = firstOutside(pool, set);
                next.add(changed);
            } else {
                changed = set.get(random.nextInt(set.size()));
                next.remove(changed);
            }
            List<Backend> given = next == set ? set : List.copyOf(next);
            picker = selector.newPicker(set, given, changed);
            set = given;

            IpHashStrategy.Ring edited = (IpHashStrategy.Ring) picker;
            IpHashStrategy.Ring whole = IpHashStrategy.ring(set);
            cellCounts.add(edited.cellCount());
            assertSameRing(edited, whole, step, 1, set.isEmpty() ? 0 : 100, random);
        }
        assertThat(cellCounts).as("tables of cells cut on the way").hasSizeGreaterThan(3);
    }

    /**
     * A ring of more than {@link IpHashStrategy#FLAT_MAX} cells keeps its table in chunks, and an
     * edit copies only the chunks it writes: edited one backend at a time, it must still hold the
     * points of the ring built whole and send every key where that ring does.
     */
    @Test
    void largeRingsEditedInChunksHoldTheSamePointsAsRingsBuiltWhole() {
        LoadBalancer lb = new LoadBalancer(BalancingStrategy.IP_HASH);
        List<Backend> pool = new ArrayList<>();
        for (int i = 0; i < 2_100; i++) {
            pool.add(lb.addBackend("q" + i, "10.1." + (i >> 8) + "." + (i & 0xFF), 8000));
        }
        IpHashStrategy.RingSelector selector = new IpHashStrategy.RingSelector();
        List<Backend> set = List.copyOf(pool.subList(0, 2_000));
        Picker picker = selector.newPicker(set);
        assertThat(((IpHashStrategy.Ring) picker).cellCount()).isGreaterThan(IpHashStrategy.FLAT_MAX);
        Random random = new Random(29);
        for (int step = 0; step < 60; step++) {
            List<Backend> next = new ArrayList<>(set);
            Backend changed;
            int kind = random.nextInt(3);
            if (kind == 0) {
                changed = set.get(random.nextInt(set.size()));
                lb.setWeight(changed.id(), 1 + random.nextInt(3));
                next = set;
            } else if (kind == 1) {
                changed = firstOutside(pool, set);
                next.add(changed);
            } else {
                changed = set.get(random.nextInt(set.size()));
                next.remove(changed);
            }
            List<Backend> given = next == set ? set : List.copyOf(next);
            picker = selector.newPicker(set, given, changed);
            set = given;

            IpHashStrategy.Ring edited = (IpHashStrategy.Ring) picker;
            IpHashStrategy.Ring whole = IpHashStrategy.ring(set);
            assertSameRing(edited, whole, step, 97, 200, random);
        }
    }

    /** The first backend of {@code pool} not in {@code set}. */
    private static Backend firstOutside(List<Backend> pool, List<Backend> set) {
        for (Backend b : pool) {
            if (!set.contains(b)) {
                return b;
            }
        }
        throw new AssertionError("every backend of the pool is in the set");
    }

    /**
     * Checks that a ring edited step by step holds the points of the ring built whole (every
     * {@code stride}-th point: its position and owner) and sends {@code keys} random keys where it
     * does.
     */
    private static void assertSameRing(IpHashStrategy.Ring edited, IpHashStrategy.Ring whole, int step, int stride,
            int keys, Random random) {
        long[] mine = edited.points();
        long[] theirs = whole.points();
        assertThat(mine.length).as("step %d", step).isEqualTo(theirs.length);
        int sampled = (mine.length + stride - 1) / stride;
        long[] myPositions = new long[sampled];
        long[] theirPositions = new long[sampled];
        String[] myOwners = new String[sampled];
        String[] theirOwners = new String[sampled];
        for (int i = 0, k = 0; i < mine.length; i += stride, k++) {
            myPositions[k] = IpHashStrategy.Ring.positionOf(mine[i]);
            theirPositions[k] = IpHashStrategy.Ring.positionOf(theirs[i]);
            myOwners[k] = edited.ownerOf(mine[i]).id();
            theirOwners[k] = whole.ownerOf(theirs[i]).id();
        }
        assertThat(myPositions).as("step %d", step).isEqualTo(theirPositions);
        assertThat(myOwners).as("step %d", step).isEqualTo(theirOwners);
        for (int i = 0; i < keys; i++) {
            long key = random.nextLong() & -(1L << 20);
            assertThat(edited.backendFor(key)).as("step %d, key %d", step, key).isSameAs(whole.backendFor(key));
        }
    }

    @Test
    void pointsFollowWeightUpToTheCap() {
        LoadBalancer lb = new LoadBalancer(BalancingStrategy.IP_HASH);
        Backend light = lb.addBackend("light", "10.0.0.1", 8000, 1);
        Backend heavy = lb.addBackend("heavy", "10.0.0.2", 8000, 100);
        Backend heavier = lb.addBackend("heavier", "10.0.0.3", 8000, 5000);

        assertThat(IpHashStrategy.pointsOf(light)).isEqualTo(IpHashStrategy.POINTS_PER_WEIGHT);
        assertThat(IpHashStrategy.pointsOf(heavy)).isEqualTo(IpHashStrategy.MAX_POINTS_PER_BACKEND);
        assertThat(IpHashStrategy.pointsOf(heavier)).isEqualTo(IpHashStrategy.MAX_POINTS_PER_BACKEND);
        assertThat(IpHashStrategy.ring(lb.getAvailableBackends()).size())
                .isEqualTo(IpHashStrategy.POINTS_PER_WEIGHT + 2 * IpHashStrategy.MAX_POINTS_PER_BACKEND);
    }

    // ---------------------------------------------------------------- helpers

    private static LoadBalancer balancerWith(int n) {
        LoadBalancer lb = new LoadBalancer(BalancingStrategy.IP_HASH);
        for (int i = 0; i < n; i++) {
            lb.addBackend("b" + i, "10.0.0." + (i + 1), 8000);
        }
        return lb;
    }

    private static List<String> syntheticIps(int count, long seed) {
        Random random = new Random(seed);
        Set<String> ips = new LinkedHashSet<>();
        while (ips.size() < count) {
            ips.add((1 + random.nextInt(223)) + "." + random.nextInt(256) + "." + random.nextInt(256) + "."
                    + (1 + random.nextInt(254)));
        }
        return List.copyOf(ips);
    }

    private static Map<String, String> route(LoadBalancer lb, List<String> ips) {
        Map<String, String> routes = new LinkedHashMap<>();
        int i = 0;
        for (String ip : ips) {
            routes.put(ip, lb.selectBackend(new Request("req-" + i++, ip, "/api/process")).id());
        }
        return routes;
    }

    private static Map<String, Integer> countByBackend(Map<String, String> routes) {
        Map<String, Integer> counts = new HashMap<>();
        for (String id : routes.values()) {
            counts.merge(id, 1, Integer::sum);
        }
        return counts;
    }
}
