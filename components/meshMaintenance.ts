import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { dryRunOnlyPolicy, requestedBy } from "../lib/dryRunOnlyPolicy";
import {
    accountOf,
    CRON_NAME,
    maintenancePlan,
    maintenancePodTemplate,
    RESTART_ANNOTATIONS,
    RESTART_ONLY_POLICY,
    SCRIPT_MODULES,
    type Confinement,
    type IdentityKind,
    type IdentityPlan,
    type JobName,
    type JobPlan,
    type MaintenancePlan,
    type MaintenancePlanArgs,
} from "../lib/maintenancePlan";
import type { NetworkPolicySpec } from "../lib/networkPolicies";
import { toK8sResources } from "./certManager";
import { namespaceObject, networkPolicyObject } from "../lib/objects";

export type { IssuerSource } from "../lib/maintenancePlan";

/** The script every maintenance Job runs, kept in the repository as a file. */
export const MESH_CHECK_SCRIPT_PATH = path.join(__dirname, "..", "cluster", "mesh-check.mjs");

export interface MeshMaintenanceArgs extends MaintenancePlanArgs {
    /** Image with `node` (runs the script); pinned by digest. */
    image: pulumi.Input<string>;
    /** Image whose static `/usr/bin/kubectl` the init container copies; pinned by digest. */
    kubectlImage: pulumi.Input<string>;
    /** The Jobs' NetworkPolicy on a default-deny-everywhere platform (lib/networkPolicies.ts); omit for none. */
    networkPolicy?: NetworkPolicySpec;
}

/** The second stage: what every Job that touches the control plane waits for. */
export interface AfterControlPlane {
    /** The control plane (and what is written after its chart): the strict preflight, the CronJob and the rollout wait for it. */
    controlPlane: pulumi.Resource[];
}

/** The last stage: what the rollout also waits for. */
export interface AfterNamespaces {
    /** The meshed namespaces' objects (annotations, authorizations, the ingress controller's): made after the checks they wait for. */
    namespaces: pulumi.Resource[];
}

/** What the constructor's helpers share: the component's name, its Jobs' namespace, the plan. */
interface Context {
    name: string;
    namespace: pulumi.Output<string>;
    plan: MaintenancePlan;
    args: MeshMaintenanceArgs;
    scriptConfigMap: pulumi.Output<string>;
    /** The policies (and bindings) that confine an identity's rights. */
    confinement: Record<Confinement, pulumi.Resource[]>;
    /** The identities made, by kind. */
    identities: ReadonlyMap<IdentityKind, Identity>;
    /** The Jobs made so far, by name. */
    made: Map<JobName, k8s.batch.v1.Job>;
}

/** An identity as made: its ServiceAccount's name, the policies confining it, and what its rights are ready after. */
interface Identity {
    account: string;
    confinedBy: pulumi.Resource[];
    ready: pulumi.Resource[];
}

/** The stage a Job is made in: the last of its waits to exist ("checks" are made with the control-plane stage). */
type Stage = "constructor" | "control-plane" | "namespaces";

const stageOf = (job: JobPlan): Stage =>
    job.waitsFor.includes("namespaces")
        ? "namespaces"
        : job.waitsFor.some((w) => w === "control-plane" || w === "checks")
          ? "control-plane"
          : "constructor";

/** What the waits a Job names resolve to, as far as the stages so far know them. */
interface Waits {
    controlPlane: pulumi.Resource[];
    namespaces: pulumi.Resource[];
}

