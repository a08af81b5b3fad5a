package dev.ailb;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.assignableTo;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaAccess;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import dev.ailb.health.AllUnhealthyPolicy;
import dev.ailb.health.HealthCheck;
import dev.ailb.health.HealthCheckContext;
import dev.ailb.health.HealthCheckResult;
import dev.ailb.health.HealthState;
import dev.ailb.health.HealthStats;
import dev.ailb.health.HttpProbeOptions;
import dev.ailb.health.LoadSource;
import dev.ailb.health.ModelDiscovery;
import dev.ailb.health.OutlierDetection;
import dev.ailb.health.PrometheusLoadSource;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The layering of the library, checked on its compiled classes (tests excluded):
 * <pre>
 *   dev.ailb.spring.ai -&gt; dev.ailb.openai   the OpenAI SDK and Spring AI, over the HTTP client
 *                 |
 *   dev.ailb.langchain4j                  a framework's adapter, over the public API and the
 *                 |                       public HTTP client of dev.ailb.http
 *   dev.ailb.spring.boot                  Spring Boot auto-configuration, over the public API
 *                 |                       and the Micrometer binder
 *   dev.ailb.http, dev.ailb.micrometer,  optional integrations and discovery sources, over the
 *   dev.ailb.kubernetes, dev.ailb.dns     public API only
 *                 |
 *   dev.ailb  &lt;-&gt;  dev.ailb.health         the API and its collaborators; the built-in strategies
 *                 |                       (package-private) see only the strategy SPI
 *   dev.ailb.internal                     generic machinery, imports nothing of the library;
 *                                         its probe package runs the health checks and load polls
 * </pre>
 * The one cycle between packages is the public API's: the balancer runs health checks, and a
 * health check reads the backend and reports load. Its crossings are pinned below, class by class,
 * so that it cannot grow unnoticed; a crossing that goes away must be taken off the lists too.
 */
