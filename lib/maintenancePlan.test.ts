/** The maintenance plan alone (no Pulumi): which Jobs run in which phase, their environment against the contract, their rights, their memory and schedule. */
import { strict as assert } from "node:assert";
import * as contract from "../cluster/contract.cjs";
import {
    checkedEnv,
    maintenancePlan,
    scriptMemoryBudget,
    type JobPlan,
    type MaintenancePlan,
    type MaintenancePlanArgs,
} from "./maintenancePlan";

const BASE: MaintenancePlanArgs = {
    controlPlaneNamespace: "linkerd",
    issuerSource: { kind: "configmap", name: "linkerd-identity-issuer-certificate", key: "tls.crt" },
    meshedNamespaces: ["akko", "spark"],
    maxConcurrentRestarts: 2,
    rolloutTimeoutSeconds: 600,
    deadlineMinutes: 50,
    resources: { cpu: { request: "10m" }, memory: { request: "64Mi", limit: "128Mi" } },
};
const ROTATION = {
    windowStartHour: 23,
    windowHours: 2,
    issuerMinHoursLeft: 24,
    anchorMinDaysLeft: 60,
    intermediateMinHoursLeft: 1080,
};
const ANCHOR = "AB".repeat(32);

/** Every Job of a plan, the CronJob's included. */
const jobsOf = (plan: MaintenancePlan): JobPlan[] => [...plan.jobs, ...(plan.cron ? [plan.cron.job] : [])];
const tasksOf = (plan: MaintenancePlan) =>
    Object.fromEntries(jobsOf(plan).map((job) => [job.resourceName, job.tasks.join(",")]));

