/**
 * What the program hands the engine, for a set of scenarios covering every stack and mode, in a
 * form that is the same from run to run: every resource's URN, parent, dependencies, options and
 * inputs, and the stack outputs. Keys, certificates, fingerprints and digests derived from them,
 * and times are random per run under the tls mock: they are replaced by placeholders. Long texts
 * (a chart's values, the maintenance script) are kept as their SHA-256.
 *
 * `npm run snapshot` writes one file per scenario, test/fixtures/plan/<scenario>.json, each resource
 * under its URN in URN order and every object's keys sorted, so that a change of one field reads
 * as one line of its diff; test/planSnapshot.test.ts compares the program against them, so a
 * restructuring that changes a URN, an input or an output fails until the change is meant (then:
 * `npm run snapshot`).
 */
import * as crypto from "node:crypto";
import type { StackOutputValues } from "../lib/stackOutputs";
import {
    clusterStackNames,
    ProgramRun,
    ProviderState,
    readStackConfig,
    runProgram,
    setConfigPath,
} from "./mockRuntime";

export interface Scenario {
    name: string;
    stack: string;
    overrides: Record<string, unknown>;
    /** The last deployment's outputs, for a run mid-rotation or mid-drain. */
    previousOutputs?: StackOutputValues;
    /**
     * Other stacks its StackReferences read: a trust stack's members (none: created, never deployed),
     * or, for a member, the name of the earlier scenario whose outputs are its trust stack's.
     */
    stacks?: { members: string[] } | { trust: string };
}

const STRICT = {
    "mtls.enabled": true,
    "mtls.mode": "strict",
    "mtls.namespaces": ["akko", "spark"],
    "mtls.authorizations": [
        {
            namespace: "akko",
            name: "trino",
            podSelector: { "app.kubernetes.io/name": "trino" },
            port: 8080,
            proxyProtocol: "HTTP/1",
            serviceAccount: "trino",
            clients: ["spark.spark.serviceaccount.identity.linkerd.cluster.local"],
        },
        {
            namespace: "spark",
            name: "spark-connect-health",
            podSelector: { "app.kubernetes.io/name": "spark-connect" },
            port: 15002,
            networks: ["10.42.0.0/16"],
        },
    ],
};

/** Every stack off and on, and the modes a stack file can switch to. */
export const SCENARIOS: Scenario[] = [
    ...clusterStackNames().flatMap((stack) => [
        { name: `${stack} off`, stack, overrides: {} },
        { name: `${stack} on`, stack, overrides: { "mtls.enabled": true } },
    ]),
    { name: "netcup strict", stack: "netcup", overrides: STRICT },
    {
        name: "netcup cni, network policies, namespace options, ingress mode",
        stack: "netcup",
        overrides: {
            "mtls.enabled": true,
            "linkerd.cni.enabled": true,
            "linkerd.networkPolicies": true,
            "mtls.namespaceOptions": { akko: { denyEgress: true, opaquePorts: [5432] } },
            "mtls.ingress.mode": "ingress",
            "viz.prometheus.readers": { networks: ["10.42.0.0/16"] },
        },
    },
    {
        name: "eks external prometheus, strict, ingress-nginx",
        stack: "eks",
        overrides: {
            ...STRICT,
            "viz.prometheus.mode": "external",
            "viz.prometheus.alertmanagers": [],
            "viz.prometheus.url": "http://prometheus.monitoring.svc:9090",
            "viz.prometheus.scraper.authentication": { networks: ["10.0.0.0/16"] },
            "observability.prometheusOperator": true,
            "mtls.ingress.enabled": true,
            "mtls.ingress.namespace": "ingress-nginx",
        },
    },
    {
        name: "eks egress, akko enforced, spark audited",
        stack: "eks",
        overrides: {
            "mtls.enabled": true,
            "mtls.namespaces": ["akko", "spark"],
            "mtls.egress": {
                mode: "enforce",
                allowedHosts: ["http://pypi.example.org", "*.s3.eu-central-1.amazonaws.com"],
                allowedNetworks: ["52.219.168.0/24"],
                platformNetworks: ["10.0.0.10/32"],
            },
            "mtls.namespaceOptions": { spark: { egress: { mode: "audit" } } },
        },
    },
    {
        name: "k3d rotation phase 1",
        stack: "k3d",
        overrides: { "mtls.enabled": true, "identity.trustAnchor.rotationPhase": 1 },
        previousOutputs: { trustAnchorRotation: { generation: 1, phase: 0, since: "2026-01-01T00:00:00Z" } },
    },
    {
        name: "netcup rotation phase 3",
        stack: "netcup",
        overrides: { "mtls.enabled": true, "identity.trustAnchor.rotationPhase": 3 },
        previousOutputs: { trustAnchorRotation: { generation: 1, phase: 2, since: "2026-01-01T00:00:00Z" } },
    },
    { name: "trust", stack: "trust", overrides: {}, stacks: { members: ["netcup", "eks", "gke"] } },
    {
        name: "netcup fleet member",
        stack: "netcup",
        overrides: { "mtls.enabled": true, "identity.trustAnchor.fleetStack": "trust" },
        stacks: { trust: "trust" },
    },
    {
        name: "netcup draining",
        stack: "netcup",
        overrides: { ...STRICT, "mtls.enabled": false },
        previousOutputs: { meshState: { phase: "on", namespaces: ["akko", "spark"], mode: "strict" } },
    },
];

