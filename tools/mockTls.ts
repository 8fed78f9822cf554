/**
 * What the `tls` provider would return, computed for real: keys from node:crypto,
 * certificate requests and certificates from @peculiar/x509 (WebCrypto). Tests can
 * then check real X.509 properties of everything the program asks for.
 *
 * Mirrors terraform-provider-tls (which @pulumi/tls bridges): ECDSA keys are
 * returned as SEC1 "EC PRIVATE KEY" PEM, the signature hash follows the curve,
 * CA certificates get a subject key id and issued ones an authority key id.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import * as crypto from "node:crypto";

x509.cryptoProvider.set(crypto.webcrypto as Crypto);

type Inputs = Record<string, any>;

const CURVES: Record<string, { namedCurve: string; hash: string }> = {
    P224: { namedCurve: "P-224", hash: "SHA-256" },
    P256: { namedCurve: "P-256", hash: "SHA-256" },
    P384: { namedCurve: "P-384", hash: "SHA-384" },
    P521: { namedCurve: "P-521", hash: "SHA-512" },
};

/** `tls.PrivateKey` outputs. */
export function privateKeyOutputs(inputs: Inputs): Inputs {
    let key: crypto.KeyObject;
    if (inputs.algorithm === "ECDSA") {
        const curve = CURVES[inputs.ecdsaCurve ?? "P224"];
        if (!curve) throw new Error(`mock tls: unsupported ecdsaCurve ${inputs.ecdsaCurve}`);
        key = crypto.generateKeyPairSync("ec", { namedCurve: curve.namedCurve }).privateKey;
    } else if (inputs.algorithm === "RSA") {
        key = crypto.generateKeyPairSync("rsa", { modulusLength: inputs.rsaBits ?? 2048 }).privateKey;
    } else if (inputs.algorithm === "ED25519") {
        key = crypto.generateKeyPairSync("ed25519").privateKey;
    } else {
        throw new Error(`mock tls: unsupported algorithm ${inputs.algorithm}`);
    }
    const publicKey = crypto.createPublicKey(key);
    const spki = publicKey.export({ type: "spki", format: "der" });
    return {
        ...inputs,
        privateKeyPem:
            inputs.algorithm === "ECDSA"
                ? key.export({ type: "sec1", format: "pem" })
                : key.export({ type: inputs.algorithm === "RSA" ? "pkcs1" : "pkcs8", format: "pem" }),
        privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }),
        publicKeyPem: publicKey.export({ type: "spki", format: "pem" }),
        publicKeyFingerprintSha256: `SHA256:${crypto.createHash("sha256").update(spki).digest("base64").replace(/=+$/, "")}`,
    };
}

/** `tls.SelfSignedCert` outputs. */
export async function selfSignedCertOutputs(inputs: Inputs): Promise<Inputs> {
    const key = await importKeyPair(inputs.privateKeyPem);
    const subject = distinguishedName(inputs.subject);
    const certificate = await issue({
        inputs,
        subject,
        issuer: subject,
        publicKey: key.publicKey,
        signingKey: key.privateKey,
        signingAlgorithm: key.algorithm,
        authorityKeyId: undefined,
    });
    return certificateOutputs(inputs, certificate, key.publicKey);
}

/** `tls.CertRequest` outputs. */
export async function certRequestOutputs(inputs: Inputs): Promise<Inputs> {
    const key = await importKeyPair(inputs.privateKeyPem);
    const extensions: x509.Extension[] = [];
    const names = generalNames(inputs);
    if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
    const request = await x509.Pkcs10CertificateRequestGenerator.create({
        name: distinguishedName(inputs.subject),
        keys: { privateKey: key.privateKey, publicKey: key.publicKey },
        signingAlgorithm: key.algorithm,
        extensions,
    });
    return { ...inputs, certRequestPem: request.toString("pem"), keyAlgorithm: key.providerAlgorithm };
}

