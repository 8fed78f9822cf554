import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { retainCustomResourceDefinitions } from "./transforms";
import type { WebhookTlsValues } from "./webhookCertificates";

/**
 * Ports the mesh uses, from the pinned chart (edge-26.8.3): the proxy's from
 * charts/linkerd-control-plane/values.yaml `proxy.ports` (checked by the tests); the
 * control plane's from its templates' containerPorts (destination.yaml, identity.yaml,
 * proxy-injector.yaml; Services map 443 to the webhook ports).
 */
export const LINKERD_PORTS = {
    proxyInbound: 4143,
    proxyControl: 4190,
    proxyAdmin: 4191,
    identityGrpc: 8080,
    destinationGrpc: 8086,
    policyGrpc: 8090,
    /** proxy-injector and sp-validator webhooks. */
    webhookHttps: 8443,
    policyValidatorHttps: 9443,
    /** Admin (metrics) ports: identity/policy 9990, proxy-injector 9995, destination 9996, sp-validator 9997. */
    admin: [9990, 9995, 9996, 9997],
} as const;

/** Linkerd's webhooks: control-plane chart value key -> Service name (templates' `$host`). */
export const LINKERD_WEBHOOK_SERVICES = {
    proxyInjector: "linkerd-proxy-injector",
    profileValidator: "linkerd-sp-validator",
    policyValidator: "linkerd-policy-validator",
} as const;
export type LinkerdWebhook = keyof typeof LINKERD_WEBHOOK_SERVICES;

/** Requests and limits in Linkerd's values shape; an unset limit means none. */
export interface ResourceValues {
    cpu: { request: string; limit?: string };
    memory: { request: string; limit?: string };
}

export interface ControlPlaneResources {
    destination: ResourceValues;
    spValidator: ResourceValues;
    policyController: ResourceValues;
    identity: ResourceValues;
    proxyInjector: ResourceValues;
    heartbeat: ResourceValues;
}

/** How the identity controller gets its issuer. */
export type IdentityIssuerValues =
    /** The chart creates Secret `linkerd-identity-issuer` from these. */
    | { scheme: "linkerd.io/tls"; crtPEM: pulumi.Input<string>; keyPEM: pulumi.Input<string> }
    /** Secret `linkerd-identity-issuer` (tls.crt, tls.key, ca.crt) is provided, e.g. by cert-manager. */
    | { scheme: "kubernetes.io/tls" };

export interface LinkerdControlPlaneArgs {
    /**
     * The control-plane namespace (see `linkerdNamespace` in namespaces.ts): the charts
     * install into it and wait for it.
     */
    namespace: k8s.core.v1.Namespace;
    /**
     * Exact version of the linkerd-crds and linkerd-control-plane charts.
     * @default "2026.8.3" (edge-26.8.3)
     */
    chartVersion?: pulumi.Input<string>;
    /**
     * Helm repository of the charts.
     * @default "https://helm.linkerd.io/edge"
     */
    repository?: pulumi.Input<string>;
    /**
     * Gateway API CRDs: `install` has linkerd-crds install the ones it vendors;
     * `present` reads HTTPRoute and GRPCRoute CRDs from the cluster and fails if absent.
     * @default "install"
     */
    gatewayApi?: "install" | "present";
    /** PEM bundle of every trust anchor proxies must accept (`identityTrustAnchorsPEM`). */
    trustAnchorsPem: pulumi.Input<string>;
    /**
     * Identity trust domain.
     * @default "cluster.local"
     */
    trustDomain?: pulumi.Input<string>;
    /** The identity issuer. */
    identityIssuer: IdentityIssuerValues;
    /** TLS for the three admission webhooks, so renders are deterministic. */
    webhookTls: Record<LinkerdWebhook, WebhookTlsValues>;
    /**
     * Linkerd's HA mode (values-ha.yaml): PDBs, required pod anti-affinity, rolling
     * updates one pod at a time. Needs at least three nodes.
     * @default false
     */
    highAvailability?: pulumi.Input<boolean>;
    /**
     * Replicas of each control-plane deployment.
     * @default 1
     */
    controllerReplicas?: pulumi.Input<number>;
    /**
     * Failure policy of the proxy injector webhook.
     * @default "Ignore"
     */
    webhookFailurePolicy?: pulumi.Input<"Ignore" | "Fail">;
    /**
     * iptables variant of proxy-init.
     * @default "nft"
     */
    iptablesMode?: pulumi.Input<"nft" | "legacy">;
    /** Requests and limits of every injected proxy; unset keeps the chart's (none). */
    proxyResources?: pulumi.Input<ResourceValues>;
    /** Requests and limits of the control-plane containers; unset keeps the chart's (none). */
    controlPlaneResources?: pulumi.Input<ControlPlaneResources>;
    /** Extra annotations on every control-plane pod; a change rolls the pods. */
    podAnnotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Resources the control-plane chart must wait for (e.g. a ready issuer Certificate). */
    waitFor?: pulumi.Input<pulumi.Resource>[];
    /**
     * NetworkPolicy admitting what the control plane serves, for clusters whose policy
     * engine puts default-deny into every namespace; omit for none.
     */
    networkPolicy?: { meshedNamespaces: string[]; vizNamespace?: string };
}

