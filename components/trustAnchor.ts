import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import * as crypto from "node:crypto";
import type { MeshConfig } from "../config";

export interface TrustAnchorArgs {
    /**
     * Validity of the anchor certificate, in hours. Only read when the anchor is
     * first created: changing it later does not replace an existing anchor.
     */
    validityHours: pulumi.Input<MeshConfig["identity"]["trustAnchor"]["validityHours"]>;
    /**
     * Subject common name.
     * @default "root.linkerd.cluster.local"
     */
    commonName?: pulumi.Input<string>;
    /** `pulumi up` warns when the anchor has fewer days than this left (0: never). */
    expiryWarningDays: pulumi.Input<number>;
    /**
     * Lift the deletion protection so that the last rotation phase can remove the
     * anchor from state. Never set outside a rotation.
     * @default false
     */
    allowDeletion?: boolean;
}

/**
 * The root of Linkerd's identity: an ECDSA P-256 self-signed CA (cert-sign, CRL-sign).
 *
 * Swapping the anchor in one step breaks every proxy, so this component never lets
 * Pulumi replace it implicitly: no early renewal, the inputs that would force a new
 * certificate are ignored once it exists, and both key and certificate are protected,
 * which turns any replacement (including the tls provider's at expiry) into a failed
 * `pulumi up` instead of an outage. A new anchor comes only from a rotation.
 */
export class TrustAnchor extends pulumi.ComponentResource {
    /** The anchor certificate, PEM. */
    public readonly certPem: pulumi.Output<string>;
    /** The anchor's private key, PEM (a Pulumi secret). */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** SHA-256 fingerprint of the certificate, `AB:CD:...` as `openssl x509 -fingerprint -sha256`. */
    public readonly fingerprintSha256: pulumi.Output<string>;
    /** Expiry, RFC 3339. */
    public readonly notAfter: pulumi.Output<string>;

    constructor(name: string, args: TrustAnchorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:TrustAnchor", name, {}, opts);

        const keep: pulumi.CustomResourceOptions = { parent: this, protect: !args.allowDeletion };
        const key = new tls.PrivateKey(
            `${name}-key`,
            { algorithm: "ECDSA", ecdsaCurve: "P256" },
            { ...keep, ignoreChanges: ["algorithm", "ecdsaCurve"] },
        );
        const cert = new tls.SelfSignedCert(
            `${name}-cert`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: args.commonName ?? "root.linkerd.cluster.local" },
                isCaCertificate: true,
                allowedUses: ["cert_signing", "crl_signing"],
                validityPeriodHours: args.validityHours,
                // Renewal would swap the anchor in one step; rotation is phased instead.
                earlyRenewalHours: 0,
            },
            {
                ...keep,
                ignoreChanges: [
                    "subject",
                    "validityPeriodHours",
                    "earlyRenewalHours",
                    "allowedUses",
                    "isCaCertificate",
                ],
            },
        );

        this.certPem = cert.certPem;
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        this.notAfter = cert.validityEndTime;
        this.fingerprintSha256 = cert.certPem.apply((pem) => new crypto.X509Certificate(pem).fingerprint256);

        pulumi.all([cert.certPem, args.expiryWarningDays]).apply(([pem, warningDays]) => {
            const daysLeft = daysUntil(new crypto.X509Certificate(pem).validTo);
            if (daysLeft < warningDays) {
                pulumi.log.warn(
                    `Trust anchor ${name} expires in ${Math.floor(daysLeft)} days (${new crypto.X509Certificate(pem).validTo}). ` +
                        `Rotate it now, in phases: docs/admin/rotation.md. Pulumi will refuse to replace it in one step.`,
                    this,
                );
            }
        });

        this.registerOutputs({
            certPem: this.certPem,
            privateKeyPem: this.privateKeyPem,
            fingerprintSha256: this.fingerprintSha256,
            notAfter: this.notAfter,
        });
    }
}

/** Days from now until an X.509 `validTo` date. */
export function daysUntil(validTo: string, now = Date.now()): number {
    return (new Date(validTo).getTime() - now) / 86_400_000;
}
