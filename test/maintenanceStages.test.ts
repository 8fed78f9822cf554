/**
 * The maintenance Jobs are made in stages (components/meshMaintenance.ts), in the order the mesh's
 * objects wait for one another: the gate before the control plane's trust roots, the strict preflight
 * after the control plane and before the namespaces, the rollout after the namespaces. Each waits for
 * a plain list of resources, never a promise resolved later.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { one, ProgramRun, RecordedResource } from "../tools/mockRuntime";
import { runStackOk, STRICT } from "./helpers";

const JOB = "kubernetes:batch/v1:Job";
const CRONJOB = "kubernetes:batch/v1:CronJob";
const CONFIGMAP = "kubernetes:core/v1:ConfigMap";
const CHART = "kubernetes:helm.sh/v4:Chart";
const PATCH = "kubernetes:core/v1:NamespacePatch";
const AUTHZ = "kubernetes:policy.linkerd.io/v1alpha1:AuthorizationPolicy";

/** `from` names `to` among its own dependencies (not through another resource). */
const waitsDirectlyFor = (from: RecordedResource, to: RecordedResource) => from.dependencies.includes(to.urn);

describe("the maintenance Jobs' stages", function () {
    this.timeout(120_000);
    let phase3: ProgramRun;
    let strict: ProgramRun;
    before(async () => {
        phase3 = await runStackOk(
            "netcup",
            { "mtls.enabled": true, "identity.trustAnchor.rotationPhase": 3 },
            { previousOutputs: { trustAnchorRotation: { generation: 1, phase: 2, since: "2026-01-01T00:00:00Z" } } },
        );
        strict = await runStackOk("netcup", STRICT);
    });

    it("rotation phase 3: the control plane's trust roots wait for the gate Job, which waits for nothing of the control plane", () => {
        const gate = one(phase3, JOB, "akko-maintenance-rotation-gate");
        const trustRoots = one(phase3, CONFIGMAP, "akko-linkerd-trust-roots");
        assert.ok(waitsDirectlyFor(trustRoots, gate), "the trust roots name the gate");
        assert.ok(
            !gate.dependencies.includes(one(phase3, CHART, "akko-linkerd-control-plane").urn),
            "the gate does not wait for the chart",
        );
    });

    it("strict: the preflight and the CronJob wait for the control plane; the rollout for the control plane, the checks and the namespaces' objects", () => {
        const chart = one(strict, CHART, "akko-linkerd-control-plane");
        const preflight = one(strict, JOB, "akko-maintenance-preflight");
        const rollout = one(strict, JOB, "akko-maintenance-rollout");
        const cron = one(strict, CRONJOB, "akko-maintenance-cronjob");
        const linkerd = (r: RecordedResource) =>
            r.dependencies.some((urn) => urn.endsWith("::akko-linkerd") || urn === chart.urn);
        assert.ok(linkerd(preflight), "the preflight waits for the control plane");
        assert.ok(linkerd(cron), "the CronJob waits for the control plane");
        assert.ok(linkerd(rollout), "the rollout waits for the control plane");
        for (const check of [preflight, one(strict, JOB, "akko-maintenance-pod-security")]) {
            assert.ok(waitsDirectlyFor(rollout, check), `the rollout names ${check.name}`);
        }
        for (const object of [
            one(strict, PATCH, "akko-mesh-akko-annotations"),
            one(strict, PATCH, "akko-mesh-spark-annotations"),
            one(strict, AUTHZ, "akko-mesh-spark-authorization-spark-connect"),
        ]) {
            assert.ok(waitsDirectlyFor(rollout, object), `the rollout names ${object.name}`);
        }
        assert.ok(
            waitsDirectlyFor(one(strict, PATCH, "akko-mesh-akko-annotations"), preflight),
            "the namespaces wait for the preflight",
        );
    });

    it("no stage is bridged by a promise resolved later", () => {
        const source = (file: string) => fs.readFileSync(path.join(__dirname, "..", "components", file), "utf8");
        const mesh = source("mtlsMesh.ts");
        const deploy = mesh.slice(
            mesh.indexOf("    private deploy("),
            mesh.indexOf("\n    }\n", mesh.indexOf("    private deploy(")),
        );
        assert.ok(deploy.length > 0, "MtlsMesh.deploy is found");
        assert.doesNotMatch(
            deploy,
            /new Promise|=\s*\(\)\s*=>\s*undefined/,
            "MtlsMesh.deploy makes no deferred resolver",
        );
        assert.doesNotMatch(mesh, /\b(gateReady|namespacesReady|rolloutWaitFor)\b/);
        for (const file of ["meshMaintenance.ts", "linkerdControlPlane.ts"]) {
            assert.doesNotMatch(
                source(file),
                /Promise<pulumi\.Resource\[\]>|new Promise/,
                `${file} takes no promised dependencies`,
            );
        }
    });
});
