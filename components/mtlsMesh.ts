import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MeshConfig } from "../config";
import type { MeshPlan } from "../lib/meshLifecycle";
import type { RotationPlan } from "../lib/rotation";
import { CertManager } from "./certManager";
import { CertManagerIdentityIssuer, IdentityIssuer } from "./identityIssuer";
import { IdentityIssuerValues, LINKERD_WEBHOOK_SERVICES, LinkerdControlPlane, LinkerdWebhook } from "./linkerdControlPlane";
import { LinkerdViz, VIZ_WEBHOOK_SERVICES, VizWebhook } from "./linkerdViz";
import { MeshedNamespace, STRICT_POLICY } from "./meshedNamespace";
import { MeshMaintenance } from "./meshMaintenance";
import { MtlsObservability, RULES_CONFIGMAP } from "./mtlsObservability";
import { linkerdNamespace, vizNamespace } from "./namespaces";
import { TrustAnchor } from "./trustAnchor";
import { CertManagerWebhookCertificates, WebhookCertificates, WebhookTlsValues } from "./webhookCertificates";

export interface MtlsMeshArgs {
    /** The validated stack configuration (config/index.ts). */
    config: MeshConfig;
    /** Which trust anchors exist in this rotation phase (lib/rotation.ts). */
    rotation: RotationPlan;
    /** Which namespaces are meshed, or drained, in this run (lib/meshLifecycle.ts). */
    mesh: MeshPlan;
}

const CONTROL_PLANE_NAMESPACE = "linkerd";
const VIZ_NAMESPACE = "linkerd-viz";

interface Anchor {
    generation: number;
    inBundle: boolean;
    signsIssuer: boolean;
    anchor: TrustAnchor;
}

/** Values and readiness of whichever issuer mode the stack uses. */
interface Identity {
    issuer: IdentityIssuerValues;
    webhooks: Record<string, WebhookTlsValues>;
    ready: pulumi.Resource[];
    certManager?: CertManager;
    /** Static issuer expiry. */
    notAfter?: pulumi.Output<string>;
}

/**
 * The whole mesh as one dependency graph:
 *
 *   trust anchor(s) ─┬─ static: identity issuer + webhook certificates (@pulumi/tls) ─┐
 *                    └─ certManager: cert-manager → API check → CA Issuer(s) →         │
 *                       issuer Certificate, webhook Certificates ───────────────────────┤
 *   linkerd namespace → linkerd-crds ──────────────────────────────────────────────────┴→ control plane ─┬→ viz (+ its certs, rules)
 *   meshed namespaces: annotations, NetworkPolicies, authorizations (after the CRDs) ─────────────────────┴→ rollout Job, rotation CronJob
 *
 * With `mtls.enabled: false` only the trust anchors exist, and only in Pulumi state
 * (they are not Kubernetes objects): re-enabling the mesh keeps the same identity, and
 * the anchor can be reviewed (fingerprint, expiry) a sprint before the switch. A stack
 * whose mesh was on drains first (lib/meshLifecycle.ts), keeping the control plane until
 * the last workload has restarted without its proxy.
 */
export class MtlsMesh extends pulumi.ComponentResource {
    /** Whether anything is deployed to the cluster in this run (on, or draining). */
    public readonly deployed: boolean;
    /** The trust anchor that signs the identity issuer, PEM. */
    public readonly trustAnchorPem: pulumi.Output<string>;
    /** Its SHA-256 fingerprint. */
    public readonly trustAnchorFingerprintSha256: pulumi.Output<string>;
    /** Its expiry, RFC 3339. */
    public readonly trustAnchorNotAfter: pulumi.Output<string>;
    /** Every anchor proxies trust (identityTrustAnchorsPEM), PEM. */
    public readonly trustBundlePem: pulumi.Output<string>;
    /** Static issuer expiry, RFC 3339; undefined with cert-manager (it renews every 23 h) or while disabled. */
    public readonly identityIssuerNotAfter: pulumi.Output<string> | undefined;
    /** Linkerd chart version; undefined while disabled. */
    public readonly linkerdChartVersion: pulumi.Output<string> | undefined;
    /** cert-manager chart version, in certManager mode while enabled. */
    public readonly certManagerChartVersion: pulumi.Output<string> | undefined;
    /** Schedule of the rotation CronJob, while enabled. */
    public readonly rotationJobSchedule: pulumi.Output<string> | undefined;
    /** How to open the viz dashboard, while viz is enabled. */
    public readonly vizDashboard: pulumi.Output<string> | undefined;

