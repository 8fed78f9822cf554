/**
 * The config contract: presets, overrides, and bad configs rejected before any
 * resource is registered, naming the key, the value and what is allowed.
 */
import { strict as assert } from "node:assert";
import { ConfigError, resolveConfig } from "../config";
import { configSchema } from "../config/schema";
import { runStack, runStackOk } from "./helpers";

interface BadConfig {
    why: string;
    stack?: string;
    overrides: Record<string, unknown>;
    key: string;
    /** Text the message must contain (what is allowed). */
    allowed: RegExp;
}

const BAD_CONFIGS: BadConfig[] = [
    { why: "unknown target", overrides: { target: "k8s" }, key: "akko-mtls:target", allowed: /"k3d", "k3s", "eks", "gke"/ },
    { why: "missing target", overrides: { target: undefined }, key: "akko-mtls:target", allowed: /"k3d", "k3s", "eks", "gke"/ },
    { why: "typo mtls.enable", overrides: { "mtls.enable": true }, key: "akko-mtls:mtls.enable", allowed: /unknown key; allowed here: enabled/ },
    { why: "enabled is not a boolean", overrides: { "mtls.enabled": "yes" }, key: "akko-mtls:mtls.enabled", allowed: /expected boolean/ },
    { why: "unknown top-level key", overrides: { "akko-mtls:mtsl": "{}" }, key: "akko-mtls:mtsl", allowed: /allowed here: target, cluster, mtls/ },
    { why: "chart version range", overrides: { "linkerd.chartVersion": "^2026.8.3" }, key: "akko-mtls:linkerd.chartVersion", allowed: /exact chart version/ },
    { why: "chart version latest", overrides: { "linkerd.chartVersion": "latest" }, key: "akko-mtls:linkerd.chartVersion", allowed: /exact chart version/ },
    { why: "chart version with wildcard", overrides: { "linkerd.chartVersion": "2026.8.x" }, key: "akko-mtls:linkerd.chartVersion", allowed: /exact chart version/ },
    {
        why: "issuer not shorter-lived than the anchor",
        overrides: { "identity.issuer.static.validityHours": 87600 },
        key: "akko-mtls:identity.issuer.static.validityHours",
        allowed: /shorter than identity.trustAnchor.validityHours \(87600\)/,
    },
    { why: "issuer validity as text", overrides: { "identity.issuer.static.validityHours": "8760" }, key: "akko-mtls:identity.issuer.static.validityHours", allowed: /expected number/ },
    { why: "unknown issuer mode", overrides: { "identity.issuer.mode": "vault" }, key: "akko-mtls:identity.issuer.mode", allowed: /"static", "certManager"/ },
    {
        why: "early renewal longer than the validity",
        overrides: { "identity.issuer.static.renewBeforeHours": 9000 },
        key: "akko-mtls:identity.issuer.static.renewBeforeHours",
        allowed: /shorter than identity.issuer.static.validityHours/,
    },
    { why: "negative anchor validity", overrides: { "identity.trustAnchor.validityHours": -1 }, key: "akko-mtls:identity.trustAnchor.validityHours", allowed: /.+/ },
    { why: "HA on a single node", overrides: { "linkerd.highAvailability": true }, key: "akko-mtls:linkerd.highAvailability", allowed: /must be false on the single-node target k3s/ },
    { why: "HA with one replica", stack: "eks", overrides: { "linkerd.controllerReplicas": 1 }, key: "akko-mtls:linkerd.controllerReplicas", allowed: /at least 3/ },
    { why: "zero replicas", overrides: { "linkerd.controllerReplicas": 0 }, key: "akko-mtls:linkerd.controllerReplicas", allowed: />=1/ },
    { why: "not a quantity", overrides: { "linkerd.proxy.resources.memory.request": "lots" }, key: "akko-mtls:linkerd.proxy.resources.memory.request", allowed: /Kubernetes quantity/ },
    { why: "request above limit", overrides: { "linkerd.proxy.resources.memory.request": "1Gi" }, key: "akko-mtls:linkerd.proxy.resources.memory.request", allowed: /must not exceed its limit \(128Mi\)/ },
    {
        why: "limit removed with null",
        stack: "k3d",
        overrides: { "linkerd.controlPlaneResources.destination.cpu.limit": null },
        key: "akko-mtls:linkerd.controlPlaneResources.destination.cpu.limit",
        allowed: /expected string/,
    },
    { why: "zero warning days", overrides: { "identity.trustAnchor.expiryWarningDays": 0 }, key: "akko-mtls:identity.trustAnchor.expiryWarningDays", allowed: />=1/ },
    { why: "unknown iptables mode", overrides: { "linkerd.proxyInit.iptablesMode": "iptables" }, key: "akko-mtls:linkerd.proxyInit.iptablesMode", allowed: /"nft", "legacy"/ },
    { why: "lower-case failure policy", overrides: { "linkerd.webhookFailurePolicy": "fail" }, key: "akko-mtls:linkerd.webhookFailurePolicy", allowed: /"Ignore", "Fail"/ },
    { why: "plain-http chart repository", overrides: { "linkerd.repository": "http://helm.linkerd.io/edge" }, key: "akko-mtls:linkerd.repository", allowed: /.+/ },
    { why: "unknown Gateway API mode", overrides: { "linkerd.gatewayApi": "skip" }, key: "akko-mtls:linkerd.gatewayApi", allowed: /"install", "present"/ },
    { why: "no kube context", overrides: { "cluster.context": undefined }, key: "akko-mtls:cluster.context", allowed: /is required/ },
    { why: "invalid trust domain", overrides: { "identity.trustDomain": "Cluster_Local" }, key: "akko-mtls:identity.trustDomain", allowed: /DNS domain/ },
    {
        why: "cert-manager issuer renewing after its own expiry",
        overrides: { "identity.issuer.certManager.renewBeforeHours": 48 },
        key: "akko-mtls:identity.issuer.certManager.renewBeforeHours",
        allowed: /shorter than identity.issuer.certManager.durationHours \(48\)/,
    },
    { why: "cert-manager version without its v", overrides: { "certManager.chartVersion": "1.21.1" }, key: "akko-mtls:certManager.chartVersion", allowed: /with the 'v'/ },
    { why: "cert-manager HA on a single node", overrides: { "certManager.highAvailability": true }, key: "akko-mtls:certManager.highAvailability", allowed: /single-node target k3s/ },
    { why: "rotation image by tag", overrides: { "rotationJob.image": "node:24-alpine" }, key: "akko-mtls:rotationJob.image", allowed: /pinned by digest/ },
    { why: "kubectl image with a short digest", overrides: { "rotationJob.kubectlImage": "alpine/k8s@sha256:abc" }, key: "akko-mtls:rotationJob.kubectlImage", allowed: /pinned by digest/ },
    {
        why: "issuer alert threshold above the renewal window",
        overrides: { "rotationJob.issuerMinHoursLeft": 30 },
        key: "akko-mtls:rotationJob.issuerMinHoursLeft",
        allowed: /below the issuer's renewBeforeHours \(25\)/,
    },
    { why: "rotation window past midnight", overrides: { "rotationJob.windowStartHour": 24 }, key: "akko-mtls:rotationJob.windowStartHour", allowed: /<=23/ },
    { why: "unknown rotation phase", overrides: { "identity.trustAnchor.rotationPhase": 4 }, key: "akko-mtls:identity.trustAnchor.rotationPhase", allowed: /.+/ },
    { why: "generation zero", overrides: { "identity.trustAnchor.generation": 0 }, key: "akko-mtls:identity.trustAnchor.generation", allowed: />=1/ },
    { why: "a namespace listed twice", overrides: { "mtls.namespaces": ["akko", "spark", "akko"] }, key: "akko-mtls:mtls.namespaces.2", allowed: /lists "akko" twice/ },
    { why: "an invalid namespace name", overrides: { "mtls.namespaces": ["Akko_Data"] }, key: "akko-mtls:mtls.namespaces.0", allowed: /RFC 1123/ },
    { why: "meshing a system namespace", overrides: { "mtls.namespaces": ["kube-system"] }, key: "akko-mtls:mtls.namespaces.0", allowed: /system or mesh namespace/ },
    { why: "no meshed namespace", overrides: { "mtls.namespaces": [] }, key: "akko-mtls:mtls.namespaces", allowed: />=1/ },
];

