import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MeshConfig } from "../config";
import type { NetworkPolicySpec } from "../lib/networkPolicies";
import { PROXY_SECURITY_CONTEXT } from "../lib/podSecurity";
import { CHARTS, LINKERD_OBJECTS, LINKERD_WEBHOOKS } from "../lib/registry";
import { awaitCaBundle, retainAndReadopt } from "./transforms";
import type { WebhookTlsValues } from "./webhookCertificates";
import { networkPolicyObject, objectLabels } from "../lib/objects";

/** Linkerd's webhooks: control-plane chart value key -> Service name (templates' `$host`). */
export const LINKERD_WEBHOOK_SERVICES = LINKERD_WEBHOOKS;
export type LinkerdWebhook = keyof typeof LINKERD_WEBHOOKS;

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
}

export interface LinkerdControlPlaneArgs {
    /**
     * The control-plane namespace (see `linkerdNamespace` in namespaces.ts): the charts
     * install into it and wait for it.
     */
    namespace: k8s.core.v1.Namespace;
    /** Exact version of the linkerd-crds and linkerd-control-plane charts; the presets pin lib/registry.ts `CHARTS`. */
    chartVersion: pulumi.Input<MeshConfig["linkerd"]["chartVersion"]>;
    /** Helm repository of the charts. */
    repository: pulumi.Input<MeshConfig["linkerd"]["repository"]>;
    /**
     * PEM bundle of every trust anchor proxies must accept. It goes to ConfigMap
     * `linkerd-identity-trust-roots`, made by this component (`identity.externalCA`), never into the
     * chart values: a new anchor is unknown at preview, and an unknown value makes the chart
     * register no children, so the preview would show the whole control plane deleted.
     */
    trustAnchorsPem: pulumi.Input<string>;
    /** Identity trust domain. */
    trustDomain: pulumi.Input<MeshConfig["identity"]["trustDomain"]>;
    /**
     * Lifetime of the proxies' certificates, a Go duration (the chart's `identity.issuer.issuanceLifetime`).
     * @default the chart's, 24h0m0s
     */
    issuanceLifetime?: pulumi.Input<MeshConfig["identity"]["issuer"]["issuanceLifetime"]>;
    /** TLS for the three admission webhooks, so renders are deterministic. */
    webhookTls: Record<LinkerdWebhook, WebhookTlsValues>;
    /**
     * Linkerd's HA mode (values-ha.yaml): PDBs, required pod anti-affinity, rolling
     * updates one pod at a time. Needs at least three nodes.
     */
    highAvailability: pulumi.Input<MeshConfig["linkerd"]["highAvailability"]>;
    /** Replicas of each control-plane deployment. */
    controllerReplicas: pulumi.Input<MeshConfig["linkerd"]["controllerReplicas"]>;
    /** Failure policy of the proxy injector webhook. */
    webhookFailurePolicy: pulumi.Input<MeshConfig["linkerd"]["webhookFailurePolicy"]>;
    /** iptables variant of proxy-init. */
    iptablesMode: pulumi.Input<MeshConfig["linkerd"]["proxyInit"]["iptablesMode"]>;
    /** Requests and limits of every injected proxy; unset keeps the chart's (none). */
    proxyResources?: pulumi.Input<ResourceValues>;
    /** Requests and limits of the control-plane containers; unset keeps the chart's (none). */
    controlPlaneResources?: pulumi.Input<ControlPlaneResources>;
    /**
     * Resources the control-plane chart must wait for: Secret `linkerd-identity-issuer` (static
     * issuer, or the cert-manager Certificate), the webhook Secrets, the Gateway API CRDs.
     */
    waitFor?: pulumi.Input<pulumi.Resource>[];
    /**
     * What a change of the trust roots must wait for: rotation phase 3's gate Job (the bundle drops
     * the old anchor only once the live issuer is proven signed by the new one), made before this
     * component (components/meshMaintenance.ts, its first stage).
     * @default []
     */
    trustRootsWaitFor?: pulumi.Resource[];
    /**
     * An external Prometheus run by the Prometheus operator scrapes the mesh: the chart's own
     * PodMonitors (control plane, every proxy: templates/podmonitor.yaml) with these labels, which
     * the operator's podMonitorSelector must match. Unset: none.
     */
    podMonitor?: { labels: MeshConfig["observability"]["ruleLabels"] };
    /**
     * The namespaces the control plane's admission webhooks are called for — the proxy injector,
     * the policy validator (Linkerd policy objects, HTTPRoute, GRPCRoute) and the ServiceProfile
     * validator: the namespaces the mesh owns (meshed, draining, viz, the ingress controller's).
     * Pod creation and route writes anywhere else never touch a webhook, so a control-plane outage
     * with failure policy `Fail` cannot block them.
     */
    admissionNamespaces: pulumi.Input<string>[];
    /** Linkerd's CNI plugin sets pods up (components/linkerdCni.ts): no linkerd-init container. */
    cniEnabled: MeshConfig["linkerd"]["cni"]["enabled"];
    /**
     * NetworkPolicy admitting what the control plane serves and dials, for clusters whose policy
     * engine puts default-deny into every namespace (lib/networkPolicies.ts); omit for none.
     */
    networkPolicy?: NetworkPolicySpec;
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

