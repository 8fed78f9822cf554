import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DRY_RUN_ONLY, dryRunOnlyPolicy, requestedBy } from "../lib/dryRunOnlyPolicy";
import type { ResourceValues } from "./linkerdControlPlane";
import type { NetworkPolicySpec } from "../lib/networkPolicies";
import type { MeshConfig } from "../config";
import { CHARTS, IMAGES } from "../lib/registry";
import { retainAndReadopt } from "./transforms";
import { namespaceObject, networkPolicyObject, objectLabels } from "../lib/objects";

/**
 * The API check's time budget, in agreement: `cmctl check api --wait` gives up first, then the
 * Job's activeDeadlineSeconds, then Pulumi's wait (whose default for Jobs is 10 minutes:
 * pulumi-kubernetes provider/pkg/await/job.go DefaultJobTimeoutMins), so the Job's own verdict
 * is what `pulumi up` reports.
 */
export const API_CHECK_TIMING = { waitMinutes: 4, deadlineSeconds: 5 * 60, awaitMinutes: 7 } as const;

export interface CertManagerResources {
    controller: ResourceValues;
    webhook: ResourceValues;
    cainjector: ResourceValues;
}

export interface CertManagerArgs {
    /**
     * Install the cert-manager chart; false uses the cluster's existing installation
     * (whose API the readiness check still proves).
     */
    install: MeshConfig["certManager"]["install"];
    /** Exact chart version (with the `v`); the presets pin lib/registry.ts `CHARTS.certManager`. */
    chartVersion: pulumi.Input<MeshConfig["certManager"]["chartVersion"]>;
    /** Helm repository. */
    repository: pulumi.Input<MeshConfig["certManager"]["repository"]>;
    /** Namespace cert-manager is installed into (or runs in). */
    namespace: MeshConfig["certManager"]["namespace"];
    /** Two controllers and cainjectors (leader election), three webhooks, PodDisruptionBudgets. */
    highAvailability: MeshConfig["certManager"]["highAvailability"];
    /** Requests and limits of the three deployments; unset keeps the chart's (none). */
    resources?: pulumi.Input<CertManagerResources>;
    /** The installed cert-manager's NetworkPolicy on a default-deny-everywhere platform (lib/networkPolicies.ts); omit for none. */
    networkPolicy?: NetworkPolicySpec;
}

/**
 * cert-manager (CRDs included) and a proof that its API really accepts objects.
 *
 * What this stack installs it keeps on delete and takes back on a later install (transforms.ts
 * `retainAndReadopt`): other teams' Certificates may rely on it, so neither turning the mesh off
 * nor `certManager.install: false` removes a running cert-manager (the mesh says so).
 *
 * A started webhook pod is not a working webhook: until cainjector has written the CA
 * into the webhook configurations, the API server answers x509 or connection errors
 * (pulumi-kubernetes#2674). cert-manager's chart checks this with its `startupapicheck`
 * Job, a Helm hook — and `helm.v4.Chart` omits hooks. So this component runs the same
 * check (`cmctl check api`, from the startupapicheck image of the same version) as a
 * plain Job that Pulumi waits for; Issuers and Certificates depend on {@link ready}.
 *
 * The check runs where the chart runs its own (cert-manager's namespace), never in the control
 * plane's, where the intermediate's Issuer signs whatever CertificateRequest is made there. Its
 * identity may create CertificateRequests there, and a ValidatingAdmissionPolicy admits only
 * dry-run requests from it: what `cmctl check api` sends (v1.21.1 `pkg/util/cmapichecker`: a
 * controller-runtime client with `DryRun: true` creating two CertificateRequests in its own
 * namespace). A stolen token of it obtains no certificate, now or after the check. The right
 * itself stays after the check, a deliberate deviation from issue 17 ("keeps no right to create
 * CertificateRequests after the check"), documented in docs/admin/rotation.md: the check runs
 * again whenever cert-manager changes, and removing the right after each run would take a second
 * `pulumi up` or a Job allowed to delete RoleBindings. test/trust.test.ts computes that the
 * identity obtains nothing and reads no Secret that holds a key.
 */