/**
 * Keeps the data plane in line with the mesh (cluster/mesh-check.mjs), from its own namespace,
 * which enforces Pod Security `restricted`:
 * - the daily rotation CronJob checks the issuer chains to the trust bundle, alerts on time left,
 *   and restarts what runs with an old bundle, policy or proxy version;
 * - the rollout Job of a `pulumi up` restarts the control plane and the workloads that do not match
 *   the mesh as configured (safe enable, a mode switch, rotation phases, a drain), then proves every
 *   meshed proxy trusts the current bundle; `pulumi up` waits for it;
 * - in strict mode a preflight Job proves, before the namespaces' policy changes, that no probe or
 *   Ingress would be refused; the network preflight, the Pod Security check and the rotation gate
 *   prove what the mesh's policies, the namespaces' annotations and the trust bundle assume.
 *
 * Made in stages, in the order the mesh's objects wait for one another (each Job's waits are the
 * plan's `waitsFor`): the constructor makes the namespace, the identities, the script and the Jobs
 * that wait for nothing of the mesh (the network preflight, the Pod Security check, the rotation gate:
 * the control plane's trust bundle and the namespaces wait for them); {@link afterControlPlane} the
 * strict preflight and the CronJob; {@link afterNamespaces} the rollout, and completes the component.
 * Every child's name and parent are the same whatever the stage: the URNs do not depend on it.
 *
 * What runs, with which environment and rights, is the plan's (lib/maintenancePlan.ts); this only
 * makes it. Least privilege: one ServiceAccount per Job kind, each with what its tasks need and no
 * more; no Secret is readable (the issuer is checked from its public certificate) but the links'
 * credentials Secrets, by name, to the rollout of a stack with links (lib/maintenancePlan.ts
 * REMOTE_TRUST_SECRET_READ); the right to patch
 * workloads is confined by a ValidatingAdmissionPolicy to the restart annotations, the right to create
 * pods to dry runs; only the container that runs kubectl gets a token.
 */
export class MeshMaintenance extends pulumi.ComponentResource {
    /** The namespace the Jobs run in. */
    public readonly namespace: pulumi.Output<string>;
    /** Rotation phase 3's gate Job, if any: the trust bundle waits for it. */
    public readonly rotationGate: k8s.batch.v1.Job | undefined;
    /** The network preflight Job, if any: the mesh's NetworkPolicies and the namespaces' annotations wait for it. */
    public readonly networkPreflight: k8s.batch.v1.Job | undefined;
    /** The Pod Security check Job, if any: the namespaces' annotations (and the ingress controller's) wait for it. */
    public readonly podSecurityCheck: k8s.batch.v1.Job | undefined;
    private readonly context: Context;
    private controlPlaneStage: ControlPlaneStage | undefined;
    private finished = false;

    constructor(name: string, args: MeshMaintenanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:MeshMaintenance", name, {}, opts);
        const plan = maintenancePlan(args);
        const { labels } = plan;

        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            namespaceObject({
                name: plan.namespace.name,
                labels: plan.namespace.labels,
                annotations: plan.namespace.annotations,
            }),
            { parent: this },
        );
        this.namespace = namespace.metadata.name;
        const ns = namespace.metadata.name;
        if (args.networkPolicy) {
            new k8s.networking.v1.NetworkPolicy(`${name}-network-policy`, networkPolicyObject(args.networkPolicy, ns), {
                parent: this,
            });
        }
        const cluster = path.join(__dirname, "..", "cluster");
        const script = new k8s.core.v1.ConfigMap(
            `${name}-script`,
            {
                metadata: { name: "linkerd-mesh-check-script", namespace: ns, labels },
                data: {
                    "mesh-check.mjs": fs.readFileSync(MESH_CHECK_SCRIPT_PATH, "utf8"),
                    ...Object.fromEntries(
                        SCRIPT_MODULES.map((file) => [file, fs.readFileSync(path.join(cluster, file), "utf8")]),
                    ),
                },
            },
            { parent: this },
        );
        const confinement = this.confinement(name, ns, plan);
        const base = { name, namespace: ns, plan, args, scriptConfigMap: script.metadata.name, confinement };
        const identities = new Map<IdentityKind, Identity>(
            plan.identities.map((identity) => [identity.kind, this.identity(base, identity)]),
        );
        this.context = { ...base, identities, made: new Map() };

