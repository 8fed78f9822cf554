/**
 * Credential-free plan: runs the real program for one stack under Pulumi's mock runtime
 * (the same one the tests use, tools/mockRuntime.ts) — no cluster, no Pulumi backend, no
 * secrets — prints what `pulumi up` would register, and applies the policy pack to it.
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, configOverrides, misplacedNamespace, resolveConfig } from "../../config";
import { presetFor, valueAt } from "../../config/merge";
import { Target, TARGETS } from "../../config/schema";
import { meshStateProblem } from "../../lib/meshLifecycle";
import type { StackOutputName, StackOutputValues } from "../../lib/stackOutputs";
import { parseRotationRecord } from "../../lib/rotation";
import { configSetPath, formatPropertyPath, IndexOutOfRange, parseConfigKey } from "../../config/configPath";
import { WEBHOOK_OBJECTS } from "../../lib/registry";
import {
    defaultCluster,
    FakeCluster,
    ProgramRun,
    PROJECT,
    PROJECT_ROOT,
    readStack,
    runProgram,
    stackNames,
} from "../mockRuntime";
import {
    chartLines,
    fleetLines,
    mermaidGraph,
    overrideLines,
    perTargetLines,
    resourceCountLine,
    resourceTree,
    TAGS,
} from "../planReport";
import { checkRun } from "../policyCheck";
import { redact, StackFile, StackFileError } from "../stackFile";

/** A `--previous` file the plan accepts: what `pulumi stack output --json` prints for a meshed stack. */
export const SAMPLE_PREVIOUS: StackOutputValues = {
    target: "k3s",
    mtlsEnabled: true,
    meshState: { phase: "on", namespaces: ["akko"], mode: "permissive" },
    trustAnchorRotation: { generation: 1, phase: 0, since: "2026-11-02T09:00:00.000Z" },
    identityIssuerMode: "certManager",
    linkerdChartVersion: "2026.8.3",
    certManagerChartVersion: "v1.21.1",
    webhookTrust: "program-ca",
} satisfies StackOutputValues;

/**
 * What the plan's stand-in cluster holds: the default (tools/mockRuntime.ts) plus, for a stack whose
 * webhooks cert-manager served (a `--previous` from before the program's webhook CA), their
 * configurations, whose live bundles the handover reads (lib/webhookTrust.ts) — empty here: a plan
 * has no cluster to read them from.
 */
function planCluster(): FakeCluster {
    const cluster = defaultCluster();
    for (const object of Object.values(WEBHOOK_OBJECTS)) {
        const type =
            object.kind === "APIService"
                ? "kubernetes:apiregistration.k8s.io/v1:APIService"
                : `kubernetes:admissionregistration.k8s.io/v1:${object.kind}`;
        cluster.objects[`${type}::${object.name}`] =
            object.kind === "APIService"
                ? { metadata: { name: object.name }, spec: {} }
                : { metadata: { name: object.name }, webhooks: [] };
    }
    return cluster;
}

/** A JSON object one key a line, each value compact: readable and still JSON. */
const sampleJson = (value: Record<string, unknown>, indent: string) =>
    [
        `${indent}{`,
        ...Object.entries(value).map(
            ([k, v], i, all) => `${indent}  ${JSON.stringify(k)}: ${JSON.stringify(v)}${i < all.length - 1 ? "," : ""}`,
        ),
        `${indent}}`,
    ].join("\n");

/** Words wrapped to a width, every line after the first indented. */
function wrapWords(text: string, width: number, indent: string): string {
    const lines: string[] = [];
    let line = "";
    for (const word of text.split(" ")) {
        if (line && line.length + 1 + word.length > width) {
            lines.push(line);
            line = word;
        } else {
            line = line ? `${line} ${word}` : word;
        }
    }
    return [...lines, line].join(`\n${indent}`);
}

