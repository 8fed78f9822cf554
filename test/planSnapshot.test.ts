/**
 * Unchanged behaviour: the program hands the engine what the committed plan snapshot says, for
 * every stack and mode (tools/planSnapshot.ts): the same URNs (so no resource is replaced, the
 * protected anchors least of all), options, inputs and outputs. A change that is meant is
 * recorded with `npm run snapshot`, and shows in review as a diff of test/fixtures/plan/<scenario>.json.
 */
import { strict as assert } from "node:assert";
import { planSnapshot, ScenarioSnapshot, snapshotText } from "../tools/planSnapshot";
import { readSnapshot, SNAPSHOT_DIR } from "../tools/cli/snapshot";

/** How many changed fields a line names before it says how many more there are. */
const SHOWN_FIELDS = 4;

/** The paths at which two JSON values differ (`inputs.spec.template.spec.containers[0].image`), depth first. */
function changedPaths(before: unknown, after: unknown, at: string): string[] {
    if (JSON.stringify(before) === JSON.stringify(after)) return [];
    const isObject = (v: unknown): v is Record<string, unknown> =>
        v !== null && typeof v === "object" && !Array.isArray(v);
    if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
        return before.flatMap((item, i) => changedPaths(item, after[i], `${at}[${i}]`));
    }
    if (isObject(before) && isObject(after)) {
        const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
        return keys.flatMap((key) => changedPaths(before[key], after[key], at ? `${at}.${key}` : key));
    }
    return [at || "(the whole value)"];
}

/** What differs between two snapshots of one scenario, by URN and field, for a readable failure. */
function differences(expected: ScenarioSnapshot, actual: ScenarioSnapshot): string[] {
    const before = expected.resources ?? {};
    const after = actual.resources ?? {};
    const lines: string[] = [];
    for (const urn of Object.keys(before))
        if (!(urn in after)) lines.push(`- ${urn} (gone: the engine would delete or replace it)`);
    for (const urn of Object.keys(after)) if (!(urn in before)) lines.push(`+ ${urn} (new)`);
    for (const [urn, resource] of Object.entries(after)) {
        if (!(urn in before)) continue;
        const fields = changedPaths(before[urn], resource, "");
        if (fields.length === 0) continue;
        const more = fields.length > SHOWN_FIELDS ? ` and ${fields.length - SHOWN_FIELDS} more` : "";
        lines.push(`~ ${urn}: ${fields.slice(0, SHOWN_FIELDS).join(", ")}${more} changed`);
    }
    const outputs = changedPaths(expected.outputs, actual.outputs, "");
    if (outputs.length > 0) lines.push(`~ stack outputs: ${outputs.join(", ")} changed`);
    if (JSON.stringify(expected.error) !== JSON.stringify(actual.error))
        lines.push(`~ the error changed: ${JSON.stringify(actual.error)}`);
    return lines;
}

describe("the plan of every stack and mode is the committed snapshot (npm run snapshot records a meant change)", function () {
    this.timeout(120_000);
    let expected: Map<string, ScenarioSnapshot>;
    let actual: Map<string, ScenarioSnapshot>;
    before(async () => {
        expected = readSnapshot();
        actual = await planSnapshot();
    });

    it(`the same scenarios, one file each in ${SNAPSHOT_DIR.split("/").slice(-3).join("/")}`, () => {
        assert.deepEqual([...expected.keys()].sort(), [...actual.keys()].sort());
        for (const [slug, snapshot] of actual) assert.equal(expected.get(slug)?.scenario, snapshot.scenario, slug);
    });

    it("every scenario: the same resources (URNs, options, inputs) and outputs", () => {
        const problems = [...actual].flatMap(([slug, snapshot]) =>
            differences(expected.get(slug) ?? { scenario: snapshot.scenario, stack: snapshot.stack }, snapshot).map(
                (line) => `${snapshot.scenario}: ${line}`,
            ),
        );
        assert.deepEqual(problems, []);
    });

    it("each file is written as npm run snapshot writes it (a one-field change is a one-line diff)", () => {
        for (const [slug, snapshot] of expected) {
            const urns = Object.keys(snapshot.resources ?? {});
            assert.deepEqual(
                urns,
                [...urns].sort((a, b) => a.localeCompare(b)),
                `${slug}: resources in URN order`,
            );
            assert.equal(snapshotText(snapshot), snapshotText(JSON.parse(snapshotText(snapshot))), slug);
        }
        const scenario = [...expected.values()].find((s) => s.scenario.endsWith(" on"))!;
        const [urn] = Object.keys(scenario.resources!);
        const changed: ScenarioSnapshot = structuredClone(scenario);
        changed.resources![urn].read = !changed.resources![urn].read;
        const lines = (s: ScenarioSnapshot) => snapshotText(s).split("\n");
        const [old, now] = [lines(scenario), lines(changed)];
        assert.equal(old.length, now.length);
        assert.deepEqual(
            old.filter((line, i) => line !== now[i]),
            [`   "read": ${scenario.resources![urn].read},`],
            "a changed field shows as one line",
        );
    });

    it("the comparison sees a change: a renamed child, a changed input and a changed output, by URN and field", () => {
        const scenario = [...expected.values()].find((s) => s.scenario.endsWith(" on"))!;
        const copy: ScenarioSnapshot = structuredClone(scenario);
        const [first, second] = Object.keys(copy.resources!);
        copy.resources![`${first}-renamed`] = copy.resources![first];
        delete copy.resources![first];
        copy.resources![second].inputs = { ...(copy.resources![second].inputs as object), changed: true };
        copy.outputs = { ...(copy.outputs as object), target: "elsewhere" };
        const lines = differences(scenario, copy);
        assert.ok(lines.includes(`- ${first} (gone: the engine would delete or replace it)`), lines.join("\n"));
        assert.ok(lines.includes(`+ ${first}-renamed (new)`), lines.join("\n"));
        assert.ok(lines.includes(`~ ${second}: inputs.changed changed`), lines.join("\n"));
        assert.ok(lines.includes("~ stack outputs: target changed"), lines.join("\n"));
    });
});