        this.makeJobs("constructor", { controlPlane: [], namespaces: [] });
        this.networkPreflight = this.context.made.get("network-preflight");
        this.podSecurityCheck = this.context.made.get("pod-security");
        this.rotationGate = this.context.made.get("rotation-gate");
    }

    /**
     * The second stage, once the control plane is declared: the strict preflight and the rotation
     * CronJob, which wait for it. The namespaces' objects wait for the preflight it returns.
     */
    public afterControlPlane(stage: AfterControlPlane): ControlPlaneStage {
        if (this.controlPlaneStage)
            throw new Error(`MeshMaintenance ${this.context.name}: afterControlPlane was already called`);
        const waits = { controlPlane: stage.controlPlane, namespaces: [] };
        this.makeJobs("control-plane", waits);
        const cron = this.cron(waits);
        this.controlPlaneStage = {
            controlPlane: stage.controlPlane,
            preflight: this.context.made.get("preflight"),
            ...cron,
        };
        return this.controlPlaneStage;
    }

    /** The last stage, once the meshed namespaces' objects are declared: the rollout, which waits for them; completes the component. */
    public afterNamespaces(stage: AfterNamespaces): NamespacesStage {
        const before = this.controlPlaneStage;
        if (!before)
            throw new Error(`MeshMaintenance ${this.context.name}: afterNamespaces needs afterControlPlane first`);
        if (this.finished) throw new Error(`MeshMaintenance ${this.context.name}: afterNamespaces was already called`);
        this.finished = true;
        this.makeJobs("namespaces", { controlPlane: before.controlPlane, namespaces: stage.namespaces });
        const rollout = this.context.made.get("rollout");
        this.registerOutputs({
            namespace: this.namespace,
            schedule: before.schedule,
            cronJob: before.cronJob,
            rollout,
            preflight: before.preflight,
            rotationGate: this.rotationGate,
            networkPreflight: this.networkPreflight,
            podSecurityCheck: this.podSecurityCheck,
        });
        return { rollout };
    }

    /** The plan's one-shot Jobs of a stage, in the plan's order. */
    private makeJobs(stage: Stage, waits: Waits): void {
        const { plan, made } = this.context;
        for (const job of plan.jobs.filter((j) => stageOf(j) === stage))
            made.set(job.resourceName, this.oneShot(job, waits));
    }

    /** The daily rotation CronJob, if the plan has one, at a minute fixed per stack. */
    private cron(waits: Waits): Pick<ControlPlaneStage, "cronJob" | "schedule"> {
        const { name, plan, namespace } = this.context;
        if (!plan.cron) return { cronJob: undefined, schedule: undefined };
        const cron = plan.cron;
        if (stageOf(cron.job) === "namespaces")
            throw new Error("maintenance plan: the CronJob waits for the namespaces' objects, made after this stage");
        const minute = new random.RandomInteger(`${name}-minute`, cron.minuteRange, { parent: this });
        const schedule = minute.result.apply(cron.schedule);
        const cronJob = new k8s.batch.v1.CronJob(
            `${name}-cronjob`,
            {
                metadata: { name: CRON_NAME, namespace, labels: plan.labels },
                spec: {
                    schedule,
                    timeZone: "Etc/UTC",
                    concurrencyPolicy: "Forbid",
                    startingDeadlineSeconds: 3600,
                    successfulJobsHistoryLimit: 3,
                    failedJobsHistoryLimit: 5,
                    jobTemplate: {
                        metadata: { labels: plan.labels },
                        spec: jobSpec(this.context, cron.job, this.identityOf(cron.job)),
                    },
                },
            },
            { parent: this, dependsOn: this.waitsOf(cron.job, waits) },
        );
        return { cronJob, schedule };
    }

    /**
     * The admission policies that confine the Jobs' rights, made before any identity they confine: the
     * RoleBindings that grant the rights, and the Jobs that use them, wait for the policy and its
     * binding (a Job that ran before them would act unconfined).
     */
    private confinement(
        name: string,
        ns: pulumi.Output<string>,
        plan: MaintenancePlan,
    ): Record<Confinement, pulumi.Resource[]> {
        const { labels } = plan;
        const pair = (resourceName: string, policyName: string, spec: object) => {
            const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                `${name}-${resourceName}`,
                { metadata: { name: policyName, labels }, spec },
                { parent: this },
            );
            const binding = new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                `${name}-${resourceName}`,
                {
                    metadata: { name: policyName, labels },
                    spec: { policyName: policy.metadata.name, validationActions: ["Deny"] },
                },
                { parent: this },
            );
            return [policy, binding];
        };
        const user = (kind: IdentityKind) => pulumi.interpolate`system:serviceaccount:${ns}:${accountOf(kind)}`;
        // The Jobs' only right to change workloads: the restart annotations, nothing else.
        const restartOnly = pair(
            "restart-only",
            RESTART_ONLY_POLICY,
            restartOnlyPolicy(plan.restartingIdentities.map(user)),
        );
        const dryRun = plan.podSecurityDryRunOnly;
        return {
            "restart-only": restartOnly,
            "pod-security-dry-run-only": dryRun
                ? pair(
                      "pod-security-dry-run-only",
                      dryRun.name,
                      dryRunOnlyPolicy({ use: dryRun.use, identity: user("pod-security").apply(requestedBy) }),
                  )
                : [],
        };
    }

    /** A ServiceAccount in the Jobs' namespace and its Roles, namespace by namespace. */
    private identity(
        context: Pick<Context, "name" | "namespace" | "plan" | "confinement">,
        identity: IdentityPlan,
    ): Identity {
        const { name, namespace: ns, plan } = context;
        const metadata = (namespace: pulumi.Input<string>) => ({
            name: identity.account,
            namespace,
            labels: plan.labels,
        });
        const account = new k8s.core.v1.ServiceAccount(
            `${name}-${identity.kind}-account`,
            // The token is mounted by hand, into the one container that calls the API.
            { metadata: metadata(ns), automountServiceAccountToken: false },
            { parent: this },
        );
        const subject = { kind: "ServiceAccount", name: account.metadata.name, namespace: ns };
        // An identity whose rights a policy confines gets them only once the policy is there.
        const confinedBy = identity.confinedBy.flatMap((c) => context.confinement[c]);
        const bindings = identity.grants
            .filter((grant) => grant.rules.length > 0)
            .map((grant) => {
                const resourceName = `${name}-${identity.kind}-${grant.suffix}`;
                const role = new k8s.rbac.v1.Role(
                    resourceName,
                    { metadata: metadata(grant.namespace), rules: grant.rules },
                    { parent: this },
                );
                return new k8s.rbac.v1.RoleBinding(
                    resourceName,
                    {
                        metadata: metadata(grant.namespace),
                        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                        subjects: [subject],
                    },
                    { parent: this, dependsOn: confinedBy },
                );
            });
        return { account: identity.account, confinedBy, ready: [account, ...bindings] };
    }

    /** The identity a Job runs as. */
    private identityOf(job: JobPlan): Identity {
        const identity = this.context.identities.get(job.identity);
        if (!identity)
            throw new Error(
                `maintenance plan: Job ${job.resourceName} runs as ${job.identity}, which the plan does not make`,
            );
        return identity;
    }

    /** What a Job waits for: the policies confining its identity, its rights, then what its plan names. */
    private waitsOf(job: JobPlan, waits: Waits): pulumi.Resource[] {
        const { made } = this.context;
        const identity = this.identityOf(job);
        const own = [...identity.confinedBy, ...identity.ready];
        const controlPlane = job.waitsFor.includes("control-plane") ? waits.controlPlane : [];
        const checks = job.waitsFor.includes("checks")
            ? [made.get("preflight"), made.get("pod-security")].filter((j) => j !== undefined)
            : [];
        const namespaces = job.waitsFor.includes("namespaces") ? waits.namespaces : [];
        return [...own, ...controlPlane, ...checks, ...namespaces];
    }

    /** A Job named after what it enforces: the same inputs keep the same Job (no diff, no run). */
    private oneShot(job: JobPlan, waits: Waits): k8s.batch.v1.Job {
        const context = this.context;
        const digest = pulumi
            .all(Object.entries(job.env).map(([key, value]) => pulumi.output(value).apply((v) => [key, v] as const)))
            .apply((entries) => crypto.createHash("sha256").update(JSON.stringify(entries)).digest("hex").slice(0, 10));
        const timeout = context.plan.awaitTimeout;
        return new k8s.batch.v1.Job(
            `${context.name}-${job.resourceName}`,
            {
                metadata: {
                    name: pulumi.interpolate`${job.prefix}-${digest}`,
                    namespace: context.namespace,
                    labels: context.plan.labels,
                    // A Job that failed stays in state with init errors and every later `up` would
                    // re-await it and fail again (pulumi engine step_generator.go "hasInitErrors");
                    // this makes the provider replace it, i.e. run it again
                    // (pulumi-kubernetes provider/pkg/provider/provider.go Diff, Jobs only).
                    annotations: { "pulumi.com/replaceUnready": "true" },
                },
                spec: jobSpec(context, job, this.identityOf(job)),
            },
            { parent: this, dependsOn: this.waitsOf(job, waits), customTimeouts: { create: timeout, update: timeout } },
        );
    }
}

