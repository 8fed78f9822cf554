/**
 * What `npm run plan` prints from a mock run: the resource tree with each resource's
 * dependencies, the charts and their versions, the config that differs from the preset,
 * warnings; or the dependency graph as Mermaid.
 */
import type { ConfigOverride, MeshConfig } from "../config";
import { presetFor, valueAt } from "../config/merge";
import { TARGETS } from "../config/schema";
import type { ProgramRun, RecordedResource } from "./mockRuntime";

const SKIPPED_TYPES = new Set(["pulumi:pulumi:Stack", "pulumi:pulumi:StackReference"]);

/** `kubernetes:core/v1:Namespace` -> `Namespace`, `akko:mtls:TrustAnchor` -> `TrustAnchor`. */
export function shortType(type: string): string {
    return type.split(":").pop()!.split("/").pop()!;
}

/** The bracket tags of the resource tree, each with what it means (`npm run plan -- --help` lists them). */
export const TAGS: { tag: string; meaning: string }[] = [
    { tag: "protected", meaning: "Pulumi refuses to delete or replace it (the trust anchors; docs/admin/rotation.md)" },
    { tag: "read", meaning: "read from the cluster, not managed: it must exist, and Pulumi never changes it" },
    { tag: "CRDs retained", meaning: "the CustomResourceDefinitions it renders stay in the cluster when it goes" },
    {
        tag: "retained, re-adopted",
        meaning:
            "what it renders stays in the cluster when it goes, and a later `pulumi up` adopts it again (docs/engine.md)",
    },
    {
        tag: "webhooks awaited",
        meaning: "its webhook configurations and APIServices are ready only once their caBundle is set",
    },
];

/** What each of the program's transforms does to the objects a chart or YAML group renders (components/transforms.ts). */
const TRANSFORM_LABELS: Record<string, string> = {
    retainCustomResourceDefinitions: "CRDs retained",
    retainAndReadopt: "retained, re-adopted",
    awaitCaBundle: "webhooks awaited",
};

/** The object's name in the cluster (`namespace/name`), for a Kubernetes object; the chart and its namespace for a chart. */
export function kubernetesName(resource: RecordedResource): string | undefined {
    if (!resource.type.startsWith("kubernetes:") || resource.type.startsWith("pulumi:providers:")) return undefined;
    if (resource.type === "kubernetes:helm.sh/v4:Chart")
        return `chart ${resource.inputs.chart} in ${resource.inputs.namespace}`;
    const metadata = resource.inputs?.metadata ?? resource.state?.metadata;
    const name = metadata?.name;
    if (typeof name !== "string") return undefined;
    return typeof metadata.namespace === "string" ? `${metadata.namespace}/${name}` : name;
}

function label(resource: RecordedResource): string {
    const flags = [
        resource.protect ? "protected" : "",
        resource.read ? "read" : "",
        ...resource.transformNames.map((name) => TRANSFORM_LABELS[name] ?? ""),
    ].filter(Boolean);
    const inCluster = kubernetesName(resource);
    return `${shortType(resource.type)} ${resource.name}${inCluster ? ` → ${inCluster}` : ""}${flags.length ? ` [${flags.join(", ")}]` : ""}`;
}

/**
 * What the run registers, counted as docs/performance.md counts them (`npm run bench`): every
 * registration, the stack and the reads (`.get`, the stack's own last outputs) included. A Helm
 * chart counts once: the objects it renders are registered by the Kubernetes provider.
 */
export function resourceCount(run: ProgramRun): {
    total: number;
    components: number;
    charts: number;
    providers: number;
    managed: number;
    reads: number;
} {
    const registered = run.resources.filter((r) => !r.read);
    return {
        total: run.resources.length,
        components: registered.filter((r) => !r.custom && r.type !== "pulumi:pulumi:Stack").length,
        charts: registered.filter((r) => r.type === "kubernetes:helm.sh/v4:Chart").length,
        providers: registered.filter((r) => r.type.startsWith("pulumi:providers:")).length,
        managed: registered.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:")).length,
        reads: run.resources.filter((r) => r.read).length,
    };
}

/** The count's heading line. */
export function resourceCountLine(run: ProgramRun): string {
    const c = resourceCount(run);
    return (
        `Resources: ${c.total}, counted as docs/performance.md counts them: the stack, ${c.components} components (${c.charts} of them ` +
        `Helm charts, each counted once: the provider registers what they render), ${c.providers} provider${c.providers === 1 ? "" : "s"}, ` +
        `${c.managed} managed resources, ${c.reads} reads:`
    );
}

