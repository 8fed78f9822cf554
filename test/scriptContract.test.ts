/**
 * The one contract between the maintenance Jobs and cluster/mesh-check.mjs (cluster/contract.json),
 * held from both sides: every Job and CronJob the program registers, in every scenario of the plan
 * snapshot and rotation phase 2, hands the script exactly the variables its tasks read, each readable;
 * and the script, given a Job's environment without one of them or with one it cannot read, exits 2
 * naming it before it asks anything of the cluster (no default stands in for it).
 */
import { strict as assert } from "node:assert";
import * as contract from "../cluster/contract.cjs";
import { anchor, issuer, runScript, SCRIPT_ENV } from "./fakeCluster";
import { ofType, type ProgramRun } from "../tools/mockRuntime";
import { runScenario, SCENARIOS, type Scenario } from "../tools/planSnapshot";
import { CONTAINER_ENV } from "../lib/maintenancePlan";
import { runStackOk } from "./helpers";

/** A target granting netcup remote access (test/multicluster.test.ts). */
const LINKED_TARGET = {
    "mtls.enabled": true,
    "identity.trustAnchor.fleetStack": "trust",
    "multicluster.enabled": true,
    "multicluster.apiServerAddress": "https://eks.example.internal:443",
    "multicluster.gatewayAddresses": ["203.0.113.7"],
    "multicluster.remoteAccess": ["netcup"],
};

/** The scenarios that register maintenance Jobs, and the one that runs reload-identity (rotation phase 2). */
const SCENARIOS_WITH_JOBS: Scenario[] = [
    ...SCENARIOS.filter((s) => !s.name.endsWith(" off")),
    {
        name: "k3d rotation phase 2",
        stack: "k3d",
        overrides: { "mtls.enabled": true, "identity.trustAnchor.rotationPhase": 2 },
        previousOutputs: { trustAnchorRotation: { generation: 1, phase: 1, since: "2026-01-01T00:00:00Z" } },
    },
];

interface RegisteredJob {
    name: string;
    env: Record<string, string>;
}

