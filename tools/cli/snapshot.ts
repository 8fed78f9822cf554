/**
 * Writes the plan snapshot (tools/planSnapshot.ts) that test/planSnapshot.test.ts compares the
 * program against: `npm run snapshot` after a change of resources, inputs or outputs that is meant.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../mockRuntime";
import { planSnapshot, ScenarioSnapshot, snapshotText } from "../planSnapshot";
import { parseCli, runCli } from "./args";

/** One file per scenario: `<scenario>.json`. */
export const SNAPSHOT_DIR = path.join(PROJECT_ROOT, "test", "fixtures", "plan");

/** The committed snapshot, by file name (without `.json`). */
export function readSnapshot(dir = SNAPSHOT_DIR): Map<string, ScenarioSnapshot> {
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
    return new Map(
        files
            .sort()
            .map((file) => [
                file.replace(/\.json$/, ""),
                JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) as ScenarioSnapshot,
            ]),
    );
}

/** Writes every scenario's file and removes the files of scenarios that are gone. */
export function writeSnapshot(snapshots: Map<string, ScenarioSnapshot>, dir = SNAPSHOT_DIR): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const file of fs.readdirSync(dir)) {
        if (file.endsWith(".json") && !snapshots.has(file.replace(/\.json$/, ""))) fs.rmSync(path.join(dir, file));
    }
    for (const [slug, snapshot] of snapshots) fs.writeFileSync(path.join(dir, `${slug}.json`), snapshotText(snapshot));
}

const SNAPSHOT_USAGE = `usage: npm run snapshot

Writes test/fixtures/plan/<scenario>.json: what the program hands the engine for every stack and
mode (tools/planSnapshot.ts), each resource under its URN. Run it after a change of resources,
inputs or outputs that is meant; test/planSnapshot.test.ts then agrees, and the change shows in
review as the files' diff, a changed field as a changed line.

options:
  --help      this text`;

async function main(): Promise<void> {
    if (!parseCli(process.argv.slice(2), SNAPSHOT_USAGE, {})) return;
    const snapshots = await planSnapshot();
    writeSnapshot(snapshots);
    const resources = [...snapshots.values()].reduce((sum, s) => sum + Object.keys(s.resources ?? {}).length, 0);
    console.log(
        `wrote ${path.relative(PROJECT_ROOT, SNAPSHOT_DIR)}/: ${snapshots.size} scenarios, ${resources} resources`,
    );
}

if (require.main === module) runCli("snapshot", main);