export const PLAN_USAGE = `usage: npm run plan -- <stack> [options]
       npm run plan -- <trust stack> <member> … [--set …]

Plans the stack's Pulumi.<stack>.yaml under Pulumi's mock runtime: no cluster, no backend, no
credentials (encrypted values are planned with a stand-in and shown as [secret]). Prints the
config that differs from the target's preset, the settings that differ between targets, the
charts, every resource with its name in the cluster and what it waits for, and applies the
policy pack (policy/).

A fleet (docs/admin/fleet.md) is planned together: the trust stack first (target trust; its
members planned as never deployed), its outputs then answering the members' StackReference;
the trust stack's plan shows the fleet member by member. --set applies to the members then.

options:
  --set <key.path>=<value>   as \`pulumi config set --path <key.path> <value>\` (repeatable):
                             [n] indexes, ["quoted.keys"], true/false and integers typed
                             inside objects, anything else (JSON too) kept as text; a list
                             is set one item at a time: --set 'mtls.namespaces[0]=akko'
                             --set 'mtls.namespaces[1]=spark'
  --previous <file>|-        the last deployment's outputs, as \`pulumi stack output --json\`
                             prints them: plans a stack mid-rotation or mid-drain. Get them
                             with the Pulumi CLI, into a file or through a pipe:
                               pulumi stack output --json --stack netcup > previous.json
                               npm run plan -- netcup --previous previous.json
                               pulumi stack output --json --stack netcup | npm run plan -- netcup --previous -
                             The plan reads these outputs (any other is ignored), e.g.:
${sampleJson(SAMPLE_PREVIOUS, "                               ")}
  --format text|mermaid      text (default), or the dependency graph as Mermaid
  --help                     this text

tags in the resource tree:
${TAGS.map(({ tag, meaning }) => `  ${`[${tag}]`.padEnd(27)}${wrapWords(meaning, 68, " ".repeat(29))}`).join("\n")}

exit status: 0 planned, 1 refused (config, rotation step or policy pack), 2 bad arguments`;

class UsageError extends Error {}

function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** Stack config values as the program reads them (\`akko-mtls:\` keys, objects parsed). */
function stackValues(config: Record<string, string>): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(config)
            .filter(([key]) => key.startsWith(`${PROJECT}:`))
            .map(([key, text]) => [key.slice(PROJECT.length + 1), parseValue(text)]),
    );
}

/** Why an index past the end was refused, and the commands that set the list. */
function outOfRangeHint(
    error: IndexOutOfRange,
    key: string,
    value: string,
    stack: string,
    config: Record<string, string>,
): string {
    const listKey = formatPropertyPath(error.list);
    if (error.length > 0)
        return `${listKey} has ${error.length} item(s) in Pulumi.${stack}.yaml: [${error.length}] adds one`;
    const target = stackValues(config).target;
    const preset = TARGETS.includes(target as Target)
        ? valueAt(presetFor(target as Target), error.list.map(String))
        : undefined;
    if (!Array.isArray(preset)) return `${listKey} is not in Pulumi.${stack}.yaml: a list starts at [0]`;
    const items = error.index <= preset.length ? [...preset.slice(0, error.index).map(String), value] : undefined;
    const commands = items?.map((item, i) => `--set '${listKey}[${i}]=${item}'`).join(" ");
    return (
        `${listKey} is not in Pulumi.${stack}.yaml, so the preset's list ${JSON.stringify(preset)} applies; a list in the stack file ` +
        `replaces the preset's whole, starting at [0]` +
        (commands ? `: ${commands} (pulumi config set --path '${listKey}[0]' ${items![0]}, and so on)` : "")
    );
}

/** Applies one \`--set key.path=value\` as \`pulumi config set --path\` would, or says why not. */
function applySet(config: Record<string, string>, assignment: string, stack: string): Record<string, string> {
    const at = assignment.indexOf("=");
    if (at < 1) throw new UsageError(`--set ${assignment}: expected key.path=value`);
    const key = assignment.slice(0, at);
    const value = assignment.slice(at + 1);
    const meant = misplacedNamespace(key);
    if (meant) {
        throw new UsageError(
            `--set ${assignment}: Pulumi would store this as key "${key.slice(key.indexOf(":") + 1)}" of a namespace ` +
                `"${key.slice(0, key.indexOf(":"))}", which nothing reads (a colon for a dot?). ` +
                `Meant: --set '${meant}=${value}' (pulumi config set --path '${meant}' ${value})`,
        );
    }
    try {
        parseConfigKey(key, PROJECT);
        return configSetPath(config, key, value, PROJECT);
    } catch (error) {
        if (error instanceof IndexOutOfRange)
            throw new UsageError(
                `--set ${assignment}: ${error.message}: ${outOfRangeHint(error, key, value, stack, config)}`,
            );
        throw new UsageError(`--set ${assignment}: ${(error as Error).message}`);
    }
}