describe("the Jobs <-> script contract (cluster/contract.json)", function () {
    this.timeout(300_000);

    describe("the program's side: every Job it registers", () => {
        let jobs: RegisteredJob[];
        /** The mesh's own NetworkPolicies in meshed namespaces, which the network preflight must tell from the namespace's own. */
        let meshPolicies: { name: string; labels: Record<string, string> }[];
        before(async () => {
            jobs = [];
            meshPolicies = [];
            // One program at a time: the mock runtime is the process's. A fleet member reads its trust stack's earlier run.
            const runs = new Map<string, ProgramRun>();
            const scenarioRuns: [string, () => Promise<ProgramRun>][] = SCENARIOS_WITH_JOBS.map((scenario) => [
                scenario.name,
                () => runScenario(scenario, runs),
            ]);
            // A stack linking to another (the rollout's remote-trust task): eks grants netcup, netcup links to it.
            scenarioRuns.push([
                "netcup linked to eks",
                async () => {
                    // Members of one fleet: its trust stack (netcup, eks, gke) first.
                    const trust = (await runStackOk("trust", {}, { stacks: { netcup: {}, eks: {}, gke: {} } })).outputs;
                    const eks = await runStackOk("eks", LINKED_TARGET, { stacks: { trust } });
                    return runStackOk(
                        "netcup",
                        {
                            "mtls.enabled": true,
                            "identity.trustAnchor.fleetStack": "trust",
                            "multicluster.enabled": true,
                            "multicluster.links": ["eks"],
                        },
                        { stacks: { trust, eks: eks.outputs } },
                    );
                },
            ]);
            for (const [scenarioName, runIt] of scenarioRuns) {
                const run = await runIt();
                const scenario = { name: scenarioName };
                runs.set(scenario.name, run);
                if (run.error) throw run.error;
                for (const policy of ofType(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy")) {
                    if (policy.parent?.includes("akko:mtls:MeshedNamespace")) meshPolicies.push(policy.inputs.metadata);
                }
                const templates = [
                    ...ofType(run, "kubernetes:batch/v1:CronJob").map(
                        (c) => [c.name, c.inputs.spec.jobTemplate.spec.template.spec] as const,
                    ),
                    ...ofType(run, "kubernetes:batch/v1:Job").map(
                        (j) => [j.name, j.inputs.spec.template.spec] as const,
                    ),
                ];
                for (const [name, spec] of templates) {
                    const script = spec.containers.find((c: any) =>
                        (c.command ?? []).includes("/scripts/mesh-check.mjs"),
                    );
                    if (!script) continue;
                    const env = Object.fromEntries(
                        script.env.map((e: { name: string; value: string }) => [e.name, e.value]),
                    );
                    jobs.push({ name: `${scenario.name}: ${name}`, env });
                }
            }
        });

        it("covers every task of the contract (the checks below are not vacuous)", () => {
            const tasks = new Set(jobs.flatMap((job) => job.env.TASKS.split(",")));
            assert.deepEqual([...tasks].sort(), [...contract.TASK_NAMES].sort());
        });

        it("each gets exactly the variables its tasks read, no more, no fewer, beside the container's own (PATH, HOME)", () => {
            for (const job of jobs) {
                const tasks = job.env.TASKS.split(",");
                const given = Object.keys(job.env).filter((name) => !(name in CONTAINER_ENV));
                assert.deepEqual(given.sort(), contract.variablesFor(tasks).sort(), job.name);
                for (const [name, value] of Object.entries(CONTAINER_ENV))
                    assert.equal(job.env[name], value, `${job.name}: ${name}`);
            }
        });

        it("the mesh's own NetworkPolicies are the ones the script recognizes as the mesh's (name and part-of label)", () => {
            assert.ok(meshPolicies.length > 0, "a scenario makes the mesh's NetworkPolicies");
            for (const policy of meshPolicies) {
                assert.ok(
                    policy.name === contract.meshPolicies.name ||
                        policy.name.startsWith(contract.meshPolicies.mirrorPrefix),
                    policy.name,
                );
                assert.equal(policy.labels[contract.partOf.key], contract.partOf.value, policy.name);
            }
        });

        it("each value is one the script reads (the contract's own reader accepts the Job's environment)", () => {
            for (const job of jobs) {
                const { tasks } = contract.read(job.env);
                assert.equal(tasks.join(","), job.env.TASKS, job.name);
            }
        });
    });

    describe("the script's side: nothing defaults", () => {
        /** A valid environment for a run of these tasks: the shared values and one for each task's own variable. */
        const environment = (tasks: string): Record<string, string | undefined> => ({
            ...SCRIPT_ENV,
            TASKS: tasks,
            SIGNING_ANCHOR_SHA256: "A".repeat(64),
            STRICT_NAMESPACES: "akko",
            NETWORK_POSTURE: "{}",
            MULTICLUSTER_NAMESPACE: "linkerd-multicluster",
            REMOTE_TRUST_LINKS: JSON.stringify([{ target: "eks", secret: "cluster-credentials-eks" }]),
            REMOTE_TRUST_NAMESPACES: "akko",
            POD_SECURITY: JSON.stringify({
                probe: { kind: "Pod" },
                namespaces: [{ namespace: "akko", key: "mtls.namespaces" }],
                cniEnabled: false,
            }),
        });
        /** A run that reads the variable: one of its tasks, after the certificate check when it restarts. */
        const tasksReading = (name: contract.VariableName): string => {
            const readers = contract.TASK_NAMES.filter((task) => contract.variablesFor([task]).includes(name));
            const task = readers[0];
            return contract.RESTARTING_TASKS.includes(task) ? `certificates,${task}` : task;
        };
        /** What each format refuses. */
        const MALFORMED: Record<string, string> = {
            tasks: "certificates,make-coffee",
            name: "--server=https://attacker.example",
            names: "akko,--all-namespaces",
            someNames: "",
            count: "0",
            whole: "-1",
            amount: "soon",
            sha256: "not-a-fingerprint",
            boolean: "yes",
            list: "{}",
            object: "[]",
            stringMap: '{"akko": 1}',
            annotationsByNamespace: '{"akko": "x"}',
            issuerSource: '{"kind": "secret", "name": "linkerd-identity-issuer"}',
            ingress: '{"namespace": "kube-system", "selector": "app=traefik", "inject": true}',
            podSecurity: '{"probe": {"kind": "Deployment"}, "namespaces": [], "cniEnabled": false}',
            remoteLinks: '[{"target": "eks", "secret": "--kubeconfig=/etc/passwd"}]',
        };

        it("a run given its full environment gets past the contract (the refusals below are the variable's)", async () => {
            const a = await anchor();
            const result = runScript({ issuer: await issuer(a), bundle: [a], env: environment("certificates") });
            assert.equal(result.status, 0, result.stderr);
        });

        for (const name of Object.keys(contract.variables) as contract.VariableName[]) {
            it(`${name}: missing, or in a form the script cannot read, exits 2 naming it, before any call to the cluster`, async () => {
                const a = await anchor();
                const tasks = tasksReading(name);
                const missing = runScript({
                    issuer: await issuer(a),
                    bundle: [a],
                    env: { ...environment(tasks), [name]: undefined },
                });
                assert.equal(missing.status, 2, `${name} missing: ${missing.stderr}`);
                assert.match(missing.stderr, new RegExp(`^mesh-check: ${name} is not set`), name);
                assert.deepEqual(missing.calls, [], name);
                const format = contract.variables[name].format;
                if (format === "optionalText") return; // any text is a value: an empty one says "none"
                const malformed = runScript({
                    issuer: await issuer(a),
                    bundle: [a],
                    env: { ...environment(tasks), [name]: MALFORMED[format] },
                });
                assert.equal(malformed.status, 2, `${name}=${MALFORMED[format]}: ${malformed.stderr}`);
                assert.match(malformed.stderr, new RegExp(`^mesh-check: ${name} `), name);
                assert.deepEqual(malformed.calls, [], name);
            });
        }
    });
});
