/**
 * The maintenance identities' patch right (ValidatingAdmissionPolicy `akko-mtls-restart-only`),
 * evaluated with a real CEL engine (@bufbuild/cel) on a corpus of the requests the Jobs make and of
 * hostile ones, each as the API server would hand it to validating admission: the new object after
 * the patch, the field manager and the registry strategy (managedFields, generation, a DaemonSet's
 * template generation), next to the stored one.
 *
 * Where @bufbuild/cel and Kubernetes' CEL differ, and why the policy does not depend on it:
 * - Kubernetes evaluates `object`/`oldObject` as plain unstructured maps (k8s.io/apiserver
 *   pkg/admission/plugin/cel/condition.go `objectToResolveVal`), declared `dyn` at compile time; its
 *   OpenAPI-typed check only warns. Here they are plain JS objects: maps too.
 * - A key whose value is null (a pod template's `creationTimestamp: null`) is present for `has()` and
 *   `in` in Kubernetes (a Go map holds it) but absent in @bufbuild/cel: the policy never asks `in` of a
 *   map nor `has()` of a field that can be null (keys are compared as lists).
 * - Numbers are int64 in Kubernetes and doubles here; the policy only compares an object's value with
 *   the same field of the other object, which both engines type alike.
 */
import { run as celRun } from "@bufbuild/cel";
import { strict as assert } from "node:assert";
import { restartOnlyPolicy } from "../components/meshMaintenance";
import { RESTART_ANNOTATIONS } from "../lib/maintenancePlan";
import { dependsOn, ofType, one, RecordedResource } from "../tools/mockRuntime";
import { runStackOk } from "./helpers";

const ROLLOUT = "system:serviceaccount:linkerd-maintenance:linkerd-mesh-rollout";
const policy = restartOnlyPolicy([ROLLOUT]);

type Kind = "Deployment" | "StatefulSet" | "DaemonSet";
const clone = <T>(value: T): T => structuredClone(value);

/** A stored workload as the API server converts it to unstructured (defaults filled in, empty fields left out). */
function stored(kind: Kind, name: string, templateAnnotations?: Record<string, string>): any {
    const labels = { "app.kubernetes.io/name": name };
    const podSpec = {
        containers: [
            {
                name,
                image: `registry.example/${name}:1.0`,
                ports: [{ containerPort: 8080, protocol: "TCP" }],
                resources: { requests: { cpu: "100m", memory: "256Mi" } },
                terminationMessagePath: "/dev/termination-log",
                terminationMessagePolicy: "File",
                imagePullPolicy: "IfNotPresent",
            },
        ],
        restartPolicy: "Always",
        terminationGracePeriodSeconds: 30,
        dnsPolicy: "ClusterFirst",
        serviceAccountName: name,
        serviceAccount: name,
        securityContext: {},
        schedulerName: "default-scheduler",
    };
    const template = {
        // What the unstructured converter gives for a zero metav1.Time: a key holding null.
        metadata: {
            creationTimestamp: null,
            labels,
            ...(templateAnnotations ? { annotations: templateAnnotations } : {}),
        },
        spec: podSpec,
    };
    const spec: Record<Kind, any> = {
        Deployment: {
            replicas: 2,
            selector: { matchLabels: labels },
            template,
            strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } },
            revisionHistoryLimit: 10,
            progressDeadlineSeconds: 600,
        },
        StatefulSet: {
            replicas: 1,
            selector: { matchLabels: labels },
            template,
            serviceName: name,
            podManagementPolicy: "OrderedReady",
            updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
            revisionHistoryLimit: 10,
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
            volumeClaimTemplates: [
                {
                    apiVersion: "v1",
                    kind: "PersistentVolumeClaim",
                    metadata: { name: "data", creationTimestamp: null },
                    spec: {
                        accessModes: ["ReadWriteOnce"],
                        resources: { requests: { storage: "10Gi" } },
                        volumeMode: "Filesystem",
                    },
                    status: { phase: "Pending" },
                },
            ],
        },
        DaemonSet: {
            selector: { matchLabels: labels },
            template,
            updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
            revisionHistoryLimit: 10,
        },
    };
    return {
        apiVersion: "apps/v1",
        kind,
        metadata: {
            name,
            namespace: "akko",
            uid: `uid-${name}`,
            resourceVersion: "48213",
            generation: 4,
            creationTimestamp: "2026-10-01T08:00:00Z",
            labels: { ...labels, "app.kubernetes.io/part-of": "akko" },
            annotations:
                kind === "DaemonSet"
                    ? { "deprecated.daemonset.template.generation": "4" }
                    : kind === "Deployment"
                      ? { "deployment.kubernetes.io/revision": "4", "meta.helm.sh/release-name": name }
                      : { "meta.helm.sh/release-name": name },
            managedFields: [
                {
                    manager: "helm",
                    operation: "Update",
                    apiVersion: "apps/v1",
                    time: "2026-10-01T08:00:00Z",
                    fieldsType: "FieldsV1",
                    fieldsV1: { "f:spec": { "f:replicas": {} } },
                },
                {
                    manager: "kube-controller-manager",
                    operation: "Update",
                    apiVersion: "apps/v1",
                    time: "2026-10-01T08:01:00Z",
                    fieldsType: "FieldsV1",
                    fieldsV1: { "f:status": {} },
                    subresource: "status",
                },
            ],
        },
        spec: spec[kind],
        status: { observedGeneration: 4, replicas: 2, readyReplicas: 2 },
    };
}

