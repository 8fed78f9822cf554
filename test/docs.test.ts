/** The documentation stays true: runbooks in both languages agree, links resolve, numbers are current. */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { configObject } from "../config/schema";
import { PROJECT_ROOT } from "../tools/mockRuntime";
import { STACKS } from "./helpers";

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

    it("the README's config reference names every config key", () => {
        const keys: string[] = [];
        const walk = (schema: any, path: string[]) => {
            while (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault) schema = schema.unwrap();
            if (schema instanceof z.ZodObject) for (const [key, child] of Object.entries(schema.shape)) walk(child, [...path, key]);
            else keys.push(path.join("."));
        };
        walk(configObject, []);
        const reference = read("README.md").split("## Config reference")[1].split("\n## ")[0];
        const rows = reference.split("\n").filter((line) => line.startsWith("| `"));
        for (const key of keys) {
            // Requests and limits are documented by their container (`linkerd.proxy.resources`), a
            // family of containers by `<c>` and the names it stands for.
            const documented = key.replace(/\.(cpu|memory)\.(request|limit)$/, "");
            const parent = documented.split(".").slice(0, -1).join(".");
            const last = documented.split(".").pop()!;
            // An object documented on one row by its shape (`{clients} | {networks}`) covers its keys.
            const ancestors = documented.split(".").slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join("."));
            const ok =
                rows.some((row) => row.startsWith(`| \`${documented}\``)) ||
                rows.some((row) => row.startsWith(`| \`${parent}.<c>\``) && row.includes(last)) ||
                ancestors.some((ancestor) => rows.some((row) => row.startsWith(`| \`${ancestor}\``) && row.includes(`{${last}}`)));
            assert.ok(ok, `${key} is not in the README's config reference`);
        }
        assert.ok(keys.length > 60);
    });

    it("docs/performance.md holds a benchmark of every stack, with date and machine", () => {
        const block = /<!-- bench:start -->\n([\s\S]*?)\n<!-- bench:end -->/.exec(read("docs/performance.md"));
        assert.ok(block, "bench block");
        assert.match(block[1], /^Measured \d{4}-\d{2}-\d{2} on .+ × \d+, \d+ GiB, .+Node\.js v\d+/);
        for (const stack of STACKS) assert.match(block[1], new RegExp(`^\\| ${stack} \\|`, "m"));
    });
});
