/**
 * Meshing real AKKO namespaces and the ingress hop: annotations, NetworkPolicies that only add,
 * port segmentation, Pod Security, the CNI plugin, the ingress controller, strict mode that keeps
 * workloads alive, the injector's scope, and the orderings of a safe enable and a safe disable.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import YAML from "yaml";
import { meshAnnotations, proxyAnnotations } from "../lib/meshPlan";
import { ConfigError } from "../config";
import {
    defaultCluster,
    dependsOn,
    kubernetesObjects,
    ofType,
    one,
    ProgramRun,
    ProviderState,
    reads,
} from "../tools/mockRuntime";
import type { MeshState } from "../lib/meshLifecycle";
import { meshedNamespacePolicies, platformPolicies } from "../lib/networkPolicies";
import { admissionRefusals, podSecurityProblem, PodSecurityRefusal } from "../lib/podSecurity";
import { runStack, runStackOk, STRICT } from "./helpers";
import { LINKERD_EDGE } from "../lib/registry";

const PATCH = "kubernetes:core/v1:NamespacePatch";
const POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const CHART = "kubernetes:helm.sh/v4:Chart";
const JOB = "kubernetes:batch/v1:Job";
const SERVER = "kubernetes:policy.linkerd.io/v1beta3:Server";
const AUTHZ = "kubernetes:policy.linkerd.io/v1alpha1:AuthorizationPolicy";
const MESHTLS = "kubernetes:policy.linkerd.io/v1alpha1:MeshTLSAuthentication";
const NETAUTH = "kubernetes:policy.linkerd.io/v1alpha1:NetworkAuthentication";
const HELM_CHART_CONFIG = "kubernetes:helm.cattle.io/v1:HelmChartConfig";

const envOf = (job: { inputs: any }): Record<string, string> =>
    Object.fromEntries(
        job.inputs.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]),
    );
const rollout = (run: ProgramRun) => one(run, JOB, "akko-maintenance-rollout");
const rolloutEnv = (run: ProgramRun) => envOf(rollout(run));
const state = (run: ProgramRun) => run.outputs.meshState.value as MeshState;
const controlPlaneValues = (run: ProgramRun) => one(run, CHART, "akko-linkerd-control-plane").inputs.values;
const portsOf = (rules: any[]) => rules.map((r) => (r.ports ?? []).map((p: any) => `${p.protocol}/${p.port}`));

describe("meshed namespaces", () => {
    let permissive: ProgramRun;
    let strict: ProgramRun;
    before(async () => {
        permissive = await runStackOk("netcup", { "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] });
        strict = await runStackOk("netcup", STRICT);
    });

    it("reads each namespace first (it must exist), then patches it (server-side apply), never creates or owns it", async () => {
        assert.deepEqual(
            reads(permissive, "kubernetes:core/v1:Namespace")
                .map((r) => r.state.metadata.name)
                .sort(),
            ["akko", "kube-system", "spark"],
        );
        assert.deepEqual(
            ofType(permissive, PATCH)
                .map((p) => p.inputs.metadata.name)
                .sort(),
            ["akko", "spark"],
        );
        const created = ofType(permissive, "kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata.name);
        assert.ok(!created.includes("akko") && !created.includes("spark"));
        const missing = await runStack(
            "netcup",
            { "mtls.enabled": true },
            { cluster: { objects: {}, missingNamespaces: ["akko"] } },
        );
        assert.match(String(missing.error), /resource 'akko' does not exist/, "a patch would have created it");
    });

    it("permissive: injection and native sidecars; strict: default inbound policy all-authenticated", () => {
        assert.deepEqual(one(permissive, PATCH, "akko-mesh-akko-annotations").inputs.metadata.annotations, {
            "linkerd.io/inject": "enabled",
            "config.linkerd.io/proxy-enable-native-sidecar": "true",
            "pulumi.com/patchForce": "true",
        });
        assert.deepEqual(one(strict, PATCH, "akko-mesh-akko-annotations").inputs.metadata.annotations, {
            "linkerd.io/inject": "enabled",
            "config.linkerd.io/proxy-enable-native-sidecar": "true",
            "config.linkerd.io/default-inbound-policy": "all-authenticated",
            "pulumi.com/patchForce": "true",
        });
        assert.equal(state(strict).mode, "strict");
    });

    it("per namespace: opaque (added to Linkerd's defaults, which the annotation replaces) and skipped ports as the injector's annotations, and the rollout restarts pods created before them", async () => {
        const run = await runStackOk("netcup", {
            "mtls.enabled": true,
            "mtls.namespaces": ["akko", "data"],
            "mtls.namespaceOptions": {
                data: { opaquePorts: [9092, 3306], skipInboundPorts: [9042], skipOutboundPorts: [25] },
            },
        });
        assert.deepEqual(one(run, PATCH, "akko-mesh-data-annotations").inputs.metadata.annotations, {
            "linkerd.io/inject": "enabled",
            "config.linkerd.io/proxy-enable-native-sidecar": "true",
            "config.linkerd.io/opaque-ports": "25,587,3306,4444,5432,6379,9092,9300,11211",
            "config.linkerd.io/skip-inbound-ports": "9042",
            "config.linkerd.io/skip-outbound-ports": "25",
            "pulumi.com/patchForce": "true",
        });
        assert.deepEqual(JSON.parse(rolloutEnv(run).EXPECTED_ANNOTATIONS), {
            data: {
                "config.linkerd.io/opaque-ports": "25,587,3306,4444,5432,6379,9092,9300,11211",
                "config.linkerd.io/skip-inbound-ports": "9042",
                "config.linkerd.io/skip-outbound-ports": "25",
            },
        });
        assert.deepEqual(proxyAnnotations({}), {});
        assert.deepEqual(meshAnnotations(false, "strict", { opaquePorts: [1] })["linkerd.io/inject"], "disabled");
        const unknown = await runStack("netcup", { "mtls.namespaceOptions": { spark: { opaquePorts: [5432] } } });
        assert.ok(
            unknown.error instanceof ConfigError &&
                unknown.error.problems.some((p) => p.key === "akko-mtls:mtls.namespaceOptions.spark"),
        );
    });

    it("strict mode: Server + MeshTLSAuthentication (with the serving workload's own identity) + AuthorizationPolicy per entry", () => {
        const servers = ofType(strict, SERVER);
        assert.deepEqual(servers.map((s) => `${s.inputs.metadata.namespace}/${s.inputs.metadata.name}`).sort(), [
            "akko/trino",
            "spark/spark-connect",
            "spark/spark-connect-health",
        ]);
        const trino = one(strict, SERVER, "akko-mesh-akko-server-trino");
        assert.deepEqual(trino.inputs.spec, {
            podSelector: { matchLabels: { "app.kubernetes.io/name": "trino" } },
            port: 8080,
            proxyProtocol: "HTTP/1",
        });
        assert.deepEqual(one(strict, MESHTLS, "akko-mesh-akko-clients-trino").inputs.spec.identities, [
            "trino.akko.serviceaccount.identity.linkerd.cluster.local",
            ...STRICT["mtls.authorizations"][0].clients!,
        ]);
        assert.deepEqual(one(strict, AUTHZ, "akko-mesh-akko-authorization-trino").inputs.spec, {
            targetRef: { group: "policy.linkerd.io", kind: "Server", name: "trino" },
            requiredAuthenticationRefs: [
                { group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: "trino-clients" },
            ],
        });
        assert.equal(ofType(permissive, SERVER).length, 0);
    });

    it("strict mode: a probe Linkerd does not authorize itself (gRPC) gets a NetworkAuthentication of the probe network", () => {
        assert.deepEqual(one(strict, NETAUTH, "akko-mesh-spark-clients-spark-connect-health").inputs.spec, {
            networks: [{ cidr: "10.42.0.0/16" }],
        });
        assert.deepEqual(
            one(strict, AUTHZ, "akko-mesh-spark-authorization-spark-connect-health").inputs.spec
                .requiredAuthenticationRefs,
            [{ group: "policy.linkerd.io", kind: "NetworkAuthentication", name: "spark-connect-health-clients" }],
        );
    });

    it("strict mode: a preflight Job proves nothing would be refused before the namespaces' policy changes", () => {
        const preflight = one(strict, JOB, "akko-maintenance-preflight");
        const env = envOf(preflight);
        assert.equal(env.TASKS, "strict-preflight");
        assert.equal(env.STRICT_NAMESPACES, "akko,spark");
        assert.deepEqual(JSON.parse(env.PROBE_AUTHORIZATIONS), [
            { namespace: "spark", podSelector: { "app.kubernetes.io/name": "spark-connect" }, port: 15002 },
        ]);
        assert.equal(env.INGRESS_MESHED, "true", "k3s' Traefik is meshed on netcup");
        assert.equal(preflight.inputs.metadata.annotations["pulumi.com/replaceUnready"], "true");
        for (const namespace of ["akko", "spark"]) {
            assert.ok(
                dependsOn(strict, one(strict, PATCH, `akko-mesh-${namespace}-annotations`), preflight),
                `${namespace}'s policy waits for the preflight`,
            );
        }
        assert.ok(dependsOn(strict, rollout(strict), preflight));
        assert.deepEqual(
            ofType(permissive, JOB).filter((j) => j.name === "akko-maintenance-preflight"),
            [],
            "permissive needs none",
        );
    });

    it("safe enable: after the control plane and the annotations, a Job restarts what started before injection", () => {
        const job = rollout(strict);
        for (const dependency of [
            one(strict, CHART, "akko-linkerd-control-plane"),
            one(strict, PATCH, "akko-mesh-akko-annotations"),
            one(strict, PATCH, "akko-mesh-spark-annotations"),
            one(strict, SERVER, "akko-mesh-akko-server-trino"),
            one(strict, AUTHZ, "akko-mesh-spark-authorization-spark-connect"),
            one(strict, HELM_CHART_CONFIG, "akko-ingress-traefik-config"),
        ]) {
            assert.ok(dependsOn(strict, job, dependency), `rollout waits for ${dependency.name}`);
        }
        for (const object of [...ofType(strict, SERVER), ...ofType(strict, AUTHZ), ...ofType(strict, MESHTLS)]) {
            assert.ok(
                dependsOn(strict, object, one(strict, CHART, "akko-linkerd-control-plane")),
                `${object.name} waits for the policy validator`,
            );
        }
        const env = rolloutEnv(strict);
        assert.equal(
            env.TASKS,
            "certificates,control-plane,restarts,verify-bundle",
            "the certificates are checked before anything restarts",
        );
        assert.equal(env.MESHED_NAMESPACES, "akko,spark,linkerd-viz");
        assert.deepEqual(JSON.parse(env.EXPECTED_INBOUND_POLICY), {
            akko: "all-authenticated",
            spark: "all-authenticated",
        });
        assert.deepEqual(JSON.parse(env.INGRESS), {
            namespace: "kube-system",
            selector: "app.kubernetes.io/name=traefik",
            inject: true,
            deployment: "traefik",
        });
        assert.equal(env.PROXY_VERSION, LINKERD_EDGE, "proxies of another version are restarted, a few a run");
        assert.match(job.inputs.metadata.name, /^linkerd-mesh-rollout-[0-9a-f]{10}$/);
        assert.notEqual(
            job.inputs.metadata.name,
            rollout(permissive).inputs.metadata.name,
            "a mode switch runs a new Job",
        );
    });

    it("the same mesh config keeps the same rollout Job (no diff, no restart on every up)", async () => {
        const state = new ProviderState();
        const first = await runStackOk(
            "netcup",
            { "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] },
            { state },
        );
        const again = await runStackOk(
            "netcup",
            { "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] },
            { state },
        );
        assert.equal(rollout(again).inputs.metadata.name, rollout(first).inputs.metadata.name);
    });
});

describe("NetworkPolicies that only add", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStackOk("netcup", { "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] });
    });

    it("by default ingress only: the namespace's egress (DNS, the API server, the outside) is never newly isolated", () => {
        const policy = one(run, POLICY, "akko-mesh-akko-mesh");
        assert.equal(policy.inputs.metadata.namespace, "akko");
        assert.deepEqual(policy.inputs.spec.podSelector, {});
        assert.deepEqual(policy.inputs.spec.policyTypes, ["Ingress"]);
        assert.equal(policy.inputs.spec.egress, undefined);
    });

    it("admits what reaches the proxies only: 4191 from the scraper, 4190 from tap; never the proxy port 4143 to the whole mesh", () => {
        const [admin, tap, ...rest] = one(run, POLICY, "akko-mesh-akko-mesh").inputs.spec.ingress;
        assert.deepEqual(portsOf([admin, tap]), [["TCP/4191"], ["TCP/4190"]]);
        assert.deepEqual(rest, []);
        assert.deepEqual(admin.from[0].podSelector.matchLabels, {
            "linkerd.io/extension": "viz",
            component: "prometheus",
        });
        assert.deepEqual(tap.from[0].podSelector.matchLabels, { "linkerd.io/extension": "viz", component: "tap" });
    });

    it("the scraper is the Prometheus actually configured: an external one by its namespace and labels", async () => {
        const external = await runStackOk("eks", {
            "mtls.enabled": true,
            "viz.prometheus.mode": "external",
            "viz.prometheus.alertmanagers": [],
            "viz.prometheus.url": "http://prometheus.observability.svc:9090",
            "viz.prometheus.scraper": {
                namespace: "observability",
                podSelector: { app: "prometheus", release: "kps" },
            },
            "observability.prometheusOperator": true,
        });
        const admin = one(external, POLICY, "akko-mesh-akko-mesh").inputs.spec.ingress[0];
        assert.deepEqual(admin, {
            from: [
                {
                    namespaceSelector: {
                        matchExpressions: [
                            { key: "kubernetes.io/metadata.name", operator: "In", values: ["observability"] },
                        ],
                    },
                    podSelector: { matchLabels: { app: "prometheus", release: "kps" } },
                },
            ],
            ports: [{ protocol: "TCP", port: 4191 }],
        });
    });

    it("denyEgress: an egress part with DNS and the control plane", async () => {
        const denying = await runStackOk("netcup", {
            "mtls.enabled": true,
            "mtls.namespaceOptions": { akko: { denyEgress: true } },
        });
        const spec = one(denying, POLICY, "akko-mesh-akko-mesh").inputs.spec;
        assert.deepEqual(spec.policyTypes, ["Ingress", "Egress"]);
        assert.deepEqual(portsOf(spec.egress), [
            ["UDP/53", "TCP/53"],
            ["TCP/8080", "TCP/8086", "TCP/8090"],
        ]);
        assert.deepEqual(spec.egress[0].to[0].podSelector.matchLabels, { "k8s-app": "kube-dns" });
        assert.deepEqual(spec.egress[1].to[0].namespaceSelector.matchExpressions[0].values, ["linkerd"]);
    });

    it("a namespace whose policies isolate nothing gets no policy at all; egress only, an Egress policy only", async () => {
        const open = await runStackOk("netcup", {
            "mtls.enabled": true,
            "mtls.namespaceOptions": { akko: { denyIngress: false } },
        });
        assert.deepEqual(
            ofType(open, POLICY).filter((p) => p.inputs.metadata.namespace === "akko"),
            [],
        );
        const egressOnly = await runStackOk("netcup", {
            "mtls.enabled": true,
            "mtls.namespaceOptions": { akko: { denyIngress: false, denyEgress: true } },
        });
        assert.deepEqual(one(egressOnly, POLICY, "akko-mesh-akko-mesh").inputs.spec.policyTypes, ["Egress"]);
    });

    it("an opaque rule of the namespace is mirrored onto 4143: same pods, same peers, one policy per podSelector", async () => {
        const pg = {
            podSelector: { matchLabels: { app: "pg" } },
            ports: [5432],
            from: [{ podSelector: { matchLabels: { app: "hive" } } }],
        };
        const redis = {
            podSelector: { matchLabels: { app: "pg" } },
            ports: [6379],
            from: [{ namespaceSelector: { matchLabels: { team: "bi" } } }],
        };
        const mirrored = await runStackOk("netcup", {
            "mtls.enabled": true,
            "mtls.namespaceOptions": { akko: { opaqueIngress: [redis, pg] } },
        });
        const mirrors = ofType(mirrored, POLICY).filter((p) =>
            p.inputs.metadata.name.startsWith("linkerd-mesh-opaque-"),
        );
        assert.equal(mirrors.length, 1);
        assert.match(mirrors[0].name, /^akko-mesh-akko-mesh-opaque-[0-9a-f]{10}$/);
        assert.deepEqual(mirrors[0].inputs.spec, {
            podSelector: { matchLabels: { app: "pg" } },
            policyTypes: ["Ingress"],
            ingress: [
                {
                    from: [{ namespaceSelector: { matchLabels: { team: "bi" } } }],
                    ports: [{ protocol: "TCP", port: 4143 }],
                },
                { from: [{ podSelector: { matchLabels: { app: "hive" } } }], ports: [{ protocol: "TCP", port: 4143 }] },
            ],
        });
        const reordered = await runStackOk("netcup", {
            "mtls.enabled": true,
            "mtls.namespaceOptions": { akko: { opaqueIngress: [pg, redis] } },
        });
        assert.deepEqual(
            ofType(reordered, POLICY).map((p) => [p.name, p.inputs]),
            ofType(mirrored, POLICY).map((p) => [p.name, p.inputs]),
            "the config's order changes nothing",
        );
    });

    it("the mesh's policies and the annotations wait for the network preflight Job, which waits for nothing of the control plane", () => {
        const preflight = one(run, JOB, "akko-maintenance-network-preflight");
        const env = envOf(preflight);
        assert.equal(env.TASKS, "network-posture");
        const posture = JSON.parse(env.NETWORK_POSTURE);
        assert.deepEqual(Object.keys(posture), ["akko", "spark"]);
        assert.deepEqual(posture.akko, {
            denyIngress: true,
            denyEgress: false,
            opaqueIngress: [],
            opaqueEgress: [],
            opaquePorts: [25, 587, 3306, 4444, 5432, 6379, 9300, 11211],
        });
        for (const namespace of ["akko", "spark"]) {
            assert.ok(
                dependsOn(run, one(run, PATCH, `akko-mesh-${namespace}-annotations`), preflight),
                `${namespace}'s annotations wait`,
            );
            assert.ok(
                dependsOn(run, one(run, POLICY, `akko-mesh-${namespace}-mesh`), preflight),
                `${namespace}'s policy waits`,
            );
        }
        assert.ok(
            !dependsOn(run, preflight, one(run, CHART, "akko-linkerd-control-plane")),
            "it fails the up before the control plane is needed",
        );
        const roles = ofType(run, "kubernetes:rbac.authorization.k8s.io/v1:Role").filter((r) =>
            r.name.startsWith("akko-maintenance-network-"),
        );
        assert.deepEqual(
            roles.map((r) => [r.inputs.metadata.namespace, r.inputs.rules]),
            ["akko", "spark"].map((ns) => [
                ns,
                [{ apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["list"] }],
            ]),
            "it may list NetworkPolicies in the meshed namespaces, nothing else",
        );
        const script = one(run, "kubernetes:core/v1:ConfigMap", "akko-maintenance-script");
        assert.deepEqual(
            Object.keys(script.inputs.data).sort(),
            ["contract.cjs", "contract.json", "mesh-check.mjs", "networkPolicy.cjs", "remoteTrust.mjs"],
            "the evaluator, the contract and the remote trust check (it imports it) are mounted beside the script",
        );
    });

    it("mtls.networkPolicies false: none", async () => {
        assert.deepEqual(
            ofType(await runStackOk("netcup", { "mtls.enabled": true, "mtls.networkPolicies": false }), POLICY),
            [],
        );
    });

    it("linkerd.networkPolicies: the control plane, viz, cert-manager, the CNI plugin and the Jobs, for default-deny everywhere", async () => {
        assert.equal(ofType(run, POLICY).filter((p) => p.name.endsWith("network-policy")).length, 0, "off by default");
        const all = await runStackOk("netcup", {
            "mtls.enabled": true,
            "linkerd.networkPolicies": true,
            "linkerd.cni.enabled": true,
        });
        const byNamespace = Object.fromEntries(
            ofType(all, POLICY)
                .filter((p) => p.name.endsWith("network-policy"))
                .map((p) => [p.inputs.metadata.namespace, p.inputs.spec]),
        );
        assert.deepEqual(Object.keys(byNamespace).sort(), [
            "cert-manager",
            "linkerd",
            "linkerd-cni",
            "linkerd-maintenance",
            "linkerd-viz",
        ]);
        for (const spec of Object.values<any>(byNamespace)) assert.deepEqual(spec.policyTypes, ["Ingress", "Egress"]);
        const cp = byNamespace.linkerd;
        assert.ok(
            cp.ingress.some((r: any) => !r.from && portsOf([r])[0].join() === "TCP/8443,TCP/9443"),
            "webhooks from the API server",
        );
        assert.ok(
            cp.egress.some((r: any) => !r.to && portsOf([r])[0].join() === "TCP/443,TCP/6443"),
            "to the API server",
        );
        assert.ok(
            cp.egress.some((r: any) => r.ports?.some((p: any) => p.port === 53)),
            "DNS",
        );
        assert.ok(
            byNamespace["cert-manager"].ingress.some((r: any) => !r.from && r.ports?.[0].port === 10250),
            "cert-manager's webhook",
        );
        assert.ok(
            byNamespace["linkerd-viz"].egress.some((r: any) => portsOf([r])[0].join() === "TCP/4191,TCP/4190,TCP/4143"),
            "Prometheus and tap reach the proxies",
        );
        const specs = platformPolicies({ controlPlaneNamespace: "linkerd", meshNamespaces: ["akko"] });
        assert.deepEqual(
            specs.map((s) => s.namespace),
            ["linkerd"],
        );
    });

    it("the builder: one policy per isolated direction's needs, none when nothing is isolated", () => {
        const posture = { denyIngress: false, denyEgress: false, opaqueIngress: [], opaqueEgress: [] };
        const base = { namespace: "x", controlPlaneNamespace: "linkerd", posture };
        assert.deepEqual(meshedNamespacePolicies(base), []);
        assert.deepEqual(
            meshedNamespacePolicies({ ...base, posture: { ...posture, denyIngress: true } }),
            [],
            "no scraper, no tap: nothing to admit",
        );
        assert.deepEqual(
            meshedNamespacePolicies({ ...base, posture: { ...posture, denyEgress: true } })[0].spec.policyTypes,
            ["Egress"],
        );
    });
});

describe("port segmentation, webhook scope, native sidecars", () => {
    it("meshed traffic keeps its application port on the wire (transparent), so port-level NetworkPolicies still apply", async () => {
        const values = controlPlaneValues(await runStackOk("netcup", { "mtls.enabled": true }));
        assert.equal(values.proxy.outboundTransportMode, "transparent");
        assert.equal(values.proxy.nativeSidecar, true);
        assert.deepEqual(values.proxy.securityContext.capabilities, { drop: ["ALL"] }, "restricted-compatible proxy");
    });

    it("the proxy injector is called for the namespaces the mesh owns only", async () => {
        const run = await runStackOk("eks", { "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] });
        assert.deepEqual(controlPlaneValues(run).proxyInjector.namespaceSelector, {
            matchExpressions: [
                { key: "kubernetes.io/metadata.name", operator: "In", values: ["akko", "spark", "linkerd-viz"] },
            ],
        });
        const k3s = await runStackOk("netcup", { "mtls.enabled": true });
        assert.deepEqual(controlPlaneValues(k3s).proxyInjector.namespaceSelector.matchExpressions[0].values, [
            "akko",
            "linkerd-viz",
            "kube-system",
        ]);
    });

    it("gke: iptables legacy (Container-Optimized OS lacks nf_tables); elsewhere nft", async () => {
        assert.equal(
            controlPlaneValues(await runStackOk("gke", { "mtls.enabled": true })).proxyInit.iptablesMode,
            "legacy",
        );
        for (const stack of ["k3d", "netcup", "eks"])
            assert.equal(
                controlPlaneValues(await runStackOk(stack, { "mtls.enabled": true })).proxyInit.iptablesMode,
                "nft",
            );
    });
});

describe("Pod Security", () => {
    const labelled = (namespace: string, level: string) => ({
        cluster: {
            ...defaultCluster(),
            namespaceLabels: { [namespace]: { "pod-security.kubernetes.io/enforce": level } },
        },
    });

    for (const level of ["baseline", "restricted"]) {
        it(`a namespace enforcing ${level} is refused without the CNI plugin, naming it and the fix`, async () => {
            const run = await runStack("netcup", { "mtls.enabled": true }, labelled("akko", level));
            assert.ok(run.error instanceof Error);
            assert.match(
                run.error.message,
                new RegExp(`namespace akko enforces Pod Security "${level}".*linkerd\\.cni\\.enabled true`),
            );
            assert.ok(!run.resources.some((r) => r.type === PATCH), "no namespace asks for proxies");
        });

        it(`with the CNI plugin, ${level} namespaces are meshed`, async () => {
            const run = await runStackOk(
                "netcup",
                { "mtls.enabled": true, "linkerd.cni.enabled": true },
                labelled("akko", level),
            );
            assert.equal(
                one(run, PATCH, "akko-mesh-akko-annotations").inputs.metadata.annotations["linkerd.io/inject"],
                "enabled",
            );
        });
    }

    it("the refusal comes before anything is built: one clean line naming the config key and the namespace (issue 17)", async () => {
        const spark = await runStack(
            "netcup",
            { "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] },
            {
                cluster: {
                    ...defaultCluster(),
                    namespaceLabels: { spark: { "pod-security.kubernetes.io/enforce": "baseline" } },
                },
            },
        );
        assert.ok(spark.error instanceof PodSecurityRefusal, String(spark.error));
        assert.ok(spark.error instanceof pulumi.RunError, "printed by pulumi up as its message alone");
        assert.equal(spark.error.message.split("\n").length, 1);
        assert.match(
            spark.error.message,
            /^akko-mtls:mtls\.namespaces\[1\]: namespace spark enforces Pod Security "baseline"/,
        );
        assert.doesNotMatch(spark.error.message, /error serializing/);
        // Before: the stack, its StackReference read, the mesh component, the Kubernetes provider, and the namespace reads.
        assert.deepEqual(
            spark.resources.filter((r) => !r.read).map((r) => r.type),
            ["pulumi:pulumi:Stack", "akko:mtls:MtlsMesh", "pulumi:providers:kubernetes"],
        );
        assert.deepEqual(
            reads(spark, "kubernetes:core/v1:Namespace")
                .map((r) => r.name)
                .sort(),
            ["akko-ingress-namespace", "akko-mesh-akko-namespace", "akko-mesh-spark-namespace"],
        );
        const traefik = await runStack("netcup", { "mtls.enabled": true }, labelled("kube-system", "restricted"));
        assert.ok(traefik.error instanceof PodSecurityRefusal, String(traefik.error));
        assert.match(
            traefik.error.message,
            /^akko-mtls:mtls\.ingress\.controller: namespace kube-system enforces Pod Security "restricted"/,
        );
    });

    it("privileged or unlabelled namespaces are meshed; a drained namespace is never refused", () => {
        assert.equal(podSecurityProblem("a", undefined, false), undefined);
        assert.equal(podSecurityProblem("a", { "pod-security.kubernetes.io/enforce": "privileged" }, false), undefined);
        assert.ok(podSecurityProblem("a", { "pod-security.kubernetes.io/enforce": "baseline" }, false));
        const baseline = () => ({ "pod-security.kubernetes.io/enforce": "baseline" });
        const targets = [
            { namespace: "a", key: "akko-mtls:mtls.namespaces[0]", inject: false },
            { namespace: "b", key: "akko-mtls:mtls.namespaces[1]", inject: true },
        ];
        assert.deepEqual(
            admissionRefusals(targets, baseline, false).map((r) => r.key),
            ["akko-mtls:mtls.namespaces[1]"],
            "the drained one is not refused",
        );
        assert.deepEqual(admissionRefusals(targets, baseline, true), [], "the CNI plugin admits both");
    });

    it("the CNI plugin: its chart (same edge version) before the control plane, the node's paths per target, cniEnabled", async () => {
        for (const [stack, netDir, binDir, iptablesMode] of [
            ["netcup", "/var/lib/rancher/k3s/agent/etc/cni/net.d", "/var/lib/rancher/k3s/data/cni", "nft"],
            ["k3d", "/var/lib/rancher/k3s/agent/etc/cni/net.d", "/var/lib/rancher/k3s/data/cni", "nft"],
            // GKE's runtime reads /home/kubernetes/bin; /opt/cni/bin does not exist on COS (config/presets.ts GKE_CNI).
            ["gke", "/etc/cni/net.d", "/home/kubernetes/bin", "legacy"],
            ["eks", "/etc/cni/net.d", "/opt/cni/bin", "nft"],
        ]) {
            const run = await runStackOk(stack, { "mtls.enabled": true, "linkerd.cni.enabled": true });
            const cni = one(run, CHART, "akko-cni-chart");
            assert.equal(cni.inputs.chart, "linkerd2-cni");
            assert.equal(cni.inputs.version, "2026.8.3");
            assert.equal(cni.inputs.namespace, "linkerd-cni");
            assert.equal(cni.inputs.values.destCNINetDir, netDir, stack);
            assert.equal(cni.inputs.values.destCNIBinDir, binDir, stack);
            assert.equal(cni.inputs.values.iptablesMode, iptablesMode, stack);
            assert.ok(
                dependsOn(run, one(run, CHART, "akko-linkerd-control-plane"), cni),
                "Linkerd's docs install the plugin first",
            );
            assert.equal(controlPlaneValues(run).cniEnabled, true);
            const namespace = one(run, "kubernetes:core/v1:Namespace", "akko-cni-namespace");
            assert.equal(
                namespace.inputs.metadata.labels["pod-security.kubernetes.io/enforce"],
                "privileged",
                "it writes to the node",
            );
            assert.equal(
                one(run, "kubernetes:core/v1:Namespace", "akko-linkerd-namespace").inputs.metadata.labels[
                    "pod-security.kubernetes.io/enforce"
                ],
                "restricted",
            );
        }
        const without = await runStackOk("netcup", { "mtls.enabled": true });
        assert.equal(ofType(without, CHART).filter((c) => c.inputs.chart === "linkerd2-cni").length, 0);
        assert.equal(controlPlaneValues(without).cniEnabled, false);
    });
});

describe("the ingress hop", () => {
    it("k3s/k3d: Traefik in kube-system meshed through k3s' HelmChartConfig, its probes and LB traffic still admitted", async () => {
        for (const stack of ["k3d", "netcup"]) {
            const run = await runStackOk(stack, { "mtls.enabled": true });
            const config = one(run, HELM_CHART_CONFIG, "akko-ingress-traefik-config");
            assert.deepEqual(config.inputs.metadata, {
                name: "traefik",
                namespace: "kube-system",
                labels: { "app.kubernetes.io/part-of": "akko-mtls" },
            });
            assert.deepEqual(YAML.parse(config.inputs.spec.valuesContent), {
                deployment: {
                    podAnnotations: {
                        "linkerd.io/inject": "enabled",
                        "config.linkerd.io/default-inbound-policy": "all-unauthenticated",
                        "config.linkerd.io/proxy-enable-native-sidecar": "true",
                    },
                },
            });
            assert.ok(dependsOn(run, config, one(run, CHART, "akko-linkerd-control-plane")));
            assert.deepEqual(state(run).ingress, { controller: "k3s-traefik", namespace: "kube-system" });
        }
    });

    it("k3s reads one HelmChartConfig per chart: the operator's own Traefik values are carried, the mesh's annotations win", async () => {
        const own = {
            ports: { web: { redirections: { entryPoint: { to: "websecure", scheme: "https" } } } },
            deployment: { podAnnotations: { "example.com/team": "data", "linkerd.io/inject": "disabled" } },
        };
        const run = await runStackOk("netcup", { "mtls.enabled": true, "mtls.ingress.k3sTraefikValues": own });
        const values = YAML.parse(one(run, HELM_CHART_CONFIG, "akko-ingress-traefik-config").inputs.spec.valuesContent);
        assert.deepEqual(values.ports, own.ports);
        assert.equal(values.deployment.podAnnotations["example.com/team"], "data");
        assert.equal(values.deployment.podAnnotations["linkerd.io/inject"], "enabled");
        // The same values, whatever order the stack file lists them in: no diff on the next preview.
        const reordered = await runStackOk("netcup", {
            "mtls.enabled": true,
            "mtls.ingress.k3sTraefikValues": { deployment: own.deployment, ports: own.ports },
        });
        assert.equal(
            one(reordered, HELM_CHART_CONFIG, "akko-ingress-traefik-config").inputs.spec.valuesContent,
            one(run, HELM_CHART_CONFIG, "akko-ingress-traefik-config").inputs.spec.valuesContent,
        );
    });

    it("Linkerd's ingress mode on request; eks/gke: a controller in its own namespace", async () => {
        const ingressMode = await runStackOk("netcup", { "mtls.enabled": true, "mtls.ingress.mode": "ingress" });
        assert.match(
            one(ingressMode, HELM_CHART_CONFIG, "akko-ingress-traefik-config").inputs.spec.valuesContent,
            /linkerd\.io\/inject: ingress/,
        );
        const eks = await runStackOk("eks", {
            "mtls.enabled": true,
            "mtls.ingress.enabled": true,
            "mtls.ingress.namespace": "ingress-nginx",
        });
        assert.deepEqual(one(eks, PATCH, "akko-ingress-annotations").inputs.metadata, {
            name: "ingress-nginx",
            annotations: {
                "linkerd.io/inject": "enabled",
                "config.linkerd.io/default-inbound-policy": "all-unauthenticated",
                "config.linkerd.io/proxy-enable-native-sidecar": "true",
                "pulumi.com/patchForce": "true",
            },
        });
        assert.deepEqual(JSON.parse(rolloutEnv(eks).INGRESS), {
            namespace: "ingress-nginx",
            selector: "",
            inject: true,
        });
        assert.deepEqual(ofType(await runStackOk("eks", { "mtls.enabled": true }), HELM_CHART_CONFIG), []);
    });

    it("unsafe ingress settings are refused: k3s-traefik off k3s, kube-system in the injector's scope with Fail, a meshed namespace", async () => {
        const onEks = await runStack("eks", { "mtls.ingress.enabled": true, "mtls.ingress.controller": "k3s-traefik" });
        assert.ok(
            onEks.error instanceof ConfigError &&
                onEks.error.problems.some((p) => /k3s-traefik is the Traefik of k3s/.test(p.message)),
        );
        const fail = await runStack("netcup", { "linkerd.webhookFailurePolicy": "Fail" });
        assert.ok(
            fail.error instanceof ConfigError &&
                fail.error.problems.some((p) => /kube-system in the proxy injector's scope/.test(p.message)),
        );
        const own = await runStack("eks", { "mtls.ingress.enabled": true, "mtls.ingress.namespace": "akko" });
        assert.ok(
            own.error instanceof ConfigError &&
                own.error.problems.some((p) => p.key === "akko-mtls:mtls.ingress.namespace"),
        );
    });

    it("undone with the mesh: restarted without its proxy while the control plane still runs, then gone", async () => {
        const on = await runStackOk("netcup", { "mtls.enabled": true });
        const step1 = await runStackOk(
            "netcup",
            { "mtls.enabled": false },
            { previousOutputs: { meshState: state(on) } },
        );
        assert.equal(state(step1).phase, "draining-proxies");
        assert.match(
            one(step1, HELM_CHART_CONFIG, "akko-ingress-traefik-config").inputs.spec.valuesContent,
            /linkerd\.io\/inject: disabled/,
        );
        assert.equal(JSON.parse(rolloutEnv(step1).INGRESS).inject, false);
        const step2 = await runStackOk(
            "netcup",
            { "mtls.enabled": false },
            { previousOutputs: { meshState: state(step1) } },
        );
        assert.deepEqual(kubernetesObjects(step2), [], "the HelmChartConfig goes: k3s restores its own Traefik values");
        const dropped = await runStackOk(
            "netcup",
            { "mtls.enabled": true, "mtls.ingress.enabled": false },
            { previousOutputs: { meshState: state(on) } },
        );
        assert.match(
            one(dropped, HELM_CHART_CONFIG, "akko-ingress-traefik-config").inputs.spec.valuesContent,
            /inject: disabled/,
        );
        assert.equal(state(dropped).ingress, undefined);
    });
});

describe("safe disable: drained step by step, never cutting traffic", () => {
    /** Runs `pulumi up` on the outputs of the previous one. */
    async function up(overrides: Record<string, unknown>, previous?: ProgramRun): Promise<ProgramRun> {
        const previousOutputs = previous
            ? {
                  meshState: previous.outputs.meshState.value,
                  trustAnchorRotation: previous.outputs.trustAnchorRotation.value,
              }
            : undefined;
        return runStackOk("netcup", overrides, { previousOutputs });
    }

    it("strict: permissive first, then without proxies, then the control plane goes", async () => {
        const on = await up(STRICT);
        const disable = { ...STRICT, "mtls.enabled": false };

        const step1 = await up(disable, on);
        assert.equal(state(step1).phase, "draining-policy");
        assert.ok(
            ofType(step1, CHART).some((c) => c.name === "akko-linkerd-control-plane"),
            "control plane kept",
        );
        assert.deepEqual(ofType(step1, SERVER), [], "strict policies go first");
        assert.equal(
            one(step1, PATCH, "akko-mesh-akko-annotations").inputs.metadata.annotations["linkerd.io/inject"],
            "enabled",
        );
        assert.equal(
            one(step1, PATCH, "akko-mesh-akko-annotations").inputs.metadata.annotations[
                "config.linkerd.io/default-inbound-policy"
            ],
            undefined,
        );
        assert.deepEqual(JSON.parse(rolloutEnv(step1).EXPECTED_INBOUND_POLICY), {
            akko: "all-unauthenticated",
            spark: "all-unauthenticated",
        });
        assert.match(step1.warnings.join("\n"), /step 1 of 3.*Run `pulumi up` again/);

        const step2 = await up(disable, step1);
        assert.equal(state(step2).phase, "draining-proxies");
        assert.ok(
            ofType(step2, CHART).some((c) => c.name === "akko-linkerd-control-plane"),
            "control plane still serves the remaining proxies",
        );
        assert.equal(
            one(step2, PATCH, "akko-mesh-spark-annotations").inputs.metadata.annotations["linkerd.io/inject"],
            "disabled",
        );
        assert.equal(rolloutEnv(step2).UNMESHED_NAMESPACES, "akko,spark");
        assert.equal(rolloutEnv(step2).MESHED_NAMESPACES, "linkerd-viz");
        assert.ok(
            dependsOn(step2, rollout(step2), one(step2, PATCH, "akko-mesh-akko-annotations")),
            "restart after injection is off",
        );

        assert.ok(state(step1).nextRun && state(step2).nextRun, "each drain step asks for the next run");
        const step3 = await up(disable, step2);
        assert.equal(state(step3).phase, "off");
        assert.equal(state(step3).nextRun, undefined);
        assert.deepEqual(kubernetesObjects(step3), [], "nothing left in the cluster");
        const again = await up(disable, step3);
        assert.deepEqual(kubernetesObjects(again), []);
        assert.deepEqual(again.warnings, []);
    });

    it("permissive: two steps", async () => {
        const on = await up({ "mtls.enabled": true });
        const step1 = await up({ "mtls.enabled": false }, on);
        assert.equal(state(step1).phase, "draining-proxies");
        assert.match(step1.warnings.join("\n"), /step 1 of 2/);
        const step2 = await up({ "mtls.enabled": false }, step1);
        assert.deepEqual(kubernetesObjects(step2), []);
    });

    it("a stack never enabled stays empty; drainOnDisable false removes everything at once, with a warning", async () => {
        assert.deepEqual(kubernetesObjects(await up({ "mtls.enabled": false })), []);
        const on = await up({ "mtls.enabled": true });
        const immediate = await up({ "mtls.enabled": false, "mtls.drainOnDisable": false }, on);
        assert.deepEqual(kubernetesObjects(immediate), []);
        assert.match(immediate.warnings.join("\n"), /removed at once/);
    });

    it("a namespace dropped from mtls.namespaces is drained while the mesh stays on", async () => {
        const on = await up({ "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] });
        const fewer = await up({ "mtls.enabled": true, "mtls.namespaces": ["akko"] }, on);
        assert.equal(
            one(fewer, PATCH, "akko-mesh-spark-annotations").inputs.metadata.annotations["linkerd.io/inject"],
            "disabled",
        );
        assert.equal(rolloutEnv(fewer).UNMESHED_NAMESPACES, "spark");
        assert.deepEqual(state(fewer).namespaces, ["akko"]);
        // The record, the warning and the deploy workflow's loop agree: another run is needed.
        assert.equal(state(fewer).phase, "on");
        assert.match(String(state(fewer).nextRun), /remove what is left of namespaces spark/);
        assert.match(
            fewer.warnings.join("\n"),
            /another `pulumi up` is needed, with no config change, to remove what is left of namespaces spark/,
        );
        const settled = await up({ "mtls.enabled": true, "mtls.namespaces": ["akko"] }, fewer);
        assert.deepEqual(
            ofType(settled, PATCH).map((p) => p.inputs.metadata.name),
            ["akko"],
            "its patch goes; the namespace stays",
        );
        assert.equal(state(settled).nextRun, undefined, "settled: the loop stops");
        assert.doesNotMatch(settled.warnings.join("\n"), /another `pulumi up`/);
    });
});

