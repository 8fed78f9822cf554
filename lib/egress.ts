/**
 * Egress control as data: which namespaces are audited or enforced, and the Linkerd EgressNetworks,
 * Gateway API routes, NetworkPolicy and namespace annotations that say so. Pure: the component
 * (components/egressControl.ts) registers what this returns, the rules (config/rules/egress.ts)
 * refuse what it cannot express, and the tests evaluate it.
 *
 * Upstream (linkerd2 edge-26.8.3, linkerd2-proxy v2.366.0; docs/admin/egress.md says the same to operators):
 * - An EgressNetwork applies to clients of its own namespace; a namespace with any EgressNetwork
 *   ignores the global ones (`linkerd-egress`): policy-controller/k8s/index/src/outbound/index/egress_network.rs
 *   `resolve_egress_network`. So each namespace gets its own, and Linkerd's global namespace stays unused.
 * - `networks` omitted = everything outside clusterNetworks (same file, `from_resource`); among
 *   matching networks the most specific wins: `allowedNetworks` as a second, Allow, EgressNetwork.
 * - A route takes an EgressNetwork parent only with `group: policy.linkerd.io`, `kind: EgressNetwork`
 *   and a `port` (outbound/index.rs `is_parent_egress_network`; runtime/src/admission.rs).
 * - HTTP matches the Host header (HTTPRoute `hostnames`), TLS the ClientHello's SNI (TLSRoute, one rule,
 *   the parent as backendRef); `*.example.com` is a suffix match that excludes example.com
 *   (k8s/index/src/routes.rs `host_match`; proxy linkerd/http/route/src/http/match/host.rs, linkerd/tls/route/src/sni.rs).
 * - Deny with no matching route: HTTP 403, gRPC PERMISSION_DENIED, TLS/TCP connection refused
 *   (policy-controller/grpc/src/outbound/{http,grpc,tls,tcp}.rs `default_outbound_egress_route`).
 * - One protocol per (EgressNetwork, port): GRPC > HTTP > TLS > TCP routes (grpc/src/outbound.rs `to_proto`).
 */
import { BlockList, isIPv4 } from "node:net";
import { meshPolicies } from "../cluster/contract.cjs";
import { namespacePosture, type NetworkPolicySpec, type PostureSettings } from "./networkPolicies";
import { objectMetadata, type ObjectMetadata } from "./objects";
import { EGRESS } from "./registry";

export type EgressMode = "off" | "audit" | "enforce";

/** What one namespace's egress is (`mtls.egress`, with its `namespaceOptions.<ns>.egress` on top). */
export interface EgressSettings {
    mode: EgressMode;
    allowedHosts: readonly string[];
    allowedNetworks: readonly string[];
    platformNetworks: readonly string[];
}

/** The part of `mtls` egress control reads (structural: lib/ does not import the config). */
export interface EgressConfigView extends PostureSettings {
    egress: EgressSettings;
    namespaceOptions: PostureSettings["namespaceOptions"] &
        Readonly<Record<string, { egress?: Partial<EgressSettings>; skipOutboundPorts?: readonly number[] }>>;
}

/** The setting of a namespace: each key of its `egress` options replaces the stack's. */
export function egressOf(mtls: EgressConfigView, namespace: string): EgressSettings {
    return { ...mtls.egress, ...(mtls.namespaceOptions[namespace]?.egress ?? {}) };
}

/** The config path that sets `field` for a namespace (its own option, else `mtls.egress`). */
export function egressKey(mtls: EgressConfigView, namespace: string, field: keyof EgressSettings): string[] {
    return mtls.namespaceOptions[namespace]?.egress?.[field] !== undefined
        ? ["mtls", "namespaceOptions", namespace, "egress", field]
        : ["mtls", "egress", field];
}

/** An allowed host, parsed: HTTP by Host header or TLS by SNI, on one port. */
export interface EgressHost {
    protocol: "http" | "tls";
    /** Lower case, without the trailing dot; `*.example.com` for a suffix. */
    host: string;
    port: number;
}

/** The longest host name a route name can carry (object names: at most 253 characters). */
export const MAX_HOST_LENGTH = 230;

/**
 * Parses `host[:port]`, `https://host[:port]` or `http://host[:port]`; a string naming the problem
 * when Linkerd (or Gateway API's hostname pattern) cannot match it.
 */