/**
 * The Linkerd control plane: the linkerd-crds chart, then the linkerd-control-plane
 * chart, both `helm.v4.Chart` from the edge repository at an exact version, into the
 * namespace given (labelled as `linkerd install` would, see namespaces.ts).
 */
export class LinkerdControlPlane extends pulumi.ComponentResource {
    /** The control-plane namespace. */
    public readonly namespace: pulumi.Output<string>;
    /** The chart version installed. */
    public readonly chartVersion: pulumi.Output<string>;
    /** The linkerd-crds chart (Linkerd's CRDs, and Gateway API CRDs when installed). */
    public readonly crds: k8s.helm.v4.Chart;
    /** The linkerd-control-plane chart. */
    public readonly controlPlane: k8s.helm.v4.Chart;

    constructor(name: string, args: LinkerdControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:LinkerdControlPlane", name, {}, opts);

        const namespace = args.namespace;
        const chartVersion = pulumi.output(args.chartVersion ?? "2026.8.3");
        const repo = args.repository ?? "https://helm.linkerd.io/edge";

        this.crds = new k8s.helm.v4.Chart(
            `${name}-crds`,
            {
                name: "linkerd-crds",
                chart: "linkerd-crds",
                version: chartVersion,
                repositoryOpts: { repo },
                namespace: namespace.metadata.name,
                values: { installGatewayAPI: (args.gatewayApi ?? "install") === "install" },
            },
            // Deleting Linkerd's CRDs would delete every policy object with them: they stay.
            { parent: this, dependsOn: [namespace], transforms: [retainCustomResourceDefinitions] },
        );

        // With `present`, read the Gateway API CRDs Linkerd's policy controller watches, so
        // a cluster without them fails at preview with a clear "not found" instead of a
        // crash-looping policy controller.
        const gatewayApiCrds =
            args.gatewayApi === "present"
                ? ["httproutes", "grpcroutes"].map((plural) =>
                      k8s.apiextensions.v1.CustomResourceDefinition.get(
                          `${name}-gateway-api-${plural}`,
                          `${plural}.gateway.networking.k8s.io`,
                          { parent: this },
                      ),
                  )
                : [];

        this.controlPlane = new k8s.helm.v4.Chart(
            `${name}-control-plane`,
            {
                name: "linkerd-control-plane",
                chart: "linkerd-control-plane",
                version: chartVersion,
                repositoryOpts: { repo },
                namespace: namespace.metadata.name,
                values: controlPlaneValues(args),
            },
            { parent: this, dependsOn: [namespace, this.crds, ...gatewayApiCrds, ...(args.waitFor ?? [])] },
        );

        const policy = args.networkPolicy;
        if (policy) {
            const controlPlaneNs = namespace.metadata.name;
            const mesh = pulumi
                .output(controlPlaneNs)
                .apply((cp) => [...new Set([...policy.meshedNamespaces, cp, ...(policy.vizNamespace ? [policy.vizNamespace] : [])])]);
            const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: "TCP", port }));
            new k8s.networking.v1.NetworkPolicy(
                `${name}-network-policy`,
                {
                    metadata: { name: "linkerd-control-plane", namespace: controlPlaneNs },
                    spec: {
                        podSelector: {
                            matchExpressions: [
                                { key: "linkerd.io/control-plane-component", operator: "In", values: ["identity", "destination", "proxy-injector"] },
                            ],
                        },
                        policyTypes: ["Ingress"],
                        ingress: [
                            {
                                from: [{ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: mesh }] } }],
                                ports: tcp(LINKERD_PORTS.identityGrpc, LINKERD_PORTS.destinationGrpc, LINKERD_PORTS.policyGrpc, LINKERD_PORTS.proxyInbound),
                            },
                            // Admission webhooks are called by the API server, whose address no selector names.
                            { ports: tcp(LINKERD_PORTS.webhookHttps, LINKERD_PORTS.policyValidatorHttps) },
                            ...(policy.vizNamespace
                                ? [
                                      {
                                          from: [
                                              {
                                                  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": policy.vizNamespace } },
                                                  podSelector: { matchLabels: { "linkerd.io/extension": "viz", component: "prometheus" } },
                                              },
                                          ],
                                          ports: tcp(LINKERD_PORTS.proxyAdmin, ...LINKERD_PORTS.admin),
                                      },
                                  ]
                                : []),
                        ],
                    },
                },
                { parent: this, dependsOn: [namespace] },
            );
        }

        this.namespace = namespace.metadata.name;
        this.chartVersion = chartVersion;
        this.registerOutputs({
            namespace: this.namespace,
            chartVersion: this.chartVersion,
            crds: this.crds,
            controlPlane: this.controlPlane,
        });
    }
}