/** Keys of the stack file in a namespace named like one of the project's keys (\`mtls:enabled\`): nothing reads them. */
function misplacedStackKeys(config: Record<string, string>, stack: string): string[] {
    return Object.keys(config).flatMap((key) => {
        const meant = misplacedNamespace(key);
        return meant
            ? [
                  `Pulumi.${stack}.yaml: ${key} is key "${key.slice(key.indexOf(":") + 1)}" of a namespace "${key.slice(0, key.indexOf(":"))}", ` +
                      `which nothing reads. Meant: pulumi config rm ${key} && pulumi config set --path '${meant}' <value>`,
              ]
            : [];
    });
}

/** Outputs the program reads from the last deployment (index.ts): each checked, so a bad file is refused rather than ignored. */
const PREVIOUS_CHECKS: { [K in StackOutputName]?: (value: unknown) => string | undefined } = {
    trustAnchorRotation: (value) => {
        try {
            parseRotationRecord(value);
            return undefined;
        } catch {
            return "expected {generation, phase 0-3, since (a date)}";
        }
    },
    meshState: (value) => (value === undefined || value === null ? undefined : meshStateProblem(value)),
    mtlsEnabled: (value) => (value === undefined || typeof value === "boolean" ? undefined : "expected true or false"),
    identityIssuerMode: (value) =>
        value === undefined || value === "static" || value === "certManager"
            ? undefined
            : "expected static or certManager",
    linkerdChartVersion: (value) =>
        value === undefined || typeof value === "string" ? undefined : "expected a chart version",
    certManagerChartVersion: (value) =>
        value === undefined || typeof value === "string" ? undefined : "expected a chart version",
};

/** Outputs every deployment of this project has: a file with none of them is another project's. */
const IDENTIFYING_OUTPUTS = [
    "target",
    "mtlsEnabled",
    "trustAnchorRotation",
    "meshState",
] as const satisfies readonly StackOutputName[];

/** The last deployment's outputs from \`pulumi stack output --json\` (a file, or - for standard input), checked. */
function readPrevious(source: string): StackOutputValues {
    let text: string;
    try {
        text = fs.readFileSync(source === "-" ? 0 : source, "utf8");
    } catch (error) {
        throw new UsageError(
            `--previous ${source}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`,
        );
    }
    let outputs: unknown;
    try {
        outputs = JSON.parse(text);
    } catch {
        throw new UsageError(`--previous ${source}: not JSON (expected what \`pulumi stack output --json\` prints)`);
    }
    if (outputs === null || typeof outputs !== "object" || Array.isArray(outputs)) {
        throw new UsageError(`--previous ${source}: expected an object of stack outputs`);
    }
    const record = outputs as StackOutputValues;
    if (!IDENTIFYING_OUTPUTS.some((key) => key in record)) {
        throw new UsageError(
            `--previous ${source}: none of this project's outputs (${IDENTIFYING_OUTPUTS.join(", ")}): another stack's?`,
        );
    }
    const problems = Object.entries(PREVIOUS_CHECKS).flatMap(([key, check]) => {
        const value = record[key as StackOutputName];
        const problem = check(value);
        return problem ? [`${key}: ${problem} (got ${JSON.stringify(value)})`] : [];
    });
    if (problems.length > 0)
        throw new UsageError(`--previous ${source}: not a record this program wrote: ${problems.join("; ")}`);
    return record;
}

export interface PlanResult {
    status: 0 | 1 | 2;
    output: string;
}

export interface PlanOptions {
    /** Where the stack files are (tests use fixtures); default the project. */
    root?: string;
}

