/**
 * The README's generated parts, from their one home: the config reference (the schema's own
 * descriptions, types and the presets' defaults: config/reference.ts) and the dependency graph
 * of the netcup stack (`npm run plan -- netcup --format mermaid --set mtls.enabled=true`).
 * `npm run readme` writes them; test/docs.test.ts checks the README holds them as generated.
 */
import { configReference, ConfigReferenceRow, descriptionAt } from "../config/reference";
import { presetFor, valueAt } from "../config/merge";
import { Target, TARGETS } from "../config/schema";
import { plan } from "./cli/plan";
import { resourcesText } from "./planReport";

export const REFERENCE_MARKERS = { start: "<!-- config-reference:start -->", end: "<!-- config-reference:end -->" };

const RESOURCE_KEY = /^(.*)\.(cpu|memory)\.(request|limit)$/;

/** One container's resources on one row: its defaults per target, as requests cpu/memory, limits cpu/memory. */
function resourceRow(prefix: string): ConfigReferenceRow {
    const path = prefix.split(".");
    const groups = new Map<string, Target[]>();
    for (const target of TARGETS) {
        const text = resourcesText(valueAt(presetFor(target), path));
        groups.set(text, [...(groups.get(text) ?? []), target]);
    }
    const defaults =
        groups.size === 1
            ? [...groups.keys()][0]
            : [...groups].map(([text, targets]) => `${targets.join("/")}: ${text}`).join("; ");
    return {
        key: prefix,
        type: "`.cpu.request`, `.cpu.limit`, `.memory.request`, `.memory.limit`: Kubernetes quantities",
        default: defaults,
        description: `${descriptionAt(path) ?? prefix} Requests and limits; a limit left out is unlimited.`,
    };
}

/** The reference rows, each container's four resource keys on one row. */
export function referenceRows(): ConfigReferenceRow[] {
    const rows: ConfigReferenceRow[] = [];
    const seen = new Set<string>();
    for (const row of configReference()) {
        const resource = RESOURCE_KEY.exec(row.key);
        if (!resource) {
            rows.push(row);
            continue;
        }
        if (seen.has(resource[1])) continue;
        seen.add(resource[1]);
        rows.push(resourceRow(resource[1]));
    }
    return rows;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The Markdown table the README holds between its config-reference markers. */
export function referenceTable(): string {
    return [
        "| Key | Type | Default | Meaning |",
        "| --- | --- | --- | --- |",
        ...referenceRows().map(
            (r) => `| \`${r.key}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`,
        ),
    ].join("\n");
}

/** The README's mermaid graph: the netcup stack with the mesh on. */
export async function mermaidBlock(): Promise<string> {
    const result = await plan(["netcup", "--format", "mermaid", "--set", "mtls.enabled=true"]);
    if (result.status !== 0) throw new Error(result.output);
    return result.output;
}

/** The README with both generated parts brought up to date. */
export async function regenerate(readme: string): Promise<string> {
    const start = readme.indexOf(REFERENCE_MARKERS.start);
    const end = readme.indexOf(REFERENCE_MARKERS.end);
    if (start === -1 || end === -1)
        throw new Error(`README.md has no ${REFERENCE_MARKERS.start} … ${REFERENCE_MARKERS.end} block`);
    const withReference = `${readme.slice(0, start + REFERENCE_MARKERS.start.length)}\n${referenceTable()}\n${readme.slice(end)}`;
    const mermaid = await mermaidBlock();
    return withReference.replace(/```mermaid\n[\s\S]*?\n```/, () => `\`\`\`mermaid\n${mermaid}\n\`\`\``);
}
