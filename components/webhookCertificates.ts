import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { CERT_MANAGER_WEBHOOK_LAYOUT } from "../lib/registry";
import { PATCH_FORCE } from "./transforms";
import { objectLabels } from "../lib/objects";

/**
 * The TLS block a Linkerd chart's webhook takes (`proxyInjector`, `profileValidator`,
 * `policyValidator`, viz `tap`, `tapInjector`). The serving certificate always lives in a Secret
 * the chart does not render (`externalSecret`, named `<service>-k8s-tls`, keys tls.crt/tls.key:
 * charts/linkerd-control-plane/templates/proxy-injector-rbac.yaml:59-76); the API server trusts
 * the CA bundle given here. Only the webhook CA's certificate sits in the chart values, and it is
 * never renewed early: renewing a serving certificate changes a Secret, not the chart, and
 * `pulumi preview` keeps every chart's values known (an unknown value makes helm.v4.Chart register
 * no children: pulumi-kubernetes provider/pkg/provider/helm/v4/chart.go:173-178, "Preview is
 * incomplete"). Without a bundle or cert-manager's injection the chart calls genSelfSignedCert on
 * every render.
 */
export type WebhookTlsValues = {
    externalSecret: true;
    /** The CA(s) the API server trusts for the webhook, PEM: the program's webhook CA (lib/webhookTrust.ts). */
    caBundle: pulumi.Input<string>;
};

/** The Secret a chart's webhook mounts (fixed names in the pinned charts). */
export const webhookSecretName = (service: string) => `${service}-k8s-tls`;

export interface WebhookCertificatesArgs {
    /** Namespace the webhook Services (and their Secrets) live in. */
    namespace: pulumi.Input<string>;
    /** Its name, for the DNS names (the Input above may be an Output of the Namespace). */
    namespaceName: string;
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
     * Re-issue a serving certificate on `pulumi up` when fewer hours than this are left; the
     * Secret is updated in place and the maintenance Job restarts the control plane.
     * @default 720
     */
    renewBeforeHours?: pulumi.Input<number>;
    /**
     * Validity of the webhook CA, in hours. It is never renewed early: its PEM is the one
     * certificate in the chart values (`caBundle`), and a new one would leave that value unknown
     * at preview. At expiry the tls provider replaces it; `pulumi up` warns 60 days before.
     * @default 87600
     */
    caValidityHours?: pulumi.Input<number>;
    /**
     * Per chart value key, certificates (PEM) the API server keeps trusting beside this CA: the
     * CA cert-manager's cainjector had written, in the run that takes over from it
     * (lib/webhookTrust.ts). Duplicates of this CA are dropped.
     * @default none
     */
    alsoTrust?: Record<string, pulumi.Input<string>>;
    /** What the Secrets wait for before they are written (the handover: cert-manager's objects removed, the chart's bundles trusting this CA). */
    secretsAfter?: pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
}

/** Concatenated PEM certificates, each once (by its text), in order. */
export function pemBundle(...pems: string[]): string {
    const blocks = pems.flatMap(
        (pem) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [],
    );
    return [...new Set(blocks.map((b) => b.replace(/\r/g, "").trim()))].join("\n");
}

/**
 * Serving certificates for a chart's admission webhooks, made by the program with `@pulumi/tls`
 * in both issuer modes and written to the Secrets the chart's pods mount. The webhook CA's key
 * stays in Pulumi state: no key that can sign for a webhook is in the cluster (a cert-manager CA
 * Issuer would need it in the webhooks' namespace, readable there by whoever reads its Secrets;
 * a CA ClusterIssuer would open it to every namespace). Leaves are re-issued by `pulumi up` in
 * their early-renewal window (the nightly drift check starts it: tools/renewals.ts) and written in
 * place; the CA in the chart values does not change, so the API server verifies the old and the
 * new leaf alike while the webhook pod reloads its files.
 *
 * Why not one self-signed certificate per webhook that cert-manager renews keeping its key
 * (`rotationPolicy: Never`), which would need no scheduled renewal: while cainjector has written
 * the renewed certificate and the pod still serves the previous one (or the reverse), Go's
 * verifier in the API server refuses it. The previous certificate is no root in the new bundle, and
 * the new one, same subject, same key, same names, counts as "already in the chain" and is never
 * tried as its issuer (go/src/crypto/x509/verify.go `buildChains`, `alreadyInChain`): a window at
 * every renewal (test/webhookTrust.test.ts).
 */
