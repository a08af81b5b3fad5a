package dev.ailb.demo;

import static dev.ailb.demo.Demo.LOOPBACK;
import static dev.ailb.demo.Demo.PATH;
import static dev.ailb.demo.Demo.PREFIX_STRATEGIES;
import static dev.ailb.demo.Demo.SEED;

import dev.ailb.BalancingStrategy;
import dev.ailb.LoadBalancer;
import dev.ailb.Request;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

/**
 * The prefix cache scenario of the demo: multi-turn chats over a few shared system prompts, sent to
 * {@link #INSTANCES} {@link CachingInstance}s through each of {@link Demo#PREFIX_STRATEGIES} in turn,
 * the same chats every time and every cache emptied before each run. Each request carries its
 * prompt, and each answer's {@code usage} is reported to its lease, so the balancer's stats hold
 * what the instances' caches served.
 *
 * <p>These balancers do not check health: a check that times out on a busy machine takes an
 * instance out of the available set, which empties {@code PREFIX_AFFINITY}'s index of it, and the
 * comparison would then measure the machine rather than the routing. The other runs of the demo
 * show health checking. Not thread-safe: one run at a time, from one thread.
 */
final class PrefixScenario {
    /** The instances with a prefix cache. */
    static final int INSTANCES = 6;
    /** The chats each client thread has open at once. */
    static final int OPEN_CHATS_PER_THREAD = 4;

    private PrefixScenario() {}

    /**
     * Starts the instances, runs the chats through each strategy, prints the table and stops the
     * instances. Each client thread keeps {@link #OPEN_CHATS_PER_THREAD} chats open and sends their
     * turns in rotation, a chat's next turn once its last is answered, opening a new chat when one
     * ends; a turn that fails ends its chat. A chat's turns thus reach the balancer apart, with
     * turns of other chats in between, as they come from the users of a chat service, who read and
     * type between two turns.
     *
     * @param requests the demo's requests per strategy: the chats are a twenty-fourth of it in
     *                 number, at least {@link #OPEN_CHATS_PER_THREAD} per client thread
     */
    static PrefixReport run(PrintStream out, Clients clients, int requests, int threads, double timeScale,
                            String[] clientAddresses) throws InterruptedException {
        int chats = Math.max(OPEN_CHATS_PER_THREAD * threads, requests / (4 * ChatWorkload.TURNS));
        ChatWorkload workload = ChatWorkload.generate(chats, SEED);
        List<CachingInstance> instances = new ArrayList<>(INSTANCES);
        try {
            for (int i = 1; i <= INSTANCES; i++) {
                instances.add(CachingInstance.start("cache-" + i, threads, timeScale));
            }
            Tables.printPrefixIntro(out, chats, threads, timeScale, instances);
            List<PrefixRun> runs = new ArrayList<>();
            for (BalancingStrategy strategy : PREFIX_STRATEGIES) {
                for (CachingInstance instance : instances) {
                    instance.clearCache();
                }
                runs.add(runOnce(strategy, workload, clients, instances, clientAddresses));
            }
            List<String> ids = instances.stream().map(CachingInstance::id).collect(Collectors.toList());
            PrefixReport report = new PrefixReport(chats, ChatWorkload.TURNS, ids, List.copyOf(runs));
            Tables.printPrefix(out, report);
            return report;
        } finally {
            for (CachingInstance instance : instances) {
                instance.close();
            }
        }
    }

    private static PrefixRun runOnce(BalancingStrategy strategy, ChatWorkload workload, Clients clients,
                                     List<CachingInstance> instances, String[] clientAddresses)
            throws InterruptedException {
        // The same seed for every strategy: the runs differ by the strategy alone.
        try (LoadBalancer lb = LoadBalancer.builder().strategy(strategy).random(new Random(SEED)).build()) {
            for (CachingInstance instance : instances) {
                lb.addBackend(instance.id(), LOOPBACK, instance.port());
            }
            int chats = workload.chats();
            int turns = ChatWorkload.TURNS;
            long[] firstByte = new long[chats * turns]; // by chat and turn; -1 while unanswered
            Arrays.fill(firstByte, -1L);
            AtomicInteger next = new AtomicInteger(); // the next chat to open
            LongAdder failed = new LongAdder();
            LongAdder transportErrors = new LongAdder();
            long start = System.nanoTime();
            clients.onEveryThread(() -> {
                List<OpenChat> open = new ArrayList<>(OPEN_CHATS_PER_THREAD);
                int at = 0; // the open chat whose turn is next
                for (;;) {
                    while (open.size() < OPEN_CHATS_PER_THREAD && next.get() < chats) {
                        int c = next.getAndIncrement();
                        if (c < chats) {
                            open.add(new OpenChat(c, workload.firstPrompt(c)));
                        }
                    }
                    if (open.isEmpty()) {
                        return null;
                    }
                    at %= open.size();
                    OpenChat chat = open.get(at);
                    Request request = new Request(String.format(Locale.ROOT, "chat-%04d-%d", chat.chat, chat.turn),
                            clientAddresses[chat.chat % clientAddresses.length], PATH).withPrompt(chat.prompt);
                    Optional<Clients.ChatAnswer> answer = clients.sendChat(lb, request, transportErrors);
                    if (answer.isEmpty()) {
                        failed.add(turns - chat.turn); // its next prompt would need the answer
                        open.remove(at);
                    } else if (chat.turn == turns - 1) {
                        firstByte[chat.chat * turns + chat.turn] = answer.get().firstByteNanos();
                        open.remove(at);
                    } else {
                        firstByte[chat.chat * turns + chat.turn] = answer.get().firstByteNanos();
                        chat.turn++;
                        chat.prompt = workload.nextPrompt(chat.prompt, answer.get().text(), chat.chat, chat.turn);
                        at++;
                    }
                }
            });
            long wall = System.nanoTime() - start;
            long[] answered = Arrays.stream(firstByte).filter(n -> n >= 0).sorted().toArray();
            long mean = answered.length == 0 ? 0 : Math.round(Arrays.stream(answered).average().orElse(0));
            long p99 = answered.length == 0 ? 0 : answered[(int) Math.ceil(0.99 * answered.length) - 1];
            return new PrefixRun(strategy.name(), answered.length, failed.sum(), transportErrors.sum(), mean, p99,
                    lb.getAllStats(), wall);
        }
    }

    /** A chat that a client thread has open: the turn it is at and that turn's prompt. */
    private static final class OpenChat {
        final int chat;
        int turn;
        String prompt;

        OpenChat(int chat, String prompt) {
            this.chat = chat;
            this.prompt = prompt;
        }
    }
}
