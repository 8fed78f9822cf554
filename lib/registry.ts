/**
 * Every pinned upstream artefact and every upstream fact the mesh relies on, in one place:
 * the program, the policy pack and the tests import them from here.
 *
 * Sources: linkerd/linkerd2 at edge-26.8.3 (commit 19a0d90d), cert-manager v1.21.1,
 * kubernetes-sigs/gateway-api v1.2.1 (commit a8fe5c87). Where a fact comes from is cited next
 * to it; ../shared/FACTS.md (beside the project, in this environment) collects them.
 */

/** A Helm chart pinned to an exact version in its repository. */
export interface PinnedChart {
    /** Chart name in the repository. */
    readonly chart: string;
    /** Exact chart version (`helm pull --version`). */
    readonly version: string;
    /** Helm repository URL (`helm pull --repo`). */
    readonly repository: string;
}

/** Linkerd's edge release; its charts are versioned YYYY.M.N (linkerd2 bin/compute-edge-version). */
export const LINKERD_EDGE = "edge-26.8.3";
export const LINKERD_CHART_VERSION = "2026.8.3";
/** The edge repository; `https://helm.linkerd.io/stable` is frozen at 2.14. */
export const LINKERD_EDGE_REPOSITORY = "https://helm.linkerd.io/edge";
/** The proxy version edge-26.8.3 ships (linkerd2 `.proxy-version`). */
export const LINKERD_PROXY_VERSION = "v2.366.0";

/** The edge release a Linkerd chart version comes from: 2026.8.3 -> edge-26.8.3 (what proxies report as `linkerd.io/proxy-version`). */
export const edgeOf = (chartVersion: string) => `edge-${chartVersion.replace(/^20/, "")}`;

const linkerd = (chart: string): PinnedChart => ({
    chart,
    version: LINKERD_CHART_VERSION,
    repository: LINKERD_EDGE_REPOSITORY,
});
const pinned = (chart: PinnedChart): PinnedChart => chart;

/** Every chart the program can install, by role. */
export const CHARTS = {
    linkerdCrds: linkerd("linkerd-crds"),
    linkerdControlPlane: linkerd("linkerd-control-plane"),
    linkerdViz: linkerd("linkerd-viz"),
    /** Linkerd's CNI plugin (the `cni` mode), same edge version. */
    linkerdCni: linkerd("linkerd2-cni"),
    /**
     * linkerd-multicluster (`multicluster.enabled`), same edge version: its `controllers` value runs one
     * service-mirror per Link (linkerd2 #13770, since edge-25.3.3). Never linkerd-multicluster-link, which
     * renders only the legacy unmanaged mirror of the deprecated `linkerd multicluster link`.
     */
    linkerdMulticluster: linkerd("linkerd-multicluster"),
    /** cert-manager's chart versions carry the `v`. */
    certManager: pinned({ chart: "cert-manager", version: "v1.21.1", repository: "https://charts.jetstack.io" }),
} as const;
export type ChartRole = keyof typeof CHARTS;

/** A file of an upstream repository, pinned by commit and content. */
export interface PinnedFile {
    /** GitHub `owner/name`. */
    readonly repository: string;
    /** Full commit SHA (immutable, unlike a tag). */
    readonly commit: string;
    /** Path inside the repository. */
    readonly path: string;
    /** SHA-256 of the file's bytes. */
    readonly sha256: string;
}

/** The raw URL of a pinned file: a commit makes it immutable. */
export const rawUrl = (file: PinnedFile) =>
    `https://raw.githubusercontent.com/${file.repository}/${file.commit}/${file.path}`;

/**
 * The Gateway API CRDs Linkerd needs (it watches HTTPRoute and GRPCRoute): the upstream
 * *standard* channel, v1.2.1, the version Linkerd 2.20's docs recommend (features/gateway-api.md:
 * 2.20 accepts 1.2.1 - 1.5.1). linkerd-crds no longer installs them (`installGatewayAPI: false`,
 * linkerd2 #14523). Digests checked against kubernetes-sigs/gateway-api at tag v1.2.1.
 */