@AnalyzeClasses(packages = "dev.ailb", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    /** The balancer and what it needs: none of them may use an optional integration. */
    static final String[] CORE_PACKAGES = {"dev.ailb", "dev.ailb.health..", "dev.ailb.internal..",
            "dev.ailb.micrometer.."};

    /** The types of dev.ailb.health that dev.ailb uses. */
    static final Set<String> HEALTH_TYPES_USED_BY_THE_BALANCER = names(
            AllUnhealthyPolicy.class, HealthCheck.class, HealthCheckContext.class, HealthCheckResult.class,
            HealthState.class, HealthStats.class, LoadSource.class, OutlierDetection.class,
            PrometheusLoadSource.class, ModelDiscovery.class, HttpProbeOptions.class,
            HttpProbeOptions.Builder.class);

    /** The types of dev.ailb that dev.ailb.health uses. */
    static final Set<String> BALANCER_TYPES_USED_BY_HEALTH = names(
            Backend.class, LoadReport.class, LoadReport.Builder.class, BackendProfile.class,
            BackendProfile.Builder.class);

    /**
     * What a strategy may see of dev.ailb: the SPI it implements and the values it is handed, the
     * same types a custom strategy written outside the library sees.
     */
    static final Set<String> STRATEGY_SPI = names(
            BalancingStrategy.class, Selector.class, Picker.class, SelectionContext.class, Request.class,
            Backend.class, Ticker.class, LoadReport.class, TimedLoadReport.class, ResourceWeights.class,
            Tokenizer.class);

    /**
     * The classes that only the built-in strategies use. A new helper is added here, which states
     * that it belongs to the strategies and holds it to their rules.
     */
    static final Set<String> STRATEGY_HELPERS = names(
            Hashing.class, TwoChoices.class, SmoothWeightedSchedule.class, GoldenRatioSchedule.class,
            PrefixAffinity.Builder.class, PrefixAffinitySelector.Scratch.class, PrefixRecorder.class,
            PrefixPrediction.class, RampedWeights.class, IpHashStrategy.Edit.class, IpHashStrategy.CellRun.class);

    static final DescribedPredicate<JavaClass> STRATEGY_PARTS = resideInAPackage("dev.ailb")
            .and(assignableTo(BalancingStrategy.class).or(assignableTo(Selector.class)).or(assignableTo(Picker.class)))
            .and(not(namedAnyOf(names(BalancingStrategy.class, Selector.class, Picker.class))))
            .or(namedAnyOf(STRATEGY_HELPERS))
            .as("the built-in strategies, their selectors, pickers and helpers");

    @ArchTest
    static final ArchRule internalImportsNothingOfTheLibrary = classes()
            .that().resideInAPackage("dev.ailb.internal..")
            .should().onlyDependOnClassesThat(
                    resideOutsideOfPackage("dev.ailb..").or(resideInAPackage("dev.ailb.internal..")))
            .because("internal is generic machinery (prober, histograms, session table, preconditions) that every"
                    + " layer may use; one use of a library type would tie it to the balancer and close a"
                    + " cycle through it");

    @ArchTest
    static final ArchRule proberKnowsOnlyTheJdkAndTheGenericHelpers = classes()
            .that().resideInAPackage("dev.ailb.internal.probe..")
            .should().onlyDependOnClassesThat(
                    resideInAnyPackage("java..", "javax.net.ssl..", "org.slf4j..", "dev.ailb.internal.."))
            .because("the prober runs rounds of probes on targets it is handed, whatever they are: it"
                    + " knows nothing of backends, health checks or load reports, which HealthChecker"
                    + " binds to it; of the JDK it may use java.base and java.net.http, whose HTTP"
                    + " clients take their TLS context from javax.net.ssl");

    @ArchTest
    static final ArchRule onlyTheHealthCheckerBindsTheProber = noClasses()
            .that().resideOutsideOfPackage("dev.ailb.internal.probe..")
            .and().doNotBelongToAnyOf(HealthChecker.class)
            .should().dependOnClassesThat().resideInAPackage("dev.ailb.internal.probe..")
            .because("a health check or load source sees the health API (HealthCheckContext), never the"
                    + " prober's own types; HealthChecker is the one adapter between the two");

    @ArchTest
    static final ArchRule noPackageCyclesBeyondTheHealthApi = slices()
            .assignedFrom(new PackageSlices())
            .should().beFreeOfCycles()
            .because("each package must be readable and testable from the packages below it; the only"
                    + " cycle allowed, between dev.ailb and dev.ailb.health, is part of the public API and"
                    + " pinned by the rules on its crossings");

    @ArchTest
    static final ArchRule balancerUsesOnlyThePinnedHealthTypes = classes()
            .that().resideInAPackage("dev.ailb")
            .should().onlyDependOnClassesThat(
                    resideOutsideOfPackage("dev.ailb.health..").or(namedAnyOf(HEALTH_TYPES_USED_BY_THE_BALANCER)))
            .because("the cycle between dev.ailb and dev.ailb.health must not grow: a new crossing is a"
                    + " decision to take in review, where it either goes on this list or finds a home on"
                    + " one side");

    @ArchTest
    static final ArchRule healthUsesOnlyThePinnedBalancerTypes = classes()
            .that().resideInAPackage("dev.ailb.health..")
            .should().onlyDependOnClassesThat(
                    resideOutsideOfPackage("dev.ailb").or(namedAnyOf(BALANCER_TYPES_USED_BY_HEALTH)))
            .because("the cycle between dev.ailb and dev.ailb.health must not grow: a health check sees"
                    + " the backend it checks and the load report or model profile it fills, nothing of the balancer");

    @ArchTest
    static void pinnedHealthCrossingsAreAllStillUsed(JavaClasses classes) {
        assertThat(crossings(classes, "dev.ailb", "dev.ailb.health"))
                .as("types of dev.ailb.health used by dev.ailb; take a type that is no longer used off"
                        + " HEALTH_TYPES_USED_BY_THE_BALANCER, so the pin stays exact")
                .isEqualTo(HEALTH_TYPES_USED_BY_THE_BALANCER);
        assertThat(crossings(classes, "dev.ailb.health", "dev.ailb"))
                .as("types of dev.ailb used by dev.ailb.health; take a type that is no longer used off"
                        + " BALANCER_TYPES_USED_BY_HEALTH, so the pin stays exact")
                .isEqualTo(BALANCER_TYPES_USED_BY_HEALTH);
    }

    @ArchTest
    static final ArchRule strategiesSeeOnlyTheStrategySpi = classes()
            .that(STRATEGY_PARTS)
            .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.ailb..")
                    .or(resideInAPackage("dev.ailb.internal.."))
                    .or(namedAnyOf(STRATEGY_SPI))
                    .or(STRATEGY_PARTS))
            .because("strategies stay small and know nothing of the balancer: a shared constant such as"
                    + " ROUND_ROBIN must be safe in many balancers at once, so it never reaches"
                    + " LoadBalancer, Registry, HealthChecker or any other machinery, only what it is"
                    + " handed through the SPI");

    @ArchTest
    static final ArchRule strategiesUseOnlyPublicMembersOfTheApi = noClasses()
            .that(STRATEGY_PARTS)
            .should().accessTargetWhere(new NonPublicApiMember())
            .because("the built-in strategies share dev.ailb with the balancer only so that the API"
                    + " package does not depend on theirs; they read backends through the public"
                    + " methods a custom strategy has, never the balancer's package-private state");

    @ArchTest
    static final ArchRule micrometerBinderUsesOnlyThePublicApi = integrationUsesOnlyThePublicApi("dev.ailb.micrometer");

    @ArchTest
    static final ArchRule httpClientUsesOnlyThePublicApi = integrationUsesOnlyThePublicApi("dev.ailb.http");

    @ArchTest
    static final ArchRule kubernetesDiscoveryUsesOnlyThePublicApi =
            integrationUsesOnlyThePublicApi("dev.ailb.kubernetes");

    @ArchTest
    static final ArchRule nothingElseUsesTheKubernetesDiscovery = noClasses()
            .that().resideOutsideOfPackage("dev.ailb.kubernetes..")
            .should().dependOnClassesThat().resideInAPackage("dev.ailb.kubernetes..")
            .because("the fabric8 client is an optional dependency: a class outside the package that"
                    + " touched it would fail with NoClassDefFoundError in an application without fabric8;"
                    + " an application hands the source to LoadBalancer#discover itself");

    @ArchTest
    static final ArchRule dnsDiscoveryUsesOnlyThePublicApi = integrationUsesOnlyThePublicApi("dev.ailb.dns");

    @ArchTest
    static final ArchRule nothingElseUsesDnsDiscovery = noClasses()
            .that().resideOutsideOfPackage("dev.ailb.dns..")
            .and().resideOutsideOfPackage("dev.ailb.spring.boot..")
            .should().dependOnClassesThat().resideInAPackage("dev.ailb.dns..")
            .because("DNS discovery is a discovery source like any an application writes: it feeds the"
                    + " balancer through the public DiscoverySource SPI, and the balancer knows nothing of it;"
                    + " only the Spring Boot auto-configuration, above it, starts one from a pool's properties");

    @ArchTest
    static final ArchRule langChain4jAdapterUsesOnlyThePublicApiAndTheHttpClient = classes()
            .that().resideInAPackage("dev.ailb.langchain4j..")
            .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.ailb..")
                    .or(resideInAPackage("dev.ailb.langchain4j.."))
                    .or(resideInAPackage("dev.ailb.internal.."))
                    .or(new PublicApiType())
                    .or(new PublicHttpType()))
            .because("the LangChain4j adapter is LangChain4j's HTTP client made of the library's own: it"
                    + " sends with the public BalancedHttpClient of dev.ailb.http rather than a second"
                    + " HTTP stack, and otherwise uses what any user can");

    @ArchTest
    static final ArchRule springBootUsesOnlyThePublicApi = classes()
            .that().resideInAPackage("dev.ailb.spring.boot..")
            .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.ailb..")
                    .or(resideInAPackage("dev.ailb.spring.boot.."))
                    .or(resideInAPackage("dev.ailb.internal.."))
                    .or(resideInAPackage("dev.ailb.micrometer.."))
                    .or(resideInAPackage("dev.ailb.spring.ai.."))
                    .or(new PublicApiType())
                    .or(new PublicTypeOf(Set.of("dev.ailb.dns"))))
            .because("the auto-configuration is written as an application would write it, over the public"
                    + " types of dev.ailb and dev.ailb.health, registers the public Micrometer binder and"
                    + " Spring AI chat models, and starts a pool's DNS discovery");

    @ArchTest
    static final ArchRule onlyTheChatModelBeansUseSpringAi = noClasses()
            .that().resideInAPackage("dev.ailb.spring.boot..")
            .and().doNotHaveFullyQualifiedName("dev.ailb.spring.boot.PoolChatModelBeans")
            .should().dependOnClassesThat().resideInAnyPackage("dev.ailb.spring.ai..", "dev.ailb.openai..",
                    "org.springframework.ai..", "com.openai..")
            .because("Spring AI is an optional dependency of the auto-configuration too: the one class that"
                    + " registers the chat models is imported only when Spring AI's OpenAI module is there");

    @ArchTest
    static final ArchRule nothingElseUsesTheMicrometerBinder = noClasses()
            .that().resideOutsideOfPackage("dev.ailb.micrometer..")
            .and().doNotHaveFullyQualifiedName("dev.ailb.spring.boot.PoolMeterBinderBeans")
            .and().doNotHaveFullyQualifiedName("dev.ailb.spring.boot.PoolObservations")
            .should().dependOnClassesThat().resideInAPackage("dev.ailb.micrometer..")
            .because("Micrometer is an optional dependency: a class of the core that touched this package"
                    + " would fail with NoClassDefFoundError in an application without Micrometer; the two"
                    + " classes of the Spring Boot auto-configuration that register the binder and the"
                    + " observations are imported only when Micrometer is on the class path");

    @ArchTest
    static final ArchRule nothingElseUsesTheSpringBootAutoConfiguration = noClasses()
            .that().resideOutsideOfPackage("dev.ailb.spring..")
            .should().dependOnClassesThat().resideInAPackage("dev.ailb.spring.boot..")
            .because("Spring Boot is an optional dependency: only Spring Boot loads the auto-configuration,"
                    + " from its imports file, never a class of the library");

    @ArchTest
    static final ArchRule nothingElseUsesTheHttpClient = noClasses()
            .that().resideOutsideOfPackages("dev.ailb.http..", "dev.ailb.langchain4j..", "dev.ailb.openai..",
                    "dev.ailb.spring.ai..")
            .should().dependOnClassesThat().resideInAPackage("dev.ailb.http..")
            .because("the HTTP client is an optional layer over the balancer; the core works without"
                    + " it, and a use of it from below would turn the layering upside down (the"
                    + " adapters above it, such as dev.ailb.langchain4j and the OpenAI SDK's transport of"
                    + " dev.ailb.openai, may send with it)");

    @ArchTest
    static final ArchRule openAiSdkTransportUsesOnlyThePublicApis =
            integrationOverHttpUsesOnlyThePublicApis("dev.ailb.openai", Set.of("dev.ailb.http"));

    @ArchTest
    static final ArchRule springAiChatModelUsesOnlyThePublicApis =
            integrationOverHttpUsesOnlyThePublicApis("dev.ailb.spring.ai", Set.of("dev.ailb.http", "dev.ailb.openai"));

    @ArchTest
    static final ArchRule theCoreAndTheHttpClientDoNotUseTheSdkIntegrations = noClasses()
            .that().resideInAnyPackage(CORE_PACKAGES).or().resideInAPackage("dev.ailb.http..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.ailb.openai..", "dev.ailb.spring.ai..")
            .because("the OpenAI SDK and Spring AI are optional dependencies: a class below their"
                    + " integrations that touched one would fail with NoClassDefFoundError in an"
                    + " application without them");

    /**
     * An integration over the HTTP client: the public types of the API and of the integrations it
     * builds on, as a user would write it.
     */
    private static ArchRule integrationOverHttpUsesOnlyThePublicApis(String integration, Set<String> below) {
        return classes()
                .that().resideInAPackage(integration + "..")
                .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.ailb..")
                        .or(resideInAPackage(integration + ".."))
                        .or(resideInAPackage("dev.ailb.internal.."))
                        .or(new PublicApiType())
                        .or(new PublicTypeOf(below)))
                .because("an integration over the HTTP client is written as a user would write it, over"
                        + " the public types of the API and of the integrations below it, so that it stays"
                        + " optional and could move to a module of its own");
    }

    private static ArchRule integrationUsesOnlyThePublicApi(String integration) {
        return classes()
                .that().resideInAPackage(integration + "..")
                .should().onlyDependOnClassesThat(resideOutsideOfPackage("dev.ailb..")
                        .or(resideInAPackage(integration + ".."))
                        .or(resideInAPackage("dev.ailb.internal.."))
                        .or(new PublicApiType()))
                .because("an integration is written as a user would write it, over the public types of"
                        + " dev.ailb and dev.ailb.health (and the generic helpers of dev.ailb.internal),"
                        + " so that it stays optional and could move to a module of its own");
    }

    /** Each package its own slice, except dev.ailb and dev.ailb.health: one slice, the API. */
    private static final class PackageSlices implements SliceAssignment {
        @Override
        public SliceIdentifier getIdentifierOf(JavaClass javaClass) {
            String pkg = javaClass.getPackageName();
            if (!pkg.equals("dev.ailb") && !pkg.startsWith("dev.ailb.")) {
                return SliceIdentifier.ignore();
            }
            if (pkg.equals("dev.ailb") || pkg.equals("dev.ailb.health") || pkg.startsWith("dev.ailb.health.")) {
                return SliceIdentifier.of("dev.ailb and dev.ailb.health");
            }
            return SliceIdentifier.of(pkg);
        }

        @Override
        public String getDescription() {
            return "the packages of dev.ailb, with dev.ailb and dev.ailb.health as one";
        }
    }

    /** A type of an exported API package that code in another package can name. */
    private static final class PublicApiType extends DescribedPredicate<JavaClass> {
        PublicApiType() {
            super("public types of dev.ailb and dev.ailb.health");
        }

        @Override
        public boolean test(JavaClass type) {
            JavaClass base = type.getBaseComponentType();
            String pkg = base.getPackageName();
            return (pkg.equals("dev.ailb") || pkg.equals("dev.ailb.health")) && accessibleEverywhere(base);
        }
    }

    /** A public type, reachable from everywhere, of one of the given packages. */
    private static final class PublicTypeOf extends DescribedPredicate<JavaClass> {
        private final Set<String> packages;

        PublicTypeOf(Set<String> packages) {
            super("public types of " + new TreeSet<>(packages));
            this.packages = packages;
        }

        @Override
        public boolean test(JavaClass type) {
            JavaClass base = type.getBaseComponentType();
            return packages.contains(base.getPackageName()) && accessibleEverywhere(base);
        }
    }

    /** The public types of dev.ailb.http, which an adapter above it may send with. */
    private static final class PublicHttpType extends DescribedPredicate<JavaClass> {
        PublicHttpType() {
            super("public types of dev.ailb.http");
        }

        @Override
        public boolean test(JavaClass type) {
            JavaClass base = type.getBaseComponentType();
            return base.getPackageName().equals("dev.ailb.http") && accessibleEverywhere(base);
        }
    }

    /** An access to a member of a balancer class (not a strategy's) that is not public API. */
    private static final class NonPublicApiMember extends DescribedPredicate<JavaAccess<?>> {
        NonPublicApiMember() {
            super("a member of dev.ailb outside the strategies that is not public");
        }

        @Override
        public boolean test(JavaAccess<?> access) {
            JavaClass owner = access.getTargetOwner().getBaseComponentType();
            if (!owner.getPackageName().equals("dev.ailb") || STRATEGY_PARTS.test(owner)) {
                return false;
            }
            Optional<? extends JavaMember> member = access.getTarget().resolveMember();
            return !accessibleEverywhere(owner)
                    || member.map(m -> !m.getModifiers().contains(JavaModifier.PUBLIC)).orElse(false);
        }
    }

    private static boolean accessibleEverywhere(JavaClass type) {
        for (Optional<JavaClass> c = Optional.of(type); c.isPresent(); c = c.get().getEnclosingClass()) {
            if (!c.get().getModifiers().contains(JavaModifier.PUBLIC)) {
                return false;
            }
        }
        return true;
    }

    private static Set<String> crossings(JavaClasses classes, String from, String to) {
        return classes.stream()
                .filter(c -> c.getPackageName().equals(from))
                .flatMap(c -> c.getDirectDependenciesFromSelf().stream())
                .map(Dependency::getTargetClass)
                .map(JavaClass::getBaseComponentType)
                .filter(t -> t.getPackageName().equals(to))
                .map(JavaClass::getName)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static DescribedPredicate<JavaClass> namedAnyOf(Set<String> names) {
        // An array of a type counts as that type: a strategy may hold a Backend[].
        return DescribedPredicate.describe("named any of " + names,
                c -> names.contains(c.getBaseComponentType().getName()));
    }

    private static Set<String> names(Class<?>... types) {
        return Arrays.stream(types).map(Class::getName).collect(Collectors.toCollection(TreeSet::new));
    }
}
