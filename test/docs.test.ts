/** The documentation stays true: runbooks in both languages agree, links resolve, numbers are current. */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { configReference } from "../config/reference";
import { referenceRows, referenceTable, REFERENCE_MARKERS } from "../tools/readme";
import { PROJECT_ROOT } from "../tools/mockRuntime";
import { STACKS } from "./helpers";
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
        for (const topic of ["Activation", "Vérification", "Rotation", "Désactivation", "Dépannage"]) assert.match(french, new RegExp(`## \\d\\. ${topic}`));
        for (const topic of ["Activation", "Verification", "Rotation", "Disabling", "Troubleshooting"]) assert.match(english, new RegExp(`## \\d\\. ${topic}`));
    });

    it("the rotation runbook exists in English and French, with the same sections and the same commands", () => {
        const { english, french } = sameRunbook("rotation");
        // Tables row for row (the phases), and the same inline commands.
        const rows = (markdown: string) => markdown.split("\n").filter((l) => l.startsWith("|")).length;
        assert.equal(rows(french), rows(english));
        const inline = (markdown: string) => [...markdown.matchAll(/`(kubectl|pulumi|cmctl|linkerd) [^`]+`/g)].map((m) => m[0]).sort();
        assert.deepEqual(inline(french), inline(english));
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
            return Promise.all(charts.map(async (chart) => (await chartDefaults(chart, "Chart.yaml")).kubeVersion as string));
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
        const texts = { description, english: read("docs/admin/mtls.md"), french: read("docs/admin/mtls.fr.md"), code: read("components/meshedIngress.ts") };
        for (const [where, text] of Object.entries(texts)) {
            assert.doesNotMatch(text, /every route must (then )?set|chaque route doit alors poser|requests fail/, where);
            assert.doesNotMatch(text, /route to Services rather than pods|routent vers des Services plutôt que/, where);
        }
        assert.match(description, /one without it to the address the controller connected to/);
        assert.match(texts.english, /a request without the header still goes to the address the controller connected to/);
        assert.match(texts.french, /une requête sans cet en-tête part quand même/);
        for (const text of [description, texts.english, texts.french]) assert.match(text, /l5d-dst-override[\s\S]*(drop|retirer)/);
    });

    it("docs/performance.md holds a benchmark of every stack, with date and machine", () => {
        const block = /<!-- bench:start -->\n([\s\S]*?)\n<!-- bench:end -->/.exec(read("docs/performance.md"));
        assert.ok(block, "bench block");
        assert.match(block[1], /^Measured \d{4}-\d{2}-\d{2} on .+ × \d+, \d+ GiB, .+Node\.js v\d+/);
        for (const stack of STACKS) assert.match(block[1], new RegExp(`^\\| ${stack} \\|`, "m"));
    });
});
