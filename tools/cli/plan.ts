/**
 * Credential-free plan: runs the real program for one stack under Pulumi's mock runtime
 * (the same one the tests use, tools/mockRuntime.ts) — no cluster, no Pulumi backend, no
 * secrets — and prints what `pulumi up` would register.
 *
 *   npm run plan -- <stack> [--format text|mermaid] [--set mtls.enabled=true ...]
 *
 * --set applies `pulumi config set --path` semantics to the stack file's config (values
 * are JSON when they parse, text otherwise). Exit status: 0 planned, 1 the program refused
 * the config (the error is printed), 2 bad arguments.
 */
import { parseArgs } from "node:util";
import { ConfigError, configOverrides } from "../../config";
import { chartLines, mermaidGraph, overrideLines, resourceTree } from "../planReport";
import { readStackConfig, runProgram, setConfigPath, stackNames } from "../mockRuntime";

class UsageError extends Error {}

function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** Stack config values as the program reads them (`akko-mtls:` keys, objects parsed). */
function stackValues(config: Record<string, string>): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(config)
            .filter(([key]) => key.startsWith("akko-mtls:"))
            .map(([key, text]) => [key.slice("akko-mtls:".length), parseValue(text)]),
    );
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
            options: { format: { type: "string", default: "text" }, set: { type: "string", multiple: true, default: [] } },
        });
        const [stack] = positionals;
        if (!stack) throw new UsageError("which stack?");
        if (!stackNames().includes(stack)) throw new UsageError(`no Pulumi.${stack}.yaml`);
        if (!["text", "mermaid"].includes(values.format!)) throw new UsageError(`unknown format ${values.format}`);

        let config = readStackConfig(stack);
        for (const assignment of values.set ?? []) {
            const at = assignment.indexOf("=");
            if (at < 1) throw new UsageError(`--set ${assignment}: expected key.path=value`);
            config = setConfigPath(config, assignment.slice(0, at), parseValue(assignment.slice(at + 1)));
        }

        const run = await runProgram({ stack, config });
        if (run.error) {
            return { status: 1, output: run.error instanceof ConfigError ? run.error.message : `${run.error.name}: ${run.error.message}` };
        }
        if (values.format === "mermaid") return { status: 0, output: mermaidGraph(run) };
        const charts = chartLines(run);
        const output = [
            `Plan for stack ${stack} (target ${run.outputs.target.value}), under Pulumi's mock runtime: no cluster, no backend.`,
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
        ];
        return { status: 0, output: output.join("\n") };
    } catch (error) {
        if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
            return {
                status: 2,
                output: `${(error as Error).message}\nusage: npm run plan -- <stack> [--format text|mermaid] [--set key.path=value ...]\nstacks: ${stackNames().join(", ")}`,
            };
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
            console.error(error);
            process.exit(1);
        },
    );
}