export class CertManager extends pulumi.ComponentResource {
    /** Completes once cert-manager's API accepts (dry-run) certificate requests. */
    public readonly ready: k8s.batch.v1.Job;
    /** The chart, when installed. */
    public readonly chart: k8s.helm.v4.Chart | undefined;
    /** The chart version (installed or assumed). */
    public readonly chartVersion: pulumi.Output<string>;

    constructor(name: string, args: CertManagerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:CertManager", name, {}, opts);

        const chartVersion = pulumi.output(args.chartVersion);
        const namespaceName = args.namespace;
        const ha = args.highAvailability;

        let namespace: k8s.core.v1.Namespace | undefined;
        if (args.install) {
            namespace = new k8s.core.v1.Namespace(
                `${name}-namespace`,
                // cert-manager's pods meet the restricted profile; it is not meshed
                // (Linkerd's injector skips the cert-manager namespace by default).
                namespaceObject({
                    name: namespaceName,
                    labels: { "pod-security.kubernetes.io/enforce": "restricted" },
                }),
                { parent: this, retainOnDelete: true },
            );
            const resources = pulumi.output(args.resources);
            const pdb = { enabled: ha, maxUnavailable: 1 };
            this.chart = new k8s.helm.v4.Chart(
                `${name}-chart`,
                {
                    // The release is named after the chart: its objects' `app.kubernetes.io/instance` (lib/transitions.ts).
                    name: CHARTS.certManager.chart,
                    chart: CHARTS.certManager.chart,
                    version: chartVersion,
                    repositoryOpts: { repo: args.repository },
                    namespace: namespace.metadata.name,
                    values: {
                        // CRDs come with the chart; `keep` marks them helm.sh/resource-policy: keep.
                        crds: { enabled: true, keep: true },
                        // Leader-election leases in cert-manager's own namespace, not kube-system.
                        global: { leaderElection: { namespace: namespaceName } },
                        replicaCount: ha ? 2 : 1,
                        podDisruptionBudget: pdb,
                        resources: resources.apply((r) => r && toK8sResources(r.controller)),
                        webhook: {
                            replicaCount: ha ? 3 : 1,
                            podDisruptionBudget: pdb,
                            resources: resources.apply((r) => r && toK8sResources(r.webhook)),
                        },
                        cainjector: {
                            replicaCount: ha ? 2 : 1,
                            podDisruptionBudget: pdb,
                            resources: resources.apply((r) => r && toK8sResources(r.cainjector)),
                        },
                        // A Helm hook, which helm.v4.Chart would not run; the check is below.
                        startupapicheck: { enabled: false },
                    },
                },
                // Other teams' Certificates live in these CRDs and rely on this cert-manager: kept on delete.
                { parent: this, dependsOn: [namespace], transforms: [retainAndReadopt] },
            );
            if (args.networkPolicy) {
                new k8s.networking.v1.NetworkPolicy(
                    `${name}-network-policy`,
                    networkPolicyObject(args.networkPolicy, namespace.metadata.name),
                    {
                        parent: this,
                    },
                );
            }
        }

        // An existing cert-manager's namespace exists already (it runs there).
        const checkNamespace: pulumi.Input<string> = namespace ? namespace.metadata.name : namespaceName;
        const labels = objectLabels({ appName: API_CHECK_ACCOUNT });
        const { account, binding, confined } = this.apiCheckIdentity(name, checkNamespace, labels);
        this.ready = new k8s.batch.v1.Job(
            `${name}-api-check`,
            {
                metadata: {
                    name: API_CHECK_ACCOUNT,
                    namespace: checkNamespace,
                    labels,
                    // A failed check would otherwise be re-awaited, and fail again, by every later
                    // `up`; this replaces (re-runs) it instead. A completed check is not re-run.
                    annotations: { "pulumi.com/replaceUnready": "true" },
                },
                spec: {
                    backoffLimit: 0,
                    activeDeadlineSeconds: API_CHECK_TIMING.deadlineSeconds,
                    template: {
                        metadata: { labels, annotations: { "linkerd.io/inject": "disabled" } },
                        spec: {
                            restartPolicy: "Never",
                            serviceAccountName: account.metadata.name,
                            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
                            containers: [
                                {
                                    name: "check",
                                    image: chartVersion.apply(IMAGES.certManagerApiCheck),
                                    args: ["check", "api", `--wait=${API_CHECK_TIMING.waitMinutes}m`],
                                    env: [
                                        {
                                            name: "POD_NAMESPACE",
                                            valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
                                        },
                                    ],
                                    securityContext: {
                                        allowPrivilegeEscalation: false,
                                        capabilities: { drop: ["ALL"] },
                                        readOnlyRootFilesystem: true,
                                    },
                                    resources: {
                                        requests: { cpu: "10m", memory: "32Mi" },
                                        limits: { cpu: "100m", memory: "64Mi" },
                                    },
                                },
                            ],
                        },
                    },
                },
            },
            {
                parent: this,
                // Its right to create CertificateRequests, and the dry-run-only policy that confines it.
                dependsOn: [binding, ...confined, ...(this.chart ? [this.chart] : [])],
                customTimeouts: {
                    create: `${API_CHECK_TIMING.awaitMinutes}m`,
                    update: `${API_CHECK_TIMING.awaitMinutes}m`,
                },
            },
        );

        this.chartVersion = chartVersion;
        this.registerOutputs({ ready: this.ready, chart: this.chart, chartVersion: this.chartVersion });
    }