/**
 * The object validating admission sees for a request that changes `old` as `patch` does: what the API
 * server adds by then (k8s.io/apiserver pkg/registry/generic/registry/store.go Update; kubernetes
 * pkg/registry/apps/*\/strategy.go PrepareForUpdate; apps/v1 conversion): the manager's managedFields
 * entry, the generation bumped when the spec changed, the status reset to the stored one, a
 * DaemonSet's template generation annotation bumped when its template changed.
 */
function admitted(old: any, patch: (o: any) => void, manager = "kubectl-rollout"): any {
    const object = clone(old);
    patch(object);
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    object.metadata.managedFields = [
        ...(old.metadata.managedFields ?? []).filter((f: any) => f.manager !== manager),
        {
            manager,
            operation: "Update",
            apiVersion: "apps/v1",
            time: "2026-12-05T09:30:00Z",
            fieldsType: "FieldsV1",
            fieldsV1: { "f:spec": {} },
        },
    ];
    object.metadata.generation = old.metadata.generation;
    if (!same(object.spec, old.spec)) object.metadata.generation = old.metadata.generation + 1;
    if (old.kind === "DaemonSet" && !same(object.spec.template, old.spec.template)) {
        const generation = Number(old.metadata.annotations["deprecated.daemonset.template.generation"]) + 1;
        object.metadata.annotations = {
            ...object.metadata.annotations,
            "deprecated.daemonset.template.generation": String(generation),
        };
    }
    object.status = clone(old.status);
    return object;
}

/** `kubectl rollout restart`'s change (kubectl pkg/polymorphichelpers/objectrestarter.go, v0.36.3). */
const rolloutRestart = (o: any) => {
    o.spec.template.metadata.annotations = {
        ...o.spec.template.metadata.annotations,
        "kubectl.kubernetes.io/restartedAt": "2026-12-05T09:30:00Z",
    };
};
/** The Jobs' own merge patch of one pod-template annotation (cluster/mesh-check.mjs restartWithAnnotation). */
const setTemplateAnnotation = (key: string, value: string) => (o: any) => {
    o.spec.template.metadata.annotations = { ...o.spec.template.metadata.annotations, [key]: value };
};

/** The validations that refuse the request (an expression that errors refuses: failurePolicy Fail). */
function refusals(oldObject: any, object: any): string[] {
    return policy.validations
        .filter((validation) => {
            try {
                return celRun(validation.expression, { object, oldObject }) !== true;
            } catch {
                return true;
            }
        })
        .map((validation) => validation.message);
}

