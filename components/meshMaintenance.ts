import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MeshConfig } from "../config";
import * as random from "@pulumi/random";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROTATION_GATE_POD, type NetworkPolicySpec } from "../lib/networkPolicies";
import { POD_SECURITY_CHECK } from "../lib/podSecurity";
import { parseQuantity } from "../lib/quantity";
import { LINKERD_OBJECTS, NAMESPACES } from "../lib/registry";
import { toK8sResources } from "./certManager";
import type { ResourceValues } from "./linkerdControlPlane";
import { namespaceObject, networkPolicyObject, objectLabels } from "../lib/objects";

/** The script every maintenance Job runs, kept in the repository as a file. */
export const MESH_CHECK_SCRIPT_PATH = path.join(__dirname, "..", "cluster", "mesh-check.mjs");
/** The NetworkPolicy evaluator the script imports (its network preflight), mounted beside it. */
export const NETWORK_POLICY_MODULE_PATH = path.join(__dirname, "..", "cluster", "networkPolicy.cjs");

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

/**
 * What the mesh's NetworkPolicies in a namespace assume of its own (lib/networkPolicies.ts
 * NamespacePosture), and the opaque ports its pods serve: what the network preflight checks.
 */
export interface NetworkPostureDeclaration {
    denyIngress: boolean;
    denyEgress: boolean;
    opaqueIngress: readonly object[];
    opaqueEgress: readonly object[];
    /** Every port that travels on the proxy port to this namespace's pods: Linkerd's defaults, the namespace's, opaque Servers'. */
    opaquePorts: readonly number[];
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
    /**
     * The network preflight: per namespace that gets the mesh's NetworkPolicies, what they assume.
     * A Job proves it against the live policies first; the namespaces' annotations and the mesh's
     * policies wait for {@link networkPreflight}. It waits for nothing of the control plane.
     */
    networkPosture?: Record<string, NetworkPostureDeclaration>;
    /**
     * The Pod Security check: before any namespace asks for proxies, a Job submits `probe`
     * (lib/podSecurity.ts injectedPodProbe) as a server-side dry run in each namespace, and fails the
     * `up` naming the config key where Pod Security would refuse injected pods. The namespaces'
     * annotations and the rollout wait for {@link podSecurityCheck}. It waits for nothing of the
     * control plane. Its identity may create pods there, and an admission policy admits only its dry runs.
     */
    podSecurity?: PodSecurityCheckArgs;
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

/** What the Pod Security check submits, where, and what fix it names. */
export interface PodSecurityCheckArgs {
    /** The namespaces about to be injected, each with the config key (CLI notation) that puts it in the mesh. */
    namespaces: { namespace: string; key: string }[];
    /** The pod to dry-run (lib/podSecurity.ts injectedPodProbe). */
    probe: Record<string, unknown>;
    /** Whether pods are injected for the CNI plugin: the fix the check names differs. */
    cniEnabled: boolean;
}

const CRON_NAME = "linkerd-rotation-check";
/** The pod-template annotations the Jobs set; the only change their patch right allows. */
export const RESTART_ANNOTATIONS = ["kubectl.kubernetes.io/restartedAt", "akko.io/control-plane-digest", "akko.io/issuer-sha256"] as const;
/** Pulumi waits for the rollout Job this long beyond its own deadline. */
const AWAIT_MARGIN_MINUTES = 5;
const MAX_VERSION_RESTARTS = 10;
/**
 * Pages one pod list may take before the script gives up (a `continue` token that never ends):
 * Kubernetes' scalability limit of 150,000 pods per cluster
 * (kubernetes.io/docs/setup/best-practices/cluster-large) at the smallest usual page is under 2,000.
 */
const MAX_LIST_PAGES = 2000;
const MIB = 2 ** 20;

/** How the check script spends its container's memory (see {@link scriptMemoryBudget}). */
export interface ScriptMemoryBudget {
    /** The largest pod page kubectl may hand over (MAX_PAGE_BYTES); pages aim at half of it. */
    maxPageBytes: number;
    /** Pods asked for in the first page, and at most in any (PAGE_SIZE). */
    pageSize: number;
    /** V8's old-space cap (`--max-old-space-size`), MiB. */
    heapMiB: number;
    /** V8's semi-space cap (`--max-semi-space-size`), MiB: the young generation garbage waits in it. */
    semiSpaceMiB: number;
}

/**
 * The script's memory plan from the container's memory limit (its request when it has none; none:
 * unbounded, the largest plan). node and the kubectl it runs share the container: node itself takes
 * ~42 MiB before any data (measured, node 20), kubectl ~40 MiB plus twice the answer it reads whole;
 * node holds a page as its bytes, its text and the parsed objects. At 128 Mi: 2 MiB pages, a 24 MiB
 * heap; measured with the fake kubectl, node then peaks at ~70 MiB with 2,000 pods of 12 KB or 70 KB
 * (test/meshCheckScript.test.ts), against 129 MiB with 250-pod pages and V8's default heap.
 */
export function scriptMemoryBudget(memoryBytes: number | undefined): ScriptMemoryBudget {
    const FIXED = 88 * MIB;
    const spare = memoryBytes === undefined ? Number.POSITIVE_INFINITY : Math.max(0, memoryBytes - FIXED);
    const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, Math.floor(value)));
    const maxPageBytes = clamp(spare / 16 / MIB, 1, 8) * MIB;
    return {
        maxPageBytes,
        // A meshed pod's JSON is typically 5-15 KB: the first page aims at half the budget at 8 KB a pod.
        pageSize: clamp(maxPageBytes / 2 / 8192, 10, 500),
        heapMiB: clamp(16 + spare / 5 / MIB, 16, 256),
        semiSpaceMiB: 1,
    };
}

