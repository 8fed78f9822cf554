import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "node:crypto";
import type { MeshConfig } from "../config";
import type { RotationPlan } from "../lib/rotation";
import { CertManager } from "./certManager";
import { CertManagerIdentityIssuer, IdentityIssuer } from "./identityIssuer";
import { IdentityIssuerValues, LINKERD_WEBHOOK_SERVICES, LinkerdControlPlane, LinkerdWebhook } from "./linkerdControlPlane";
import { LinkerdViz, VIZ_WEBHOOK_SERVICES, VizWebhook } from "./linkerdViz";
import { MtlsObservability, RULES_CONFIGMAP } from "./mtlsObservability";
import { linkerdNamespace, vizNamespace } from "./namespaces";
import { RotationCronJob } from "./rotationCronJob";
import { TrustAnchor } from "./trustAnchor";
import { CertManagerWebhookCertificates, WebhookCertificates, WebhookTlsValues } from "./webhookCertificates";

export interface MtlsMeshArgs {
    /** The validated stack configuration (config/index.ts). */
    config: MeshConfig;
    /** Which trust anchors exist in this rotation phase (lib/rotation.ts). */
    rotation: RotationPlan;
}

/** Annotation on control-plane pods: a new trust bundle rolls them (they read it at start). */
export const TRUST_BUNDLE_ANNOTATION = "akko.io/trust-bundle-sha256";

/**
 * The whole mesh as one dependency graph:
 *
 *   trust anchor(s) ─┬─ static: identity issuer + webhook certificates (@pulumi/tls) ─┐
 *                    └─ certManager: cert-manager → API check → CA Issuer(s) →         │
 *                       issuer Certificate, webhook Certificates ───────────────────────┤
 *   linkerd namespace → linkerd-crds ──────────────────────────────────────────────────┴→ control plane ─┬→ viz (+ its webhook certs, rules)
 *                                                                                                         └→ rotation CronJob
 *
 * With `mtls.enabled: false` only the trust anchors exist, and only in Pulumi state
 * (they are not Kubernetes objects): re-enabling the mesh keeps the same identity, and
 * the anchor can be reviewed (fingerprint, expiry) a sprint before the switch.
 */
export class MtlsMesh extends pulumi.ComponentResource {
    /** Whether the mesh is deployed. */
    public readonly enabled: boolean;
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
        super("akko:mtls:MtlsMesh", name, {}, opts);
        const { config, rotation } = args;
        const identity = config.identity;

        const anchors = rotation.anchors.map((planned) => ({
            planned,
            anchor: new TrustAnchor(
                `${name}-trust-anchor-g${planned.generation}`,
                {
                    validityHours: identity.trustAnchor.validityHours,
                    // The anchor on its way out in phase 3 is expected to be old.
                    expiryWarningDays: planned.inBundle ? identity.trustAnchor.expiryWarningDays : 0,
                    allowDeletion: planned.allowDeletion,
                },
                { parent: this },
            ),
        }));
        const inBundle = anchors.filter((a) => a.planned.inBundle);
        const signing = anchors.find((a) => a.planned.signsIssuer)!;
        const bundle = pulumi.all(inBundle.map((a) => a.anchor.certPem)).apply((pems) => pems.map((p) => p.trim()).join("\n"));

        this.enabled = config.mtls.enabled;
        this.trustAnchorPem = signing.anchor.certPem;
        this.trustAnchorFingerprintSha256 = signing.anchor.fingerprintSha256;
        this.trustAnchorNotAfter = signing.anchor.notAfter;
        this.trustBundlePem = bundle;

