/**
 * End-to-end proof on a real cluster: `npm run e2e`.
 *
 * With the Pulumi Automation API and a local (file) backend in a temporary directory, on
 * the current kube context (a throwaway k3d cluster):
 *   1. deploys two workloads that call each other in namespace akko-e2e, unmeshed;
 *   2. deploys the k3d stack with mtls.enabled true (meshing akko-e2e); the rollout Job
 *      restarts the workloads with proxies;
 *   3. asserts from Linkerd's own data — `linkerd viz edges -o json` and the proxies'
 *      request_total{tls} — that every edge between them is mTLS, and so is the ingress hop
 *      (k3s' Traefik, meshed by the k3d preset's mtls.ingress, to pong); and that each protocol
 *      class AKKO sends (gRPC streaming, HTTP/1.1, HTTP/2, server-first on an opaque port,
 *      client-first TCP) still answers and reaches its server over mTLS (tcp_open_total{tls});
 *   4. sets mtls.enabled false and runs `pulumi up` until the drain is done, asserting the
 *      workloads serve at every step and that the mesh is gone at the end;
 *   5. cleans up (stack, state, workloads, the retained CRDs), whatever happened.
 * Bounded by AKKO_E2E_TIMEOUT_MINUTES (default 25). Exit 0 passed, 1 failed, 3 skipped:
 * no Pulumi CLI, no Linkerd CLI, no reachable k3d context (tools/e2e.ts).
 */
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    E2E_EXIT,
    E2E_INGRESS,
    E2E_INGRESS_URL,
    E2E_NAMESPACE,
    E2E_PORT,
    E2E_ALL_WORKLOADS,
    E2E_PROTOCOL_WORKLOADS,
    E2E_WORKLOADS,
    e2eStackFile,
    edgesVerdict,
    ingressEdgeVerdict,
    metricsVerdict,
    missingPrerequisite,
    protocolLogVerdict,
    protocolManifests,
    protocolMetricsVerdict,
    workloadManifests,
} from "../e2e";
import type { StackOutputValues } from "../../lib/stackOutputs";
import { PROJECT_ROOT } from "../mockRuntime";
import { copyProgram, Failure, shell } from "../e2eShell";
import { parseCli, runCli } from "./args";
import { linkedMain } from "./e2eLinked";

const STACK = "e2e";
const deadline = Date.now() + Number(process.env.AKKO_E2E_TIMEOUT_MINUTES ?? 25) * 60_000;
const log = (line: string) => console.log(`[e2e ${new Date().toISOString().slice(11, 19)}] ${line}`);
const { run, must, until } = shell(deadline, 300_000);

function writeStackFile(dir: string, context: string, enabled: boolean): void {
    const k3d = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.k3d.yaml"), "utf8");
    const file = path.join(dir, `Pulumi.${STACK}.yaml`);
    const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    fs.writeFileSync(file, e2eStackFile(k3d, context, enabled, current));
}

async function up(stack: Stack, step: string): Promise<StackOutputValues> {
    log(`pulumi up: ${step}`);
    const result = await stack.up({ color: "never", onOutput: (out) => process.stdout.write(out) });
    const outputs: StackOutputValues = Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, v.value]));
    log(`pulumi up done: ${result.summary.result}, meshState ${JSON.stringify(outputs.meshState)}`);
    return outputs;
}

/** Each workload can still reach the other. */
function assertServing(context: string, when: string): void {
    for (const [from, to] of [E2E_WORKLOADS, [...E2E_WORKLOADS].reverse()]) {
        const page = must("kubectl", [
            "--context",
            context,
            "-n",
            E2E_NAMESPACE,
            "exec",
            `deploy/${from}`,
            "-c",
            from,
            "--",
            "wget",
            "-q",
            "-T",
            "5",
            "-O",
            "-",
            `http://${to}:${E2E_PORT}/`,
        ]);
        if (page.trim() !== to) throw new Failure(`${when}: ${from} -> ${to} answered ${JSON.stringify(page.trim())}`);
    }
    const [from] = E2E_WORKLOADS;
    const page = must("kubectl", [
        "--context",
        context,
        "-n",
        E2E_NAMESPACE,
        "exec",
        `deploy/${from}`,
        "-c",
        from,
        "--",
        "wget",
        "-q",
        "-T",
        "5",
        "-O",
        "-",
        "--header",
        `Host: ${E2E_INGRESS.host}`,
        E2E_INGRESS_URL,
    ]);
    if (page.trim() !== E2E_INGRESS.backend)
        throw new Failure(
            `${when}: ${from} -> ingress -> ${E2E_INGRESS.backend} answered ${JSON.stringify(page.trim())}`,
        );
    log(`${when}: ping <-> pong both answer, and pong through the ingress controller`);
}

