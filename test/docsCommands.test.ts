/**
 * The docs' commands, kept true: every command line in a bash block of the README and docs/ is
 * either run here (those that need no cluster: `npm run plan`, the tools' `--help`), checked
 * (`pulumi config set --path` keys exist in the config schema), or known to need a cluster, a
 * CLI or credentials. A new kind of command fails until it is sorted into one of these.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { configObject } from "../config/schema";
import { parsePropertyPath } from "../config/configPath";
import * as os from "node:os";
import { plan, SAMPLE_PREVIOUS } from "../tools/cli/plan";
import { PROJECT_ROOT } from "../tools/mockRuntime";
import { isStackOutput, isTrustOutput } from "../lib/stackOutputs";
import { stackOutputsNamed } from "./helpers";

function markdownFiles(dir: string): string[] {
    return fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
        const relative = path.join(dir, entry.name);
        if (entry.isDirectory()) return markdownFiles(relative);
        return entry.name.endsWith(".md") ? [relative] : [];
    });
}

interface Command {
    file: string;
    line: string;
}

/** Every command line of every bash block, comments and continuation aside. */
function commands(): Command[] {
    const found: Command[] = [];
    for (const file of ["README.md", ...markdownFiles("docs")]) {
        const text = fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8");
        for (const [, block] of text.matchAll(/```bash\n([\s\S]*?)```/g)) {
            for (const raw of block.split("\n")) {
                const line = raw.replace(/\s+#.*$/, "").trim();
                if (line && !line.startsWith("#")) found.push({ file, line });
            }
        }
    }
    return found;
}

/** Commands that need what this machine does not have: a cluster, a CLI, credentials, a network. */
const NEEDS_A_CLUSTER_OR_CLI = /^(pulumi (?!config set --path)|kubectl |linkerd |k3d |aws |gcloud |cmctl |git |curl )/;
/** Commands that change the repository or are the suite itself: documented, never run by the suite. */
const NOT_RUN_HERE = /^(npm ci && npm test|npm run (snapshot|bench -- --write|e2e)$)/;

/** Whether a dotted config path (`mtls.authorizations[0].namespace`) names a key of the schema. */
function knownKey(key: string): boolean {
    let schema: any = configObject;
    for (const segment of parsePropertyPath(key)) {
        while (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable) schema = schema.unwrap();
        if (typeof segment === "number") {
            if (!(schema instanceof z.ZodArray)) return false;
            schema = schema.element;
        } else if (schema instanceof z.ZodObject) {
            if (!(segment in schema.shape)) return false;
            schema = schema.shape[segment];
        } else if (schema instanceof z.ZodRecord) {
            schema = (schema as any).valueType ?? (schema as any)._def.valueType;
        } else {
            return false;
        }
    }
    return true;
}

describe("the docs' commands", function () {
    this.timeout(60_000);
    const all = commands();

    it("are found (README, runbooks, CI)", () => {
        assert.ok(all.length > 30, String(all.length));
    });

    it("every one is run, checked, or known to need a cluster or a CLI", () => {
        const unsorted = all.filter(
            ({ line }) =>
                !NEEDS_A_CLUSTER_OR_CLI.test(line) &&
                !NOT_RUN_HERE.test(line) &&
                !/^npm run (plan|bench|e2e|snapshot|renewals) --/.test(line) &&
                !line.startsWith("pulumi config set --path"),
        );
        assert.deepEqual(unsorted, []);
    });

    it("`pulumi config set --path` names keys the config has", () => {
        const sets = all.filter(({ line }) => line.startsWith("pulumi config set --path"));
        assert.ok(sets.length >= 8);
        for (const { file, line } of sets) {
            const key = line
                .replace(/^pulumi config set --path\s+/, "")
                .split(/\s+/)[0]
                .replace(/^'|'$/g, "");
            assert.ok(knownKey(key), `${file}: ${line}: no config key ${key}`);
        }
    });

    it("`pulumi stack output` names outputs a stack has (lib/stackOutputs.ts: a cluster stack's, or a trust stack's), in code blocks and in the text", () => {
        const named = ["README.md", ...markdownFiles("docs")].flatMap((file) =>
            stackOutputsNamed(fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8")).map((name) => ({ file, name })),
        );
        assert.ok(named.filter(({ name }) => name !== undefined).length >= 8, JSON.stringify(named));
        assert.deepEqual(
            named.filter(({ name }) => name !== undefined && !isStackOutput(name) && !isTrustOutput(name)),
            [],
        );
    });

    it("`npm run plan` runs as written: exit 0 and a plan (or its usage)", async () => {
        const plans = all.filter(({ line }) => line.startsWith("npm run plan --"));
        assert.ok(plans.length >= 3);
        for (const { file, line } of plans) {
            const args = line
                .replace(/^npm run plan --\s*/, "")
                .replace(/<stack>/g, "netcup")
                .match(/'[^']*'|\S+/g)!
                .map((a) => a.replace(/^'|'$/g, ""));
            // A `--previous` file is what `pulumi stack output --json` wrote: the plan's own sample stands in for it.
            const previous = args.indexOf("--previous");
            if (previous !== -1) {
                const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "docs-previous-")), path.basename(args[previous + 1]));
                fs.writeFileSync(file, JSON.stringify(SAMPLE_PREVIOUS));
                args[previous + 1] = file;
            }
            const result = await plan(args);
            assert.equal(result.status, 0, `${file}: ${line}\n${result.output}`);
            assert.match(
                result.output,
                args.includes("--help") ? /^usage: / : args.includes("mermaid") ? /^flowchart TD/ : /^Plan for stack /,
                `${file}: ${line}`,
            );
        }
    });

    it("the tools' --help, as the docs name them, prints a usage and exits 0", async () => {
        const { execFile } = await import("node:child_process");
        // Each tool in its own process, all at once: a tool loads its whole module graph before it parses its options.
        const runTool = (tool: string, option: string) =>
            new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
                execFile(
                    process.execPath,
                    ["-r", "ts-node/register/transpile-only", path.join(PROJECT_ROOT, "tools", "cli", `${tool}.ts`), option],
                    { cwd: PROJECT_ROOT, encoding: "utf8" },
                    (error, stdout, stderr) => resolve({ status: error ? Number(error.code) : 0, stdout, stderr }),
                ),
            );
        const tools = ["bench", "e2e", "snapshot", "renewals"];
        const [bad, ...helps] = await Promise.all([runTool("bench", "--nope"), ...tools.map((tool) => runTool(tool, "--help"))]);
        tools.forEach((tool, i) => {
            assert.equal(helps[i].status, 0, `${tool}: ${helps[i].stderr}`);
            assert.match(helps[i].stdout, new RegExp(`^usage: npm run ${tool}`));
        });
        // The same helper parses every tool's options (tools/cli/args.ts).
        assert.equal(bad.status, 2, "bench");
        assert.equal(bad.stderr.trim().split("\n").length, 2, `bench: one line and a pointer to --help:\n${bad.stderr}`);
    });
});
