/**
 * What both e2e runs (`npm run e2e`, `npm run e2e -- --linked`) do on the machine: run a command
 * within the run's deadline, fail on a non-zero exit, poll until something holds, and copy the
 * program beside its node_modules so no e2e stack file lands in the repository.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { CommandResult } from "./e2e";
import { PROJECT_ROOT } from "./mockRuntime";

/** A step of the run that failed: reported, then the clusters are torn down. */
export class Failure extends Error {}

export interface Shell {
    run: (command: string, args: string[], input?: string) => CommandResult;
    must: (command: string, args: string[], input?: string) => string;
    until: <T>(what: string, seconds: number, attempt: () => T | undefined) => Promise<T>;
}

/** Commands bounded by the run's deadline (epoch ms) and by `maxCallMs` each. */
export function shell(deadline: number, maxCallMs: number): Shell {
    const run = (command: string, args: string[], input?: string): CommandResult => {
        const timeout = Math.max(1000, Math.min(maxCallMs, deadline - Date.now()));
        const result = spawnSync(command, args, { encoding: "utf8", input, timeout });
        return {
            status: result.status,
            stdout: result.stdout ?? "",
            stderr: result.stderr ?? String(result.error ?? ""),
        };
    };
    const must = (command: string, args: string[], input?: string): string => {
        const result = run(command, args, input);
        if (result.status !== 0) {
            throw new Failure(`${command} ${args.join(" ")} failed: ${result.stderr.trim() || result.stdout.trim()}`);
        }
        return result.stdout;
    };
    const until = async <T>(what: string, seconds: number, attempt: () => T | undefined): Promise<T> => {
        const stop = Math.min(deadline, Date.now() + seconds * 1000);
        for (;;) {
            const value = attempt();
            if (value !== undefined) return value;
            if (Date.now() > stop) throw new Failure(`timed out waiting for ${what}`);
            await new Promise((resolve) => setTimeout(resolve, 5000));
        }
    };
    return { run, must, until };
}

/** The program's files a `pulumi up` needs, copied into `dir`, with the repository's node_modules linked. */
export function copyProgram(dir: string): void {
    for (const entry of [
        "Pulumi.yaml",
        "index.ts",
        "package.json",
        "tsconfig.json",
        "config",
        "components",
        "lib",
        "cluster",
    ]) {
        fs.cpSync(path.join(PROJECT_ROOT, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
}
