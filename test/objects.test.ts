/**
 * Every Kubernetes object the program registers itself (not through a chart) is valid against
 * its schema, as the API server would check it: built-in kinds against Kubernetes' published
 * OpenAPI schemas, custom resources against the pinned CRDs with unknown fields refused. Charts
 * are checked from their renders (test/render.test.ts). Upstream tier (test/upstream.ts); the
 * HelmChartConfig and Prometheus Operator CRDs are optional artefacts, reported when missing.
 */
import { strict as assert } from "node:assert";
import { ProgramRun, ProviderState } from "../lib/mockRuntime";
import { CrdSchemas, goRegExp, KubeObject, validateObject } from "../tools/kubeValidate";
import { asObject, registeredObjects } from "./crdSchemas";
import { runStackOk, STACKS, STRICT } from "./helpers";
import { crdObjects, OPTIONAL_KINDS, optionalCrds, upstream } from "./upstream";

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
            "mtls.namespaceOptions": { akko: { denyEgress: true, opaquePorts: [5432], skipInboundPorts: [9042], skipOutboundPorts: [25] } },
            "mtls.ingress.mode": "ingress",
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
            "viz.prometheus.url": "http://prometheus.monitoring.svc:9090",
            "observability.prometheusOperator": true,
            "viz.dashboard.ingress": { enabled: true, host: "linkerd.akko.example", className: "nginx", authAnnotations: { "nginx.ingress.kubernetes.io/auth-url": "https://auth.akko.example" } },
        },
    ],
];

/** The problems of one object; an object of an optional kind whose CRD could not be had is reported, not failed. */
async function problemsOf(object: KubeObject, schemas: CrdSchemas, unchecked: Set<string>): Promise<string[]> {
    const kind = `${object.apiVersion}:${object.kind}`;
    if (OPTIONAL_KINDS.includes(kind) && !schemas.get(object.apiVersion, object.kind)) {
        unchecked.add(kind);
        return [];
    }
    return validateObject(object, schemas);
}

async function allProblems(run: ProgramRun, schemas: CrdSchemas, unchecked: Set<string>): Promise<string[]> {
    const objects = registeredObjects(run).map(asObject);
    return (await Promise.all(objects.map((o) => problemsOf(o, schemas, unchecked)))).flat();
}

describe("every object the program registers itself is valid against its schema", function () {
    this.timeout(120_000);
    let schemas: CrdSchemas;
    const unchecked = new Set<string>();

    before(async function () {
        const required = await upstream(this, crdObjects);
        const optional = await optionalCrds();
        schemas = new CrdSchemas([...required, ...optional.crds]);
        for (const reason of optional.missing) console.warn(`  [optional CRD unavailable] ${reason}`);
    });

    after(() => {
        if (unchecked.size > 0) console.warn(`  [not schema-checked: optional CRD unavailable] ${[...unchecked].join(", ")}`);
    });

    for (const [label, stack, overrides] of VARIANTS) {
        it(label, async () => {
            const run = await runStackOk(stack, overrides);
            assert.ok(registeredObjects(run).length > 10, "the run registers objects");
            const problems = await allProblems(run, schemas, unchecked);
            assert.deepEqual(problems, []);
        });
    }

    it("a rotation's phases and a drain's steps, each run", async () => {
        for (const stack of ["netcup", "k3d"]) {
            const state = new ProviderState();
            let previousOutputs: Record<string, unknown> | undefined;
            for (const [generation, rotationPhase] of [[1, 0], [1, 1], [1, 2], [1, 3]]) {
                const run = await runStackOk(
                    stack,
                    { "mtls.enabled": true, "identity.trustAnchor.generation": generation, "identity.trustAnchor.rotationPhase": rotationPhase },
                    { state, previousOutputs },
                );
                assert.deepEqual(await allProblems(run, schemas, unchecked), [], `${stack} rotation phase ${rotationPhase}`);
                previousOutputs = { ...previousOutputs, trustAnchorRotation: { ...(run.outputs.trustAnchorRotation.value as object), since: new Date(Date.now() - 26 * HOUR).toISOString() } };
            }
        }
        const state = new ProviderState();
        let previousOutputs: Record<string, unknown> | undefined;
        for (const enabled of [true, false, false]) {
            const run = await runStackOk("netcup", { ...STRICT, "mtls.enabled": enabled }, { state, previousOutputs });
            assert.deepEqual(await allProblems(run, schemas, unchecked), [], `drain step, enabled ${enabled}`);
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

    it("CRD patterns are Go regular expressions: a leading inline flag becomes a RegExp flag", () => {
        assert.ok(goRegExp("^(?i)(abort|warn)?$", "u").test("WARN"));
        assert.ok(!goRegExp("^(?i)(abort|warn)?$", "u").test("fail"));
        assert.ok(!goRegExp("^(abort|warn)$", "u").test("WARN"));
    });
});