/** What a Job's identity may do; each Job kind gets only its own. */
interface Grants {
    readIssuer: boolean;
    /**
     * Find the identity controller's pods (verified through their ReplicaSet to its Deployment) and
     * the events it records: the rotation gate reads which issuer each replica serves.
     */
    readIdentity?: boolean;
    restart: boolean;
    preflight: boolean;
    /** List NetworkPolicies in these namespaces (the network preflight). */
    readNetworkPolicies?: readonly string[];
    /** Create pods in these namespaces: dry runs only, which {@link Grants.confinedBy} enforces (the Pod Security check). */
    createPods?: readonly string[];
    /** The admission policy and binding that confine these rights: the RoleBindings are made after them. */
    confinedBy?: pulumi.Resource[];
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
    /** The network preflight Job, if any: the mesh's NetworkPolicies and the namespaces' annotations wait for it. */
    public readonly networkPreflight: k8s.batch.v1.Job | undefined;
    /** The Pod Security check Job, if any: the namespaces' annotations (and the ingress controller's) wait for it. */
    public readonly podSecurityCheck: k8s.batch.v1.Job | undefined;

    constructor(name: string, args: MeshMaintenanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:MeshMaintenance", name, {}, opts);

        const labels = objectLabels({ appName: "linkerd-mesh-maintenance" });
        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            namespaceObject({
                name: NAMESPACES.maintenance,
                labels: { "pod-security.kubernetes.io/enforce": "restricted", "config.linkerd.io/admission-webhooks": "disabled" },
                // A proxy would keep a Job from completing, and the Jobs must work while the mesh does not.
                annotations: { "linkerd.io/inject": "disabled" },
            }),
            { parent: this },
        );
        this.namespace = namespace.metadata.name;
        const ns = namespace.metadata.name;
        if (args.networkPolicy) {
            new k8s.networking.v1.NetworkPolicy(`${name}-network-policy`, networkPolicyObject(args.networkPolicy, ns), { parent: this });
        }
        const metadata = (objectNamespace: pulumi.Input<string>, objectName: pulumi.Input<string>) => ({
            name: objectName,
            namespace: objectNamespace,
            labels,
        });
        const script = new k8s.core.v1.ConfigMap(
            `${name}-script`,
            {
                metadata: metadata(ns, "linkerd-mesh-check-script"),
                data: {
                    "mesh-check.mjs": fs.readFileSync(MESH_CHECK_SCRIPT_PATH, "utf8"),
                    [path.basename(NETWORK_POLICY_MODULE_PATH)]: fs.readFileSync(NETWORK_POLICY_MODULE_PATH, "utf8"),
                },
            },
            { parent: this },
        );

