/**
 * Every NetworkPolicy the mesh creates, as data (pure: the components only register them).
 *
 * They only ever *allow*: a NetworkPolicy also isolates the pods it selects, for the policy types
 * it lists, so each one lists only the directions the platform already denies. In a meshed
 * namespace that is ingress only, unless the operator says the namespace denies egress too
 * (`mtls.namespaceOptions.<ns>.denyEgress`): an Egress policy type there would newly cut DNS,
 * the API server and everything outside the mesh.
 *
 * What crosses the wire, with `proxy.outboundTransportMode: transparent` (the program's choice,
 * see components/linkerdControlPlane.ts): meshed -> meshed traffic keeps its application port, so
 * the platform's own port-level policies keep applying to it; only opaque ports travel to the
 * peer's proxy port 4143 with the target port in a transport header (linkerd2
 * controller/api/destination/endpoint_translator.go: opaque ports always use the header).
 * Ports from lib/registry.ts (the pinned chart's).
 */
import { PORTS } from "./registry";

type Labels = Readonly<Record<string, string>>;

/** A peer in a NetworkPolicy rule. */
export interface Peer {
    namespaceSelector?: { matchLabels?: Labels; matchExpressions?: { key: string; operator: string; values: string[] }[] };
    podSelector?: { matchLabels: Labels };
    ipBlock?: { cidr: string };
}

export interface Rule {
    from?: Peer[];
    to?: Peer[];
    ports?: { protocol: "TCP" | "UDP"; port: number }[];
}

export interface NetworkPolicySpec {
    /** Object name. */
    name: string;
    namespace: string;
    spec: {
        podSelector: { matchLabels?: Labels };
        policyTypes: ("Ingress" | "Egress")[];
        ingress?: Rule[];
        egress?: Rule[];
    };
}

const NAME_LABEL = "kubernetes.io/metadata.name";
const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: "TCP" as const, port }));

/** Pods of some namespaces (and matching labels, if any). */
export function inNamespaces(namespaces: readonly string[], podLabels?: Labels): Peer {
    return {
        namespaceSelector: { matchExpressions: [{ key: NAME_LABEL, operator: "In", values: [...new Set(namespaces)].sort() }] },
        ...(podLabels ? { podSelector: { matchLabels: podLabels } } : {}),
    };
}

/** Cluster DNS (CoreDNS / kube-dns in kube-system, `k8s-app: kube-dns` on every target). */
const DNS: Rule = {
    to: [inNamespaces(["kube-system"], { "k8s-app": "kube-dns" })],
    ports: [
        { protocol: "UDP", port: PORTS.dns },
        { protocol: "TCP", port: PORTS.dns },
    ],
};

/**
 * The API server: its address is not a pod, and differs per target (a Service VIP rewritten to
 * the node's 6443 on k3s, an endpoint outside the cluster on EKS and GKE): any destination on 443
 * and 6443.
 */
const API_SERVER: Rule = { ports: tcp(443, 6443) };

/** The viz pods (label `linkerd.io/extension: viz`) of one component. */
export const vizComponent = (vizNamespace: string, component: string): Peer => inNamespaces([vizNamespace], { "linkerd.io/extension": "viz", component });

/** Who scrapes the proxies' metrics (their admin port). */
export interface Scraper {
    namespace: string;
    podSelector: Labels;
}

export interface MeshedNamespacePolicyArgs {
    namespace: string;
    /** Every namespace whose pods run a proxy (meshed AKKO namespaces, the control plane, viz). */
    meshNamespaces: readonly string[];
    controlPlaneNamespace: string;
    /** The ingress controller's pods, when meshed: they reach backends' opaque ports through 4143. */
    ingress?: Peer;
    /** viz's namespace, whose tap calls the proxies' control port. */
    vizNamespace?: string;
    /** The Prometheus that scrapes the proxies, if any. */
    scraper?: Scraper;
    /** The namespace's own policies deny egress too. */
    denyEgress: boolean;
}

/** The `linkerd-mesh` policy of one meshed namespace: what the proxies need, nothing more. */
export function meshedNamespacePolicy(args: MeshedNamespacePolicyArgs): NetworkPolicySpec {
    const meshPeers = [inNamespaces(args.meshNamespaces), ...(args.ingress ? [args.ingress] : [])];
    const ingress: Rule[] = [
        // Opaque ports arrive on the peer's proxy port, with the target port in a transport header.
        { from: meshPeers, ports: tcp(PORTS.proxyInbound) },
        ...(args.scraper ? [{ from: [inNamespaces([args.scraper.namespace], args.scraper.podSelector)], ports: tcp(PORTS.proxyAdmin) }] : []),
        ...(args.vizNamespace ? [{ from: [vizComponent(args.vizNamespace, "tap")], ports: tcp(PORTS.proxyControl) }] : []),
    ];
    const egress: Rule[] = [
        DNS,
        // Proxies ask the control plane for identity, destinations and policies.
        { to: [inNamespaces([args.controlPlaneNamespace])], ports: tcp(PORTS.identityGrpc, PORTS.destinationGrpc, PORTS.policyGrpc) },
        { to: [inNamespaces(args.meshNamespaces)], ports: tcp(PORTS.proxyInbound) },
    ];
    return {
        name: "linkerd-mesh",
        namespace: args.namespace,
        spec: {
            podSelector: {},
            policyTypes: args.denyEgress ? ["Ingress", "Egress"] : ["Ingress"],
            ingress,
            ...(args.denyEgress ? { egress } : {}),
        },
    };
}

