/** `npm run plan`: the program under the same mock runtime as the tests, no credentials. */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT } from "../tools/mockRuntime";
import { plan } from "../tools/cli/plan";
import { STACKS } from "./helpers";

describe("npm run plan", () => {
    it("plans every stack as configured (what a fork's pull request runs)", async () => {
        for (const stack of STACKS) {
            const result = await plan([stack]);
            assert.equal(result.status, 0, result.output);
            assert.match(result.output, new RegExp(`Plan for stack ${stack}`));
        }
    });

    it("prints the config that differs from the preset, the charts and their versions, the tree with dependencies", async () => {
        const { status, output } = await plan(["netcup", "--set", "mtls.enabled=true", "--set", "mtls.mode=strict"]);
        assert.equal(status, 0, output);
        assert.match(output, /akko-mtls:mtls\.enabled = true {2}\(preset: false\)/);
        assert.match(output, /akko-mtls:mtls\.mode = "strict" {2}\(preset: "permissive"\)/);
        assert.match(output, /akko-mtls:cluster\.context = "netcup"/);
        assert.doesNotMatch(output, /linkerd\.chartVersion/, "equal to the preset: not listed");
        for (const chart of [
            "cert-manager v1.21.1 from https://charts.jetstack.io into namespace cert-manager",
            "linkerd-control-plane 2026.8.3 from https://helm.linkerd.io/edge into namespace linkerd",
            "linkerd-crds 2026.8.3 from https://helm.linkerd.io/edge into namespace linkerd",
            "linkerd-viz 2026.8.3 from https://helm.linkerd.io/edge into namespace linkerd-viz",
        ]) {
            assert.ok(output.includes(chart), chart);
        }
        assert.match(
            output,
            /Chart akko-linkerd-control-plane \[webhooks awaited\]\n[│ ]+waits for: .*akko-identity-issuer-certificate.*akko-linkerd-crds.*akko-linkerd-trust-roots/,
        );
        assert.match(output, /SelfSignedCert akko-trust-anchor-g1-cert \[protected\]/);
        assert.match(output, /Chart akko-linkerd-crds \[retained, re-adopted\]/);
        assert.doesNotMatch(output, /PRIVATE KEY|BEGIN CERTIFICATE/, "no key or certificate material");
    });

    it("reports a config error with the key, exit status 1; bad arguments exit 2", async () => {
        const bad = await plan(["netcup", "--set", "mtls.enable=true"]);
        assert.equal(bad.status, 1);
        assert.match(bad.output, /akko-mtls:mtls\.enable: unknown key; allowed here: enabled/);
        assert.equal((await plan([])).status, 2);
        assert.equal((await plan(["prod"])).status, 2);
        assert.equal((await plan(["netcup", "--format", "dot"])).status, 2);
        assert.equal((await plan(["netcup", "--set", "novalue"])).status, 2);
    });

    it("--help prints the usage; a bad option is one line and exit 2, never a stack", async () => {
        const help = await plan(["--help"]);
        assert.equal(help.status, 0);
        assert.match(help.output, /^usage: npm run plan -- <stack> \[options\]/);
        for (const option of ["--set", "--previous", "--format", "--help"]) assert.ok(help.output.includes(option), option);
        const bad = await plan(["netcup", "--sett", "x=1"]);
        assert.equal(bad.status, 2);
        assert.match(bad.output, /^plan: Unknown option '--sett'/);
        assert.doesNotMatch(bad.output, /\n\s+at /, "no stack trace");
    });

    it("--set parses like `pulumi config set --path`: indexes, quoted keys, typed values inside objects, JSON kept as text", async () => {
        // The stack file holds no mtls.namespaces (the preset's apply): index 0 creates the list, as the CLI would.
        const ok = await plan([
            "netcup",
            "--set",
            "mtls.enabled=true",
            "--set",
            "mtls.namespaces[0]=akko",
            "--set",
            "mtls.namespaces[1]=spark",
            "--set",
            "mtls.namespaceOptions.spark.opaquePorts[0]=5432",
        ]);
        assert.equal(ok.status, 0, ok.output);
        assert.match(ok.output, /akko-mtls:mtls\.namespaces = \["akko","spark"\]/);
        assert.match(ok.output, /akko-mtls:mtls\.namespaceOptions\.spark\.opaquePorts = \[5432\]/);
        // What `pulumi config set --path mtls.namespaces '["spark"]'` stores is text, which the config refuses too.
        const json = await plan(["netcup", "--set", 'mtls.namespaces=["spark"]']);
        assert.equal(json.status, 1);
        assert.match(json.output, /akko-mtls:mtls\.namespaces: .*expected array/);
        const pastTheEnd = await plan(["netcup", "--set", "mtls.namespaces[5]=x"]);
        assert.equal(pastTheEnd.status, 2);
        assert.match(pastTheEnd.output, /array index out of range/);
    });

    it("--previous plans a stack mid-rotation from `pulumi stack output --json`; without it, says it plans a stack never deployed", async () => {
        const phase1 = ["netcup", "--set", "mtls.enabled=true", "--set", "identity.trustAnchor.rotationPhase=1"];
        const fresh = await plan(phase1);
        assert.equal(fresh.status, 1);
        assert.match(fresh.output, /no deployed trust anchor to rotate from/);
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-")), "outputs.json");
        fs.writeFileSync(file, JSON.stringify({ trustAnchorRotation: { generation: 1, phase: 0, since: "2026-01-01T00:00:00Z" }, mtlsEnabled: true }));
        const mid = await plan([...phase1, "--previous", file]);
        assert.equal(mid.status, 0, mid.output);
        assert.match(mid.output, /Planned after the deployment whose outputs --previous gave/);
        assert.match(mid.output, /akko-trust-anchor-g2-cert/, "the new anchor of phase 1");
        assert.match((await plan(["netcup"])).output, /Planned as a stack never deployed: .*--previous <\(pulumi stack output --json -s netcup\)/);
        assert.equal((await plan(["netcup", "--previous", "/nonexistent.json"])).status, 2);
    });

    it("applies the policy pack: every stack passes it", async () => {
        for (const stack of STACKS) assert.match((await plan([stack, "--set", "mtls.enabled=true"])).output, /Policy pack: every policy passes\./);
    });

    it("--format mermaid draws the dependency graph; the README shows the netcup one, current", async () => {
        const { status, output } = await plan(["netcup", "--format", "mermaid", "--set", "mtls.enabled=true"]);
        assert.equal(status, 0);
        assert.match(output, /^flowchart TD\n/);
        assert.match(output, /akko_linkerd --> akko_viz/);
        assert.match(output, /akko_cert_manager --> akko_identity_issuer/);
        assert.match(output, /akko_mesh_akko --> akko_maintenance/);
        const readme = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
        const block = /```mermaid\n([\s\S]*?)\n```/.exec(readme);
        assert.ok(block, "README has a mermaid block");
        assert.equal(block[1], output, "README's diagram is `npm run plan -- netcup --format mermaid --set mtls.enabled=true`");
    });
});
