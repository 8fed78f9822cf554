/**
 * Every Kubernetes object the program registers itself (not through a chart) is valid against
 * its schema, as the API server would check it: built-in kinds against Kubernetes' published
 * OpenAPI schemas, custom resources against the pinned CRDs with unknown fields refused. Charts
 * are checked from their renders (test/render.test.ts). Upstream tier (test/upstream.ts); the
 * HelmChartConfig and Prometheus Operator CRDs are optional artefacts, reported when missing.
 */
import { strict as assert } from "node:assert";
import { ProgramRun, ProviderState } from "../tools/mockRuntime";
import { CrdSchemas, validateObject } from "../tools/kubeValidate";
import { asObject, registeredObjects } from "./crdSchemas";
import { runStackOk, STACKS, STRICT } from "./helpers";
import { allCrdSchemas, schemaProblems, upstream } from "./upstream";
import { PART_OF, PART_OF_LABEL } from "../lib/objects";

const HOUR = 3_600_000;

/** Runs that between them register every kind of object the program makes. */
const VARIANTS: [string, string, Record<string, unknown>][] = [
    ...STACKS.map((stack): [string, string, Record<string, unknown>] => [stack, stack, { "mtls.enabled": true }]),
    ["netcup, strict with authorizations", "netcup", STRICT],
    [
        "netcup, CNI plugin, platform NetworkPolicies, egress-denying namespace with opaque and skipped ports",
        "netcup",
        {
            "mtls.enabled": true,
            "linkerd.cni.enabled": true,
            "linkerd.networkPolicies": true,
            "mtls.namespaceOptions": {
                akko: { denyEgress: true, opaquePorts: [5432], skipInboundPorts: [9042], skipOutboundPorts: [25] },
            },
            "mtls.ingress.mode": "ingress",
        },
    ],
    [
        "netcup, bundled Prometheus with Alertmanagers and a Grafana reader",
        "netcup",
        {
            "mtls.enabled": true,
            "linkerd.networkPolicies": true,
            "viz.prometheus.alertmanagers": ["http://alertmanager-operated.monitoring.svc:9093"],
            "viz.prometheus.readers": { clients: ["grafana.monitoring.serviceaccount.identity.linkerd.cluster.local"] },
        },
    ],
    [
        "eks, strict, an unmeshed external Prometheus admitted by network",
        "eks",
        {
            ...STRICT,
            "viz.prometheus.mode": "external",
            "viz.prometheus.alertmanagers": [],
            "viz.prometheus.url": "http://prometheus.monitoring.svc:9090",
            "observability.prometheusOperator": true,
            "viz.prometheus.scraper.authentication": { networks: ["10.0.0.0/16"] },
        },
    ],
    [
        "eks, ingress-nginx meshed, external Prometheus with the operator, dashboard ingress",
        "eks",
        {
            "mtls.enabled": true,
            "mtls.ingress.enabled": true,
            "mtls.ingress.namespace": "ingress-nginx",
            "viz.prometheus.mode": "external",
            "viz.prometheus.alertmanagers": [],
            "viz.prometheus.url": "http://prometheus.monitoring.svc:9090",
            "observability.prometheusOperator": true,
            "viz.dashboard.ingress": {
                enabled: true,
                host: "linkerd.akko.example",
                className: "nginx",
                authAnnotations: { "nginx.ingress.kubernetes.io/auth-url": "https://auth.akko.example" },
            },
        },
    ],
];

const problemsOf = (run: ProgramRun, schemas: CrdSchemas) =>
    schemaProblems(registeredObjects(run).map(asObject), schemas);

