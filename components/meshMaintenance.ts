import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MeshConfig } from "../config";
import * as random from "@pulumi/random";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { NetworkPolicySpec } from "../lib/networkPolicies";
import { LINKERD_OBJECTS, NAMESPACES } from "../lib/registry";
import { toK8sResources } from "./certManager";
import type { ResourceValues } from "./linkerdControlPlane";

/** The script every maintenance Job runs, kept in the repository as a file. */
export const MESH_CHECK_SCRIPT_PATH = path.join(__dirname, "..", "cluster", "mesh-check.mjs");

export interface RotationSchedule {
    /** First hour (UTC) of the window the daily run falls in. */
    windowStartHour: number;
    /** Length of the window, hours; the minute inside it is drawn once per stack. */
    windowHours: number;
    /** Fail (alert) when the issuer has fewer hours left. */
    issuerMinHoursLeft: number;
    /** Fail (alert) when a trust anchor has fewer days left. */
    anchorMinDaysLeft: number;
    /** Fail (alert) when the intermediate has fewer hours left: no `pulumi up` has re-signed it in time. */
    intermediateMinHoursLeft: number;
}

/** Where the issuer's public certificate is read (never its Secret, which holds its key). */
export type IssuerSource =
    /** A ConfigMap the program writes (static issuer). */
    | { kind: "configmap"; name: string; key: string }
    /** cert-manager's Certificate: the CertificateRequest of its current revision holds the certificate. */
    | { kind: "certificate"; name: string };

/** The ingress controller's pods, in the restarts' scope. */
export interface IngressScope {
    namespace: string;
    /** Labels of its pods. */
    selector: Record<string, string>;
    /** Its Deployment, the one workload the Jobs may restart in that namespace (k3s' kube-system); unset: any. */
    deployment?: string;
    /** Meshed (true) or being drained (false). */
    inject: boolean;
}

/** A probe port a strict-mode authorization covers (Server with a NetworkAuthentication). */
export interface ProbeAuthorization {
    namespace: string;
    podSelector: Readonly<Record<string, string>>;
    port: number | string;
}

export interface MeshMaintenanceArgs {
    /** The control-plane namespace (holds the trust-roots ConfigMap, the issuer source, its Deployments). */
    controlPlaneNamespace: pulumi.Input<string>;
    /** Where the Jobs check the issuer. */
    issuerSource: IssuerSource;
    /** Namespaces whose pods must run a proxy. */
    meshedNamespaces: string[];
    /** Namespaces being drained: their pods must not run a proxy any more. */
    unmeshedNamespaces?: string[];
    /** Default inbound policy each meshed namespace's proxies must have been injected with. */
    expectedInboundPolicy?: Record<string, string>;
    /** Proxy annotations each meshed namespace's pods must carry (the injector copies them at admission). */
    expectedAnnotations?: Record<string, Record<string, string>>;
    /** The ingress controller, meshed or being drained. */
    ingress?: IngressScope;
    /** The daily rotation CronJob; omit for none. */
    rotation?: RotationSchedule;
    /**
     * Run a one-shot Job in this `pulumi up` that brings every pod in line with the mesh as
     * configured (a new Job each time what it enforces changes; Pulumi waits for it).
     * @default true
     */
    rollout?: boolean;
    /**
     * Rotation phase 2: the rollout also waits until the live issuer chains to this anchor (SHA-256,
     * hex) and restarts the identity controller with it.
     */
    reloadIdentityFor?: pulumi.Input<string>;
    /**
     * Rotation phase 3: a gate Job proves the live issuer is signed by this anchor (SHA-256, hex)
     * and the identity controller is available, before the trust bundle drops the old anchor. It
     * waits for nothing of the control plane, so the bundle can wait for it ({@link rotationGate}).
     */
    rotationGateFor?: pulumi.Input<string>;
    /**
     * Strict mode: before the namespaces' default policy changes, a preflight Job checks that no
     * probe or Ingress would be refused; the namespaces' annotations wait for {@link preflight}.
     */
    strict?: { namespaces: string[]; probeAuthorizations: ProbeAuthorization[]; ingressMeshed: boolean };
    /** Workloads restarted at the same time. */
    maxConcurrentRestarts: MeshConfig["rotationJob"]["maxConcurrentRestarts"];
    /** How long one restart may take before it counts as failed. */
    rolloutTimeoutSeconds: MeshConfig["rotationJob"]["rolloutTimeoutSeconds"];
    /**
     * A Job is stopped after this long (activeDeadlineSeconds); the script starts no restart it
     * could not finish before it, and `pulumi up` waits this plus 5 minutes for the rollout Job.
     */
    deadlineMinutes: MeshConfig["rotationJob"]["deadlineMinutes"];
    /**
     * What the control-plane pods must have started with (the trust bundle, static webhook
     * certificates): when it changes, the Jobs restart the control plane first. The chart no longer
     * rolls them, since none of this is in its values (linkerdControlPlane.ts).
     */
    controlPlaneDigest?: pulumi.Input<string>;
    /** The proxy version the control plane injects (`linkerd.io/proxy-version`): others are restarted, a few a run. */
    proxyVersion?: string;
    /** Image with `node` (runs the script); pinned by digest. */
    image: pulumi.Input<string>;
    /** Image whose static `/usr/bin/kubectl` the init container copies; pinned by digest. */
    kubectlImage: pulumi.Input<string>;
    /** Requests and limits of the check container. */
    resources?: pulumi.Input<ResourceValues>;
    /** What every Job waits for (the control plane). */
    waitFor?: pulumi.Input<pulumi.Resource>[];
    /**
     * What the rollout also waits for (namespace annotations, authorization objects); a promise when
     * those are made after this component (they wait for its preflight).
     */
    rolloutWaitFor?: pulumi.Resource[] | Promise<pulumi.Resource[]>;
    /** The Jobs' NetworkPolicy on a default-deny-everywhere platform (lib/networkPolicies.ts); omit for none. */
    networkPolicy?: NetworkPolicySpec;
}