/** The resource tree, children under parents, each with what it waits for. */
export function resourceTree(run: ProgramRun): string[] {
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const children = new Map<string | undefined, RecordedResource[]>();
    for (const resource of run.resources) {
        if (SKIPPED_TYPES.has(resource.type)) continue;
        const parent =
            resource.parent && byUrn.get(resource.parent)?.type !== "pulumi:pulumi:Stack" ? resource.parent : undefined;
        children.set(parent, [...(children.get(parent) ?? []), resource]);
    }
    const lines: string[] = [];
    const walk = (parent: string | undefined, indent: string) => {
        const list = [...(children.get(parent) ?? [])].sort((a, b) => a.name.localeCompare(b.name));
        list.forEach((resource, i) => {
            const last = i === list.length - 1;
            lines.push(`${indent}${last ? "└─ " : "├─ "}${label(resource)}`);
            const below = `${indent}${last ? "   " : "│  "}`;
            const waits = resource.dependencies
                .map((urn) => byUrn.get(urn))
                .filter(
                    (d): d is RecordedResource =>
                        d !== undefined && !SKIPPED_TYPES.has(d.type) && d.type !== "pulumi:providers:kubernetes",
                )
                .map((d) => d.name)
                .sort();
            if (waits.length > 0) lines.push(`${below}   waits for: ${[...new Set(waits)].join(", ")}`);
            walk(resource.urn, below);
        });
    };
    walk(undefined, "");
    return lines;
}

/** Every Helm chart: name, exact version, repository, namespace. */
export function chartLines(run: ProgramRun): string[] {
    return run.resources
        .filter((r) => r.type === "kubernetes:helm.sh/v4:Chart")
        .map(
            (c) =>
                `${c.inputs.chart} ${c.inputs.version} from ${c.inputs.repositoryOpts?.repo} into namespace ${c.inputs.namespace}`,
        )
        .sort();
}

/** One container's resources: requests cpu/memory, then limits ("—": none). */
export function resourcesText(resources: unknown): string {
    if (resources === undefined) return "—";
    const at = (kind: string, which: string) => (valueAt(resources, [kind, which]) as string | undefined) ?? "—";
    return `requests ${at("cpu", "request")}/${at("memory", "request")}, limits ${at("cpu", "limit")}/${at("memory", "limit")}`;
}

/** A container's resources: `<container>.cpu.request` and the like, shown on one line. */
const RESOURCE_LEAF = /^(.*)\.(cpu|memory)\.(request|limit)$/;
const isResources = (value: unknown) =>
    value !== null && typeof value === "object" && ("cpu" in value || "memory" in value);

function leaves(value: unknown, path: string[] = []): string[] {
    if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
        return Object.entries(value).flatMap(([key, child]) => leaves(child, [...path, key]));
    }
    return [path.join(".")];
}

/**
 * The settings whose presets differ between targets (HA, replicas, webhook failure policy, iptables
 * mode, resources, …), plus the CNI plugin's switch, in preset order: what a reviewer compares
 * between stacks. Each container's resources on one line.
 */
export function perTargetKeys(): string[] {
    const presets = TARGETS.map((target) => presetFor(target));
    const keys: string[] = [];
    for (const key of [...new Set(presets.flatMap((preset) => leaves(preset)))]) {
        const path = key.split(".");
        const differs = new Set(presets.map((preset) => JSON.stringify(valueAt(preset, path)))).size > 1;
        const shown = RESOURCE_LEAF.exec(key)?.[1] ?? key;
        if ((differs || key === "linkerd.cni.enabled") && !keys.includes(shown)) keys.push(shown);
    }
    return keys;
}

/** Whether a setting matters for this config: cert-manager's when it is installed, viz's when viz is on, the CNI plugin's paths when it is on. */
function applies(key: string, config: MeshConfig): boolean {
    if (key.startsWith("certManager."))
        return config.identity.issuer.mode === "certManager" && config.certManager.install;
    if (key.startsWith("viz.prometheus.")) return config.viz.enabled && config.viz.prometheus.mode === "bundled";
    if (key.startsWith("viz.")) return config.viz.enabled;
    if (key.startsWith("linkerd.cni.") && key !== "linkerd.cni.enabled") return config.linkerd.cni.enabled;
    if (key === "linkerd.proxyInit.iptablesMode") return !config.linkerd.cni.enabled;
    if (key.startsWith("mtls.ingress.") && key !== "mtls.ingress.enabled") return config.mtls.ingress.enabled;
    return true;
}

