/**
 * `npm run renewals -- --preview <file>`: drift, and certificates due for renewal, in a
 * `pulumi preview --refresh --json` (tools/renewals.ts). Used by the drift and deploy workflows.
 */
import * as fs from "node:fs";
import { classifyPreview, pendingRemovals, PreviewDigest } from "../renewals";
import { parseCli, runCli, UsageError } from "./args";

const RENEWALS_USAGE = `usage: npm run renewals -- --preview <preview.json> [--targets | --removals]

Sorts the changes of \`pulumi preview --refresh --json\`: certificates made with @pulumi/tls that
are due for renewal, what their renewal rewrites, and everything else (drift).

  (default)   prints all three; exit status 1 when there is drift. With $GITHUB_OUTPUT set,
              writes renewals-due=<number of certificates due> to it.
  --targets   prints only the URNs of the certificates due, one per line, for
              \`pulumi up --target <urn>… --target-dependents\`; drift goes to stderr and does
              not change the exit status (a renewal must not wait for unrelated drift).
  --removals  after a failed \`pulumi up\`: prints the URNs it left to delete, one per line,
              when deleting them is all the preview shows (exit status 0: another \`up\`
              finishes them); exit status 1 when anything else changes.

options:
  --preview   the preview's JSON output (pulumi preview --json > file)
  --targets   as above
  --removals  as above
  --help      this text`;

function main(): number | void {
    const options = parseCli(process.argv.slice(2), RENEWALS_USAGE, {
        preview: { type: "string" },
        targets: { type: "boolean", default: false },
        removals: { type: "boolean", default: false },
    });
    if (!options) return;
    if (!options.preview) throw new UsageError("--preview <preview.json> is required");
    let digest: PreviewDigest;
    try {
        digest = JSON.parse(fs.readFileSync(options.preview, "utf8"));
    } catch (error) {
        throw new Error(`${options.preview} is not the JSON of pulumi preview --json: ${(error as Error).message}`, {
            cause: error,
        });
    }
    if (options.removals) {
        const left = pendingRemovals(digest);
        if (!left) {
            console.error(
                "the preview shows more than deletes: the `up` failed before its creates and updates were done",
            );
            return 1;
        }
        for (const urn of left) console.log(urn);
        return 0;
    }
    const verdict = classifyPreview(digest);
    const driftLines = verdict.drift.map(({ urn, op }) => `drift: ${op} ${urn}`);

    if (options.targets) {
        for (const line of driftLines) console.error(line);
        for (const urn of verdict.renewals) console.log(urn);
        return 0;
    }
    for (const urn of verdict.renewals) console.log(`renewal due: ${urn}`);
    for (const urn of verdict.followers) console.log(`rewritten by the renewal: ${urn}`);
    for (const line of driftLines) console.log(line);
    if (process.env.GITHUB_OUTPUT)
        fs.appendFileSync(process.env.GITHUB_OUTPUT, `renewals-due=${verdict.renewals.length}\n`);
    if (verdict.drift.length > 0) {
        console.log(
            `${verdict.drift.length} change(s) no renewal explains: the stack drifted from its cluster or from main`,
        );
        return 1;
    }
    console.log(
        verdict.renewals.length > 0
            ? `no drift; ${verdict.renewals.length} certificate(s) due for renewal`
            : "no drift",
    );
    return 0;
}

if (require.main === module) runCli("renewals", main);
