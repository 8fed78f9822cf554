/**
 * Production code and tooling live apart: what `pulumi up` loads (index.ts, and the policy pack)
 * reaches only config/, components/, lib/ and cluster/; the mock runtime, the tls mocks, the plan
 * report and the other tools (tools/) and the tests are never among them.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../tools/mockRuntime";

/** Every project file a module reaches through relative imports and requires, itself included. */
function reachable(entry: string): Set<string> {
    const seen = new Set<string>();
    const visit = (file: string) => {
        if (seen.has(file)) return;
        seen.add(file);
        const text = fs.readFileSync(file, "utf8");
        for (const [, spec] of text.matchAll(/(?:from|import|require)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
            const base = path.resolve(path.dirname(file), spec);
            const target = [base, `${base}.ts`, path.join(base, "index.ts")].find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile());
            assert.ok(target, `${path.relative(PROJECT_ROOT, file)} imports ${spec}, which does not exist`);
            visit(target);
        }
    };
    visit(path.join(PROJECT_ROOT, entry));
    return seen;
}

const relative = (files: Set<string>) => [...files].map((f) => path.relative(PROJECT_ROOT, f)).sort();

describe("layout", () => {
    it("the program loads only config/, components/, lib/ (and the in-cluster script's modules from cluster/)", () => {
        const files = relative(reachable("index.ts"));
        assert.ok(files.length > 20, files.join(", "));
        assert.deepEqual(
            files.filter((f) => !/^(index\.ts|config\/|components\/|lib\/|cluster\/[^/]+\.cjs$)/.test(f) || f.endsWith(".test.ts")),
            [],
        );
        assert.ok(files.includes("components/meshMaintenance.ts"), "which reads cluster/mesh-check.mjs at run time");
        assert.ok(fs.existsSync(path.join(PROJECT_ROOT, "cluster", "mesh-check.mjs")));
    });

    it("the policy pack loads only policy/ and lib/", () => {
        const files = relative(reachable("policy/index.ts"));
        assert.deepEqual(
            files.filter((f) => !/^(policy|lib)\//.test(f)),
            [],
        );
    });

    it("lib/ holds only what the program loads (and its own co-located tests)", () => {
        const loaded = new Set(relative(reachable("index.ts")));
        const lib = fs.readdirSync(path.join(PROJECT_ROOT, "lib")).map((f) => `lib/${f}`);
        assert.deepEqual(
            lib.filter((f) => !loaded.has(f) && !f.endsWith(".test.ts")),
            [],
            "tooling belongs in tools/",
        );
    });

    it("npm test type-checks, lints (ESLint) and checks the formatting (Prettier) before the suite runs", () => {
        const scripts = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")).scripts;
        assert.equal(scripts.test, "tsc --noEmit && npm run -s lint && mocha");
        assert.match(scripts.lint, /^eslint \. && prettier --check /);
        assert.ok(fs.existsSync(path.join(PROJECT_ROOT, "eslint.config.mjs")) && fs.existsSync(path.join(PROJECT_ROOT, ".prettierrc.json")));
    });
});
