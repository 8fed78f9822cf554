import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as fs from "node:fs";
import * as path from "node:path";
import { toK8sResources } from "./certManager";
import type { ResourceValues } from "./linkerdControlPlane";

/** The script the CronJob runs, kept in the repository as a file. */
export const ROTATION_SCRIPT_PATH = path.join(__dirname, "..", "scripts", "rotation-check.mjs");

export interface RotationCronJobArgs {
    /** The control-plane namespace (holds the issuer Secret and the trust-roots ConfigMap). */
    namespace: pulumi.Input<string>;
    /** Meshed namespaces whose workloads the Job may restart. */
    meshedNamespaces: string[];
    /** How the issuer Secret is laid out (`crt.pem` or `tls.crt`). */
    issuerScheme: "linkerd.io/tls" | "kubernetes.io/tls";
    /**
     * First hour (UTC) of the window the daily run falls in.
     * @default 2
     */
    windowStartHour?: number;
    /**
     * Length of that window, hours; the minute inside it is drawn once per stack.
     * @default 4
     */
    windowHours?: number;
    /** Fail (alert) when the issuer has fewer hours left. */
    issuerMinHoursLeft: pulumi.Input<number>;
    /**
     * Fail (alert) when a trust anchor has fewer days left.
     * @default 60
     */
    anchorMinDaysLeft?: pulumi.Input<number>;
    /**
     * Workloads restarted at the same time.
     * @default 2
     */
    maxConcurrentRestarts?: pulumi.Input<number>;
    /**
     * How long one restart may take before the Job gives up and fails.
     * @default 600
     */
    rolloutTimeoutSeconds?: pulumi.Input<number>;
    /** Image with `node` (runs the script); pinned by digest. */
    image: pulumi.Input<string>;
    /** Image whose static `/usr/bin/kubectl` the init container copies; pinned by digest. */
    kubectlImage: pulumi.Input<string>;
    /** Requests and limits of the check container. */
    resources?: pulumi.Input<ResourceValues>;
    /** Resources the CronJob waits for (the control plane). */
    waitFor?: pulumi.Input<pulumi.Resource>[];
}

const NAME = "linkerd-rotation-check";
const ISSUER_SECRET = "linkerd-identity-issuer";
const TRUST_ROOTS = "linkerd-identity-trust-roots";

/**
 * The daily rotation Job (scripts/rotation-check.mjs): checks the issuer chains to the
 * trust bundle, reports and alerts on time left, and rolls the meshed workloads whose
 * proxies hold an old trust bundle, a bounded number at a time.
 *
 * Least privilege: in the control-plane namespace it may read one Secret and one
 * ConfigMap, by name; in each meshed namespace it may list pods and restart workloads.
 */
export class RotationCronJob extends pulumi.ComponentResource {
    /** Cron schedule (UTC), fixed per stack. */
    public readonly schedule: pulumi.Output<string>;
    /** The CronJob. */
    public readonly cronJob: k8s.batch.v1.CronJob;

    constructor(name: string, args: RotationCronJobArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:RotationCronJob", name, {}, opts);

        const windowStart = args.windowStartHour ?? 2;
        const windowHours = args.windowHours ?? 4;
        // Drawn once, then kept in state: clusters do not all restart workloads at once.
        const minute = new random.RandomInteger(`${name}-minute`, { min: 0, max: windowHours * 60 - 1 }, { parent: this });
        this.schedule = minute.result.apply((m) => {
            const minuteOfDay = (windowStart * 60 + m) % (24 * 60);
            return `${minuteOfDay % 60} ${Math.floor(minuteOfDay / 60)} * * *`;
        });

        const labels = { "app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "akko-mtls" };
        const metadata = (namespace: pulumi.Input<string>) => ({ name: NAME, namespace, labels });
        const script = new k8s.core.v1.ConfigMap(
            `${name}-script`,
            { metadata: metadata(args.namespace), data: { "rotation-check.mjs": fs.readFileSync(ROTATION_SCRIPT_PATH, "utf8") } },
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
        const bindings = [
            grant("read-certificates", args.namespace, [
                { apiGroups: [""], resources: ["secrets"], resourceNames: [ISSUER_SECRET], verbs: ["get"] },
                { apiGroups: [""], resources: ["configmaps"], resourceNames: [TRUST_ROOTS], verbs: ["get"] },
            ]),
            ...args.meshedNamespaces.map((namespace) =>
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

        const env: Record<string, pulumi.Input<string>> = {
            LINKERD_NAMESPACE: args.namespace,
            ISSUER_SECRET,
            ISSUER_SCHEME: args.issuerScheme,
            TRUST_ROOTS_CONFIGMAP: TRUST_ROOTS,
            MESHED_NAMESPACES: args.meshedNamespaces.join(","),
            ISSUER_MIN_HOURS_LEFT: pulumi.output(args.issuerMinHoursLeft).apply(String),
            ANCHOR_MIN_DAYS_LEFT: pulumi.output(args.anchorMinDaysLeft ?? 60).apply(String),
            MAX_CONCURRENT_RESTARTS: pulumi.output(args.maxConcurrentRestarts ?? 2).apply(String),
            ROLLOUT_TIMEOUT_SECONDS: pulumi.output(args.rolloutTimeoutSeconds ?? 600).apply(String),
            PATH: "/tools:/usr/local/bin:/usr/bin:/bin",
            HOME: "/tmp",
        };
        const restricted = {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
        };
        const rolloutTimeout = pulumi.output(args.rolloutTimeoutSeconds ?? 600);

        this.cronJob = new k8s.batch.v1.CronJob(
            `${name}-cronjob`,
            {
                metadata: metadata(args.namespace),
                spec: {
                    schedule: this.schedule,
                    timeZone: "Etc/UTC",
                    concurrencyPolicy: "Forbid",
                    startingDeadlineSeconds: 3600,
                    successfulJobsHistoryLimit: 3,
                    failedJobsHistoryLimit: 5,
                    jobTemplate: {
                        metadata: { labels },
                        spec: {
                            // A failed run is an alert (KubeJobFailed), not something to retry blindly.
                            backoffLimit: 0,
                            activeDeadlineSeconds: rolloutTimeout.apply((t) => Math.max(3600, t * 10)),
                            template: {
                                metadata: { labels, annotations: { "linkerd.io/inject": "disabled" } },
                                spec: {
                                    serviceAccountName: account.metadata.name,
                                    restartPolicy: "Never",
                                    securityContext: {
                                        runAsNonRoot: true,
                                        runAsUser: 65534,
                                        runAsGroup: 65534,
                                        seccompProfile: { type: "RuntimeDefault" },
                                    },
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
                                            command: ["node", "/scripts/rotation-check.mjs"],
                                            env: Object.entries(env).map(([envName, value]) => ({ name: envName, value })),
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
                            },
                        },
                    },
                },
            },
            { parent: this, dependsOn: [...bindings, ...(args.waitFor ?? [])] },
        );

        this.registerOutputs({ schedule: this.schedule, cronJob: this.cronJob });
    }
}
