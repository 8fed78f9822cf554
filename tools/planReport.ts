/**
 * What `npm run plan` prints from a mock run: the resource tree with each resource's
 * dependencies, the charts and their versions, the config that differs from the preset,
 * warnings; or the dependency graph as Mermaid.
 */
import type { ConfigOverride } from "../config";
import type { ProgramRun, RecordedResource } from "./mockRuntime";

const SKIPPED_TYPES = new Set(["pulumi:pulumi:Stack", "pulumi:pulumi:StackReference"]);

/** `kubernetes:core/v1:Namespace` -> `Namespace`, `akko:mtls:TrustAnchor` -> `TrustAnchor`. */
export function shortType(type: string): string {
    return type.split(":").pop()!.split("/").pop()!;
}

/** What each of the program's transforms does to the objects a chart or YAML group renders (components/transforms.ts). */
const TRANSFORM_LABELS: Record<string, string> = {
    retainCustomResourceDefinitions: "CRDs retained",
    retainAndReadopt: "retained, re-adopted",
    awaitCaBundle: "webhooks awaited",
};

function label(resource: RecordedResource): string {
    const flags = [
        resource.protect ? "protected" : "",
        resource.read ? "read" : "",
        ...resource.transformNames.map((name) => TRANSFORM_LABELS[name] ?? ""),
    ].filter(Boolean);
    return `${shortType(resource.type)} ${resource.name}${flags.length ? ` [${flags.join(", ")}]` : ""}`;
}

/** The resource tree, children under parents, each with what it waits for. */
export function resourceTree(run: ProgramRun): string[] {
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const children = new Map<string | undefined, RecordedResource[]>();
    for (const resource of run.resources) {
        if (SKIPPED_TYPES.has(resource.type)) continue;
        const parent = resource.parent && byUrn.get(resource.parent)?.type !== "pulumi:pulumi:Stack" ? resource.parent : undefined;
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
                .filter((d): d is RecordedResource => d !== undefined && !SKIPPED_TYPES.has(d.type) && d.type !== "pulumi:providers:kubernetes")
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
        .map((c) => `${c.inputs.chart} ${c.inputs.version} from ${c.inputs.repositoryOpts?.repo} into namespace ${c.inputs.namespace}`)
        .sort();
}

export function overrideLines(overrides: ConfigOverride[]): string[] {
    return overrides.map((o) => `${o.key} = ${JSON.stringify(o.value)}${o.preset === undefined ? "" : `  (preset: ${JSON.stringify(o.preset)})`}`);
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
    const groups = run.resources.filter((r) => top && r.parent === top.urn && r.type !== "pulumi:providers:kubernetes" && !SKIPPED_TYPES.has(r.type));
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
    // Transitive reduction: drop A --> C when A reaches C through another child of A.
    const reaches = (from: string, to: string, skipDirect: boolean): boolean => {
        const seen = new Set<string>();
        const stack = [...(edges.get(from) ?? [])].filter((n) => !(skipDirect && n === to));
        while (stack.length > 0) {
            const node = stack.pop()!;
            if (node === to) return true;
            if (seen.has(node)) continue;
            seen.add(node);
            stack.push(...(edges.get(node) ?? []));
        }
        return false;
    };
    const id = (urn: string) => byUrn.get(urn)!.name.replace(/[^A-Za-z0-9]/g, "_");
    const sorted = [...groups].sort((a, b) => a.name.localeCompare(b.name));
    const lines = ["flowchart TD"];
    for (const group of sorted) lines.push(`    ${id(group.urn)}["${shortType(group.type)}<br/>${group.name}"]`);
    for (const from of sorted) {
        for (const to of [...(edges.get(from.urn) ?? [])].sort()) {
            if (!reaches(from.urn, to, true)) lines.push(`    ${id(from.urn)} --> ${id(to)}`);
        }
    }
    return lines.join("\n");
}
