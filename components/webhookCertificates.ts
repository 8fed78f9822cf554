import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/**
 * The TLS block a Linkerd chart's webhook takes (`proxyInjector`, `profileValidator`,
 * `policyValidator`, viz `tap`, `tapInjector`). The serving certificate always lives in a Secret
 * the chart does not render (`externalSecret`, named `<service>-k8s-tls`, keys tls.crt/tls.key:
 * charts/linkerd-control-plane/templates/proxy-injector-rbac.yaml:59-76); the API server trusts
 * either a CA bundle given here or the one cert-manager's cainjector writes. So no certificate
 * ever sits in the chart values: renewing one changes a Secret, not the chart, and `pulumi preview`
 * keeps every chart's values known (an unknown value makes helm.v4.Chart register no children:
 * pulumi-kubernetes provider/pkg/provider/helm/v4/chart.go:173-178, "Preview is incomplete").
 * Without any of them the chart calls genSelfSignedCert on every render.
 */
export type WebhookTlsValues =
    | {
          externalSecret: true;
          /** The CA that signed the serving certificate (static mode). */
          caBundle: pulumi.Input<string>;
      }
    | {
          externalSecret: true;
          /** `<namespace>/<Certificate name>` for cert-manager's CA injector. */
          injectCaFrom: pulumi.Input<string>;
      };

/** The Secret a chart's webhook mounts (fixed names in the pinned charts). */
export const webhookSecretName = (service: string) => `${service}-k8s-tls`;

export interface WebhookCertificatesArgs {
    /** Namespace the webhook Services (and their Secrets) live in. */
    namespace: pulumi.Input<string>;
    /** Its name, for the DNS names (the Input above may be an Output of the Namespace). */
    namespaceName: string;
    /**
     * The webhooks, as chart value key -> Service name; each certificate is issued
     * for `<service>.<namespace>.svc`, the host the charts use.
     */
    services: Record<string, string>;
    /**
     * Validity of each webhook serving certificate, in hours.
     * @default 8760
     */
    validityHours?: pulumi.Input<number>;
    /**
     * Re-issue a serving certificate on `pulumi up` when fewer hours than this are left; the
     * Secret is updated in place and the maintenance Job restarts the control plane.
     * @default 720
     */
    renewBeforeHours?: pulumi.Input<number>;
    /**
     * Validity of the webhook CA, in hours. It is never renewed early: its PEM is the one
     * certificate in the chart values (`caBundle`), and a new one would leave that value unknown
     * at preview. At expiry the tls provider replaces it; `pulumi up` warns 60 days before.
     * @default 87600
     */
    caValidityHours?: pulumi.Input<number>;
}

/**
 * Serving certificates for a chart's admission webhooks, made by the program with
 * `@pulumi/tls` (the `static` issuer mode) and written to the Secrets the chart's pods mount.
 * Pulumi state keeps them, so every render of the chart gets the same values.
 */
export class WebhookCertificates extends pulumi.ComponentResource {
    /** Chart values per webhook key (e.g. `proxyInjector`). */
    public readonly values: Record<string, WebhookTlsValues>;
    /** The CA the API server trusts for these webhooks, PEM. */
    public readonly caBundle: pulumi.Output<string>;
    /** The serving certificates, PEM (a change restarts the control plane: MeshMaintenance). */
    public readonly certificates: pulumi.Output<string>[];
    /** The Secrets, for the chart to wait for. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: WebhookCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:WebhookCertificates", name, {}, opts);

        const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const ca = new tls.SelfSignedCert(
            `${name}-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                subject: { commonName: `webhook-ca.${args.namespaceName}` },
                isCaCertificate: true,
                allowedUses: ["cert_signing", "crl_signing"],
                validityPeriodHours: args.caValidityHours ?? 87600,
                earlyRenewalHours: 0,
            },
            { parent: this },
        );
        this.caBundle = ca.certPem;

        this.values = {};
        this.certificates = [];
        this.ready = [];
        for (const [valueKey, service] of Object.entries(args.services)) {
            const host = `${service}.${args.namespaceName}.svc`;
            const key = new tls.PrivateKey(`${name}-${service}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
            const request = new tls.CertRequest(
                `${name}-${service}-csr`,
                { privateKeyPem: key.privateKeyPem, subject: { commonName: host }, dnsNames: [host] },
                { parent: this },
            );
            const cert = new tls.LocallySignedCert(
                `${name}-${service}-cert`,
                {
                    certRequestPem: request.certRequestPem,
                    caCertPem: ca.certPem,
                    caPrivateKeyPem: caKey.privateKeyPem,
                    allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
                    validityPeriodHours: args.validityHours ?? 8760,
                    earlyRenewalHours: args.renewBeforeHours ?? 720,
                },
                { parent: this },
            );
            this.ready.push(
                new k8s.core.v1.Secret(
                    `${name}-${service}-secret`,
                    {
                        metadata: { name: webhookSecretName(service), namespace: args.namespace, labels: { "app.kubernetes.io/part-of": "akko-mtls" } },
                        type: "kubernetes.io/tls",
                        stringData: { "tls.crt": cert.certPem, "tls.key": pulumi.secret(key.privateKeyPem) },
                    },
                    { parent: this },
                ),
            );
            this.certificates.push(cert.certPem);
            this.values[valueKey] = { externalSecret: true, caBundle: ca.certPem };
        }

        this.registerOutputs({ values: this.values, caBundle: this.caBundle, certificates: this.certificates });
    }
}

export interface CertManagerWebhookCertificatesArgs {
    /** Namespace the webhook Services (and these Certificates) live in. */
    namespace: pulumi.Input<string>;
    /** Chart value key -> Service name; Secret `<service>-k8s-tls`, DNS `<service>.<ns>.svc`. */
    services: Record<string, string>;
    /** Namespace name, for the DNS names (the Input above may be an Output of the Namespace). */
    namespaceName: string;
    /**
     * Serving certificate duration, hours.
     * @default 720
     */
    durationHours?: number;
    /**
     * cert-manager renews this many hours before expiry.
     * @default 240
     */
    renewBeforeHours?: number;
    /** Completes once cert-manager's API accepts objects (CertManager.ready). */
    certManagerReady: pulumi.Input<pulumi.Resource>;
}

