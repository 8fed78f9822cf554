import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { MeshConfig } from "../config";

/** A CA that can sign: its certificate and private key, PEM. */
export interface SigningCa {
    certPem: pulumi.Input<string>;
    privateKeyPem: pulumi.Input<string>;
}

/**
 * How many CA certificates may follow the intermediate in a chain: one, the identity issuer.
 * A CA certificate anyone obtained below the issuer (anchor → intermediate → issuer → CA → leaf)
 * then fails verification: Go's crypto/x509 (Linkerd's identity controller, `linkerd check`) and
 * RFC 5280 §4.2.1.9 verifiers enforce pathLenConstraint, and so do the proxies, where a forged
 * leaf would be presented. linkerd2-proxy v2.366.0 (edge-26.8.3's `.proxy-version`) verifies peers
 * with rustls 0.23.40 over rustls-webpki 0.103.13 (its Cargo.lock): outbound, the server's
 * certificate in `linkerd/meshtls/src/creds/verify.rs` (`AnySanVerifier` →
 * `rustls::client::verify_server_cert_signed_by_trust_anchor`); inbound, the client's in
 * `linkerd/meshtls/src/creds/store.rs` `server_config` (`rustls::server::WebPkiClientVerifier`).
 * Both build the path in rustls-webpki `src/verify_cert.rs`, whose `check_basic_constraints`
 * returns `PathLenConstraintViolated` when more CA certificates follow an issuer than its
 * pathLenConstraint (`sub_ca_count > len`; for anchor → intermediate → issuer → CA → leaf, 2 > 1
 * at the intermediate) and `CaUsedAsEndEntity` for a CA certificate used as a leaf. 0 cannot be expressed: terraform-provider-tls
 * v4.2.1 (`internal/provider/common_cert.go`) sets `template.MaxPathLen` but never `MaxPathLenZero`,
 * and Go's x509.CreateCertificate reads MaxPathLen 0 without it as "no limit"; 1 is exactly what this
 * chain needs anyway.
 */
export const INTERMEDIATE_MAX_PATH_LENGTH = 1;

export interface IntermediateCaArgs {
    /**
     * The CA that signs it: this stack's trust anchor, or (issue 21) a fleet's trust stack that
     * signs one intermediate per cluster.
     */
    signedBy: SigningCa;
    /** Subject common name; say which cluster and anchor generation it belongs to. */
    commonName: pulumi.Input<string>;
    /** Validity, hours. */
    validityHours: pulumi.Input<MeshConfig["identity"]["intermediate"]["validityHours"]>;
    /**
     * A `pulumi up` with fewer hours than this left re-signs the certificate (same key, same
     * subject): the preview shows the replacement, and no chart value depends on it.
     */
    renewBeforeHours: pulumi.Input<MeshConfig["identity"]["intermediate"]["renewBeforeHours"]>;
}

/**
 * A per-cluster intermediate CA: ECDSA P-256, SHA-256 (linkerd2 pkg/issuercerts accepts nothing
 * else below the anchor), cert-sign and CRL-sign, path length limited to the identity issuer below
 * it, bounded validity, signed with `@pulumi/tls`. The key of whatever signs it stays where that
 * CA is (Pulumi state): only the intermediate is ever handed to a cluster, so a cluster that leaks
 * its keys leaks a CA that is bounded in time and in depth, never the anchor.
 *
 * It is a building block of its own: inputs are the signing CA and the settings, outputs the
 * certificate, its key (a Pulumi secret) and its expiry; where it goes is up to the caller
 * (components/identityIssuer.ts).
 */
export class IntermediateCa extends pulumi.ComponentResource {
    /** The intermediate certificate, PEM. */
    public readonly certPem: pulumi.Output<string>;
    /** Its private key, PEM (a Pulumi secret). */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** Expiry, RFC 3339. */
    public readonly notAfter: pulumi.Output<string>;

    constructor(name: string, args: IntermediateCaArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:IntermediateCa", name, {}, opts);

        const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const request = new tls.CertRequest(
            `${name}-csr`,
            { privateKeyPem: key.privateKeyPem, subject: { commonName: args.commonName } },
            { parent: this },
        );
        const cert = new tls.LocallySignedCert(
            `${name}-cert`,
            {
                certRequestPem: request.certRequestPem,
                caCertPem: args.signedBy.certPem,
                caPrivateKeyPem: args.signedBy.privateKeyPem,
                isCaCertificate: true,
                maxPathLength: INTERMEDIATE_MAX_PATH_LENGTH,
                allowedUses: ["cert_signing", "crl_signing"],
                validityPeriodHours: args.validityHours,
                earlyRenewalHours: args.renewBeforeHours,
            },
            { parent: this },
        );

        this.certPem = cert.certPem;
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        this.notAfter = cert.validityEndTime;
        this.registerOutputs({ certPem: this.certPem, privateKeyPem: this.privateKeyPem, notAfter: this.notAfter });
    }
}