describe("bad configs are rejected before any resource is registered", () => {
    it(`covers at least 15 cases (${BAD_CONFIGS.length})`, () => assert.ok(BAD_CONFIGS.length >= 15));

    for (const bad of BAD_CONFIGS) {
        it(`${bad.why}: ${bad.key}`, async () => {
            const run = await runStack(bad.stack ?? "netcup", { "mtls.enabled": true, ...bad.overrides });
            assert.ok(run.error instanceof ConfigError, `expected a ConfigError, got ${run.error}`);
            const problem = run.error.problems.find((p) => p.key === bad.key);
            assert.ok(problem, `no problem names ${bad.key}: ${run.error.message}`);
            assert.match(problem.message, bad.allowed);
            const [setKey, set] = Object.entries(bad.overrides)[0];
            const reported = setKey.startsWith("mtls.namespaces") && problem.key !== "akko-mtls:mtls.namespaces"
                ? (set as string[])[Number(problem.key.split(".").pop())]
                : set;
            if (typeof set !== "string" || !set.startsWith("{")) assert.deepEqual(problem.value, reported, "the value found is reported");
            assert.ok(run.error.message.includes(bad.key), "the message names the key");
            // Nothing of the program (at most the stack resource itself), no Kubernetes object.
            assert.deepEqual(run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"), []);
        });
    }
});

describe("presets and overrides", () => {
    it("each target's preset fills every key; the stack file overrides it", () => {
        const netcup = resolveConfig({ target: "k3s", cluster: { context: "netcup" } });
        assert.equal(netcup.mtls.enabled, false, "the switch is off by default");
        assert.equal(netcup.linkerd.chartVersion, "2026.8.3");
        assert.equal(netcup.identity.trustAnchor.validityHours, 87600);
        assert.equal(netcup.identity.issuer.mode, "certManager");
        assert.equal(netcup.identity.issuer.certManager.durationHours, 48);
        assert.equal(netcup.identity.issuer.certManager.renewBeforeHours, 25);
        assert.equal(netcup.rotationJob.issuerMinHoursLeft, 24, "derived: an hour after renewal should have happened");
        const k3d = resolveConfig({ target: "k3d", cluster: { context: "k3d-akko" } });
        assert.equal(k3d.identity.issuer.mode, "static");
        assert.equal(k3d.identity.issuer.static.validityHours, 8760);
        assert.equal(k3d.rotationJob.issuerMinHoursLeft, 1440, "derived: linkerd check's 60 days");
        assert.deepEqual(k3d.mtls.namespaces, ["akko"]);
        const overridden = resolveConfig({
            target: "k3s",
            cluster: { context: "netcup" },
            linkerd: { proxy: { resources: { memory: { request: "24Mi" } } } },
        });
        assert.equal(overridden.linkerd.proxy.resources.memory.request, "24Mi");
        assert.equal(overridden.linkerd.proxy.resources.memory.limit, "128Mi", "siblings keep the preset");
    });

    it("single-node targets demand a limit on every container (guards the presets)", () => {
        const k3d = structuredClone(resolveConfig({ target: "k3d", cluster: { context: "x" } })) as any;
        delete k3d.linkerd.controlPlaneResources.destination.cpu.limit;
        const result = configSchema.safeParse(k3d);
        assert.ok(!result.success);
        assert.deepEqual(result.error.issues.map((i) => [i.path.join("."), i.message]), [
            [
                "linkerd.controlPlaneResources.destination.cpu.limit",
                "is required on the single-node target k3d (every container has explicit limits)",
            ],
        ]);
        const eks = structuredClone(resolveConfig({ target: "eks", cluster: { context: "x" } })) as any;
        assert.equal(eks.linkerd.proxy.resources.cpu.limit, undefined, "HA leaves the proxy CPU unlimited, as values-ha.yaml");
        assert.ok(configSchema.safeParse(eks).success);
    });

    it("the config object is immutable", () => {
        const config = resolveConfig({ target: "eks", cluster: { context: "x" } });
        assert.ok(Object.isFrozen(config) && Object.isFrozen(config.linkerd.proxy.resources.cpu));
        assert.throws(() => {
            (config.mtls as { enabled: boolean }).enabled = true;
        }, TypeError);
    });

    it("`pulumi config set --path mtls.enabled true` is the switch", async () => {
        const run = await runStackOk("k3d", { "mtls.enabled": true });
        assert.equal(run.outputs.mtlsEnabled.value, true);
    });
});
