/**
 * Unchanged behaviour: the program hands the engine what the committed plan snapshot says, for
 * every stack and mode (tools/planSnapshot.ts): the same URNs (so no resource is replaced, the
 * protected anchors least of all), options, inputs and outputs. A change that is meant is
 * recorded with `npm run snapshot`, and shows in review as a diff of test/fixtures/plan-snapshot.json.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { PlanSnapshot, planSnapshot } from "../tools/planSnapshot";
import { SNAPSHOT_FILE } from "../tools/cli/snapshot";

/** What differs between two snapshots of one scenario, by URN, for a readable failure. */
function differences(expected: PlanSnapshot, actual: PlanSnapshot, scenario: string): string[] {
    const byUrn = (snapshot: PlanSnapshot) =>
        new Map((snapshot.scenarios[scenario]?.resources ?? []).map((key) => [(snapshot.resources[key] as { urn: string }).urn, snapshot.resources[key]]));
    const before = byUrn(expected);
    const after = byUrn(actual);
    const lines: string[] = [];
    for (const urn of before.keys()) if (!after.has(urn)) lines.push(`- ${urn} (gone: the engine would delete or replace it)`);
    for (const urn of after.keys()) if (!before.has(urn)) lines.push(`+ ${urn} (new)`);
    for (const [urn, resource] of after) {
        const old = before.get(urn);
        if (!old || JSON.stringify(old) === JSON.stringify(resource)) continue;
        const fields = Object.keys(resource).filter((k) => JSON.stringify((old as any)[k]) !== JSON.stringify((resource as any)[k]));
        lines.push(`~ ${urn}: ${fields.join(", ")} changed`);
    }
    if (JSON.stringify(expected.scenarios[scenario]?.outputs) !== JSON.stringify(actual.scenarios[scenario]?.outputs)) lines.push("~ stack outputs changed");
    if (JSON.stringify(expected.scenarios[scenario]?.error) !== JSON.stringify(actual.scenarios[scenario]?.error)) lines.push("~ the error changed");
    return lines;
}

describe("the plan of every stack and mode is the committed snapshot (npm run snapshot records a meant change)", function () {
    this.timeout(120_000);
    let expected: PlanSnapshot;
    let actual: PlanSnapshot;
    before(async () => {
        expected = JSON.parse(fs.readFileSync(SNAPSHOT_FILE, "utf8"));
        actual = await planSnapshot();
    });

    it("the same scenarios", () => {
        assert.deepEqual(Object.keys(actual.scenarios), Object.keys(expected.scenarios));
    });

    it("every scenario: the same resources (URNs, options, inputs) and outputs", () => {
        const problems = Object.keys(expected.scenarios).flatMap((scenario) => differences(expected, actual, scenario).map((line) => `${scenario}: ${line}`));
        assert.deepEqual(problems, []);
    });

    it("the snapshot sees a change: a renamed child and a changed input", () => {
        const copy: PlanSnapshot = structuredClone(expected);
        const scenario = Object.keys(copy.scenarios).find((name) => name.endsWith(" on"))!;
        const [first, second] = copy.scenarios[scenario].resources!;
        const renamed = { ...(copy.resources[first] as any), urn: `${(copy.resources[first] as any).urn}-renamed` };
        const changed = { ...(copy.resources[second] as any), inputs: { changed: true } };
        copy.resources.renamed = renamed;
        copy.resources.changed = changed;
        copy.scenarios[scenario].resources = ["renamed", "changed", ...copy.scenarios[scenario].resources!.slice(2)];
        const lines = differences(expected, copy, scenario);
        assert.ok(lines.some((l) => l.startsWith("- ") && l.includes("gone")));
        assert.ok(lines.some((l) => l.startsWith("+ ") && l.endsWith("-renamed (new)")));
        assert.ok(lines.some((l) => l.startsWith("~ ") && l.endsWith("inputs changed")));
    });
});
