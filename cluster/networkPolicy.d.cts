/** Types of cluster/networkPolicy.cjs (Kubernetes NetworkPolicy semantics, plain Node). */

export type Direction = "Ingress" | "Egress";

export interface LabelSelectorRequirement {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: readonly string[];
}
export interface LabelSelector {
    matchLabels?: Readonly<Record<string, string>>;
    matchExpressions?: readonly LabelSelectorRequirement[];
}
export interface Peer {
    podSelector?: LabelSelector;
    namespaceSelector?: LabelSelector;
    ipBlock?: { cidr: string; except?: readonly string[] };
}
export interface PolicyPort {
    protocol?: "TCP" | "UDP" | "SCTP";
    port?: number | string;
    endPort?: number;
}
export interface PolicyRule {
    from?: Peer[];
    to?: Peer[];
    ports?: PolicyPort[];
}
export interface NetworkPolicyObject {
    metadata: { name: string; namespace: string; labels?: Record<string, string> };
    spec: { podSelector?: LabelSelector; policyTypes?: Direction[]; ingress?: PolicyRule[]; egress?: PolicyRule[] };
}
/** A pod: its namespace, labels, address and container ports. */
export interface Pod {
    namespace: string;
    name: string;
    labels?: Record<string, string>;
    ip?: string;
    ports?: { name?: string; containerPort: number; protocol?: string }[];
    node?: undefined;
}
/** An address outside the cluster's pods, or the destination's own node. */
export interface Address {
    ip?: string;
    node?: boolean;
    namespace?: undefined;
    labels?: undefined;
    ports?: undefined;
}
export type Endpoint = Pod | Address;
export interface ClusterPolicies {
    /** Each namespace's labels (its `kubernetes.io/metadata.name` is added). */
    namespaces?: Record<string, Record<string, string>>;
    policies: NetworkPolicyObject[];
}
export interface Flow {
    from: Endpoint;
    to: Endpoint;
    port: number;
    protocol?: "TCP" | "UDP" | "SCTP";
}
/** A rule the mesh mirrors onto the proxy port: the pods, the opaque (or named) ports, the peers. */
export interface MirrorEntry {
    podSelector: LabelSelector;
    ports?: readonly (number | string)[];
    from?: readonly Peer[];
    to?: readonly Peer[];
}

export declare const DIRECTIONS: Direction[];
export declare const NAME_LABEL: string;
export declare function selectorMatches(selector: LabelSelector, labels: Record<string, string> | undefined): boolean;
export declare function selectsAll(selector: LabelSelector | undefined): boolean;
export declare function policyTypes(policy: NetworkPolicyObject): Direction[];
export declare function isolating(policies: NetworkPolicyObject[], pod: Pod, direction: Direction): NetworkPolicyObject[];
export declare function peerMatches(
    peer: Peer,
    policyNamespace: string,
    endpoint: Endpoint,
    namespaceLabels: (name: string) => Record<string, string>,
): boolean;
export declare function portsMatch(ports: PolicyPort[] | undefined, destination: Endpoint, port: number, protocol: string): boolean;
export declare function allowed(cluster: ClusterPolicies, flow: Flow): boolean;
export declare function namespaceIsolation(
    policies: NetworkPolicyObject[],
    direction: Direction,
): { isolation: "none" | "all" | "partial"; policies: string[] };
export declare function canonicalSelector(selector: LabelSelector | undefined): LabelSelector;
export declare function canonicalPeer(peer: Peer): Peer;
export declare function canonicalPeers(peers: readonly Peer[] | undefined): Peer[] | undefined;
export declare function uniqueSorted<T>(items: readonly T[]): T[];
export declare function opaquePortsOfRule(rule: PolicyRule, opaquePorts: readonly number[]): "all" | (number | string)[];
export declare function canonicalMirror(entry: MirrorEntry, direction: Direction): MirrorEntry;
export declare function opaqueMirrors(policies: NetworkPolicyObject[], direction: Direction, opaquePorts: readonly number[]): MirrorEntry[];