/** The per-target settings as this stack resolves them (preset and stack file). */
export function perTargetLines(config: MeshConfig): string[] {
    return perTargetKeys()
        .filter((key) => applies(key, config))
        .map((key) => {
            const value = valueAt(config, key.split("."));
            return isResources(value)
                ? `${key}: ${resourcesText(value)}`
                : `${key} = ${typeof value === "string" ? value : JSON.stringify(value)}`;
        });
}

export function overrideLines(overrides: ConfigOverride[]): string[] {
    return overrides.map(
        (o) =>
            `${o.key} = ${JSON.stringify(o.value)}${o.preset === undefined ? "" : `  (preset: ${JSON.stringify(o.preset)})`}`,
    );
}

/**
 * The dependency graph between the mesh's parts (the top component's children), as a
 * Mermaid flowchart: an edge A --> B says B waits for A; transitive edges are left out.
 */
export function mermaidGraph(run: ProgramRun): string {
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const top = run.resources.find((r) => r.type === "akko:mtls:MtlsMesh");
    const groupOf = (resource: RecordedResource | undefined): RecordedResource | undefined => {
        let node = resource;
        while (node && node.parent !== top?.urn) node = node.parent ? byUrn.get(node.parent) : undefined;
        return node;
    };
    const groups = run.resources.filter(
        (r) => top && r.parent === top.urn && r.type !== "pulumi:providers:kubernetes" && !SKIPPED_TYPES.has(r.type),
    );
    const edges = new Map<string, Set<string>>();
    for (const resource of run.resources) {
        const to = groupOf(resource);
        if (!to || !groups.includes(to)) continue;
        for (const urn of resource.dependencies) {
            const from = groupOf(byUrn.get(urn));
            if (from && from !== to && groups.includes(from)) {
                edges.set(from.urn, (edges.get(from.urn) ?? new Set()).add(to.urn));
            }
        }
    }
    // Transitive reduction: drop A --> C when A still reaches C without it. One edge at a time, each
    // against the edges kept so far: components that wait for each other (the maintenance Jobs wait for
    // the namespaces' patches, which wait for its preflight Jobs) form cycles, where judging every edge
    // against the full set drops edges that only justify each other and loses reachability.
    /** Whether `from` reaches `to` without the edge between them (also when a cycle leads back to `from`). */
    const reachesWithout = (from: string, to: string): boolean => {
        const next = (node: string) => [...(edges.get(node) ?? [])].filter((n) => !(node === from && n === to));
        const seen = new Set<string>();
        const stack = next(from);
        while (stack.length > 0) {
            const node = stack.pop()!;
            if (node === to) return true;
            if (seen.has(node)) continue;
            seen.add(node);
            stack.push(...next(node));
        }
        return false;
    };
    const id = (urn: string) => byUrn.get(urn)!.name.replace(/[^A-Za-z0-9]/g, "_");
    const sorted = [...groups].sort((a, b) => a.name.localeCompare(b.name));
    const lines = ["flowchart TD"];
    for (const group of sorted) lines.push(`    ${id(group.urn)}["${shortType(group.type)}<br/>${group.name}"]`);
    for (const from of sorted) {
        for (const to of [...(edges.get(from.urn) ?? [])].sort()) {
            if (reachesWithout(from.urn, to)) edges.get(from.urn)!.delete(to);
            else lines.push(`    ${id(from.urn)} --> ${id(to)}`);
        }
    }
    return lines.join("\n");
}

/**
 * A trust stack's view of its fleet, from its outputs (components/fleetTrust.ts): the rotation
 * phase, the anchors, and each member's state as the gate read it (lib/fleet.ts).
 */
export function fleetLines(outputs: ProgramRun["outputs"]): string[] {
    const record = outputs.fleetRotation?.value as { generation: number; phase: number; since: string } | undefined;
    const anchors = (outputs.trustAnchors?.value ?? []) as {
        generation: number;
        inBundle: boolean;
        signsIssuer: boolean;
        fingerprintSha256: string;
        notAfter: string;
    }[];
    const state = (outputs.fleetState?.value ?? {}) as Record<string, { status: string; state: string }>;
    const phases = [
        "steady",
        "phase 1: members trust both anchors",
        "phase 2: members issue from the new anchor",
        "phase 3: members drop the old anchor",
    ];
    return [
        record ? `rotation: generation ${record.generation}, ${phases[record.phase]}` : "rotation: unknown",
        ...anchors.map(
            (a) =>
                `anchor g${a.generation}: ${[a.inBundle ? "in the bundle" : "leaving the bundle", a.signsIssuer ? "signs the intermediates that issue" : ""].filter(Boolean).join(", ")}; ` +
                `expires ${a.notAfter}`,
        ),
        ...Object.entries(state).map(([member, s]) => `member ${member}: ${s.state}`),
    ];
}
