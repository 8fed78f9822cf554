/**
 * Oracles for certificate chains, following the upstream rules rather than the program's intent:
 * - {@link verifyPath}: RFC 5280 §6.1 path validation as Go's crypto/x509 `Verify` applies it
 *   (signatures, validity at a time, CA flags, pathLenConstraint), which is what Linkerd's identity
 *   controller and `linkerd check` call (linkerd2 edge-26.8.3 pkg/tls/cred.go `Crt.Verify`);
 * - {@link linkerdLoadsIssuer}: what the identity controller requires of its issuer at start and on
 *   reload (pkg/identity/service.go `loadCredentials`);
 * - {@link linkerdCheckIdentity}: the `linkerd check` "linkerd-identity" checks with issuer scheme
 *   `kubernetes.io/tls` (pkg/healthcheck/healthcheck.go, pkg/issuercerts/issuercerts.go);
 * - {@link issueAsCertManagerCa}: what cert-manager v1.21.1's CA issuer writes for a request.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import * as crypto from "node:crypto";
import { certRequestOutputs, locallySignedCertOutputs, privateKeyOutputs } from "../tools/mockTls";

/** Every certificate of a PEM text, in order. */
export const certificatesOf = (pem: string): crypto.X509Certificate[] =>
    (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
        (p) => new crypto.X509Certificate(p),
    );

const signedBy = (cert: crypto.X509Certificate, ca: crypto.X509Certificate) =>
    cert.checkIssued(ca) && cert.verify(ca.publicKey);
const selfSigned = (cert: crypto.X509Certificate) => signedBy(cert, cert);

/** The pathLenConstraint of a CA certificate, or undefined when it sets none. */
export function pathLength(cert: crypto.X509Certificate): number | undefined {
    return new x509.X509Certificate(cert.raw).getExtension(x509.BasicConstraintsExtension)?.pathLength;
}

/**
 * The path from `leaf` to one of `roots` through `intermediates`, validated: each certificate
 * signed by the next, every issuer a CA, everything valid at `at`, and no CA's pathLenConstraint
 * exceeded by the non-self-issued CA certificates below it (RFC 5280 §4.2.1.9, §6.1.4 (l)-(m)).
 * Throws with the reason when no valid path exists.
 */
export function verifyPath(
    leaf: crypto.X509Certificate,
    intermediates: crypto.X509Certificate[],
    roots: crypto.X509Certificate[],
    at = new Date(),
): crypto.X509Certificate[] {
    const path = [leaf];
    for (;;) {
        const current = path[path.length - 1];
        const root = roots.find((r) => signedBy(current, r));
        if (root) {
            path.push(root);
            break;
        }
        const next = intermediates.find((c) => !path.includes(c) && signedBy(current, c));
        if (!next)
            throw new Error(
                `no path from ${leaf.subject} to a root: ${current.subject} has no issuer among the chain and roots`,
            );
        path.push(next);
    }
    for (const cert of path) {
        if (new Date(cert.validFrom) > at || new Date(cert.validTo) < at)
            throw new Error(`${cert.subject} is not valid at ${at.toISOString()}`);
    }
    for (let i = 1; i < path.length; i++) {
        if (!path[i].ca) throw new Error(`${path[i].subject} signs ${path[i - 1].subject} but is not a CA`);
        // CA certificates between this one and the leaf (the leaf itself is not counted).
        const below = path.slice(1, i).filter((c) => !selfSigned(c)).length;
        const limit = pathLength(path[i]);
        if (limit !== undefined && below > limit)
            throw new Error(`${path[i].subject}: path length constraint ${limit} exceeded (${below} CA below)`);
    }
    return path;
}

/** Whether a private key (PEM) belongs to a certificate. */
export function keyMatches(privateKeyPem: string, cert: crypto.X509Certificate): boolean {
    const fromKey = crypto
        .createPublicKey(crypto.createPrivateKey(privateKeyPem))
        .export({ type: "spki", format: "der" });
    return fromKey.equals(cert.publicKey.export({ type: "spki", format: "der" }));
}

/**
 * The identity controller's checks on `tls.crt`/`tls.key` (read leaf to root: pkg/tls/cred.go
 * `DecodePEMCrt`): the key matches the first certificate, the chain verifies against the trust
 * roots with the rest as intermediates, the issuer is a CA. Returns the verified path.
 */
export function linkerdLoadsIssuer(
    tlsCrt: string,
    tlsKey: string,
    trustRootsPem: string,
    at = new Date(),
): crypto.X509Certificate[] {
    const [issuer, ...chain] = certificatesOf(tlsCrt);
    if (!issuer) throw new Error("No certificates found");
    if (!keyMatches(tlsKey, issuer)) throw new Error("tls: Public and private key do not match");
    const path = verifyPath(issuer, chain, certificatesOf(trustRootsPem), at);
    if (!issuer.ca) throw new Error("it must be an intermediate-CA, but it is not");
    return path;
}

/** ECDSA P-256 with SHA-256 (pkg/issuercerts `checkECDSACertRequirements`). */
function p256Sha256(cert: crypto.X509Certificate): boolean {
    const signature = new x509.X509Certificate(cert.raw).signatureAlgorithm as EcdsaParams;
    return (
        cert.publicKey.asymmetricKeyDetails?.namedCurve === "prime256v1" &&
        signature.name === "ECDSA" &&
        (signature.hash as Algorithm).name === "SHA-256"
    );
}