const CRON_NAME = "linkerd-rotation-check";
/** The pod-template annotations the Jobs set; the only change their patch right allows. */
export const RESTART_ANNOTATIONS = ["kubectl.kubernetes.io/restartedAt", "akko.io/control-plane-digest", "akko.io/issuer-sha256"] as const;
/** Pulumi waits for the rollout Job this long beyond its own deadline. */
const AWAIT_MARGIN_MINUTES = 5;
const MAX_VERSION_RESTARTS = 10;

/** What a Job's identity may do; each Job kind gets only its own. */
interface Grants {
    readIssuer: boolean;
    /** Read the identity controller's Deployment (is it available?). */
    readIdentity?: boolean;
    restart: boolean;
    preflight: boolean;
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
 *   Ingress would be refused.
 *
 * Least privilege: one ServiceAccount per Job kind, each with what its tasks need and no more; no
 * Secret is readable (the issuer is checked from its public certificate); the right to patch
 * workloads is confined by a ValidatingAdmissionPolicy to the restart annotations; only the container
 * that runs kubectl gets a token.
 */
export class MeshMaintenance extends pulumi.ComponentResource {
    /** The namespace the Jobs run in. */
    public readonly namespace: pulumi.Output<string>;
    /** Cron schedule of the rotation Job (UTC), fixed per stack; undefined without it. */
    public readonly schedule: pulumi.Output<string> | undefined;
    /** The rotation CronJob, if any. */
    public readonly cronJob: k8s.batch.v1.CronJob | undefined;
    /** The one-shot rollout Job, if any. */
    public readonly rollout: k8s.batch.v1.Job | undefined;
    /** The strict-mode preflight Job, if any: strict namespaces' annotations wait for it. */
    public readonly preflight: k8s.batch.v1.Job | undefined;
    /** Rotation phase 3's gate Job, if any: the trust bundle waits for it. */
    public readonly rotationGate: k8s.batch.v1.Job | undefined;
    /**
     * Resolves once the rollout Job has completed: records that certify its work (meshState,
     * trustAnchorRotation) depend on it, so a failed `pulumi up` keeps the previous ones.
     */
    public readonly completed: pulumi.Output<string>;

