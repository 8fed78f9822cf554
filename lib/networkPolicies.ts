/**
 * Every NetworkPolicy the mesh creates, as data (pure: the components only register them).
 *
 * They only ever *allow*. A NetworkPolicy also isolates the pods it selects, for the policy types it
 * lists (k8s.io/api networking/v1 types.go), so the mesh's policy in a meshed namespace lists only
 * the directions the namespace's own policies already isolate for every pod — as declared in
 * `mtls.namespaceDefaults` / `mtls.namespaceOptions`, and checked against the live policies by the
 * network preflight Job (cluster/mesh-check.mjs `network-posture`) before any of them is applied.
 * Nothing isolated: no policy at all.
 *
 * What crosses the wire, with `proxy.outboundTransportMode: transparent` (the program's choice,
 * see components/linkerdControlPlane.ts): meshed -> meshed traffic keeps its application port, so
 * the namespace's own port-level policies keep applying to it; only opaque ports travel to the
 * peer's proxy port 4143 with the target port in a transport header (linkerd2 edge-26.8.3
 * controller/api/destination/endpoint_translator.go: opaque ports always use the header), where a
 * NetworkPolicy no longer sees the port. So 4143 is not opened to the mesh: each rule of the
 * namespace's own policies that admits an opaque port is mirrored onto 4143 — same pods, same peers
 * (`opaqueIngress`/`opaqueEgress`). The inbound proxy then applies the Linkerd policy of the port the
 * header names (linkerd2-proxy v2.366.0 linkerd/app/inbound/src/direct.rs) and refuses a direct
 * connection without a mesh identity. What a NetworkPolicy cannot do is tell two opaque ports of
 * one pod apart: a peer admitted to one reaches the pod's others (docs/admin/mtls.md).
 * Ports from lib/registry.ts (the pinned chart's).
 */
import * as crypto from "node:crypto";
import { canonicalMirror, canonicalSelector, uniqueSorted } from "../cluster/networkPolicy.cjs";
import type {
    LabelSelector as ReadonlySelector,
    MirrorEntry,
    Peer as ReadonlyPeer,
} from "../cluster/networkPolicy.cjs";
import { meshPolicies } from "../cluster/contract.cjs";
import { KUBERNETES_NAMESPACES, LINKERD_DEFAULT_OPAQUE_PORTS, PORTS } from "./registry";

type Labels = Readonly<Record<string, string>>;

/** A Kubernetes label selector (matchLabels AND matchExpressions). */
export interface LabelSelector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

/** A peer in a NetworkPolicy rule. */
export interface Peer {
    namespaceSelector?: LabelSelector;
    podSelector?: LabelSelector;
    ipBlock?: { cidr: string; except?: string[] };
}

/** The evaluator's (read-only) canonical selector, as a resource input. */
function selectorOf(selector: ReadonlySelector): LabelSelector {
    return {
        ...(selector.matchLabels ? { matchLabels: { ...selector.matchLabels } } : {}),
        ...(selector.matchExpressions
            ? {
                  matchExpressions: selector.matchExpressions.map((e) => ({
                      key: e.key,
                      operator: e.operator,
                      ...(e.values ? { values: [...e.values] } : {}),
                  })),
              }
            : {}),
    };
}

/** The evaluator's (read-only) canonical peer, as a resource input. */
function peerOf(peer: ReadonlyPeer): Peer {
    return {
        ...(peer.namespaceSelector ? { namespaceSelector: selectorOf(peer.namespaceSelector) } : {}),
        ...(peer.podSelector ? { podSelector: selectorOf(peer.podSelector) } : {}),
        ...(peer.ipBlock
            ? {
                  ipBlock: {
                      cidr: peer.ipBlock.cidr,
                      ...(peer.ipBlock.except ? { except: [...peer.ipBlock.except] } : {}),
                  },
              }
            : {}),
    };
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
        podSelector: LabelSelector;
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
        namespaceSelector: {
            matchExpressions: [{ key: NAME_LABEL, operator: "In", values: [...new Set(namespaces)].sort() }],
        },
        ...(podLabels ? { podSelector: { matchLabels: { ...podLabels } } } : {}),
    };
}

