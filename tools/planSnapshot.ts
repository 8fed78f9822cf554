/**
 * What the program hands the engine, for a set of scenarios covering every stack and mode, in a
 * form that is the same from run to run: every resource's URN, type, parent, dependencies,
 * options and inputs, and the stack outputs. Keys, certificates, fingerprints and digests derived
 * from them, and times are random per run under the tls mock: they are replaced by placeholders.
 * Long texts (a chart's values, the maintenance script) are kept as their SHA-256.
 *
 * `npm run snapshot` writes it to test/fixtures/plan-snapshot.json; test/planSnapshot.test.ts
 * compares the program against it, so a restructuring that changes a URN, an input or an output
 * fails until the change is meant (then: `npm run snapshot`).
 */
import * as crypto from "node:crypto";
import type { StackOutputValues } from "../lib/stackOutputs";
import { ProgramRun, ProviderState, readStackConfig, runProgram, setConfigPath, stackNames } from "./mockRuntime";

export interface Scenario {
    name: string;
    stack: string;
    overrides: Record<string, unknown>;
    /** The last deployment's outputs, for a run mid-rotation or mid-drain. */
    previousOutputs?: StackOutputValues;
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
    ...stackNames().flatMap((stack) => [
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

/** One run, as the snapshot keeps it. */
export function snapshotOf(run: ProgramRun): object {
    if (run.error) return { error: normalize(run.error.message) };
    return {
        resources: run.resources
            .map((r) => ({
                urn: r.urn,
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
            }))
            .sort((a, b) => a.urn.localeCompare(b.urn)),
        outputs: normalize(Object.fromEntries(Object.entries(run.outputs).map(([k, v]) => [k, v.value]))),
    };
}

export interface PlanSnapshot {
    /** Each distinct resource once, by a hash of what is kept of it. */
    resources: Record<string, object>;
    /** Per scenario: its resources' hashes (in URN order) and its outputs, or its error. */
    scenarios: Record<string, { resources?: string[]; outputs?: unknown; error?: unknown }>;
}

/** Every scenario's snapshot, each resource kept once. */
export async function planSnapshot(scenarios: Scenario[] = SCENARIOS): Promise<PlanSnapshot> {
    const snapshot: PlanSnapshot = { resources: {}, scenarios: {} };
    for (const scenario of scenarios) {
        let config = readStackConfig(scenario.stack);
        for (const [key, value] of Object.entries(scenario.overrides)) config = setConfigPath(config, key, value);
        const run = await runProgram({ stack: scenario.stack, config, state: new ProviderState(), previousOutputs: scenario.previousOutputs });
        const { resources, ...rest } = snapshotOf(run) as { resources?: { urn: string }[] };
        snapshot.scenarios[scenario.name] = {
            ...rest,
            ...(resources
                ? {
                      resources: resources.map((resource) => {
                          const key = sha(JSON.stringify(resource));
                          snapshot.resources[key] = resource;
                          return key;
                      }),
                  }
                : {}),
        };
    }
    snapshot.resources = Object.fromEntries(Object.entries(snapshot.resources).sort(([a], [b]) => a.localeCompare(b)));
    return snapshot;
}