    constructor(name: string, args: MeshMaintenanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:MeshMaintenance", name, {}, opts);

        const labels = { "app.kubernetes.io/name": "linkerd-mesh-maintenance", "app.kubernetes.io/part-of": "akko-mtls" };
        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            {
                metadata: {
                    name: NAMESPACES.maintenance,
                    labels: { ...labels, "pod-security.kubernetes.io/enforce": "restricted", "config.linkerd.io/admission-webhooks": "disabled" },
                    // A proxy would keep a Job from completing, and the Jobs must work while the mesh does not.
                    annotations: { "linkerd.io/inject": "disabled" },
                },
            },
            { parent: this },
        );
        this.namespace = namespace.metadata.name;
        const ns = namespace.metadata.name;
        if (args.networkPolicy) {
            new k8s.networking.v1.NetworkPolicy(
                `${name}-network-policy`,
                { metadata: { name: args.networkPolicy.name, namespace: ns, labels }, spec: args.networkPolicy.spec },
                { parent: this },
            );
        }
        const metadata = (objectNamespace: pulumi.Input<string>, objectName: pulumi.Input<string>) => ({
            name: objectName,
            namespace: objectNamespace,
            labels,
        });
        const script = new k8s.core.v1.ConfigMap(
            `${name}-script`,
            { metadata: metadata(ns, "linkerd-mesh-check-script"), data: { "mesh-check.mjs": fs.readFileSync(MESH_CHECK_SCRIPT_PATH, "utf8") } },
            { parent: this },
        );