/** What {@link MeshMaintenance.afterControlPlane} made. */
export interface ControlPlaneStage {
    /** What the control plane stage waited for: the rollout waits for it too. */
    controlPlane: pulumi.Resource[];
    /** The strict-mode preflight Job, if any: strict namespaces' annotations wait for it. */
    preflight: k8s.batch.v1.Job | undefined;
    /** The rotation CronJob, if any. */
    cronJob: k8s.batch.v1.CronJob | undefined;
    /** Cron schedule of the rotation Job (UTC), fixed per stack; undefined without it. */
    schedule: pulumi.Output<string> | undefined;
}

/** What {@link MeshMaintenance.afterNamespaces} made. */
export interface NamespacesStage {
    /** The one-shot rollout Job, if any. */
    rollout: k8s.batch.v1.Job | undefined;
}

/** A Job's spec: one try (a failed run is an alert, KubeJobFailed, not something to retry blindly), within the deadline. */
function jobSpec(context: Context, job: JobPlan, identity: Identity) {
    const { plan, args } = context;
    return {
        backoffLimit: 0,
        activeDeadlineSeconds: plan.deadlineSeconds,
        template: maintenancePodTemplate({
            labels: plan.labels,
            account: identity.account,
            env: { ...plan.sharedEnv, ...job.env },
            podLabels: job.podLabels,
            memory: plan.memory,
            image: args.image,
            kubectlImage: args.kubectlImage,
            resources: args.resources ? toK8sResources(args.resources) : undefined,
            scriptConfigMap: context.scriptConfigMap,
        }),
    };
}