    /**
     * The API check's identity: a ServiceAccount that may create CertificateRequests in its own
     * namespace (the chart's startupapicheck rights, templates/startupapicheck-rbac.yaml), granted
     * only once the policy that admits nothing but its dry runs is there.
     */
    private apiCheckIdentity(name: string, checkNamespace: pulumi.Input<string>, labels: Record<string, string>) {
        const account = new k8s.core.v1.ServiceAccount(
            `${name}-api-check`,
            { metadata: { name: API_CHECK_ACCOUNT, namespace: checkNamespace, labels } },
            { parent: this },
        );
        // Before the identity has any right: dry-run requests only.
        const dryRunOnly = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            `${name}-api-check-dry-run-only`,
            {
                metadata: { name: "akko-mtls-api-check-dry-run-only", labels },
                spec: apiCheckDryRunOnlyPolicy(checkNamespace),
            },
            { parent: this },
        );
        const dryRunOnlyBinding = new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            `${name}-api-check-dry-run-only`,
            {
                metadata: { name: "akko-mtls-api-check-dry-run-only", labels },
                spec: { policyName: dryRunOnly.metadata.name, validationActions: ["Deny"] },
            },
            { parent: this },
        );
        const role = new k8s.rbac.v1.Role(
            `${name}-api-check`,
            {
                metadata: { name: API_CHECK_ACCOUNT, namespace: checkNamespace, labels },
                rules: [{ apiGroups: ["cert-manager.io"], resources: ["certificaterequests"], verbs: ["create"] }],
            },
            { parent: this },
        );
        const binding = new k8s.rbac.v1.RoleBinding(
            `${name}-api-check`,
            {
                metadata: { name: API_CHECK_ACCOUNT, namespace: checkNamespace, labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: checkNamespace }],
            },
            { parent: this, dependsOn: [dryRunOnlyBinding] },
        );
        return { account, binding, confined: [dryRunOnly, dryRunOnlyBinding] };
    }
}

/** The API check's ServiceAccount (and Job, Role) name. */
export const API_CHECK_ACCOUNT = "cert-manager-api-check";

/** The policy that lets the API check's identity make dry-run requests to cert-manager's API and nothing else. */
export function apiCheckDryRunOnlyPolicy(namespace: pulumi.Input<string>) {
    const username = pulumi.output(namespace).apply((ns) => `system:serviceaccount:${ns}:${API_CHECK_ACCOUNT}`);
    return dryRunOnlyPolicy({ use: DRY_RUN_ONLY.certManagerApiCheck, identity: username.apply(requestedBy) });
}

/** Linkerd's `{cpu: {request, limit}}` shape as a Kubernetes `resources` block. */
export function toK8sResources(r: ResourceValues): {
    requests: Record<string, string>;
    limits?: Record<string, string>;
} {
    const limits: Record<string, string> = {};
    if (r.cpu.limit) limits.cpu = r.cpu.limit;
    if (r.memory.limit) limits.memory = r.memory.limit;
    return {
        requests: { cpu: r.cpu.request, memory: r.memory.request },
        ...(Object.keys(limits).length > 0 ? { limits } : {}),
    };
}
