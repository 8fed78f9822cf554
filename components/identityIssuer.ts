import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

/** A CA that can sign: its certificate and private key, PEM. */
export interface SigningCa {
    certPem: pulumi.Input<string>;
    privateKeyPem: pulumi.Input<string>;
}

export interface IdentityIssuerArgs {
    /** The trust anchor that signs the issuer. */
    signedBy: SigningCa;
    /**
     * Validity of the issuer certificate, in hours.
     * @default 8760 (one year, as Linkerd's docs)
     */
    validityHours?: pulumi.Input<number>;
    /**
     * Early renewal: a `pulumi up` run with fewer hours than this left re-issues the
     * certificate; the identity controller reloads the new issuer live.
     * @default 2160 (90 days, before `linkerd check` starts warning at 60)
     */
    renewBeforeHours?: pulumi.Input<number>;
    /**
     * Subject common name.
     * @default "identity.linkerd.cluster.local"
     */
    commonName?: pulumi.Input<string>;
}

/**
 * Linkerd's identity issuer in `static` mode: an intermediate CA, ECDSA P-256 with a
 * SHA-256 signature (linkerd2 pkg/issuercerts rejects anything else), signed by the
 * trust anchor with `@pulumi/tls` and handed to the control-plane chart.
 */
export class IdentityIssuer extends pulumi.ComponentResource {
    /** The issuer certificate, PEM. */
    public readonly certPem: pulumi.Output<string>;
    /** The issuer's private key, PEM (a Pulumi secret). */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** Expiry, RFC 3339. */
    public readonly notAfter: pulumi.Output<string>;

    constructor(name: string, args: IdentityIssuerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:IdentityIssuer", name, {}, opts);

        const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const request = new tls.CertRequest(
            `${name}-csr`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: args.commonName ?? "identity.linkerd.cluster.local" },
            },
            { parent: this },
        );
        const cert = new tls.LocallySignedCert(
            `${name}-cert`,
            {
                certRequestPem: request.certRequestPem,
                caCertPem: args.signedBy.certPem,
                caPrivateKeyPem: args.signedBy.privateKeyPem,
                isCaCertificate: true,
                allowedUses: ["cert_signing", "crl_signing"],
                validityPeriodHours: args.validityHours ?? 8760,
                earlyRenewalHours: args.renewBeforeHours ?? 2160,
            },
            { parent: this },
        );

        this.certPem = cert.certPem;
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        this.notAfter = cert.validityEndTime;

        this.registerOutputs({ certPem: this.certPem, privateKeyPem: this.privateKeyPem, notAfter: this.notAfter });
    }
}