export const GATEWAY_API = {
    bundleVersion: "v1.2.1",
    channel: "standard",
    /** The bundle versions Linkerd 2.20 is known to work with (linkerd.io 2-edge features/gateway-api.md). */
    supported: { min: "v1.2.1", max: "v1.5.1" },
    /** The CRDs Linkerd's policy controller watches: read in `present` mode. */
    required: ["httproutes.gateway.networking.k8s.io", "grpcroutes.gateway.networking.k8s.io"],
    files: (
        [
            ["gatewayclasses", "f0dcbdd9fb49b4562dad27ceec96078b3846611708464120598949cd2ab1e765"],
            ["gateways", "9aea7ae080dfe9c25a814d3d14eed28f335d28de3cbdc00a0351e0e99cb3bf06"],
            ["grpcroutes", "8a705983343eabcb72c5bbfc2c090eed87b46763e2f6c67bd6b45552fcd5cc94"],
            ["httproutes", "db36230a2f54ca3f1733bebc9d303d4db16c958856bf2be941a2c6269b872014"],
            ["referencegrants", "d22a9164ae9ec443438dd3aaca7fb056d3264d76c880d949a1e6b2661ecb4234"],
        ] as const
    ).map(([plural, sha256]): PinnedFile => ({
        repository: "kubernetes-sigs/gateway-api",
        commit: "a8fe5c8732a37ef471d86afaf570ff8ad0ef0221",
        path: `config/crd/standard/gateway.networking.k8s.io_${plural}.yaml`,
        sha256,
    })),
};

/**
 * The one experimental-channel Gateway API CRD the program may install: TLSRoute, the only route
 * kind that lets an EgressNetwork allow HTTPS by name (SNI). Linkerd edge-26.8.3 watches TLSRoute
 * at `v1alpha2` only (policy-controller/k8s/api/src/lib.rs pins it; runtime/src/args.rs decides the
 * watch once, at start, with `api_resource_exists`), which the standard channel never serves
 * (v1.2.1-v1.4: no TLSRoute CRD; v1.5+: v1 served, v1alpha2 `served: false`). Same commit and
 * bundle version as {@link GATEWAY_API} (v1.2.1), experimental channel, `v1alpha2 served: true`;
 * a separate CRD, so no standard CRD is overwritten (gateway-api's rule: never overwrite CRDs of
 * another channel). Installed only where the program installs the others (`linkerd.gatewayApi: install`).
 */
export const GATEWAY_API_TLSROUTE: PinnedFile = {
    repository: "kubernetes-sigs/gateway-api",
    commit: "a8fe5c8732a37ef471d86afaf570ff8ad0ef0221",
    path: "config/crd/experimental/gateway.networking.k8s.io_tlsroutes.yaml",
    sha256: "8d1579fa88853c757d40a415ba105150424ea0962c4eef7114f0aa2dd2bdb620",
};

/**
 * Egress control (Linkerd EgressNetwork, policy.linkerd.io/v1alpha1), facts from linkerd2
 * edge-26.8.3 and linkerd2-proxy v2.366.0.
 */