    /** ConfigMap `linkerd-identity-trust-roots`, what every control-plane pod and the injector read. */
    public readonly trustRoots: k8s.core.v1.ConfigMap;

    constructor(name: string, args: LinkerdControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:LinkerdControlPlane", name, {}, opts);

        const namespace = args.namespace;
        const chartVersion = pulumi.output(args.chartVersion);
        const repo = args.repository;

        this.crds = new k8s.helm.v4.Chart(
            `${name}-crds`,
            {
                name: "linkerd-crds",
                chart: CHARTS.linkerdCrds.chart,
                version: chartVersion,
                repositoryOpts: { repo },
                namespace: namespace.metadata.name,
                // Never the Gateway API CRDs: GatewayApiCrds reads or installs them (gatewayApi.ts).
                values: { installGatewayAPI: false },
            },
            // Deleting Linkerd's CRDs would delete every policy object with them: they stay, and a
            // later `pulumi up` takes them back (transforms.ts).
            { parent: this, dependsOn: [namespace], transforms: [retainAndReadopt] },
        );

        // `identity.externalCA`: the chart renders no trust-roots ConfigMap and every control-plane
        // pod mounts this one (charts/linkerd-control-plane/templates/identity.yaml:23-36, 268-270;
        // the injector reads it on every admission: controller/proxy-injector/webhook.go:48-52).
        this.trustRoots = new k8s.core.v1.ConfigMap(
            `${name}-trust-roots`,
            {
                metadata: {
                    name: LINKERD_OBJECTS.trustRootsConfigMap,
                    namespace: namespace.metadata.name,
                    labels: objectLabels({
                        labels: {
                            "linkerd.io/control-plane-component": "identity",
                            "linkerd.io/control-plane-ns": namespace.metadata.name,
                        },
                    }),
                },
                data: { [LINKERD_OBJECTS.trustRootsKey]: args.trustAnchorsPem },
            },
            { parent: this, dependsOn: args.trustRootsWaitFor ?? [] },
        );

        this.controlPlane = new k8s.helm.v4.Chart(
            `${name}-control-plane`,
            {
                name: "linkerd-control-plane",
                chart: CHARTS.linkerdControlPlane.chart,
                version: chartVersion,
                repositoryOpts: { repo },
                namespace: namespace.metadata.name,
                values: controlPlaneValues(args),
            },
            {
                parent: this,
                dependsOn: [namespace, this.crds, this.trustRoots, ...(args.waitFor ?? [])],
                // Webhook configurations are ready once the API server can call them (transforms.ts).
                transforms: [awaitCaBundle],
            },
        );

        if (args.networkPolicy) {
            new k8s.networking.v1.NetworkPolicy(
                `${name}-network-policy`,
                networkPolicyObject(args.networkPolicy, namespace.metadata.name),
                {
                    parent: this,
                    dependsOn: [namespace],
                },
            );
        }

        this.namespace = namespace.metadata.name;
        this.chartVersion = chartVersion;
        this.registerOutputs({
            namespace: this.namespace,
            chartVersion: this.chartVersion,
            crds: this.crds,
            controlPlane: this.controlPlane,
            trustRoots: this.trustRoots,
        });
    }
}

/**
 * The linkerd-control-plane chart values; every path exists in the pinned chart. They hold no
 * certificate, key or other value computed at deploy time, so `pulumi preview` of a planned
 * change renders the chart with every value known (and two runs hand it the same values).
 */