/**
 * Object metadata the API server itself changes between `oldObject` and `object` by the time
 * validating admission runs on a PATCH (k8s.io/apiserver v0.31.0 pkg/registry/generic/registry/store.go
 * Update: the patch and the field manager give the new object, managedFields included; its
 * resourceVersion is the stored one or the update fails before admission; rest.BeforeUpdate resets
 * `generation` to the old one and the strategy's PrepareForUpdate bumps it when the spec changed
 * (kubernetes pkg/registry/apps/{deployment,daemonset}/strategy.go); only then `updateValidation`, the
 * validating admission plugins, run).
 */
const SERVER_SET_METADATA = ["managedFields", "generation"] as const;
/**
 * Object annotations the API server derives: a DaemonSet's template generation, bumped by its
 * strategy on any template change and written back as this annotation when the object is converted
 * to apps/v1 (kubernetes pkg/apis/apps/v1/conversion.go Convert_apps_DaemonSet_To_v1_DaemonSet); a
 * client cannot set it (PrepareForUpdate resets it).
 */
const SERVER_SET_ANNOTATIONS = ["deprecated.daemonset.template.generation"] as const;

/** A CEL list of string literals. */
const celList = (items: readonly string[]) => `[${items.map((i) => `'${i}'`).join(", ")}]`;

/**
 * CEL: maps `a` and `b` hold the same keys, `except` aside, with equal values. Written with what
 * Kubernetes' CEL and @bufbuild/cel (the tests' evaluator) agree on: keys of a map are listed with
 * `filter` and compared as lists (`in` on a list), never `k in map` or `has()`, which disagree on a key
 * whose value is null (`template.metadata.creationTimestamp: null`): Kubernetes evaluates a plain
 * map (below), where such a key is present; @bufbuild/cel treats it as absent.
 */