describe("lib/maintenancePlan: what the maintenance Jobs do, decided before any resource", () => {
    it("which Jobs run, with which tasks, in each phase", () => {
        assert.deepEqual(tasksOf(maintenancePlan(BASE)), {
            rollout: "certificates,control-plane,restarts,verify-bundle",
        });
        assert.deepEqual(tasksOf(maintenancePlan({ ...BASE, rollout: false })), {});
        assert.deepEqual(tasksOf(maintenancePlan({ ...BASE, rotation: ROTATION })), {
            rollout: "certificates,control-plane,restarts,verify-bundle",
            cronjob: "certificates,control-plane,restarts",
        });
        // Rotation phase 2: the rollout reloads identity; phase 3: a gate proves it before the bundle changes.
        assert.deepEqual(tasksOf(maintenancePlan({ ...BASE, reloadIdentityFor: ANCHOR })), {
            rollout: "certificates,control-plane,reload-identity,restarts,verify-bundle",
        });
        assert.deepEqual(tasksOf(maintenancePlan({ ...BASE, rotationGateFor: ANCHOR })), {
            "rotation-gate": "rotation-gate",
            rollout: "certificates,control-plane,restarts,verify-bundle",
        });
        const checks = maintenancePlan({
            ...BASE,
            strict: { namespaces: ["akko"], probeAuthorizations: [], ingressMeshed: false },
            networkPosture: {
                akko: { denyIngress: true, denyEgress: false, opaqueIngress: [], opaqueEgress: [], opaquePorts: [] },
            },
            podSecurity: {
                namespaces: [{ namespace: "akko", key: "mtls.namespaces[0]" }],
                probe: { kind: "Pod" },
                cniEnabled: false,
            },
        });
        assert.deepEqual(tasksOf(checks), {
            preflight: "strict-preflight",
            "network-preflight": "network-posture",
            "pod-security": "pod-security",
            rollout: "certificates,control-plane,restarts,verify-bundle",
        });
        // Empty lists ask for no check at all.
        const empty = maintenancePlan({
            ...BASE,
            strict: { namespaces: [], probeAuthorizations: [], ingressMeshed: false },
            networkPosture: {},
        });
        assert.deepEqual(Object.keys(tasksOf(empty)), ["rollout"]);
    });

    it("what each Job waits for: the checks before the mesh changes wait for nothing they guard; the rollout for the checks and the namespaces", () => {
        const plan = maintenancePlan({
            ...BASE,
            rotation: ROTATION,
            rotationGateFor: ANCHOR,
            strict: { namespaces: ["akko"], probeAuthorizations: [], ingressMeshed: false },
            podSecurity: { namespaces: [{ namespace: "akko", key: "k" }], probe: { kind: "Pod" }, cniEnabled: false },
        });
        const waits = Object.fromEntries(jobsOf(plan).map((job) => [job.resourceName, job.waitsFor]));
        assert.deepEqual(waits, {
            preflight: ["control-plane"],
            "pod-security": [],
            "rotation-gate": [],
            rollout: ["control-plane", "checks", "namespaces"],
            cronjob: ["control-plane"],
        });
    });

    it("every Job's environment is exactly what the contract says its tasks read; a Job that is not is refused, named", () => {
        const plan = maintenancePlan({ ...BASE, rotation: ROTATION, reloadIdentityFor: ANCHOR });
        for (const job of jobsOf(plan)) {
            const env = { ...plan.sharedEnv, ...job.env };
            assert.deepEqual(Object.keys(env).sort(), contract.variablesFor(job.tasks).sort(), job.resourceName);
        }
        const rollout = plan.jobs.find((job) => job.resourceName === "rollout")!;
        const { SIGNING_ANCHOR_SHA256: _anchor, ...withoutAnchor } = { ...plan.sharedEnv, ...rollout.env };
        assert.throws(
            () => checkedEnv("rollout", rollout.tasks, withoutAnchor),
            /maintenance Job rollout .* missing SIGNING_ANCHOR_SHA256/,
        );
        assert.throws(
            () =>
                checkedEnv("rollout", rollout.tasks, {
                    ...withoutAnchor,
                    SIGNING_ANCHOR_SHA256: ANCHOR,
                    POD_SECURITY: "{}",
                }),
            /unknown POD_SECURITY/,
        );
    });

    it("rights: every identity that may patch workloads is confined to the restart annotations; none reads a Secret (but the rollout of a stack with links, below); the Pod Security check only creates, confined to dry runs", () => {
        const plan = maintenancePlan({
            ...BASE,
            rotation: ROTATION,
            rotationGateFor: ANCHOR,
            ingress: { namespace: "kube-system", selector: { app: "traefik" }, deployment: "traefik", inject: true },
            strict: { namespaces: ["akko"], probeAuthorizations: [], ingressMeshed: true },
            networkPosture: {
                spark: { denyIngress: true, denyEgress: true, opaqueIngress: [], opaqueEgress: [], opaquePorts: [] },
            },
            podSecurity: { namespaces: [{ namespace: "akko", key: "k" }], probe: { kind: "Pod" }, cniEnabled: false },
        });
        const rules = (kind: string) => plan.identities.find((i) => i.kind === kind)!.grants.flatMap((g) => g.rules);
        for (const identity of plan.identities) {
            const all = identity.grants.flatMap((g) => g.rules);
            assert.ok(
                !all.some((r) => r.resources.includes("secrets") || r.resources.includes("*") || r.verbs.includes("*")),
                identity.kind,
            );
            const patches = all.some((r) => r.verbs.includes("patch"));
            assert.equal(
                identity.confinedBy.includes("restart-only"),
                patches,
                `${identity.kind}: confined exactly when it may patch`,
            );
            assert.equal(plan.restartingIdentities.includes(identity.kind), patches, identity.kind);
        }
        assert.deepEqual(
            plan.identities.find((i) => i.kind === "pod-security"),
            {
                kind: "pod-security",
                account: "linkerd-mesh-pod-security",
                grants: [
                    {
                        suffix: "pods-akko",
                        namespace: "akko",
                        rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["create"] }],
                    },
                ],
                confinedBy: ["pod-security-dry-run-only"],
            },
        );
        assert.ok(plan.podSecurityDryRunOnly, "its policy is made");
        // The ingress controller's namespace is shared: only its Deployment may be restarted there.
        const ingress = plan.identities
            .find((i) => i.kind === "rollout")!
            .grants.find((g) => g.namespace === "kube-system")!;
        assert.deepEqual(
            ingress.rules.filter((r) => r.verbs.includes("patch")).map((r) => r.resourceNames),
            [["traefik"]],
        );
        // The gate reads identity's pods and events in the control plane, and restarts nothing.
        assert.ok(rules("gate").some((r) => r.resources.includes("events")));
        assert.ok(!rules("gate").some((r) => r.verbs.includes("patch")));
        // The strict preflight reads nothing of the control plane.
        assert.ok(plan.identities.find((i) => i.kind === "preflight")!.grants.every((g) => g.namespace === "akko"));
    });

    it("links: the rollout checks each far end last, with exactly its contract's variables; its identity alone gets the one Secret read, `get` on exactly the links' credentials", () => {
        const remoteTrust = {
            signingAnchorSha256: ANCHOR,
            credentialsNamespace: "linkerd-multicluster",
            links: [
                { target: "eks", secret: "cluster-credentials-eks" },
                { target: "gke", secret: "cluster-credentials-gke" },
            ],
            namespaces: ["akko", "linkerd-multicluster"],
        };
        const plan = maintenancePlan({ ...BASE, rotation: ROTATION, rotationGateFor: ANCHOR, remoteTrust });
        assert.deepEqual(tasksOf(plan), {
            "rotation-gate": "rotation-gate",
            rollout: "certificates,control-plane,restarts,verify-bundle,remote-trust",
            cronjob: "certificates,control-plane,restarts",
        });
        const rollout = plan.jobs.find((job) => job.resourceName === "rollout")!;
        const env = { ...plan.sharedEnv, ...rollout.env };
        assert.deepEqual(Object.keys(env).sort(), contract.variablesFor(rollout.tasks).sort());
        assert.equal(env.SIGNING_ANCHOR_SHA256, ANCHOR);
        assert.equal(env.MULTICLUSTER_NAMESPACE, "linkerd-multicluster");
        assert.deepEqual(JSON.parse(env.REMOTE_TRUST_LINKS as string), remoteTrust.links);
        assert.equal(env.REMOTE_TRUST_NAMESPACES, "akko,linkerd-multicluster");
        // What the script would read of it is what the plan meant (the contract's own parser).
        const read = contract.read(env as Record<string, string>);
        assert.deepEqual(read.values.REMOTE_TRUST_LINKS, remoteTrust.links);
        // Phase 2: the anchor identity reloads for is the one the links must trust.
        const phase2 = maintenancePlan({ ...BASE, reloadIdentityFor: "CD".repeat(32), remoteTrust });
        assert.equal(phase2.jobs.find((j) => j.resourceName === "rollout")!.env.SIGNING_ANCHOR_SHA256, "CD".repeat(32));

        const secretRules = plan.identities.flatMap((identity) =>
            identity.grants.flatMap((grant) =>
                grant.rules
                    .filter((r) => r.resources.some((x) => x === "secrets" || x === "*"))
                    .map((rule) => ({ kind: identity.kind, grant, rule })),
            ),
        );
        assert.deepEqual(
            secretRules.map(({ kind, grant, rule }) => ({
                kind,
                suffix: grant.suffix,
                namespace: grant.namespace,
                rule,
            })),
            [
                {
                    kind: "rollout",
                    suffix: "link-credentials",
                    namespace: "linkerd-multicluster",
                    rule: {
                        apiGroups: [""],
                        resources: ["secrets"],
                        resourceNames: ["cluster-credentials-eks", "cluster-credentials-gke"],
                        verbs: ["get"],
                    },
                },
            ],
        );
        // The multicluster namespace meshed (as on a real linked stack): the read joins the rollout's Role there,
        // one Role per namespace (they are named after the identity), never a second of the same name.
        const meshed = maintenancePlan({ ...BASE, meshedNamespaces: ["akko", "linkerd-multicluster"], remoteTrust });
        const grants = meshed.identities.find((i) => i.kind === "rollout")!.grants;
        const namespaces = grants.map((g) => g.namespace as string);
        assert.deepEqual(namespaces, [...new Set(namespaces)], "one grant per namespace");
        const there = grants.find((g) => g.namespace === "linkerd-multicluster")!;
        assert.equal(there.suffix, "restart-linkerd-multicluster");
        assert.deepEqual(
            there.rules.filter((r) => r.resources.includes("secrets")),
            [
                {
                    apiGroups: [""],
                    resources: ["secrets"],
                    resourceNames: ["cluster-credentials-eks", "cluster-credentials-gke"],
                    verbs: ["get"],
                },
            ],
        );
        // Without links (or with none), no Secret at all, and no remote-trust task.
        for (const none of [undefined, { ...remoteTrust, links: [] }]) {
            const without = maintenancePlan({ ...BASE, rotation: ROTATION, remoteTrust: none });
            assert.ok(
                !without.identities.some((i) =>
                    i.grants.some((g) => g.rules.some((r) => r.resources.includes("secrets"))),
                ),
            );
            assert.ok(!without.jobs.some((j) => j.tasks.includes("remote-trust")));
        }
    });

    it("the daily schedule: its minute is drawn in the window, which may run past midnight", () => {
        const cron = maintenancePlan({ ...BASE, rotation: ROTATION }).cron!;
        assert.deepEqual(cron.minuteRange, { min: 0, max: 119 });
        assert.equal(cron.schedule(0), "0 23 * * *");
        assert.equal(cron.schedule(90), "30 0 * * *");
    });

    it("the memory plan follows the container's limit (its request without one; none: the largest)", () => {
        const at128 = maintenancePlan(BASE).memory;
        assert.deepEqual(at128, scriptMemoryBudget(128 * 2 ** 20));
        assert.deepEqual(at128, { maxPageBytes: 2 * 2 ** 20, pageSize: 128, heapMiB: 24, semiSpaceMiB: 1 });
        const requestOnly = maintenancePlan({
            ...BASE,
            resources: { cpu: { request: "10m" }, memory: { request: "256Mi" } },
        }).memory;
        assert.deepEqual(requestOnly, scriptMemoryBudget(256 * 2 ** 20));
        assert.deepEqual(maintenancePlan({ ...BASE, resources: undefined }).memory, scriptMemoryBudget(undefined));
        assert.equal(maintenancePlan(BASE).sharedEnv.MAX_PAGE_BYTES, String(2 * 2 ** 20));
    });
});
