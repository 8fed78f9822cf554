/** Shared test helpers: running stacks under mocks, reading the pinned upstream data. */
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import {
    ProgramRun,
    PROJECT_ROOT,
    ProviderState,
    readStackConfig,
    runProgram,
    setConfigPath,
    stackNames,
} from "../lib/mockRuntime";

export const STACKS = stackNames();

/** Runs a stack file's config with `--path` overrides, e.g. `{ "mtls.enabled": true }`. */
export async function runStack(
    stack: string,
    overrides: Record<string, unknown> = {},
    options: { state?: ProviderState; previousOutputs?: Record<string, unknown> } = {},
): Promise<ProgramRun> {
    let config = readStackConfig(stack);
    for (const [key, value] of Object.entries(overrides)) config = setConfigPath(config, key, value);
    return runProgram({ stack, config, ...options });
}

/**
 * Runs of a stack file with overrides and no state, shared between tests: the program is
 * deterministic for them, and tests only read runs. Keeps the suite well under a minute.
 */
const sharedRuns = new Map<string, Promise<ProgramRun>>();

/** Like {@link runStack}, but fails the test if the program threw. */
export async function runStackOk(
    stack: string,
    overrides: Record<string, unknown> = {},
    options: { state?: ProviderState; previousOutputs?: Record<string, unknown> } = {},
): Promise<ProgramRun> {
    const fresh = options.state !== undefined || options.previousOutputs !== undefined;
    const key = JSON.stringify([stack, overrides]);
    let pending = fresh ? undefined : sharedRuns.get(key);
    if (!pending) {
        pending = runStack(stack, overrides, options);
        if (!fresh) sharedRuns.set(key, pending);
    }
    const run = await pending;
    if (run.error) throw run.error;
    return run;
}

/**
 * The pinned upstream data (`../shared/upstream`, or $AKKO_UPSTREAM_DIR). Tests that
 * need it fail loudly when it is missing rather than passing without checking.
 */
export function upstreamPath(...parts: string[]): string {
    const root = process.env.AKKO_UPSTREAM_DIR ?? path.resolve(PROJECT_ROOT, "..", "shared", "upstream");
    const file = path.join(root, ...parts);
    if (!fs.existsSync(file)) {
        throw new Error(
            `Upstream reference data not found: ${file}. These tests check the program against the pinned ` +
                `upstream charts and CRDs in ../shared/upstream (beside the project); put it there or set AKKO_UPSTREAM_DIR.`,
        );
    }
    return file;
}

export function readUpstreamYaml(...parts: string[]): any {
    return YAML.parse(fs.readFileSync(upstreamPath(...parts), "utf8"));
}

export function readUpstreamJson(...parts: string[]): any {
    return JSON.parse(fs.readFileSync(upstreamPath(...parts), "utf8"));
}

/** Every leaf path of a plain object, dotted (`proxy.resources.cpu.request`). */
export function leafPaths(value: unknown, prefix: string[] = []): string[] {
    if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
        return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
    }
    return [prefix.join(".")];
}