describe("meshing config errors name the key", () => {
    const [trino] = STRICT["mtls.authorizations"];
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
        [
            "an identity that is not a ServiceAccount identity",
            { ...STRICT, "mtls.authorizations": [{ ...trino, clients: ["spark.akko.svc.cluster.local"] }] },
            "akko-mtls:mtls.authorizations[0].clients[0]",
            /not a ServiceAccount identity/,
        ],
        [
            "an identity in another trust domain",
            {
                ...STRICT,
                "mtls.authorizations": [
                    { ...trino, clients: ["spark.akko.serviceaccount.identity.linkerd.other.local"] },
                ],
            },
            "akko-mtls:mtls.authorizations[0].clients[0]",
            /identity\.linkerd\.cluster\.local/,
        ],
        [
            "clients and networks together",
            { ...STRICT, "mtls.authorizations": [{ ...trino, networks: ["10.0.0.0/8"] }] },
            "akko-mtls:mtls.authorizations[0]",
            /either clients .* or networks/,
        ],
        [
            "neither clients nor networks",
            { ...STRICT, "mtls.authorizations": [{ ...trino, clients: undefined }] },
            "akko-mtls:mtls.authorizations[0]",
            /either clients/,
        ],
        [
            "a network that is not a CIDR",
            { ...STRICT, "mtls.authorizations": [{ ...STRICT["mtls.authorizations"][2], networks: ["kubelet"] }] },
            "akko-mtls:mtls.authorizations[0].networks[0]",
            /.+/,
        ],
        [
            "authorizations in permissive mode",
            { ...STRICT, "mtls.mode": "permissive" },
            "akko-mtls:mtls.authorizations",
            /strict mode only/,
        ],
        [
            "a server in a namespace that is not meshed",
            { ...STRICT, "mtls.namespaces": ["akko"], "mtls.authorizations": [STRICT["mtls.authorizations"][1]] },
            "akko-mtls:mtls.authorizations[0].namespace",
            /not a meshed namespace/,
        ],
        [
            "a server defined twice",
            { ...STRICT, "mtls.authorizations": [trino, trino] },
            "akko-mtls:mtls.authorizations[1].name",
            /defined twice/,
        ],
        ["a namespace listed twice", { "mtls.namespaces": ["akko", "akko"] }, "akko-mtls:mtls.namespaces[1]", /twice/],
        ["an invalid namespace name", { "mtls.namespaces": ["AKKO"] }, "akko-mtls:mtls.namespaces[0]", /RFC 1123/],
        [
            "meshing the CNI plugin's namespace",
            { "mtls.namespaces": ["linkerd-cni"] },
            "akko-mtls:mtls.namespaces[0]",
            /system or mesh namespace/,
        ],
        ["an unknown mode", { "mtls.mode": "paranoid" }, "akko-mtls:mtls.mode", /"permissive", "strict"/],
        [
            "a relative CNI path",
            { "linkerd.cni.binDir": "opt/cni/bin" },
            "akko-mtls:linkerd.cni.binDir",
            /an absolute, normalized path/,
        ],
    ];
    for (const [why, overrides, key, message] of cases) {
        it(`${why}: ${key}`, async () => {
            const run = await runStack("netcup", overrides);
            assert.ok(run.error instanceof ConfigError, String(run.error));
            const problem = run.error.problems.find((p) => p.key === key);
            assert.ok(problem, `${key} not named: ${run.error.message}`);
            assert.match(problem.message, message);
            assert.deepEqual(
                run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"),
                [],
            );
        });
    }
});
