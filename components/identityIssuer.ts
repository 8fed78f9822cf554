import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { MeshConfig } from "../config";
import { LINKERD_OBJECTS, NAMESPACES } from "../lib/registry";

const ISSUER_SECRET = LINKERD_OBJECTS.issuerSecret;

/** A CA that can sign: its certificate and private key, PEM. */
export interface SigningCa {
    certPem: pulumi.Input<string>;
    privateKeyPem: pulumi.Input<string>;
}

export interface IdentityIssuerArgs {
    /** The trust anchor that signs the issuer. */
    signedBy: SigningCa;
    /** Namespace of the control plane, where Secret `linkerd-identity-issuer` must be. */
    namespace: pulumi.Input<string>;
    /** Validity of the issuer certificate, in hours. */
    validityHours: pulumi.Input<MeshConfig["identity"]["issuer"]["static"]["validityHours"]>;
    /**
     * Early renewal: a `pulumi up` run with fewer hours than this left re-issues the
     * certificate; the identity controller reloads the new issuer live.
     */
    renewBeforeHours: pulumi.Input<MeshConfig["identity"]["issuer"]["static"]["renewBeforeHours"]>;
    /** The identity trust domain: the issuer is named `identity.linkerd.<trustDomain>`. */
    trustDomain: MeshConfig["identity"]["trustDomain"];
}

/**
 * The identity issuer's name, as the identity controller expects it
 * (linkerd2 controller/cmd/identity/main.go:125 `identity.<namespace>.<trust domain>`).
 */
export const issuerCommonName = (trustDomain: string) => `identity.${NAMESPACES.controlPlane}.${trustDomain}`;

/**
 * Linkerd's identity issuer in `static` mode: an intermediate CA, ECDSA P-256 with a
 * SHA-256 signature (linkerd2 pkg/issuercerts rejects anything else), signed by the
 * trust anchor with `@pulumi/tls`, written to Secret `linkerd-identity-issuer` in the same
 * `kubernetes.io/tls` layout cert-manager writes (tls.crt, tls.key, ca.crt). The chart runs with
 * scheme `kubernetes.io/tls` in both modes, so the issuer never sits in its values: a renewal
 * updates the Secret (the identity controller reloads it live, pkg/identity/service.go) and
 * `pulumi preview` keeps the chart's values known.
 */
