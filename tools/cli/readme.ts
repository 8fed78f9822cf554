/** `npm run readme`: regenerates the README's config reference and dependency graph (tools/readme.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "../mockRuntime";
import { regenerate } from "../readme";
import { parseCli, runCli } from "./args";

const README_USAGE = `usage: npm run readme

Rewrites the README's generated parts: the config reference (from the schema's descriptions and
the presets' defaults) and the netcup stack's dependency graph. test/docs.test.ts fails while
they differ from what this writes.

options:
  --help      this text`;

async function main(): Promise<void> {
    if (!parseCli(process.argv.slice(2), README_USAGE, {})) return;
    const file = path.join(PROJECT_ROOT, "README.md");
    fs.writeFileSync(file, await regenerate(fs.readFileSync(file, "utf8")));
    console.log("README.md: config reference and dependency graph regenerated");
}

if (require.main === module) runCli("readme", main);