function controlPlaneValues(args: LinkerdControlPlaneArgs): Record<string, unknown> {
    const highAvailability = pulumi.output(args.highAvailability);
    const resources = pulumi.output(args.controlPlaneResources);
    const component = (key: keyof ControlPlaneResources) => resources.apply((r) => r?.[key]);
    /** The one scope of the control plane's admission webhooks: the namespaces the mesh owns. */
    const meshScope = {
        matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: args.admissionNamespaces }],
    };
    return {
        identityTrustDomain: args.trustDomain,
        identity: {
            // The trust roots come from the ConfigMap this component makes (see trustRoots).
            externalCA: true,
            // Secret linkerd-identity-issuer (tls.crt, tls.key) is provided: by the static issuer or
            // by cert-manager. The chart then renders no issuer Secret (templates/identity.yaml:6-20).
            // issuanceLifetime: the proxies' leaf lifetime, passed as -identity-issuance-lifetime (templates/identity.yaml:167).
            issuer: {
                scheme: "kubernetes.io/tls",
                ...(args.issuanceLifetime !== undefined ? { issuanceLifetime: args.issuanceLifetime } : {}),
            },
        },
        // Replaces the chart's selectors (every namespace but kube-system and cert-manager for the
        // injector, every namespace for the validators: values.yaml `*.namespaceSelector`, rendered as
        // each webhook's namespaceSelector in templates/proxy-injector-rbac.yaml and
        // destination-rbac.yaml). With `webhookFailurePolicy: Fail` (eks, gke) a cluster-wide validator
        // makes every HTTPRoute/GRPCRoute write in the cluster fail while the destination pods are
        // down. Policy objects outside the mesh's namespaces only concern unmeshed pods, and Linkerd's
        // policy controller still checks every object it indexes: it ignores an invalid one with a
        // warning and gives routes an `Accepted` condition (edge-26.8.3 policy-controller/k8s/index
        // src/inbound/index.rs, policy-controller/k8s/status/src/index.rs).
        proxyInjector: { ...args.webhookTls.proxyInjector, namespaceSelector: meshScope },
        profileValidator: { ...args.webhookTls.profileValidator, namespaceSelector: meshScope },
        policyValidator: { ...args.webhookTls.policyValidator, namespaceSelector: meshScope },
        // The heartbeat CronJob's schedule is drawn from the render time unless heartbeatSchedule is
        // set (templates/heartbeat.yaml:22-26): every render would differ and every preview show a
        // change. It only reports anonymous usage to versioncheck.linkerd.io, which a platform whose
        // namespaces deny egress blocks anyway: it is off.
        disableHeartBeat: true,
        controllerReplicas: args.controllerReplicas,
        webhookFailurePolicy: args.webhookFailurePolicy,
        // `highAvailability` is what `linkerd check` reads; the two below are what HA changes.
        highAvailability,
        enablePodAntiAffinity: highAvailability,
        enablePodDisruptionBudget: highAvailability,
        controller: { podDisruptionBudget: { maxUnavailable: 1 } },
        // values-ha.yaml rolls one control-plane pod at a time; the default is 25 %.
        deploymentStrategy: {
            rollingUpdate: { maxUnavailable: highAvailability.apply((ha) => (ha ? 1 : "25%")), maxSurge: "25%" },
        },
        proxyInit: { iptablesMode: args.iptablesMode },
        cniEnabled: args.cniEnabled,
        // The multicluster service mirror's PodMonitor stays off: no multicluster here.
        ...(args.podMonitor
            ? { podMonitor: { enabled: true, labels: args.podMonitor.labels, serviceMirror: { enabled: false } } }
            : {}),
        proxy: {
            resources: args.proxyResources,
            // Meshed -> meshed traffic keeps its application port on the wire, so the platform's
            // port-level NetworkPolicies keep segmenting it. The chart's default, transport-header,
            // sends everything to the peer's proxy port 4143 with the real port in a header
            // (controller/cmd/destination/main.go:180-188, api/destination/endpoint_translator.go:451-461):
            // a policy that admits 4143 would then admit every port. Opaque ports use the header either way.
            outboundTransportMode: "transparent",
            // The chart's default since linkerd2 #15267, pinned: Jobs (Spark drivers and executors) must complete.
            nativeSidecar: true,
            // No capability at all, as `restricted` requires (lib/podSecurity.ts); the Pod Security check's pod carries it too.
            securityContext: PROXY_SECURITY_CONTEXT,
        },
        destinationResources: component("destination"),
        spValidatorResources: component("spValidator"),
        identityResources: component("identity"),
        proxyInjectorResources: component("proxyInjector"),
        policyController: { resources: component("policyController") },
    };
}
