/**
 * Writes the plan snapshot (tools/planSnapshot.ts) that test/planSnapshot.test.ts compares the
 * program against: `npm run snapshot` after a change of resources, inputs or outputs that is meant.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../mockRuntime";
import { planSnapshot } from "../planSnapshot";
import { parseCli, runCli } from "./args";

export const SNAPSHOT_FILE = path.join(PROJECT_ROOT, "test", "fixtures", "plan-snapshot.json");

const SNAPSHOT_USAGE = `usage: npm run snapshot

Writes test/fixtures/plan-snapshot.json: what the program hands the engine for every stack and
mode (tools/planSnapshot.ts). Run it after a change of resources, inputs or outputs that is meant;
test/planSnapshot.test.ts then agrees, and the change shows in review as the file's diff.

options:
  --help      this text`;

async function main(): Promise<void> {
    if (!parseCli(process.argv.slice(2), SNAPSHOT_USAGE, {})) return;
    const snapshot = await planSnapshot();
    fs.mkdirSync(path.dirname(SNAPSHOT_FILE), { recursive: true });
    fs.writeFileSync(SNAPSHOT_FILE, `${JSON.stringify(snapshot, null, 1)}\n`);
    console.log(
        `wrote ${path.relative(PROJECT_ROOT, SNAPSHOT_FILE)}: ${Object.keys(snapshot.scenarios).length} scenarios, ${Object.keys(snapshot.resources).length} distinct resources`,
    );
}

if (require.main === module) runCli("snapshot", main);