export function parseEgressHost(entry: string): EgressHost | string {
    const scheme = /^([a-z]+):\/\//.exec(entry);
    if (scheme && scheme[1] !== "http" && scheme[1] !== "https")
        return `scheme ${scheme[1]}:// is not one Linkerd matches: use http:// or https://`;
    const protocol = scheme?.[1] === "http" ? "http" : "tls";
    const rest = scheme ? entry.slice(scheme[0].length) : entry;
    const match = /^([^:/]+)(?::(\d{1,5}))?$/.exec(rest);
    if (!match) return "must be host[:port] (an optional http:// or https://, no path, no IP literal)";
    const port = match[2] === undefined ? (protocol === "http" ? 80 : 443) : Number(match[2]);
    if (port < 1 || port > 65535) return `port ${match[2]} is not between 1 and 65535`;
    const host = match[1].replace(/\.$/, "");
    if (host !== host.toLowerCase()) return "must be lower case (Gateway API hostnames are)";
    if (/^[0-9.]+$/.test(host) || host.includes("["))
        return "is an IP address: Linkerd matches host names only; put the address in allowedNetworks";
    if (host.includes("*") && !/^\*\.[^*]+$/.test(host)) {
        return "a wildcard is only a leading `*.` label (`*.example.com`): Linkerd and Gateway API match no other form";
    }
    if (host.length > MAX_HOST_LENGTH) return `is longer than ${MAX_HOST_LENGTH} characters`;
    if (!EGRESS.hostnamePattern.test(host) || host.split(".").some((label) => label.length > 63)) {
        return "is not a DNS name (letters, digits, '-' and '.', labels of at most 63 characters)";
    }
    return { protocol, host, port };
}

/** The hosts of a list that parse (the rules report the others). */
export function parsedHosts(entries: readonly string[]): EgressHost[] {
    return entries.map(parseEgressHost).filter((h): h is EgressHost => typeof h !== "string");
}

/** Whether two CIDRs share an address (one contains the other's first address). */
export function networksOverlap(a: string, b: string): boolean {
    const parse = (cidr: string) => {
        const [address, prefix] = cidr.split("/");
        return { address, prefix: Number(prefix), family: isIPv4(address) ? "ipv4" : "ipv6" } as const;
    };
    const [x, y] = [parse(a), parse(b)];
    if (x.family !== y.family) return false;
    const contains = (outer: typeof x, inner: typeof x) => {
        const list = new BlockList();
        list.addSubnet(outer.address, outer.prefix, outer.family);
        return list.check(inner.address, inner.family);
    };
    // The first address of a block: containment either way, tested on a block's own address as written
    // (zod's cidr check accepts host bits; a block always contains the address it is written with).
    return contains(x, y) || contains(y, x);
}

/** The name of a host's route: `egress-<http|tls>-<port>-<host>`; `--` stands for a wildcard (`*.a.com` -> `…-443--a.com`). */
export function routeName(host: EgressHost): string {
    return `egress-${host.protocol}-${host.port}-${host.host.replace(/^\*\./, "-")}`;
}

/** A Kubernetes object the component registers as is. */
export interface EgressObject {
    apiVersion: string;
    kind: string;
    metadata: ObjectMetadata<string>;
    spec: Record<string, unknown>;
}

/** What one namespace gets. */
export interface NamespaceEgressPlan {
    namespace: string;
    mode: Exclude<EgressMode, "off">;
    /** Routes and the Allow network of `allowedNetworks`: made before {@link network}, so that enforcing never denies what is allowed. */
    allowances: EgressObject[];
    /** The namespace's EgressNetwork: Allow (audit) or Deny (enforce). */
    network: EgressObject;
    /** The CIDR layer (enforce with allowedNetworks): a NetworkPolicy spec. */
    networkPolicy?: NetworkPolicySpec;
}

export interface EgressPlan {
    namespaces: NamespaceEgressPlan[];
    /** Namespaces by mode, for the dashboard and the alert. */
    audited: string[];
    enforced: string[];
    /** Whether the TLSRoute v1alpha2 CRD must be installed (egress is on and the program installs Gateway API's CRDs). */
    installTlsRoutes: boolean;
}

const PARENT = { group: "policy.linkerd.io", kind: "EgressNetwork" } as const;

function egressNetwork(
    namespace: string,
    name: string,
    trafficPolicy: "Allow" | "Deny",
    networks?: readonly string[],
): EgressObject {
    return {
        apiVersion: "policy.linkerd.io/v1alpha1",
        kind: "EgressNetwork",
        metadata: objectMetadata({ name, namespace }),
        // Networks omitted: everything outside clusterNetworks (never `[]`: admission refuses it).
        spec: { trafficPolicy, ...(networks ? { networks: networks.map((cidr) => ({ cidr })) } : {}) },
    };
}

