import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { LINKERD_OBJECTS } from "../lib/registry";
import { toK8sResources } from "./certManager";
import type { ResourceValues } from "./linkerdControlPlane";

/** The script both Jobs run, kept in the repository as a file. */
export const MESH_CHECK_SCRIPT_PATH = path.join(__dirname, "..", "scripts", "mesh-check.mjs");

export interface RotationSchedule {
    /** First hour (UTC) of the window the daily run falls in. */
    windowStartHour: number;
    /** Length of the window, hours; the minute inside it is drawn once per stack. */
    windowHours: number;
    /** Fail (alert) when the issuer has fewer hours left. */
    issuerMinHoursLeft: number;
    /** Fail (alert) when a trust anchor has fewer days left. */
    anchorMinDaysLeft: number;
}

export interface MeshMaintenanceArgs {
    /** The control-plane namespace (holds the issuer Secret and the trust-roots ConfigMap). */
    namespace: pulumi.Input<string>;
    /** How the issuer Secret is laid out (`crt.pem` or `tls.crt`). */
    issuerScheme: "linkerd.io/tls" | "kubernetes.io/tls";
    /** Namespaces whose pods must run a proxy. */
    meshedNamespaces: string[];
    /** Namespaces being drained: their pods must not run a proxy any more. */
    unmeshedNamespaces?: string[];
    /** Default inbound policy each meshed namespace's proxies must have been injected with. */
    expectedInboundPolicy?: Record<string, string>;
    /** The daily rotation CronJob; omit for none. */
    rotation?: RotationSchedule;
    /**
     * Run a one-shot Job in this `pulumi up` that brings every pod in line with the mesh as
     * configured (a new Job each time the namespaces or modes change; Pulumi waits for it).
     * @default true
     */
    rollout?: boolean;
    /**
     * Workloads restarted at the same time.
     * @default 2
     */
    maxConcurrentRestarts?: number;
    /**
     * How long one restart may take before the Job gives up and fails.
     * @default 600
     */
    rolloutTimeoutSeconds?: number;
    /**
     * A Job is stopped after this long (activeDeadlineSeconds); the script starts no restart it
     * could not finish before it, and `pulumi up` waits this plus 5 minutes for the rollout Job.
     * @default 50
     */
    deadlineMinutes?: number;
    /**
     * What the control-plane pods must have started with (the trust bundle, static webhook
     * certificates): when it changes, the Jobs restart the control plane first. The chart no longer
     * rolls them, since none of this is in its values (linkerdControlPlane.ts).
     */
    controlPlaneDigest?: pulumi.Input<string>;
    /** Image with `node` (runs the script); pinned by digest. */
    image: pulumi.Input<string>;
    /** Image whose static `/usr/bin/kubectl` the init container copies; pinned by digest. */
    kubectlImage: pulumi.Input<string>;
    /** Requests and limits of the check container. */
    resources?: pulumi.Input<ResourceValues>;
    /** What the Jobs wait for (the control plane). */
    waitFor?: pulumi.Input<pulumi.Resource>[];
    /** What the one-shot rollout also waits for (namespace annotations, authorization objects). */
    rolloutWaitFor?: pulumi.Input<pulumi.Resource>[];
}

const ROTATION_NAME = "linkerd-rotation-check";
const ACCOUNT_NAME = "linkerd-mesh-maintenance";
const ISSUER_SECRET = LINKERD_OBJECTS.issuerSecret;
const TRUST_ROOTS = LINKERD_OBJECTS.trustRootsConfigMap;
/** The pod-template annotation the Jobs set when they restart the control plane. */
export const CONTROL_PLANE_DIGEST_ANNOTATION = "akko.io/control-plane-digest";
/** Pulumi waits for the rollout Job this long beyond its own deadline. */
const AWAIT_MARGIN_MINUTES = 5;

/**
 * Keeps the data plane in line with the mesh (scripts/mesh-check.mjs):
 * - the daily rotation CronJob checks the issuer chains to the trust bundle, alerts on time
 *   left, and rolls workloads whose proxies hold an old bundle (rotation phases 1 and 3);
 * - a one-shot rollout Job, after the control plane and the namespace annotations, rolls the
 *   workloads that started before injection (safe enable), after a permissive/strict switch,
 *   or that still run a proxy in a namespace being drained (safe disable).
 *
 * Least privilege, one ServiceAccount for both: in the control-plane namespace it may read
 * one Secret and one ConfigMap, by name; in each meshed or drained namespace it may list
 * pods and restart workloads.
 */
