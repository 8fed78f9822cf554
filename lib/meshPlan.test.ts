/**
 * What a deploying run decides (lib/meshPlan.ts), on configs resolved as a stack's would be: who
 * scrapes the proxies, which authorizations exist, the inbound policy each namespace gets and the
 * one the maintenance Jobs expect, what each rotation phase and drain step runs, the operator's hints.
 */
import { strict as assert } from "node:assert";
import { resolveConfig } from "../config";
import { planMesh, type MeshState } from "./meshLifecycle";
import { INBOUND_POLICY, inboundPolicy, meshAnnotations, planDeployment, policyIn } from "./meshPlan";
import { LINKERD_ANNOTATIONS, LINKERD_OBJECTS, NAMESPACES, PORTS } from "./registry";

const AUTHORIZATIONS = [
    {
        namespace: "akko",
        name: "trino",
        podSelector: { app: "trino" },
        port: 8080,
        clients: ["spark.spark.serviceaccount.identity.linkerd.cluster.local"],
    },
    {
        namespace: "spark",
        name: "spark-connect-health",
        podSelector: { app: "spark-connect" },
        port: 15002,
        networks: ["10.42.0.0/16"],
    },
];

/** A stack's config (target preset, then these values), and the plan of a run after `previous`. */
function deployment(values: Record<string, unknown>, options: { previous?: MeshState; rotationPhase?: number } = {}) {
    const { mtls, ...rest } = values;
    const config = resolveConfig({
        target: "eks",
        cluster: { context: "test" },
        ...rest,
        mtls: { enabled: true, namespaces: ["akko", "spark"], ...(typeof mtls === "object" ? mtls : {}) },
    });
    const mesh = planMesh(config.mtls, options.previous);
    return planDeployment({
        config,
        mesh,
        rotationPhase: options.rotationPhase ?? 0,
        webhookTrust: { step: "program", record: "program-ca" },
    });
}

const EXTERNAL_PROMETHEUS = {
    mode: "external",
    url: "http://prometheus.monitoring.svc:9090",
    alertmanagers: [],
    scraper: {
        namespace: "monitoring",
        podSelector: { app: "prometheus" },
        authentication: { networks: ["10.0.0.0/16"] },
    },
};

