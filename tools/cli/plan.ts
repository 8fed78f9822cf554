/**
 * Credential-free plan: runs the real program for one stack under Pulumi's mock runtime
 * (the same one the tests use, tools/mockRuntime.ts) — no cluster, no Pulumi backend, no
 * secrets — prints what `pulumi up` would register, and applies the policy pack to it.
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, configOverrides } from "../../config";
import { configSetPath } from "../configPath";
import { PROJECT, readStackConfig, runProgram, stackNames } from "../mockRuntime";
import { chartLines, mermaidGraph, overrideLines, resourceTree } from "../planReport";
import { checkRun } from "../policyCheck";

export const PLAN_USAGE = `usage: npm run plan -- <stack> [options]

Plans the stack's Pulumi.<stack>.yaml under Pulumi's mock runtime: no cluster, no backend, no
credentials. Prints the config that differs from the target's preset, the charts, every
resource with what it waits for, and applies the policy pack (policy/).

options:
  --set <key.path>=<value>   as \`pulumi config set --path <key.path> <value>\` (repeatable):
                             [n] indexes, ["quoted.keys"], true/false and integers typed
                             inside objects, anything else (JSON too) kept as text
  --previous <file>|-        the last deployment's outputs, as \`pulumi stack output --json\`
                             prints them: plans a stack mid-rotation or mid-drain
  --format text|mermaid      text (default), or the dependency graph as Mermaid
  --help                     this text

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
            .filter(([key]) => key.startsWith("akko-mtls:"))
            .map(([key, text]) => [key.slice("akko-mtls:".length), parseValue(text)]),
    );
}

/** The last deployment's outputs from \`pulumi stack output --json\` (a file, or - for standard input). */
function readPrevious(source: string): Record<string, unknown> {
    let text: string;
    try {
        text = fs.readFileSync(source === "-" ? 0 : source, "utf8");
    } catch (error) {
        throw new UsageError(`--previous ${source}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
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
    return outputs as Record<string, unknown>;
}

export interface PlanResult {
    status: 0 | 1 | 2;
    output: string;
}

/** The whole command, from its arguments to what it prints: the CLI below only prints it. */
export async function plan(argv: string[]): Promise<PlanResult> {
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
        const [stack, ...extra] = positionals;
        if (!stack) throw new UsageError("which stack?");
        if (extra.length > 0) throw new UsageError(`one stack at a time (got ${positionals.join(", ")})`);
        if (!stackNames().includes(stack)) throw new UsageError(`no Pulumi.${stack}.yaml`);
        if (!["text", "mermaid"].includes(values.format!)) throw new UsageError(`unknown format ${values.format}`);

        let config = readStackConfig(stack);
        for (const assignment of values.set ?? []) {
            const at = assignment.indexOf("=");
            if (at < 1) throw new UsageError(`--set ${assignment}: expected key.path=value`);
            try {
                config = configSetPath(config, assignment.slice(0, at), assignment.slice(at + 1), PROJECT);
            } catch (error) {
                throw new UsageError(`--set ${assignment}: ${(error as Error).message}`);
            }
        }
        const previousOutputs = values.previous === undefined ? undefined : readPrevious(values.previous);

        const run = await runProgram({ stack, config, previousOutputs });
        if (run.error) {
            return { status: 1, output: run.error instanceof ConfigError ? run.error.message : `${run.error.name}: ${run.error.message}` };
        }
        const violations = checkRun(run);
        const policyLines = violations.map((v) => `  [${v.policy}]${v.resource ? ` ${v.resource}:` : ""} ${v.message}`);
        if (values.format === "mermaid") {
            return violations.length > 0
                ? { status: 1, output: ["The policy pack refuses this plan:", ...policyLines].join("\n") }
                : { status: 0, output: mermaidGraph(run) };
        }
        const charts = chartLines(run);
        const output = [
            `Plan for stack ${stack} (target ${run.outputs.target.value}), under Pulumi's mock runtime: no cluster, no backend.`,
            previousOutputs
                ? "Planned after the deployment whose outputs --previous gave (its rotation and mesh records)."
                : `Planned as a stack never deployed: for one mid-rotation or mid-drain, add --previous <(pulumi stack output --json -s ${stack}).`,
            "",
            "Config that differs from the target's preset:",
            ...overrideLines(configOverrides(stackValues(config))).map((l) => `  ${l}`),
            "",
            "Charts:",
            ...(charts.length > 0 ? charts.map((l) => `  ${l}`) : ["  none (the mesh is not deployed)"]),
            "",
            `Resources (${run.resources.filter((r) => !r.type.startsWith("pulumi:pulumi:")).length}):`,
            ...resourceTree(run).map((l) => `  ${l}`),
            ...(run.warnings.length > 0 ? ["", "Warnings:", ...run.warnings.map((w) => `  ${w}`)] : []),
            "",
            violations.length > 0 ? "The policy pack refuses this plan:" : "Policy pack: every policy passes.",
            ...policyLines,
        ];
        return { status: violations.length > 0 ? 1 : 0, output: output.join("\n") };
    } catch (error) {
        if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
            return { status: 2, output: `plan: ${(error as Error).message}\n(npm run plan -- --help for usage; stacks: ${stackNames().join(", ")})` };
        }
        throw error;
    }
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