    constructor(name: string, args: MtlsMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        const { config, rotation, mesh } = args;
        // Recorded as the component's inputs, where the policy pack reads the meshed namespaces.
        const meshedNamespaces = mesh.namespaces.filter((n) => n.inject).map((n) => n.name);
        super("akko:mtls:MtlsMesh", name, { meshedNamespaces, phase: mesh.phase }, opts);
        const trustAnchor = config.identity.trustAnchor;

        const anchors: Anchor[] = rotation.anchors.map((planned) => ({
            ...planned,
            anchor: new TrustAnchor(
                `${name}-trust-anchor-g${planned.generation}`,
                {
                    validityHours: trustAnchor.validityHours,
                    // The anchor on its way out in phase 3 is expected to be old.
                    expiryWarningDays: planned.inBundle ? trustAnchor.expiryWarningDays : 0,
                    allowDeletion: planned.allowDeletion,
                },
                { parent: this },
            ),
        }));
        const inBundle = anchors.filter((a) => a.inBundle);
        const signing = anchors.find((a) => a.signsIssuer)!;
        const bundle = pulumi.all(inBundle.map((a) => a.anchor.certPem)).apply((pems) => pems.map((p) => p.trim()).join("\n"));

        this.deployed = mesh.deploy;
        this.trustAnchorPem = signing.anchor.certPem;
        this.trustAnchorFingerprintSha256 = signing.anchor.fingerprintSha256;
        this.trustAnchorNotAfter = signing.anchor.notAfter;
        this.trustBundlePem = bundle;

        if (mesh.deploy) {
            const provider = new k8s.Provider(
                `${name}-kubernetes`,
                { context: config.cluster.context, kubeconfig: config.cluster.kubeconfig },
                { parent: this },
            );
            const inCluster = { parent: this, provider };
            const namespace = linkerdNamespace(`${name}-linkerd-namespace`, CONTROL_PLANE_NAMESPACE, inCluster);
            const identity = this.identity(name, config, namespace, inBundle, signing, inCluster);
            this.identityIssuerNotAfter = identity.notAfter;
            this.certManagerChartVersion = identity.certManager?.chartVersion;
            const meshed = mesh.namespaces.map((n) => n.name);
            const viz = config.viz.enabled ? VIZ_NAMESPACE : undefined;

            const linkerd = config.linkerd;
            const controlPlane = new LinkerdControlPlane(
                `${name}-linkerd`,
                {
                    namespace,
                    chartVersion: linkerd.chartVersion,
                    repository: linkerd.repository,
                    gatewayApi: linkerd.gatewayApi,
                    // The chart annotates control-plane pods with this bundle's SHA-256
                    // (linkerd.io/trust-root-sha256): a rotation phase rolls them.
                    trustAnchorsPem: bundle,
                    trustDomain: config.identity.trustDomain,
                    identityIssuer: identity.issuer,
                    webhookTls: pick(identity.webhooks, Object.keys(LINKERD_WEBHOOK_SERVICES)) as Record<LinkerdWebhook, WebhookTlsValues>,
                    highAvailability: linkerd.highAvailability,
                    controllerReplicas: linkerd.controllerReplicas,
                    webhookFailurePolicy: linkerd.webhookFailurePolicy,
                    iptablesMode: linkerd.proxyInit.iptablesMode,
                    proxyResources: linkerd.proxy.resources,
                    controlPlaneResources: linkerd.controlPlaneResources,
                    waitFor: identity.ready,
                    networkPolicy: linkerd.networkPolicies ? { meshedNamespaces: meshed, vizNamespace: viz } : undefined,
                },
                inCluster,
            );
            this.linkerdChartVersion = controlPlane.chartVersion;

            const namespaces = mesh.namespaces.map(
                (plan) =>
                    new MeshedNamespace(
                        `${name}-mesh-${plan.name}`,
                        {
                            namespace: plan.name,
                            inject: plan.inject,
                            mode: plan.mode,
                            networkPolicy: config.mtls.networkPolicies
                                ? { meshedNamespaces: meshed, controlPlaneNamespace: CONTROL_PLANE_NAMESPACE, vizNamespace: viz }
                                : undefined,
                            authorizations: mesh.authorizations
                                ? config.mtls.authorizations
                                      .filter((a) => a.namespace === plan.name)
                                      .map((a) => ({ ...a, podSelector: { ...a.podSelector }, clients: [...a.clients] }))
                                : [],
                            crds: controlPlane.crds,
                            waitFor: [controlPlane],
                        },
                        inCluster,
                    ),
            );

            if (viz) this.vizDashboard = this.viz(name, config, namespace, controlPlane, identity, inBundle, inCluster);

            const job = config.rotationJob;
            const maintenance = new MeshMaintenance(
                `${name}-maintenance`,
                {
                    namespace: namespace.metadata.name,
                    issuerScheme: identity.issuer.scheme,
                    // viz's pods are meshed too and must pick up a new trust bundle.
                    meshedNamespaces: [...mesh.namespaces.filter((n) => n.inject).map((n) => n.name), ...(viz ? [viz] : [])],
                    unmeshedNamespaces: mesh.namespaces.filter((n) => !n.inject).map((n) => n.name),
                    expectedInboundPolicy: Object.fromEntries(
                        mesh.namespaces.filter((n) => n.inject).map((n) => [n.name, n.mode === "strict" ? STRICT_POLICY : "all-unauthenticated"]),
                    ),
                    rotation: job.enabled
                        ? {
                              windowStartHour: job.windowStartHour,
                              windowHours: job.windowHours,
                              issuerMinHoursLeft: job.issuerMinHoursLeft,
                              anchorMinDaysLeft: job.anchorMinDaysLeft,
                          }
                        : undefined,
                    maxConcurrentRestarts: job.maxConcurrentRestarts,
                    rolloutTimeoutSeconds: job.rolloutTimeoutSeconds,
                    image: job.image,
                    kubectlImage: job.kubectlImage,
                    resources: job.resources,
                    waitFor: [controlPlane],
                    rolloutWaitFor: namespaces.flatMap((n) => n.ready),
                },
                inCluster,
            );
            this.rotationJobSchedule = maintenance.schedule;

            const gke = config.cluster.gkePrivate;
            if (gke) {
                pulumi.log.warn(
                    "GKE private cluster: the API server reaches Linkerd's webhooks on the nodes only through a firewall rule " +
                        "(proxy injector and SP validator 8443, policy validator 9443, viz tap 8089). Create it once:\n" +
                        `  gcloud compute firewall-rules create ${gke.network}-linkerd-webhooks --network ${gke.network} ` +
                        `--direction INGRESS --source-ranges ${gke.masterIpv4CidrBlock} --target-tags ${gke.nodeTag} ` +
                        "--allow tcp:8443,tcp:8089,tcp:9443",
                    this,
                );
            }
        }
        if (mesh.notice) pulumi.log.warn(mesh.notice, this);

        this.registerOutputs({
            deployed: this.deployed,
            trustAnchorPem: this.trustAnchorPem,
            trustAnchorFingerprintSha256: this.trustAnchorFingerprintSha256,
            trustAnchorNotAfter: this.trustAnchorNotAfter,
            trustBundlePem: this.trustBundlePem,
            identityIssuerNotAfter: this.identityIssuerNotAfter,
            linkerdChartVersion: this.linkerdChartVersion,
            certManagerChartVersion: this.certManagerChartVersion,
            rotationJobSchedule: this.rotationJobSchedule,
            vizDashboard: this.vizDashboard,
        });
    }

