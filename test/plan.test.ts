/** `npm run plan`: the program under the same mock runtime as the tests, no credentials. */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT, PROJECT_ROOT, readStack, runProgram } from "../tools/mockRuntime";
import { plan, SAMPLE_PREVIOUS } from "../tools/cli/plan";
import { resourceCount, TAGS } from "../tools/planReport";
import { STACKS } from "./helpers";

/** A directory holding one stack file with the given text (for stack files the repository must not hold). */
function stackDir(stack: string, text: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-stack-"));
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
    return dir;
}

/** Plans of the project's stacks, shared between tests (the plan is deterministic for its arguments). */
const plans = new Map<string, ReturnType<typeof plan>>();
function planned(args: string[]): ReturnType<typeof plan> {
    const key = JSON.stringify(args);
    if (!plans.has(key)) plans.set(key, plan(args));
    return plans.get(key)!;
}

const SECURE_STACK = path.join(PROJECT_ROOT, "test", "fixtures", "secure-stack");

describe("npm run plan", () => {
    it("plans every stack as configured (what a fork's pull request runs)", async () => {
        for (const stack of STACKS) {
            const result = await plan([stack]);
            assert.equal(result.status, 0, result.output);
            assert.match(result.output, new RegExp(`Plan for stack ${stack}`));
        }
    });

    it("plans a fleet: the trust stack first, its outputs answering the members' StackReference, the fleet shown member by member", async () => {
        const fleet = await plan([
            "trust",
            "netcup",
            "eks",
            "--set",
            "identity.trustAnchor.fleetStack=trust",
            "--set",
            "mtls.enabled=true",
        ]);
        assert.equal(fleet.status, 0, fleet.output);
        const [trust, netcup, eks] = fleet.output.split(/\n={100}\n/);
        assert.match(trust, /^Plan for stack trust \(target trust\)/);
        assert.match(
            trust,
            /The fleet, member by member:\n {2}rotation: generation 1, steady\n {2}anchor g1: in the bundle/,
        );
        assert.match(
            trust,
            /member netcup: never deployed as a member\n {2}member eks: never deployed as a member\n {2}member gke: never deployed as a member/,
        );
        assert.match(trust, /PrivateKey fleet-trust-anchor-g1-key \[protected\]/);
        assert.doesNotMatch(trust, /Kubernetes|Chart /);
        for (const member of [netcup, eks]) {
            assert.match(member, /A member of the fleet of trust/);
            assert.doesNotMatch(member, /TrustAnchor|trust-anchor/, "no anchor of its own");
            assert.match(
                member,
                /Issuer akko-identity-issuer-intermediate-fleet-g1 → linkerd\/linkerd-intermediate-fleet-g1/,
            );
            assert.match(member, /Policy pack: every policy passes\./);
        }
        assert.doesNotMatch(fleet.output, /PRIVATE KEY|BEGIN CERTIFICATE/, "no key or certificate material");
        const alone = await plan(["netcup", "--set", "identity.trustAnchor.fleetStack=trust"]);
        assert.equal(alone.status, 2);
        assert.match(alone.output, /plan them together, npm run plan -- trust netcup/);
        assert.equal((await plan(["trust"])).status, 0, "the trust stack alone");
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
            /Chart akko-linkerd-control-plane → chart linkerd-control-plane in linkerd \[webhooks awaited\]\n[│ ]+waits for: .*akko-identity-issuer-certificate.*akko-linkerd-crds.*akko-linkerd-trust-roots/,
        );
        assert.match(output, /SelfSignedCert akko-trust-anchor-g1-cert \[protected\]/);
        assert.match(output, /Chart akko-linkerd-crds → chart linkerd-crds in linkerd \[retained, re-adopted\]/);
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
        for (const option of ["--set", "--previous", "--format", "--help"])
            assert.ok(help.output.includes(option), option);
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
        fs.writeFileSync(
            file,
            JSON.stringify({
                trustAnchorRotation: { generation: 1, phase: 0, since: "2026-01-01T00:00:00Z" },
                mtlsEnabled: true,
            }),
        );
        const mid = await plan([...phase1, "--previous", file]);
        assert.equal(mid.status, 0, mid.output);
        assert.match(mid.output, /Planned after the deployment whose outputs --previous gave/);
        assert.match(mid.output, /akko-trust-anchor-g2-cert/, "the new anchor of phase 1");
        assert.match(
            (await plan(["netcup"])).output,
            /Planned as a stack never deployed: .*--previous previous\.json \(pulumi stack output --json --stack netcup > previous\.json\)/,
            "no bash process substitution",
        );
        assert.equal((await plan(["netcup", "--previous", "/nonexistent.json"])).status, 2);
    });

    it("applies the policy pack: every stack passes it", async () => {
        for (const stack of STACKS)
            assert.match(
                (await planned([stack, "--set", "mtls.enabled=true"])).output,
                /Policy pack: every policy passes\./,
            );
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
        assert.equal(
            block[1],
            output,
            "README's diagram is `npm run plan -- netcup --format mermaid --set mtls.enabled=true`",
        );
    });

    it("--help shows a sample --previous file, which the plan accepts, and how to get one without process substitution", async () => {
        const help = (await plan(["--help"])).output;
        assert.match(help, /pulumi stack output --json --stack netcup > previous\.json/);
        assert.match(help, /pulumi stack output --json --stack netcup \| npm run plan -- netcup --previous -/);
        assert.doesNotMatch(help, /<\(/, "no bash process substitution");
        const sample = /e\.g\.:\n(\s+\{[\s\S]*?\n\s+\})\n/.exec(help);
        assert.ok(sample, "a sample file in the help");
        assert.deepEqual(JSON.parse(sample[1]), SAMPLE_PREVIOUS);
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-")), "previous.json");
        fs.writeFileSync(file, sample[1]);
        const result = await plan(["netcup", "--set", "mtls.enabled=true", "--previous", file]);
        assert.equal(result.status, 0, result.output);
    });

    it("--previous: a record the program did not write is refused, naming the output, never planned as if absent", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
        const refused = async (outputs: unknown, problem: RegExp) => {
            const file = path.join(dir, "previous.json");
            fs.writeFileSync(file, JSON.stringify(outputs));
            const result = await plan(["netcup", "--previous", file]);
            assert.equal(result.status, 2, result.output);
            assert.match(result.output, problem);
        };
        await refused(
            { trustAnchorRotation: "garbage" },
            /trustAnchorRotation: expected \{generation, phase 0-3, since \(a date\)\} \(got "garbage"\)/,
        );
        await refused(
            { trustAnchorRotation: { generation: 1, phase: 7, since: "x" } },
            /trustAnchorRotation: expected/,
        );
        await refused({ mtlsEnabled: true, meshState: "on" }, /meshState: expected an object/);
        await refused(
            { mtlsEnabled: true, meshState: { phase: "half", namespaces: [], mode: "strict" } },
            /meshState: phase: expected on, draining-policy/,
        );
        await refused({ mtlsEnabled: "yes" }, /mtlsEnabled: expected true or false/);
        await refused({ somethingElse: 1 }, /none of this project's outputs/);
    });

    it("--set refuses a key that Pulumi would store in another namespace (a colon for a dot), with the key meant", async () => {
        const colon = await plan(["netcup", "--set", "mtls:enabled=true"]);
        assert.equal(colon.status, 2, colon.output);
        assert.match(colon.output, /key "enabled" of a namespace "mtls", which nothing reads/);
        assert.match(
            colon.output,
            /Meant: --set 'mtls\.enabled=true' \(pulumi config set --path 'mtls\.enabled' true\)/,
        );
        assert.equal((await plan(["netcup", "--set", "identity:trustAnchor.rotationPhase=1"])).status, 2);
        assert.equal(
            (await plan(["netcup", "--set", "akko-mtls:mtls.enabled=true"])).status,
            0,
            "the project's own namespace, spelled out",
        );
        assert.equal(
            (await plan(["netcup", "--set", "kubernetes:enableServerSideApply=true"])).status,
            0,
            "another namespace altogether",
        );
        // The same mistake in a stack file (`pulumi config set mtls:enabled true`).
        const dir = stackDir(
            "netcup",
            `${fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.netcup.yaml"), "utf8")}  mtls:enabled: "true"\n`,
        );
        const inFile = await plan(["netcup"], { root: dir });
        assert.equal(inFile.status, 1, inFile.output);
        assert.match(
            inFile.output,
            /Pulumi\.netcup\.yaml: mtls:enabled is key "enabled" of a namespace "mtls".*pulumi config rm mtls:enabled && pulumi config set --path 'mtls\.enabled' <value>/,
        );
    });

    it("a list given as one text: one command per item, never the whole text as item 0", async () => {
        for (const text of ["[akko,spark]", "akko,spark", '["akko","spark"]']) {
            const result = await plan(["netcup", "--set", `mtls.namespaces=${text}`]);
            assert.equal(result.status, 1, result.output);
            assert.ok(
                result.output.includes(
                    "pulumi config set --path 'mtls.namespaces[0]' akko && pulumi config set --path 'mtls.namespaces[1]' spark",
                ),
                `${text}: ${result.output}`,
            );
        }
        const ports = await plan(["netcup", "--set", "mtls.namespaceOptions.akko.opaquePorts=5432,3306"]);
        assert.ok(
            ports.output.includes(
                "'mtls.namespaceOptions.akko.opaquePorts[0]' 5432 && pulumi config set --path 'mtls.namespaceOptions.akko.opaquePorts[1]' 3306",
            ),
            ports.output,
        );
    });

    it("an index past a preset's list: preset lists are replaced whole, and the commands that do it work", async () => {
        const result = await plan(["netcup", "--set", "mtls.namespaces[1]=spark"]);
        assert.equal(result.status, 2);
        assert.match(
            result.output,
            /the preset's list \["akko"\] applies; a list in the stack file replaces the preset's whole, starting at \[0\]/,
        );
        const suggested = /: (--set '[^']+'(?: --set '[^']+')*)/.exec(result.output);
        assert.ok(suggested, result.output);
        const args = [...suggested[1].matchAll(/--set '([^']+)'/g)].flatMap((m) => ["--set", m[1]]);
        assert.deepEqual(args, ["--set", "mtls.namespaces[0]=akko", "--set", "mtls.namespaces[1]=spark"]);
        const followed = await plan(["netcup", "--set", "mtls.enabled=true", ...args]);
        assert.equal(followed.status, 0, followed.output);
        assert.match(followed.output, /akko-mtls:mtls\.namespaces = \["akko","spark"\]/);
    });

    it("shows what differs between targets (HA, replicas, webhook failure policy, iptables or CNI, resources) as each stack has it", async () => {
        const section = (output: string) =>
            /Settings that differ between targets[^\n]*\n((?: {2}.*\n)+)/.exec(output)![1];
        const netcup = section((await planned(["netcup", "--set", "mtls.enabled=true"])).output);
        const eks = section((await planned(["eks", "--set", "mtls.enabled=true"])).output);
        const gke = section((await planned(["gke", "--set", "mtls.enabled=true"])).output);
        for (const [text, values] of [
            [
                netcup,
                [
                    "linkerd.highAvailability = false",
                    "linkerd.controllerReplicas = 1",
                    "linkerd.webhookFailurePolicy = Ignore",
                    "linkerd.proxyInit.iptablesMode = nft",
                ],
            ],
            [
                eks,
                [
                    "linkerd.highAvailability = true",
                    "linkerd.controllerReplicas = 3",
                    "linkerd.webhookFailurePolicy = Fail",
                    "identity.issuer.mode = certManager",
                ],
            ],
            [gke, ["linkerd.proxyInit.iptablesMode = legacy"]],
        ] as const) {
            for (const value of values) assert.ok(text.includes(`  ${value}\n`), `${value} in\n${text}`);
        }
        assert.match(netcup, /linkerd\.cni\.enabled = false/);
        assert.match(netcup, /linkerd\.proxy\.resources: requests 10m\/16Mi, limits 1\/128Mi/);
        assert.match(eks, /linkerd\.proxy\.resources: requests 100m\/20Mi, limits —\/250Mi/);
        const cni = section(
            (await plan(["netcup", "--set", "mtls.enabled=true", "--set", "linkerd.cni.enabled=true"])).output,
        );
        assert.match(cni, /linkerd\.cni\.enabled = true\n/);
        assert.doesNotMatch(cni, /iptablesMode/, "the CNI plugin replaces proxy-init's iptables");
        assert.match(cni, /linkerd\.cni\.binDir = \/var\/lib\/rancher\/k3s\/data\/cni/);
        const k3d = section((await planned(["k3d", "--set", "mtls.enabled=true"])).output);
        assert.doesNotMatch(k3d, /certManager\./, "k3d's static issuer installs no cert-manager");
    });

    it("names each Kubernetes object as the cluster will know it, next to its Pulumi name", async () => {
        const { output } = await planned(["netcup", "--set", "mtls.enabled=true"]);
        assert.match(output, /Namespace akko-linkerd-namespace → linkerd\n/);
        assert.match(output, /CronJob akko-maintenance-cronjob → linkerd-maintenance\/linkerd-rotation-check\n/);
        assert.match(
            output,
            /Chart akko-linkerd-control-plane → chart linkerd-control-plane in linkerd \[webhooks awaited\]/,
        );
        assert.match(output, /Namespace akko-mesh-akko-namespace → akko \[read\]/);
    });

    it("--help explains every bracket tag the resource tree shows", async () => {
        const help = (await plan(["--help"])).output;
        const shown = new Set<string>();
        for (const stack of STACKS) {
            const { output } = await planned([stack, "--set", "mtls.enabled=true"]);
            for (const [, tags] of output.matchAll(/^[ │├└─]+\S+ \S+(?: → [^[\n]+)? \[([^\]]+)\]$/gm)) shown.add(tags);
        }
        assert.ok(shown.size >= 3, [...shown].join("; "));
        const known = TAGS.map((t) => t.tag);
        for (const tags of shown) {
            // A line's tags are its flags joined with ", ", and one tag has a comma of its own.
            const rest = known.reduce((left, tag) => left.replace(tag, ""), tags).replace(/[ ,]/g, "");
            assert.equal(rest, "", `unexplained tag in [${tags}]`);
        }
        for (const { tag, meaning } of TAGS)
            assert.ok(help.includes(`[${tag}]`) && help.includes(meaning.split(" ").slice(0, 4).join(" ")), tag);
    });

    it("counts resources as docs/performance.md does, and says so", async () => {
        const text = fs.readFileSync(path.join(PROJECT_ROOT, "docs", "performance.md"), "utf8");
        for (const stack of ["netcup", "eks"]) {
            const { output } = await planned([stack, "--set", "mtls.enabled=true"]);
            const count = Number(/^Resources: (\d+), counted as docs\/performance\.md counts them/m.exec(output)?.[1]);
            const file = readStack(stack);
            const run = await runProgram({
                stack,
                config: { ...file.config, [`${PROJECT}:mtls`]: JSON.stringify({ enabled: true }) },
            });
            assert.equal(count, resourceCount(run).total);
            assert.equal(count, run.resources.length, "what npm run bench counts");
        }
        assert.match(text, /`npm run plan` prints the same count/);
    });
});

