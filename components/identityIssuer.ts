import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { MeshConfig } from "../config";
import { LINKERD_OBJECTS, NAMESPACES } from "../lib/registry";
import type { SigningCa } from "./intermediateCa";
import { objectLabels, PROGRAM_RESOURCES } from "../lib/objects";

const ISSUER_SECRET = LINKERD_OBJECTS.issuerSecret;

export interface IdentityIssuerArgs {
    /** The per-cluster intermediate CA that signs the issuer (components/intermediateCa.ts). */
    signedBy: SigningCa;
    /**
     * The certificates between the issuer and the trust anchor (the intermediate), PEM: appended to
     * the issuer's `tls.crt`, which Linkerd reads as a chain, leaf to root (linkerd2 pkg/tls/cred.go
     * `DecodePEMCrt`), verifies against its trust roots and hands proxies with every certificate it
     * issues (pkg/identity/service.go `Certify`, `IntermediateCertificates`).
     */
    chainPem: pulumi.Input<string>;
    /** The trust anchor the chain ends at: the Secret's `ca.crt`, what `linkerd check` verifies the chain against. */
    trustAnchorPem: pulumi.Input<string>;
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

/** Issuer and intermediate, leaf to root, as one PEM text. */
const chainOf = (...pems: string[]) => pems.map((pem) => pem.trim()).join("\n") + "\n";

/**
 * Linkerd's identity issuer in `static` mode: a CA, ECDSA P-256 with a SHA-256 signature
 * (linkerd2 pkg/issuercerts rejects anything else), signed with `@pulumi/tls` by the cluster's
 * intermediate (whose key, like the anchor's, stays in Pulumi state), written to Secret
 * `linkerd-identity-issuer` in the same `kubernetes.io/tls` layout cert-manager writes: `tls.crt`
 * the issuer then the intermediate, `ca.crt` the anchor. The chart runs with scheme
 * `kubernetes.io/tls` in both modes, so the issuer never sits in its values: a renewal updates the
 * Secret (the identity controller reloads it live, pkg/identity/service.go) and `pulumi preview`
 * keeps the chart's values known. A re-signed intermediate changes `caCertPem`, which makes the tls
 * provider re-issue the issuer in the same `pulumi up`.
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

        const key = new tls.PrivateKey(
            `${name}-${PROGRAM_RESOURCES.issuerKey}`,
            { algorithm: "ECDSA", ecdsaCurve: "P256" },
            { parent: this },
        );
        const request = new tls.CertRequest(
            `${name}-csr`,
            {
                privateKeyPem: key.privateKeyPem,
                subject: { commonName: issuerCommonName(args.trustDomain) },
            },
            { parent: this },
        );
        const cert = new tls.LocallySignedCert(
            `${name}-${PROGRAM_RESOURCES.issuerCert}`,
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
        const chain = pulumi
            .all([cert.certPem, args.chainPem])
            .apply(([issuer, intermediate]) => chainOf(issuer, intermediate));
        this.ready = [
            new k8s.core.v1.Secret(
                `${name}-secret`,
                {
                    metadata: { name: ISSUER_SECRET, namespace: args.namespace, labels: objectLabels() },
                    type: "kubernetes.io/tls",
                    // ca.crt is what `linkerd check` verifies the issuer against with this scheme
                    // (pkg/issuercerts/issuercerts.go FetchExternalIssuerData); identity itself uses the trust roots.
                    stringData: { "tls.crt": chain, "tls.key": this.privateKeyPem, "ca.crt": args.trustAnchorPem },
                },
                { parent: this },
            ),
            // The public chain alone: the maintenance Jobs check it without any right on a Secret.
            new k8s.core.v1.ConfigMap(
                `${name}-certificate`,
                {
                    metadata: {
                        name: LINKERD_OBJECTS.issuerCertificateConfigMap,
                        namespace: args.namespace,
                        labels: objectLabels(),
                    },
                    data: { "tls.crt": chain },
                },
                { parent: this },
            ),
        ];

        this.registerOutputs({
            certPem: this.certPem,
            privateKeyPem: this.privateKeyPem,
            notAfter: this.notAfter,
            ready: this.ready,
        });
    }
}

/** A per-cluster intermediate an Issuer signs with, and the anchor it chains to. */
export interface IntermediateForIssuer {
    /** The anchor generation it belongs to. */
    generation: number;
    /**
     * Names its Secret and Issuer (`linkerd-intermediate-<label>`): a fleet member's are `fleet-g<n>`, apart from a joining
     * stack's own.
     * @default `g<generation>`
     */
    label?: string;
    certPem: pulumi.Input<string>;
    privateKeyPem: pulumi.Input<string>;
    /** The trust anchor that signed it. */
    anchorPem: pulumi.Input<string>;
}

export interface CertManagerIdentityIssuerArgs {
    /**
     * Namespace of the control plane: where the issuer Certificate and its Secret must be, hence
     * the namespaced Issuers and their intermediates (an Issuer signs only for its own namespace
     * and reads its CA Secret there: cert-manager v1.21.1 `pkg/controller/certificaterequests/ca/ca.go`).
     */
    namespace: pulumi.Input<string>;
    /** The intermediate of each anchor in the trust bundle: each becomes a `kubernetes.io/tls` Secret and a CA Issuer. */
    intermediates: IntermediateForIssuer[];
    /** Generation of the anchor whose intermediate signs the identity issuer. */
    signingGeneration: number;
    /**
     * Label of the intermediate that signs it.
     * @default `g<signingGeneration>`
     */
    signingLabel?: string;
    /** Certificate duration, hours. */
    durationHours: MeshConfig["identity"]["issuer"]["certManager"]["durationHours"];
    /** cert-manager renews this many hours before expiry. */
    renewBeforeHours: MeshConfig["identity"]["issuer"]["certManager"]["renewBeforeHours"];
    /** The identity trust domain: the issuer is named (and its DNS name is) `identity.linkerd.<trustDomain>`. */
    trustDomain: MeshConfig["identity"]["trustDomain"];
    /** Completes once cert-manager's API accepts objects (CertManager.ready). */
    certManagerReady: pulumi.Input<pulumi.Resource>;
}

/** Name of the namespaced CA Issuer (and its Secret) of an anchor generation's intermediate. */
export const intermediateIssuerName = (label: number | string) =>
    `linkerd-intermediate-${typeof label === "number" ? `g${label}` : label}`;

/**
 * Linkerd's identity issuer in `certManager` mode. The trust anchor never enters the cluster: the
 * program signs a per-cluster intermediate (components/intermediateCa.ts) and hands cert-manager
 * only that, as a namespaced CA Issuer in the control plane's namespace, which issues Certificate
 * `linkerd-identity-issuer` there (CA, ECDSA P-256, 48 h, renewed 25 h before expiry with a new
 * key). Linkerd reads its Secret with issuer scheme `kubernetes.io/tls` and reloads it live.
 *
 * What the issued Secret holds (cert-manager v1.21.1): the CA issuer signs with the first
 * certificate of the CA Secret's `tls.crt` and chains `tls.crt` + `ca.crt` (`pkg/util/kube/pki.go`
 * `SecretTLSKeyPairAndCA`); the chain is ordered and the self-signed root left out of the
 * certificate (`pkg/util/pki/parse_certificate_chain.go` `ParseSingleCertificateChain`). With
 * `tls.crt` = intermediate and `ca.crt` = anchor, the issuer Secret gets `tls.crt` = issuer +
 * intermediate and `ca.crt` = anchor: the chain Linkerd's identity controller verifies against its
 * trust roots (pkg/identity/service.go `loadCredentials`) and hands proxies, and what `linkerd
 * check` verifies against `ca.crt` (pkg/healthcheck "issuer cert is issued by the trust anchor").
 *
 * Why namespaced: a CA ClusterIssuer is usable from every namespace, and cert-manager's chart
 * auto-approves requests to any Issuer or ClusterIssuer (`approveSignerNames`) and lets every
 * namespace editor create CertificateRequests (ClusterRole `cert-manager-edit` aggregated into
 * `edit`); its CA issuer honours the request's `isCA`. A namespaced Issuer in `linkerd` serves only
 * requests made in `linkerd`, which only cert-manager's controller (and cluster admins) can create.
 * The cost: linkerd-destination may read every Secret in `linkerd` (charts/linkerd-control-plane
 * templates/destination-rbac.yaml, Role `remote-discovery`), the intermediate's key too, as it
 * already could the issuer's (docs/admin/rotation.md, "Who can sign").
 *
 * During an anchor rotation each anchor in the bundle has its intermediate and Issuer; phase 2
 * moves the Certificate's issuerRef to the new one, which makes cert-manager re-issue at once
 * (trigger policy `SecretIssuerAnnotationsMismatch`, internal/controller/certificates/policies);
 * a changed CA Secret alone would not.
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

        const labels = objectLabels();
        const issuers = new Map<string, k8s.apiextensions.CustomResource>();
        for (const intermediate of args.intermediates) {
            const label = intermediate.label ?? `g${intermediate.generation}`;
            const issuerName = intermediateIssuerName(label);
            const secret = new k8s.core.v1.Secret(
                `${name}-intermediate-${label}`,
                {
                    metadata: { name: issuerName, namespace: args.namespace, labels },
                    type: "kubernetes.io/tls",
                    stringData: {
                        "tls.crt": intermediate.certPem,
                        "tls.key": pulumi.secret(intermediate.privateKeyPem),
                        "ca.crt": intermediate.anchorPem,
                    },
                },
                { parent: this },
            );
            issuers.set(
                label,
                new k8s.apiextensions.CustomResource(
                    `${name}-intermediate-${label}`,
                    {
                        apiVersion: "cert-manager.io/v1",
                        kind: "Issuer",
                        metadata: {
                            name: issuerName,
                            namespace: args.namespace,
                            labels,
                            annotations: { "pulumi.com/waitFor": "condition=Ready" },
                        },
                        spec: { ca: { secretName: secret.metadata.name } },
                    },
                    { parent: this, dependsOn: [secret, args.certManagerReady] },
                ),
            );
        }
        const signingLabel = args.signingLabel ?? `g${args.signingGeneration}`;
        const signer = issuers.get(signingLabel);
        if (!signer) throw new Error(`no intermediate ${signingLabel} to sign the identity issuer`);

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
                    issuerRef: { name: intermediateIssuerName(signingLabel), kind: "Issuer", group: "cert-manager.io" },
                    commonName,
                    dnsNames: [commonName],
                    isCA: true,
                    privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
                },
            },
            // Waiting for Ready after an update means waiting for the re-issue: pulumi-kubernetes' condition
            // await compares the condition's observedGeneration (provider/pkg/await/condition/kubectl.go), and
            // cert-manager keeps Ready False while the Secret names another issuer (readiness policy chain).
            { parent: this, dependsOn: [signer] },
        );
        this.secretName = pulumi.output(ISSUER_SECRET);
        this.ready = [this.certificate];
        this.registerOutputs({ certificate: this.certificate, secretName: this.secretName });
    }
}
