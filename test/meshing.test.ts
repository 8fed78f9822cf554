/**
 * Meshing the AKKO namespaces: annotations per mode, NetworkPolicies on the pinned
 * chart's ports, strict-mode authorization objects valid against Linkerd's CRDs, and the
 * orderings of a safe enable and a safe (drained) disable.
 */
import { strict as assert } from "node:assert";
import { retainCustomResourceDefinitions } from "../components/transforms";
import { ConfigError } from "../config";
import { dependsOn, kubernetesObjects, ofType, one, ProgramRun } from "../lib/mockRuntime";
import type { MeshState } from "../lib/meshLifecycle";
import { asObject, assertValid, schemasFor } from "./crdSchemas";
import { runStack, runStackOk } from "./helpers";

const PATCH = "kubernetes:core/v1:NamespacePatch";
const POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const CHART = "kubernetes:helm.sh/v4:Chart";
const SERVER = "kubernetes:policy.linkerd.io/v1beta3:Server";
const AUTHZ = "kubernetes:policy.linkerd.io/v1alpha1:AuthorizationPolicy";
const MESHTLS = "kubernetes:policy.linkerd.io/v1alpha1:MeshTLSAuthentication";

const STRICT = {
    "mtls.enabled": true,
    "mtls.namespaces": ["akko", "spark"],
    "mtls.mode": "strict",
    "mtls.authorizations": [
        {
            namespace: "akko",
            name: "trino",
            podSelector: { "app.kubernetes.io/name": "trino" },
            port: 8080,
            proxyProtocol: "HTTP/1",
            clients: ["spark.spark.serviceaccount.identity.linkerd.cluster.local", "superset.akko.serviceaccount.identity.linkerd.cluster.local"],
        },
        {
            namespace: "spark",
            name: "spark-connect",
            podSelector: { "app.kubernetes.io/name": "spark-connect" },
            port: "grpc",
            clients: ["jupyter.akko.serviceaccount.identity.linkerd.cluster.local"],
        },
    ],
};

const rollout = (run: ProgramRun) => one(run, "kubernetes:batch/v1:Job", "akko-maintenance-rollout");
const rolloutEnv = (run: ProgramRun): Record<string, string> =>
    Object.fromEntries(rollout(run).inputs.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));
const state = (run: ProgramRun) => run.outputs.meshState.value as MeshState;

