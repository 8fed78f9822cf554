import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MeshConfig } from "../config";
import { IdentityIssuer } from "./identityIssuer";
import { LINKERD_WEBHOOK_SERVICES, LinkerdControlPlane } from "./linkerdControlPlane";
import { TrustAnchor } from "./trustAnchor";
import { WebhookCertificates } from "./webhookCertificates";

export interface MtlsMeshArgs {
    /** The validated stack configuration (config/index.ts). */
    config: MeshConfig;
}

/**
 * The whole mesh as one dependency graph: trust anchor -> identity issuer ->
 * Linkerd CRDs -> control plane.
 *
 * With `mtls.enabled: false` only the trust anchor exists, and only in Pulumi state
 * (it is not a Kubernetes object): re-enabling the mesh then keeps the same identity,
 * and the anchor can be reviewed (fingerprint, expiry) a sprint before the switch.
 */
export class MtlsMesh extends pulumi.ComponentResource {
    /** Whether the mesh is deployed. */
    public readonly enabled: boolean;
    /** Trust anchor certificate, PEM. */
    public readonly trustAnchorPem: pulumi.Output<string>;
    /** SHA-256 fingerprint of the trust anchor. */
    public readonly trustAnchorFingerprintSha256: pulumi.Output<string>;
    /** Trust anchor expiry, RFC 3339. */
    public readonly trustAnchorNotAfter: pulumi.Output<string>;
    /** Identity issuer expiry, RFC 3339; undefined while the mesh is disabled. */
    public readonly identityIssuerNotAfter: pulumi.Output<string> | undefined;
    /** Linkerd chart version; undefined while the mesh is disabled. */
    public readonly linkerdChartVersion: pulumi.Output<string> | undefined;

    constructor(name: string, args: MtlsMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:MtlsMesh", name, {}, opts);
        const { config } = args;
        const identity = config.identity;

        // Generation 1 is the first anchor; the rotation phases add the next generation beside it.
        const anchor = new TrustAnchor(
            `${name}-trust-anchor-g1`,
            {
                validityHours: identity.trustAnchor.validityHours,
                expiryWarningDays: identity.trustAnchor.expiryWarningDays,
            },
            { parent: this },
        );
        this.enabled = config.mtls.enabled;
        this.trustAnchorPem = anchor.certPem;
        this.trustAnchorFingerprintSha256 = anchor.fingerprintSha256;
        this.trustAnchorNotAfter = anchor.notAfter;

        if (config.mtls.enabled) {
            const provider = new k8s.Provider(
                `${name}-kubernetes`,
                { context: config.cluster.context, kubeconfig: config.cluster.kubeconfig },
                { parent: this },
            );
            const issuer = new IdentityIssuer(
                `${name}-identity-issuer`,
                {
                    signedBy: anchor,
                    validityHours: identity.issuer.validityHours,
                    renewBeforeHours: identity.issuer.renewBeforeHours,
                },
                { parent: this },
            );
            const webhooks = new WebhookCertificates(
                `${name}-linkerd-webhooks`,
                { namespace: "linkerd", services: LINKERD_WEBHOOK_SERVICES },
                { parent: this },
            );
            const linkerd = config.linkerd;
            const controlPlane = new LinkerdControlPlane(
                `${name}-linkerd`,
                {
                    namespace: "linkerd",
                    chartVersion: linkerd.chartVersion,
                    repository: linkerd.repository,
                    gatewayApi: linkerd.gatewayApi,
                    trustAnchorsPem: anchor.certPem,
                    trustDomain: identity.trustDomain,
                    identityIssuer: { scheme: "linkerd.io/tls", crtPEM: issuer.certPem, keyPEM: issuer.privateKeyPem },
                    webhookTls: {
                        proxyInjector: webhooks.values.proxyInjector,
                        profileValidator: webhooks.values.profileValidator,
                        policyValidator: webhooks.values.policyValidator,
                    },
                    highAvailability: linkerd.highAvailability,
                    controllerReplicas: linkerd.controllerReplicas,
                    webhookFailurePolicy: linkerd.webhookFailurePolicy,
                    iptablesMode: linkerd.proxyInit.iptablesMode,
                    proxyResources: linkerd.proxy.resources,
                    controlPlaneResources: linkerd.controlPlaneResources,
                },
                { parent: this, providers: { kubernetes: provider } },
            );
            this.identityIssuerNotAfter = issuer.notAfter;
            this.linkerdChartVersion = controlPlane.chartVersion;
        }

        this.registerOutputs({
            enabled: this.enabled,
            trustAnchorPem: this.trustAnchorPem,
            trustAnchorFingerprintSha256: this.trustAnchorFingerprintSha256,
            trustAnchorNotAfter: this.trustAnchorNotAfter,
            identityIssuerNotAfter: this.identityIssuerNotAfter,
            linkerdChartVersion: this.linkerdChartVersion,
        });
    }
}
