/**
 * What the mesh's maintenance does, decided from its arguments alone (components/meshMaintenance.ts
 * only turns it into resources): the scope the Jobs restart in, which Jobs run and with which tasks,
 * each Job's environment as the script's contract asks it (cluster/contract.json), the identities and
 * what each may do, the pod every Job runs, the memory plan of the script, the daily schedule.
 *
 * Each Job's environment is checked against the contract here, when the plan is made: a Job missing a
 * variable its tasks read, or given one they do not, is a bug of this file, refused before any
 * resource is registered (the script would refuse it too, in the cluster, exit 2).
 */
import type * as pulumi from "@pulumi/pulumi";
import * as contract from "../cluster/contract.cjs";
import type { Task, VariableName } from "../cluster/contract.cjs";
import { DRY_RUN_ONLY, type DryRunOnlyUse } from "./dryRunOnlyPolicy";
import { ROTATION_GATE_POD } from "./networkPolicies";
import { POD_SECURITY_CHECK } from "./podSecurity";
import { parseQuantity } from "./quantity";
import { LINKERD_OBJECTS, NAMESPACES } from "./registry";
import { objectLabels } from "./objects";

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

/** What the Pod Security check submits, where, and what fix it names. */
export interface PodSecurityCheckArgs {
    /** The namespaces about to be injected, each with the config key (CLI notation) that puts it in the mesh. */
    namespaces: { namespace: string; key: string }[];
    /** The pod to dry-run (lib/podSecurity.ts injectedPodProbe). */
    probe: Record<string, unknown>;
    /** Whether pods are injected for the CNI plugin: the fix the check names differs. */
    cniEnabled: boolean;
}

/** The links whose far end the rollout checks (cluster/remoteTrust.mjs). */
export interface RemoteTrustArgs {
    /** The anchor this cluster's issuer is signed under (SHA-256, hex): every linked cluster must trust it. */
    signingAnchorSha256: pulumi.Input<string>;
    /** The namespace holding the links' credentials Secrets (linkerd-multicluster). */
    credentialsNamespace: string;
    /** Each link: the target member and the Secret holding its kubeconfig (lib/multicluster.ts credentialsSecretName). */
    links: { target: string; secret: string }[];
    /** The linked clusters' namespaces whose meshed pods are read (this stack's meshed namespaces and the multicluster one). */
    namespaces: string[];
}

/**
 * The one deliberate exception to "no maintenance identity reads a Secret": the rollout's, on a stack
 * with links, may `get` the links' credentials Secrets by name (their kubeconfig is how the far end is
 * read). Not a mount: the Secrets live in the multicluster namespace, a pod mounts Secrets of its own
 * namespace only. The kubeconfig grants what the target granted this stack: Linkerd's remote-access
 * rights and the trust roots' ConfigMap (lib/multicluster.ts TRUST_ROOTS_READ_RULES).
 */
export const REMOTE_TRUST_SECRET_READ = { identity: "rollout", suffix: "link-credentials" } as const satisfies {
    identity: IdentityKind;
    suffix: string;
};

/** Requests and limits of a container, as the config holds them. */
export interface ContainerResources {
    cpu: { request: string; limit?: string };
    memory: { request: string; limit?: string };
}