function proxiesIn(context: string, namespace = E2E_NAMESPACE, selector?: string): number {
    const pods = JSON.parse(
        must("kubectl", [
            "--context",
            context,
            "-n",
            namespace,
            "get",
            "pods",
            "-o",
            "json",
            ...(selector ? ["-l", selector] : []),
        ]),
    ).items;
    return pods
        .filter((p: any) => !p.metadata.deletionTimestamp)
        .filter((p: any) =>
            [...(p.spec.initContainers ?? []), ...p.spec.containers].some((c: any) => c.name === "linkerd-proxy"),
        ).length;
}

function rolledOut(context: string): void {
    for (const workload of E2E_ALL_WORKLOADS) {
        must("kubectl", [
            "--context",
            context,
            "-n",
            E2E_NAMESPACE,
            "rollout",
            "status",
            `deploy/${workload}`,
            "--timeout=300s",
        ]);
    }
    // helm-controller upgrades Traefik when its HelmChartConfig changes; wait for it to be rolled too.
    must("kubectl", [
        "--context",
        context,
        "-n",
        E2E_INGRESS.namespace,
        "rollout",
        "status",
        `deploy/${E2E_INGRESS.workload}`,
        "--timeout=300s",
    ]);
}

/** Whether k3s' Traefik runs a proxy, once its upgrade is through (helm-controller works asynchronously). */
async function ingressMeshed(context: string, meshed: boolean): Promise<void> {
    await until(`Traefik to run ${meshed ? "with" : "without"} a proxy`, 300, () => {
        const withProxy = proxiesIn(context, E2E_INGRESS.namespace, `app.kubernetes.io/name=${E2E_INGRESS.workload}`);
        return withProxy > 0 === meshed ? true : undefined;
    });
    rolledOut(context);
}

/** Every protocol class answers through the mesh, and reached the engine over mTLS. */
async function assertProtocols(context: string): Promise<void> {
    const { server, client } = E2E_PROTOCOL_WORKLOADS;
    // The engine restarted last with its proxy: its counters hold meshed connections only.
    const answered = await until("every protocol class to answer through the mesh", 120, () => {
        const verdict = protocolLogVerdict(
            run("kubectl", [
                "--context",
                context,
                "-n",
                E2E_NAMESPACE,
                "logs",
                `deploy/${client}`,
                "-c",
                client,
                "--since=20s",
            ]).stdout,
        );
        if (!verdict.ok) log(`not yet: ${verdict.problems.join("; ")}`);
        return verdict.ok ? verdict : undefined;
    });
    answered.details.forEach((d) => log(`protocol ${d}`));
    const verdict = protocolMetricsVerdict(
        must("linkerd", [
            "--context",
            context,
            "diagnostics",
            "proxy-metrics",
            "-n",
            E2E_NAMESPACE,
            `deploy/${server}`,
        ]),
    );
    verdict.details.forEach((d) => log(`protocol ${d}`));
    if (!verdict.ok) throw new Failure(verdict.problems.join("; "));
}

export const E2E_USAGE = `usage: npm run e2e

Meshes two workloads on the current kube context (a throwaway k3d cluster), proves from Linkerd's
own data that every edge between them and the ingress hop are mTLS, drains the mesh and checks
nothing broke on the way; cleans up whatever happened. Needs the Pulumi and Linkerd CLIs.
AKKO_E2E_TIMEOUT_MINUTES bounds it (default 25); AKKO_E2E_ANY_CONTEXT=1 allows a context that is
not k3d.

exit status: 0 passed, 1 failed, 2 bad arguments, 3 skipped (what is missing is printed)

options:
  --linked    instead: two k3d clusters linked flat (created and deleted by the run), one trust
              anchor rotated through every phase while traffic flows; zero failed calls
              (AKKO_E2E_TIMEOUT_MINUTES default 60; needs k3d and docker too)
  --help      this text`;