export class WebhookCertificates extends pulumi.ComponentResource {
    /** Chart values per webhook key (e.g. `proxyInjector`). */
    public readonly values: Record<string, WebhookTlsValues>;
    /** The CA the API server trusts for these webhooks, PEM. */
    public readonly caBundle: pulumi.Output<string>;
    /** The serving certificates, PEM (a change restarts the control plane: MeshMaintenance). */
    public readonly certificates: pulumi.Output<string>[];
    /** The Secrets, for the chart to wait for. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: WebhookCertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:WebhookCertificates", name, {}, opts);

        const caKey = new tls.PrivateKey(
            `${name}-ca-key`,
            { algorithm: "ECDSA", ecdsaCurve: "P256" },
            { parent: this },
        );
        const ca = new tls.SelfSignedCert(
            `${name}-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                subject: { commonName: `webhook-ca.${args.namespaceName}` },
                isCaCertificate: true,
                allowedUses: ["cert_signing", "crl_signing"],
                validityPeriodHours: args.caValidityHours ?? 87600,
                earlyRenewalHours: 0,
            },
            { parent: this },
        );
        this.caBundle = ca.certPem;

        this.values = {};
        this.certificates = [];
        this.ready = [];
        for (const [valueKey, service] of Object.entries(args.services)) {
            const host = `${service}.${args.namespaceName}.svc`;
            const key = new tls.PrivateKey(
                `${name}-${service}-key`,
                { algorithm: "ECDSA", ecdsaCurve: "P256" },
                { parent: this },
            );
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
            this.ready.push(
                new k8s.core.v1.Secret(
                    `${name}-${service}-secret`,
                    {
                        metadata: {
                            name: webhookSecretName(service),
                            namespace: args.namespace,
                            labels: objectLabels(),
                            // The program's: fields another manager wrote (cert-manager's, on a stack it
                            // served before) are taken over, not a conflict (transforms.ts PATCH_FORCE).
                            annotations: { ...PATCH_FORCE },
                        },
                        type: "kubernetes.io/tls",
                        stringData: { "tls.crt": cert.certPem, "tls.key": pulumi.secret(key.privateKeyPem) },
                    },
                    { parent: this, dependsOn: args.secretsAfter ?? [] },
                ),
            );
            this.certificates.push(cert.certPem);
            const also = args.alsoTrust?.[valueKey];
            this.values[valueKey] = {
                externalSecret: true,
                caBundle:
                    also === undefined
                        ? ca.certPem
                        : pulumi.all([ca.certPem, also]).apply(([own, other]) => pemBundle(own, other)),
            };
        }

        this.registerOutputs({ values: this.values, caBundle: this.caBundle, certificates: this.certificates });
    }
}

export interface CertManagerWebhookHandoverArgs {
    /** The webhooks' namespace, where cert-manager's objects for them are. */
    namespace: pulumi.Input<string>;
    /** Their Services: cert-manager's Certificate of each was named after it. */
    services: string[];
    /** Image with a shell and `kubectl` (the maintenance Jobs' kubectl image). */
    kubectlImage: pulumi.Input<string>;
}

/**
 * The run that takes the webhooks over from cert-manager (lib/webhookTrust.ts): a Job deletes, in
 * the webhooks' namespace, cert-manager's Certificates for them, its `webhook-ca` Issuer, Certificate
 * and Secret (the CA key) and the bootstrap Issuer, before the program writes the serving Secrets
 * (they wait for {@link done}). Its identity may delete those objects by name and nothing else: no
 * read, no list (`kubectl delete --wait=false` only sends DELETE; none of them has a finalizer, and a
 * Secret's DELETE answers a Status, not the object). The objects were Pulumi resources of the
 * previous layout, which this run no longer registers: Pulumi's own deletes, after, find them gone.
 */