export const EGRESS = {
    /**
     * The chart's `clusterNetworks` (charts/linkerd-control-plane/values.yaml l.13): traffic to these
     * never reaches egress policy, and an EgressNetwork whose networks overlap them is not accepted
     * (`EgressReasonNetworkOverlap`, policy-controller/k8s/status/src/index.rs), so Deny then blocks all.
     */
    clusterNetworks: ["10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"],
    /** The proxy's UID (values.yaml `proxy.uid`): iptables lets its traffic out unredirected (proxy-init v2.4.9 pkg/iptables/iptables.go). */
    proxyUid: 2102,
    /** proxy-init's default `proxyInit.ignoreOutboundPorts` (values.yaml l.338): already around the proxy today. */
    defaultIgnoredOutboundPorts: [4567, 4568],
    /** The namespace EgressNetwork of a namespace whose egress is audited (Allow) or enforced (Deny). */
    networkName: "akko-egress",
    /** The Allow EgressNetwork of `allowedNetworks`: the more specific network wins (outbound/index/egress_network.rs). */
    allowedNetworkName: "akko-egress-allowed",
    /** Gateway API's hostname pattern (v1.2.1 standard and experimental), and its 16-hostname cap per route. */
    hostnamePattern: /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    /** Read by the injector, copied onto pods (pkg/k8s/labels.go l.238, pkg/inject/inject.go l.342). */
    hostnameLabelsAnnotation: "config.linkerd.io/proxy-metrics-hostname-labels",
} as const;

/**
 * k3s' HelmChartConfig CRD, which the program's Traefik HelmChartConfig (components/meshedIngress.ts)
 * is an instance of: k3s-io/helm-controller v0.17.7 (pkg/crds/yaml/generated/). Only the tests read
 * it. It is not in the project's usual mirrors, so it is an optional artefact (test/upstream.ts).
 */
export const HELM_CHART_CONFIG_CRD: PinnedFile = {
    repository: "k3s-io/helm-controller",
    commit: "21a911f86f912a79e06e4f1596c54d8237320e6e",
    path: "pkg/crds/yaml/generated/helm.cattle.io_helmchartconfigs.yaml",
    sha256: "1dbc3601e166895d8c1c9a5b38ab3ce42f971eaf7bac12bf31402ce3e2f9ff78",
};

/**
 * The Prometheus Operator's CRDs the program's objects are instances of when
 * `observability.prometheusOperator` is on (PrometheusRule, PodMonitor, ServiceMonitor):
 * prometheus-operator v0.93.0, example/prometheus-operator-crd/. Only the tests read them; optional
 * like {@link HELM_CHART_CONFIG_CRD}.
 */
export const PROMETHEUS_OPERATOR_CRDS: readonly PinnedFile[] = (
    [
        ["prometheusrules", "78be98554b9c8506ab2b4f4feb91c5f3a56e536a0a510f3a8e876a459970d56d"],
        ["podmonitors", "45a93443daa687d3654f7e9631909ff7edcdf3ec09c5e60251b74aa2722aee5d"],
        ["servicemonitors", "a99047972c9dd7679ce2050b9968e8a08773492e671b3e17abd476d42aa78a32"],
    ] as const
).map(([plural, sha256]) => ({
    repository: "prometheus-operator/prometheus-operator",
    commit: "f8fafd475f3d132e239432ae6172de60a6cb6516",
    path: `example/prometheus-operator-crd/monitoring.coreos.com_${plural}.yaml`,
    sha256,
}));

/**
 * Ports, from the pinned chart (edge-26.8.3): the proxy's from charts/linkerd-control-plane/
 * values.yaml `proxy.ports`; the control plane's from its templates' containerPorts
 * (destination.yaml, identity.yaml, proxy-injector.yaml; Services map 443 to the webhook ports);
 * viz's from viz/charts/linkerd-viz/templates.
 */
export const PORTS = {
    proxyInbound: 4143,
    proxyOutbound: 4140,
    proxyControl: 4190,
    proxyAdmin: 4191,
    identityGrpc: 8080,
    destinationGrpc: 8086,
    policyGrpc: 8090,
    /** proxy-injector and sp-validator webhooks. */
    webhookHttps: 8443,
    policyValidatorHttps: 9443,
    /** identity's admin server (metrics: `issuer_cert_ttl_seconds`), container port `ident-admin`. */
    identityAdmin: 9990,
    /** Admin (metrics) ports: identity/policy 9990, proxy-injector 9995, destination 9996, sp-validator 9997. */
    controlPlaneAdmin: [9990, 9995, 9996, 9997],
    /** viz: tap API 8089 (the API server calls it), tap gRPC 8088, tap-injector webhook 8443, web 8084, metrics-api 8085, Prometheus 9090. */
    vizTapApi: 8089,
    vizTapGrpc: 8088,
    vizWeb: 8084,
    vizMetricsApi: 8085,
    prometheus: 9090,
    /** cert-manager's webhook container port (chart `webhook.securePort`). */
    certManagerWebhook: 10250,
    dns: 53,
} as const;