/** `tls.LocallySignedCert` outputs. */
export async function locallySignedCertOutputs(inputs: Inputs): Promise<Inputs> {
    const request = new x509.Pkcs10CertificateRequest(inputs.certRequestPem);
    if (!(await request.verify())) throw new Error("mock tls: certificate request signature is invalid");
    const ca = new x509.X509Certificate(inputs.caCertPem);
    const caKey = await importKeyPair(inputs.caPrivateKeyPem);
    if (!Buffer.from(ca.publicKey.rawData).equals(caKey.spki))
        throw new Error("mock tls: caPrivateKeyPem does not match caCertPem");

    const san = request.getExtension("2.5.29.17") as x509.SubjectAlternativeNameExtension | null;
    const certificate = await issue({
        inputs: { ...inputs, dnsNames: san?.names.items.filter((n) => n.type === "dns").map((n) => n.value) },
        subject: request.subject,
        issuer: ca.subject,
        publicKey: await request.publicKey.export(),
        signingKey: caKey.privateKey,
        signingAlgorithm: caKey.algorithm,
        authorityKeyId: ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    });
    return certificateOutputs(inputs, certificate, await request.publicKey.export());
}

interface IssueArgs {
    inputs: Inputs;
    subject: string;
    issuer: string;
    publicKey: CryptoKey;
    signingKey: CryptoKey;
    signingAlgorithm: Algorithm;
    authorityKeyId: string | undefined;
}

async function issue(args: IssueArgs): Promise<x509.X509Certificate> {
    const { inputs } = args;
    const notBefore = new Date();
    notBefore.setMilliseconds(0);
    const notAfter = new Date(notBefore.getTime() + Number(inputs.validityPeriodHours) * 3600_000);
    const extensions: x509.Extension[] = [];
    const isCa = Boolean(inputs.isCaCertificate);
    extensions.push(
        new x509.BasicConstraintsExtension(isCa, isCa && inputs.maxPathLength ? inputs.maxPathLength : undefined, true),
    );
    const uses: string[] = inputs.allowedUses ?? [];
    const usageFlags = uses.reduce((flags, use) => flags | (KEY_USAGES[use] ?? 0), 0);
    if (usageFlags !== 0) extensions.push(new x509.KeyUsagesExtension(usageFlags, true));
    const extended = uses.map((use) => EXTENDED_KEY_USAGES[use]).filter((oid): oid is string => oid !== undefined);
    if (extended.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(extended));
    const names = generalNames(inputs);
    if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
    if (isCa) extensions.push(await x509.SubjectKeyIdentifierExtension.create(args.publicKey));
    if (args.authorityKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(args.authorityKeyId));

    return x509.X509CertificateGenerator.create({
        serialNumber: crypto
            .randomBytes(16)
            .toString("hex")
            .replace(/^[89a-f]/, "1"),
        subject: args.subject,
        issuer: args.issuer,
        notBefore,
        notAfter,
        publicKey: args.publicKey,
        signingKey: args.signingKey,
        signingAlgorithm: args.signingAlgorithm,
        extensions,
    });
}

function certificateOutputs(inputs: Inputs, certificate: x509.X509Certificate, publicKey: CryptoKey): Inputs {
    return {
        ...inputs,
        certPem: certificate.toString("pem") + "\n",
        validityStartTime: certificate.notBefore.toISOString().replace(".000", ""),
        validityEndTime: certificate.notAfter.toISOString().replace(".000", ""),
        readyForRenewal: false,
        keyAlgorithm:
            publicKey.algorithm.name === "ECDSA" ? "ECDSA" : publicKey.algorithm.name === "Ed25519" ? "ED25519" : "RSA",
        earlyRenewalHours: inputs.earlyRenewalHours ?? 0,
    };
}