/** What the maintenance does: the mesh's scope and the rotation's state, from the config. */
export interface MaintenancePlanArgs {
    /** The control-plane namespace (holds the trust-roots ConfigMap, the issuer source, its Deployments). */
    controlPlaneNamespace: pulumi.Input<string>;
    /** Where the Jobs check the issuer. */
    issuerSource: IssuerSource;
    /** Namespaces whose pods must run a proxy. */
    meshedNamespaces: string[];
    /**
     * Namespaces being drained: their pods must not run a proxy any more.
     * @default []
     */
    unmeshedNamespaces?: string[];
    /**
     * Default inbound policy each meshed namespace's proxies must have been injected with.
     * @default {}
     */
    expectedInboundPolicy?: Record<string, string>;
    /**
     * Proxy annotations each meshed namespace's pods must carry (the injector copies them at admission).
     * @default {}
     */
    expectedAnnotations?: Record<string, Record<string, string>>;
    /** The ingress controller, meshed or being drained; omit for none. */
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
     * and the identity controller is available, before the trust bundle drops the old anchor.
     */
    rotationGateFor?: pulumi.Input<string>;
    /**
     * A stack with `multicluster.links`: the rollout also checks, through each link's own credentials,
     * that every linked cluster serves and its proxies loaded a bundle holding `signingAnchorSha256`.
     * Its identity may then `get` exactly the links' credentials Secrets: the one Secret any maintenance
     * identity reads (see {@link REMOTE_TRUST_SECRET_READ}).
     */
    remoteTrust?: RemoteTrustArgs;
    /** Strict mode: before the namespaces' default policy changes, a preflight Job checks that no probe or Ingress would be refused. */
    strict?: { namespaces: string[]; probeAuthorizations: ProbeAuthorization[]; ingressMeshed: boolean };
    /** The network preflight: per namespace that gets the mesh's NetworkPolicies, what they assume. */
    networkPosture?: Record<string, NetworkPostureDeclaration>;
    /**
     * The Pod Security check: before any namespace asks for proxies, a Job submits `probe` as a
     * server-side dry run in each namespace. Its identity may create pods there; an admission policy
     * admits only its dry runs.
     */
    podSecurity?: PodSecurityCheckArgs;
    /** Workloads restarted at the same time. */
    maxConcurrentRestarts: number;
    /** How long one restart may take before it counts as failed. */
    rolloutTimeoutSeconds: number;
    /** A Job is stopped after this long (activeDeadlineSeconds); `pulumi up` waits this plus 5 minutes for a one-shot Job. */
    deadlineMinutes: number;
    /** What the control-plane pods must have started with: when it changes, the Jobs restart the control plane first. */
    controlPlaneDigest?: pulumi.Input<string>;
    /** The proxy version the control plane injects (`linkerd.io/proxy-version`): others are restarted, a few a run. */
    proxyVersion?: string;
    /** Requests and limits of the check container: its memory decides the script's memory plan. */
    resources?: ContainerResources;
}

/** The Jobs' CronJob. */
export const CRON_NAME = "linkerd-rotation-check";
/** The pod-template annotations the Jobs set; the only change their patch right allows (the contract's annotations). */
export const RESTART_ANNOTATIONS = [
    contract.annotations.restartedAt,
    contract.annotations.controlPlaneDigest,
    contract.annotations.issuerSha256,
] as const;
/** The Pod Security check's admission policy (and binding) name. */
export const POD_SECURITY_POLICY = "akko-mtls-pod-security-dry-run-only";
/** The admission policy (and binding) that confines the patch right to the restart annotations. */
export const RESTART_ONLY_POLICY = "akko-mtls-restart-only";
/** Pulumi waits for a one-shot Job this long beyond its own deadline. */
const AWAIT_MARGIN_MINUTES = 5;
const MAX_VERSION_RESTARTS = 10;
/**
 * Pages one pod list may take before the script gives up (a `continue` token that never ends):
 * Kubernetes' scalability limit of 150,000 pods per cluster
 * (kubernetes.io/docs/setup/best-practices/cluster-large) at the smallest usual page is under 2,000.
 */
const MAX_LIST_PAGES = 2000;
/** A kubectl request that takes longer is a failed call, not a hung Job. */
const KUBECTL_TIMEOUT_SECONDS = 30;
/**
 * How long the rotation gate waits for every identity replica to load the live issuer (the kubelet
 * refreshes the mounted Secret): the value the script used to assume itself, now the Job's to give.
 */
const IDENTITY_RELOAD_WAIT_SECONDS = 180;
/** The check container's own environment, beside the contract's variables: its kubectl is in /tools, its home the writable /tmp. */
export const CONTAINER_ENV = { PATH: "/tools:/usr/local/bin:/usr/bin:/bin", HOME: "/tmp" } as const;
/** The files the script needs beside it in its ConfigMap (cluster/): the NetworkPolicy evaluator, the contract with its data, the remote trust check. */
export const SCRIPT_MODULES = ["networkPolicy.cjs", "contract.cjs", "contract.json", "remoteTrust.mjs"] as const;
/** Where the ConfigMap is mounted; the script the container runs. */
const SCRIPT_DIR = "/scripts";
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