        const unmeshed = args.unmeshedNamespaces ?? [];
        const workloadNamespaces = [...args.meshedNamespaces, ...unmeshed];
        const strict = args.strict && args.strict.namespaces.length > 0 ? args.strict : undefined;
        const issuerRules: k8s.types.input.rbac.v1.PolicyRule[] =
            args.issuerSource.kind === "configmap"
                ? [{ apiGroups: [""], resources: ["configmaps"], resourceNames: [args.issuerSource.name], verbs: ["get"] }]
                : [
                      { apiGroups: ["cert-manager.io"], resources: ["certificates"], resourceNames: [args.issuerSource.name], verbs: ["get"] },
                      { apiGroups: ["cert-manager.io"], resources: ["certificaterequests"], verbs: ["list"] },
                  ];
        const restartRules: k8s.types.input.rbac.v1.PolicyRule[] = [
            { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
            // `kubectl rollout restart` patches the pod template; `rollout status` watches.
            { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets"], verbs: ["get", "list", "watch", "patch"] },
            { apiGroups: ["apps"], resources: ["replicasets", "controllerrevisions"], verbs: ["list"] },
        ];

        /** A ServiceAccount in the Jobs' namespace and its Roles, namespace by namespace. */
        const identity = (kind: string, grants: Grants) => {
            const accountName = `linkerd-mesh-${kind}`;
            const account = new k8s.core.v1.ServiceAccount(
                `${name}-${kind}-account`,
                // The token is mounted by hand, into the one container that calls the API.
                { metadata: metadata(ns, accountName), automountServiceAccountToken: false },
                { parent: this },
            );
            const subject = { kind: "ServiceAccount", name: account.metadata.name, namespace: ns };
            const roles: pulumi.Resource[] = [account];
            const grant = (suffix: string, roleNamespace: pulumi.Input<string>, rules: k8s.types.input.rbac.v1.PolicyRule[]) => {
                if (rules.length === 0) return;
                const role = new k8s.rbac.v1.Role(`${name}-${kind}-${suffix}`, { metadata: metadata(roleNamespace, accountName), rules }, { parent: this });
                roles.push(
                    new k8s.rbac.v1.RoleBinding(
                        `${name}-${kind}-${suffix}`,
                        {
                            metadata: metadata(roleNamespace, accountName),
                            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                            subjects: [subject],
                        },
                        { parent: this },
                    ),
                );
            };
            if (grants.readIssuer || grants.restart) {
                grant("control-plane", args.controlPlaneNamespace, [
                    { apiGroups: [""], resources: ["configmaps"], resourceNames: [LINKERD_OBJECTS.trustRootsConfigMap], verbs: ["get"] },
                    ...(grants.readIssuer ? issuerRules : []),
                    ...(grants.readIdentity ? [{ apiGroups: ["apps"], resources: ["deployments"], resourceNames: ["linkerd-identity"], verbs: ["get"] }] : []),
                    ...(grants.restart
                        ? [
                              // The control plane's own Deployments, by name (restarted when the bundle changes).
                              {
                                  apiGroups: ["apps"],
                                  resources: ["deployments"],
                                  resourceNames: [...LINKERD_OBJECTS.controlPlaneDeployments],
                                  verbs: ["get", "patch", "list", "watch"],
                              },
                              { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["list"] },
                          ]
                        : []),
                ]);
            }
            if (grants.restart) {
                for (const workloadNamespace of workloadNamespaces) grant(`restart-${workloadNamespace}`, workloadNamespace, restartRules);
                if (args.ingress) {
                    // In kube-system (k3s' Traefik): its pods, and only its Deployment.
                    const deployment = args.ingress.deployment;
                    grant(
                        `ingress-${args.ingress.namespace}`,
                        args.ingress.namespace,
                        deployment
                            ? [
                                  { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                                  { apiGroups: ["apps"], resources: ["deployments"], resourceNames: [deployment], verbs: ["get", "patch", "list", "watch"] },
                                  { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["list"] },
                              ]
                            : restartRules,
                    );
                }
            }
            if (grants.preflight && strict) {
                for (const strictNamespace of strict.namespaces) {
                    grant(`preflight-${strictNamespace}`, strictNamespace, [
                        { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                        { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["list"] },
                    ]);
                }
            }
            return { name: accountName, ready: roles };
        };

        const rolloutTimeout = args.rolloutTimeoutSeconds;
        const deadlineSeconds = args.deadlineMinutes * 60;
        const restricted = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };
        const tokenMount = "/var/run/secrets/kubernetes.io/serviceaccount";
        const podTemplate = (accountName: string, env: Record<string, pulumi.Input<string>>) => ({
            metadata: { labels, annotations: { "linkerd.io/inject": "disabled" } },
            spec: {
                serviceAccountName: accountName,
                automountServiceAccountToken: false,
                restartPolicy: "Never",
                securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: "RuntimeDefault" } },
                initContainers: [
                    {
                        // Only lends its static kubectl binary: no token, no API access.
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
                            LINKERD_NAMESPACE: args.controlPlaneNamespace,
                            ISSUER_SOURCE: JSON.stringify(args.issuerSource),
                            TRUST_ROOTS_CONFIGMAP: LINKERD_OBJECTS.trustRootsConfigMap,
                            MAX_CONCURRENT_RESTARTS: String(args.maxConcurrentRestarts),
                            ROLLOUT_TIMEOUT_SECONDS: String(rolloutTimeout),
                            // The script's budget: it starts no restart it cannot finish before the Job is killed.
                            DEADLINE_SECONDS: String(deadlineSeconds),
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
                            { name: "token", mountPath: tokenMount, readOnly: true },
                        ],
                    },
                ],
                volumes: [
                    { name: "script", configMap: { name: script.metadata.name } },
                    { name: "tools", emptyDir: { sizeLimit: "128Mi" } },
                    { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
                    {
                        // What the kubelet would mount for automountServiceAccountToken, for this container only.
                        name: "token",
                        projected: {
                            sources: [
                                { serviceAccountToken: { path: "token", expirationSeconds: 3600 } },
                                { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
                                { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
                            ],
                        },
                    },
                ],
            },
        });
        const scope: Record<string, string> = {
            MESHED_NAMESPACES: args.meshedNamespaces.join(","),
            UNMESHED_NAMESPACES: unmeshed.join(","),
            EXPECTED_INBOUND_POLICY: JSON.stringify(args.expectedInboundPolicy ?? {}),
            EXPECTED_ANNOTATIONS: JSON.stringify(args.expectedAnnotations ?? {}),
            INGRESS: args.ingress
                ? JSON.stringify({
                      namespace: args.ingress.namespace,
                      selector: Object.entries(args.ingress.selector)
                          .map(([k, v]) => `${k}=${v}`)
                          .join(","),
                      inject: args.ingress.inject,
                  })
                : "",
            PROXY_VERSION: args.proxyVersion ?? "",
            MAX_VERSION_RESTARTS: String(MAX_VERSION_RESTARTS),
            CONTROL_PLANE_DEPLOYMENTS: LINKERD_OBJECTS.controlPlaneDeployments.join(","),
        };
        const jobSpec = (accountName: string, env: Record<string, pulumi.Input<string>>) => ({
            // A failed run is an alert (KubeJobFailed), not something to retry blindly.
            backoffLimit: 0,
            activeDeadlineSeconds: deadlineSeconds,
            template: podTemplate(accountName, env),
        });
        // Pulumi's wait outlasts the Job's own deadline, so the Job's verdict (Complete, or
        // DeadlineExceeded) is what `pulumi up` reports, never a Pulumi timeout mid-run.
        const awaitMinutes = `${deadlineSeconds / 60 + AWAIT_MARGIN_MINUTES}m`;
        /** A Job named after what it enforces: the same inputs keep the same Job (no diff, no run). */
        const oneShot = (
            resourceName: string,
            prefix: string,
            accountName: string,
            env: Record<string, pulumi.Input<string>>,
            dependsOn: pulumi.Input<pulumi.Input<pulumi.Resource>[]>,
        ) => {
            const digest = pulumi
                .all(Object.entries(env).map(([key, value]) => pulumi.output(value).apply((v) => [key, v] as const)))
                .apply((entries) => crypto.createHash("sha256").update(JSON.stringify(entries)).digest("hex").slice(0, 10));
            return new k8s.batch.v1.Job(
                `${name}-${resourceName}`,
                {
                    metadata: {
                        ...metadata(ns, pulumi.interpolate`${prefix}-${digest}`),
                        // A Job that failed stays in state with init errors and every later `up` would
                        // re-await it and fail again (pulumi engine step_generator.go "hasInitErrors");
                        // this makes the provider replace it, i.e. run it again
                        // (pulumi-kubernetes provider/pkg/provider/provider.go Diff, Jobs only).
                        annotations: { "pulumi.com/replaceUnready": "true" },
                    },
                    spec: jobSpec(accountName, env),
                },
                { parent: this, dependsOn, customTimeouts: { create: awaitMinutes, update: awaitMinutes } },
            );
        };

        if (strict) {
            const preflightIdentity = identity("preflight", { readIssuer: false, restart: false, preflight: true });
            this.preflight = oneShot(
                "preflight",
                "linkerd-strict-preflight",
                preflightIdentity.name,
                {
                    TASKS: "strict-preflight",
                    STRICT_NAMESPACES: strict.namespaces.join(","),
                    PROBE_AUTHORIZATIONS: JSON.stringify(strict.probeAuthorizations),
                    INGRESS_MESHED: String(strict.ingressMeshed),
                },
                [...preflightIdentity.ready, ...(args.waitFor ?? [])],
            );
        }

        if (args.rotationGateFor) {
            const gateIdentity = identity("gate", { readIssuer: true, readIdentity: true, restart: false, preflight: false });
            this.rotationGate = oneShot(
                "rotation-gate",
                "linkerd-rotation-gate",
                gateIdentity.name,
                { TASKS: "rotation-gate", SIGNING_ANCHOR_SHA256: args.rotationGateFor },
                // Not the control plane: the trust bundle, part of it, waits for this Job.
                gateIdentity.ready,
            );
        }

        const rotation = args.rotation;
        if (rotation) {
            const cronIdentity = identity("check", { readIssuer: true, restart: true, preflight: false });
            // Drawn once, then kept in state: clusters do not all restart workloads at once.
            const minute = new random.RandomInteger(`${name}-minute`, { min: 0, max: rotation.windowHours * 60 - 1 }, { parent: this });
            this.schedule = minute.result.apply((m) => {
                const minuteOfDay = (rotation.windowStartHour * 60 + m) % (24 * 60);
                return `${minuteOfDay % 60} ${Math.floor(minuteOfDay / 60)} * * *`;
            });
            this.cronJob = new k8s.batch.v1.CronJob(
                `${name}-cronjob`,
                {
                    metadata: metadata(ns, CRON_NAME),
                    spec: {
                        schedule: this.schedule,
                        timeZone: "Etc/UTC",
                        concurrencyPolicy: "Forbid",
                        startingDeadlineSeconds: 3600,
                        successfulJobsHistoryLimit: 3,
                        failedJobsHistoryLimit: 5,
                        jobTemplate: {
                            metadata: { labels },
                            spec: jobSpec(cronIdentity.name, {
                                TASKS: "certificates,control-plane,restarts",
                                ...scope,
                                CONTROL_PLANE_DIGEST: args.controlPlaneDigest ?? "",
                                ISSUER_MIN_HOURS_LEFT: String(rotation.issuerMinHoursLeft),
                                ANCHOR_MIN_DAYS_LEFT: String(rotation.anchorMinDaysLeft),
                                INTERMEDIATE_MIN_HOURS_LEFT: String(rotation.intermediateMinHoursLeft),
                            }),
                        },
                    },
                },
                { parent: this, dependsOn: [...cronIdentity.ready, ...(args.waitFor ?? [])] },
            );
        }

        if (args.rollout ?? true) {
            const rolloutIdentity = identity("rollout", { readIssuer: args.reloadIdentityFor !== undefined, restart: true, preflight: false });
            const extra = Promise.resolve(args.rolloutWaitFor ?? []);
            // Named after what it enforces (the mesh's scope, what the control plane must run with): the
            // script itself is not part of the name, so a new script version updates its ConfigMap in place
            // (enableConfigMapMutable) and re-runs nothing.
            this.rollout = oneShot(
                "rollout",
                "linkerd-mesh-rollout",
                rolloutIdentity.name,
                {
                    TASKS: args.reloadIdentityFor ? "control-plane,reload-identity,restarts,verify-bundle" : "control-plane,restarts,verify-bundle",
                    ...scope,
                    CONTROL_PLANE_DIGEST: args.controlPlaneDigest ?? "",
                    ...(args.reloadIdentityFor ? { SIGNING_ANCHOR_SHA256: args.reloadIdentityFor } : {}),
                },
                extra.then((more) => [...rolloutIdentity.ready, ...(args.waitFor ?? []), ...(this.preflight ? [this.preflight] : []), ...more]),
            );
        }
        this.completed = this.rollout ? this.rollout.metadata.uid : pulumi.output("no rollout");

        // The Jobs' only right to change workloads: the restart annotations, nothing else.
        const accounts = [this.cronJob ? "check" : undefined, this.rollout ? "rollout" : undefined]
            .filter((kind): kind is string => kind !== undefined)
            .map((kind) => pulumi.interpolate`system:serviceaccount:${ns}:linkerd-mesh-${kind}`);
        const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            `${name}-restart-only`,
            { metadata: { name: "akko-mtls-restart-only", labels }, spec: restartOnlyPolicy(accounts) },
            { parent: this },
        );
        new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            `${name}-restart-only`,
            { metadata: { name: "akko-mtls-restart-only", labels }, spec: { policyName: policy.metadata.name, validationActions: ["Deny"] } },
            { parent: this },
        );

        this.registerOutputs({
            namespace: this.namespace,
            schedule: this.schedule,
            cronJob: this.cronJob,
            rollout: this.rollout,
            preflight: this.preflight,
            rotationGate: this.rotationGate,
            completed: this.completed,
        });
    }
}

/**
 * A ValidatingAdmissionPolicy that lets the maintenance identities change a workload's pod-template
 * annotations listed in {@link RESTART_ANNOTATIONS} and nothing else: not a container, an image, a
 * replica count, a label or another annotation. Plain CEL (`has()` guards, no optionals), tested
 * with a CEL evaluator.
 */
export function restartOnlyPolicy(accounts: pulumi.Input<string>[]) {
    const allowed = `[${RESTART_ANNOTATIONS.map((a) => `'${a}'`).join(", ")}]`;
    const annotations = (o: string) => `${o}.spec.template.metadata.annotations`;
    return {
        failurePolicy: "Fail",
        matchConstraints: {
            resourceRules: [{ apiGroups: ["apps"], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["deployments", "statefulsets", "daemonsets"] }],
        },
        matchConditions: [
            {
                name: "maintenance-identities",
                expression: pulumi.all(accounts).apply((names) => `request.userInfo.username in [${names.map((n) => `'${n}'`).join(", ")}]`),
            },
        ],
        validations: [
            { expression: "object.spec.template.spec == oldObject.spec.template.spec", message: "the maintenance Jobs may not change a pod's spec" },
            {
                expression:
                    "object.spec.selector == oldObject.spec.selector && (has(object.spec.replicas) == has(oldObject.spec.replicas)) && (!has(object.spec.replicas) || object.spec.replicas == oldObject.spec.replicas)",
                message: "the maintenance Jobs may not change replicas or the selector",
            },
            {
                expression:
                    "has(object.spec.template.metadata.labels) == has(oldObject.spec.template.metadata.labels) && " +
                    "(!has(object.spec.template.metadata.labels) || object.spec.template.metadata.labels == oldObject.spec.template.metadata.labels)",
                message: "the maintenance Jobs may not change pod labels",
            },
            {
                expression:
                    `(!has(${annotations("object")}) || ${annotations("object")}.all(k, k in ${allowed} || ` +
                    `(has(${annotations("oldObject")}) && k in ${annotations("oldObject")} && ${annotations("oldObject")}[k] == ${annotations("object")}[k]))) && ` +
                    `(!has(${annotations("oldObject")}) || ${annotations("oldObject")}.all(k, k in ${allowed} || ` +
                    `(has(${annotations("object")}) && k in ${annotations("object")})))`,
                message: `the maintenance Jobs may only set ${RESTART_ANNOTATIONS.join(", ")}`,
            },
        ],
    };
}