    /** The identity issuer and the control plane's webhook certificates, in the configured mode. */
    private identity(
        name: string,
        config: MeshConfig,
        namespace: k8s.core.v1.Namespace,
        inBundle: Anchor[],
        signing: Anchor,
        inCluster: pulumi.ComponentResourceOptions,
    ): Identity {
        const issuer = config.identity.issuer;
        if (issuer.mode === "static") {
            const staticIssuer = new IdentityIssuer(
                `${name}-identity-issuer`,
                {
                    signedBy: signing.anchor,
                    validityHours: issuer.static.validityHours,
                    renewBeforeHours: issuer.static.renewBeforeHours,
                },
                { parent: this },
            );
            const webhooks = new WebhookCertificates(
                `${name}-linkerd-webhooks`,
                { namespace: CONTROL_PLANE_NAMESPACE, services: LINKERD_WEBHOOK_SERVICES },
                { parent: this },
            );
            return {
                issuer: { scheme: "linkerd.io/tls", crtPEM: staticIssuer.certPem, keyPEM: staticIssuer.privateKeyPem },
                webhooks: webhooks.values,
                ready: webhooks.ready,
                notAfter: staticIssuer.notAfter,
            };
        }

        const certManagerConfig = config.certManager;
        const certManager = new CertManager(
            `${name}-cert-manager`,
            {
                install: certManagerConfig.install,
                chartVersion: certManagerConfig.chartVersion,
                repository: certManagerConfig.repository,
                namespace: certManagerConfig.namespace,
                highAvailability: certManagerConfig.highAvailability,
                resources: certManagerConfig.resources,
                checkNamespace: namespace,
            },
            inCluster,
        );
        const managedIssuer = new CertManagerIdentityIssuer(
            `${name}-identity-issuer`,
            {
                namespace: namespace.metadata.name,
                anchors: inBundle.map((a) => ({ generation: a.generation, certPem: a.anchor.certPem, privateKeyPem: a.anchor.privateKeyPem })),
                signingGeneration: signing.generation,
                durationHours: issuer.certManager.durationHours,
                renewBeforeHours: issuer.certManager.renewBeforeHours,
                certManagerReady: certManager.ready,
            },
            inCluster,
        );
        const webhooks = new CertManagerWebhookCertificates(
            `${name}-linkerd-webhooks`,
            {
                namespace: namespace.metadata.name,
                namespaceName: CONTROL_PLANE_NAMESPACE,
                services: LINKERD_WEBHOOK_SERVICES,
                certManagerReady: certManager.ready,
            },
            inCluster,
        );
        return {
            issuer: { scheme: "kubernetes.io/tls" },
            webhooks: webhooks.values,
            ready: [...managedIssuer.ready, ...webhooks.ready],
            certManager,
        };
    }