/** terraform-provider-tls `allowed_uses` names. */
const KEY_USAGES: Record<string, number> = {
    digital_signature: x509.KeyUsageFlags.digitalSignature,
    content_commitment: x509.KeyUsageFlags.nonRepudiation,
    key_encipherment: x509.KeyUsageFlags.keyEncipherment,
    data_encipherment: x509.KeyUsageFlags.dataEncipherment,
    key_agreement: x509.KeyUsageFlags.keyAgreement,
    cert_signing: x509.KeyUsageFlags.keyCertSign,
    crl_signing: x509.KeyUsageFlags.cRLSign,
    encipher_only: x509.KeyUsageFlags.encipherOnly,
    decipher_only: x509.KeyUsageFlags.decipherOnly,
};
const EXTENDED_KEY_USAGES: Record<string, string> = {
    any_extended: "2.5.29.37.0",
    server_auth: x509.ExtendedKeyUsage.serverAuth,
    client_auth: x509.ExtendedKeyUsage.clientAuth,
    code_signing: x509.ExtendedKeyUsage.codeSigning,
    email_protection: x509.ExtendedKeyUsage.emailProtection,
    timestamping: x509.ExtendedKeyUsage.timeStamping,
    ocsp_signing: x509.ExtendedKeyUsage.ocspSigning,
};

const DN_ATTRIBUTES: [string, string][] = [
    ["country", "C"],
    ["province", "ST"],
    ["locality", "L"],
    ["organization", "O"],
    ["organizationalUnit", "OU"],
    ["commonName", "CN"],
];

function distinguishedName(subject: Inputs | undefined): string {
    return DN_ATTRIBUTES.filter(([field]) => subject?.[field])
        .map(([field, attribute]) => `${attribute}=${String(subject![field]).replace(/([,+="\\<>;])/g, "\\$1")}`)
        .join(", ");
}

function generalNames(inputs: Inputs): x509.JsonGeneralName[] {
    return [
        ...((inputs.dnsNames as string[] | undefined) ?? []).map((value) => ({ type: "dns" as const, value })),
        ...((inputs.ipAddresses as string[] | undefined) ?? []).map((value) => ({ type: "ip" as const, value })),
        ...((inputs.uris as string[] | undefined) ?? []).map((value) => ({ type: "url" as const, value })),
    ];
}

interface ImportedKey {
    privateKey: CryptoKey;
    publicKey: CryptoKey;
    algorithm: Algorithm;
    spki: Buffer;
    providerAlgorithm: string;
}

async function importKeyPair(pem: string): Promise<ImportedKey> {
    if (typeof pem !== "string")
        throw new Error("mock tls: privateKeyPem is not a string (unresolved or still secret-wrapped?)");
    const key = crypto.createPrivateKey(pem);
    const pkcs8 = key.export({ type: "pkcs8", format: "der" });
    const spki = crypto.createPublicKey(key).export({ type: "spki", format: "der" });
    let algorithm: EcKeyImportParams | RsaHashedImportParams;
    let signing: Algorithm;
    if (key.asymmetricKeyType === "ec") {
        const curve = Object.values(CURVES).find(
            (c) => c.namedCurve === nodeCurveToWebCrypto(key.asymmetricKeyDetails?.namedCurve),
        );
        if (!curve) throw new Error(`mock tls: unsupported curve ${key.asymmetricKeyDetails?.namedCurve}`);
        algorithm = { name: "ECDSA", namedCurve: curve.namedCurve };
        signing = { name: "ECDSA", hash: curve.hash } as EcdsaParams;
    } else if (key.asymmetricKeyType === "rsa") {
        algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
        signing = { name: "RSASSA-PKCS1-v1_5" };
    } else {
        throw new Error(`mock tls: unsupported key type ${key.asymmetricKeyType}`);
    }
    const subtle = crypto.webcrypto.subtle;
    return {
        privateKey: await subtle.importKey("pkcs8", pkcs8, algorithm, true, ["sign"]),
        publicKey: await subtle.importKey("spki", spki, algorithm, true, ["verify"]),
        algorithm: signing,
        spki,
        providerAlgorithm: key.asymmetricKeyType === "ec" ? "ECDSA" : "RSA",
    };
}

function nodeCurveToWebCrypto(curve: string | undefined): string | undefined {
    return { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521", secp224r1: "P-224" }[curve ?? ""];
}
