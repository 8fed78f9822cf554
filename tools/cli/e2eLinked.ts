/**
 * `npm run e2e -- --linked`: two k3d clusters linked flat, one trust anchor for both, rotated
 * through every phase while traffic flows (tools/e2eLinked.ts holds every decision; unit-tested).
 *
 *   1. creates k3d clusters akko-e2e-a and akko-e2e-b on one docker network, distinct pod CIDRs,
 *      routes between them (flat mode);
 *   2. deploys the fleet: the trust stack (one anchor, issue 21), e2e-b granting e2e-a, e2e-a
 *      linking to e2e-b; the e2e workloads in both, pong of b exported for remote discovery, a
 *      loader in a calling pong (in-cluster) and pong-e2e-b (across the link) without pause;
 *   3. proves the cross-cluster call is mTLS with the caller's own identity (pong's proxy in b) and
 *      that b serves, and its proxies trust, the anchor a's identities chain to (cluster/remoteTrust.mjs
 *      through the link's credentials);
 *   4. rotates the shared anchor: phase 1, 2, 3, finish, each applied to the trust stack then to
 *      every member, phases 1 and 2 lasting the floor derived from the 2 min issuance lifetime;
 *   5. counts the loader's calls during the rotation: zero failed, no silence; cleans up.
 * Exit 0 passed, 1 failed, 3 skipped (no pulumi, linkerd, k3d or docker).
 */
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { E2E_EXIT, E2E_NAMESPACE, workloadManifests } from "../e2e";
import {
    contextOf,
    crossClusterVerdict,
    describeSchedule,
    flatRoutes,
    k3dCreateArgs,
    LINKED,
    loaderManifest,
    memberStackFile,
    rotationSchedule,
    serverContainer,
    trafficVerdict,
    waitBefore,
} from "../e2eLinked";
import { importEsm } from "../importEsm.cjs";
import { PROJECT_ROOT } from "../mockRuntime";
import { copyProgram, Failure, shell } from "../e2eShell";

const deadline = Date.now() + Number(process.env.AKKO_E2E_TIMEOUT_MINUTES ?? 60) * 60_000;
const log = (line: string) => console.log(`[e2e-linked ${new Date().toISOString().slice(11, 19)}] ${line}`);
const { run, must, until } = shell(deadline, 600_000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What is missing to run, or undefined. */
function missing(): string | undefined {
    for (const [command, args] of [
        ["pulumi", ["version"]],
        ["linkerd", ["version", "--client", "--short"]],
        ["k3d", ["version"]],
        ["docker", ["version"]],
    ] as const) {
        if (run(command, [...args]).status !== 0) return `${command} is not available`;
    }
    return undefined;
}

const nodeIp = (cluster: typeof LINKED.source | typeof LINKED.target) =>
    must("docker", [
        "inspect",
        "-f",
        `{{(index .NetworkSettings.Networks "${LINKED.network}").IPAddress}}`,
        serverContainer(cluster),
    ]).trim();

/** The workspace: the program beside its node_modules, the fleet's stack files. */
function workspace(dir: string, targetNodeIp: string): void {
    copyProgram(dir);
    const k3d = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.k3d.yaml"), "utf8");
    for (const member of ["source", "target"] as const) {
        fs.writeFileSync(
            path.join(dir, `Pulumi.${LINKED[member].stack}.yaml`),
            memberStackFile({ k3dStackFile: k3d, member, targetNodeIp }),
        );
    }
}

async function up(stack: Stack, step: string): Promise<Record<string, unknown>> {
    log(`pulumi up ${stack.name}: ${step}`);
    const result = await stack.up({ color: "never", onOutput: (out) => process.stdout.write(out) });
    return Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value]));
}

/** The fleet in order: the trust stack, the target (it grants), the source (it reads the target). */
async function upFleet(stacks: Stack[], step: string): Promise<Record<string, unknown>> {
    let last: Record<string, unknown> = {};
    for (const stack of stacks) last = await up(stack, step);
    for (const cluster of [LINKED.target, LINKED.source])
        must("kubectl", [
            "--context",
            contextOf(cluster),
            "-n",
            E2E_NAMESPACE,
            "rollout",
            "status",
            "deploy",
            "--timeout=300s",
        ]);
    return last;
}

async function proveCrossCluster(dir: string): Promise<void> {
    const client = `ping.${E2E_NAMESPACE}.serviceaccount.identity.linkerd.cluster.local`;
    const verdict = await until("a cross-cluster call over mTLS with the caller's identity", 300, () => {
        const metrics = run("linkerd", [
            "--context",
            contextOf(LINKED.target),
            "diagnostics",
            "proxy-metrics",
            "-n",
            E2E_NAMESPACE,
            "deploy/pong",
        ]).stdout;
        const v = crossClusterVerdict(metrics, client);
        return v.ok ? v : undefined;
    });
    verdict.details.forEach((d) => log(`cross-cluster ${d}`));
    // What b serves and its proxies trust, read through the link's own credentials.
    const remoteTrust = await importEsm(path.join(PROJECT_ROOT, "cluster", "remoteTrust.mjs"));
    const kubeconfig = path.join(dir, "link-b.kubeconfig");
    const secret = JSON.parse(
        must("kubectl", [
            "--context",
            contextOf(LINKED.source),
            "-n",
            "linkerd-multicluster",
            "get",
            "secret",
            `cluster-credentials-${LINKED.target.stack}`,
            "-o",
            "json",
        ]),
    );
    fs.writeFileSync(kubeconfig, Buffer.from(secret.data.kubeconfig, "base64"), { mode: 0o600 });
    const bundle = JSON.parse(
        must("kubectl", [
            "--context",
            contextOf(LINKED.source),
            "-n",
            "linkerd",
            "get",
            "configmap",
            "linkerd-identity-trust-roots",
            "-o",
            "json",
        ]),
    ).data["ca-bundle.crt"];
    const signing = JSON.parse(
        must("pulumi", ["stack", "output", "--json", "--stack", LINKED.source.stack, "--cwd", dir]),
    ).trustAnchorFingerprintSha256;
    const [trust] = remoteTrust.checkLinks({
        links: [
            {
                target: LINKED.target.stack,
                kubeconfigPath: kubeconfig,
                namespaces: [E2E_NAMESPACE, "linkerd-multicluster"],
            },
        ],
        local: { bundlePem: bundle, signingSha256: signing },
    });
    trust.notes.forEach((n: string) => log(`note: ${n}`));
    if (trust.problems.length > 0) throw new Failure(trust.problems.join("; "));
    log(`b serves, and its ${trust.meshedPods} meshed pods trust, the anchor a's identities chain to`);
}