describe("meshed namespaces", () => {
    let permissive: ProgramRun;
    let strict: ProgramRun;
    before(async () => {
        permissive = await runStackOk("netcup", { "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] });
        strict = await runStackOk("netcup", STRICT);
    });

    it("patches the existing namespaces (server-side apply), never creates or owns them", () => {
        assert.deepEqual(ofType(permissive, PATCH).map((p) => p.inputs.metadata.name).sort(), ["akko", "spark"]);
        const created = ofType(permissive, "kubernetes:core/v1:Namespace").map((n) => n.inputs.metadata.name);
        assert.ok(!created.includes("akko") && !created.includes("spark"));
    });

    it("permissive: injection only; strict: default inbound policy all-authenticated", () => {
        assert.deepEqual(one(permissive, PATCH, "akko-mesh-akko-annotations").inputs.metadata.annotations, { "linkerd.io/inject": "enabled" });
        assert.deepEqual(one(strict, PATCH, "akko-mesh-akko-annotations").inputs.metadata.annotations, {
            "linkerd.io/inject": "enabled",
            "config.linkerd.io/default-inbound-policy": "all-authenticated",
        });
        assert.equal(state(strict).mode, "strict");
    });

    it("NetworkPolicies open exactly the mesh's ports (lib/registry.ts, checked against the chart by test/registry.test.ts)", async () => {
        const policy = one(permissive, POLICY, "akko-mesh-akko-mesh");
        assert.equal(policy.inputs.metadata.namespace, "akko");
        assert.deepEqual(policy.inputs.spec.podSelector, {});
        const portsOf = (rules: any[]) => rules.map((r) => r.ports.map((p: any) => p.port));
        assert.deepEqual(portsOf(policy.inputs.spec.ingress), [[4143], [4191], [4190]]);
        assert.deepEqual(portsOf(policy.inputs.spec.egress), [[8080, 8086, 8090], [4143]]);
        const meshPeers = policy.inputs.spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values;
        assert.deepEqual(meshPeers.sort(), ["akko", "linkerd", "linkerd-viz", "spark"]);
        assert.deepEqual(policy.inputs.spec.ingress[1].from[0].podSelector.matchLabels, { "linkerd.io/extension": "viz", component: "prometheus" });
        assert.deepEqual(policy.inputs.spec.ingress[2].from[0].podSelector.matchLabels, { "linkerd.io/extension": "viz", component: "tap" });
        assert.deepEqual(policy.inputs.spec.egress[0].to[0].namespaceSelector.matchExpressions[0].values, ["linkerd"]);
        const none = await runStackOk("netcup", { "mtls.enabled": true, "mtls.networkPolicies": false });
        assert.deepEqual(ofType(none, POLICY), []);
    });

    it("control-plane NetworkPolicy (opt-in): gRPC from the mesh, webhooks from the API server, metrics to viz", async () => {
        assert.equal(permissive.resources.filter((r) => r.name === "akko-linkerd-network-policy").length, 0, "off by default");
        const run = await runStackOk("eks", { "mtls.enabled": true, "linkerd.networkPolicies": true });
        const policy = one(run, POLICY, "akko-linkerd-network-policy");
        assert.equal(policy.inputs.metadata.namespace, "linkerd");
        const [mesh, webhooks, metrics] = policy.inputs.spec.ingress;
        assert.deepEqual(mesh.ports.map((p: any) => p.port), [8080, 8086, 8090, 4143]);
        assert.deepEqual(webhooks, { ports: [{ protocol: "TCP", port: 8443 }, { protocol: "TCP", port: 9443 }] }, "any source: the API server");
        assert.deepEqual(metrics.ports.map((p: any) => p.port), [4191, 9990, 9995, 9996, 9997]);
    });

    it("strict mode: Server, MeshTLSAuthentication and AuthorizationPolicy per entry, valid against Linkerd's CRD schemas", () => {
        const servers = ofType(strict, SERVER);
        assert.deepEqual(servers.map((s) => `${s.inputs.metadata.namespace}/${s.inputs.metadata.name}`).sort(), ["akko/trino", "spark/spark-connect"]);
        const trino = one(strict, SERVER, "akko-mesh-akko-server-trino");
        assert.deepEqual(trino.inputs.spec, { podSelector: { matchLabels: { "app.kubernetes.io/name": "trino" } }, port: 8080, proxyProtocol: "HTTP/1" });
        assert.deepEqual(one(strict, MESHTLS, "akko-mesh-akko-clients-trino").inputs.spec.identities, STRICT["mtls.authorizations"][0].clients);
        assert.deepEqual(one(strict, AUTHZ, "akko-mesh-akko-authorization-trino").inputs.spec, {
            targetRef: { group: "policy.linkerd.io", kind: "Server", name: "trino" },
            requiredAuthenticationRefs: [{ group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: "trino-clients" }],
        });
        assert.equal(ofType(permissive, SERVER).length, 0);
    });

    it("the policy objects are valid against Linkerd's CRD schemas; the check catches a malformed one", async function () {
        const schemas = await schemasFor(this);
        for (const object of [...ofType(strict, SERVER), ...ofType(strict, AUTHZ), ...ofType(strict, MESHTLS)]) {
            await assertValid(schemas, asObject(object), object.name);
        }
        const server = structuredClone(asObject(one(strict, SERVER, "akko-mesh-akko-server-trino"))) as any;
        delete server.spec.podSelector;
        await assert.rejects(assertValid(schemas, server, "x"), /oneOf|podSelector/);
        const authz = structuredClone(asObject(one(strict, AUTHZ, "akko-mesh-akko-authorization-trino"))) as any;
        authz.spec.targetRef.kind = "Not a kind!";
        await assert.rejects(assertValid(schemas, authz, "x"), /pattern/);
    });

    it("safe enable: after the control plane and the annotations, a Job restarts what started before injection", () => {
        const job = rollout(strict);
        for (const dependency of [
            one(strict, CHART, "akko-linkerd-control-plane"),
            one(strict, PATCH, "akko-mesh-akko-annotations"),
            one(strict, PATCH, "akko-mesh-spark-annotations"),
            one(strict, SERVER, "akko-mesh-akko-server-trino"),
            one(strict, AUTHZ, "akko-mesh-spark-authorization-spark-connect"),
        ]) {
            assert.ok(dependsOn(strict, job, dependency), `rollout waits for ${dependency.name}`);
        }
        for (const object of [...ofType(strict, SERVER), ...ofType(strict, AUTHZ), ...ofType(strict, MESHTLS)]) {
            assert.ok(dependsOn(strict, object, one(strict, CHART, "akko-linkerd-crds")), `${object.name} waits for the CRDs`);
        }
        assert.deepEqual(rolloutEnv(strict).TASKS, "control-plane,restarts");
        assert.deepEqual(rolloutEnv(strict).MESHED_NAMESPACES, "akko,spark,linkerd-viz");
        assert.deepEqual(JSON.parse(rolloutEnv(strict).EXPECTED_INBOUND_POLICY), { akko: "all-authenticated", spark: "all-authenticated" });
        assert.match(job.inputs.metadata.name, /^linkerd-mesh-rollout-[0-9a-f]{10}$/);
        assert.notEqual(job.inputs.metadata.name, rollout(permissive).inputs.metadata.name, "a mode switch runs a new Job");
    });

    it("the same mesh config keeps the same rollout Job (no diff, no restart on every up)", async () => {
        const again = await runStackOk("netcup", { "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] });
        assert.equal(rollout(again).inputs.metadata.name, rollout(permissive).inputs.metadata.name);
    });

    it("Linkerd's and cert-manager's CRDs are retained when Pulumi deletes them (deleting them deletes every policy)", () => {
        assert.equal(one(permissive, CHART, "akko-linkerd-crds").transforms, 1);
        assert.equal(one(permissive, CHART, "akko-cert-manager-chart").transforms, 1);
        const crd = { type: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", name: "servers", custom: true, props: { a: 1 }, opts: {} };
        assert.equal((retainCustomResourceDefinitions(crd as any) as any).opts.retainOnDelete, true);
        assert.equal(retainCustomResourceDefinitions({ ...crd, type: "kubernetes:core/v1:ConfigMap" } as any), undefined);
    });

    it("GKE private cluster: a warning with the exact firewall rule; EKS needs nothing extra", async () => {
        const gke = await runStackOk("gke", {
            "mtls.enabled": true,
            "cluster.gkePrivate": { masterIpv4CidrBlock: "172.16.0.0/28", network: "akko-vpc", nodeTag: "gke-akko-node" },
        });
        assert.equal(gke.warnings.length, 1);
        assert.match(
            gke.warnings[0],
            /gcloud compute firewall-rules create akko-vpc-linkerd-webhooks --network akko-vpc --direction INGRESS --source-ranges 172\.16\.0\.0\/28 --target-tags gke-akko-node --allow tcp:8443,tcp:8089,tcp:9443/,
        );
        assert.deepEqual((await runStackOk("eks", { "mtls.enabled": true })).warnings, []);
        const wrongTarget = await runStack("eks", { "cluster.gkePrivate": { masterIpv4CidrBlock: "172.16.0.0/28", network: "n", nodeTag: "t" } });
        assert.ok(wrongTarget.error instanceof ConfigError && wrongTarget.error.problems[0].key === "akko-mtls:cluster.gkePrivate");
    });
});

describe("safe disable: drained step by step, never cutting traffic", () => {
    /** Runs `pulumi up` on the outputs of the previous one. */
    async function up(overrides: Record<string, unknown>, previous?: ProgramRun): Promise<ProgramRun> {
        const previousOutputs = previous
            ? { meshState: previous.outputs.meshState.value, trustAnchorRotation: previous.outputs.trustAnchorRotation.value }
            : undefined;
        return runStackOk("netcup", overrides, { previousOutputs });
    }

    it("strict: permissive first, then without proxies, then the control plane goes", async () => {
        const on = await up(STRICT);
        const disable = { ...STRICT, "mtls.enabled": false };

        const step1 = await up(disable, on);
        assert.equal(state(step1).phase, "draining-policy");
        assert.ok(ofType(step1, CHART).some((c) => c.name === "akko-linkerd-control-plane"), "control plane kept");
        assert.deepEqual(ofType(step1, SERVER), [], "strict policies go first");
        assert.deepEqual(one(step1, PATCH, "akko-mesh-akko-annotations").inputs.metadata.annotations, { "linkerd.io/inject": "enabled" });
        assert.deepEqual(JSON.parse(rolloutEnv(step1).EXPECTED_INBOUND_POLICY), { akko: "all-unauthenticated", spark: "all-unauthenticated" });
        assert.match(step1.warnings.join("\n"), /step 1 of 3.*Run `pulumi up` again/);

        const step2 = await up(disable, step1);
        assert.equal(state(step2).phase, "draining-proxies");
        assert.ok(ofType(step2, CHART).some((c) => c.name === "akko-linkerd-control-plane"), "control plane still serves the remaining proxies");
        assert.deepEqual(one(step2, PATCH, "akko-mesh-spark-annotations").inputs.metadata.annotations, { "linkerd.io/inject": "disabled" });
        assert.equal(rolloutEnv(step2).UNMESHED_NAMESPACES, "akko,spark");
        assert.equal(rolloutEnv(step2).MESHED_NAMESPACES, "linkerd-viz");
        assert.ok(dependsOn(step2, rollout(step2), one(step2, PATCH, "akko-mesh-akko-annotations")), "restart after injection is off");

        const step3 = await up(disable, step2);
        assert.equal(state(step3).phase, "off");
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
        assert.deepEqual(one(fewer, PATCH, "akko-mesh-spark-annotations").inputs.metadata.annotations, { "linkerd.io/inject": "disabled" });
        assert.equal(rolloutEnv(fewer).UNMESHED_NAMESPACES, "spark");
        assert.deepEqual(state(fewer).namespaces, ["akko"]);
        const settled = await up({ "mtls.enabled": true, "mtls.namespaces": ["akko"] }, fewer);
        assert.deepEqual(ofType(settled, PATCH).map((p) => p.inputs.metadata.name), ["akko"], "its patch goes; the namespace stays");
    });
});

describe("meshing config errors name the key", () => {
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
        ["an identity that is not a ServiceAccount identity", { ...STRICT, "mtls.authorizations": [{ ...STRICT["mtls.authorizations"][0], clients: ["spark.akko.svc.cluster.local"] }] }, "akko-mtls:mtls.authorizations.0.clients.0", /not a ServiceAccount identity/],
        ["an identity in another trust domain", { ...STRICT, "mtls.authorizations": [{ ...STRICT["mtls.authorizations"][0], clients: ["spark.akko.serviceaccount.identity.linkerd.other.local"] }] }, "akko-mtls:mtls.authorizations.0.clients.0", /identity\.linkerd\.cluster\.local/],
        ["authorizations in permissive mode", { ...STRICT, "mtls.mode": "permissive" }, "akko-mtls:mtls.authorizations", /strict mode only/],
        ["a server in a namespace that is not meshed", { ...STRICT, "mtls.namespaces": ["akko"] }, "akko-mtls:mtls.authorizations.1.namespace", /not a meshed namespace/],
        ["a server defined twice", { ...STRICT, "mtls.authorizations": [STRICT["mtls.authorizations"][0], STRICT["mtls.authorizations"][0]] }, "akko-mtls:mtls.authorizations.1.name", /defined twice/],
        ["a namespace listed twice", { "mtls.namespaces": ["akko", "akko"] }, "akko-mtls:mtls.namespaces.1", /twice/],
        ["an invalid namespace name", { "mtls.namespaces": ["AKKO"] }, "akko-mtls:mtls.namespaces.0", /RFC 1123/],
        ["an unknown mode", { "mtls.mode": "paranoid" }, "akko-mtls:mtls.mode", /"permissive", "strict"/],
    ];
    for (const [why, overrides, key, message] of cases) {
        it(`${why}: ${key}`, async () => {
            const run = await runStack("netcup", overrides);
            assert.ok(run.error instanceof ConfigError, String(run.error));
            const problem = run.error.problems.find((p) => p.key === key);
            assert.ok(problem, `${key} not named: ${run.error.message}`);
            assert.match(problem.message, message);
            assert.deepEqual(run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"), []);
        });
    }
});
