/**
 * Writes the plan snapshot (tools/planSnapshot.ts) that test/planSnapshot.test.ts compares the
 * program against: `npm run snapshot` after a change of resources, inputs or outputs that is meant.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../mockRuntime";
import { planSnapshot } from "../planSnapshot";

export const SNAPSHOT_FILE = path.join(PROJECT_ROOT, "test", "fixtures", "plan-snapshot.json");

async function main(): Promise<void> {
    const snapshot = await planSnapshot();
    fs.mkdirSync(path.dirname(SNAPSHOT_FILE), { recursive: true });
    fs.writeFileSync(SNAPSHOT_FILE, `${JSON.stringify(snapshot, null, 1)}\n`);
    console.log(`wrote ${path.relative(PROJECT_ROOT, SNAPSHOT_FILE)}: ${Object.keys(snapshot.scenarios).length} scenarios, ${Object.keys(snapshot.resources).length} distinct resources`);
}

if (require.main === module) void main();