export async function linkedMain(): Promise<number> {
    const absent = missing();
    if (absent) {
        console.error(`e2e --linked: skipped: ${absent}`);
        return E2E_EXIT.skipped;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "akko-mtls-e2e-linked-"));
    const env = { PULUMI_BACKEND_URL: `file://${path.join(dir, ".state")}`, PULUMI_CONFIG_PASSPHRASE: "akko-mtls-e2e" };
    fs.mkdirSync(path.join(dir, ".state"));
    try {
        for (const cluster of [LINKED.source, LINKED.target]) must("k3d", k3dCreateArgs(cluster));
        const ips = { source: nodeIp(LINKED.source), target: nodeIp(LINKED.target) };
        for (const [command, args] of flatRoutes(ips)) must(command, args);
        workspace(dir, ips.target);
        for (const cluster of [LINKED.source, LINKED.target])
            must("kubectl", ["--context", contextOf(cluster), "apply", "-f", "-"], workloadManifests());
        must("kubectl", [
            "--context",
            contextOf(LINKED.target),
            "-n",
            E2E_NAMESPACE,
            "label",
            "svc",
            "pong",
            "mirror.linkerd.io/exported=remote-discovery",
        ]);

        const stacks = await Promise.all(
            [LINKED.trustStack, LINKED.target.stack, LINKED.source.stack].map((stackName) =>
                LocalWorkspace.createOrSelectStack({ stackName, workDir: dir }, { envVars: env }),
            ),
        );
        await stacks[0].setConfig("target", { value: "trust" });
        // The trust stack's members (issue 21's trust stack: `fleet.clusters`), set by path.
        await stacks[0].setAllConfig(
            {
                "fleet.clusters[0]": { value: LINKED.source.stack },
                "fleet.clusters[1]": { value: LINKED.target.stack },
            },
            true,
        );
        let outputs = await upFleet(stacks, "the fleet, linked");
        must("kubectl", ["--context", contextOf(LINKED.source), "apply", "-f", "-"], loaderManifest());
        await until(`the mirror of b's pong in a`, 300, () =>
            run("kubectl", [
                "--context",
                contextOf(LINKED.source),
                "-n",
                E2E_NAMESPACE,
                "get",
                "svc",
                `pong-${LINKED.target.stack}`,
            ]).status === 0
                ? true
                : undefined,
        );
        await proveCrossCluster(dir);

        const steps = rotationSchedule();
        log(`rotation: ${describeSchedule(steps)}`);
        const from = Math.floor(Date.now() / 1000);
        for (const step of steps) {
            const since =
                (outputs.trustAnchorRotation as { since: string } | undefined)?.since ?? new Date().toISOString();
            const wait = waitBefore(step, since, new Date());
            if (wait > 0) log(`waiting ${Math.ceil(wait / 1000)} s: the phase floor`);
            await sleep(wait + 5000);
            await stacks[0].setAllConfig(
                {
                    "identity.trustAnchor.generation": { value: String(step.generation) },
                    "identity.trustAnchor.rotationPhase": { value: String(step.rotationPhase) },
                },
                true,
            );
            outputs = await upFleet(stacks, `g${step.generation} phase ${step.rotationPhase} (${step.title})`);
        }
        // Let the last restarts settle under traffic before counting.
        await sleep(60_000);
        const to = Math.floor(Date.now() / 1000);
        const loadLog = must("docker", [
            "exec",
            serverContainer(LINKED.source),
            "sh",
            "-c",
            `cat ${LINKED.loadLogDir}/*`,
        ]);
        const verdict = trafficVerdict({ log: loadLog, from, to });
        verdict.details.forEach((d) => log(`traffic ${d}`));
        if (!verdict.ok) throw new Failure(verdict.problems.join("; "));
        await proveCrossCluster(dir);
        log(
            "PASSED: the shared anchor rotated through every phase with zero failed calls, in-cluster and across the link",
        );
        return E2E_EXIT.passed;
    } catch (error) {
        console.error(`e2e --linked: FAILED: ${error instanceof Failure ? error.message : (error as Error).stack}`);
        return E2E_EXIT.failed;
    } finally {
        log("cleaning up: the two throwaway clusters and the workspace");
        for (const cluster of [LINKED.source, LINKED.target]) run("k3d", ["cluster", "delete", cluster.cluster]);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