/** A Job's environment: contract variables only. */
export type JobEnv = Partial<Record<VariableName, pulumi.Input<string>>>;

/** The identities of the Jobs, one per kind; each gets only its own rights. */
export type IdentityKind = "check" | "rollout" | "preflight" | "network" | "pod-security" | "gate";

/** A Role (and its RoleBinding to the identity) in one namespace. */
export interface RoleGrant {
    /** Names the Role among the identity's: `<component>-<kind>-<suffix>`. */
    suffix: string;
    namespace: pulumi.Input<string>;
    rules: PolicyRule[];
}

/** An RBAC rule, as Kubernetes' Role holds it. */
export interface PolicyRule {
    apiGroups: string[];
    resources: string[];
    resourceNames?: string[];
    verbs: string[];
}

/** What a Job's identity is confined by before any right is granted: the RoleBindings wait for the policy and its binding. */
export type Confinement = "restart-only" | "pod-security-dry-run-only";

export interface IdentityPlan {
    kind: IdentityKind;
    /** The ServiceAccount's name. */
    account: string;
    grants: RoleGrant[];
    /** The admission policies that confine its rights, made before its RoleBindings. */
    confinedBy: Confinement[];
}

/** What a Job waits for beside its identity's rights and the policies confining them. */
export type JobWait =
    /** The control plane (and what is written after its chart). */
    | "control-plane"
    /** The strict preflight and the Pod Security check, when made. */
    | "checks"
    /** The namespaces' annotations and authorization objects, the ingress controller's: what it brings pods in line with. */
    | "namespaces";

/** The maintenance Jobs, by the name of their resource (`<component>-<name>`). */
export type JobName = "preflight" | "network-preflight" | "pod-security" | "rotation-gate" | "rollout" | "cronjob";

export interface JobPlan {
    /** Names the resource: `<component>-<resourceName>`. */
    resourceName: JobName;
    /** A one-shot Job's name is this and the digest of its own environment; the CronJob's is {@link CRON_NAME}. */
    prefix: string;
    identity: IdentityKind;
    tasks: Task[];
    /** The variables of this Job only, in the order the container lists them (they name a one-shot Job). */
    env: JobEnv;
    /** Labels of its pod beside the maintenance labels (what a NetworkPolicy admits). */
    podLabels?: Readonly<Record<string, string>>;
    waitsFor: JobWait[];
}

export interface MaintenancePlan {
    /** Labels of every object. */
    labels: Record<string, string>;
    /** The Jobs' namespace. */
    namespace: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
    /** The identities confined by the restart-only policy (its match condition lists their users). */
    restartingIdentities: IdentityKind[];
    identities: IdentityPlan[];
    /** The Pod Security check's dry-run-only policy, when the check runs. */
    podSecurityDryRunOnly?: { name: string; use: DryRunOnlyUse };
    /** The variables every Job gets, before its own (each is read by every task). */
    sharedEnv: JobEnv;
    /** The one-shot Jobs, in the order they are made. */
    jobs: JobPlan[];
    /** The daily CronJob: its Job, the range its minute is drawn from, the schedule from the minute. */
    cron?: { job: JobPlan; minuteRange: { min: number; max: number }; schedule: (minute: number) => string };
    memory: ScriptMemoryBudget;
    /** activeDeadlineSeconds of every Job. */
    deadlineSeconds: number;
    /** How long `pulumi up` waits for a one-shot Job (its custom timeouts). */
    awaitTimeout: string;
}

/** The identity's name in the cluster. */
export const accountOf = (kind: IdentityKind): string =>
    kind === "pod-security" ? POD_SECURITY_CHECK.account : `linkerd-mesh-${kind}`;