export class MeshMaintenance extends pulumi.ComponentResource {
    /** Cron schedule of the rotation Job (UTC), fixed per stack; undefined without it. */
    public readonly schedule: pulumi.Output<string> | undefined;
    /** The rotation CronJob, if any. */
    public readonly cronJob: k8s.batch.v1.CronJob | undefined;
    /** The one-shot rollout Job, if any. */
    public readonly rollout: k8s.batch.v1.Job | undefined;
    /**
     * Resolves once the rollout Job has completed: records that certify its work (meshState,
     * trustAnchorRotation) depend on it, so a failed `pulumi up` keeps the previous ones.
     */
    public readonly completed: pulumi.Output<string>;

    constructor(name: string, args: MeshMaintenanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:MeshMaintenance", name, {}, opts);

        const labels = { "app.kubernetes.io/name": ACCOUNT_NAME, "app.kubernetes.io/part-of": "akko-mtls" };
        const metadata = (namespace: pulumi.Input<string>, objectName: pulumi.Input<string> = ACCOUNT_NAME) => ({ name: objectName, namespace, labels });
        const script = new k8s.core.v1.ConfigMap(
            `${name}-script`,
            { metadata: metadata(args.namespace), data: { "mesh-check.mjs": fs.readFileSync(MESH_CHECK_SCRIPT_PATH, "utf8") } },
            { parent: this },
        );
        const account = new k8s.core.v1.ServiceAccount(`${name}-account`, { metadata: metadata(args.namespace) }, { parent: this });
        const subject = { kind: "ServiceAccount", name: account.metadata.name, namespace: args.namespace };

        const grant = (suffix: string, namespace: pulumi.Input<string>, rules: k8s.types.input.rbac.v1.PolicyRule[]) => {
            const role = new k8s.rbac.v1.Role(`${name}-${suffix}`, { metadata: metadata(namespace), rules }, { parent: this });
            return new k8s.rbac.v1.RoleBinding(
                `${name}-${suffix}`,
                {
                    metadata: metadata(namespace),
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                    subjects: [subject],
                },
                { parent: this },
            );
        };
        const unmeshed = args.unmeshedNamespaces ?? [];
        const bindings = [
            grant("read-certificates", args.namespace, [
                { apiGroups: [""], resources: ["secrets"], resourceNames: [ISSUER_SECRET], verbs: ["get"] },
                { apiGroups: [""], resources: ["configmaps"], resourceNames: [TRUST_ROOTS], verbs: ["get"] },
                // The control plane's own Deployments, by name: restarted when the trust bundle changes.
                { apiGroups: ["apps"], resources: ["deployments"], resourceNames: [...LINKERD_OBJECTS.controlPlaneDeployments], verbs: ["get", "patch"] },
                { apiGroups: ["apps"], resources: ["deployments", "replicasets"], verbs: ["list", "watch"] },
                { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
            ]),
            ...[...args.meshedNamespaces, ...unmeshed].map((namespace) =>
                grant(`restart-${namespace}`, namespace, [
                    { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                    // `kubectl rollout restart` patches the pod template; `rollout status` watches.
                    {
                        apiGroups: ["apps"],
                        resources: ["deployments", "statefulsets", "daemonsets"],
                        verbs: ["get", "list", "watch", "patch"],
                    },
                ]),
            ),
        ];

        const rolloutTimeout = args.rolloutTimeoutSeconds ?? 600;
        const deadlineSeconds = (args.deadlineMinutes ?? 50) * 60;
        const restricted = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };
        const podTemplate = (env: Record<string, pulumi.Input<string>>) => ({
            metadata: { labels, annotations: { "linkerd.io/inject": "disabled" } },
            spec: {
                serviceAccountName: account.metadata.name,
                restartPolicy: "Never",
                securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
                initContainers: [
                    {
                        name: "kubectl",
                        image: args.kubectlImage,
                        command: ["cp", "/usr/bin/kubectl", "/tools/kubectl"],
                        securityContext: restricted,
                        volumeMounts: [{ name: "tools", mountPath: "/tools" }],
                        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "64Mi" } },
                    },
                ],
                containers: [
                    {
                        name: "check",
                        image: args.image,
                        command: ["node", "/scripts/mesh-check.mjs"],
                        env: Object.entries({
                            LINKERD_NAMESPACE: args.namespace,
                            ISSUER_SECRET,
                            ISSUER_SCHEME: args.issuerScheme,
                            TRUST_ROOTS_CONFIGMAP: TRUST_ROOTS,
                            MAX_CONCURRENT_RESTARTS: String(args.maxConcurrentRestarts ?? 2),
                            ROLLOUT_TIMEOUT_SECONDS: String(rolloutTimeout),
                            // The script's budget: it starts no restart it cannot finish before the Job is killed.
                            DEADLINE_SECONDS: String(deadlineSeconds),
                            CONTROL_PLANE_DEPLOYMENTS: LINKERD_OBJECTS.controlPlaneDeployments.join(","),
                            CONTROL_PLANE_DIGEST: args.controlPlaneDigest ?? "",
                            ...env,
                            PATH: "/tools:/usr/local/bin:/usr/bin:/bin",
                            HOME: "/tmp",
                        }).map(([envName, value]) => ({ name: envName, value })),
                        securityContext: restricted,
                        resources: pulumi.output(args.resources).apply((r) => (r ? toK8sResources(r) : undefined)),
                        volumeMounts: [
                            { name: "script", mountPath: "/scripts", readOnly: true },
                            { name: "tools", mountPath: "/tools", readOnly: true },
                            { name: "tmp", mountPath: "/tmp" },
                        ],
                    },
                ],
                volumes: [
                    { name: "script", configMap: { name: script.metadata.name } },
                    { name: "tools", emptyDir: { sizeLimit: "128Mi" } },
                    { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
                ],
            },
        });
        const scope = {
            MESHED_NAMESPACES: args.meshedNamespaces.join(","),
            UNMESHED_NAMESPACES: unmeshed.join(","),
            EXPECTED_INBOUND_POLICY: JSON.stringify(args.expectedInboundPolicy ?? {}),
        };
        const jobSpec = (env: Record<string, pulumi.Input<string>>) => ({
            // A failed run is an alert (KubeJobFailed), not something to retry blindly.
            backoffLimit: 0,
            activeDeadlineSeconds: deadlineSeconds,
            template: podTemplate(env),
        });

        const rotation = args.rotation;
        if (rotation) {
            // Drawn once, then kept in state: clusters do not all restart workloads at once.
            const minute = new random.RandomInteger(`${name}-minute`, { min: 0, max: rotation.windowHours * 60 - 1 }, { parent: this });
            this.schedule = minute.result.apply((m) => {
                const minuteOfDay = (rotation.windowStartHour * 60 + m) % (24 * 60);
                return `${minuteOfDay % 60} ${Math.floor(minuteOfDay / 60)} * * *`;
            });
            this.cronJob = new k8s.batch.v1.CronJob(
                `${name}-cronjob`,
                {
                    metadata: metadata(args.namespace, ROTATION_NAME),
                    spec: {
                        schedule: this.schedule,
                        timeZone: "Etc/UTC",
                        concurrencyPolicy: "Forbid",
                        startingDeadlineSeconds: 3600,
                        successfulJobsHistoryLimit: 3,
                        failedJobsHistoryLimit: 5,
                        jobTemplate: {
                            metadata: { labels },
                            spec: jobSpec({
                                TASKS: "certificates,control-plane,restarts",
                                ...scope,
                                ISSUER_MIN_HOURS_LEFT: String(rotation.issuerMinHoursLeft),
                                ANCHOR_MIN_DAYS_LEFT: String(rotation.anchorMinDaysLeft),
                            }),
                        },
                    },
                },
                { parent: this, dependsOn: [...bindings, ...(args.waitFor ?? [])] },
            );
        }

        if (args.rollout ?? true) {
            // Named after what it enforces (the mesh's scope, what the control plane must run with):
            // the same mesh keeps the same Job and no diff; a change runs a new one. The script itself
            // is not part of the name: a new script version updates its ConfigMap in place
            // (enableConfigMapMutable) and re-runs nothing.
            const name10 = pulumi
                .output(args.controlPlaneDigest ?? "")
                .apply((digest) => crypto.createHash("sha256").update(JSON.stringify({ ...scope, digest })).digest("hex").slice(0, 10));
            const awaitMinutes = `${deadlineSeconds / 60 + AWAIT_MARGIN_MINUTES}m`;
            this.rollout = new k8s.batch.v1.Job(
                `${name}-rollout`,
                {
                    metadata: {
                        ...metadata(args.namespace, pulumi.interpolate`linkerd-mesh-rollout-${name10}`),
                        // A Job that failed stays in state with init errors and every later `up` would
                        // re-await it and fail again (pulumi engine step_generator.go "hasInitErrors");
                        // this makes the provider replace it, so the rollout runs again
                        // (pulumi-kubernetes provider/pkg/provider/provider.go Diff, Jobs only).
                        annotations: { "pulumi.com/replaceUnready": "true" },
                    },
                    spec: jobSpec({ TASKS: "control-plane,restarts", ...scope }),
                },
                {
                    parent: this,
                    dependsOn: [...bindings, ...(args.waitFor ?? []), ...(args.rolloutWaitFor ?? [])],
                    // Pulumi's wait outlasts the Job's own deadline, so the Job's verdict (Complete, or
                    // DeadlineExceeded) is what `pulumi up` reports, never a Pulumi timeout mid-run.
                    customTimeouts: { create: awaitMinutes, update: awaitMinutes },
                },
            );
        }
        this.completed = this.rollout ? this.rollout.metadata.uid : pulumi.output("no rollout");

        this.registerOutputs({ schedule: this.schedule, cronJob: this.cronJob, rollout: this.rollout, completed: this.completed });
    }
}
