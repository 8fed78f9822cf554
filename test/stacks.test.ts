/**
 * The real program, for every stack file, with the mesh off and on.
 */
import { strict as assert } from "node:assert";
import { dependsOn, kubernetesObjects, ofType, one, ProgramRun } from "../tools/mockRuntime";
import { STACK_OUTPUTS, TRUST_OUTPUTS } from "../lib/stackOutputs";
import { runStackOk, STACKS, TRUST_STACKS } from "./helpers";
import { PART_OF, PART_OF_LABEL } from "../lib/objects";

const CHART = "kubernetes:helm.sh/v4:Chart";

describe("every stack file", () => {
    it("there is one per target, and the fleet's trust stack", () => {
        assert.deepEqual(STACKS, ["eks", "gke", "k3d", "netcup"]);
        assert.deepEqual(TRUST_STACKS, ["trust"]);
    });

    it("Pulumi.trust.yaml plans (its members created, never deployed): the fleet's anchor and one intermediate per member, its outputs those lib/stackOutputs.ts lists", async () => {
        for (const stack of TRUST_STACKS) {
            const run = await runStackOk(
                stack,
                {},
                { stacks: Object.fromEntries(STACKS.map((member) => [member, {}])) },
            );
            assert.deepEqual(Object.keys(run.outputs).sort(), Object.values(TRUST_OUTPUTS).sort());
            assert.deepEqual(kubernetesObjects(run), []);
            assert.deepEqual(
                ofType(run, "akko:mtls:IntermediateCa").map((r) => r.name),
                (run.outputs.fleetMembers.value as string[]).map((member) => `fleet-${member}-intermediate-g1`),
            );
        }
    });

    it("export the outputs lib/stackOutputs.ts lists, and only those: each of them on some stack", async () => {
        const exported = new Set<string>();
        for (const stack of STACKS) {
            for (const enabled of [false, true]) {
                const run = await runStackOk(stack, { "mtls.enabled": enabled });
                const names = Object.keys(run.outputs);
                assert.deepEqual(
                    names.filter((name) => !(STACK_OUTPUTS as readonly string[]).includes(name)),
                    [],
                    stack,
                );
                names.forEach((name) => exported.add(name));
            }
        }
        // The outputs of a member others link to (test/multicluster.test.ts).
        const target = await runStackOk("eks", {
            "mtls.enabled": true,
            "multicluster.enabled": true,
            "multicluster.apiServerAddress": "https://eks.example.internal:443",
            "multicluster.gatewayAddresses": ["203.0.113.7"],
            "multicluster.remoteAccess": ["netcup"],
        });
        Object.keys(target.outputs).forEach((name) => exported.add(name));
        assert.deepEqual(
            STACK_OUTPUTS.filter((name) => !exported.has(name)),
            [],
            "listed, never exported",
        );
    });

    for (const stack of STACKS) {
        describe(`Pulumi.${stack}.yaml`, () => {
            let off: ProgramRun;
            let on: ProgramRun;
            before(async () => {
                off = await runStackOk(stack, { "mtls.enabled": false });
                on = await runStackOk(stack, { "mtls.enabled": true });
            });

            it("enabled: false creates no Kubernetes object, only the trust anchor in state", () => {
                assert.deepEqual(kubernetesObjects(off), []);
                assert.deepEqual(ofType(off, "pulumi:providers:kubernetes"), []);
                assert.deepEqual(
                    off.resources
                        .filter((r) => r.custom && !r.read)
                        .map((r) => r.type)
                        .sort(),
                    ["tls:index/privateKey:PrivateKey", "tls:index/selfSignedCert:SelfSignedCert"],
                );
                // The only read: this stack's own last outputs (the rotation phase).
                assert.deepEqual(
                    off.resources.filter((r) => r.read).map((r) => r.type),
                    ["pulumi:pulumi:StackReference"],
                );
                assert.equal(off.outputs.mtlsEnabled.value, false);
                assert.ok(off.outputs.trustAnchorFingerprintSha256.value);
                assert.equal(off.outputs.identityIssuerNotAfter, undefined);
            });

            it("enabled: true installs linkerd-crds then linkerd-control-plane 2026.8.3 from the edge repo", () => {
                const crds = one(on, CHART, "akko-linkerd-crds");
                const controlPlane = one(on, CHART, "akko-linkerd-control-plane");
                for (const chart of [crds, controlPlane]) {
                    assert.equal(chart.inputs.version, "2026.8.3");
                    assert.equal(chart.inputs.repositoryOpts.repo, "https://helm.linkerd.io/edge");
                    assert.equal(chart.inputs.namespace, "linkerd");
                }
                assert.equal(crds.inputs.chart, "linkerd-crds");
                assert.equal(controlPlane.inputs.chart, "linkerd-control-plane");
                assert.ok(dependsOn(on, controlPlane, crds), "control plane waits for the CRDs");
                assert.ok(!dependsOn(on, crds, controlPlane));
                assert.equal(on.outputs.linkerdChartVersion.value, "2026.8.3");
            });

            it("every Kubernetes object goes through the stack's own provider and kube context", () => {
                const provider = one(on, "pulumi:providers:kubernetes", "akko-kubernetes");
                assert.equal(
                    provider.inputs.context,
                    on.config["akko-mtls:cluster"] && JSON.parse(on.config["akko-mtls:cluster"]).context,
                );
                const reads = on.resources.filter((r) => r.read && r.type.startsWith("kubernetes:"));
                for (const resource of kubernetesObjects(on).concat(reads)) {
                    const reference = resource.remote ? resource.providers.kubernetes : resource.provider;
                    assert.ok(reference?.startsWith(`${provider.urn}::`), `${resource.name} uses ${reference}`);
                }
                const namespace = one(on, "kubernetes:core/v1:Namespace", "akko-linkerd-namespace");
                assert.ok(
                    dependsOn(on, one(on, CHART, "akko-linkerd-crds"), namespace),
                    "charts wait for the namespace",
                );
            });

            it("labels the linkerd namespace as `linkerd install` does, and as the program's (lib/objects.ts)", () => {
                const namespace = one(on, "kubernetes:core/v1:Namespace", "akko-linkerd-namespace");
                assert.deepEqual(namespace.inputs.metadata.labels, {
                    [PART_OF_LABEL]: PART_OF,
                    "config.linkerd.io/admission-webhooks": "disabled",
                    "linkerd.io/control-plane-ns": "linkerd",
                    "linkerd.io/is-control-plane": "true",
                    "pod-security.kubernetes.io/enforce": "privileged",
                });
                assert.equal(namespace.inputs.metadata.annotations["linkerd.io/inject"], "disabled");
            });

            it("exports the anchor PEM, fingerprint and expiry, the issuer expiry and the chart versions, no key", () => {
                for (const key of [
                    "trustAnchorPem",
                    "trustAnchorFingerprintSha256",
                    "trustAnchorNotAfter",
                    "trustBundlePem",
                    "trustAnchorRotation",
                ]) {
                    assert.ok(on.outputs[key]?.value, `output ${key}`);
                }
                if (on.outputs.identityIssuerMode.value === "static") {
                    assert.ok(on.outputs.identityIssuerNotAfter.value, "static issuer expiry");
                } else {
                    // cert-manager re-issues it every 23 h: a deploy-time expiry would mislead.
                    assert.equal(on.outputs.identityIssuerNotAfter, undefined);
                    assert.equal(on.outputs.certManagerChartVersion.value, "v1.21.1");
                }
                assert.match(String(on.outputs.rotationJobSchedule.value), /^\d+ \d+ \* \* \*$/);
                assert.match(String(on.outputs.trustAnchorFingerprintSha256.value), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
                for (const [key, output] of Object.entries(on.outputs)) {
                    assert.doesNotMatch(
                        JSON.stringify(output.value),
                        /PRIVATE KEY/,
                        `output ${key} holds a private key`,
                    );
                }
            });

            it("private keys only ever travel as Pulumi secrets", () => {
                for (const resource of on.resources) {
                    const secret = new Set(resource.secretPaths);
                    const walk = (node: unknown, where: string[]) => {
                        if (typeof node === "string" && node.includes("PRIVATE KEY")) {
                            const covered = where.some((_, i) => secret.has(where.slice(0, i + 1).join(".")));
                            assert.ok(
                                covered,
                                `${resource.name}: ${where.join(".")} carries a private key in plain text`,
                            );
                        } else if (node !== null && typeof node === "object") {
                            for (const [k, v] of Object.entries(node)) walk(v, [...where, k]);
                        }
                    };
                    walk(resource.inputs, []);
                }
                // No key passes through any chart: they live in Secrets (or cert-manager's), so the whole
                // of every chart's values stays reviewable in a preview.
                for (const chart of ofType(on, CHART)) {
                    assert.deepEqual(chart.secretPaths, [], `${chart.name}: nothing secret in its values`);
                    assert.doesNotMatch(JSON.stringify(chart.inputs), /PRIVATE KEY/);
                }
            });

            it("emits no warning on a fresh deployment", () => {
                assert.deepEqual(on.warnings, []);
                assert.deepEqual(off.warnings, []);
            });
        });
    }
});

describe("targets", () => {
    const controlPlaneValues = async (stack: string) =>
        one(await runStackOk(stack, { "mtls.enabled": true }), CHART, "akko-linkerd-control-plane").inputs.values;

    for (const stack of ["k3d", "netcup"]) {
        it(`${stack} is single-node: one replica, no HA, explicit requests and limits everywhere`, async () => {
            const values = await controlPlaneValues(stack);
            assert.equal(values.controllerReplicas, 1);
            assert.equal(values.highAvailability, false);
            assert.equal(values.enablePodAntiAffinity, false);
            assert.equal(values.enablePodDisruptionBudget, false);
            assert.equal(values.webhookFailurePolicy, "Ignore");
            assert.equal(values.disableHeartBeat, true, "no clock-drawn heartbeat schedule");
            for (const key of [
                "proxy.resources",
                "destinationResources",
                "spValidatorResources",
                "policyController.resources",
                "identityResources",
                "proxyInjectorResources",
            ]) {
                const resources = key.split(".").reduce((node, k) => node[k], values);
                for (const kind of ["cpu", "memory"]) {
                    assert.ok(resources[kind].request, `${stack} ${key}.${kind}.request`);
                    assert.ok(resources[kind].limit, `${stack} ${key}.${kind}.limit`);
                }
            }
        });
    }

    for (const stack of ["eks", "gke"]) {
        it(`${stack} uses Linkerd's HA values`, async () => {
            const values = await controlPlaneValues(stack);
            assert.equal(values.controllerReplicas, 3);
            assert.equal(values.highAvailability, true);
            assert.equal(values.enablePodAntiAffinity, true);
            assert.equal(values.enablePodDisruptionBudget, true);
            assert.equal(values.webhookFailurePolicy, "Fail");
            assert.deepEqual(values.controller, { podDisruptionBudget: { maxUnavailable: 1 } });
            assert.equal(values.deploymentStrategy.rollingUpdate.maxUnavailable, 1);
            assert.deepEqual(values.proxy.resources, {
                cpu: { request: "100m" },
                memory: { request: "20Mi", limit: "250Mi" },
            });
        });
    }

    it("proxy-init's iptables mode comes from the preset", async () => {
        for (const stack of ["k3d", "eks"])
            assert.equal((await controlPlaneValues(stack)).proxyInit.iptablesMode, "nft");
        const legacy = await runStackOk("k3d", { "mtls.enabled": true, "linkerd.proxyInit.iptablesMode": "legacy" });
        assert.equal(one(legacy, CHART, "akko-linkerd-control-plane").inputs.values.proxyInit.iptablesMode, "legacy");
    });

    it("Gateway API CRDs: never from linkerd-crds; read (must be present) on k3d, k3s and GKE; installed on EKS", async () => {
        const CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition";
        for (const stack of STACKS) {
            const run = await runStackOk(stack, { "mtls.enabled": true });
            assert.deepEqual(one(run, CHART, "akko-linkerd-crds").inputs.values, { installGatewayAPI: false }, stack);
            const controlPlane = one(run, CHART, "akko-linkerd-control-plane");
            const reads = run.resources.filter((r) => r.read && r.type === CRD);
            const groups = ofType(run, "kubernetes:yaml/v2:ConfigGroup");
            if (stack === "eks") {
                assert.deepEqual(reads, []);
                assert.equal(groups.length, 1);
                assert.ok(dependsOn(run, controlPlane, groups[0]), "control plane waits for the CRDs it needs");
            } else {
                assert.deepEqual(groups, [], `${stack} never applies them`);
                assert.deepEqual(reads.map((r) => [r.type, r.state.metadata.name]).sort(), [
                    [CRD, "grpcroutes.gateway.networking.k8s.io"],
                    [CRD, "httproutes.gateway.networking.k8s.io"],
                ]);
                for (const crd of reads)
                    assert.ok(dependsOn(run, controlPlane, crd), `control plane waits for ${crd.name}`);
            }
        }
    });
});