async function main(): Promise<number> {
    const options = parseCli(process.argv.slice(2), E2E_USAGE, { linked: { type: "boolean", default: false } });
    if (!options) return E2E_EXIT.passed;
    if (options.linked) return linkedMain();
    const missing = missingPrerequisite((command, args) => run(command, args), process.env);
    if (missing) {
        console.error(`e2e: skipped: ${missing}`);
        return E2E_EXIT.skipped;
    }
    const context = must("kubectl", ["config", "current-context"]).trim();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "akko-mtls-e2e-"));
    const state = path.join(dir, ".state");
    fs.mkdirSync(state);
    // A copy of the program beside its node_modules, so the e2e stack file never lands in the repository.
    copyProgram(dir);
    writeStackFile(dir, context, true);
    log(`context ${context}, workspace ${dir}`);

    let stack: Stack | undefined;
    const timer = setTimeout(
        () => {
            log("time is up: cancelling the update");
            void stack?.cancel();
        },
        Math.max(0, deadline - Date.now()),
    );
    try {
        must(
            "kubectl",
            ["--context", context, "apply", "-f", "-"],
            `${workloadManifests()}---\n${protocolManifests()}`,
        );
        rolledOut(context);
        assertServing(context, "before the mesh");

        stack = await LocalWorkspace.createOrSelectStack(
            { stackName: STACK, workDir: dir },
            { envVars: { PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE: "akko-mtls-e2e" } },
        );
        const on = await up(stack, "mesh on");
        if ((on.meshState as { phase: string }).phase !== "on")
            throw new Failure(`meshState is ${JSON.stringify(on.meshState)}`);
        rolledOut(context);
        if (proxiesIn(context) !== E2E_ALL_WORKLOADS.length)
            throw new Failure("the rollout Job did not give every workload a proxy");
        await ingressMeshed(context, true);
        // pong's proxy counted the requests an unmeshed Traefik sent while both were rolling
        // (plaintext, admitted in permissive mode): a fresh pod counts only the meshed ingress hop.
        // Likewise the protocol server, for the driver's calls made before the driver had its proxy.
        for (const workload of [E2E_INGRESS.backend, E2E_PROTOCOL_WORKLOADS.server]) {
            must("kubectl", ["--context", context, "-n", E2E_NAMESPACE, "rollout", "restart", `deploy/${workload}`]);
        }
        rolledOut(context);
        assertServing(context, "meshed");

        const edges = await until("every edge to be secured", 300, () => {
            const output = run("linkerd", [
                "--context",
                context,
                "viz",
                "edges",
                "deploy",
                "-n",
                E2E_NAMESPACE,
                "-o",
                "json",
            ]);
            const verdict = edgesVerdict(output.stdout);
            verdict.details.forEach((d) => log(`edge ${d}`));
            if (!verdict.ok) log(`not yet: ${verdict.problems.join("; ")}`);
            return verdict.ok ? verdict : undefined;
        });
        log(`linkerd viz edges: ${edges.details.length} edges, all mTLS`);
        const ingressEdge = await until("the ingress hop to be secured", 300, () => {
            const verdict = ingressEdgeVerdict(
                run("linkerd", ["--context", context, "viz", "edges", "deploy", "-n", E2E_NAMESPACE, "-o", "json"])
                    .stdout,
            );
            if (!verdict.ok) log(`not yet: ${verdict.problems.join("; ")}`);
            return verdict.ok ? verdict : undefined;
        });
        log(`ingress edge ${ingressEdge.details[0]}`);
        for (const workload of E2E_WORKLOADS) {
            const verdict = metricsVerdict(
                must("linkerd", [
                    "--context",
                    context,
                    "diagnostics",
                    "proxy-metrics",
                    "-n",
                    E2E_NAMESPACE,
                    `deploy/${workload}`,
                ]),
                workload,
            );
            verdict.details.forEach((d) => log(`metrics ${d}`));
            if (!verdict.ok) throw new Failure(verdict.problems.join("; "));
        }

        await assertProtocols(context);

        writeStackFile(dir, context, false);
        for (let step = 1; ; step++) {
            const outputs = await up(stack, `mesh off, step ${step}`);
            const phase = (outputs.meshState as { phase: string }).phase;
            rolledOut(context);
            assertServing(context, `disable step ${step} (${phase})`);
            if (phase === "off") break;
            if (step >= 3) throw new Failure(`still ${phase} after ${step} steps`);
        }
        if (proxiesIn(context) !== 0) throw new Failure("pods still run a proxy after the mesh was removed");
        await ingressMeshed(context, false);
        assertServing(context, "after the mesh, Traefik back to k3s' own values");
        if (run("kubectl", ["--context", context, "get", "namespace", "linkerd"]).status === 0) {
            await until("namespace linkerd to be gone", 180, () =>
                run("kubectl", ["--context", context, "get", "namespace", "linkerd"]).status === 0 ? undefined : true,
            );
        }
        log("the mesh is gone and the workloads still serve");
        log("PASSED");
        return E2E_EXIT.passed;
    } catch (error) {
        console.error(`e2e: FAILED: ${error instanceof Failure ? error.message : (error as Error).stack}`);
        return E2E_EXIT.failed;
    } finally {
        clearTimeout(timer);
        log("cleaning up");
        if (stack) {
            await stack
                .destroy({ color: "never", excludeProtected: true })
                .catch((e) => log(`destroy: ${(e as Error).message}`));
            await stack.workspace
                .removeStack(STACK, { force: true })
                .catch((e) => log(`stack rm: ${(e as Error).message}`));
        }
        run("kubectl", [
            "--context",
            context,
            "delete",
            "namespace",
            E2E_NAMESPACE,
            "--ignore-not-found",
            "--wait=false",
        ]);
        // Retained on purpose by the program (deleting a CRD deletes every policy); this cluster is throwaway.
        run("kubectl", [
            "--context",
            context,
            "delete",
            "crd",
            "-l",
            "linkerd.io/control-plane-ns=linkerd",
            "--ignore-not-found",
        ]);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

runCli("e2e", main);