const sha = (text: string) => crypto.createHash("sha256").update(text).digest("hex").slice(0, 16);

/** A value with everything random per run replaced, and long texts hashed. */
export function normalize(value: unknown): unknown {
    if (typeof value === "string") {
        const text = value
            .replace(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g, "<pem:$1>")
            .replace(/LS0tLS1CRUdJTi[A-Za-z0-9+/=]+/g, "<pem:base64>")
            .replace(/\b([0-9A-F]{2}:){31}[0-9A-F]{2}\b/g, "<fingerprint>")
            .replace(/\b[0-9a-fA-F]{10,64}\b/g, "<hex>")
            .replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z\b/g, "<time>");
        return text.length > 400 ? `<text ${text.length} chars sha256:${sha(text)}>` : text;
    }
    if (Array.isArray(value)) return value.map(normalize);
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(
            Object.entries(value)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([k, v]) => [k, normalize(v)]),
        );
    }
    return value;
}

/** What the snapshot keeps of one resource, under its URN. */
export interface ResourceSnapshot {
    read: boolean;
    parent?: string;
    provider?: string;
    dependencies: string[];
    protect?: boolean;
    retainOnDelete?: boolean;
    ignoreChanges?: string[];
    customTimeouts?: unknown;
    transformNames?: string[];
    secretPaths: string[];
    inputs: unknown;
}

/** One scenario, as its file keeps it: its resources by URN (in URN order) and its outputs, or the error it stops with. */
export interface ScenarioSnapshot {
    scenario: string;
    stack: string;
    resources?: Record<string, ResourceSnapshot>;
    outputs?: unknown;
    error?: unknown;
}

/** A scenario's file name: `netcup strict` -> `netcup-strict`. */
export function scenarioSlug(name: string): string {
    return name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-|-$/g, "");
}

/** One run, as the snapshot keeps it. */
export function snapshotOf(scenario: Scenario, run: ProgramRun): ScenarioSnapshot {
    const head = { scenario: scenario.name, stack: scenario.stack };
    if (run.error) return { ...head, error: normalize(run.error.message) };
    const resources: Record<string, ResourceSnapshot> = {};
    for (const r of [...run.resources].sort((a, b) => a.urn.localeCompare(b.urn))) {
        if (r.urn in resources) throw new Error(`${scenario.name}: ${r.urn} is registered twice`);
        resources[r.urn] = {
            read: r.read,
            parent: r.parent,
            provider: r.provider,
            dependencies: [...r.dependencies].sort(),
            protect: r.protect,
            retainOnDelete: r.retainOnDelete,
            ignoreChanges: r.ignoreChanges,
            customTimeouts: r.customTimeouts,
            transformNames: r.transformNames,
            secretPaths: [...r.secretPaths].sort(),
            inputs: normalize(r.inputs),
        };
    }
    return {
        ...head,
        resources,
        outputs: normalize(Object.fromEntries(Object.entries(run.outputs).map(([k, v]) => [k, v.value]))),
    };
}

/** A scenario's file: JSON, one key per line, the keys in the order above. */
export function snapshotText(snapshot: ScenarioSnapshot): string {
    return `${JSON.stringify(snapshot, null, 1)}\n`;
}

/** Every scenario's snapshot, by file name (its slug). */
export async function planSnapshot(scenarios: Scenario[] = SCENARIOS): Promise<Map<string, ScenarioSnapshot>> {
    const snapshots = new Map<string, ScenarioSnapshot>();
    const runs = new Map<string, ProgramRun>();
    for (const scenario of scenarios) {
        const run = await runScenario(scenario, runs);
        runs.set(scenario.name, run);
        const slug = scenarioSlug(scenario.name);
        if (snapshots.has(slug)) throw new Error(`two scenarios named ${slug}`);
        snapshots.set(slug, snapshotOf(scenario, run));
    }
    return snapshots;
}

/**
 * One scenario's run, from a fresh state: its stack file with the overrides, its previous outputs,
 * and the other stacks it reads (a member reads the run of an earlier scenario, in `earlier`).
 */
export async function runScenario(scenario: Scenario, earlier: ReadonlyMap<string, ProgramRun>): Promise<ProgramRun> {
    let config = readStackConfig(scenario.stack);
    for (const [key, value] of Object.entries(scenario.overrides)) config = setConfigPath(config, key, value);
    let stacks: Record<string, ProgramRun["outputs"]> | undefined;
    if (scenario.stacks !== undefined && "members" in scenario.stacks)
        stacks = Object.fromEntries(scenario.stacks.members.map((member) => [member, {}]));
    else if (scenario.stacks !== undefined) {
        const trust = earlier.get(scenario.stacks.trust);
        if (!trust) throw new Error(`${scenario.name}: run the scenario ${scenario.stacks.trust} first`);
        stacks = { trust: trust.outputs };
    }
    return runProgram({
        stack: scenario.stack,
        config,
        state: new ProviderState(),
        previousOutputs: scenario.previousOutputs,
        stacks,
    });
}