function sameExcept(a: string, b: string, except: readonly string[]): string {
    const keys = (map: string) => `dyn(${map}).filter(f, !(f in ${celList(except)}))`;
    return `(size(${keys(a)}) == size(${keys(b)}) && ${keys(a)}.all(k, k in ${keys(b)} && dyn(${a})[k] == dyn(${b})[k]))`;
}

/** CEL: an annotation map that may be absent (the API omits an empty one) as a map; `has()` is safe, it is never null. */
const orEmpty = (annotations: string) => `(has(${annotations}) ? dyn(${annotations}) : {})`;

/**
 * A ValidatingAdmissionPolicy that lets the maintenance identities change a workload's pod-template
 * annotations listed in {@link RESTART_ANNOTATIONS} and nothing else. Said as "the new object equals
 * the old one except these annotations" (and what the API server sets itself), never as a list of
 * forbidden fields: a field Kubernetes adds tomorrow is refused too.
 *
 * How Kubernetes evaluates it (k8s.io/apiserver, read at v0.31.0 and v0.36.3): the policy's
 * expressions are compiled with `object` and `oldObject` declared `dyn`
 * (pkg/admission/plugin/cel/compile.go); at run time they are the objects converted to plain
 * unstructured maps (condition.go / filter.go `objectToResolveVal`: "TODO: replace unstructured with
 * ref.Val ... when native type support is available"), so iterating their keys and indexing them like
 * maps evaluates. The typed check against the OpenAPI schema (pkg/admission/plugin/policy/validating/
 * typechecking.go) only writes warnings into the policy's status; `dyn(...)` keeps it quiet there
 * (an object type is not a comprehension range; `dyn` is). An expression that errors denies
 * (failurePolicy Fail); the cost limit is checked at run time only (no estimated-cost check for
 * these), and the objects compared are a workload's few kilobytes.
 */
export function restartOnlyPolicy(accounts: pulumi.Input<string>[]) {
    const template = (o: string) => `${o}.spec.template`;
    return {
        failurePolicy: "Fail",
        matchConstraints: {
            resourceRules: [
                {
                    apiGroups: ["apps"],
                    apiVersions: ["v1"],
                    operations: ["UPDATE"],
                    resources: ["deployments", "statefulsets", "daemonsets"],
                },
            ],
        },
        matchConditions: [
            {
                name: "maintenance-identities",
                expression: pulumi
                    .all(accounts)
                    .apply((names) => `request.userInfo.username in [${names.map((n) => `'${n}'`).join(", ")}]`),
            },
        ],
        validations: [
            {
                expression: [
                    sameExcept("object", "oldObject", ["metadata", "spec"]),
                    sameExcept("object.metadata", "oldObject.metadata", [...SERVER_SET_METADATA, "annotations"]),
                    sameExcept(
                        orEmpty("object.metadata.annotations"),
                        orEmpty("oldObject.metadata.annotations"),
                        SERVER_SET_ANNOTATIONS,
                    ),
                ].join(" && "),
                message:
                    "the maintenance Jobs may not change a workload's metadata (labels, annotations, owners, finalizers) or status",
            },
            {
                expression: [
                    sameExcept("object.spec", "oldObject.spec", ["template"]),
                    sameExcept(template("object"), template("oldObject"), ["metadata"]),
                    sameExcept(`${template("object")}.metadata`, `${template("oldObject")}.metadata`, ["annotations"]),
                ].join(" && "),
                message: "the maintenance Jobs may not change a workload's spec or its pod template, only restart it",
            },
            {
                expression: sameExcept(
                    orEmpty(`${template("object")}.metadata.annotations`),
                    orEmpty(`${template("oldObject")}.metadata.annotations`),
                    RESTART_ANNOTATIONS,
                ),
                message: `the maintenance Jobs may only set ${RESTART_ANNOTATIONS.join(", ")} on a pod template`,
            },
        ],
    };
}