export class IdentityIssuer extends pulumi.ComponentResource {
    /** The issuer certificate, PEM. */
    public readonly certPem: pulumi.Output<string>;
    /** The issuer's private key, PEM (a Pulumi secret). */
    public readonly privateKeyPem: pulumi.Output<string>;
    /** Expiry, RFC 3339. */
    public readonly notAfter: pulumi.Output<string>;
    /** The Secret the identity controller reads. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: IdentityIssuerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:IdentityIssuer", name, {}, opts);

        const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const request = new tls.CertRequest(
            `${name}-csr`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: issuerCommonName(args.trustDomain) },
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
                validityPeriodHours: args.validityHours,
                earlyRenewalHours: args.renewBeforeHours,
            },
            { parent: this },
        );

        this.certPem = cert.certPem;
        this.privateKeyPem = pulumi.secret(key.privateKeyPem);
        this.notAfter = cert.validityEndTime;
        this.ready = [
            new k8s.core.v1.Secret(
                `${name}-secret`,
                {
                    metadata: { name: ISSUER_SECRET, namespace: args.namespace, labels: { "app.kubernetes.io/part-of": "akko-mtls" } },
                    type: "kubernetes.io/tls",
                    // ca.crt is what `linkerd check` verifies the issuer against with this scheme
                    // (pkg/issuercerts/issuercerts.go FetchExternalIssuerData); identity itself uses the trust roots.
                    stringData: { "tls.crt": cert.certPem, "tls.key": this.privateKeyPem, "ca.crt": args.signedBy.certPem },
                },
                { parent: this },
            ),
            // The public certificate alone: the maintenance Jobs check it without any right on a Secret.
            new k8s.core.v1.ConfigMap(
                `${name}-certificate`,
                {
                    metadata: {
                        name: LINKERD_OBJECTS.issuerCertificateConfigMap,
                        namespace: args.namespace,
                        labels: { "app.kubernetes.io/part-of": "akko-mtls" },
                    },
                    data: { "tls.crt": cert.certPem },
                },
                { parent: this },
            ),
        ];

        this.registerOutputs({ certPem: this.certPem, privateKeyPem: this.privateKeyPem, notAfter: this.notAfter, ready: this.ready });
    }
}

/** An anchor a CA Issuer is made of. */
export interface AnchorForIssuer {
    generation: number;
    certPem: pulumi.Input<string>;
    privateKeyPem: pulumi.Input<string>;
}

export interface CertManagerIdentityIssuerArgs {
    /** Namespace of the control plane, where the issuer Secret must be. */
    namespace: pulumi.Input<string>;
    /**
     * cert-manager's cluster resource namespace (the one it runs in, unless its
     * `--cluster-resource-namespace` says otherwise): where ClusterIssuers' CA Secrets, hence the
     * anchors' private keys, live. Never the control plane's namespace, whose Secrets
     * linkerd-destination may read.
     */
    anchorNamespace: pulumi.Input<string>;
    /** Anchors in the trust bundle: each becomes a `kubernetes.io/tls` Secret and a CA Issuer. */
    anchors: AnchorForIssuer[];
    /** Generation of the anchor whose Issuer signs the identity issuer. */
    signingGeneration: number;
    /** Certificate duration, hours. */
    durationHours: MeshConfig["identity"]["issuer"]["certManager"]["durationHours"];
    /** cert-manager renews this many hours before expiry. */
    renewBeforeHours: MeshConfig["identity"]["issuer"]["certManager"]["renewBeforeHours"];
    /** The identity trust domain: the issuer is named (and its DNS name is) `identity.linkerd.<trustDomain>`. */
    trustDomain: MeshConfig["identity"]["trustDomain"];
    /** Completes once cert-manager's API accepts objects (CertManager.ready). */
    certManagerReady: pulumi.Input<pulumi.Resource>;
}

/** Name of the CA ClusterIssuer (and its Secret) for an anchor generation. */
export const anchorIssuerName = (generation: number) => `linkerd-trust-anchor-g${generation}`;

/**
 * Linkerd's identity issuer in `certManager` mode, as Linkerd's docs set it up
 * (linkerd.io 2-edge tasks/automatically-rotating-control-plane-tls-credentials.md): the
 * program's trust anchor as a `kubernetes.io/tls` Secret in cert-manager's own namespace behind
 * a CA ClusterIssuer, and a Certificate `linkerd-identity-issuer` in the control plane's namespace
 * (CA, ECDSA P-256, 48 h, renewed 25 h before expiry with a new key) that cert-manager keeps
 * rotating. Linkerd reads its Secret with issuer scheme `kubernetes.io/tls` and reloads it live.
 * The anchors' keys stay out of the `linkerd` namespace: linkerd-destination may read every Secret
 * there (charts/linkerd-control-plane/templates/destination-rbac.yaml, Role `remote-discovery`).
 *
 * During an anchor rotation each anchor in the bundle has its ClusterIssuer; phase 2 moves the
 * Certificate's issuerRef to the new one, which makes cert-manager re-issue at once.
 */
export class CertManagerIdentityIssuer extends pulumi.ComponentResource {
    /** The Certificate; Pulumi waits until it is Ready. */
    public readonly certificate: k8s.apiextensions.CustomResource;
    /** Name of the Secret cert-manager writes. */
    public readonly secretName: pulumi.Output<string>;
    /** Resources the control plane must wait for. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: CertManagerIdentityIssuerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:CertManagerIdentityIssuer", name, {}, opts);

        const issuers = new Map<number, k8s.apiextensions.CustomResource>();
        for (const anchor of args.anchors) {
            const anchorName = anchorIssuerName(anchor.generation);
            const secret = new k8s.core.v1.Secret(
                `${name}-anchor-g${anchor.generation}`,
                {
                    metadata: { name: anchorName, namespace: args.anchorNamespace, labels: { "app.kubernetes.io/part-of": "akko-mtls" } },
                    type: "kubernetes.io/tls",
                    stringData: { "tls.crt": anchor.certPem, "tls.key": pulumi.secret(anchor.privateKeyPem) },
                },
                { parent: this },
            );
            issuers.set(
                anchor.generation,
                new k8s.apiextensions.CustomResource(
                    `${name}-anchor-g${anchor.generation}`,
                    {
                        apiVersion: "cert-manager.io/v1",
                        kind: "ClusterIssuer",
                        metadata: {
                            name: anchorName,
                            labels: { "app.kubernetes.io/part-of": "akko-mtls" },
                            annotations: { "pulumi.com/waitFor": "condition=Ready" },
                        },
                        spec: { ca: { secretName: secret.metadata.name } },
                    },
                    { parent: this, dependsOn: [secret, args.certManagerReady] },
                ),
            );
        }
        const signer = issuers.get(args.signingGeneration);
        if (!signer) throw new Error(`no anchor of generation ${args.signingGeneration} to sign the identity issuer`);

        const commonName = issuerCommonName(args.trustDomain);
        this.certificate = new k8s.apiextensions.CustomResource(
            `${name}-certificate`,
            {
                apiVersion: "cert-manager.io/v1",
                kind: "Certificate",
                metadata: {
                    name: ISSUER_SECRET,
                    namespace: args.namespace,
                    annotations: { "pulumi.com/waitFor": "condition=Ready" },
                },
                spec: {
                    secretName: ISSUER_SECRET,
                    duration: `${args.durationHours}h0m0s`,
                    renewBefore: `${args.renewBeforeHours}h0m0s`,
                    issuerRef: { name: anchorIssuerName(args.signingGeneration), kind: "ClusterIssuer", group: "cert-manager.io" },
                    commonName,
                    dnsNames: [commonName],
                    isCA: true,
                    privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
                },
            },
            { parent: this, dependsOn: [signer] },
        );
        this.secretName = pulumi.output(ISSUER_SECRET);
        this.ready = [this.certificate];
        this.registerOutputs({ certificate: this.certificate, secretName: this.secretName });
    }
}