/**
 * The linkerd-control-plane chart values; every path exists in the pinned chart.
 * Built from Inputs without an enclosing `apply`, so only the private keys inside are
 * secret and `pulumi preview` still shows every other value's diff.
 */
function controlPlaneValues(args: LinkerdControlPlaneArgs): Record<string, unknown> {
    const issuer = args.identityIssuer;
    const highAvailability = pulumi.output(args.highAvailability ?? false);
    const resources = pulumi.output(args.controlPlaneResources);
    const component = (key: keyof ControlPlaneResources) => resources.apply((r) => r?.[key]);
    return {
        identityTrustAnchorsPEM: args.trustAnchorsPem,
        identityTrustDomain: args.trustDomain ?? "cluster.local",
        identity: {
            issuer:
                issuer.scheme === "linkerd.io/tls"
                    ? { scheme: issuer.scheme, tls: { crtPEM: issuer.crtPEM, keyPEM: issuer.keyPEM } }
                    : { scheme: issuer.scheme },
        },
        proxyInjector: args.webhookTls.proxyInjector,
        profileValidator: args.webhookTls.profileValidator,
        policyValidator: args.webhookTls.policyValidator,
        controllerReplicas: args.controllerReplicas ?? 1,
        webhookFailurePolicy: args.webhookFailurePolicy ?? "Ignore",
        // `highAvailability` is what `linkerd check` reads; the two below are what HA changes.
        highAvailability,
        enablePodAntiAffinity: highAvailability,
        enablePodDisruptionBudget: highAvailability,
        controller: { podDisruptionBudget: { maxUnavailable: 1 } },
        // values-ha.yaml rolls one control-plane pod at a time; the default is 25 %.
        deploymentStrategy: {
            rollingUpdate: { maxUnavailable: highAvailability.apply((ha) => (ha ? 1 : "25%")), maxSurge: "25%" },
        },
        proxyInit: { iptablesMode: args.iptablesMode ?? "nft" },
        proxy: { resources: args.proxyResources },
        destinationResources: component("destination"),
        spValidatorResources: component("spValidator"),
        identityResources: component("identity"),
        proxyInjectorResources: component("proxyInjector"),
        heartbeatResources: component("heartbeat"),
        policyController: { resources: component("policyController") },
        podAnnotations: args.podAnnotations ?? {},
    };
}