/**
 * Checks a Job's whole environment against the contract: exactly the variables its tasks read.
 * Throws naming the Job and what is missing or unknown.
 */
export function checkedEnv(job: string, tasks: readonly Task[], env: JobEnv): void {
    const expected = contract.variablesFor(tasks);
    const given = Object.keys(env);
    const missing = expected.filter((name) => !given.includes(name));
    const unknown = given.filter((name) => !expected.includes(name as VariableName));
    if (missing.length > 0 || unknown.length > 0) {
        throw new Error(
            `maintenance Job ${job} (${tasks.join(",")}) does not match cluster/contract.json:` +
                (missing.length > 0 ? ` missing ${missing.join(", ")}` : "") +
                (unknown.length > 0 ? ` unknown ${unknown.join(", ")}` : ""),
        );
    }
}

/** The rights each identity needs, namespace by namespace. */
function grantsOf(args: MaintenancePlanArgs, kind: IdentityKind, workloadNamespaces: readonly string[]): RoleGrant[] {
    const issuerRules: PolicyRule[] =
        args.issuerSource.kind === "configmap"
            ? [{ apiGroups: [""], resources: ["configmaps"], resourceNames: [args.issuerSource.name], verbs: ["get"] }]
            : [
                  {
                      apiGroups: ["cert-manager.io"],
                      resources: ["certificates"],
                      resourceNames: [args.issuerSource.name],
                      verbs: ["get"],
                  },
                  { apiGroups: ["cert-manager.io"], resources: ["certificaterequests"], verbs: ["list"] },
              ];
    // A pod's owner is verified before its workload is restarted (cluster/mesh-check.mjs
    // verifiedOwner): its ReplicaSet is read by name, hence `get` on replicasets.
    const verifyOwners: PolicyRule = { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get"] };
    const restartRules: PolicyRule[] = [
        { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
        // `kubectl rollout restart` patches the pod template; `rollout status` watches.
        {
            apiGroups: ["apps"],
            resources: ["deployments", "statefulsets", "daemonsets"],
            verbs: ["get", "list", "watch", "patch"],
        },
        { apiGroups: ["apps"], resources: ["replicasets", "controllerrevisions"], verbs: ["list"] },
        verifyOwners,
    ];
    const trustRoots: PolicyRule = {
        apiGroups: [""],
        resources: ["configmaps"],
        resourceNames: [LINKERD_OBJECTS.trustRootsConfigMap],
        verbs: ["get"],
    };
    const controlPlane = (rules: PolicyRule[]): RoleGrant => ({
        suffix: "control-plane",
        namespace: args.controlPlaneNamespace,
        rules: [trustRoots, ...rules],
    });
    const restarting = (): RoleGrant[] => [
        controlPlane([
            ...issuerRules,
            // The control plane's own Deployments, by name (restarted when the bundle changes).
            {
                apiGroups: ["apps"],
                resources: ["deployments"],
                resourceNames: [...LINKERD_OBJECTS.controlPlaneDeployments],
                verbs: ["get", "patch", "list", "watch"],
            },
            { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["list"] },
        ]),
        ...workloadNamespaces.map((namespace) => ({ suffix: `restart-${namespace}`, namespace, rules: restartRules })),
        ...(args.ingress
            ? [
                  {
                      suffix: `ingress-${args.ingress.namespace}`,
                      namespace: args.ingress.namespace,
                      // In kube-system (k3s' Traefik): its pods, and only its Deployment.
                      rules: args.ingress.deployment
                          ? [
                                { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                                {
                                    apiGroups: ["apps"],
                                    resources: ["deployments"],
                                    resourceNames: [args.ingress.deployment],
                                    verbs: ["get", "patch", "list", "watch"],
                                },
                                { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["list"] },
                                // Its pods are found by a label any kube-system pod can carry: each is traced
                                // to the Deployment through its ReplicaSet before it counts.
                                verifyOwners,
                            ]
                          : restartRules,
                  },
              ]
            : []),
    ];
    switch (kind) {
        case "check":
            // It checks the certificates before it restarts anything, so it reads the issuer too.
            return restarting();
        case "rollout":
            return withRemoteTrustRead(restarting(), args.remoteTrust);
        case "gate":
            return [
                controlPlane([
                    ...issuerRules,
                    {
                        apiGroups: ["apps"],
                        resources: ["deployments"],
                        resourceNames: ["linkerd-identity"],
                        verbs: ["get"],
                    },
                    { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["get"] },
                    { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                    // IssuerUpdated / IssuerUpdateSkipped, recorded on the Deployment (core/v1 Events).
                    { apiGroups: [""], resources: ["events"], verbs: ["list"] },
                ]),
            ];
        case "preflight":
            return (args.strict?.namespaces ?? []).map((namespace) => ({
                suffix: `preflight-${namespace}`,
                namespace,
                rules: [
                    { apiGroups: [""], resources: ["pods"], verbs: ["list"] },
                    { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["list"] },
                ],
            }));
        case "network":
            return Object.keys(args.networkPosture ?? {})
                .sort()
                .map((namespace) => ({
                    suffix: `networkpolicies-${namespace}`,
                    namespace,
                    rules: [{ apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["list"] }],
                }));
        case "pod-security":
            // Dry runs only, which the dry-run-only policy enforces.
            return [...new Set((args.podSecurity?.namespaces ?? []).map((n) => n.namespace))].map((namespace) => ({
                suffix: `pods-${namespace}`,
                namespace,
                rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["create"] }],
            }));
    }
}

/**
 * The rollout's grants with the read of the links' credentials Secrets, by name
 * ({@link REMOTE_TRUST_SECRET_READ}); unchanged without links. A Role is named after its identity in
 * each namespace (components/meshMaintenance.ts), so the rule joins the grant the rollout already has
 * in that namespace (the multicluster namespace is meshed, hence restarted in) rather than a second
 * Role of the same name.
 */
function withRemoteTrustRead(grants: RoleGrant[], remoteTrust: RemoteTrustArgs | undefined): RoleGrant[] {
    if (!remoteTrust || remoteTrust.links.length === 0) return grants;
    const namespace = remoteTrust.credentialsNamespace;
    const read: PolicyRule = {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: remoteTrust.links.map((l) => l.secret),
        verbs: ["get"],
    };
    if (!grants.some((g) => g.namespace === namespace))
        return [...grants, { suffix: REMOTE_TRUST_SECRET_READ.suffix, namespace, rules: [read] }];
    return grants.map((g) => (g.namespace === namespace ? { ...g, rules: [...g.rules, read] } : g));
}

/**
 * The Jobs that prove something before the mesh changes, each waiting for nothing it guards: the
 * strict preflight, the network preflight, the Pod Security check, the rotation gate.
 */
function checkJobsOf(args: MaintenancePlanArgs): JobPlan[] {
    const strict = args.strict && args.strict.namespaces.length > 0 ? args.strict : undefined;
    const posture =
        args.networkPosture && Object.keys(args.networkPosture).length > 0 ? args.networkPosture : undefined;
    const podSecurity = args.podSecurity && args.podSecurity.namespaces.length > 0 ? args.podSecurity : undefined;
    const jobs: JobPlan[] = [];
    if (strict) {
        jobs.push({
            resourceName: "preflight",
            prefix: "linkerd-strict-preflight",
            identity: "preflight",
            tasks: ["strict-preflight"],
            env: {
                TASKS: "strict-preflight",
                STRICT_NAMESPACES: strict.namespaces.join(","),
                PROBE_AUTHORIZATIONS: JSON.stringify(strict.probeAuthorizations),
                INGRESS_MESHED: String(strict.ingressMeshed),
            },
            waitsFor: ["control-plane"],
        });
    }
    if (posture) {
        const namespaces = Object.keys(posture).sort();
        jobs.push({
            resourceName: "network-preflight",
            prefix: "linkerd-network-preflight",
            identity: "network",
            tasks: ["network-posture"],
            env: {
                TASKS: "network-posture",
                NETWORK_POSTURE: JSON.stringify(Object.fromEntries(namespaces.map((n) => [n, posture[n]]))),
            },
            // Nothing of the control plane: it reads the namespaces' policies only, and fails the
            // `up` before anything in them changes.
            waitsFor: [],
        });
    }
    if (podSecurity) {
        jobs.push({
            resourceName: "pod-security",
            prefix: POD_SECURITY_CHECK.pod,
            identity: "pod-security",
            tasks: ["pod-security"],
            env: { TASKS: "pod-security", POD_SECURITY: JSON.stringify(podSecurity) },
            // Nothing of the control plane: it fails the `up` before any namespace asks for proxies.
            waitsFor: [],
        });
    }
    if (args.rotationGateFor) {
        jobs.push({
            resourceName: "rotation-gate",
            prefix: "linkerd-rotation-gate",
            identity: "gate",
            tasks: ["rotation-gate"],
            env: {
                TASKS: "rotation-gate",
                SIGNING_ANCHOR_SHA256: args.rotationGateFor,
                IDENTITY_RELOAD_WAIT_SECONDS: String(IDENTITY_RELOAD_WAIT_SECONDS),
            },
            // What the control plane's NetworkPolicy admits to identity's admin port (lib/networkPolicies.ts).
            podLabels: ROTATION_GATE_POD,
            // Not the control plane: the trust bundle, part of it, waits for this Job.
            waitsFor: [],
        });
    }
    return jobs;
}

/** The Jobs that restart: the daily CronJob and the rollout of this `pulumi up`, both checking the certificates first. */
function restartingJobsOf(
    args: MaintenancePlanArgs,
    scope: JobEnv,
): { cron?: MaintenancePlan["cron"]; rollout?: JobPlan } {
    const rotation = args.rotation;
    const cron: MaintenancePlan["cron"] = rotation
        ? {
              job: {
                  resourceName: "cronjob",
                  prefix: CRON_NAME,
                  identity: "check",
                  tasks: ["certificates", "control-plane", "restarts"],
                  env: {
                      TASKS: "certificates,control-plane,restarts",
                      ...scope,
                      CONTROL_PLANE_DIGEST: args.controlPlaneDigest ?? "",
                      ISSUER_MIN_HOURS_LEFT: String(rotation.issuerMinHoursLeft),
                      ANCHOR_MIN_DAYS_LEFT: String(rotation.anchorMinDaysLeft),
                      INTERMEDIATE_MIN_HOURS_LEFT: String(rotation.intermediateMinHoursLeft),
                  },
                  waitsFor: ["control-plane"],
              },
              // Drawn once, then kept in state: clusters do not all restart workloads at once.
              minuteRange: { min: 0, max: rotation.windowHours * 60 - 1 },
              schedule: (minute: number) => {
                  const minuteOfDay = (rotation.windowStartHour * 60 + minute) % (24 * 60);
                  return `${minuteOfDay % 60} ${Math.floor(minuteOfDay / 60)} * * *`;
              },
          }
        : undefined;
    return { cron, rollout: (args.rollout ?? true) ? rolloutJobOf(args, scope) : undefined };
}

/**
 * The rollout of this `pulumi up`: brings every pod in line with the mesh as configured (and, in
 * rotation phase 2, restarts identity with the re-issued issuer), then proves every meshed proxy
 * trusts the current bundle.
 */
function rolloutJobOf(args: MaintenancePlanArgs, scope: JobEnv): JobPlan {
    // Check first, restart after: with an expired, not yet valid or foreign issuer, or an
    // expired anchor, every restarted pod would come back without an identity.
    const remote = args.remoteTrust && args.remoteTrust.links.length > 0 ? args.remoteTrust : undefined;
    const tasks: Task[] = [
        "certificates",
        "control-plane",
        ...(args.reloadIdentityFor ? (["reload-identity"] as const) : []),
        "restarts",
        "verify-bundle",
        // Last: the far ends are checked once this cluster's own pods are in line.
        ...(remote ? (["remote-trust"] as const) : []),
    ];
    // The anchor the issuer is signed under: in phase 2 the one identity reloads for, which the links must trust too.
    const signing = args.reloadIdentityFor ?? remote?.signingAnchorSha256;
    return {
        // Named after what it enforces (the mesh's scope, what the control plane must run with): the
        // script itself is not part of the name, so a new script version updates its ConfigMap in place
        // (enableConfigMapMutable) and re-runs nothing.
        resourceName: "rollout",
        prefix: "linkerd-mesh-rollout",
        identity: "rollout",
        tasks,
        env: {
            TASKS: tasks.join(","),
            ...scope,
            // Validity only: the daily check alerts on time left. A threshold here would fail
            // every `pulumi up` of an anchor rotation, which is run because the anchor is near its end.
            ISSUER_MIN_HOURS_LEFT: "0",
            INTERMEDIATE_MIN_HOURS_LEFT: "0",
            ANCHOR_MIN_DAYS_LEFT: "0",
            CONTROL_PLANE_DIGEST: args.controlPlaneDigest ?? "",
            ...(signing ? { SIGNING_ANCHOR_SHA256: signing } : {}),
            ...(remote
                ? {
                      MULTICLUSTER_NAMESPACE: remote.credentialsNamespace,
                      REMOTE_TRUST_LINKS: JSON.stringify(remote.links),
                      REMOTE_TRUST_NAMESPACES: remote.namespaces.join(","),
                  }
                : {}),
        },
        waitsFor: ["control-plane", "checks", "namespaces"],
    };
}

/** The maintenance of the mesh, from its arguments. */
export function maintenancePlan(args: MaintenancePlanArgs): MaintenancePlan {
    const labels = objectLabels({ appName: "linkerd-mesh-maintenance" });
    const unmeshed = args.unmeshedNamespaces ?? [];
    const workloadNamespaces = [...args.meshedNamespaces, ...unmeshed];
    const memory = scriptMemoryBudget(
        args.resources ? parseQuantity(args.resources.memory.limit ?? args.resources.memory.request) : undefined,
    );
    const deadlineSeconds = args.deadlineMinutes * 60;

    const sharedEnv: JobEnv = {
        LINKERD_NAMESPACE: args.controlPlaneNamespace,
        ISSUER_SOURCE: JSON.stringify(args.issuerSource),
        TRUST_ROOTS_CONFIGMAP: LINKERD_OBJECTS.trustRootsConfigMap,
        MAX_CONCURRENT_RESTARTS: String(args.maxConcurrentRestarts),
        ROLLOUT_TIMEOUT_SECONDS: String(args.rolloutTimeoutSeconds),
        // The script's budget: it starts no restart it cannot finish before the Job is killed.
        DEADLINE_SECONDS: String(deadlineSeconds),
        PAGE_SIZE: String(memory.pageSize),
        MAX_PAGE_BYTES: String(memory.maxPageBytes),
        MAX_PAGES: String(MAX_LIST_PAGES),
        KUBECTL_TIMEOUT_SECONDS: String(KUBECTL_TIMEOUT_SECONDS),
    };
    /** What the restarting tasks bring in line: the mesh's scope. */
    const scope: JobEnv = {
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
    const checks = checkJobsOf(args);
    const { cron, rollout } = restartingJobsOf(args, scope);
    const jobs = [...checks, ...(rollout ? [rollout] : [])];
    // Each Job's whole environment (the shared variables and its own) is the one its tasks read.
    for (const job of [...jobs, ...(cron ? [cron.job] : [])])
        checkedEnv(job.resourceName, job.tasks, { ...sharedEnv, ...job.env });

    const restartingIdentities: IdentityKind[] = [
        ...(cron ? [cron.job.identity] : []),
        ...(rollout ? [rollout.identity] : []),
    ];
    const kinds = [...jobs.map((j) => j.identity), ...(cron ? [cron.job.identity] : [])];
    const identities = kinds.map((kind): IdentityPlan => ({
        kind,
        account: accountOf(kind),
        grants: grantsOf(args, kind, workloadNamespaces),
        confinedBy: [
            ...(restartingIdentities.includes(kind) ? ["restart-only" as const] : []),
            ...(kind === "pod-security" ? ["pod-security-dry-run-only" as const] : []),
        ],
    }));
    return {
        labels,
        namespace: {
            name: NAMESPACES.maintenance,
            // The program's part-of comes with namespaceObject (lib/objects.ts); a Namespace carries no app name.
            labels: {
                "pod-security.kubernetes.io/enforce": "restricted",
                "config.linkerd.io/admission-webhooks": "disabled",
            },
            // A proxy would keep a Job from completing, and the Jobs must work while the mesh does not.
            annotations: { "linkerd.io/inject": "disabled" },
        },
        restartingIdentities,
        identities,
        podSecurityDryRunOnly: checks.some((job) => job.identity === "pod-security")
            ? { name: POD_SECURITY_POLICY, use: DRY_RUN_ONLY.podSecurityCheck }
            : undefined,
        sharedEnv,
        jobs,
        cron,
        memory,
        deadlineSeconds,
        // Pulumi's wait outlasts the Job's own deadline, so the Job's verdict (Complete, or
        // DeadlineExceeded) is what `pulumi up` reports, never a Pulumi timeout mid-run.
        awaitTimeout: `${deadlineSeconds / 60 + AWAIT_MARGIN_MINUTES}m`,
    };
}

export interface PodTemplateArgs {
    labels: Record<string, string>;
    /** The identity's ServiceAccount. */
    account: string;
    /** The Job's whole environment: the shared variables, then its own. */
    env: JobEnv;
    podLabels?: Readonly<Record<string, string>>;
    memory: ScriptMemoryBudget;
    /** Image with `node`; pinned by digest. */
    image: pulumi.Input<string>;
    /** Image whose static `/usr/bin/kubectl` the init container copies; pinned by digest. */
    kubectlImage: pulumi.Input<string>;
    /** The check container's requests and limits, as Kubernetes writes them. */
    resources?: object;
    /** The ConfigMap holding the script and its modules. */
    scriptConfigMap: pulumi.Input<string>;
}

/**
 * The pod every maintenance Job runs: Pod Security `restricted`, no proxy, the token mounted by hand
 * into the one container that calls the API (the init container only lends its kubectl binary).
 */
export function maintenancePodTemplate(args: PodTemplateArgs) {
    const restricted = {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
    };
    return {
        metadata: { labels: { ...args.labels, ...args.podLabels }, annotations: { "linkerd.io/inject": "disabled" } },
        spec: {
            serviceAccountName: args.account,
            automountServiceAccountToken: false,
            restartPolicy: "Never",
            securityContext: {
                runAsNonRoot: true,
                runAsUser: 65534,
                runAsGroup: 65534,
                seccompProfile: { type: "RuntimeDefault" },
            },
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
                    command: [
                        "node",
                        `--max-old-space-size=${args.memory.heapMiB}`,
                        `--max-semi-space-size=${args.memory.semiSpaceMiB}`,
                        `${SCRIPT_DIR}/mesh-check.mjs`,
                    ],
                    env: Object.entries({ ...args.env, ...CONTAINER_ENV }).map(([name, value]) => ({ name, value })),
                    securityContext: restricted,
                    resources: args.resources,
                    volumeMounts: [
                        { name: "script", mountPath: SCRIPT_DIR, readOnly: true },
                        { name: "tools", mountPath: "/tools", readOnly: true },
                        { name: "tmp", mountPath: "/tmp" },
                        { name: "token", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
                    ],
                },
            ],
            volumes: [
                { name: "script", configMap: { name: args.scriptConfigMap } },
                { name: "tools", emptyDir: { sizeLimit: "128Mi" } },
                { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
                {
                    // What the kubelet would mount for automountServiceAccountToken, for this container only.
                    name: "token",
                    projected: {
                        sources: [
                            { serviceAccountToken: { path: "token", expirationSeconds: 3600 } },
                            { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
                            {
                                downwardAPI: {
                                    items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }],
                                },
                            },
                        ],
                    },
                },
            ],
        },
    };
}