/** The whole command, from its arguments to what it prints: the CLI below only prints it. */
export async function plan(argv: string[], options: PlanOptions = {}): Promise<PlanResult> {
    const root = options.root ?? PROJECT_ROOT;
    try {
        const { values, positionals } = parseArgs({
            args: argv,
            allowPositionals: true,
            options: {
                format: { type: "string", default: "text" },
                set: { type: "string", multiple: true, default: [] },
                previous: { type: "string" },
                help: { type: "boolean", default: false },
            },
        });
        if (values.help) return { status: 0, output: PLAN_USAGE };
        if (positionals.length === 0) throw new UsageError("which stack?");
        for (const stack of positionals)
            if (!stackNames(root).includes(stack)) throw new UsageError(`no Pulumi.${stack}.yaml`);
        if (new Set(positionals).size < positionals.length)
            throw new UsageError(`a stack named twice (got ${positionals.join(", ")})`);
        if (!["text", "mermaid"].includes(values.format)) throw new UsageError(`unknown format ${values.format}`);
        const files = new Map<string, StackFile>();
        for (const stack of positionals) {
            try {
                files.set(stack, readStack(stack, root));
            } catch (error) {
                if (error instanceof StackFileError) return { status: 1, output: error.message };
                throw error;
            }
        }
        const trustStacks = positionals.filter((stack) => isTrustStackFile(files.get(stack)!));
        if (positionals.length > 1 && (values.previous !== undefined || values.format !== "text")) {
            throw new UsageError(
                "--previous and --format apply to one stack: plan a fleet (a trust stack and its members) in text",
            );
        }
        // The trust stack first: its outputs answer the members' StackReferences (components/fleetMember.ts).
        const ordered = [...trustStacks, ...positionals.filter((stack) => !trustStacks.includes(stack))];
        const planned: Record<string, ProgramRun["outputs"]> = {};
        const results: PlanResult[] = [];
        for (const stack of ordered) {
            const file = files.get(stack)!;
            const trust = trustStacks.includes(stack);
            const result = await planStack({
                stack,
                file,
                root,
                // --set goes to the cluster stacks of a fleet plan (the trust stack takes its file as it is).
                sets: trust && positionals.length > 1 ? [] : (values.set ?? []),
                previous: values.previous,
                format: values.format,
                // A trust stack's members: created, never deployed as far as this plan knows.
                stacks: trust ? Object.fromEntries(memberNames(file).map((member) => [member, {}])) : planned,
                onPlanned: (outputs) => (planned[stack] = outputs),
            });
            results.push(result);
        }
        return {
            status: Math.max(...results.map((r) => r.status)) as PlanResult["status"],
            output: results.map((r) => r.output).join(`\n\n${"=".repeat(100)}\n\n`),
        };
    } catch (error) {
        if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
            return {
                status: 2,
                output: `plan: ${(error as Error).message}\n(npm run plan -- --help for usage; stacks: ${stackNames(root).join(", ")})`,
            };
        }
        throw error;
    }
}

/** Whether a stack file is a fleet's trust stack (`akko-mtls:target: trust`). */
function isTrustStackFile(file: StackFile): boolean {
    return file.config[`${PROJECT}:target`] === "trust";
}

/** The members a trust stack file lists (`fleet.clusters`), as far as it reads. */
function memberNames(file: StackFile): string[] {
    const clusters = (parseValue(file.config[`${PROJECT}:fleet`] ?? "{}") as { clusters?: unknown }).clusters;
    return Array.isArray(clusters) ? clusters.filter((c): c is string => typeof c === "string") : [];
}

interface StackPlanRequest {
    stack: string;
    file: StackFile;
    root: string;
    sets: string[];
    previous: string | undefined;
    format: string;
    /** Other stacks' outputs, for StackReferences. */
    stacks: Record<string, ProgramRun["outputs"]>;
    onPlanned: (outputs: ProgramRun["outputs"]) => void;
}

