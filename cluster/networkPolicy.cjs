"use strict";
// Kubernetes NetworkPolicy semantics, evaluated: which pods a policy isolates, and whether a flow is
// allowed. Plain Node (no dependency): the network preflight Job (cluster/mesh-check.mjs, task
// `network-posture`) runs it in the cluster, the tests use it as their oracle, and the program uses
// its canonical forms (lib/networkPolicies.ts).
//
// Followed as written in k8s.io/api networking/v1 types.go (kubernetes/kubernetes
// staging/src/k8s.io/api/networking/v1/types.go, commit 00737ac5) and checked against the
// conformance cases of test/e2e/network/netpol/network_policy.go (commit 9db638c0):
// - a policy selects the pods of its own namespace that its `podSelector` matches (empty: all);
// - `policyTypes` unset defaults to Ingress, plus Egress when the policy has an `egress` section;
// - a pod is isolated in a direction when a policy selecting it lists that type; a flow into
//   (out of) an isolated pod is allowed when at least one rule of one such policy matches it:
//   one of its ports AND one of its peers (an absent or empty list matches everything);
// - a peer's podSelector alone means pods of the policy's namespace; namespaceSelector alone, every
//   pod of the matching namespaces; both, the matching pods of the matching namespaces; an empty
//   selector matches everything; ipBlock matches an address in `cidr` and in no `except`;
// - a port matches the protocol (TCP when unset) and the number, a range up to `endPort`, or a named
//   container port of the destination pod; no port means every port of that protocol;
// - traffic from the pod's own node is always allowed in (kubelet probes);
// - a flow needs both the source's egress and the destination's ingress to allow it.
// Label selectors follow apimachinery's LabelSelectorAsSelector: matchLabels AND matchExpressions
// (In, NotIn, Exists, DoesNotExist; NotIn also matches a missing key).
// Namespaces carry the `kubernetes.io/metadata.name` label the API server sets on every namespace.

const net = require("node:net");

const NAME_LABEL = "kubernetes.io/metadata.name";
const DIRECTIONS = ["Ingress", "Egress"];

/** Whether a label selector matches a set of labels (a defined selector; `{}` matches everything). */
function selectorMatches(selector, labels) {
    const actual = labels ?? {};
    for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
        if (actual[key] !== value) return false;
    }
    for (const requirement of selector.matchExpressions ?? []) {
        const present = Object.prototype.hasOwnProperty.call(actual, requirement.key);
        const values = requirement.values ?? [];
        switch (requirement.operator) {
            case "In":
                if (!present || !values.includes(actual[requirement.key])) return false;
                break;
            case "NotIn":
                if (present && values.includes(actual[requirement.key])) return false;
                break;
            case "Exists":
                if (!present) return false;
                break;
            case "DoesNotExist":
                if (present) return false;
                break;
            default:
                throw new Error(`unknown label selector operator ${requirement.operator}`);
        }
    }
    return true;
}

/** Whether a selector selects everything (no label, no expression): a namespace-wide policy. */
function selectsAll(selector) {
    return Object.keys(selector?.matchLabels ?? {}).length === 0 && (selector?.matchExpressions ?? []).length === 0;
}

/** The policy's types, defaulted as the API server does. */
function policyTypes(policy) {
    const spec = policy.spec ?? {};
    if (Array.isArray(spec.policyTypes) && spec.policyTypes.length > 0) return spec.policyTypes;
    return spec.egress !== undefined && spec.egress !== null ? ["Ingress", "Egress"] : ["Ingress"];
}

/** Whether a policy selects a pod ({namespace, labels}). */
function selectsPod(policy, pod) {
    return policy.metadata.namespace === pod.namespace && selectorMatches(policy.spec?.podSelector ?? {}, pod.labels);
}

/** The policies that isolate a pod in a direction. */
function isolating(policies, pod, direction) {
    return policies.filter((policy) => policyTypes(policy).includes(direction) && selectsPod(policy, pod));
}

/** Whether an IP address lies in a CIDR. */
function inCidr(ip, cidr) {
    const [address, prefix] = cidr.split("/");
    const family = net.isIPv6(address) ? "ipv6" : "ipv4";
    if ((net.isIPv6(ip) ? "ipv6" : "ipv4") !== family) return false;
    const list = new net.BlockList();
    list.addSubnet(address, Number(prefix ?? (family === "ipv6" ? 128 : 32)), family);
    return list.check(ip, family);
}

