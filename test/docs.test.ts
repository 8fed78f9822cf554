/** The documentation stays true: runbooks in both languages agree, links resolve, numbers are current. */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { configReference } from "../config/reference";
import { referenceRows, referenceTable, REFERENCE_MARKERS } from "../tools/readme";
import { PROJECT_ROOT } from "../tools/mockRuntime";
import { runStackOk, STACKS } from "./helpers";
import { resourceCount } from "../tools/planReport";
import { chartDefaults, upstream } from "./upstream";
import { CHARTS } from "../lib/registry";

const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8");
const codeBlocks = (markdown: string) => [...markdown.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]);
const headings = (markdown: string) => [...markdown.matchAll(/^#{2,3} /gm)].length;

function markdownFiles(dir: string): string[] {
    return fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
        const relative = path.join(dir, entry.name);
        if (entry.isDirectory()) return markdownFiles(relative);
        return entry.name.endsWith(".md") ? [relative] : [];
    });
}

describe("documentation", () => {
    /** The French runbook has the English one's sections and commands (comments translated). */
    const sameRunbook = (name: string) => {
        const english = read(`docs/admin/${name}.md`);
        const french = read(`docs/admin/${name}.fr.md`);
        assert.equal(headings(french), headings(english));
        assert.deepEqual(
            codeBlocks(french).map((b) => b.replace(/#.*$/gm, "").trim()),
            codeBlocks(english).map((b) => b.replace(/#.*$/gm, "").trim()),
            "commands are identical (comments are translated)",
        );
        return { english, french };
    };

    it("the runbook exists in English and French, with the same sections and the same commands", () => {
        const { english, french } = sameRunbook("mtls");
        for (const topic of ["Activation", "Vérification", "Rotation", "Désactivation", "Dépannage"])
            assert.match(french, new RegExp(`## \\d\\. ${topic}`));
        for (const topic of ["Activation", "Verification", "Rotation", "Disabling", "Troubleshooting"])
            assert.match(english, new RegExp(`## \\d\\. ${topic}`));
    });

    it("the linked-clusters runbook exists in English and French, with the same sections and the same commands", () => {
        const { english, french } = sameRunbook("multicluster");
        // The reason for the mode, in both: flat keeps the caller's identity, the gateway does not.
        assert.match(english, /authorizing the gateway authorizes the whole fleet/);
        assert.match(french, /autoriser la passerelle autorise toute la flotte/);
    });

    it("the rotation runbook exists in English and French, with the same sections and the same commands", () => {
        const { english, french } = sameRunbook("rotation");
        // Tables row for row (the phases), and the same inline commands.
        const rows = (markdown: string) => markdown.split("\n").filter((l) => l.startsWith("|")).length;
        assert.equal(rows(french), rows(english));
        const inline = (markdown: string) =>
            [...markdown.matchAll(/`(kubectl|pulumi|cmctl|linkerd) [^`]+`/g)].map((m) => m[0]).sort();
        assert.deepEqual(inline(french), inline(english));
    });

    it("the egress runbook exists in English and French, with the same sections, commands, tables and PromQL", () => {
        const { english, french } = sameRunbook("egress");
        const rows = (markdown: string) => markdown.split("\n").filter((l) => l.startsWith("|")).length;
        assert.equal(rows(french), rows(english));
        for (const text of [english, french]) {
            for (const name of [
                "akko-egress",
                "akko-egress-networks",
                "akko-mtls-egress-no-bypass",
                "LinkerdEgressDenied",
                "2102",
                "linkerd-egress",
            ]) {
                assert.ok(text.includes(name), name);
            }
        }
    });

    it("the fleet runbook exists in English and French, with the same sections, tables and commands, covering creating, adding, rotating, removing, a lost member", () => {
        const { english, french } = sameRunbook("fleet");
        for (const topic of [
            "Creating the fleet",
            "Adding a member",
            "A fleet rotation",
            "Removing a member",
            "A lost member",
        ]) {
            assert.match(english, new RegExp(`## \\d\\. ${topic}`));
        }
        for (const topic of [
            "Créer la flotte",
            "Ajouter un membre",
            "Une rotation de la flotte",
            "Retirer un membre",
            "Un membre perdu",
        ]) {
            assert.match(french, new RegExp(`## \\d\\. ${topic}`));
        }
        const rows = (markdown: string) => markdown.split("\n").filter((l) => l.startsWith("|")).length;
        assert.equal(rows(french), rows(english));
    });

    it("every relative link in the README and docs/ points to a file that exists", () => {
        for (const file of ["README.md", ...markdownFiles("docs")]) {
            for (const [, target] of read(file).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
                if (/^[a-z]+:/.test(target)) continue;
                const resolved = path.join(path.dirname(path.join(PROJECT_ROOT, file)), target);
                assert.ok(fs.existsSync(resolved), `${file} links to missing ${target}`);
            }
        }
    });

    it("the README's config reference is generated from the schema (npm run readme), so it cannot drift", () => {
        const readme = read("README.md");
        const block = new RegExp(`${REFERENCE_MARKERS.start}\\n([\\s\\S]*?)\\n${REFERENCE_MARKERS.end}`).exec(readme);
        assert.ok(block, "README has the config-reference markers");
        assert.equal(block[1], referenceTable(), "run `npm run readme`");
        // Every leaf key is there, on its own row or on its container's resources row.
        const rows = referenceRows().map((r) => r.key);
        for (const { key } of configReference()) {
            assert.ok(rows.includes(key) || rows.includes(key.replace(/\.(cpu|memory)\.(request|limit)$/, "")), key);
        }
        assert.ok(rows.length > 80);
    });

    it("the Kubernetes minimum the docs state is the one Linkerd's pinned charts declare (kubeVersion)", async function () {
        const kubeVersions = await upstream(this, async () => {
            const charts = [CHARTS.linkerdCrds, CHARTS.linkerdControlPlane, CHARTS.linkerdViz, CHARTS.linkerdCni];
            return Promise.all(
                charts.map(async (chart) => (await chartDefaults(chart, "Chart.yaml")).kubeVersion as string),
            );
        });
        assert.deepEqual(new Set(kubeVersions), new Set([">=1.31.0-0"]), "edge-26.8.3's charts");
        const minimum = "1.31";
        const claims = ["README.md", ...markdownFiles("docs")].flatMap((file) =>
            [...read(file).matchAll(/Kubernetes\s*(?:≥|>=)\s*(\d+\.\d+)/g)].map((m) => ({ file, version: m[1] })),
        );
        assert.deepEqual(
            claims.filter((c) => c.version !== minimum),
            [],
        );
        for (const file of ["README.md", "docs/admin/mtls.md", "docs/admin/mtls.fr.md"]) {
            assert.ok(
                claims.some((c) => c.file === file),
                `${file} states the minimum`,
            );
        }
    });

    it("ingress mode is described as the proxy does it: header when present, else the address the controller picked", () => {
        // linkerd2-proxy release/v2.366.0 app/outbound/src/ingress.rs SelectTarget::select falls back to the
        // original destination; Linkerd's docs: the header is never required (a 2.13.0-2.13.4 bug), and must
        // be dropped from clients' requests.
        const description = configReference().find((r) => r.key === "mtls.ingress.mode")!.description;
        const texts = {
            description,
            english: read("docs/admin/mtls.md"),
            french: read("docs/admin/mtls.fr.md"),
            code: read("components/meshedIngress.ts"),
        };
        for (const [where, text] of Object.entries(texts)) {
            assert.doesNotMatch(
                text,
                /every route must (then )?set|chaque route doit alors poser|requests fail/,
                where,
            );
            assert.doesNotMatch(text, /route to Services rather than pods|routent vers des Services plutôt que/, where);
        }
        assert.match(description, /one without it to the address the controller connected to/);
        assert.match(
            texts.english,
            /a request without the header still goes to the address the controller connected to/,
        );
        assert.match(texts.french, /une requête sans cet en-tête part quand même/);
        for (const text of [description, texts.english, texts.french])
            assert.match(text, /l5d-dst-override[\s\S]*(drop|retirer)/);
    });

    it("docs/performance.md holds a benchmark of every stack, with date and machine", () => {
        const block = /<!-- bench:start -->\n([\s\S]*?)\n<!-- bench:end -->/.exec(read("docs/performance.md"));
        assert.ok(block, "bench block");
        assert.match(block[1], /^Measured \d{4}-\d{2}-\d{2} on .+ × \d+, \d+ GiB, .+Node\.js v\d+/);
        for (const stack of STACKS) assert.match(block[1], new RegExp(`^\\| ${stack} \\|`, "m"));
    });

    it("docs/performance.md counts the resources the program registers today (npm run bench -- --write after a change)", async () => {
        const block = /<!-- bench:start -->\n([\s\S]*?)\n<!-- bench:end -->/.exec(read("docs/performance.md"));
        assert.ok(block, "bench block");
        for (const stack of STACKS) {
            const row = new RegExp(`^\\| ${stack} \\| [^|]+ \\| [^|]+ \\| (\\d+) \\|`, "m").exec(block[1]);
            assert.ok(row, `a row for ${stack}`);
            // As bench measures: the stack file with the mesh on.
            const run = await runStackOk(stack, { mtls: { enabled: true } });
            assert.equal(Number(row[1]), resourceCount(run).total, `${stack}: resources in docs/performance.md`);
        }
    });

    it("the rotation runbook follows the workflows: a phase is a pull request on netcup/eks/gke, retried by Run workflow; a local `pulumi up` only on k3d", () => {
        for (const file of ["docs/admin/rotation.md", "docs/admin/rotation.fr.md"]) {
            const text = read(file);
            assert.match(text, /pull request/, file);
            assert.match(text, /`workflow_dispatch`/, file);
            assert.match(text, /Run workflow/, file);
            assert.match(
                text,
                /npm run plan -- netcup --previous previous\.json/,
                `${file}: the phase checked against the deployed one`,
            );
            const localUps = codeBlocks(text).flatMap((block) =>
                block.split("\n").filter((line) => /^pulumi up\b/.test(line.trim())),
            );
            assert.ok(localUps.length > 0);
            for (const line of localUps)
                assert.match(
                    line,
                    /--stack k3d\b/,
                    `${file}: a shared stack is applied by CI, not by "${line.trim()}"`,
                );
        }
    });

    it("one story for removing a stack: disable first, never `pulumi destroy` a meshed stack", () => {
        for (const file of ["README.md", ...markdownFiles("docs")])
            assert.doesNotMatch(read(file), /--exclude-protected/, file);
        const readme = read("README.md");
        const paragraph = readme.split("\n\n").find((p) => p.includes("pulumi destroy"));
        assert.ok(paragraph, "README says how to remove a stack");
        assert.match(paragraph, /never `pulumi destroy` it while meshed/);
        assert.match(paragraph, /disable\s+first/);
        assert.match(paragraph, /docs\/admin\/mtls\.md#4-disabling/);
        assert.match(
            read("docs/admin/mtls.md"),
            /\*\*Removing a stack: disable it first; never `pulumi destroy` a meshed stack\.\*\*/,
        );
    });

    it("one story for k3d: a laptop's stack, which no workflow deploys; the kubeconfig secrets docs/ci.md names are the ones the workflows use", () => {
        const workflows = fs
            .readdirSync(path.join(PROJECT_ROOT, ".github", "workflows"))
            .map((f) => read(path.join(".github", "workflows", f)));
        const used = new Set(workflows.flatMap((w) => [...w.matchAll(/KUBECONFIG_[A-Z0-9]+/g)].map((m) => m[0])));
        const named = new Set([...read("docs/ci.md").matchAll(/KUBECONFIG_[A-Z0-9]+/g)].map((m) => m[0]));
        assert.deepEqual([...named].sort(), [...used].sort());
        assert.ok(!used.has("KUBECONFIG_K3D"));
        assert.doesNotMatch(read("docs/ci.md"), /Environments\*\* `k3d`/);
        for (const file of ["README.md", "docs/ci.md", "docs/admin/mtls.md"])
            assert.match(read(file), /never\s+deploys/, file);
        assert.match(read("docs/admin/mtls.fr.md"), /sans jamais la déployer/);
    });

    it("the rotation CronJob is where the code puts it, in the README and the config reference", async () => {
        const run = await runStackOk("netcup", { "mtls.enabled": true });
        const cronJob = run.resources.find(
            (r) => r.type === "kubernetes:batch/v1:CronJob" && r.inputs.metadata?.name === "linkerd-rotation-check",
        );
        assert.ok(cronJob);
        const namespace = cronJob.inputs.metadata.namespace;
        assert.equal(namespace, "linkerd-maintenance");
        const readme = read("README.md");
        const placed = [...readme.matchAll(/`([a-z-]+)\/linkerd-rotation-check`/g)].map((m) => m[1]);
        assert.ok(placed.length > 0);
        assert.deepEqual([...new Set(placed)], [namespace]);
        const row = configReference().find((r) => r.key === "rotationJob.enabled")!;
        assert.match(row.description, new RegExp(`in the ${namespace} namespace`));
        for (const file of ["README.md", ...markdownFiles("docs")])
            assert.doesNotMatch(read(file), /CronJob in the linkerd namespace/, file);
    });

    it("one story for Node.js: what is supported, why, and what the suite and the figures ran on", () => {
        const engines = (file: string) =>
            JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8")).engines?.node;
        assert.equal(engines("package.json"), ">=22");
        assert.equal(
            engines("node_modules/@pulumi/pulumi/package.json"),
            ">=22",
            "the SDK's own floor is the project's",
        );
        const setup = read(".github/actions/setup/action.yml");
        assert.ok(Number(/node-version: (\d+)/.exec(setup)![1]) >= 22, "the workflows run a supported Node.js");
        for (const file of ["README.md", "docs/admin/mtls.md", "docs/engine.md"]) {
            const text = read(file);
            assert.match(text, /Node\.js 22 (or|and) 24/, file);
            assert.match(text, /Node\.js 20\.19/, `${file}: the suite's runtime too`);
            assert.doesNotMatch(text, /Node\.js (≥|>=) ?22|22 or later \(an LTS\)/, `${file}: the old wording`);
        }
        assert.match(read("docs/admin/mtls.fr.md"), /Node\.js 22 ou 24/);
        const typesMajor = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")).devDependencies[
            "@types/node"
        ].split(".")[0];
        assert.match(
            read("docs/engine.md"),
            new RegExp(`Node ${typesMajor}'s API, which \`@types/node\` ${typesMajor}`),
        );
        const measured = Number(/Node\.js v(\d+)\./.exec(read("docs/performance.md"))![1]);
        if (measured < 22) assert.match(read("docs/performance.md"), new RegExp(`measured on Node\\.js ${measured}`));
    });

    it("the config reference shows a container's resources as the four keys under it", () => {
        const rows = referenceRows().filter((r) => /resources/i.test(r.key) && !r.key.includes("." + "cpu"));
        assert.ok(rows.length > 10);
        for (const row of rows.filter((r) => r.type.includes("Kubernetes quantities")))
            assert.match(row.type, /`\.memory\.request`/, row.key);
        assert.match(read("README.md"), /pulumi config set --path linkerd\.proxy\.resources\.memory\.request 32Mi/);
    });
});
