/**
 * Production code and tooling live apart: what `pulumi up` loads (index.ts, and the policy pack)
 * reaches only config/, components/, lib/ and cluster/; the mock runtime, the tls mocks, the plan
 * report and the other tools (tools/) and the tests are never among them. And no import cycle: every
 * dependency of the source runs one way.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { PROJECT_ROOT } from "../tools/mockRuntime";

/** The project files a module imports or requires (relative specifiers, type-only imports included). */
function importsOf(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    return [...text.matchAll(/(?:from|import|require)\s*\(?\s*"(\.{1,2}(?:\/[^"]*)?)"/g)].map(([, spec]) => {
        const base = path.resolve(path.dirname(file), spec);
        const target = [base, `${base}.ts`, path.join(base, "index.ts")].find(
            (candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile(),
        );
        assert.ok(target, `${path.relative(PROJECT_ROOT, file)} imports ${spec}, which does not exist`);
        return target;
    });
}

/** Every project file a module reaches through relative imports and requires, itself included. */
function reachable(entry: string): Set<string> {
    const seen = new Set<string>();
    const visit = (file: string) => {
        if (seen.has(file)) return;
        seen.add(file);
        for (const target of importsOf(file)) visit(target);
    };
    visit(path.join(PROJECT_ROOT, entry));
    return seen;
}

/**
 * The import cycles of a graph: its strongly connected components of more than one file, or of one
 * file that imports itself (Tarjan's algorithm), each sorted, in a stable order.
 */
function importCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const cycles: string[][] = [];
    const connect = (node: string) => {
        index.set(node, index.size);
        low.set(node, index.get(node)!);
        stack.push(node);
        onStack.add(node);
        for (const next of graph.get(node) ?? []) {
            if (!index.has(next)) {
                connect(next);
                low.set(node, Math.min(low.get(node)!, low.get(next)!));
            } else if (onStack.has(next)) {
                low.set(node, Math.min(low.get(node)!, index.get(next)!));
            }
        }
        if (low.get(node) !== index.get(node)) return;
        const component: string[] = [];
        let member: string;
        do {
            member = stack.pop()!;
            onStack.delete(member);
            component.push(member);
        } while (member !== node);
        if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
    };
    for (const node of [...graph.keys()].sort()) if (!index.has(node)) connect(node);
    return cycles.sort((a, b) => a[0].localeCompare(b[0]));
}

/** The project's own source files (the program, the policy pack, the in-cluster script, the tools): tests and fixtures aside. */
function sourceFiles(): string[] {
    const walk = (dir: string): string[] =>
        fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
            const relativePath = path.join(dir, entry.name);
            if (entry.isDirectory()) return walk(relativePath);
            return /\.(ts|mjs|cjs)$/.test(entry.name) && !/\.(test|d)\.[cm]?ts$/.test(entry.name)
                ? [path.join(PROJECT_ROOT, relativePath)]
                : [];
        });
    return [
        "index.ts",
        ...["config", "components", "lib", "policy", "cluster", "tools"]
            .flatMap(walk)
            .map((f) => path.relative(PROJECT_ROOT, f)),
    ].map((f) => path.join(PROJECT_ROOT, f));
}

const relative = (files: Set<string>) => [...files].map((f) => path.relative(PROJECT_ROOT, f)).sort();

describe("layout", () => {
    it("the program loads only config/, components/, lib/ (and the in-cluster script's modules and the contract's data from cluster/)", () => {
        const files = relative(reachable("index.ts"));
        assert.ok(files.length > 20, files.join(", "));
        assert.deepEqual(
            files.filter(
                (f) =>
                    !/^(index\.ts|config\/|components\/|lib\/|cluster\/[^/]+\.(cjs|json)$)/.test(f) ||
                    f.endsWith(".test.ts"),
            ),
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

    it("no import cycle: in the program, the policy pack and the tools, every dependency runs one way", () => {
        const files = sourceFiles();
        assert.ok(files.length > 60, String(files.length));
        assert.ok(files.some((f) => f.endsWith(path.join("config", "rules", "types.ts"))));
        const graph = new Map(files.map((file) => [file, importsOf(file)]));
        assert.deepEqual(
            importCycles(graph).map((cycle) => relative(new Set(cycle)).join(" <-> ")),
            [],
        );
    });

    it("the cycle finder sees a loop of two files, a longer one and a file that imports itself, and no loop in a diamond", () => {
        const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
        assert.deepEqual(importCycles(graph({ a: ["b"], b: ["a"], c: ["a"] })), [["a", "b"]]);
        assert.deepEqual(importCycles(graph({ x: ["y"], y: ["z"], z: ["x"], w: ["w"] })), [["w"], ["x", "y", "z"]]);
        assert.deepEqual(
            importCycles(graph({ top: ["left", "right"], left: ["bottom"], right: ["bottom"], bottom: [] })),
            [],
        );
    });

    it("unit tests sit next to the module they test and never load the mock runtime; integration tests are in test/; mocha runs them all", () => {
        const skip = new Set(["node_modules", ".cache", ".git", "fixtures", "bin"]);
        const walk = (dir: string): string[] =>
            fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
                if (skip.has(entry.name)) return [];
                const relativePath = dir ? `${dir}/${entry.name}` : entry.name;
                return entry.isDirectory() ? walk(relativePath) : entry.name.endsWith(".test.ts") ? [relativePath] : [];
            });
        const tests = walk("");
        const unit = tests.filter((f) => !f.startsWith("test/"));
        assert.ok(
            unit.length >= 20 && unit.some((f) => f.startsWith("lib/")) && unit.some((f) => f.startsWith("tools/")),
            unit.join(", "),
        );
        const beside = (f: string) => f.replace(/\.test\.ts$/, "");
        assert.deepEqual(
            unit.filter(
                (f) =>
                    ![".ts", ".cjs", ".mjs", ""].some((ext) => fs.existsSync(path.join(PROJECT_ROOT, beside(f) + ext))),
            ),
            [],
            "a unit test is named after the module beside it",
        );
        const mockRuntime = path.join(PROJECT_ROOT, "tools", "mockRuntime.ts");
        assert.deepEqual(
            unit.filter((f) => reachable(f).has(mockRuntime)),
            [],
            "a unit test runs no program: its test belongs in test/",
        );
        const spec: string[] = createRequire(__filename)(path.join(PROJECT_ROOT, ".mocharc.js")).spec;
        assert.ok(
            spec.every((glob) => /^[a-z]+\/\*\*\/\*\.test\.ts$/.test(glob)),
            spec.join(", "),
        );
        const roots = spec.map((glob) => glob.split("/")[0]);
        assert.deepEqual(
            tests.filter((f) => !roots.includes(f.split("/")[0])),
            [],
            "every test file is in .mocharc.js's spec",
        );
    });

    it("npm test type-checks, lints (ESLint) and checks the formatting (Prettier) before the suite runs", () => {
        const scripts = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")).scripts;
        assert.equal(scripts.test, "tsc --noEmit && npm run -s lint && mocha");
        assert.match(scripts.lint, /^eslint \. && prettier --check /);
        assert.ok(
            fs.existsSync(path.join(PROJECT_ROOT, "eslint.config.mjs")) &&
                fs.existsSync(path.join(PROJECT_ROOT, ".prettierrc.json")),
        );
    });
});