/** One stack's plan: its run under mocks, the policy pack, and the report. */
async function planStack(request: StackPlanRequest): Promise<PlanResult> {
    const { stack, file, root } = request;
    const misplaced = misplacedStackKeys(file.config, stack);
    if (misplaced.length > 0) return { status: 1, output: misplaced.join("\n") };
    let config = file.config;
    for (const assignment of request.sets) config = applySet(config, assignment, stack);
    const previousOutputs = request.previous === undefined ? undefined : readPrevious(request.previous);
    const fleetStack = fleetStackOf(config);
    if (fleetStack !== undefined && !(fleetStack in request.stacks) && stackNames(root).includes(fleetStack)) {
        return {
            status: 2,
            output: `plan: ${stack} is a member of the fleet of ${fleetStack} (identity.trustAnchor.fleetStack): plan them together, npm run plan -- ${fleetStack} ${stack}`,
        };
    }

    const run = await runProgram({
        stack,
        config,
        previousOutputs,
        secretKeys: file.secretKeys,
        cluster: planCluster(),
        stacks: request.stacks,
    });
    if (run.error) {
        return {
            status: 1,
            output: run.error instanceof ConfigError ? run.error.message : `${run.error.name}: ${run.error.message}`,
        };
    }
    request.onPlanned(run.outputs);
    const violations = checkRun(run);
    const policyLines = violations.map((v) => `  [${v.policy}]${v.resource ? ` ${v.resource}:` : ""} ${v.message}`);
    if (request.format === "mermaid") {
        return violations.length > 0
            ? { status: 1, output: ["The policy pack refuses this plan:", ...policyLines].join("\n") }
            : { status: 0, output: mermaidGraph(run) };
    }
    const trust = run.outputs.target.value === "trust";
    const secretKeys = file.secretKeys
        .filter((k) => k.startsWith(`${PROJECT}:`))
        .map((k) => k.slice(PROJECT.length + 1));
    const charts = chartLines(run);
    const output = [
        `Plan for stack ${stack} (target ${String(run.outputs.target.value)}), under Pulumi's mock runtime: no cluster, no backend.`,
        previousOutputs
            ? "Planned after the deployment whose outputs --previous gave (its rotation and mesh records)."
            : trust
              ? "Planned as a trust stack never deployed, its members as stacks never deployed."
              : `Planned as a stack never deployed: for one mid-rotation or mid-drain, add --previous previous.json ` +
                `(pulumi stack output --json --stack ${stack} > previous.json).`,
        ...(fleetStack !== undefined
            ? [
                  `A member of the fleet of ${fleetStack}: its anchors and intermediate are the outputs of the plan of ${fleetStack}.`,
              ]
            : []),
        ...(file.secrets.length > 0
            ? [
                  `Encrypted values (${file.secrets.length}) are planned with a stand-in and shown as [secret]; pulumi preview checks the real ones.`,
              ]
            : []),
        "",
        "Config that differs from the target's preset:",
        ...overrideLines(configOverrides(redact(stackValues(config), file.secrets, PROJECT))).map((l) => `  ${l}`),
        "",
        ...(trust
            ? ["The fleet, member by member:", ...fleetLines(run.outputs).map((l) => `  ${l}`)]
            : [
                  "Settings that differ between targets, as this stack has them:",
                  ...perTargetLines(resolveConfig(stackValues(config), secretKeys)).map((l) => `  ${l}`),
                  "",
                  "Charts:",
                  ...(charts.length > 0 ? charts.map((l) => `  ${l}`) : ["  none (the mesh is not deployed)"]),
              ]),
        "",
        resourceCountLine(run),
        ...resourceTree(run).map((l) => `  ${l}`),
        ...(run.warnings.length > 0 ? ["", "Warnings:", ...run.warnings.map((w) => `  ${w}`)] : []),
        "",
        violations.length > 0 ? "The policy pack refuses this plan:" : "Policy pack: every policy passes.",
        ...policyLines,
    ];
    return { status: violations.length > 0 ? 1 : 0, output: output.join("\n") };
}

/** The trust stack a cluster stack's config names (`identity.trustAnchor.fleetStack`), if any. */
function fleetStackOf(config: Record<string, string>): string | undefined {
    const identity = parseValue(config[`${PROJECT}:identity`] ?? "{}") as { trustAnchor?: { fleetStack?: unknown } };
    const name = identity?.trustAnchor?.fleetStack;
    return typeof name === "string" ? name : undefined;
}

if (require.main === module) {
    plan(process.argv.slice(2)).then(
        ({ status, output }) => {
            (status === 0 ? console.log : console.error)(output);
            process.exit(status);
        },
        (error) => {
            // One line, never a stack: this is a tool for people.
            console.error(`plan: ${(error as Error).message}`);
            process.exit(1);
        },
    );
}
