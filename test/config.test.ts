/**
 * The config contract: presets, overrides, and bad configs rejected before any
 * resource is registered, naming the key, the value and what is allowed.
 */
import { strict as assert } from "node:assert";
import { ConfigError, resolveConfig } from "../config";
import { configSchema } from "../config/schema";
import { readStackConfig, runProgram } from "../tools/mockRuntime";
import { runStack, runStackOk, STRICT } from "./helpers";

interface BadConfig {
    why: string;
    stack?: string;
    overrides: Record<string, unknown>;
    key: string;
    /** Text the message must contain (what is allowed). */
    allowed: RegExp;
    /** The value the problem reports, when it is not the first override's (a label inside a map). */
    value?: unknown;
}

const [TRINO] = STRICT["mtls.authorizations"];
const INGRESS = { enabled: true, host: "linkerd.akko.example", authAnnotations: { "nginx.ingress.kubernetes.io/auth-url": "https://auth.akko.example" } };

const BAD_CONFIGS: BadConfig[] = [
    { why: "unknown target", overrides: { target: "k8s" }, key: "akko-mtls:target", allowed: /"k3d", "k3s", "eks", "gke"/ },
    { why: "missing target", overrides: { target: undefined }, key: "akko-mtls:target", allowed: /"k3d", "k3s", "eks", "gke"/ },
    { why: "typo mtls.enable", overrides: { "mtls.enable": true }, key: "akko-mtls:mtls.enable", allowed: /unknown key; allowed here: enabled/ },
    { why: "enabled is not a boolean", overrides: { "mtls.enabled": "yes" }, key: "akko-mtls:mtls.enabled", allowed: /expected boolean/ },
    { why: "unknown top-level key", overrides: { "akko-mtls:mtsl": "{}" }, key: "akko-mtls:mtsl", allowed: /allowed here: target, cluster, mtls/ },
    { why: "chart version range", overrides: { "linkerd.chartVersion": "^2026.8.3" }, key: "akko-mtls:linkerd.chartVersion", allowed: /exact chart version/ },
    { why: "chart version latest", overrides: { "linkerd.chartVersion": "latest" }, key: "akko-mtls:linkerd.chartVersion", allowed: /exact chart version/ },
    {
        why: "chart version with wildcard",
        overrides: { "linkerd.chartVersion": "2026.8.x" },
        key: "akko-mtls:linkerd.chartVersion",
        allowed: /exact chart version/,
    },
    {
        why: "issuer not shorter-lived than the anchor",
        overrides: { "identity.issuer.static.validityHours": 87600 },
        key: "akko-mtls:identity.issuer.static.validityHours",
        allowed: /shorter than identity.trustAnchor.validityHours \(87600\)/,
    },
    {
        why: "issuer validity as text",
        overrides: { "identity.issuer.static.validityHours": "8760" },
        key: "akko-mtls:identity.issuer.static.validityHours",
        allowed: /expected number/,
    },
    { why: "unknown issuer mode", overrides: { "identity.issuer.mode": "vault" }, key: "akko-mtls:identity.issuer.mode", allowed: /"static", "certManager"/ },
    {
        why: "early renewal longer than the validity",
        overrides: { "identity.issuer.static.renewBeforeHours": 9000 },
        key: "akko-mtls:identity.issuer.static.renewBeforeHours",
        allowed: /shorter than identity.issuer.static.validityHours/,
    },
    {
        why: "negative anchor validity",
        overrides: { "identity.trustAnchor.validityHours": -1 },
        key: "akko-mtls:identity.trustAnchor.validityHours",
        allowed: /.+/,
    },
    {
        why: "HA on a single node",
        overrides: { "linkerd.highAvailability": true },
        key: "akko-mtls:linkerd.highAvailability",
        allowed: /must be false on the single-node target k3s/,
    },
    {
        why: "HA with one replica",
        stack: "eks",
        overrides: { "linkerd.controllerReplicas": 1 },
        key: "akko-mtls:linkerd.controllerReplicas",
        allowed: /at least 3/,
    },
    { why: "zero replicas", overrides: { "linkerd.controllerReplicas": 0 }, key: "akko-mtls:linkerd.controllerReplicas", allowed: />=1/ },
    {
        why: "not a quantity",
        overrides: { "linkerd.proxy.resources.memory.request": "lots" },
        key: "akko-mtls:linkerd.proxy.resources.memory.request",
        allowed: /Kubernetes quantity/,
    },
    {
        why: "request above limit",
        overrides: { "linkerd.proxy.resources.memory.request": "1Gi" },
        key: "akko-mtls:linkerd.proxy.resources.memory.request",
        allowed: /must not exceed its limit \(128Mi\)/,
    },
    {
        why: "limit removed with null",
        stack: "k3d",
        overrides: { "linkerd.controlPlaneResources.destination.cpu.limit": null },
        key: "akko-mtls:linkerd.controlPlaneResources.destination.cpu.limit",
        allowed: /expected string/,
    },
    {
        why: "zero warning days",
        overrides: { "identity.trustAnchor.expiryWarningDays": 0 },
        key: "akko-mtls:identity.trustAnchor.expiryWarningDays",
        allowed: />=1/,
    },
    {
        why: "unknown iptables mode",
        overrides: { "linkerd.proxyInit.iptablesMode": "iptables" },
        key: "akko-mtls:linkerd.proxyInit.iptablesMode",
        allowed: /"nft", "legacy"/,
    },
    {
        why: "lower-case failure policy",
        overrides: { "linkerd.webhookFailurePolicy": "fail" },
        key: "akko-mtls:linkerd.webhookFailurePolicy",
        allowed: /"Ignore", "Fail"/,
    },
    {
        why: "plain-http chart repository",
        overrides: { "linkerd.repository": "http://helm.linkerd.io/edge" },
        key: "akko-mtls:linkerd.repository",
        allowed: /.+/,
    },
    { why: "unknown Gateway API mode", overrides: { "linkerd.gatewayApi": "skip" }, key: "akko-mtls:linkerd.gatewayApi", allowed: /"install", "present"/ },
    { why: "no kube context", overrides: { "cluster.context": undefined }, key: "akko-mtls:cluster.context", allowed: /is required/ },
    { why: "invalid trust domain", overrides: { "identity.trustDomain": "Cluster_Local" }, key: "akko-mtls:identity.trustDomain", allowed: /DNS domain/ },
    {
        why: "cert-manager issuer renewing after its own expiry",
        overrides: { "identity.issuer.certManager.renewBeforeHours": 48 },
        key: "akko-mtls:identity.issuer.certManager.renewBeforeHours",
        allowed: /shorter than identity.issuer.certManager.durationHours \(48\)/,
    },
    {
        why: "cert-manager version without its v",
        overrides: { "certManager.chartVersion": "1.21.1" },
        key: "akko-mtls:certManager.chartVersion",
        allowed: /with the 'v'/,
    },
    {
        why: "cert-manager HA on a single node",
        overrides: { "certManager.highAvailability": true },
        key: "akko-mtls:certManager.highAvailability",
        allowed: /single-node target k3s/,
    },
    { why: "rotation image by tag", overrides: { "rotationJob.image": "node:24-alpine" }, key: "akko-mtls:rotationJob.image", allowed: /pinned by digest/ },
    {
        why: "kubectl image with a short digest",
        overrides: { "rotationJob.kubectlImage": "alpine/k8s@sha256:abc" },
        key: "akko-mtls:rotationJob.kubectlImage",
        allowed: /pinned by digest/,
    },
    {
        why: "issuer alert threshold above the renewal window",
        overrides: { "rotationJob.issuerMinHoursLeft": 30 },
        key: "akko-mtls:rotationJob.issuerMinHoursLeft",
        allowed: /below the issuer's renewBeforeHours \(25\)/,
    },
    { why: "rotation window past midnight", overrides: { "rotationJob.windowStartHour": 24 }, key: "akko-mtls:rotationJob.windowStartHour", allowed: /<=23/ },
    {
        why: "unknown rotation phase",
        overrides: { "identity.trustAnchor.rotationPhase": 4 },
        key: "akko-mtls:identity.trustAnchor.rotationPhase",
        allowed: /.+/,
    },
    { why: "generation zero", overrides: { "identity.trustAnchor.generation": 0 }, key: "akko-mtls:identity.trustAnchor.generation", allowed: />=1/ },
    {
        why: "a namespace listed twice",
        overrides: { "mtls.namespaces": ["akko", "spark", "akko"] },
        key: "akko-mtls:mtls.namespaces.2",
        allowed: /lists "akko" twice/,
    },
    { why: "an invalid namespace name", overrides: { "mtls.namespaces": ["Akko_Data"] }, key: "akko-mtls:mtls.namespaces.0", allowed: /RFC 1123/ },
    {
        why: "meshing a system namespace",
        overrides: { "mtls.namespaces": ["kube-system"] },
        key: "akko-mtls:mtls.namespaces.0",
        allowed: /system or mesh namespace/,
    },
    { why: "no meshed namespace", overrides: { "mtls.namespaces": [] }, key: "akko-mtls:mtls.namespaces", allowed: />=1/ },

    // Maxima: validities and timeouts a provider or Kubernetes cannot hold, and safe integers only.
    {
        why: "a 10,000,000 h anchor (overflows the tls provider's duration)",
        overrides: { "identity.trustAnchor.validityHours": 10_000_000 },
        key: "akko-mtls:identity.trustAnchor.validityHours",
        allowed: /<=175200/,
    },
    {
        why: "a 2^53 h anchor (not a safe integer)",
        overrides: { "identity.trustAnchor.validityHours": 2 ** 53 },
        key: "akko-mtls:identity.trustAnchor.validityHours",
        allowed: /Too big/,
    },
    {
        why: "a static issuer of 200,000 h",
        overrides: { "identity.issuer.static.validityHours": 200_000 },
        key: "akko-mtls:identity.issuer.static.validityHours",
        allowed: /<=175200/,
    },
    {
        why: "a static renewal window of 1,000,000 h",
        overrides: { "identity.issuer.static.renewBeforeHours": 1_000_000 },
        key: "akko-mtls:identity.issuer.static.renewBeforeHours",
        allowed: /<=175200/,
    },
    {
        why: "a cert-manager issuer of 1,000,000 h",
        overrides: { "identity.issuer.certManager.durationHours": 1_000_000 },
        key: "akko-mtls:identity.issuer.certManager.durationHours",
        allowed: /<=175200/,
    },
    {
        why: "a cert-manager renewal of 1,000,000 h",
        overrides: { "identity.issuer.certManager.renewBeforeHours": 1_000_000 },
        key: "akko-mtls:identity.issuer.certManager.renewBeforeHours",
        allowed: /<=175200/,
    },
    {
        why: "an issuer alert threshold of 1,000,000 h",
        overrides: { "rotationJob.issuerMinHoursLeft": 1_000_000 },
        key: "akko-mtls:rotationJob.issuerMinHoursLeft",
        allowed: /<=175200/,
    },
    {
        why: "a restart timeout over an hour",
        overrides: { "rotationJob.rolloutTimeoutSeconds": 3601, "rotationJob.deadlineMinutes": 120 },
        key: "akko-mtls:rotationJob.rolloutTimeoutSeconds",
        allowed: /<=3600/,
    },
    {
        why: "the largest safe integer as a restart timeout",
        overrides: { "rotationJob.rolloutTimeoutSeconds": Number.MAX_SAFE_INTEGER },
        key: "akko-mtls:rotationJob.rolloutTimeoutSeconds",
        allowed: /<=3600/,
    },
    {
        why: "a 2^53 restart timeout (not a safe integer)",
        overrides: { "rotationJob.rolloutTimeoutSeconds": 2 ** 53 },
        key: "akko-mtls:rotationJob.rolloutTimeoutSeconds",
        allowed: /Too big/,
    },
    { why: "a Job deadline over a day", overrides: { "rotationJob.deadlineMinutes": 1441 }, key: "akko-mtls:rotationJob.deadlineMinutes", allowed: /<=1440/ },
    {
        why: "an anchor threshold of 100,000 days",
        overrides: { "rotationJob.anchorMinDaysLeft": 100_000 },
        key: "akko-mtls:rotationJob.anchorMinDaysLeft",
        allowed: /<=7300/,
    },

    // Zero resources: a zero limit kills the container.
    {
        why: "a CPU limit of 0",
        overrides: { "linkerd.proxy.resources.cpu.limit": "0" },
        key: "akko-mtls:linkerd.proxy.resources.cpu.limit",
        allowed: /must be more than zero: a zero limit kills the container/,
    },
    {
        why: "a memory limit of 0Mi",
        overrides: { "rotationJob.resources.memory.limit": "0Mi" },
        key: "akko-mtls:rotationJob.resources.memory.limit",
        allowed: /must be more than zero/,
    },
    {
        why: "a CPU request of 0m",
        overrides: { "viz.prometheus.resources.cpu.request": "0m" },
        key: "akko-mtls:viz.prometheus.resources.cpu.request",
        allowed: /must be more than zero/,
    },
    {
        why: "a CNI request above its limit",
        overrides: { "linkerd.cni.resources.memory.request": "1Gi" },
        key: "akko-mtls:linkerd.cni.resources.memory.request",
        allowed: /must not exceed its limit \(64Mi\)/,
    },

    // Thresholds beyond the anchor's validity.
    {
        why: "anchor check threshold = the anchor's validity (the daily Job would fail forever)",
        overrides: { "rotationJob.anchorMinDaysLeft": 3650 },
        key: "akko-mtls:rotationJob.anchorMinDaysLeft",
        allowed: /below the trust anchor's validity \(identity.trustAnchor.validityHours 87600 = 3650 days\)/,
    },
    {
        why: "anchor warning beyond the anchor's validity",
        overrides: { "identity.trustAnchor.expiryWarningDays": 4000 },
        key: "akko-mtls:identity.trustAnchor.expiryWarningDays",
        allowed: /below the trust anchor's validity/,
    },
    {
        why: "minHoursBetweenPhases 0",
        overrides: { "identity.trustAnchor.minHoursBetweenPhases": 0 },
        key: "akko-mtls:identity.trustAnchor.minHoursBetweenPhases",
        allowed: /at least 24: proxy certificates live 24 h/,
    },

    // Kubernetes labels, annotations and names.
    {
        why: "a rule label key with a space",
        overrides: { "observability.ruleLabels": { "release name": "kps" } },
        key: "akko-mtls:observability.ruleLabels.release name",
        allowed: /not a valid label key/,
        value: "kps",
    },
    {
        why: "a rule label value with a space",
        overrides: { "observability.ruleLabels": { release: "kube prometheus" } },
        key: "akko-mtls:observability.ruleLabels.release",
        allowed: /invalid label value/,
        value: "kube prometheus",
    },
    {
        why: "a rule label value over 63 characters",
        overrides: { "observability.ruleLabels": { release: "x".repeat(64) } },
        key: "akko-mtls:observability.ruleLabels.release",
        allowed: /at most 63/,
        value: "x".repeat(64),
    },
    {
        why: "a dashboards label key with a space",
        overrides: { "observability.grafanaDashboards.label": "grafana dashboard" },
        key: "akko-mtls:observability.grafanaDashboards.label",
        allowed: /not a valid label key/,
    },
    {
        why: "a dashboards label value starting with '-'",
        overrides: { "observability.grafanaDashboards.labelValue": "-1" },
        key: "akko-mtls:observability.grafanaDashboards.labelValue",
        allowed: /not a valid label value/,
    },
    {
        why: "a scraper selector with an empty label name",
        overrides: { "viz.prometheus.scraper.podSelector": { "app.kubernetes.io/": "prometheus" } },
        key: "akko-mtls:viz.prometheus.scraper.podSelector.app.kubernetes.io/",
        allowed: /the name must not be empty/,
        value: "prometheus",
    },
    {
        why: "a scraper selector selecting every pod",
        overrides: { "viz.prometheus.scraper.podSelector": {} },
        key: "akko-mtls:viz.prometheus.scraper.podSelector",
        allowed: /at least one label/,
    },
    {
        why: "a server's selector with a bad prefix",
        overrides: { ...STRICT, "mtls.authorizations": [{ ...TRINO, podSelector: { "App.IO/name": "trino" } }] },
        key: "akko-mtls:mtls.authorizations.0.podSelector.App.IO/name",
        allowed: /the prefix before '\/' must be a DNS subdomain/,
        value: "trino",
    },
    {
        why: "an auth annotation key with a space",
        stack: "eks",
        overrides: { "viz.dashboard.ingress": { ...INGRESS, authAnnotations: { "nginx.ingress.kubernetes.io/auth url": "https://auth" } } },
        key: "akko-mtls:viz.dashboard.ingress.authAnnotations.nginx.ingress.kubernetes.io/auth url",
        allowed: /not a valid annotation key/,
        value: "https://auth",
    },
    {
        why: "a TLS Secret name with capitals and '_'",
        stack: "eks",
        overrides: { "viz.dashboard.ingress": { ...INGRESS, tlsSecretName: "Linkerd_TLS" } },
        key: "akko-mtls:viz.dashboard.ingress.tlsSecretName",
        allowed: /RFC 1123 subdomain/,
        value: "Linkerd_TLS",
    },
    {
        why: "an IngressClass name with a space",
        stack: "eks",
        overrides: { "viz.dashboard.ingress": { ...INGRESS, className: "nginx public" } },
        key: "akko-mtls:viz.dashboard.ingress.className",
        allowed: /RFC 1123 subdomain/,
        value: "nginx public",
    },
    {
        why: "a dashboard host with a 64-character label",
        stack: "eks",
        overrides: { "viz.dashboard.ingress": { ...INGRESS, host: `${"a".repeat(64)}.akko.example` } },
        key: "akko-mtls:viz.dashboard.ingress.host",
        allowed: /DNS host name/,
        value: `${"a".repeat(64)}.akko.example`,
    },
    {
        why: "a javascript: runbook URL",
        overrides: { "observability.runbookUrl": "javascript:alert(1)" },
        key: "akko-mtls:observability.runbookUrl",
        allowed: /http:\/\/ or https:\/\/ URL/,
    },
    {
        why: "a file: runbook URL",
        overrides: { "observability.runbookUrl": "file:///etc/passwd" },
        key: "akko-mtls:observability.runbookUrl",
        allowed: /http:\/\/ or https:\/\/ URL/,
    },

    // cert-manager's namespace.
    {
        why: "cert-manager in kube-system",
        overrides: { "certManager.namespace": "kube-system" },
        key: "akko-mtls:certManager.namespace",
        allowed: /not a system or mesh namespace/,
    },
    {
        why: "cert-manager in linkerd",
        overrides: { "certManager.namespace": "linkerd" },
        key: "akko-mtls:certManager.namespace",
        allowed: /not a system or mesh namespace/,
    },
    {
        why: "cert-manager in a meshed namespace",
        overrides: { "certManager.namespace": "akko" },
        key: "akko-mtls:certManager.namespace",
        allowed: /is a meshed namespace/,
    },

    // Strict authorizations.
    {
        why: "a client in a namespace that is not meshed",
        overrides: { ...STRICT, "mtls.authorizations": [{ ...TRINO, clients: ["etl.web.serviceaccount.identity.linkerd.cluster.local"] }] },
        key: "akko-mtls:mtls.authorizations.0.clients.0",
        allowed: /names namespace web, which is not meshed/,
        value: "etl.web.serviceaccount.identity.linkerd.cluster.local",
    },
    {
        why: "a trust domain with a parenthesis (threw a SyntaxError before)",
        overrides: { ...STRICT, "identity.trustDomain": "cluster.local(" },
        key: "akko-mtls:identity.trustDomain",
        allowed: /DNS domain/,
        value: "cluster.local(",
    },

    // Lists that repeat an entry.
    {
        why: "an opaque port listed twice",
        overrides: { "mtls.namespaceOptions": { akko: { opaquePorts: [5432, 5432] } } },
        key: "akko-mtls:mtls.namespaceOptions.akko.opaquePorts.1",
        allowed: /repeats item 0: list each entry once/,
        value: 5432,
    },
    {
        why: "a skipped port listed twice",
        overrides: { "mtls.namespaceOptions": { akko: { skipOutboundPorts: [25, 587, 25] } } },
        key: "akko-mtls:mtls.namespaceOptions.akko.skipOutboundPorts.2",
        allowed: /repeats item 0/,
        value: 25,
    },
    {
        why: "an Alertmanager listed twice",
        overrides: { "viz.prometheus.alertmanagers": ["http://am:9093", "http://am:9093"] },
        key: "akko-mtls:viz.prometheus.alertmanagers.1",
        allowed: /repeats item 0/,
        value: "http://am:9093",
    },
    {
        why: "a client listed twice",
        overrides: { ...STRICT, "mtls.authorizations": [{ ...TRINO, clients: [TRINO.clients![0], TRINO.clients![0]] }] },
        key: "akko-mtls:mtls.authorizations.0.clients.1",
        allowed: /repeats item 0/,
        value: TRINO.clients![0],
    },
    {
        why: "a network listed twice",
        overrides: { "viz.prometheus.readers": { networks: ["10.0.0.0/8", "10.0.0.0/8"] } },
        key: "akko-mtls:viz.prometheus.readers.networks.1",
        allowed: /repeats item 0/,
        value: "10.0.0.0/8",
    },

    // Blank names.
    {
        why: "a blank kube context",
        overrides: { "cluster.context": " " },
        key: "akko-mtls:cluster.context",
        allowed: /must not be empty or start or end with whitespace/,
    },
    { why: "a kube context with a trailing space", overrides: { "cluster.context": "netcup " }, key: "akko-mtls:cluster.context", allowed: /whitespace/ },
    {
        why: "an empty dashboards folder",
        overrides: { "observability.grafanaDashboards.folder": "" },
        key: "akko-mtls:observability.grafanaDashboards.folder",
        allowed: /must not be empty/,
    },
    {
        why: "a port name without a letter",
        overrides: { ...STRICT, "mtls.authorizations": [{ ...TRINO, port: "80-80" }] },
        key: "akko-mtls:mtls.authorizations.0.port",
        allowed: /at least one letter/,
        value: "80-80",
    },

    // Zero Prometheus retention: Prometheus reads 0 as its default (time) or no limit (size).
    { why: "a retention of 0h", overrides: { "viz.prometheus.retention": "0h" }, key: "akko-mtls:viz.prometheus.retention", allowed: /more than zero/ },
    {
        why: "a retention size of 0MB",
        overrides: { "viz.prometheus.retentionSize": "0MB" },
        key: "akko-mtls:viz.prometheus.retentionSize",
        allowed: /more than zero/,
    },
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
            const reported =
                "value" in bad
                    ? bad.value
                    : setKey.startsWith("mtls.namespaces") && problem.key !== "akko-mtls:mtls.namespaces"
                      ? (set as string[])[Number(problem.key.split(".").pop())]
                      : set;
            if (typeof set !== "string" || !set.startsWith("{")) assert.deepEqual(problem.value, reported, "the value found is reported");
            assert.ok(run.error.message.includes(bad.key), "the message names the key");
            // Nothing of the program (at most the stack resource itself), no Kubernetes object.
            assert.deepEqual(
                run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"),
                [],
            );
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
        assert.deepEqual(
            result.error.issues.map((i) => [i.path.join("."), i.message]),
            [["linkerd.controlPlaneResources.destination.cpu.limit", "is required on the single-node target k3d (every container has explicit limits)"]],
        );
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

/** Runs the netcup stack file with raw `pulumi config` entries (key -> stored text), as the CLI leaves them. */
async function runRaw(entries: Record<string, string>, secretKeys?: string[]) {
    const config = { ...readStackConfig("netcup"), ...entries };
    return runProgram({ stack: "netcup", config, secretKeys });
}

describe("keys that are not keys: __proto__, constructor, prototype", () => {
    const cases: [string, Record<string, string>, string][] = [
        ["__proto__ inside a section", { "akko-mtls:mtls": '{"enabled":true,"__proto__":{"enabled":false}}' }, "akko-mtls:mtls.__proto__"],
        ["constructor deep down", { "akko-mtls:linkerd": '{"proxy":{"resources":{"constructor":{"x":1}}}}' }, "akko-mtls:linkerd.proxy.resources.constructor"],
        [
            "prototype inside a list's object",
            { "akko-mtls:mtls": JSON.stringify({ authorizations: [{ prototype: {} }] }) },
            "akko-mtls:mtls.authorizations.0.prototype",
        ],
        ["__proto__ as a top-level key", { "akko-mtls:__proto__": '{"target":"eks"}' }, "akko-mtls:__proto__"],
    ];
    for (const [why, entries, key] of cases) {
        it(`${why}: refused, naming ${key}`, async () => {
            const run = await runRaw(entries);
            assert.ok(run.error instanceof ConfigError, String(run.error));
            assert.deepEqual(
                run.error.problems.map((p) => p.key),
                [key],
            );
            assert.match(run.error.problems[0].message, /cannot be a config key .*: remove it \(pulumi config rm /);
            assert.deepEqual(
                run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"),
                [],
            );
        });
    }

    it("the fix names the exact path", () => {
        assert.throws(
            () => resolveConfig(JSON.parse('{"target":"k3s","cluster":{"context":"x"},"mtls":{"authorizations":[{"__proto__":{}}]}}')),
            (error: ConfigError) => error.problems[0].message.endsWith("(pulumi config rm --path 'mtls.authorizations[0].__proto__')"),
        );
        assert.throws(
            () => resolveConfig(JSON.parse('{"target":"k3s","cluster":{"context":"x"},"__proto__":{}}')),
            (error: ConfigError) => error.problems[0].message.endsWith("(pulumi config rm akko-mtls:__proto__)"),
        );
    });

    it("Object.prototype is untouched", () => {
        assert.equal(({} as Record<string, unknown>).enabled, undefined);
        assert.equal(({} as Record<string, unknown>).target, undefined);
    });
});

describe("hints for common mistakes", () => {
    const problemOf = async (entries: Record<string, string>, key: string, secretKeys?: string[]) => {
        const run = await runRaw(entries, secretKeys);
        assert.ok(run.error instanceof ConfigError, String(run.error));
        const problem = run.error.problems.find((p) => p.key === key);
        assert.ok(problem, `${key} not named: ${run.error.message}`);
        return { problem, message: run.error.message };
    };

    it("a key set without --path (`pulumi config set mtls.enabled true`): the exact commands that fix it", async () => {
        const { problem } = await problemOf({ "akko-mtls:mtls.enabled": "true" }, "akko-mtls:mtls.enabled");
        assert.equal(
            problem.message,
            'was set without --path: Pulumi stored one key named "mtls.enabled", which the config does not have. ' +
                "Fix: pulumi config rm akko-mtls:mtls.enabled && pulumi config set --path mtls.enabled true",
        );
        const text = await problemOf({ "akko-mtls:viz.dashboard.ingress.className": "nginx public" }, "akko-mtls:viz.dashboard.ingress.className");
        assert.match(
            text.problem.message,
            /Fix: pulumi config rm akko-mtls:viz\.dashboard\.ingress\.className && pulumi config set --path viz\.dashboard\.ingress\.className 'nginx public'$/,
        );
        // A list (or object) given whole: --path would keep its JSON as text, so item by item.
        const list = await problemOf({ "akko-mtls:mtls.namespaces": '["akko","spark"]' }, "akko-mtls:mtls.namespaces");
        assert.match(
            list.problem.message,
            /Fix: pulumi config rm akko-mtls:mtls\.namespaces && pulumi config set --path 'mtls\.namespaces\[0\]' akko && pulumi config set --path 'mtls\.namespaces\[1\]' spark$/,
        );
        // Text that --path would store typed keeps the type the key wants with --type string.
        const label = await problemOf({ "akko-mtls:observability.grafanaDashboards.labelValue": "1" }, "akko-mtls:observability.grafanaDashboards.labelValue");
        assert.match(label.problem.message, /&& pulumi config set --type string --path observability\.grafanaDashboards\.labelValue 1$/);
    });

    it("a secret set without --path: the fix keeps it secret and never shows it", async () => {
        const { problem, message } = await problemOf(
            { "akko-mtls:observability.runbookUrl": "https://wiki/secret-token-123" },
            "akko-mtls:observability.runbookUrl",
            ["akko-mtls:observability.runbookUrl"],
        );
        assert.match(problem.message, /pulumi config set --secret --path observability\.runbookUrl <value>$/);
        assert.ok(!message.includes("secret-token-123"));
    });

    it("a secret section's wrong type: a hint without the value", async () => {
        const entries = { "akko-mtls:observability": JSON.stringify({ runbookUrl: 12345678, prometheusOperator: "true" }) };
        const run = await runRaw(entries, ["akko-mtls:observability"]);
        assert.ok(run.error instanceof ConfigError);
        assert.ok(!run.error.message.includes("12345678"), run.error.message);
        const operator = run.error.problems.find((p) => p.key === "akko-mtls:observability.prometheusOperator")!;
        assert.equal(
            operator.message,
            "expected boolean: a secret stored as text; set it typed with pulumi config set --secret --path observability.prometheusOperator <value>",
        );
    });

    it("an unknown key with a dot whose first part is no key: the plain unknown-key message", async () => {
        const { problem } = await problemOf({ "akko-mtls:mtsl.enabled": "true" }, "akko-mtls:mtsl.enabled");
        assert.match(problem.message, /^unknown key; allowed here: target, cluster, mtls/);
    });

    it("a number or boolean stored as text: the --path command that stores it typed", async () => {
        const number = await runStack("netcup", { "identity.issuer.static.validityHours": "8760" });
        assert.ok(number.error instanceof ConfigError);
        const validity = number.error.problems.find((p) => p.key === "akko-mtls:identity.issuer.static.validityHours")!;
        assert.match(
            validity.message,
            /^expected number, got the text "8760": write it without quotes in the stack file, or run pulumi config set --path identity\.issuer\.static\.validityHours 8760 \(with --path, integers and true\/false are stored typed/,
        );
        const negative = await runStack("netcup", { "rotationJob.windowHours": "-1" });
        assert.ok(negative.error instanceof ConfigError);
        assert.match(negative.error.problems[0].message, /pulumi config set --path rotationJob\.windowHours -- -1 /, "a negative number is no flag");
        const decimal = await runStack("netcup", { "rotationJob.windowHours": "1.5" });
        assert.ok(decimal.error instanceof ConfigError);
        assert.equal(decimal.error.problems[0].message, "expected number", "--path would store 1.5 as text too: no command to offer");
        const zero = await runStack("netcup", { "rotationJob.deadlineMinutes": "050" });
        assert.ok(zero.error instanceof ConfigError);
        assert.match(zero.error.problems[0].message, /pulumi config set --path rotationJob\.deadlineMinutes 50 /, "a leading zero is what made it text");
        const bool = await runStack("netcup", { "mtls.enabled": "true" });
        assert.ok(bool.error instanceof ConfigError);
        assert.match(
            bool.error.problems[0].message,
            /^expected boolean, got the text "true": .*pulumi config set --path mtls\.enabled true \(with --path, true and false are stored typed/,
        );
        // A port is a number or a name; "8080" is no name (a name has a letter): the number was meant.
        const inList = await runStack("netcup", { ...STRICT, "mtls.authorizations": [{ ...TRINO, port: "8080" }] });
        assert.ok(inList.error instanceof ConfigError, String(inList.error));
        assert.match(
            inList.error.problems[0].message,
            /^a port number, or a port name .*, got the text "8080": .*pulumi config set --path 'mtls\.authorizations\[0\]\.port' 8080/,
        );
        const phase = await runStack("netcup", { "identity.trustAnchor.rotationPhase": "1" });
        assert.ok(phase.error instanceof ConfigError);
        assert.match(
            phase.error.problems[0].message,
            /^allowed: 0, 1, 2, 3, got the text "1": .*pulumi config set --path identity\.trustAnchor\.rotationPhase 1/,
        );
        const yes = await runStack("netcup", { "mtls.enabled": "yes" });
        assert.ok(yes.error instanceof ConfigError);
        assert.equal(yes.error.problems[0].message, "expected boolean", "no hint for text that is no boolean");
    });

    it("text where an object or a list is expected: set its keys or items one by one", async () => {
        const object = await runStack("netcup", { "linkerd.proxy.resources": "100m" });
        assert.ok(object.error instanceof ConfigError);
        assert.match(
            object.error.problems[0].message,
            /^expected object, got the text "100m": this key holds the keys cpu, memory; set each one with pulumi config set --path linkerd\.proxy\.resources\.cpu\.request <value>/,
        );
        const json = await runStack("netcup", { "mtls.ingress": '{"enabled":true}' });
        assert.ok(json.error instanceof ConfigError);
        assert.match(json.error.problems[0].message, /^expected object, got JSON as text: .*pulumi config set --path mtls\.ingress\.enabled <value>/);
        const top = await runRaw({ "akko-mtls:mtls": "true" });
        assert.ok(top.error instanceof ConfigError);
        assert.match(top.error.problems[0].message, /^expected object, got the value true: this key holds the keys enabled, namespaces/);
        const map = await runStack("netcup", { "observability.ruleLabels": "release" });
        assert.ok(map.error instanceof ConfigError);
        assert.match(
            map.error.problems[0].message,
            /^expected record, .*a map; set each one with pulumi config set --path 'observability\.ruleLabels\.<key>' <value>/,
        );
        const list = await runStack("netcup", { "mtls.namespaces": '["akko","spark"]' });
        assert.ok(list.error instanceof ConfigError);
        assert.match(
            list.error.problems[0].message,
            /^expected array, .*set each item, pulumi config set --path 'mtls\.namespaces\[0\]' akko && pulumi config set --path 'mtls\.namespaces\[1\]' spark/,
        );
    });
});
