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
import { spawnSync } from "node:child_process";
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
        while (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable)
            schema = schema.unwrap();
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
                const file = path.join(
                    fs.mkdtempSync(path.join(os.tmpdir(), "docs-previous-")),
                    path.basename(args[previous + 1]),
                );
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
                    [
                        "-r",
                        "ts-node/register/transpile-only",
                        path.join(PROJECT_ROOT, "tools", "cli", `${tool}.ts`),
                        option,
                    ],
                    { cwd: PROJECT_ROOT, encoding: "utf8" },
                    (error, stdout, stderr) => resolve({ status: error ? Number(error.code) : 0, stdout, stderr }),
                ),
            );
        const tools = ["bench", "e2e", "snapshot", "renewals"];
        const [bad, ...helps] = await Promise.all([
            runTool("bench", "--nope"),
            ...tools.map((tool) => runTool(tool, "--help")),
        ]);
        tools.forEach((tool, i) => {
            assert.equal(helps[i].status, 0, `${tool}: ${helps[i].stderr}`);
            assert.match(helps[i].stdout, new RegExp(`^usage: npm run ${tool}`));
        });
        // The same helper parses every tool's options (tools/cli/args.ts).
        assert.equal(bad.status, 2, "bench");
        assert.equal(
            bad.stderr.trim().split("\n").length,
            2,
            `bench: one line and a pointer to --help:\n${bad.stderr}`,
        );
    });
});

describe("the runbook's listing of CA certificates minted through the old anchor ClusterIssuers (issue 17)", () => {
    /** The jq program of the runbook's command, in each language: the same command in both. */
    const programOf = (file: string) => {
        const line = commands().find(
            (c) =>
                c.file === file &&
                c.line.startsWith("kubectl get certificates,certificaterequests -A -o json | jq -r '"),
        );
        assert.ok(line, `${file} lists the CA certificates the anchor ClusterIssuers issued`);
        return line.line.slice(line.line.indexOf("jq -r '") + "jq -r '".length, line.line.lastIndexOf("'"));
    };

    const object = (
        kind: string,
        namespace: string,
        name: string,
        spec: Record<string, unknown>,
        annotations: Record<string, string> = {},
    ) => ({
        apiVersion: "cert-manager.io/v1",
        kind,
        metadata: { namespace, name, annotations },
        spec,
    });
    const anchor = (generation: number) => ({
        kind: "ClusterIssuer",
        name: `linkerd-trust-anchor-g${generation}`,
        group: "cert-manager.io",
    });
    // What `kubectl get certificates,certificaterequests -A -o json` prints: a List of both kinds.
    const listing = {
        apiVersion: "v1",
        kind: "List",
        items: [
            // The program's own identity issuer, through the anchor ClusterIssuer before the migration: expected.
            object("Certificate", "linkerd", "linkerd-identity-issuer", { isCA: true, issuerRef: anchor(1) }),
            object(
                "CertificateRequest",
                "linkerd",
                "linkerd-identity-issuer-3",
                { isCA: true, issuerRef: anchor(1) },
                { "cert-manager.io/certificate-name": "linkerd-identity-issuer" },
            ),
            // A namespace editor's CA: rogue, as a request and as a Certificate.
            object("CertificateRequest", "team-a", "mint", { isCA: true, issuerRef: anchor(2) }),
            object("Certificate", "team-b", "ca", { isCA: true, issuerRef: anchor(1) }),
            // Another request in linkerd that is not the issuer's Certificate's.
            object("CertificateRequest", "linkerd", "extra", { isCA: true, issuerRef: anchor(1) }),
            // Not CAs, or not from the anchor: a leaf from the anchor, a CA from another ClusterIssuer or from a namespaced Issuer of that name.
            object("CertificateRequest", "team-a", "leaf", { isCA: false, issuerRef: anchor(1) }),
            object("CertificateRequest", "team-a", "leaf-default", { issuerRef: anchor(1) }),
            object("CertificateRequest", "team-a", "other-ca", {
                isCA: true,
                issuerRef: { kind: "ClusterIssuer", name: "letsencrypt" },
            }),
            object("CertificateRequest", "team-a", "namespaced", {
                isCA: true,
                issuerRef: { kind: "Issuer", name: "linkerd-trust-anchor-g1" },
            }),
        ],
    };

    for (const file of ["rotation.md", "rotation.fr.md"]) {
        it(`${file}: lists exactly the CA certificates and requests from linkerd-trust-anchor-g* but the identity issuer's (jq run on a listing)`, function () {
            if (spawnSync("jq", ["--version"]).status !== 0) this.skip();
            const run = spawnSync("jq", ["-r", programOf(`docs/admin/${file}`)], {
                input: JSON.stringify(listing),
                encoding: "utf8",
            });
            assert.equal(run.status, 0, run.stderr);
            assert.deepEqual(run.stdout.trim().split("\n"), [
                "CertificateRequest team-a/mint linkerd-trust-anchor-g2",
                "Certificate team-b/ca linkerd-trust-anchor-g1",
                "CertificateRequest linkerd/extra linkerd-trust-anchor-g1",
            ]);
        });
    }

    it("both languages give the same command", () => {
        assert.equal(programOf("docs/admin/rotation.fr.md"), programOf("docs/admin/rotation.md"));
    });
});

describe("k3d clusters the docs create run a k3s image the k3d preset fits (issue 18)", () => {
    /**
     * Whether a rancher/k3s image puts `/var/lib/rancher/k3s/data/cni` first on its PATH, where the
     * k3d preset writes the CNI plugin (config/presets.ts K3S_CNI: since v1.31.7 and v1.32.3), on a
     * Kubernetes the charts support (>= 1.31).
     */
    const fits = (image: string) => {
        const m = /^rancher\/k3s:v1\.(\d+)\.(\d+)-k3s\d+$/.exec(image);
        if (!m) return false;
        const [minor, patch] = [Number(m[1]), Number(m[2])];
        return (minor === 31 && patch >= 7) || (minor === 32 && patch >= 3) || minor >= 33;
    };

    it("the rule: v1.31.6 and v1.32.2 keep the plugins in /bin, v1.31.7, v1.32.3 and later do not", () => {
        assert.deepEqual(
            [
                "rancher/k3s:v1.30.14-k3s1",
                "rancher/k3s:v1.31.6-k3s1",
                "rancher/k3s:v1.32.2-k3s1",
                "rancher/k3s:latest",
            ].filter(fits),
            [],
        );
        assert.ok(["rancher/k3s:v1.31.7-k3s1", "rancher/k3s:v1.32.3-k3s1", "rancher/k3s:v1.34.1-k3s1"].every(fits));
    });

    it("every `k3d cluster create` of the README and docs pins such an image", () => {
        const creates: string[] = [];
        for (const file of ["README.md", ...markdownFiles("docs")]) {
            const text = fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8");
            for (const [line] of text.matchAll(/k3d cluster create[^`\n]*/g)) creates.push(`${file}: ${line}`);
        }
        assert.ok(creates.length >= 5, creates.join("\n"));
        const unpinned = creates.filter((c) => !fits(/--image (\S+)/.exec(c)?.[1] ?? ""));
        assert.deepEqual(unpinned, []);
    });
});