describe("mesh plan (lib/meshPlan.ts)", () => {
    it("egress: the namespaces' annotations and what the rollout expects follow each namespace's mode; drained namespaces get none", () => {
        const plan = deployment({
            mtls: { egress: { mode: "enforce" }, namespaceOptions: { spark: { egress: { mode: "audit" } } } },
        });
        const proxy = (namespace: string) => plan.namespaces.find((n) => n.name === namespace)!.proxy;
        assert.deepEqual(plan.egress.enforced, ["akko"]);
        assert.deepEqual(plan.egress.audited, ["spark"]);
        assert.equal(proxy("akko")!.egressMode, "enforce");
        assert.deepEqual(plan.maintenance.expectedAnnotations, {
            akko: {
                "config.linkerd.io/proxy-metrics-hostname-labels": "true",
                "config.linkerd.io/skip-outbound-ports": "",
            },
            spark: { "config.linkerd.io/proxy-metrics-hostname-labels": "true" },
        });
        assert.ok(plan.egress.installTlsRoutes, "EKS installs Gateway API's CRDs, and so TLSRoute");
        const drained = deployment(
            { mtls: { enabled: false, egress: { mode: "enforce" } } },
            { previous: { phase: "on", namespaces: ["akko", "spark"], mode: "permissive" } },
        );
        assert.deepEqual(drained.egress.namespaces, []);
    });

    it("the inbound policy: the annotation a namespace gets is the policy the maintenance Jobs expect of it", () => {
        assert.deepEqual(INBOUND_POLICY, { permissive: "all-unauthenticated", strict: "all-authenticated" });
        for (const mode of ["permissive", "strict"] as const) {
            const plan = deployment({ mtls: { mode, authorizations: mode === "strict" ? AUTHORIZATIONS : [] } });
            for (const namespace of plan.namespaces) {
                // No annotation: the control plane's default, the chart's all-unauthenticated.
                const annotated =
                    meshAnnotations(namespace.inject, namespace.mode)[LINKERD_ANNOTATIONS.defaultInboundPolicy] ??
                    INBOUND_POLICY.permissive;
                assert.equal(
                    plan.maintenance.expectedInboundPolicy[namespace.name],
                    annotated,
                    `${mode} ${namespace.name}`,
                );
                assert.equal(annotated, inboundPolicy(mode));
            }
        }
    });

    it("the scraper: viz's own Prometheus when bundled, else the one the config names", () => {
        assert.deepEqual(deployment({}).scraper, {
            namespace: NAMESPACES.viz,
            podSelector: { "linkerd.io/extension": "viz", component: "prometheus" },
        });
        const external = deployment({
            viz: { prometheus: EXTERNAL_PROMETHEUS },
            observability: { prometheusOperator: true },
        });
        assert.equal(external.bundledPrometheus, false);
        assert.deepEqual(external.scraper, { namespace: "monitoring", podSelector: { app: "prometheus" } });
        assert.notEqual(
            external.podMonitor,
            undefined,
            "the operator's Prometheus finds the proxies through PodMonitors",
        );
        assert.equal(
            deployment({ observability: { prometheusOperator: true } }).podMonitor,
            undefined,
            "viz's Prometheus scrapes them itself",
        );
        const noViz = deployment({
            viz: { enabled: false },
            observability: { prometheusOperator: true, grafanaDashboards: { namespace: "monitoring" } },
        });
        assert.equal(noViz.viz, undefined);
        assert.deepEqual(noViz.scraper, {
            namespace: "monitoring",
            podSelector: { "app.kubernetes.io/name": "prometheus" },
        });
        assert.deepEqual(noViz.maintenance.meshedNamespaces, ["akko", "spark"], "no viz pods to restart");
        assert.deepEqual(deployment({}).maintenance.meshedNamespaces, ["akko", "spark", NAMESPACES.viz]);
    });

    it("authorizations: the config's in strict namespaces, plus the admin Server for an unmeshed external scraper; none permissive", () => {
        const strict = deployment({
            mtls: { mode: "strict", authorizations: AUTHORIZATIONS },
            viz: { prometheus: EXTERNAL_PROMETHEUS },
            observability: { prometheusOperator: true },
        });
        const byName = Object.fromEntries(strict.namespaces.map((n) => [n.name, n.authorizations.map((a) => a.name)]));
        assert.deepEqual(byName, {
            akko: ["trino", LINKERD_OBJECTS.scraperServer],
            spark: ["spark-connect-health", LINKERD_OBJECTS.scraperServer],
        });
        const admin = strict.namespaces[0].authorizations[1];
        assert.deepEqual([admin.port, admin.networks], [PORTS.proxyAdmin, ["10.0.0.0/16"]]);
        assert.ok(strict.namespaces.every((n) => n.strictPreflight));
        assert.deepEqual(strict.maintenance.strict?.probeAuthorizations, [
            { namespace: "spark", podSelector: { app: "spark-connect" }, port: 15002 },
        ]);
        const bundled = deployment({ mtls: { mode: "strict", authorizations: AUTHORIZATIONS } });
        assert.deepEqual(
            bundled.namespaces.map((n) => n.authorizations.map((a) => a.name)),
            [["trino"], ["spark-connect-health"]],
            "viz's own Prometheus is meshed",
        );
        const permissive = deployment({});
        assert.ok(permissive.namespaces.every((n) => n.authorizations.length === 0 && !n.strictPreflight));
        assert.equal(permissive.maintenance.strict, undefined);
    });

    it("a drain: strict policies and authorizations go first, then the proxies; drained namespaces are only restarted", () => {
        const on: MeshState = { phase: "on", namespaces: ["akko", "spark"], mode: "strict" };
        const step1 = deployment(
            { mtls: { enabled: false, mode: "strict", authorizations: AUTHORIZATIONS } },
            { previous: on },
        );
        assert.ok(step1.namespaces.every((n) => n.inject && n.mode === "permissive" && n.authorizations.length === 0));
        assert.deepEqual(step1.maintenance.expectedInboundPolicy, {
            akko: INBOUND_POLICY.permissive,
            spark: INBOUND_POLICY.permissive,
        });
        const step2 = deployment(
            { mtls: { enabled: false } },
            { previous: { ...on, phase: "draining-policy", mode: "permissive" } },
        );
        assert.ok(step2.namespaces.every((n) => !n.inject && n.proxy === undefined));
        assert.deepEqual(step2.maintenance.unmeshedNamespaces, ["akko", "spark"]);
        assert.deepEqual(step2.maintenance.expectedInboundPolicy, {});
    });

    it("rotation phases: identity reloads in phase 2, the gate runs in phase 3, neither otherwise", () => {
        for (const phase of [0, 1, 2, 3]) {
            const { maintenance } = deployment({}, { rotationPhase: phase });
            assert.deepEqual(
                [maintenance.reloadIdentity, maintenance.rotationGate],
                [phase === 2, phase === 3],
                `phase ${phase}`,
            );
        }
    });

    it("platform policies only with linkerd.networkPolicies; cert-manager's only when the stack installs it; the CNI plugin's with the plugin", () => {
        assert.deepEqual(deployment({}).platformPolicies, []);
        const installed = deployment({
            linkerd: { networkPolicies: true, cni: { enabled: true } },
            identity: { issuer: { mode: "certManager" } },
        });
        assert.deepEqual(
            installed.platformPolicies.map((p) => p.namespace),
            [NAMESPACES.controlPlane, NAMESPACES.viz, "cert-manager", NAMESPACES.cni, NAMESPACES.maintenance],
        );
        assert.equal(policyIn(installed, NAMESPACES.cni)?.name, "linkerd-cni");
        const existing = deployment({
            linkerd: { networkPolicies: true },
            identity: { issuer: { mode: "certManager" } },
            certManager: { install: false },
        });
        assert.equal(policyIn(existing, "cert-manager"), undefined);
    });

    it("hints: the GKE firewall rule only on a private GKE cluster; alerts routed nowhere: a warning, a note on one node", () => {
        assert.equal(deployment({}).warnings.gkeFirewall, undefined);
        const gke = deployment({
            target: "gke",
            cluster: {
                context: "gke",
                gkePrivate: { masterIpv4CidrBlock: "172.16.0.0/28", network: "akko-vpc", nodeTag: "gke-akko" },
            },
        });
        assert.match(
            gke.warnings.gkeFirewall ?? "",
            /--network akko-vpc .*--source-ranges 172\.16\.0\.0\/28 --target-tags gke-akko --allow tcp:8443,tcp:8089,tcp:9443$/,
        );
        assert.equal(deployment({}).warnings.alertRouting?.level, "warn");
        assert.equal(deployment({ target: "k3s" }).warnings.alertRouting?.level, "info");
        assert.equal(
            deployment({ viz: { prometheus: { alertmanagers: ["http://alertmanager.monitoring.svc:9093"] } } }).warnings
                .alertRouting,
            undefined,
        );
    });
});