        if (config.mtls.enabled) {
            const provider = new k8s.Provider(
                `${name}-kubernetes`,
                { context: config.cluster.context, kubeconfig: config.cluster.kubeconfig },
                { parent: this },
            );
            const inCluster = { parent: this, provider };
            const namespace = linkerdNamespace(`${name}-linkerd-namespace`, "linkerd", inCluster);

            let issuerValues: IdentityIssuerValues;
            let webhookValues: Record<string, WebhookTlsValues>;
            const waitFor: pulumi.Resource[] = [];
            let certManager: CertManager | undefined;
            if (identity.issuer.mode === "certManager") {
                certManager = new CertManager(
                    `${name}-cert-manager`,
                    {
                        install: config.certManager.install,
                        chartVersion: config.certManager.chartVersion,
                        repository: config.certManager.repository,
                        namespace: config.certManager.namespace,
                        highAvailability: config.certManager.highAvailability,
                        resources: config.certManager.resources,
                        checkNamespace: namespace,
                    },
                    inCluster,
                );
                const issuer = new CertManagerIdentityIssuer(
                    `${name}-identity-issuer`,
                    {
                        namespace: namespace.metadata.name,
                        anchors: inBundle.map(({ planned, anchor }) => ({
                            generation: planned.generation,
                            certPem: anchor.certPem,
                            privateKeyPem: anchor.privateKeyPem,
                        })),
                        signingGeneration: signing.planned.generation,
                        durationHours: identity.issuer.certManager.durationHours,
                        renewBeforeHours: identity.issuer.certManager.renewBeforeHours,
                        certManagerReady: certManager.ready,
                    },
                    inCluster,
                );
                const webhooks = new CertManagerWebhookCertificates(
                    `${name}-linkerd-webhooks`,
                    {
                        namespace: namespace.metadata.name,
                        namespaceName: "linkerd",
                        services: LINKERD_WEBHOOK_SERVICES,
                        certManagerReady: certManager.ready,
                    },
                    inCluster,
                );
                issuerValues = { scheme: "kubernetes.io/tls" };
                webhookValues = webhooks.values;
                waitFor.push(...issuer.ready, ...webhooks.ready);
                this.certManagerChartVersion = certManager.chartVersion;
            } else {
                const issuer = new IdentityIssuer(
                    `${name}-identity-issuer`,
                    {
                        signedBy: signing.anchor,
                        validityHours: identity.issuer.static.validityHours,
                        renewBeforeHours: identity.issuer.static.renewBeforeHours,
                    },
                    { parent: this },
                );
                const webhooks = new WebhookCertificates(
                    `${name}-linkerd-webhooks`,
                    { namespace: "linkerd", services: LINKERD_WEBHOOK_SERVICES },
                    { parent: this },
                );
                issuerValues = { scheme: "linkerd.io/tls", crtPEM: issuer.certPem, keyPEM: issuer.privateKeyPem };
                webhookValues = webhooks.values;
                this.identityIssuerNotAfter = issuer.notAfter;
            }

            const linkerd = config.linkerd;
            const webhookTls = Object.fromEntries(
                Object.keys(LINKERD_WEBHOOK_SERVICES).map((key) => [key, webhookValues[key]]),
            ) as Record<LinkerdWebhook, WebhookTlsValues>;
            const controlPlane = new LinkerdControlPlane(
                `${name}-linkerd`,
                {
                    namespace,
                    chartVersion: linkerd.chartVersion,
                    repository: linkerd.repository,
                    gatewayApi: linkerd.gatewayApi,
                    trustAnchorsPem: bundle,
                    trustDomain: identity.trustDomain,
                    identityIssuer: issuerValues,
                    webhookTls,
                    highAvailability: linkerd.highAvailability,
                    controllerReplicas: linkerd.controllerReplicas,
                    webhookFailurePolicy: linkerd.webhookFailurePolicy,
                    iptablesMode: linkerd.proxyInit.iptablesMode,
                    proxyResources: linkerd.proxy.resources,
                    controlPlaneResources: linkerd.controlPlaneResources,
                    // Control-plane proxies read the bundle from a ConfigMap when they start: a
                    // new bundle (rotation phases 1 and 3) must roll them.
                    podAnnotations: { [TRUST_BUNDLE_ANNOTATION]: bundle.apply(sha256) },
                    waitFor,
                },
                inCluster,
            );
            this.linkerdChartVersion = controlPlane.chartVersion;

            // Observability and viz, after the control plane (viz is meshed; its charts
            // render Linkerd policy objects).
            const viz = config.viz;
            const obs = config.observability;
            const vizNamespaceName = "linkerd-viz";
            const vizNs = viz.enabled
                ? vizNamespace(`${name}-viz-namespace`, vizNamespaceName, viz.prometheus.mode === "external" ? viz.prometheus.url : undefined, inCluster)
                : undefined;
            const inNamespace = (namespaceName: string) =>
                vizNs && namespaceName === vizNamespaceName ? vizNs.metadata.name : pulumi.output(namespaceName);
            const observability = new MtlsObservability(
                `${name}-observability`,
                {
                    meshedNamespaces: [...config.mtls.namespaces],
                    anchors: inBundle.map(({ anchor }) => pulumi.all([anchor.fingerprintSha256, anchor.notAfter]).apply(([fingerprint, notAfter]) => ({ fingerprint, notAfter }))),
                    issuerMinHoursLeft: config.rotationJob.issuerMinHoursLeft,
                    anchorMinDaysLeft: config.rotationJob.anchorMinDaysLeft,
                    grafanaDashboards: obs.grafanaDashboards.enabled
                        ? { ...obs.grafanaDashboards, namespace: inNamespace(obs.grafanaDashboards.namespace) }
                        : undefined,
                    rules: obs.prometheusOperator
                        ? { kind: "PrometheusRule", namespace: namespace.metadata.name, labels: { ...obs.ruleLabels } }
                        : { kind: "ConfigMap", namespace: inNamespace(vizNamespaceName) },
                    runbookUrl: obs.runbookUrl,
                },
                inCluster,
            );

            if (vizNs) {
                let vizWebhookValues: Record<string, WebhookTlsValues>;
                const vizWaitFor: pulumi.Resource[] = [controlPlane];
                if (certManager) {
                    const vizWebhooks = new CertManagerWebhookCertificates(
                        `${name}-viz-webhooks`,
                        {
                            namespace: vizNs.metadata.name,
                            namespaceName: vizNamespaceName,
                            services: VIZ_WEBHOOK_SERVICES,
                            certManagerReady: certManager.ready,
                        },
                        inCluster,
                    );
                    vizWebhookValues = vizWebhooks.values;
                    vizWaitFor.push(...vizWebhooks.ready);
                } else {
                    vizWebhookValues = new WebhookCertificates(
                        `${name}-viz-webhooks`,
                        { namespace: vizNamespaceName, services: VIZ_WEBHOOK_SERVICES },
                        { parent: this },
                    ).values;
                }
                const bundledRules = !obs.prometheusOperator;
                if (bundledRules) vizWaitFor.push(observability.rules);
                const ingress = viz.dashboard.ingress;
                const vizComponent = new LinkerdViz(
                    `${name}-viz`,
                    {
                        namespace: vizNs,
                        namespaceName: vizNamespaceName,
                        chartVersion: linkerd.chartVersion,
                        repository: linkerd.repository,
                        trustDomain: identity.trustDomain,
                        webhookTls: Object.fromEntries(
                            Object.keys(VIZ_WEBHOOK_SERVICES).map((key) => [key, vizWebhookValues[key]]),
                        ) as Record<VizWebhook, WebhookTlsValues>,
                        highAvailability: viz.highAvailability,
                        resources: viz.resources,
                        prometheus:
                            viz.prometheus.mode === "external"
                                ? { mode: "external", url: viz.prometheus.url! }
                                : {
                                      mode: "bundled",
                                      retention: viz.prometheus.retention,
                                      retentionSize: viz.prometheus.retentionSize,
                                      resources: viz.prometheus.resources,
                                      rules: bundledRules
                                          ? { configMap: RULES_CONFIGMAP.name, key: RULES_CONFIGMAP.key, sha256: observability.rulesSha256 }
                                          : undefined,
                                  },
                        dashboardIngress: ingress.enabled
                            ? {
                                  host: ingress.host!,
                                  className: ingress.className,
                                  authAnnotations: { ...ingress.authAnnotations },
                                  tlsSecretName: ingress.tlsSecretName,
                              }
                            : undefined,
                        kubeContext: config.cluster.context,
                        waitFor: vizWaitFor,
                    },
                    inCluster,
                );
                this.vizDashboard = vizComponent.dashboard;
            }

            const job = config.rotationJob;
            if (job.enabled) {
                const cronJob = new RotationCronJob(
                    `${name}-rotation`,
                    {
                        namespace: namespace.metadata.name,
                        // viz's pods are meshed too and must pick up a new trust bundle.
                        meshedNamespaces: [...config.mtls.namespaces, ...(vizNs ? [vizNamespaceName] : [])],
                        issuerScheme: issuerValues.scheme,
                        windowStartHour: job.windowStartHour,
                        windowHours: job.windowHours,
                        issuerMinHoursLeft: job.issuerMinHoursLeft,
                        anchorMinDaysLeft: job.anchorMinDaysLeft,
                        maxConcurrentRestarts: job.maxConcurrentRestarts,
                        rolloutTimeoutSeconds: job.rolloutTimeoutSeconds,
                        image: job.image,
                        kubectlImage: job.kubectlImage,
                        resources: job.resources,
                        waitFor: [controlPlane],
                    },
                    inCluster,
                );
                this.rotationJobSchedule = cronJob.schedule;
            }
        }

        this.registerOutputs({
            enabled: this.enabled,
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
}

function sha256(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}
