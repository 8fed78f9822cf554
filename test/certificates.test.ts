/**
 * Real X.509 checks on what the program hands Linkerd: the tls mocks issue real
 * keys and certificates from the program's inputs, node:crypto inspects them.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import { one, ProgramRun, ProviderState } from "../tools/mockRuntime";
import { privateKeyOutputs, selfSignedCertOutputs } from "../tools/mockTls";
import { runStackOk, secretData, trustRootsOf } from "./helpers";
import {
    certificatesOf,
    linkerdCheckIdentity,
    linkerdLoadsIssuer,
    pathLength,
    signBelow,
    verifyPath,
} from "./x509Chain";

const HOUR = 3600_000;

function validityHours(cert: crypto.X509Certificate): number {
    return (new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime()) / HOUR;
}

function keyUsage(pem: string): number {
    const usage = new x509.X509Certificate(pem).getExtension(x509.KeyUsagesExtension);
    assert.ok(usage, "certificate has a KeyUsage extension");
    return usage.usages;
}

function assertEcP256(cert: crypto.X509Certificate) {
    assert.equal(cert.publicKey.asymmetricKeyType, "ec");
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    const signature = new x509.X509Certificate(cert.raw).signatureAlgorithm as EcdsaParams;
    assert.equal(signature.name, "ECDSA");
    assert.equal((signature.hash as Algorithm).name, "SHA-256");
}

function samePublicKey(privateKeyPem: string, cert: crypto.X509Certificate): boolean {
    const fromKey = crypto
        .createPublicKey(crypto.createPrivateKey(privateKeyPem))
        .export({ type: "spki", format: "der" });
    return fromKey.equals(cert.publicKey.export({ type: "spki", format: "der" }));
}

describe("certificates the program generates (real X.509)", () => {
    let run: ProgramRun;
    let values: any;
    let bundle: string;
    let issuerSecret: Record<string, string>;
    let anchor: crypto.X509Certificate;
    let issuer: crypto.X509Certificate;
    let intermediate: crypto.X509Certificate;
    before(async () => {
        // Static issuer mode: the program signs the issuer itself (k3d's preset).
        run = await runStackOk("k3d", { "mtls.enabled": true });
        values = one(run, "kubernetes:helm.sh/v4:Chart", "akko-linkerd-control-plane").inputs.values;
        bundle = trustRootsOf(run);
        issuerSecret = secretData(run, "linkerd-identity-issuer", "linkerd");
        anchor = new crypto.X509Certificate(bundle);
        [issuer, intermediate] = certificatesOf(issuerSecret["tls.crt"]);
    });

    it("the chart values hold no certificate: trust roots in a ConfigMap, issuer and webhooks in kubernetes.io/tls Secrets", () => {
        const text = JSON.stringify(values);
        assert.doesNotMatch(text, /PRIVATE KEY|crtPEM|keyPEM|identityTrustAnchorsPEM/);
        // The one certificate left is the static webhook CA (caBundle), which is never renewed early.
        const caBundles = new Set(
            ["proxyInjector", "profileValidator", "policyValidator"].map((key) => values[key].caBundle),
        );
        assert.equal(caBundles.size, 1);
        assert.equal(text.split("BEGIN CERTIFICATE").length - 1, 3, "three caBundle copies of one CA");
        assert.deepEqual(values.identity, { externalCA: true, issuer: { scheme: "kubernetes.io/tls" } });
        const secret = run.resources.find(
            (r) => r.type === "kubernetes:core/v1:Secret" && r.inputs.metadata.name === "linkerd-identity-issuer",
        )!;
        assert.equal(secret.inputs.type, "kubernetes.io/tls");
        assert.deepEqual(Object.keys(secret.inputs.stringData).sort(), ["ca.crt", "tls.crt", "tls.key"]);
        assert.deepEqual(
            secret.secretPaths,
            ["stringData"],
            "Secret data is a Pulumi secret (the kubernetes SDK wraps it)",
        );
        assert.equal(
            issuerSecret["ca.crt"].trim(),
            bundle.trim(),
            "ca.crt is the signing anchor (what `linkerd check` verifies against)",
        );
        const configMap = one(run, "kubernetes:core/v1:ConfigMap", "akko-identity-issuer-certificate");
        assert.equal(
            configMap.inputs.data["tls.crt"],
            issuerSecret["tls.crt"],
            "the maintenance Jobs check the same public chain",
        );
    });

    it("trust anchor: self-signed CA root.linkerd.cluster.local, EC P-256, cert-sign + CRL-sign, 87600 h", () => {
        assert.equal(anchor.subject, "CN=root.linkerd.cluster.local");
        assert.equal(anchor.issuer, anchor.subject);
        assert.ok(anchor.ca);
        assert.ok(anchor.verify(anchor.publicKey), "self-signed");
        assertEcP256(anchor);
        assert.equal(keyUsage(bundle), x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
        assert.equal(validityHours(anchor), 87600);
    });

    it("identity issuer: CA identity.linkerd.cluster.local, EC P-256 / SHA-256, signed by the cluster's intermediate, 8760 h", () => {
        assert.equal(certificatesOf(issuerSecret["tls.crt"]).length, 2, "tls.crt: the issuer, then the intermediate");
        assert.equal(issuer.subject, "CN=identity.linkerd.cluster.local");
        assert.ok(issuer.ca);
        assertEcP256(issuer);
        assert.ok(
            issuer.checkIssued(intermediate) && issuer.verify(intermediate.publicKey),
            "signed by the intermediate",
        );
        assert.ok(!issuer.verify(anchor.publicKey), "not by the anchor itself");
        assert.equal(keyUsage(issuerSecret["tls.crt"]), x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
        assert.equal(validityHours(issuer), 8760);
        assert.ok(samePublicKey(issuerSecret["tls.key"], issuer), "tls.key belongs to tls.crt");
    });

    it("intermediate: CA for this stack and generation, EC P-256 / SHA-256, signed by the anchor, path length 1, 8760 h", () => {
        assert.equal(intermediate.subject, "CN=intermediate-g1.k3d.linkerd.cluster.local");
        assert.ok(intermediate.ca);
        assertEcP256(intermediate);
        assert.ok(intermediate.checkIssued(anchor) && intermediate.verify(anchor.publicKey));
        assert.equal(pathLength(intermediate), 1, "one CA (the issuer) may follow it");
        assert.equal(keyUsage(intermediate.toString()), x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
        assert.equal(validityHours(intermediate), 8760);
        const cert = one(run, "tls:index/locallySignedCert:LocallySignedCert", "akko-intermediate-g1-cert");
        assert.equal(cert.inputs.earlyRenewalHours, 2160, "re-signed by any `pulumi up` in its last 90 days");
        assert.ok(!cert.protect, "re-signing it is safe: Linkerd trusts the anchor, not the intermediate");
        assert.equal(String(run.outputs.identityIntermediateNotAfter.value), cert.state.validityEndTime);
    });

    it("Linkerd's identity controller loads the issuer Secret, and `linkerd check`'s identity checks pass", () => {
        const path = linkerdLoadsIssuer(issuerSecret["tls.crt"], issuerSecret["tls.key"], bundle);
        assert.deepEqual(
            path.map((c) => c.subject),
            [
                "CN=identity.linkerd.cluster.local",
                "CN=intermediate-g1.k3d.linkerd.cluster.local",
                "CN=root.linkerd.cluster.local",
            ],
        );
        assert.deepEqual(linkerdCheckIdentity(issuerSecret), []);
        // The oracle can fail: the issuer alone, without its intermediate, chains to nothing.
        assert.throws(() => linkerdLoadsIssuer(issuer.toString(), issuerSecret["tls.key"], bundle), /no path/);
        assert.deepEqual(linkerdCheckIdentity({ ...issuerSecret, "tls.crt": issuer.toString() }), [
            "issuer cert is issued by the trust anchor",
        ]);
    });

    // The proxies verify with rustls-webpki 0.103.13 (linkerd2-proxy v2.366.0 Cargo.lock; outbound
    // linkerd/meshtls/src/creds/verify.rs, inbound creds/store.rs WebPkiClientVerifier), whose
    // src/verify_cert.rs `check_basic_constraints` refuses a path with more CA certificates below an
    // issuer than its pathLenConstraint (`sub_ca_count > len`: 2 > 1 at the intermediate here), as
    // the RFC 5280 oracle below does (components/intermediateCa.ts INTERMEDIATE_MAX_PATH_LENGTH).
    it("proxies verify a leaf the issuer signs (leaf, issuer, intermediate → anchor); a CA anyone made below the issuer is refused", async () => {
        const issuerCa = { certPem: issuer.toString(), privateKeyPem: issuerSecret["tls.key"] };
        const leaf = await signBelow(issuerCa, "web.akko.serviceaccount.identity.linkerd.cluster.local", false);
        const path = verifyPath(
            new crypto.X509Certificate(leaf.certPem),
            [issuer, intermediate],
            certificatesOf(bundle),
        );
        assert.equal(path.length, 4);
        const rogue = await signBelow(issuerCa, "rogue-ca", true);
        const forged = await signBelow(rogue, "admin.kube-system.serviceaccount.identity.linkerd.cluster.local", false);
        assert.throws(
            () =>
                verifyPath(
                    new crypto.X509Certificate(forged.certPem),
                    [new crypto.X509Certificate(rogue.certPem), issuer, intermediate],
                    certificatesOf(bundle),
                ),
            /intermediate-g1.*path length constraint 1 exceeded/,
        );
    });

    it("the outputs describe the same anchor and issuer", () => {
        assert.equal(String(run.outputs.trustAnchorPem.value).trim(), bundle);
        assert.equal(run.outputs.trustBundlePem.value, bundle);
        assert.equal(run.outputs.trustAnchorFingerprintSha256.value, anchor.fingerprint256);
        assert.equal(
            new Date(String(run.outputs.trustAnchorNotAfter.value)).getTime(),
            new Date(anchor.validTo).getTime(),
        );
        assert.equal(
            new Date(String(run.outputs.identityIssuerNotAfter.value)).getTime(),
            new Date(issuer.validTo).getTime(),
        );
    });

    it("webhook certificates: Secret <service>-k8s-tls served for <service>.linkerd.svc, chained to the caBundle the chart installs", () => {
        for (const [key, service] of [
            ["proxyInjector", "linkerd-proxy-injector"],
            ["profileValidator", "linkerd-sp-validator"],
            ["policyValidator", "linkerd-policy-validator"],
        ]) {
            const webhook = values[key];
            const secret = secretData(run, `${service}-k8s-tls`, "linkerd");
            const cert = new crypto.X509Certificate(secret["tls.crt"]);
            const ca = new crypto.X509Certificate(webhook.caBundle);
            const { namespaceSelector, ...tls } = webhook;
            assert.deepEqual(Object.keys(tls).sort(), ["caBundle", "externalSecret"]);
            assert.ok(key !== "proxyInjector" || namespaceSelector, "the injector's scope rides along");
            assert.equal(webhook.externalSecret, true, "the chart renders no Secret of its own");
            assert.ok(ca.ca);
            assert.ok(cert.verify(ca.publicKey), `${key} signed by the caBundle`);
            assert.equal(cert.checkHost(`${service}.linkerd.svc`), `${service}.linkerd.svc`);
            assert.ok(!cert.ca);
            assert.deepEqual(
                [
                    ...(new x509.X509Certificate(secret["tls.crt"]).getExtension(x509.ExtendedKeyUsageExtension)
                        ?.usages ?? []),
                ],
                [x509.ExtendedKeyUsage.serverAuth],
            );
            assert.ok(samePublicKey(secret["tls.key"], cert), `${key}: tls.key belongs to tls.crt`);
        }
    });

    it("validities follow the config", async () => {
        const custom = await runStackOk("netcup", {
            "mtls.enabled": true,
            "identity.issuer.mode": "static",
            "identity.trustAnchor.validityHours": 43800,
            "identity.issuer.static.validityHours": 48,
            "identity.issuer.static.renewBeforeHours": 24,
        });
        assert.equal(validityHours(new crypto.X509Certificate(trustRootsOf(custom))), 43800);
        assert.equal(
            validityHours(new crypto.X509Certificate(secretData(custom, "linkerd-identity-issuer")["tls.crt"])),
            48,
        );
    });
});

describe("renewal policy", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStackOk("k3d", { "mtls.enabled": true });
    });

    it("the trust anchor is never replaced implicitly: protected, no early renewal, config changes ignored", () => {
        const key = one(run, "tls:index/privateKey:PrivateKey", "akko-trust-anchor-g1-key");
        const cert = one(run, "tls:index/selfSignedCert:SelfSignedCert", "akko-trust-anchor-g1-cert");
        assert.ok(key.protect && cert.protect);
        assert.equal(cert.inputs.earlyRenewalHours, 0);
        for (const input of ["validityPeriodHours", "earlyRenewalHours", "subject", "allowedUses", "isCaCertificate"]) {
            assert.ok(cert.ignoreChanges.includes(input), `ignoreChanges has ${input}`);
        }
        assert.ok(key.ignoreChanges.includes("ecdsaCurve"));
    });

    it("the identity issuer is re-issued early by `pulumi up` (90 days before expiry by default)", () => {
        const cert = one(run, "tls:index/locallySignedCert:LocallySignedCert", "akko-identity-issuer-cert");
        assert.equal(cert.inputs.earlyRenewalHours, 2160);
        assert.ok(!cert.protect);
    });

    it("`pulumi up` warns when the anchor is within 60 days of expiry", async () => {
        // An anchor made long ago: the state holds a certificate 45 days from its end. (A new one
        // that short is refused by the config: it would warn from the day it is made.)
        const state = new ProviderState();
        await runStackOk("k3d", {}, { state });
        const anchorKey = "tls:index/selfSignedCert:SelfSignedCert::akko-trust-anchor-g1-cert";
        const stored = state.outputs.get(anchorKey) as { outputs: Record<string, unknown> };
        const key = privateKeyOutputs({ algorithm: "ECDSA", ecdsaCurve: "P256" });
        const ageing = await selfSignedCertOutputs({
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: "root.linkerd.cluster.local" },
            isCaCertificate: true,
            allowedUses: ["cert_signing", "crl_signing"],
            validityPeriodHours: 24 * 45,
        });
        stored.outputs = { ...stored.outputs, certPem: ageing.certPem };
        const later = await runStackOk("k3d", {}, { state });
        assert.equal(later.warnings.length, 1, later.warnings.join("\n"));
        assert.match(later.warnings[0], /Trust anchor akko-trust-anchor-g1 expires in 4[45] days/);
        assert.match(later.warnings[0], /docs\/admin\/rotation\.md/);
    });
});