/** Cluster DNS (CoreDNS / kube-dns in kube-system, `k8s-app: kube-dns` on every target). */
const DNS: Rule = {
    to: [inNamespaces([KUBERNETES_NAMESPACES.system], { "k8s-app": "kube-dns" })],
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
export const vizComponent = (vizNamespace: string, component: string): Peer =>
    inNamespaces([vizNamespace], { "linkerd.io/extension": "viz", component });

/** Who scrapes the proxies' metrics (their admin port). */
export interface Scraper {
    namespace: string;
    podSelector: Labels;
}

/**
 * What a meshed namespace's own NetworkPolicies isolate, for every pod (declared in the config,
 * checked by the preflight), and their rules that admit an opaque port, which the mesh mirrors.
 */
export interface NamespacePosture {
    denyIngress: boolean;
    denyEgress: boolean;
    opaqueIngress: readonly MirrorEntry[];
    opaqueEgress: readonly MirrorEntry[];
}

/** The settings of `mtls` a namespace's posture is read from. */
export interface PostureSettings {
    namespaceDefaults: { denyIngress: boolean; denyEgress: boolean };
    namespaceOptions: Readonly<
        Record<
            string,
            {
                denyIngress?: boolean;
                denyEgress?: boolean;
                opaqueIngress?: readonly MirrorEntry[];
                opaqueEgress?: readonly MirrorEntry[];
            }
        >
    >;
}

/** A namespace's posture: its own options over the defaults (the one place they are combined). */
export function namespacePosture(mtls: PostureSettings, namespace: string): NamespacePosture {
    const options = mtls.namespaceOptions[namespace] ?? {};
    return {
        denyIngress: options.denyIngress ?? mtls.namespaceDefaults.denyIngress,
        denyEgress: options.denyEgress ?? mtls.namespaceDefaults.denyEgress,
        opaqueIngress: options.opaqueIngress ?? [],
        opaqueEgress: options.opaqueEgress ?? [],
    };
}

/**
 * The opaque-port annotation of a namespace with extra opaque ports: Linkerd's defaults and the
 * namespace's, since the annotation replaces the defaults (lib/registry.ts LINKERD_DEFAULT_OPAQUE_PORTS;
 * a MySQL client on 3306 would otherwise wait on protocol detection). Undefined: no extra port, no annotation.
 */
export function opaquePortsAnnotation(extra: readonly number[] | undefined): string | undefined {
    if (!extra || extra.length === 0) return undefined;
    return [...new Set([...LINKERD_DEFAULT_OPAQUE_PORTS, ...extra])].sort((a, b) => a - b).join(",");
}

export interface MeshedNamespacePolicyArgs {
    namespace: string;
    controlPlaneNamespace: string;
    /** viz's namespace, whose tap calls the proxies' control port. */
    vizNamespace?: string;
    /** The Prometheus that scrapes the proxies, if any. */
    scraper?: Scraper;
    /** What the namespace's own policies isolate, and the opaque rules to mirror. */
    posture: NamespacePosture;
}

/** The name of the mirror policy of the pods a selector selects: stable whatever the order of the config. */
const mirrorName = (selector: ReadonlySelector) =>
    `${meshPolicies.mirrorPrefix}${crypto
        .createHash("sha256")
        .update(JSON.stringify(canonicalSelector(selector)))
        .digest("hex")
        .slice(0, 10)}`;

/**
 * The mesh's policies in one meshed namespace: none when its own policies isolate nothing;
 * `linkerd-mesh` (every pod) with what the proxies need in each isolated direction — in: the
 * scraper on 4191, tap on 4190; out: DNS and the control plane's gRPC ports; and one
 * `linkerd-mesh-opaque-*` policy per podSelector of the mirrored opaque rules, admitting 4143
 * from (to) exactly the peers the namespace's own rule admits on the opaque port.
 */
export function meshedNamespacePolicies(args: MeshedNamespacePolicyArgs): NetworkPolicySpec[] {
    const { posture } = args;
    const ingress: Rule[] = posture.denyIngress
        ? [
              ...(args.scraper
                  ? [
                        {
                            from: [inNamespaces([args.scraper.namespace], args.scraper.podSelector)],
                            ports: tcp(PORTS.proxyAdmin),
                        },
                    ]
                  : []),
              ...(args.vizNamespace
                  ? [{ from: [vizComponent(args.vizNamespace, "tap")], ports: tcp(PORTS.proxyControl) }]
                  : []),
          ]
        : [];
    const egress: Rule[] = posture.denyEgress
        ? [
              DNS,
              // Proxies ask the control plane for identity, destinations and policies.
              {
                  to: [inNamespaces([args.controlPlaneNamespace])],
                  ports: tcp(PORTS.identityGrpc, PORTS.destinationGrpc, PORTS.policyGrpc),
              },
          ]
        : [];
    const policies: NetworkPolicySpec[] = [];
    if (ingress.length > 0 || egress.length > 0) {
        policies.push({
            // The names the network preflight knows the mesh's own policies by (cluster/contract.json).
            name: meshPolicies.name,
            namespace: args.namespace,
            spec: {
                podSelector: {},
                policyTypes: [
                    ...(ingress.length > 0 ? ["Ingress" as const] : []),
                    ...(egress.length > 0 ? ["Egress" as const] : []),
                ],
                ...(ingress.length > 0 ? { ingress } : {}),
                ...(egress.length > 0 ? { egress } : {}),
            },
        });
    }

    // The mirrors, grouped by the pods they select (a mirror only where its direction is isolated:
    // config/rules/mtls.ts validateNetworkPosture).
    const mirrors = [
        ...(posture.denyIngress
            ? posture.opaqueIngress.map((entry) => ({
                  direction: "Ingress" as const,
                  entry: canonicalMirror(entry, "Ingress"),
              }))
            : []),
        ...(posture.denyEgress
            ? posture.opaqueEgress.map((entry) => ({
                  direction: "Egress" as const,
                  entry: canonicalMirror(entry, "Egress"),
              }))
            : []),
    ];
    const bySelector = new Map<string, { selector: LabelSelector; ingress: Rule[]; egress: Rule[] }>();
    for (const { direction, entry } of mirrors) {
        const key = JSON.stringify(entry.podSelector);
        const group = bySelector.get(key) ?? { selector: selectorOf(entry.podSelector), ingress: [], egress: [] };
        if (direction === "Ingress")
            group.ingress.push({
                ...(entry.from ? { from: entry.from.map(peerOf) } : {}),
                ports: tcp(PORTS.proxyInbound),
            });
        else group.egress.push({ ...(entry.to ? { to: entry.to.map(peerOf) } : {}), ports: tcp(PORTS.proxyInbound) });
        bySelector.set(key, group);
    }
    for (const group of [...bySelector.values()].sort((a, b) =>
        mirrorName(a.selector).localeCompare(mirrorName(b.selector)),
    )) {
        const rulesIn = uniqueSorted(group.ingress);
        const rulesOut = uniqueSorted(group.egress);
        policies.push({
            name: mirrorName(group.selector),
            namespace: args.namespace,
            spec: {
                podSelector: group.selector,
                policyTypes: [
                    ...(rulesIn.length > 0 ? ["Ingress" as const] : []),
                    ...(rulesOut.length > 0 ? ["Egress" as const] : []),
                ],
                ...(rulesIn.length > 0 ? { ingress: rulesIn } : {}),
                ...(rulesOut.length > 0 ? { egress: rulesOut } : {}),
            },
        });
    }
    return policies;
}

/**
 * The rotation gate's pods (rotation phase 3): the one maintenance Job that reads the identity
 * controller's admin port, to learn which issuer each replica serves (cluster/mesh-check.mjs).
 */
export const ROTATION_GATE_POD: Readonly<Record<string, string>> = { "akko.io/maintenance-task": "rotation-gate" };
/** The identity controller's pods (charts/linkerd-control-plane/templates/identity.yaml). */
const IDENTITY_POD = { "linkerd.io/control-plane-component": "identity" };

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
    /** The maintenance Jobs' namespace (they call the API server; the rotation gate reads identity's metrics). */
    maintenanceNamespace?: string;
    /** viz's bundled Prometheus: queried by readers (a Grafana), sending alerts to Alertmanagers. */
    vizPrometheus?: { readers: boolean; alertmanagerPorts: readonly number[] };
    /**
     * The ingress controller's pods, when the dashboard is published through an Ingress
     * (`viz.dashboard.ingress`): they reach the dashboard's web pods on 8084.
     */
    dashboardIngressFrom?: Peer;
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
        ? [
              {
                  from: [inNamespaces([args.scraper.namespace], args.scraper.podSelector)],
                  ports: tcp(PORTS.proxyAdmin, ...PORTS.controlPlaneAdmin),
              },
          ]
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
                ...(args.vizNamespace
                    ? [{ from: [vizComponent(args.vizNamespace, "tap")], ports: tcp(PORTS.proxyControl) }]
                    : []),
                // The rotation gate reads which issuer identity serves (its metrics), from its own pods only.
                ...(args.maintenanceNamespace
                    ? [
                          {
                              from: [inNamespaces([args.maintenanceNamespace], ROTATION_GATE_POD)],
                              ports: tcp(PORTS.identityAdmin),
                          },
                      ]
                    : []),
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
                    // The dashboard's Ingress: its controller's pods to the web pods' port (templates/web.yaml).
                    ...(args.dashboardIngressFrom
                        ? [{ from: [args.dashboardIngressFrom], ports: tcp(PORTS.vizWeb) }]
                        : []),
                ],
                [
                    toOwn(viz),
                    DNS,
                    API_SERVER,
                    { to: [inNamespaces([cp])] },
                    // Prometheus scrapes every proxy's admin port; tap calls their control port.
                    {
                        to: [inNamespaces(args.meshNamespaces)],
                        ports: tcp(PORTS.proxyAdmin, PORTS.proxyControl, PORTS.proxyInbound),
                    },
                    // Prometheus sends alerts to the Alertmanagers, wherever they run.
                    ...(alertmanagerPorts.length > 0 ? [{ ports: tcp(...alertmanagerPorts) }] : []),
                ],
            ),
        );
    }
    if (args.certManagerNamespace) {
        const ns = args.certManagerNamespace;
        policies.push(
            policy(
                "cert-manager",
                ns,
                [own(ns), { ports: tcp(PORTS.certManagerWebhook) }],
                [toOwn(ns), DNS, API_SERVER],
            ),
        );
    }
    if (args.cniNamespace) {
        policies.push(policy("linkerd-cni", args.cniNamespace, [], [DNS, API_SERVER]));
    }
    if (args.maintenanceNamespace) {
        // The API server, and identity's admin port for the rotation gate (the control plane's policy admits the gate's pods only).
        policies.push(
            policy(
                "linkerd-maintenance",
                args.maintenanceNamespace,
                [],
                [DNS, API_SERVER, { to: [inNamespaces([cp], IDENTITY_POD)], ports: tcp(PORTS.identityAdmin) }],
            ),
        );
    }
    return policies;
}