describe("the maintenance identities' patch right: a restart and nothing else", () => {
    const allowed: [string, any, (o: any) => void][] = [
        [
            "kubectl rollout restart of a Deployment with no pod-template annotations",
            stored("Deployment", "trino"),
            rolloutRestart,
        ],
        [
            "kubectl rollout restart of a Deployment restarted before, among other annotations",
            stored("Deployment", "superset", {
                "linkerd.io/inject": "enabled",
                "kubectl.kubernetes.io/restartedAt": "2026-11-01T02:00:00Z",
            }),
            rolloutRestart,
        ],
        [
            "kubectl rollout restart of a StatefulSet with volume claims",
            stored("StatefulSet", "postgres"),
            rolloutRestart,
        ],
        [
            "kubectl rollout restart of a DaemonSet (its template generation moves)",
            stored("DaemonSet", "fluent-bit"),
            rolloutRestart,
        ],
        [
            "the control-plane digest on a Linkerd Deployment",
            stored("Deployment", "linkerd-identity", {
                "linkerd.io/created-by": "linkerd/helm edge-26.8.3",
                "akko.io/control-plane-digest": "0123456789abcdef",
            }),
            setTemplateAnnotation("akko.io/control-plane-digest", "fedcba9876543210"),
        ],
        [
            "the issuer fingerprint on the identity controller",
            stored("Deployment", "linkerd-identity", { "linkerd.io/created-by": "linkerd/helm edge-26.8.3" }),
            setTemplateAnnotation("akko.io/issuer-sha256", "A".repeat(64)),
        ],
    ];
    for (const [why, old, change] of allowed) {
        it(`admits ${why}`, () => assert.deepEqual(refusals(old, admitted(old, change)), []));
    }

    it("admits the Jobs' patches even when the field manager's entry is new and the generation moves", () => {
        const old = stored("Deployment", "trino");
        const object = admitted(old, rolloutRestart, "kubectl-rollout");
        assert.equal(
            object.metadata.generation,
            old.metadata.generation + 1,
            "the corpus carries the server's changes",
        );
        assert.notDeepEqual(object.metadata.managedFields, old.metadata.managedFields);
        assert.deepEqual(refusals(old, object), []);
        assert.deepEqual(
            [...RESTART_ANNOTATIONS],
            ["kubectl.kubernetes.io/restartedAt", "akko.io/control-plane-digest", "akko.io/issuer-sha256"],
        );
    });

    const deployment = stored("Deployment", "trino", { "linkerd.io/inject": "enabled" });
    const statefulSet = stored("StatefulSet", "postgres");
    const daemonSet = stored("DaemonSet", "fluent-bit");
    /** [why, stored object, the hostile change]; the server's own changes are applied on top. */
    const hostile: [string, any, (o: any) => void][] = [
        // Refused before this policy was rewritten.
        ["another image", deployment, (o) => (o.spec.template.spec.containers[0].image = "evil:1")],
        ["zero replicas", deployment, (o) => (o.spec.replicas = 0)],
        ["a pod label", deployment, (o) => (o.spec.template.metadata.labels.extra = "x")],
        [
            "another pod annotation value",
            deployment,
            (o) => (o.spec.template.metadata.annotations["linkerd.io/inject"] = "disabled"),
        ],
        [
            "a removed pod annotation",
            deployment,
            (o) => delete o.spec.template.metadata.annotations["linkerd.io/inject"],
        ],
        [
            "a new pod annotation",
            deployment,
            (o) => (o.spec.template.metadata.annotations["config.linkerd.io/skip-inbound-ports"] = "1-65535"),
        ],
        ["another selector", deployment, (o) => (o.spec.selector.matchLabels["app.kubernetes.io/name"] = "x")],
        // Admitted before this policy was rewritten (13 of 27 hostile patches).
        ["spec.paused", deployment, (o) => (o.spec.paused = true)],
        ["strategy Recreate", deployment, (o) => (o.spec.strategy = { type: "Recreate" })],
        ["maxUnavailable 100%", deployment, (o) => (o.spec.strategy.rollingUpdate.maxUnavailable = "100%")],
        ["progressDeadlineSeconds", deployment, (o) => (o.spec.progressDeadlineSeconds = 1)],
        ["revisionHistoryLimit 0", deployment, (o) => (o.spec.revisionHistoryLimit = 0)],
        ["minReadySeconds", deployment, (o) => (o.spec.minReadySeconds = 86400)],
        [
            "a dangling ownerReference (the garbage collector then deletes the workload)",
            deployment,
            (o) =>
                (o.metadata.ownerReferences = [
                    { apiVersion: "v1", kind: "ConfigMap", name: "gone", uid: "0000", blockOwnerDeletion: true },
                ]),
        ],
        ["a finalizer", deployment, (o) => (o.metadata.finalizers = ["example.com/never"])],
        ["an object label", deployment, (o) => (o.metadata.labels["app.kubernetes.io/managed-by"] = "someone-else")],
        [
            "an object annotation",
            deployment,
            (o) => (o.metadata.annotations["argocd.argoproj.io/sync-options"] = "Prune=false"),
        ],
        ["StatefulSet updateStrategy OnDelete", statefulSet, (o) => (o.spec.updateStrategy = { type: "OnDelete" })],
        ["DaemonSet updateStrategy OnDelete", daemonSet, (o) => (o.spec.updateStrategy = { type: "OnDelete" })],
        [
            "PVC retention whenDeleted: Delete",
            statefulSet,
            (o) => (o.spec.persistentVolumeClaimRetentionPolicy.whenDeleted = "Delete"),
        ],
        [
            "an added volumeClaimTemplate",
            statefulSet,
            (o) =>
                o.spec.volumeClaimTemplates.push({
                    ...clone(o.spec.volumeClaimTemplates[0]),
                    metadata: { name: "more", creationTimestamp: null },
                }),
        ],
        // More of the same family.
        [
            "a restart together with another image",
            deployment,
            (o) => (rolloutRestart(o), (o.spec.template.spec.containers[0].image = "evil:1")),
        ],
        [
            "a restart together with a pod label",
            deployment,
            (o) => (rolloutRestart(o), (o.spec.template.metadata.labels.extra = "x")),
        ],
        [
            "a restart annotation on the object instead of its pod template",
            deployment,
            (o) => (o.metadata.annotations["kubectl.kubernetes.io/restartedAt"] = "now"),
        ],
        [
            "the Deployment's revision annotation",
            deployment,
            (o) => (o.metadata.annotations["deployment.kubernetes.io/revision"] = "1"),
        ],
        ["removed object annotations", deployment, (o) => delete o.metadata.annotations],
        ["another ServiceAccount", deployment, (o) => (o.spec.template.spec.serviceAccountName = "admin")],
        ["host networking", deployment, (o) => (o.spec.template.spec.hostNetwork = true)],
        ["a pod-template name", deployment, (o) => (o.spec.template.metadata.name = "x")],
        ["StatefulSet podManagementPolicy Parallel", statefulSet, (o) => (o.spec.podManagementPolicy = "Parallel")],
        ["StatefulSet partition", statefulSet, (o) => (o.spec.updateStrategy.rollingUpdate.partition = 5)],
        ["StatefulSet serviceName", statefulSet, (o) => (o.spec.serviceName = "elsewhere")],
        [
            "PVC retention whenScaled: Delete",
            statefulSet,
            (o) => (o.spec.persistentVolumeClaimRetentionPolicy.whenScaled = "Delete"),
        ],
        ["DaemonSet maxUnavailable", daemonSet, (o) => (o.spec.updateStrategy.rollingUpdate.maxUnavailable = "100%")],
        // Fields no Kubernetes version has today: refused because they are not the restart annotations.
        ["a spec field that does not exist yet", deployment, (o) => (o.spec.futureDeletePolicy = "Now")],
        ["a metadata field that does not exist yet", deployment, (o) => (o.metadata.futureField = "x")],
        ["a pod-template field that does not exist yet", deployment, (o) => (o.spec.template.futureField = { x: 1 })],
        ["a top-level field that does not exist yet", daemonSet, (o) => (o.futureSpec = { paused: true })],
    ];
    for (const [why, old, change] of hostile) {
        it(`refuses ${why}`, () => assert.notDeepEqual(refusals(old, admitted(old, change)), [], "admitted"));
    }

    it("says what was refused", () => {
        assert.deepEqual(
            refusals(
                deployment,
                admitted(deployment, (o) => (o.spec.paused = true)),
            ),
            ["the maintenance Jobs may not change a workload's spec or its pod template, only restart it"],
        );
        assert.deepEqual(
            refusals(
                deployment,
                admitted(deployment, (o) => (o.metadata.finalizers = ["x"])),
            ),
            [
                "the maintenance Jobs may not change a workload's metadata (labels, annotations, owners, finalizers) or status",
            ],
        );
        assert.deepEqual(
            refusals(deployment, admitted(deployment, setTemplateAnnotation("linkerd.io/inject", "disabled"))),
            [
                "the maintenance Jobs may only set kubectl.kubernetes.io/restartedAt, akko.io/control-plane-digest, akko.io/issuer-sha256 on a pod template",
            ],
        );
    });

    it("relies on nothing the two CEL engines disagree on", () => {
        // The divergence: a null-valued key is absent for has() and `in` here, present in Kubernetes.
        assert.equal(celRun("has(m.x)", { m: { x: null } }), false);
        assert.equal(celRun("'x' in m", { m: { x: null } }), false);
        // Every admitted restart above carries such a key (the pod template's creationTimestamp): were
        // the policy to ask `in` or has() of that map, this engine would refuse what Kubernetes admits.
        const old = stored("Deployment", "trino");
        assert.ok(
            "creationTimestamp" in old.spec.template.metadata && old.spec.template.metadata.creationTimestamp === null,
        );
        assert.deepEqual(refusals(old, admitted(old, rolloutRestart)), []);
        for (const validation of policy.validations) {
            for (const [, argument] of validation.expression.matchAll(/has\(([^)]*)\)/g)) {
                assert.match(
                    argument,
                    /\.annotations$/,
                    "has() only of annotation maps, which the API leaves out rather than null",
                );
            }
        }
    });

    it("applies to the maintenance identities' updates of workloads only", () => {
        assert.deepEqual(policy.matchConstraints.resourceRules[0].resources, [
            "deployments",
            "statefulsets",
            "daemonsets",
        ]);
        assert.deepEqual(policy.matchConstraints.resourceRules[0].operations, ["UPDATE"]);
        assert.equal(policy.failurePolicy, "Fail");
    });

    it("is registered with a binding that denies, matching the maintenance identities", async () => {
        const run = await runStackOk("netcup", { "mtls.enabled": true });
        const vap = one(
            run,
            "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
            "akko-maintenance-restart-only",
        );
        assert.equal(
            vap.inputs.spec.matchConditions[0].expression,
            "request.userInfo.username in ['system:serviceaccount:linkerd-maintenance:linkerd-mesh-check', 'system:serviceaccount:linkerd-maintenance:linkerd-mesh-rollout']",
        );
        assert.deepEqual(
            vap.inputs.spec.validations.map((v: { expression: string }) => v.expression),
            policy.validations.map((v) => v.expression),
        );
        const binding = one(
            run,
            "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding",
            "akko-maintenance-restart-only",
        );
        assert.deepEqual(binding.inputs.spec, { policyName: "akko-mtls-restart-only", validationActions: ["Deny"] });
        const matches = (username: string) =>
            celRun(vap.inputs.spec.matchConditions[0].expression, { request: { userInfo: { username } } });
        assert.equal(matches(ROLLOUT), true);
        assert.equal(matches("system:serviceaccount:kube-system:deployment-controller"), false);
    });
});