describe("every object the program registers itself is valid against its schema", function () {
    this.timeout(120_000);
    let schemas: CrdSchemas;

    before(async function () {
        const all = await upstream(this, allCrdSchemas);
        schemas = all.schemas;
        for (const reason of all.missing) console.warn(`  [optional CRD unavailable] ${reason}`);
    });

    for (const [label, stack, overrides] of VARIANTS) {
        it(label, async () => {
            const run = await runStackOk(stack, overrides);
            assert.ok(registeredObjects(run).length > 10, "the run registers objects");
            const problems = await problemsOf(run, schemas);
            assert.deepEqual(problems, []);
        });
    }

    it("a rotation's phases and a drain's steps, each run", async () => {
        for (const stack of ["netcup", "k3d"]) {
            const state = new ProviderState();
            let previousOutputs: Record<string, unknown> | undefined;
            for (const [generation, rotationPhase] of [
                [1, 0],
                [1, 1],
                [1, 2],
                [1, 3],
            ]) {
                const run = await runStackOk(
                    stack,
                    {
                        "mtls.enabled": true,
                        "identity.trustAnchor.generation": generation,
                        "identity.trustAnchor.rotationPhase": rotationPhase,
                    },
                    { state, previousOutputs },
                );
                assert.deepEqual(await problemsOf(run, schemas), [], `${stack} rotation phase ${rotationPhase}`);
                previousOutputs = {
                    ...previousOutputs,
                    trustAnchorRotation: {
                        ...(run.outputs.trustAnchorRotation.value as object),
                        since: new Date(Date.now() - 26 * HOUR).toISOString(),
                    },
                };
            }
        }
        const state = new ProviderState();
        let previousOutputs: Record<string, unknown> | undefined;
        for (const enabled of [true, false, false]) {
            const run = await runStackOk("netcup", { ...STRICT, "mtls.enabled": enabled }, { state, previousOutputs });
            assert.deepEqual(await problemsOf(run, schemas), [], `drain step, enabled ${enabled}`);
            previousOutputs = { meshState: run.outputs.meshState.value };
        }
    });

    it("the check refuses an invalid object of the program's own kinds (a NetworkPolicy port, a Server field)", async function () {
        const run = await runStackOk("netcup", STRICT);
        const objects = registeredObjects(run).map(asObject) as any[];
        const policy = structuredClone(objects.find((o) => o.kind === "NetworkPolicy"));
        policy.spec.ingress[0].ports[0].port = { number: 4143 };
        assert.notDeepEqual(await validateObject(policy, schemas), []);
        const server = structuredClone(objects.find((o) => o.kind === "Server"));
        server.spec.proxyProtocl = "HTTP/1";
        assert.notDeepEqual(await validateObject(server, schemas), []);
    });
});

/** The labels the program writes on a Namespace beside part-of: the ones something reads (Pod Security, Linkerd's own). */
const FUNCTIONAL_LABEL = /^(pod-security\.kubernetes\.io\/|linkerd\.io\/|config\.linkerd\.io\/)/;

describe("one label set for the mesh's NetworkPolicies and Namespaces (lib/objects.ts)", function () {
    this.timeout(120_000);

    it("every NetworkPolicy carries part-of alone, every Namespace part-of and functional labels only", async () => {
        // Every component that registers a NetworkPolicy or a Namespace: control plane, viz, cert-manager, the CNI plugin,
        // the maintenance Jobs, a meshed namespace that denies egress.
        const [, stack, overrides] = VARIANTS[STACKS.length + 1];
        const objects = registeredObjects(await runStackOk(stack, overrides));
        const policies = objects
            .filter((o) => o.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")
            .map((o) => o.inputs);
        const namespaces = objects.filter((o) => o.type === "kubernetes:core/v1:Namespace").map((o) => o.inputs);
        assert.deepEqual(policies.map((p) => p.metadata?.name).sort(), [
            "cert-manager",
            "linkerd-cni",
            "linkerd-control-plane",
            "linkerd-maintenance",
            "linkerd-mesh",
            "linkerd-viz",
        ]);
        for (const policy of policies)
            assert.deepEqual(
                policy.metadata?.labels,
                { [PART_OF_LABEL]: PART_OF },
                `NetworkPolicy ${policy.metadata?.name}`,
            );
        assert.deepEqual(namespaces.map((n) => n.metadata?.name).sort(), [
            "cert-manager",
            "linkerd",
            "linkerd-cni",
            "linkerd-maintenance",
            "linkerd-viz",
        ]);
        for (const namespace of namespaces) {
            const labels: Record<string, string> = namespace.metadata?.labels ?? {};
            assert.equal(labels[PART_OF_LABEL], PART_OF, `Namespace ${namespace.metadata?.name}`);
            const others = Object.keys(labels).filter((key) => key !== PART_OF_LABEL && !FUNCTIONAL_LABEL.test(key));
            assert.deepEqual(others, [], `Namespace ${namespace.metadata?.name}`);
        }
    });
});