/**
 * Whether a peer of a rule in `policyNamespace` matches an endpoint: a pod ({namespace, labels, ip?})
 * or an address outside the cluster ({ip}). `namespaceLabels(name)` gives a namespace's labels.
 */
function peerMatches(peer, policyNamespace, endpoint, namespaceLabels) {
    if (peer.ipBlock) {
        if (!endpoint.ip || !inCidr(endpoint.ip, peer.ipBlock.cidr)) return false;
        return !(peer.ipBlock.except ?? []).some((cidr) => inCidr(endpoint.ip, cidr));
    }
    if (!peer.podSelector && !peer.namespaceSelector) throw new Error("a peer needs a podSelector, a namespaceSelector or an ipBlock");
    if (endpoint.namespace === undefined) return false;
    const namespaceOk = peer.namespaceSelector
        ? selectorMatches(peer.namespaceSelector, { ...namespaceLabels(endpoint.namespace), [NAME_LABEL]: endpoint.namespace })
        : endpoint.namespace === policyNamespace;
    return namespaceOk && (!peer.podSelector || selectorMatches(peer.podSelector, endpoint.labels));
}

/** Whether a rule's ports match traffic to `destination` on `port`/`protocol` (named ports resolve on the destination pod). */
function portsMatch(ports, destination, port, protocol) {
    if (!ports || ports.length === 0) return true;
    return ports.some((rulePort) => {
        if ((rulePort.protocol ?? "TCP") !== protocol) return false;
        if (rulePort.port === undefined || rulePort.port === null) return true;
        if (typeof rulePort.port === "number") {
            return rulePort.endPort !== undefined && rulePort.endPort !== null ? port >= rulePort.port && port <= rulePort.endPort : port === rulePort.port;
        }
        return (destination.ports ?? []).some(
            (containerPort) => containerPort.name === rulePort.port && (containerPort.protocol ?? "TCP") === protocol && containerPort.containerPort === port,
        );
    });
}

/** Whether one direction lets the flow through: `pod` is the end whose policies are read, `other` the far end. */
function directionAllows(cluster, direction, pod, other, destination, port, protocol) {
    const policies = isolating(cluster.policies, pod, direction);
    if (policies.length === 0) return true;
    const namespaceLabels = (name) => cluster.namespaces?.[name] ?? {};
    return policies.some((policy) =>
        ((direction === "Ingress" ? policy.spec.ingress : policy.spec.egress) ?? []).some((rule) => {
            const peers = direction === "Ingress" ? rule.from : rule.to;
            const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, policy.metadata.namespace, other, namespaceLabels));
            return peerOk && portsMatch(rule.ports, destination, port, protocol);
        }),
    );
}

/**
 * Whether a flow is allowed. `cluster`: {namespaces: {name: labels}, policies: NetworkPolicy[]};
 * `from`/`to`: a pod {namespace, name, labels, ip?, ports?: [{name, containerPort, protocol}]}, an
 * address {ip}, or the destination's own node {node: true}; `port`, `protocol` (TCP when unset).
 */
function allowed(cluster, { from, to, port, protocol = "TCP" }) {
    const egressOk = from.namespace === undefined || directionAllows(cluster, "Egress", from, to, to, port, protocol);
    const ingressOk = to.namespace === undefined || from.node === true || directionAllows(cluster, "Ingress", to, from, to, port, protocol);
    return egressOk && ingressOk;
}

/**
 * How a namespace's policies isolate its pods in a direction: "none" (no policy lists it), "all"
 * (a policy with an empty podSelector lists it: every pod, now and later) or "partial" (some pods,
 * by label). `policies`: the namespace's NetworkPolicy objects.
 */
function namespaceIsolation(policies, direction) {
    const typed = policies.filter((policy) => policyTypes(policy).includes(direction));
    if (typed.length === 0) return { isolation: "none", policies: [] };
    const names = typed.map((policy) => policy.metadata.name).sort();
    return { isolation: typed.some((policy) => selectsAll(policy.spec?.podSelector)) ? "all" : "partial", policies: names };
}

// === Canonical forms: the same rule, written in any order, compares equal ===

