/**
 * What the Kubernetes API server decides when it calls an admission webhook or an aggregated
 * APIService over TLS: Go's crypto/x509 `Certificate.Verify` of the presented certificate against the
 * configuration's `caBundle` as roots, for the Service's DNS name, for server auth (read in
 * golang/go src/crypto/x509/verify.go and x509.go; the rules below have been stable since Go 1.15,
 * and every Kubernetes that runs the pinned charts, >= 1.31, is built with a newer Go):
 *
 * - the leaf is valid now and names the host (`isValid`, `VerifyHostname`; the Common Name is ignored);
 * - if the roots hold the leaf itself (same bytes), that is the chain (`opts.Roots.contains(c)`);
 * - otherwise each root whose subject is the leaf's issuer is a candidate (`findPotentialParents`),
 *   skipped when it is "already in the chain": same subject, same public key and same SAN extension
 *   as a certificate of the chain so far (`alreadyInChain`, against loops of cross-signatures);
 * - a candidate must be allowed to sign certificates — a v3 certificate with basic constraints CA,
 *   key usage absent or with certSign (`CheckSignatureFrom`) — and its signature must verify, and it
 *   must be valid now;
 * - extended key usages, where a certificate of the chain lists some, must include server auth
 *   (`checkChainForKeyUsage`).
 * Intermediates do not occur here: a webhook serves one certificate.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import * as crypto from "node:crypto";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const ANY_EKU = "2.5.29.37.0";

const extensionsOf = (cert: crypto.X509Certificate) => new x509.X509Certificate(cert.raw);
const publicKeyDer = (cert: crypto.X509Certificate) => cert.publicKey.export({ type: "spki", format: "der" });
const validAt = (cert: crypto.X509Certificate, at: Date) =>
    new Date(cert.validFrom) <= at && at <= new Date(cert.validTo);

/** Go's `alreadyInChain`: same subject, same public key, and the same SAN extension (or none on both). */
function alreadyInChain(candidate: crypto.X509Certificate, chain: crypto.X509Certificate[]): boolean {
    return chain.some(
        (cert) =>
            cert.subject === candidate.subject &&
            publicKeyDer(cert).equals(publicKeyDer(candidate)) &&
            (cert.subjectAltName ?? null) === (candidate.subjectAltName ?? null),
    );
}

/** Go's `CheckSignatureFrom`: why `parent` cannot have signed `cert`, or undefined when it did. */
function cannotSign(cert: crypto.X509Certificate, parent: crypto.X509Certificate): string | undefined {
    const parsed = extensionsOf(parent);
    const constraints = parsed.getExtension(x509.BasicConstraintsExtension);
    if (!constraints?.ca) return "x509: invalid signature: parent certificate cannot sign this kind of certificate";
    const usages = parsed.getExtension(x509.KeyUsagesExtension);
    if (usages && !(usages.usages & x509.KeyUsageFlags.keyCertSign))
        return "x509: invalid signature: parent certificate cannot sign this kind of certificate";
    return cert.verify(parent.publicKey) ? undefined : "x509: ECDSA verification failure";
}

/** Go's `checkChainForKeyUsage` for server auth. */
function serverAuthAllowed(chain: crypto.X509Certificate[]): boolean {
    return chain.every((cert) => {
        const ekus = extensionsOf(cert).getExtension(x509.ExtendedKeyUsageExtension)?.usages.map(String) ?? [];
        return ekus.length === 0 || ekus.includes(ANY_EKU) || ekus.includes(SERVER_AUTH);
    });
}

/**
 * Whether the API server accepts `served` for `host` with `caBundle` (PEM) as roots: the chain, or
 * the error Go would return.
 */
export function goVerifyServing(
    served: string,
    caBundle: string,
    host: string,
    at = new Date(),
): { chain: crypto.X509Certificate[] } | { error: string } {
    const [leaf] = (served.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
        (p) => new crypto.X509Certificate(p),
    );
    const roots = (caBundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
        (p) => new crypto.X509Certificate(p),
    );
    if (!leaf) return { error: "no certificate presented" };
    if (!validAt(leaf, at)) return { error: "x509: certificate has expired or is not yet valid" };
    const names = (leaf.subjectAltName ?? "")
        .split(", ")
        .filter((n) => n.startsWith("DNS:"))
        .map((n) => n.slice(4).toLowerCase());
    if (!names.includes(host.toLowerCase()))
        return { error: `x509: certificate is valid for ${names.join(", ")}, not ${host}` };
    let chain: crypto.X509Certificate[] | undefined;
    let hint: string | undefined;
    if (roots.some((root) => root.raw.equals(leaf.raw))) chain = [leaf];
    for (const candidate of roots.filter((root) => root.subject === leaf.issuer)) {
        if (chain) break;
        if (alreadyInChain(candidate, [leaf])) continue;
        const why = cannotSign(leaf, candidate);
        if (why) hint ??= why;
        else if (validAt(candidate, at)) chain = [leaf, candidate];
    }
    if (!chain)
        return {
            error: `x509: certificate signed by unknown authority${hint ? ` (possibly because of "${hint}")` : ""}`,
        };
    return serverAuthAllowed(chain) ? { chain } : { error: "x509: certificate specifies an incompatible key usage" };
}

/** Whether the API server accepts it (see {@link goVerifyServing}). */
export const apiServerAccepts = (served: string, caBundle: string, host: string, at?: Date) =>
    "chain" in goVerifyServing(served, caBundle, host, at);

/**
 * A self-signed serving certificate as cert-manager's SelfSigned issuer makes it with `isCA: true`
 * (pkg/util/pki: key usage certSign added for a CA, digital signature and key encipherment, server
 * auth; Go's CreateCertificate gives a CA a subject key id and a self-signed one no authority key id),
 * with the key given: a renewal with `rotationPolicy: Never` reuses it.
 */
export async function selfSignedServing(host: string, keys: CryptoKeyPair, notBefore = new Date()): Promise<string> {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: crypto.randomBytes(8).toString("hex"),
        name: `CN=${host}`,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 720 * 3600_000),
        keys,
        signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
        extensions: [
            new x509.BasicConstraintsExtension(true, undefined, true),
            new x509.KeyUsagesExtension(
                x509.KeyUsageFlags.digitalSignature |
                    x509.KeyUsageFlags.keyEncipherment |
                    x509.KeyUsageFlags.keyCertSign,
                true,
            ),
            new x509.ExtendedKeyUsageExtension([SERVER_AUTH]),
            new x509.SubjectAlternativeNameExtension([{ type: "dns", value: host }]),
            await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
    });
    return cert.toString("pem");
}

/** A P-256 key pair for {@link selfSignedServing}. */
export const ecdsaKeys = (): Promise<CryptoKeyPair> =>
    crypto.webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