/**
 * The fatal and plain `linkerd check` identity checks with scheme `kubernetes.io/tls`: the Secret has
 * `ca.crt`, `tls.crt`, `tls.key` (FetchExternalIssuerData); the anchors (from `ca.crt`) and the issuer
 * use supported crypto and are in their validity; the issuer verifies against `ca.crt`. Returns the
 * failed checks' descriptions (the 60-day warnings are warnings, not failures).
 */
export function linkerdCheckIdentity(
    secret: Partial<Record<string, string>> | IssuedSecret,
    at = new Date(),
): string[] {
    const failed: string[] = [];
    const { "ca.crt": caCrt, "tls.crt": tlsCrt, "tls.key": tlsKey } = secret as Partial<IssuedSecret>;
    if (!caCrt || !tlsCrt || !tlsKey) return ["certificate config is valid"];
    const anchors = certificatesOf(caCrt);
    const [issuer, ...chain] = certificatesOf(tlsCrt);
    if (!keyMatches(tlsKey, issuer)) return ["certificate config is valid"];
    const timeValid = (c: crypto.X509Certificate) => new Date(c.validFrom) <= at && new Date(c.validTo) >= at;
    if (!anchors.every(p256Sha256)) failed.push("trust anchors are using supported crypto algorithm");
    if (!anchors.every(timeValid)) failed.push("trust anchors are within their validity period");
    if (!p256Sha256(issuer)) failed.push("issuer cert is using supported crypto algorithm");
    if (!timeValid(issuer)) failed.push("issuer cert is within its validity period");
    try {
        verifyPath(issuer, chain, anchors, at);
    } catch {
        failed.push("issuer cert is issued by the trust anchor");
    }
    return failed;
}

/** What a CA issuer writes into a Certificate's Secret. */
export interface IssuedSecret {
    "tls.crt": string;
    "tls.key": string;
    "ca.crt": string;
}

/**
 * cert-manager v1.21.1's CA issuer, for a Certificate `{commonName, isCA, durationHours}` against a CA
 * Secret: it reads the CA Secret's `tls.crt` chain and appends `ca.crt` (pkg/util/kube/pki.go
 * `SecretTLSKeyPairAndCA`), signs with the first certificate's key (pkg/util/pki/csr.go
 * `SignCSRTemplate`), then orders the chain and leaves out the self-signed root
 * (pkg/util/pki/parse_certificate_chain.go `ParseSingleCertificateChain`): `tls.crt` = the new
 * certificate and every non-self-signed CA above it, `ca.crt` = the top of the chain.
 */
export async function issueAsCertManagerCa(
    caSecret: Record<string, string>,
    request: { commonName: string; isCA: boolean; durationHours: number },
): Promise<IssuedSecret> {
    const caCerts = [
        ...certificatesOf(caSecret["tls.crt"]),
        ...(caSecret["ca.crt"] ? certificatesOf(caSecret["ca.crt"]) : []),
    ];
    const key = privateKeyOutputs({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = await certRequestOutputs({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: request.commonName },
    });
    const signed = await locallySignedCertOutputs({
        certRequestPem: csr.certRequestPem,
        caCertPem: caCerts[0].toString(),
        caPrivateKeyPem: caSecret["tls.key"],
        isCaCertificate: request.isCA,
        allowedUses: request.isCA
            ? ["cert_signing", "digital_signature", "key_encipherment"]
            : ["digital_signature", "key_encipherment"],
        validityPeriodHours: request.durationHours,
    });
    // The chain, leaf first: each certificate followed by the one that signed it.
    const chain = [new crypto.X509Certificate(signed.certPem)];
    for (;;) {
        const next = caCerts.find(
            (c) => !chain.includes(c) && signedBy(chain[chain.length - 1], c) && !selfSigned(chain[chain.length - 1]),
        );
        if (!next) break;
        chain.push(next);
    }
    const top = chain[chain.length - 1];
    const certificates = chain.length > 1 && selfSigned(top) ? chain.slice(0, -1) : chain;
    return {
        "tls.crt": certificates.map((c) => c.toString().trim()).join("\n") + "\n",
        "tls.key": key.privateKeyPem,
        "ca.crt": top.toString(),
    };
}

/** A certificate signed by `signer` (a CA with its key), for chains built in tests: a leaf or a CA below it. */
export async function signBelow(
    signer: { certPem: string; privateKeyPem: string },
    commonName: string,
    isCa: boolean,
    validityHours = 24,
): Promise<{ certPem: string; privateKeyPem: string }> {
    const key = privateKeyOutputs({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = await certRequestOutputs({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName },
        dnsNames: isCa ? undefined : [commonName],
    });
    const cert = await locallySignedCertOutputs({
        certRequestPem: csr.certRequestPem,
        caCertPem: signer.certPem,
        caPrivateKeyPem: signer.privateKeyPem,
        isCaCertificate: isCa,
        allowedUses: isCa ? ["cert_signing", "crl_signing"] : ["digital_signature", "server_auth", "client_auth"],
        validityPeriodHours: validityHours,
    });
    return { certPem: cert.certPem, privateKeyPem: key.privateKeyPem };
}
