/**
 * A trust-anchor rotation end to end, advancing on evidence: the program runs under mocks, every
 * object it creates or updates is applied to a fake live cluster (test/fakeCluster.ts) in the
 * engine's order, and every Job it registers runs the real cluster/mesh-check.mjs there with the
 * environment the program gave it; a Job that exits non-zero fails its resource, as the provider's
 * Job await does. Real certificates throughout (the static issuer, k3d).
 */
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AppliedResource, ProgramRun, ProviderState } from "../tools/mockRuntime";
import type { RotationRecord } from "../lib/rotation";
import { anchor, Cluster, issuer, pod, Result, runScript } from "./fakeCluster";
import { runStack } from "./helpers";

const HOUR = 3_600_000;
const CONTROL_PLANE = ["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"];

const certificatesIn = (pem: string) =>
    (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
        (p) => new crypto.X509Certificate(p),
    );

/** A cluster that the program's objects are applied to and its Jobs run against. */
class LiveCluster {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "live-cluster-"));
    readonly cluster: Omit<Cluster, "pods"> & {
        pods: Record<string, any[]>;
        deployments: Record<string, Record<string, string>>;
    } = {
        issuer: { certPem: "" },
        bundle: "",
        refreshOnRestart: true,
        pods: { akko: [] },
        deployments: Object.fromEntries(CONTROL_PLANE.map((name) => [name, {}])),
        // One identity replica, serving the issuer it last loaded.
        identity: { replicas: [] as (string | null)[] },
        // AKKO's namespace runs an ingress default-deny (the preset's posture): the network preflight accepts it.
        answer: [
            [
                "get networkpolicies.networking.k8s.io -n akko",
                JSON.stringify({
                    items: [
                        {
                            metadata: { name: "deny-ingress", namespace: "akko" },
                            spec: { podSelector: {}, policyTypes: ["Ingress"] },
                        },
                    ],
                }),
            ],
        ],
    };
    /** Identity refuses every new issuer (IssuerUpdateSkipped) while set. */
    identityStuck = false;
    /** Each Job that ran: its name, and what the script said. */
    readonly jobs: { name: string; result: Result }[] = [];

    readonly apply = (resource: AppliedResource): void => {
        const { type, inputs } = resource;
        if (type === "kubernetes:core/v1:ConfigMap" && inputs.metadata.name === "linkerd-identity-trust-roots")
            this.cluster.bundle = inputs.data["ca-bundle.crt"];
        if (type === "kubernetes:core/v1:ConfigMap" && inputs.metadata.name === "linkerd-identity-issuer-certificate") {
            this.cluster.issuer = { certPem: inputs.data["tls.crt"] };
            // Identity reloads the issuer Secret written with it (it verifies against the bundle it started with, which trusts it).
            if (!this.identityStuck) this.cluster.identity!.replicas = [inputs.data["tls.crt"]];
        }
        if (type !== "kubernetes:batch/v1:Job") return;
        const container = inputs.spec.template.spec.containers[0];
        // The Job's own environment, except where its image keeps kubectl: the fake one is on PATH.
        const env = Object.fromEntries(
            container.env.filter((e: any) => !["PATH", "HOME"].includes(e.name)).map((e: any) => [e.name, e.value]),
        );
        const result = runScript({ ...this.cluster, env }, this.dir);
        this.jobs.push({ name: inputs.metadata.name, result });
        if (result.status !== 0) throw new Error(`Job ${inputs.metadata.name} failed:\n${result.stderr}`);
    };

    /** Serial numbers of the anchors the live trust bundle holds. */
    get bundleSerials(): string[] {
        return certificatesIn(this.cluster.bundle as string).map((c) => c.serialNumber);
    }

    close(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

describe("a trust-anchor rotation that advances on evidence (the program's Jobs on a live fake cluster)", function () {
    this.timeout(120_000);
    const live = new LiveCluster();
    const state = new ProviderState();
    let record: RotationRecord | undefined;
    after(() => live.close());

    /** One `pulumi up` of the k3d stack at a rotation step, fed the last successful record (`hoursAgo` old). */
    const up = async (generation: number, phase: 0 | 1 | 2 | 3, hoursAgo = 26): Promise<ProgramRun> => {
        const previousOutputs = record
            ? { trustAnchorRotation: { ...record, since: new Date(Date.now() - hoursAgo * HOUR).toISOString() } }
            : undefined;
        const run = await runStack(
            "k3d",
            {
                "mtls.enabled": true,
                "mtls.namespaces": ["akko"],
                "identity.trustAnchor.generation": generation,
                "identity.trustAnchor.rotationPhase": phase,
            },
            { state, previousOutputs, onApply: live.apply },
        );
        // What the engine keeps: the outputs of a run that completed, the previous ones otherwise.
        if (!run.error) record = run.registeredOutputs!.trustAnchorRotation as RotationRecord;
        return run;
    };
    const anchorSerial = (run: ProgramRun, generation: number) =>
        new crypto.X509Certificate(
            run.resources.find((r) => r.name === `akko-trust-anchor-g${generation}-cert`)!.state.certPem,
        ).serialNumber;
    const lastJob = (prefix: string) => [...live.jobs].reverse().find((j) => j.name.startsWith(prefix))!;

    let g1 = "";
    let g2 = "";
    let issuerFromG1 = "";

    it("steady: the mesh is deployed, its workloads meshed with the g1 bundle", async () => {
        const run = await up(1, 0);
        assert.equal(run.error, undefined, String(run.error));
        g1 = anchorSerial(run, 1);
        assert.deepEqual(live.bundleSerials, [g1]);
        issuerFromG1 = live.cluster.issuer.certPem;
        // The platform's pods, injected with the bundle of the moment; a Spark batch Job among them.
        live.cluster.pods.akko = [
            pod("trino", live.cluster.bundle),
            pod("superset", live.cluster.bundle),
            pod("etl", live.cluster.bundle, { owner: "Job" }),
        ];
        assert.equal(lastJob("linkerd-mesh-rollout").result.status, 0);
    });

    it("phase 1 is blocked by one Job pod still trusting the old bundle: the `up` fails naming it, the record stays steady", async () => {
        const run = await up(1, 1);
        assert.ok(run.error, "the rollout Job fails");
        g2 = anchorSerial(run, 2);
        assert.deepEqual(live.bundleSerials, [g1, g2], "the bundle trusts both (harmless on its own)");
        const rollout = lastJob("linkerd-mesh-rollout").result;
        assert.match(rollout.stderr, /verify: 1 pod\(s\) still trust an old bundle.*akko\/etl-.* \(job\/etl\)/);
        assert.match(rollout.stdout, /restart: akko\/deployment\/superset/);
        assert.deepEqual(record, { ...record!, generation: 1, phase: 0 }, "no phase 1 recorded");
        // The operator cannot go on to phase 2 from there.
        const skip = await up(1, 2);
        assert.match(String(skip.error), /cannot go from generation 1, steady to generation 1, phase 2/);
    });

    it("once the Job has finished, the same phase 1 `up` runs its Job again and succeeds", async () => {
        live.cluster.pods.akko.find((p) => p.metadata.name.startsWith("etl-"))!.status.phase = "Succeeded";
        const run = await up(1, 1);
        assert.equal(run.error, undefined, String(run.error));
        assert.match(
            lastJob("linkerd-mesh-rollout").result.stdout,
            /verify: every meshed proxy trusts the current bundle/,
        );
        assert.deepEqual([record!.generation, record!.phase], [1, 1]);
    });

    it("phase 2 waits the minimum time, then proves the issuer re-issued from g2 and restarts identity with it", async () => {
        assert.match(String((await up(1, 2, 3)).error), /started 3 h 0 min \d+ s ago/);
        const run = await up(1, 2);
        assert.equal(run.error, undefined, String(run.error));
        const rollout = lastJob("linkerd-mesh-rollout").result;
        assert.match(
            rollout.stdout,
            /issuer: re-issued, CN=identity\.linkerd\.cluster\.local <- CN=intermediate-g2\.k3d\.linkerd\.cluster\.local <- CN=root/,
        );
        assert.ok(
            rollout.calls.some(
                (c) => c.startsWith("patch deployment linkerd-identity") && c.includes("akko.io/issuer-sha256"),
            ),
        );
        assert.deepEqual([record!.generation, record!.phase], [1, 2]);
    });

    it("phase 3 is refused while the live issuer still chains to the old anchor: the bundle keeps g1, nothing restarts", async () => {
        const reissued = live.cluster.issuer.certPem;
        live.cluster.issuer = { certPem: issuerFromG1 }; // e.g. restored from an old backup
        const restartsBefore = live.jobs.length;
        const run = await up(1, 3);
        assert.ok(run.error);
        const gate = lastJob("linkerd-rotation-gate").result;
        assert.match(
            gate.stderr,
            /rotation-gate: the live issuer .* does not chain to the new anchor .* through its intermediate/,
        );
        assert.deepEqual(live.bundleSerials, [g1, g2], "the trust roots waited for the gate: g1 is still trusted");
        assert.equal(live.jobs.length, restartsBefore + 1, "only the gate ran: no rollout");
        assert.deepEqual([record!.generation, record!.phase], [1, 2]);
        live.cluster.issuer = { certPem: reissued };
    });

    it("phase 3 is refused while identity still serves the old issuer (it skipped the re-issued one): the bundle keeps g1", async () => {
        const reissued = live.cluster.issuer.certPem;
        // Still on an issuer from before the re-issue: the one it loaded last (here a day older than the
        // live one; in a real rotation phase 2 came at least a day after it, and phase 3 after that).
        live.cluster.identity!.replicas = [(await issuer(await anchor(), 8760 - 24)).certPem];
        live.cluster.identity!.events = [
            {
                reason: "IssuerUpdateSkipped",
                message:
                    "Skipping issuer update as certs could not be read from disk: failed to read CA from disk: tls: private key does not match public key",
                at: new Date(),
            },
        ];
        const run = await up(1, 3);
        assert.ok(run.error);
        assert.match(
            lastJob("linkerd-rotation-gate").result.stderr,
            /rotation-gate: identity refused the live issuer .*IssuerUpdateSkipped/,
        );
        assert.deepEqual(live.bundleSerials, [g1, g2], "the trust roots waited for the gate: g1 is still trusted");
        assert.deepEqual([record!.generation, record!.phase], [1, 2]);
        // Identity restarted (or the Secret fixed): it loads the re-issued issuer.
        live.cluster.identity!.replicas = [reissued];
        live.cluster.identity!.events = [];
    });

    it("with the issuer re-issued, phase 3 drops g1, restarts everything and proves it; finishing keeps g2 alone", async () => {
        const run = await up(1, 3);
        assert.equal(run.error, undefined, String(run.error));
        assert.match(lastJob("linkerd-rotation-gate").result.stdout, /rotation-gate: OK/);
        assert.deepEqual(live.bundleSerials, [g2]);
        assert.match(
            lastJob("linkerd-mesh-rollout").result.stdout,
            /verify: every meshed proxy trusts the current bundle/,
        );
        assert.deepEqual([record!.generation, record!.phase], [1, 3]);
        const finish = await up(2, 0);
        assert.equal(finish.error, undefined, String(finish.error));
        assert.deepEqual(live.bundleSerials, [g2]);
        assert.deepEqual([record!.generation, record!.phase], [2, 0]);
    });
});