export interface PlatformPolicyArgs {
    controlPlaneNamespace: string;
    /** Namespaces whose proxies call the control plane (meshed AKKO namespaces, viz, the ingress controller's). */
    meshNamespaces: readonly string[];
    vizNamespace?: string;
    scraper?: Scraper;
    /** cert-manager's namespace, when this stack installs it. */
    certManagerNamespace?: string;
    /** The CNI plugin's namespace, when enabled. */
    cniNamespace?: string;
    /** The maintenance Jobs' namespace (they call the API server only). */
    maintenanceNamespace?: string;
    /** viz's bundled Prometheus: queried by readers (a Grafana), sending alerts to Alertmanagers. */
    vizPrometheus?: { readers: boolean; alertmanagerPorts: readonly number[] };
}

/**
 * For a platform whose policy engine puts default-deny (ingress and egress) into every namespace
 * (`linkerd.networkPolicies`): what the control plane, viz, cert-manager and the CNI plugin need.
 * Each namespace's pods may talk among themselves; webhooks and the tap APIService are called by
 * the API server, whose address no selector names.
 */
export function platformPolicies(args: PlatformPolicyArgs): NetworkPolicySpec[] {
    const own = (namespace: string): Rule => ({ from: [inNamespaces([namespace])] });
    const toOwn = (namespace: string): Rule => ({ to: [inNamespaces([namespace])] });
    const scrape = args.scraper
        ? [{ from: [inNamespaces([args.scraper.namespace], args.scraper.podSelector)], ports: tcp(PORTS.proxyAdmin, ...PORTS.controlPlaneAdmin) }]
        : [];
    const policy = (name: string, namespace: string, ingress: Rule[], egress: Rule[]): NetworkPolicySpec => ({
        name,
        namespace,
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress, egress },
    });
    const cp = args.controlPlaneNamespace;
    const policies = [
        policy(
            "linkerd-control-plane",
            cp,
            [
                own(cp),
                {
                    from: [inNamespaces([...args.meshNamespaces, ...(args.vizNamespace ? [args.vizNamespace] : [])])],
                    ports: tcp(PORTS.identityGrpc, PORTS.destinationGrpc, PORTS.policyGrpc, PORTS.proxyInbound),
                },
                { ports: tcp(PORTS.webhookHttps, PORTS.policyValidatorHttps) },
                ...scrape,
                ...(args.vizNamespace ? [{ from: [vizComponent(args.vizNamespace, "tap")], ports: tcp(PORTS.proxyControl) }] : []),
            ],
            [toOwn(cp), DNS, API_SERVER],
        ),
    ];
    if (args.vizNamespace) {
        const viz = args.vizNamespace;
        const alertmanagerPorts = [...new Set(args.vizPrometheus?.alertmanagerPorts ?? [])].sort((a, b) => a - b);
        policies.push(
            policy(
                "linkerd-viz",
                viz,
                [
                    own(viz),
                    { ports: tcp(PORTS.vizTapApi, PORTS.webhookHttps) },
                    ...scrape.map((r) => ({ ...r, ports: tcp(PORTS.proxyAdmin) })),
                    // Readers are authorized by Linkerd (an AuthorizationPolicy on prometheus-admin), wherever they run.
                    ...(args.vizPrometheus?.readers ? [{ ports: tcp(PORTS.prometheus) }] : []),
                ],
                [
                    toOwn(viz),
                    DNS,
                    API_SERVER,
                    { to: [inNamespaces([cp])] },
                    // Prometheus scrapes every proxy's admin port; tap calls their control port.
                    { to: [inNamespaces(args.meshNamespaces)], ports: tcp(PORTS.proxyAdmin, PORTS.proxyControl, PORTS.proxyInbound) },
                    // Prometheus sends alerts to the Alertmanagers, wherever they run.
                    ...(alertmanagerPorts.length > 0 ? [{ ports: tcp(...alertmanagerPorts) }] : []),
                ],
            ),
        );
    }
    if (args.certManagerNamespace) {
        const ns = args.certManagerNamespace;
        policies.push(policy("cert-manager", ns, [own(ns), { ports: tcp(PORTS.certManagerWebhook) }], [toOwn(ns), DNS, API_SERVER]));
    }
    if (args.cniNamespace) {
        policies.push(policy("linkerd-cni", args.cniNamespace, [], [DNS, API_SERVER]));
    }
    if (args.maintenanceNamespace) {
        policies.push(policy("linkerd-maintenance", args.maintenanceNamespace, [], [DNS, API_SERVER]));
    }
    return policies;
}
