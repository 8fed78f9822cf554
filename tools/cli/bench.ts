/**
 * `npm run bench [-- --runs 5] [-- --write]`: for every stack (mesh on), how long the
 * program takes to evaluate under the mock runtime (median of several runs), and the mesh's
 * declared footprint — requests and limits of the control plane, viz, cert-manager and 50
 * meshed proxies (tools/footprint.ts). Prints a table; --write keeps it in docs/performance.md
 * with the date and the machine.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { meshFootprint } from "../footprint";
import { resourceCount } from "../planReport";
import {
    clusterStackNames,
    ProgramRun,
    PROJECT_ROOT,
    readStackConfig,
    runProgram,
    setConfigPath,
} from "../mockRuntime";
import { MIB } from "../../lib/quantity";
import { parseCli, runCli, UsageError } from "./args";

const MESHED_PODS = 50;

interface Row {
    stack: string;
    target: string;
    medianMs: number;
    minMs: number;
    /** Resources the program registers (a chart counts once: its objects are the provider's). */
    resources: number;
    /** Long-running containers the footprint counts (times replicas, 50 proxies included). */
    containers: number;
    cpuRequest: number;
    cpuLimit: number;
    /** Containers (times replicas) without a CPU limit, and without a memory limit. */
    withoutCpuLimit: number;
    memoryRequest: number;
    memoryLimit: number;
    withoutMemoryLimit: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function measure(stack: string, runs: number): Promise<Row> {
    const config = setConfigPath(readStackConfig(stack), "mtls.enabled", true);
    const times: number[] = [];
    let last: ProgramRun | undefined;
    for (let i = 0; i < runs; i++) {
        const start = process.hrtime.bigint();
        last = await runProgram({ stack, config, sourceMappedStacks: true });
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
        if (last.error) throw last.error;
    }
    if (!last) throw new UsageError(`--runs ${runs}: at least one run`);
    const footprint = meshFootprint(last, MESHED_PODS);
    return {
        stack,
        target: String(last.outputs.target.value),
        medianMs: median(times),
        minMs: Math.min(...times),
        resources: resourceCount(last).total,
        cpuRequest: footprint.cpuRequest,
        cpuLimit: footprint.cpuLimit,
        memoryRequest: footprint.memoryRequest,
        memoryLimit: footprint.memoryLimit,
        containers: footprint.containers.reduce((n, c) => n + c.replicas, 0),
        withoutCpuLimit: footprint.containers
            .filter((c) => c.cpuLimit === undefined)
            .reduce((n, c) => n + c.replicas, 0),
        withoutMemoryLimit: footprint.containers
            .filter((c) => c.memoryLimit === undefined)
            .reduce((n, c) => n + c.replicas, 0),
    };
}

/** A sum of limits, saying how many containers have none (their usage is unbounded) instead of hiding them. */
export function limitCell(sum: string, without: number, total: number): string {
    if (without === total) return "none set";
    return without > 0 ? `${sum} + ${without} unlimited` : sum;
}

function table(rows: Row[]): string {
    const lines = [
        "| stack | target | evaluation, median (min) | Pulumi resources | CPU requests | CPU limits | memory requests | memory limits |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ...rows.map((r) => {
            const total = r.containers;
            return (
                `| ${r.stack} | ${r.target} | ${r.medianMs.toFixed(0)} ms (${r.minMs.toFixed(0)} ms) | ${r.resources} | ` +
                `${(r.cpuRequest * 1000).toFixed(0)}m | ${limitCell(`${(r.cpuLimit * 1000).toFixed(0)}m`, r.withoutCpuLimit, total)} | ` +
                `${(r.memoryRequest / MIB).toFixed(0)} Mi | ${limitCell(`${(r.memoryLimit / MIB).toFixed(0)} Mi`, r.withoutMemoryLimit, total)} |`
            );
        }),
    ];
    return lines.join("\n");
}

function machine(): string {
    const cpus = os.cpus();
    return `${cpus[0]?.model ?? "unknown CPU"} × ${cpus.length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, Node.js ${process.version}`;
}

export const BENCH_USAGE = `usage: npm run bench -- [--runs N] [--write]

For every stack (mesh on): how long the program takes to evaluate under the mock runtime
(median of N runs, default 5), and the mesh's declared footprint with ${MESHED_PODS} meshed pods.

options:
  --runs N    runs per stack (default 5)
  --write     also keep the table in docs/performance.md (between its bench markers)
  --help      this text`;

async function main() {
    const values = parseCli(process.argv.slice(2), BENCH_USAGE, {
        runs: { type: "string", default: "5" },
        write: { type: "boolean", default: false },
    });
    if (!values) return;
    const runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1)
        throw new UsageError(`--runs ${values.runs}: expected a whole number of runs, at least 1`);
    const rows: Row[] = [];
    for (const stack of clusterStackNames()) rows.push(await measure(stack, runs));
    const date = new Date().toISOString().slice(0, 10);
    const report = [
        `Measured ${date} on ${machine()}; ${runs} runs per stack, mesh on, footprint with ${MESHED_PODS} meshed pods.`,
        "",
        table(rows),
    ].join("\n");
    console.log(report);
    if (values.write) {
        const file = path.join(PROJECT_ROOT, "docs", "performance.md");
        const text = fs.readFileSync(file, "utf8");
        const marker = /<!-- bench:start -->[\s\S]*<!-- bench:end -->/;
        if (!marker.test(text)) throw new Error(`${file} has no <!-- bench:start --> ... <!-- bench:end --> block`);
        fs.writeFileSync(file, text.replace(marker, `<!-- bench:start -->\n${report}\n<!-- bench:end -->`));
        console.log(`\nwritten to ${path.relative(process.cwd(), file)}`);
    }
}

if (require.main === module) runCli("bench", main);