        // The Jobs' only right to change workloads: the restart annotations, nothing else. Made before
        // any identity that may patch workloads, from their account names (fixed strings): the
        // RoleBindings that grant the patch right, and the Jobs that use it, wait for the policy and
        // its binding (a Job that ran before them would patch unconfined).
        const restarting = [args.rotation ? "check" : undefined, (args.rollout ?? true) ? "rollout" : undefined].filter(
            (kind): kind is string => kind !== undefined,
        );
        const restartOnly = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            `${name}-restart-only`,
            {
                metadata: { name: "akko-mtls-restart-only", labels },
                spec: restartOnlyPolicy(restarting.map((kind) => pulumi.interpolate`system:serviceaccount:${ns}:linkerd-mesh-${kind}`)),
            },
            { parent: this },
        );
        const restartOnlyBinding = new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            `${name}-restart-only`,
            { metadata: { name: "akko-mtls-restart-only", labels }, spec: { policyName: restartOnly.metadata.name, validationActions: ["Deny"] } },
            { parent: this },
        );
        /** What confines the patch right: granted, and used, only once both exist. */
        const confined: pulumi.Resource[] = [restartOnly, restartOnlyBinding];

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
        // A pod's owner is verified before its workload is restarted (cluster/mesh-check.mjs
        // verifiedOwner): its ReplicaSet is read by name, hence `get` on replicasets.
        const verifyOwners: k8s.types.input.rbac.v1.PolicyRule = { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get"] };
        const restartRules: k8s.types.input.rbac.v1.PolicyRule[] = [
            { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
            // `kubectl rollout restart` patches the pod template; `rollout status` watches.
            { apiGroups: ["apps"], resources: ["deployments", "statefulsets", "daemonsets"], verbs: ["get", "list", "watch", "patch"] },
            { apiGroups: ["apps"], resources: ["replicasets", "controllerrevisions"], verbs: ["list"] },
            verifyOwners,
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
                        // An identity whose rights a policy confines gets them only once the policy is there.
                        { parent: this, dependsOn: [...(grants.restart ? confined : []), ...(grants.confinedBy ?? [])] },
                    ),
                );
            };
            if (grants.readIssuer || grants.restart) {
                grant("control-plane", args.controlPlaneNamespace, [
                    { apiGroups: [""], resources: ["configmaps"], resourceNames: [LINKERD_OBJECTS.trustRootsConfigMap], verbs: ["get"] },
                    ...(grants.readIssuer ? issuerRules : []),
                    ...(grants.readIdentity
                        ? [
                              { apiGroups: ["apps"], resources: ["deployments"], resourceNames: ["linkerd-identity"], verbs: ["get"] },
                              { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get"] },
                              { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                              // IssuerUpdated / IssuerUpdateSkipped, recorded on the Deployment (core/v1 Events).
                              { apiGroups: [""], resources: ["events"], verbs: ["list"] },
                          ]
                        : []),
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
                                  // Its pods are found by a label any kube-system pod can carry: each is traced
                                  // to the Deployment through its ReplicaSet before it counts.
                                  verifyOwners,
                              ]
                            : restartRules,
                    );
                }
            }
            for (const podNamespace of grants.createPods ?? []) {
                grant(`pods-${podNamespace}`, podNamespace, [{ apiGroups: [""], resources: ["pods"], verbs: ["create"] }]);
            }
            for (const policyNamespace of grants.readNetworkPolicies ?? []) {
                grant(`networkpolicies-${policyNamespace}`, policyNamespace, [
                    { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["list"] },
                ]);
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
        const memory = pulumi.output(args.resources).apply((r) => scriptMemoryBudget(r ? parseQuantity(r.memory.limit ?? r.memory.request) : undefined));
        const podTemplate = (accountName: string, env: Record<string, pulumi.Input<string>>, podLabels: Record<string, string> = {}) => ({
            metadata: { labels: { ...labels, ...podLabels }, annotations: { "linkerd.io/inject": "disabled" } },
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
                        // V8 sizes its heap from the machine, not the container: without a cap it let
                        // garbage grow to 129 MiB at 2,000 pods under a 128 Mi limit.
                        command: memory.apply((m) => [
                            "node",
                            `--max-old-space-size=${m.heapMiB}`,
                            `--max-semi-space-size=${m.semiSpaceMiB}`,
                            "/scripts/mesh-check.mjs",
                        ]),
                        env: Object.entries({
                            LINKERD_NAMESPACE: args.controlPlaneNamespace,
                            ISSUER_SOURCE: JSON.stringify(args.issuerSource),
                            TRUST_ROOTS_CONFIGMAP: LINKERD_OBJECTS.trustRootsConfigMap,
                            MAX_CONCURRENT_RESTARTS: String(args.maxConcurrentRestarts),
                            ROLLOUT_TIMEOUT_SECONDS: String(rolloutTimeout),
                            // The script's budget: it starts no restart it cannot finish before the Job is killed.
                            DEADLINE_SECONDS: String(deadlineSeconds),
                            PAGE_SIZE: memory.apply((m) => String(m.pageSize)),
                            MAX_PAGE_BYTES: memory.apply((m) => String(m.maxPageBytes)),
                            MAX_PAGES: String(MAX_LIST_PAGES),
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
                      deployment: args.ingress.deployment,
                  })
                : "",
            PROXY_VERSION: args.proxyVersion ?? "",
            MAX_VERSION_RESTARTS: String(MAX_VERSION_RESTARTS),
            CONTROL_PLANE_DEPLOYMENTS: LINKERD_OBJECTS.controlPlaneDeployments.join(","),
        };
        const jobSpec = (accountName: string, env: Record<string, pulumi.Input<string>>, podLabels?: Record<string, string>) => ({
            // A failed run is an alert (KubeJobFailed), not something to retry blindly.
            backoffLimit: 0,
            activeDeadlineSeconds: deadlineSeconds,
            template: podTemplate(accountName, env, podLabels),
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
            podLabels?: Record<string, string>,
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
                    spec: jobSpec(accountName, env, podLabels),
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

        const posture = args.networkPosture && Object.keys(args.networkPosture).length > 0 ? args.networkPosture : undefined;
        if (posture) {
            const postureNamespaces = Object.keys(posture).sort();
            const postureIdentity = identity("network", { readIssuer: false, restart: false, preflight: false, readNetworkPolicies: postureNamespaces });
            this.networkPreflight = oneShot(
                "network-preflight",
                "linkerd-network-preflight",
                postureIdentity.name,
                { TASKS: "network-posture", NETWORK_POSTURE: JSON.stringify(Object.fromEntries(postureNamespaces.map((n) => [n, posture[n]]))) },
                // Nothing of the control plane: it reads the namespaces' policies only, and fails the
                // `up` before anything in them changes.
                postureIdentity.ready,
            );
        }

        const podSecurity = args.podSecurity && args.podSecurity.namespaces.length > 0 ? args.podSecurity : undefined;
        if (podSecurity) {
            // Before its identity has any right: dry runs only.
            const account = pulumi.interpolate`system:serviceaccount:${ns}:${POD_SECURITY_CHECK.account}`;
            const dryRunOnly = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
                `${name}-pod-security-dry-run-only`,
                { metadata: { name: POD_SECURITY_POLICY, labels }, spec: podSecurityDryRunOnlyPolicy(account) },
                { parent: this },
            );
            const dryRunOnlyBinding = new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
                `${name}-pod-security-dry-run-only`,
                { metadata: { name: POD_SECURITY_POLICY, labels }, spec: { policyName: dryRunOnly.metadata.name, validationActions: ["Deny"] } },
                { parent: this },
            );
            const checked = podSecurity.namespaces.map((n) => n.namespace);
            const checkIdentity = identity(POD_SECURITY_CHECK.account.replace(/^linkerd-mesh-/, ""), {
                readIssuer: false,
                restart: false,
                preflight: false,
                createPods: [...new Set(checked)],
                confinedBy: [dryRunOnly, dryRunOnlyBinding],
            });
            this.podSecurityCheck = oneShot(
                "pod-security",
                "linkerd-pod-security-check",
                checkIdentity.name,
                { TASKS: "pod-security", POD_SECURITY: JSON.stringify(podSecurity) },
                // Nothing of the control plane: it fails the `up` before any namespace asks for proxies.
                [dryRunOnly, dryRunOnlyBinding, ...checkIdentity.ready],
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
                // What the control plane's NetworkPolicy admits to identity's admin port (lib/networkPolicies.ts).
                ROTATION_GATE_POD,
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
                { parent: this, dependsOn: [...confined, ...cronIdentity.ready, ...(args.waitFor ?? [])] },
            );
        }

        if (args.rollout ?? true) {
            // It checks the certificates before it restarts anything, so it reads the issuer too.
            const rolloutIdentity = identity("rollout", { readIssuer: true, restart: true, preflight: false });
            const extra = Promise.resolve(args.rolloutWaitFor ?? []);
            // Named after what it enforces (the mesh's scope, what the control plane must run with): the
            // script itself is not part of the name, so a new script version updates its ConfigMap in place
            // (enableConfigMapMutable) and re-runs nothing.
            this.rollout = oneShot(
                "rollout",
                "linkerd-mesh-rollout",
                rolloutIdentity.name,
                {
                    // Check first, restart after: with an expired, not yet valid or foreign issuer, or an
                    // expired anchor, every restarted pod would come back without an identity.
                    TASKS: args.reloadIdentityFor
                        ? "certificates,control-plane,reload-identity,restarts,verify-bundle"
                        : "certificates,control-plane,restarts,verify-bundle",
                    ...scope,
                    // Validity only: the daily check alerts on time left. A threshold here would fail
                    // every `pulumi up` of an anchor rotation, which is run because the anchor is near its end.
                    ISSUER_MIN_HOURS_LEFT: "0",
                    INTERMEDIATE_MIN_HOURS_LEFT: "0",
                    ANCHOR_MIN_DAYS_LEFT: "0",
                    CONTROL_PLANE_DIGEST: args.controlPlaneDigest ?? "",
                    ...(args.reloadIdentityFor ? { SIGNING_ANCHOR_SHA256: args.reloadIdentityFor } : {}),
                },
                extra.then((more) => [
                    ...confined,
                    ...rolloutIdentity.ready,
                    ...(args.waitFor ?? []),
                    ...(this.preflight ? [this.preflight] : []),
                    ...(this.podSecurityCheck ? [this.podSecurityCheck] : []),
                    ...more,
                ]),
            );
        }

        this.registerOutputs({
            namespace: this.namespace,
            schedule: this.schedule,
            cronJob: this.cronJob,
            rollout: this.rollout,
            preflight: this.preflight,
            rotationGate: this.rotationGate,
            networkPreflight: this.networkPreflight,
            podSecurityCheck: this.podSecurityCheck,
        });
    }
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
            resourceRules: [{ apiGroups: ["apps"], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["deployments", "statefulsets", "daemonsets"] }],
        },
        matchConditions: [
            {
                name: "maintenance-identities",
                expression: pulumi.all(accounts).apply((names) => `request.userInfo.username in [${names.map((n) => `'${n}'`).join(", ")}]`),
            },
        ],
        validations: [
            {
                expression: [
                    sameExcept("object", "oldObject", ["metadata", "spec"]),
                    sameExcept("object.metadata", "oldObject.metadata", [...SERVER_SET_METADATA, "annotations"]),
                    sameExcept(orEmpty("object.metadata.annotations"), orEmpty("oldObject.metadata.annotations"), SERVER_SET_ANNOTATIONS),
                ].join(" && "),
                message: "the maintenance Jobs may not change a workload's metadata (labels, annotations, owners, finalizers) or status",
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

/** The Pod Security check's admission policy (and binding) name. */
export const POD_SECURITY_POLICY = "akko-mtls-pod-security-dry-run-only";

/**
 * A ValidatingAdmissionPolicy that lets the Pod Security check's identity make dry-run pod creates and
 * nothing else: its Roles allow creating pods in the meshed namespaces, this keeps any of them from
 * being stored, hence from running (a pod it could run would act as any ServiceAccount and mount any
 * Secret of the namespace). `request.dryRun` and `request.operation` are the admission request's
 * (k8s.io/apiserver v0.36.3 pkg/admission/plugin/cel/condition.go CreateAdmissionRequest); a dry run
 * reaches validating admission before storage skips the write (pkg/registry/generic/registry/store.go
 * create, dryrun.go). Every operation on pods and their subresources is matched: exec, attach and
 * port-forward are CONNECT, ephemeral containers an UPDATE, all refused; a dry-run create of a
 * subresource (an eviction, a binding) changes nothing either. The request reaches CEL as an
 * unstructured map (activation.go: `convertObjectToUnstructured(request)`), so a field the API leaves
 * empty (`subResource`, omitempty) is absent, not '': the policy reads only `dryRun` (always set) and
 * `operation`. Tested with a CEL evaluator on allowed and hostile requests.
 */
export function podSecurityDryRunOnlyPolicy(account: pulumi.Input<string>) {
    return {
        failurePolicy: "Fail",
        matchConstraints: {
            resourceRules: [{ apiGroups: [""], apiVersions: ["*"], operations: ["*"], resources: ["pods", "pods/*"] }],
        },
        matchConditions: [{ name: "pod-security-check-identity", expression: pulumi.interpolate`request.userInfo.username == '${account}'` }],
        validations: [
            {
                expression: "request.dryRun == true && request.operation == 'CREATE'",
                message: "the Pod Security check may only create pods as a dry run",
            },
        ],
    };
}