/**
 * Serving certificates for a chart's admission webhooks, issued and rotated by
 * cert-manager (the `certManager` issuer mode): a self-signed bootstrap Issuer, a webhook
 * CA Certificate and its CA Issuer, then one Certificate per webhook, written to the
 * Secret name the chart mounts. The chart gets `externalSecret: true` and
 * `injectCaFrom: <namespace>/<Certificate>`, so cainjector keeps each webhook's caBundle
 * in step and the chart's values never change between renders.
 */
export class CertManagerWebhookCertificates extends pulumi.ComponentResource {
    /** Chart values per webhook key. */
    public readonly values: Record<string, WebhookTlsValues>;
    /** Resources the chart must wait for (the Certificates, Ready). */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: CertManagerWebhookCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:CertManagerWebhookCertificates", name, {}, opts);

        const waitReady = { "pulumi.com/waitFor": "condition=Ready" };
        const issuer = (suffix: string, spec: object, dependsOn: pulumi.Input<pulumi.Resource>[]) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${suffix}`,
                {
                    apiVersion: "cert-manager.io/v1",
                    kind: "Issuer",
                    metadata: { name: `webhook-${suffix}`, namespace: args.namespace, annotations: waitReady },
                    spec,
                },
                { parent: this, dependsOn },
            );
        const certificate = (resourceName: string, spec: object, dependsOn: pulumi.Resource[]) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${resourceName}`,
                {
                    apiVersion: "cert-manager.io/v1",
                    kind: "Certificate",
                    metadata: { name: resourceName, namespace: args.namespace, annotations: waitReady },
                    spec,
                },
                { parent: this, dependsOn },
            );

        const bootstrap = issuer("selfsigned", { selfSigned: {} }, [args.certManagerReady]);
        const ecdsa = { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" };
        const caCertificate = certificate(
            "webhook-ca",
            {
                secretName: "webhook-ca",
                commonName: `webhook-ca.${args.namespaceName}`,
                isCA: true,
                duration: "87600h0m0s",
                renewBefore: "8760h0m0s",
                privateKey: ecdsa,
                issuerRef: { name: "webhook-selfsigned", kind: "Issuer", group: "cert-manager.io" },
            },
            [bootstrap],
        );
        const ca = issuer("ca", { ca: { secretName: "webhook-ca" } }, [caCertificate]);

        this.values = {};
        this.ready = [];
        for (const [valueKey, service] of Object.entries(args.services)) {
            const host = `${service}.${args.namespaceName}.svc`;
            const serving = certificate(
                service,
                {
                    secretName: webhookSecretName(service),
                    commonName: host,
                    dnsNames: [host],
                    duration: `${args.durationHours ?? 720}h0m0s`,
                    renewBefore: `${args.renewBeforeHours ?? 240}h0m0s`,
                    usages: ["server auth", "digital signature", "key encipherment"],
                    privateKey: ecdsa,
                    issuerRef: { name: "webhook-ca", kind: "Issuer", group: "cert-manager.io" },
                },
                [ca],
            );
            this.ready.push(serving);
            this.values[valueKey] = { externalSecret: true, injectCaFrom: `${args.namespaceName}/${service}` };
        }
        this.registerOutputs({ values: this.values });
    }
}