/**
 * The ports Linkerd treats as opaque when a pod's namespace names none (charts/linkerd-control-plane/
 * values.yaml `proxy.opaquePorts`, edge-26.8.3): server-speaks-first protocols (SMTP 25/587, MySQL 3306,
 * Galera 4444, PostgreSQL 5432, Redis 6379, Elasticsearch 9300) and Memcached 11211. A namespace's
 * `config.linkerd.io/opaque-ports` *replaces* them: the injector copies the namespace's value onto each
 * pod (pkg/inject/inject.go CreateOpaquePortsPatch, AppendNamespaceAnnotations) and the destination
 * controller then reads only the pod's (controller/api/destination/watcher/workload_watcher.go
 * GetAnnotatedOpaquePorts). Opaque ports travel to the peer's proxy port, 4143, in any transport mode
 * (controller/api/destination/endpoint_translator.go createWeightedAddr).
 */
export const LINKERD_DEFAULT_OPAQUE_PORTS: readonly number[] = [25, 587, 3306, 4444, 5432, 6379, 9300, 11211];

/** Linkerd's webhooks: control-plane chart value key -> Service name; their Secret is `<service>-k8s-tls`. */
export const LINKERD_WEBHOOKS = {
    proxyInjector: "linkerd-proxy-injector",
    profileValidator: "linkerd-sp-validator",
    policyValidator: "linkerd-policy-validator",
} as const;
/** viz's webhooks (tap APIService, tap injector). */
export const VIZ_WEBHOOKS = { tap: "tap", tapInjector: "tap-injector" } as const;

/**
 * The object in which the API server keeps each webhook's `caBundle`, by chart value key
 * (charts/linkerd-control-plane/templates/proxy-injector-rbac.yaml, destination-rbac.yaml;
 * viz/charts/linkerd-viz/templates/tap-injector-rbac.yaml, tap-rbac.yaml).
 */
export const WEBHOOK_OBJECTS = {
    proxyInjector: { kind: "MutatingWebhookConfiguration", name: "linkerd-proxy-injector-webhook-config" },
    profileValidator: { kind: "ValidatingWebhookConfiguration", name: "linkerd-sp-validator-webhook-config" },
    policyValidator: { kind: "ValidatingWebhookConfiguration", name: "linkerd-policy-validator-webhook-config" },
    tap: { kind: "APIService", name: "v1alpha1.tap.linkerd.io" },
    tapInjector: { kind: "MutatingWebhookConfiguration", name: "linkerd-tap-injector-webhook-config" },
} as const;

/**
 * What cert-manager served the webhooks from in a namespace, before the program's own CA did
 * (components/webhookCertificates.ts up to issue 18): a self-signed bootstrap Issuer, a CA
 * Certificate and Issuer `webhook-ca` (its key in Secret `webhook-ca`), one Certificate per webhook
 * named after its Service.
 */
export const CERT_MANAGER_WEBHOOK_LAYOUT = { caName: "webhook-ca", bootstrapIssuer: "webhook-selfsigned" } as const;