/** The route that lets one host through the namespace's EgressNetwork. */
function hostRoute(namespace: string, host: EgressHost): EgressObject {
    const parentRef = { ...PARENT, name: EGRESS.networkName, namespace, port: host.port };
    const metadata = objectMetadata({ name: routeName(host), namespace });
    if (host.protocol === "http") {
        return {
            apiVersion: "gateway.networking.k8s.io/v1",
            kind: "HTTPRoute",
            metadata,
            // No backendRefs: the request goes on to its original destination (linkerd.io 2-edge tasks/managing-egress-traffic.md).
            spec: {
                parentRefs: [parentRef],
                hostnames: [host.host],
                rules: [{ matches: [{ path: { type: "PathPrefix", value: "/" } }] }],
            },
        };
    }
    return {
        apiVersion: "gateway.networking.k8s.io/v1alpha2",
        kind: "TLSRoute",
        metadata,
        // Exactly one rule, its backend the parent itself (admission.rs; status index.rs 896-912).
        spec: {
            parentRefs: [parentRef],
            hostnames: [host.host],
            rules: [{ backendRefs: [{ ...PARENT, name: EGRESS.networkName }] }],
        },
    };
}

/**
 * The CIDR layer: the namespace's pods may reach any pod of the cluster (DNS and the control plane
 * included), the allowed networks and the platform's, nothing else — UDP and a spoofed SNI to another
 * address included. NetworkPolicy peers by selector for pods (ipBlock is for cluster-external IPs:
 * kubernetes.io concepts/services-networking/network-policies).
 */
function cidrLayer(settings: EgressSettings): NetworkPolicySpec["spec"] {
    const blocks = [...settings.allowedNetworks, ...settings.platformNetworks].map((cidr) => ({ ipBlock: { cidr } }));
    return {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [{ to: [{ namespaceSelector: {} }] }, { to: blocks }],
    };
}

/**
 * The plan of one namespace whose mode is not off. The CIDR layer only where the namespace's own
 * policies leave egress open: NetworkPolicies add up, so the layer's "every pod" rule would reopen
 * in-cluster traffic that a namespace isolating egress closed; there, its own policies are the layer.
 */
function namespacePlan(
    namespace: string,
    settings: EgressSettings & { mode: Exclude<EgressMode, "off"> },
    ownEgressIsolation: boolean,
): NamespaceEgressPlan {
    const enforce = settings.mode === "enforce";
    const hosts = parsedHosts(settings.allowedHosts);
    // Audit allows everything: the allow-list is enforce's. Named routes would only rename what audit counts.
    const allowances = enforce
        ? [
              ...hosts.map((host) => hostRoute(namespace, host)),
              ...(settings.allowedNetworks.length > 0
                  ? [egressNetwork(namespace, EGRESS.allowedNetworkName, "Allow", settings.allowedNetworks)]
                  : []),
          ]
        : [];
    return {
        namespace,
        mode: settings.mode,
        allowances,
        network: egressNetwork(namespace, EGRESS.networkName, enforce ? "Deny" : "Allow"),
        networkPolicy:
            enforce && settings.allowedNetworks.length > 0 && !ownEgressIsolation
                ? // The name the network preflight knows it by (cluster/contract.json), not as the namespace's own isolation.
                  { name: meshPolicies.egressLayer, namespace, spec: cidrLayer(settings) }
                : undefined,
    };
}

/** Egress control for the meshed (injected) namespaces; a drained namespace gets none. */
export function planEgress(args: {
    mtls: EgressConfigView;
    namespaces: readonly string[];
    gatewayApi: "install" | "present";
}): EgressPlan {
    const plans = args.namespaces.flatMap((namespace) => {
        const settings = egressOf(args.mtls, namespace);
        const ownEgressIsolation = namespacePosture(args.mtls, namespace).denyEgress;
        return settings.mode === "off"
            ? []
            : [namespacePlan(namespace, { ...settings, mode: settings.mode }, ownEgressIsolation)];
    });
    return {
        namespaces: plans,
        audited: plans.filter((p) => p.mode === "audit").map((p) => p.namespace),
        enforced: plans.filter((p) => p.mode === "enforce").map((p) => p.namespace),
        // From the first audit on, so that enforcing later needs no restart of the destination controller.
        installTlsRoutes: plans.length > 0 && args.gatewayApi === "install",
    };
}

/**
 * The namespace annotations of a mode, which the injector copies onto new pods:
 * - hostname labels (audit and enforce): without them the proxy's route metrics name no HTTP host
 *   or SNI (`proxy.metrics.hostnameLabels: false`, off for cardinality: it labels every outbound
 *   route family, in-cluster ones too). Per namespace whose egress is watched, never cluster-wide.
 * - enforce: `skip-outbound-ports: ""`, which clears proxy-init's default bypass of 4567 and 4568
 *   (values.yaml `proxyInit.ignoreOutboundPorts`; the template omits the flag when empty).
 */
export function egressAnnotations(mode: EgressMode | undefined): Record<string, string> {
    if (mode === undefined || mode === "off") return {};
    return {
        [EGRESS.hostnameLabelsAnnotation]: "true",
        ...(mode === "enforce" ? { "config.linkerd.io/skip-outbound-ports": "" } : {}),
    };
}
