import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/**
 * The TLS block a Linkerd chart's webhook takes (`proxyInjector`, `profileValidator`,
 * `policyValidator`, viz `tap`, `tapInjector`). Either the certificate itself, or an
 * external Secret whose CA cert-manager's cainjector writes into the webhook.
 * Without one of them the chart calls genSelfSignedCert on every render.
 */
export type WebhookTlsValues =
    | {
          externalSecret: false;
          crtPEM: pulumi.Input<string>;
          keyPEM: pulumi.Input<string>;
          caBundle: pulumi.Input<string>;
      }
    | {
          externalSecret: true;
          /** `<namespace>/<Certificate name>` for cert-manager's CA injector. */
          injectCaFrom: pulumi.Input<string>;
      };

export interface WebhookCertificatesArgs {
    /** Namespace the webhook Services live in. */
    namespace: string;
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
     * Re-issue a serving certificate on `pulumi up` when fewer hours than this are left
     * (the webhook servers watch their certificate files and reload them).
     * @default 720
     */
    renewBeforeHours?: pulumi.Input<number>;
    /**
     * Validity of the webhook CA, in hours. Renewing it re-issues every serving
     * certificate in the same update, and the chart writes the new CA into the webhook
     * configurations at the same time.
     * @default 87600
     */
    caValidityHours?: pulumi.Input<number>;
}

/**
 * Serving certificates for a chart's admission webhooks, made by the program with
 * `@pulumi/tls` (the `static` issuer mode). Pulumi state keeps them, so every render
 * of the chart gets the same certificates and previews stay clean.
 */
export class WebhookCertificates extends pulumi.ComponentResource {
    /** Chart values per webhook key (e.g. `proxyInjector`). */
    public readonly values: Record<string, WebhookTlsValues>;
    /** The CA the API server trusts for these webhooks, PEM. */
    public readonly caBundle: pulumi.Output<string>;

    constructor(name: string, args: WebhookCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:WebhookCertificates", name, {}, opts);

        const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const caValidityHours = args.caValidityHours ?? 87600;
        const ca = new tls.SelfSignedCert(
            `${name}-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                subject: { commonName: `webhook-ca.${args.namespace}` },
                isCaCertificate: true,
                allowedUses: ["cert_signing", "crl_signing"],
                validityPeriodHours: caValidityHours,
                earlyRenewalHours: pulumi.output(caValidityHours).apply((h) => Math.floor(h / 10)),
            },
            { parent: this },
        );
        this.caBundle = ca.certPem;

        this.values = {};
        for (const [valueKey, service] of Object.entries(args.services)) {
            const host = `${service}.${args.namespace}.svc`;
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
            this.values[valueKey] = {
                externalSecret: false,
                crtPEM: cert.certPem,
                keyPEM: pulumi.secret(key.privateKeyPem),
                caBundle: ca.certPem,
            };
        }

        this.registerOutputs({ values: this.values, caBundle: this.caBundle });
    }
}