/** Fixed object names the charts and the identity controller use. */
export const LINKERD_OBJECTS = {
    /** identity reads tls.crt/tls.key with scheme kubernetes.io/tls (controller/cmd/identity/main.go:84-90). */
    issuerSecret: "linkerd-identity-issuer",
    /** The static issuer's public certificate alone, for whoever must check it without reading its key. */
    issuerCertificateConfigMap: "linkerd-identity-issuer-certificate",
    /** Trust roots, key `ca-bundle.crt` (charts/linkerd-control-plane/templates/identity.yaml:23-36). */
    trustRootsConfigMap: "linkerd-identity-trust-roots",
    trustRootsKey: "ca-bundle.crt",
    /** The proxy's environment variable holding the bundle it trusts (pkg/identity/service.go:35). */
    trustAnchorsEnv: "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS",
    /** The proxy's default inbound policy environment variable (charts/partials/templates/_proxy.tpl:76-77). */
    defaultPolicyEnv: "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY",
    proxyContainer: "linkerd-proxy",
    /** The program's Server on the proxies' admin port in strict namespaces (an unmeshed external Prometheus). */
    scraperServer: "linkerd-admin",
    /** Control-plane Deployments, each with a proxy. */
    controlPlaneDeployments: ["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"],
} as const;

/** Linkerd's annotations the program writes and the policy pack checks (linkerd2 edge-26.8.3 pkg/k8s/labels.go). */
export const LINKERD_ANNOTATIONS = {
    /** `enabled`, `disabled` or `ingress`: whether the injector adds a proxy. */
    inject: "linkerd.io/inject",
    /** A namespace's (or workload's) default inbound policy. */
    defaultInboundPolicy: "config.linkerd.io/default-inbound-policy",
} as const;

/**
 * The API versions of Linkerd's policy kinds the program writes (linkerd2 edge-26.8.3
 * charts/linkerd-crds/templates/policy/: each kind's storage version).
 */
export const LINKERD_POLICY_API = {
    Server: "policy.linkerd.io/v1beta3",
    AuthorizationPolicy: "policy.linkerd.io/v1alpha1",
    MeshTLSAuthentication: "policy.linkerd.io/v1alpha1",
    NetworkAuthentication: "policy.linkerd.io/v1alpha1",
} as const;
export type LinkerdPolicyKind = keyof typeof LINKERD_POLICY_API;

/** Namespaces the mesh itself uses. */
export const NAMESPACES = {
    controlPlane: "linkerd",
    viz: "linkerd-viz",
    cni: "linkerd-cni",
    /** linkerd-multicluster's controllers and gateway (the CLI's and link-gen's default, multicluster/cmd/root.go). */
    multicluster: "linkerd-multicluster",
    /** The maintenance Jobs' own namespace, which enforces Pod Security `restricted`. */
    maintenance: "linkerd-maintenance",
} as const;

/** Kubernetes' own namespaces; `kube-system` also runs cluster DNS and k3s' Traefik. */
export const KUBERNETES_NAMESPACES = {
    system: "kube-system",
    public: "kube-public",
    nodeLease: "kube-node-lease",
} as const;

/** cert-manager's namespace in its install docs (the default of `certManager.namespace`). */
export const CERT_MANAGER_NAMESPACE = "cert-manager";

/**
 * Images of the maintenance Jobs, pinned by digest. The digests are the ones published for these
 * tags (the same digest is pinned in several public repositories); this machine cannot reach a
 * registry, so re-check with `crane digest <tag>` when bumping them.
 * - node runs the maintenance script (node:crypto does the X.509 checks);
 * - alpine/k8s only lends its static kubectl binary (copied by an init container).
 */
export const IMAGES = {
    node: "docker.io/library/node:24.11.1-alpine3.22@sha256:2867d550cf9d8bb50059a0fff528741f11a84d985c732e60e19e8e75c7239c43",
    kubectl: "docker.io/alpine/k8s:1.34.1@sha256:ec714df3813b5405292860f8a1c55c5727bf8c33c88992f1e981efad8065547f",
    /** cert-manager's startupapicheck image, same version as the chart (`cmctl check api`). */
    certManagerApiCheck: (chartVersion: string) => `quay.io/jetstack/cert-manager-startupapicheck:${chartVersion}`,
} as const;