describe("npm run plan on a stack file with encrypted values", () => {
    it("plans it without the passphrase: a stand-in the config accepts, shown as [secret], never the ciphertext", async () => {
        const result = await plan(["netcup"], { root: SECURE_STACK });
        assert.equal(result.status, 0, result.output);
        assert.match(result.output, /Encrypted values \(3\) are planned with a stand-in and shown as \[secret\]/);
        assert.match(result.output, /akko-mtls:viz\.prometheus\.alertmanagers = \["\[secret\]"\]/);
        assert.match(result.output, /akko-mtls:observability\.runbookUrl = "\[secret\]"/);
        assert.match(result.output, /auth-url"\] = "\[secret\]"/);
        assert.doesNotMatch(result.output, /v1:|secret\.invalid|s3cr3t/);
        assert.match(result.output, /Policy pack: every policy passes/);
    });

    it("marks the keys holding them secret for the program, as the CLI does (pulumi config map.go SecureKeys), so their values stay secret", async () => {
        const file = readStack("netcup", SECURE_STACK);
        assert.deepEqual(file.secretKeys, ["akko-mtls:observability", "akko-mtls:viz"]);
        assert.deepEqual(
            file.secrets.map((s) => [s.key, s.path.join("."), s.standIn]),
            [
                ["akko-mtls:viz", "prometheus.alertmanagers.0", "https://secret.invalid/"],
                // ingress-nginx's forward-auth gate is a URL (config/schema/viz.ts): the first stand-in that is one.
                [
                    "akko-mtls:viz",
                    "dashboard.ingress.authAnnotations.nginx.ingress.kubernetes.io/auth-url",
                    "https://secret.invalid/",
                ],
                ["akko-mtls:observability", "runbookUrl", "https://secret.invalid/"],
            ],
        );
        const run = await runProgram({ stack: "netcup", config: file.config, secretKeys: file.secretKeys });
        assert.equal(run.error, undefined);
        const ingress = run.resources.find((r) => r.type === "kubernetes:networking.k8s.io/v1:Ingress");
        assert.ok(ingress, "the dashboard's Ingress");
        assert.ok(
            ingress.secretPaths.some((p) => p.startsWith("metadata.annotations")),
            `the auth annotation is a secret input: ${ingress.secretPaths.join(", ")}`,
        );
        // Wherever a value reaches an input as given, that input is secret (config/secrets.ts).
        const carrying = run.resources.filter((r) => JSON.stringify(r.inputs).includes("https://secret.invalid/"));
        assert.ok(carrying.length > 0);
        for (const resource of carrying)
            assert.ok(resource.secretPaths.length > 0, `${resource.name}: the secret value's input is secret`);
    });

    it("a key encrypted whole cannot be planned: refused, with how to encrypt only its secret values", async () => {
        const dir = stackDir(
            "netcup",
            "config:\n  akko-mtls:target: k3s\n  akko-mtls:viz:\n    secure: v1:AAAAAAAAAAAAAAAA:AAAA\n",
        );
        const result = await plan(["netcup"], { root: dir });
        assert.equal(result.status, 1, result.output);
        assert.match(
            result.output,
            /akko-mtls:viz is encrypted as a whole.*pulumi config set --secret --path viz\.<key> <value>/,
        );
    });

    it("a secret where the config wants a boolean is refused as pulumi up would (it decrypts to text), without its value", async () => {
        const dir = stackDir(
            "netcup",
            "config:\n  akko-mtls:target: k3s\n  akko-mtls:mtls:\n    enabled:\n      secure: v1:AAAAAAAAAAAAAAAA:AAAA\n",
        );
        const result = await plan(["netcup"], { root: dir });
        assert.equal(result.status, 1, result.output);
        assert.match(result.output, /akko-mtls:mtls\.enabled: expected boolean: a secret stored as text/);
        assert.doesNotMatch(result.output, /v1:/);
    });
});