const sortedObject = (object) => Object.fromEntries(Object.entries(object ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const byJson = (a, b) => {
    const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
    return x < y ? -1 : x > y ? 1 : 0;
};
const uniqueSorted = (items) => [...new Map(items.map((item) => [JSON.stringify(item), item])).values()].sort(byJson);

/** A label selector with sorted labels, expressions and values; `{}` for an empty one. */
function canonicalSelector(selector) {
    const matchLabels = sortedObject(selector?.matchLabels);
    const matchExpressions = uniqueSorted(
        (selector?.matchExpressions ?? []).map((e) => ({
            key: e.key,
            operator: e.operator,
            ...(e.operator === "In" || e.operator === "NotIn" ? { values: [...new Set(e.values ?? [])].sort() } : {}),
        })),
    );
    return {
        ...(Object.keys(matchLabels).length > 0 ? { matchLabels } : {}),
        ...(matchExpressions.length > 0 ? { matchExpressions } : {}),
    };
}

/** A peer in canonical form. */
function canonicalPeer(peer) {
    if (peer.ipBlock) {
        const except = [...new Set(peer.ipBlock.except ?? [])].sort();
        return { ipBlock: { cidr: peer.ipBlock.cidr, ...(except.length > 0 ? { except } : {}) } };
    }
    return {
        ...(peer.namespaceSelector ? { namespaceSelector: canonicalSelector(peer.namespaceSelector) } : {}),
        ...(peer.podSelector ? { podSelector: canonicalSelector(peer.podSelector) } : {}),
    };
}

/** Peers in canonical form, sorted and each once; undefined for "any" (absent or empty). */
function canonicalPeers(peers) {
    return peers && peers.length > 0 ? uniqueSorted(peers.map(canonicalPeer)) : undefined;
}

// === What the mesh mirrors onto the proxy port ===
//
// Meshed -> meshed traffic to an opaque port travels to the destination's proxy port 4143 with the
// real port in a transport header (linkerd2 edge-26.8.3 controller/api/destination/endpoint_translator.go
// createWeightedAddr: opaque ports get `OpaqueTransport` whatever the transport mode), where a
// NetworkPolicy no longer sees it. A rule of the namespace's own policies that admits an opaque port
// is therefore mirrored: same pods, same peers, port 4143 instead.

/** The opaque ports (numbers) or named ports a rule admits; "all" when it admits every TCP port; [] when none. */
function opaquePortsOfRule(rule, opaquePorts) {
    if (!rule.ports || rule.ports.length === 0) return "all";
    const found = [];
    for (const rulePort of rule.ports) {
        if ((rulePort.protocol ?? "TCP") !== "TCP") continue;
        if (rulePort.port === undefined || rulePort.port === null) return "all";
        if (typeof rulePort.port === "string") found.push(rulePort.port);
        else if (rulePort.endPort !== undefined && rulePort.endPort !== null)
            found.push(...opaquePorts.filter((p) => p >= rulePort.port && p <= rulePort.endPort));
        else if (opaquePorts.includes(rulePort.port)) found.push(rulePort.port);
    }
    return found;
}

/** A mirror entry in canonical form: {podSelector, ports?, from? | to?}. */
function canonicalMirror(entry, direction) {
    const peersKey = direction === "Ingress" ? "from" : "to";
    const ports = entry.ports && entry.ports.length > 0 ? [...new Set(entry.ports)].sort(byJson) : undefined;
    const peers = canonicalPeers(entry[peersKey]);
    return { podSelector: canonicalSelector(entry.podSelector), ...(ports ? { ports } : {}), ...(peers ? { [peersKey]: peers } : {}) };
}

/**
 * The rules of a namespace's own policies that admit an opaque (or named, which may resolve to one)
 * port in a direction, as mirror entries in canonical form, each once.
 */
function opaqueMirrors(policies, direction, opaquePorts) {
    const peersKey = direction === "Ingress" ? "from" : "to";
    const entries = [];
    for (const policy of policies) {
        if (!policyTypes(policy).includes(direction)) continue;
        for (const rule of (direction === "Ingress" ? policy.spec.ingress : policy.spec.egress) ?? []) {
            const ports = opaquePortsOfRule(rule, opaquePorts);
            if (ports !== "all" && ports.length === 0) continue;
            entries.push(
                canonicalMirror({ podSelector: policy.spec.podSelector, ports: ports === "all" ? undefined : ports, [peersKey]: rule[peersKey] }, direction),
            );
        }
    }
    return uniqueSorted(entries);
}

module.exports = {
    DIRECTIONS,
    canonicalMirror,
    opaqueMirrors,
    opaquePortsOfRule,
    NAME_LABEL,
    allowed,
    canonicalPeer,
    canonicalPeers,
    canonicalSelector,
    isolating,
    namespaceIsolation,
    peerMatches,
    policyTypes,
    portsMatch,
    selectorMatches,
    selectsAll,
    uniqueSorted,
};