    /** linkerd-viz, its webhook certificates, dashboards and rules; returns how to open the dashboard. */
    private viz(
        name: string,
        config: MeshConfig,
        controlPlaneNamespace: k8s.core.v1.Namespace,
        controlPlane: LinkerdControlPlane,
        identity: Identity,
        inBundle: Anchor[],
        inCluster: pulumi.ComponentResourceOptions,
    ): pulumi.Output<string> {
        const viz = config.viz;
        const obs = config.observability;
        const external = viz.prometheus.mode === "external";
        const namespace = vizNamespace(`${name}-viz-namespace`, VIZ_NAMESPACE, external ? viz.prometheus.url : undefined, inCluster);
        const inNamespace = (namespaceName: string) => (namespaceName === VIZ_NAMESPACE ? namespace.metadata.name : pulumi.output(namespaceName));

        const observability = new MtlsObservability(
            `${name}-observability`,
            {
                meshedNamespaces: [...config.mtls.namespaces],
                anchors: inBundle.map(({ anchor }) =>
                    pulumi.all([anchor.fingerprintSha256, anchor.notAfter]).apply(([fingerprint, notAfter]) => ({ fingerprint, notAfter })),
                ),
                issuerMinHoursLeft: config.rotationJob.issuerMinHoursLeft,
                anchorMinDaysLeft: config.rotationJob.anchorMinDaysLeft,
                grafanaDashboards: obs.grafanaDashboards.enabled
                    ? { ...obs.grafanaDashboards, namespace: inNamespace(obs.grafanaDashboards.namespace) }
                    : undefined,
                rules: obs.prometheusOperator
                    ? { kind: "PrometheusRule", namespace: controlPlaneNamespace.metadata.name, labels: { ...obs.ruleLabels } }
                    : { kind: "ConfigMap", namespace: namespace.metadata.name },
                runbookUrl: obs.runbookUrl,
            },
            inCluster,
        );

        let webhooks: Record<string, WebhookTlsValues>;
        const waitFor: pulumi.Resource[] = [controlPlane];
        if (identity.certManager) {
            const certificates = new CertManagerWebhookCertificates(
                `${name}-viz-webhooks`,
                {
                    namespace: namespace.metadata.name,
                    namespaceName: VIZ_NAMESPACE,
                    services: VIZ_WEBHOOK_SERVICES,
                    certManagerReady: identity.certManager.ready,
                },
                inCluster,
            );
            webhooks = certificates.values;
            waitFor.push(...certificates.ready);
        } else {
            webhooks = new WebhookCertificates(`${name}-viz-webhooks`, { namespace: VIZ_NAMESPACE, services: VIZ_WEBHOOK_SERVICES }, { parent: this })
                .values;
        }
        if (!obs.prometheusOperator) waitFor.push(observability.rules);

        const ingress = viz.dashboard.ingress;
        const component = new LinkerdViz(
            `${name}-viz`,
            {
                namespace,
                namespaceName: VIZ_NAMESPACE,
                chartVersion: config.linkerd.chartVersion,
                repository: config.linkerd.repository,
                trustDomain: config.identity.trustDomain,
                webhookTls: pick(webhooks, Object.keys(VIZ_WEBHOOK_SERVICES)) as Record<VizWebhook, WebhookTlsValues>,
                highAvailability: viz.highAvailability,
                resources: viz.resources,
                prometheus: external
                    ? { mode: "external", url: viz.prometheus.url! }
                    : {
                          mode: "bundled",
                          retention: viz.prometheus.retention,
                          retentionSize: viz.prometheus.retentionSize,
                          resources: viz.prometheus.resources,
                          rules: obs.prometheusOperator
                              ? undefined
                              : { configMap: RULES_CONFIGMAP.name, key: RULES_CONFIGMAP.key, sha256: observability.rulesSha256 },
                      },
                dashboardIngress: ingress.enabled
                    ? { host: ingress.host!, className: ingress.className, authAnnotations: { ...ingress.authAnnotations }, tlsSecretName: ingress.tlsSecretName }
                    : undefined,
                kubeContext: config.cluster.context,
                waitFor,
            },
            inCluster,
        );
        return component.dashboard;
    }
}

function pick<T>(record: Record<string, T>, keys: string[]): Record<string, T> {
    return Object.fromEntries(keys.map((key) => [key, record[key]]));
}