export class CertManagerWebhookHandover extends pulumi.ComponentResource {
    /** The Job; completes once cert-manager's objects are gone. */
    public readonly done: k8s.batch.v1.Job;

    constructor(name: string, args: CertManagerWebhookHandoverArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:CertManagerWebhookHandover", name, {}, opts);
        const accountName = "webhook-handover";
        const labels = objectLabels({ appName: accountName });
        const metadata = { name: accountName, namespace: args.namespace, labels };
        const layout = CERT_MANAGER_WEBHOOK_LAYOUT;
        const certificates = [...args.services, layout.caName];
        const issuers = [layout.caName, layout.bootstrapIssuer];
        const account = new k8s.core.v1.ServiceAccount(`${name}-account`, { metadata }, { parent: this });
        const role = new k8s.rbac.v1.Role(
            `${name}-role`,
            {
                metadata,
                rules: [
                    {
                        apiGroups: ["cert-manager.io"],
                        resources: ["certificates"],
                        resourceNames: certificates,
                        verbs: ["delete"],
                    },
                    {
                        apiGroups: ["cert-manager.io"],
                        resources: ["issuers"],
                        resourceNames: issuers,
                        verbs: ["delete"],
                    },
                    { apiGroups: [""], resources: ["secrets"], resourceNames: [layout.caName], verbs: ["delete"] },
                ],
            },
            { parent: this },
        );
        const binding = new k8s.rbac.v1.RoleBinding(
            `${name}-binding`,
            {
                metadata,
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: args.namespace }],
            },
            { parent: this },
        );
        const remove = (resource: string, names: string[]) =>
            `kubectl delete ${resource} -n "$NAMESPACE" --ignore-not-found --wait=false ${names.join(" ")}`;
        this.done = new k8s.batch.v1.Job(
            `${name}-job`,
            {
                metadata: { ...metadata, annotations: { "pulumi.com/replaceUnready": "true" } },
                spec: {
                    backoffLimit: 2,
                    activeDeadlineSeconds: 300,
                    template: {
                        metadata: { labels, annotations: { "linkerd.io/inject": "disabled" } },
                        spec: {
                            serviceAccountName: account.metadata.name,
                            restartPolicy: "Never",
                            securityContext: {
                                runAsNonRoot: true,
                                runAsUser: 65534,
                                runAsGroup: 65534,
                                seccompProfile: { type: "RuntimeDefault" },
                            },
                            containers: [
                                {
                                    name: "handover",
                                    image: args.kubectlImage,
                                    command: [
                                        "/bin/sh",
                                        "-ec",
                                        // The Certificates first: with them gone nothing writes the Secrets or the bundles.
                                        [
                                            remove("certificates.cert-manager.io", certificates),
                                            remove("issuers.cert-manager.io", issuers),
                                            remove("secret", [layout.caName]),
                                        ].join("\n"),
                                    ],
                                    env: [
                                        {
                                            name: "NAMESPACE",
                                            valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
                                        },
                                        { name: "HOME", value: "/tmp" },
                                    ],
                                    securityContext: {
                                        allowPrivilegeEscalation: false,
                                        readOnlyRootFilesystem: true,
                                        capabilities: { drop: ["ALL"] },
                                    },
                                    resources: {
                                        requests: { cpu: "10m", memory: "32Mi" },
                                        limits: { cpu: "200m", memory: "128Mi" },
                                    },
                                    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                                },
                            ],
                            volumes: [{ name: "tmp", emptyDir: { sizeLimit: "16Mi" } }],
                        },
                    },
                },
            },
            { parent: this, dependsOn: [binding], customTimeouts: { create: "10m", update: "10m" } },
        );
        this.registerOutputs({ done: this.done });
    }
}