describe("the identities an admission policy confines act only once it is enforced", () => {
    const POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy";
    const BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding";
    /** Who a pod template runs as, as the API server names it in admission requests. */
    const runsAs = (namespace: string, template: any) =>
        `system:serviceaccount:${namespace}:${template?.spec?.serviceAccountName ?? "default"}`;
    /** Whether an enforced policy's match conditions select requests made by `username` (evaluated with CEL). */
    const selects = (vap: RecordedResource, username: string) =>
        (vap.inputs.spec.matchConditions ?? []).every(
            (c: { expression: string }) => celRun(c.expression, { request: { userInfo: { username } } }) === true,
        );

    for (const [stack, overrides] of [
        ["netcup", { "mtls.enabled": true }],
        ["k3d", { "mtls.enabled": true, "mtls.mode": "strict" }],
        ["eks", { "mtls.enabled": true }],
    ] as const) {
        it(`${stack}: every Job, CronJob and RoleBinding of a confined identity depends on its policy and the binding that enforces it`, async () => {
            const run = await runStackOk(stack, overrides);
            const enforced = ofType(run, BINDING)
                .filter((b) => b.inputs.spec.validationActions.includes("Deny"))
                .map((binding) => ({
                    binding,
                    policy: ofType(run, POLICY).find((p) => p.inputs.metadata.name === binding.inputs.spec.policyName)!,
                }));
            assert.ok(enforced.length >= 1 && enforced.every((e) => e.policy), `${stack}: enforced policies`);
            let confined = 0;
            for (const resource of run.resources.filter((r) => !r.read)) {
                const namespace = resource.inputs.metadata?.namespace;
                const users =
                    resource.type === "kubernetes:batch/v1:Job"
                        ? [runsAs(namespace, resource.inputs.spec.template)]
                        : resource.type === "kubernetes:batch/v1:CronJob"
                          ? [runsAs(namespace, resource.inputs.spec.jobTemplate.spec.template)]
                          : resource.type === "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
                            ? resource.inputs.subjects.map((s: any) => `system:serviceaccount:${s.namespace}:${s.name}`)
                            : [];
                for (const { policy, binding } of enforced) {
                    if (!users.some((user: string) => selects(policy, user))) continue;
                    confined++;
                    assert.ok(
                        dependsOn(run, resource, binding),
                        `${stack}: ${resource.name} does not wait for ${binding.name}`,
                    );
                    assert.ok(
                        dependsOn(run, resource, policy),
                        `${stack}: ${resource.name} does not wait for ${policy.name}`,
                    );
                }
            }
            // The rollout Job, the CronJob and their RoleBindings at least; with cert-manager, the API check too.
            assert.ok(confined >= 4, `${stack}: ${confined} confined resources`);
        });
    }
});
