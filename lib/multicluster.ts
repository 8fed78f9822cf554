/**
 * Linked clusters, as data: what a member exports for the members that link to it, what a member
 * that links to another registers, and the checks between the two. Pure; components/multicluster.ts
 * wires it.
 *
 * Sources (linkerd2 edge-26.8.3):
 * - `linkerd multicluster link-gen` (multicluster/cmd/link-gen.go): the two credentials Secrets
 *   (`getCreds`), the kubeconfig (`getKubeconfig`: the target's cluster entry, its server replaced by
 *   `--api-server-address`, the remote-access ServiceAccount's token), the Link (`getLink`: gateway
 *   fields, probe and `selector` only with `--gateway`; default selectors in
 *   `newLinkGenOptionsWithDefault`);
 * - names and label/annotation keys: multicluster/cmd/root.go, pkg/k8s/labels.go
 *   (`MirrorSecretType`, `ConfigKeyName`);
 * - the remote-access ClusterRole: charts linkerd-multicluster templates/remote-access-service-mirror-rbac.yaml;
 * - the gateway Service's identity, port and probe: templates/gateway.yaml and values.yaml.
 */
import YAML from "yaml";
import { LINKERD_OBJECTS, NAMESPACES, PORTS } from "./registry";

export type LinkMode = "flat" | "gateway";

/** The remote-access ServiceAccount (and ClusterRole, binding, token Secret) a target registers for one source. */
export const remoteAccessName = (source: string) => `linkerd-service-mirror-remote-access-${source}`;
/** The Secret a source keeps a target's kubeconfig in, in both namespaces (link-gen `getCreds`). */
export const credentialsSecretName = (target: string) => `cluster-credentials-${target}`;
/** The Secret type the service mirror and the destination controller look for (pkg/k8s/labels.go:450). */
export const REMOTE_KUBECONFIG_TYPE = "mirror.linkerd.io/remote-kubeconfig";
/** The destination controller reads a `linkerd/cluster-credentials-*` Secret only with this label and both annotations (root.go:26-28). */
export const CLUSTER_NAME_LABEL = "multicluster.linkerd.io/cluster-name";
export const TRUST_DOMAIN_ANNOTATION = "multicluster.linkerd.io/trust-domain";
export const CLUSTER_DOMAIN_ANNOTATION = "multicluster.linkerd.io/cluster-domain";
/** The cluster domain every target here uses (Linkerd's `clusterDomain` default). */
export const CLUSTER_DOMAIN = "cluster.local";

/** linkerd-multicluster's gateway, as the chart renders its Service (templates/gateway.yaml, values.yaml `gateway`). */
export const GATEWAY = {
    name: "linkerd-gateway",
    port: PORTS.proxyInbound,
    probe: { path: "/ready", port: PORTS.proxyAdmin, periodSeconds: 3 },
} as const;

/** The gateway's identity, the Service annotation `mirror.linkerd.io/gateway-identity` (templates/gateway.yaml). */
export const gatewayIdentity = (trustDomain: string) =>
    `${GATEWAY.name}.${NAMESPACES.multicluster}.serviceaccount.identity.${NAMESPACES.controlPlane}.${trustDomain}`;

/**
 * What a member exports (stack output `multicluster`, plain) for the members that link to it. The
 * tokens are not here: they are the secret output `multiclusterRemoteAccessTokens`.
 */
export interface MulticlusterExport {
    /** The address the linking members' pods reach this API server at (config, never the operator's kubeconfig). */
    apiServerAddress: string;
    /** The API server's CA, from the remote-access token Secret's `ca.crt` (not secret). */
    apiServerCaPem: string;
    trustDomain: string;
    clusterDomain: string;
    controlPlaneNamespace: string;
    /** How linking members reach this cluster's pods. */
    mode: LinkMode;
    /** Gateway mode only: where and as whom the gateway answers. */
    gateway?: {
        addresses: string[];
        port: number;
        identity: string;
        probe: { path: string; port: number; periodSeconds: number };
    };
    /** The members granted remote access (one ServiceAccount and token each). */
    remoteAccess: string[];
}

/** A member's `multicluster` output as read back; undefined when it has none, an error when it is malformed. */
export function parseMulticlusterExport(member: string, value: unknown): MulticlusterExport | undefined {
    if (value === undefined || value === null) return undefined;
    const v = value as Partial<MulticlusterExport>;
    const strings = [v.apiServerAddress, v.apiServerCaPem, v.trustDomain, v.clusterDomain, v.controlPlaneNamespace];
    const wellFormed =
        typeof value === "object" &&
        strings.every((s) => typeof s === "string" && s !== "") &&
        (v.mode === "flat" ||
            (v.mode === "gateway" && Array.isArray(v.gateway?.addresses) && v.gateway.addresses.length > 0)) &&
        Array.isArray(v.remoteAccess);
    if (!wellFormed)
        throw new Error(`stack ${member}: its multicluster output is malformed; deploy ${member} again to rewrite it`);
    return v as MulticlusterExport;
}

/** One link this stack asks for, with the problem that refuses it (index into `multicluster.links`). */
export interface LinkProblem {
    index: number;
    message: string;
}

/**
 * Why a link cannot be made: to itself, to a member that exports no multicluster endpoint (not a
 * member, not enabled, or not deployed yet), or to one that does not grant this stack remote access.
 * `remotes` are the members' `multicluster` outputs (undefined: none).
 */
export function linkProblems(args: {
    self: string;
    links: readonly string[];
    remotes: Readonly<Record<string, MulticlusterExport | undefined>>;
}): LinkProblem[] {
    const problems: LinkProblem[] = [];
    args.links.forEach((target, index) => {
        if (target === args.self) {
            problems.push({ index, message: `is this stack itself: a cluster does not link to itself` });
            return;
        }
        const remote = args.remotes[target];
        if (remote === undefined) {
            problems.push({
                index,
                message:
                    `stack ${target} exports no multicluster endpoint: it is not a member with multicluster.enabled, or was not deployed ` +
                    `since; enable it there with ${args.self} in its multicluster.remoteAccess, deploy ${target}, then this stack`,
            });
        } else if (!remote.remoteAccess.includes(args.self)) {
            problems.push({
                index,
                message: `stack ${target} does not grant ${args.self} remote access: add ${args.self} to its multicluster.remoteAccess and deploy ${target} first`,
            });
        }
    });
    return problems;
}

/** The fleet this stack is a member of, as its trust stack lists it (components/fleetMember.ts). */
export interface FleetMembership {
    /** The trust stack (`identity.trustAnchor.fleetStack`). */
    stack: string;
    /** Its `fleet.clusters`. */
    members: readonly string[];
}

/**
 * Links only within one fleet: Linkerd's multicluster needs both ends to share the trust anchor, and
 * here only a fleet shares one (each standalone stack signs under its own). A stack that is not a
 * fleet member links to nobody; a member links only to the members its trust stack lists. Checked
 * from this stack's config and its trust stack's outputs, before any linked member is read.
 */
export function fleetLinkProblems(args: {
    links: readonly string[];
    fleet: FleetMembership | undefined;
}): LinkProblem[] {
    const { fleet } = args;
    return args.links.flatMap((target, index): LinkProblem[] => {
        if (fleet === undefined) {
            return [
                {
                    index,
                    message:
                        "this stack is not a fleet member (identity.trustAnchor.fleetStack is unset): linked clusters must share one trust anchor, " +
                        "so link only stacks of one fleet (docs/admin/fleet.md)",
                },
            ];
        }
        if (!fleet.members.includes(target)) {
            return [
                {
                    index,
                    message:
                        `stack ${target} is not a member of the fleet ${fleet.stack} (its fleet.clusters: ${fleet.members.join(", ") || "none"}): ` +
                        `linked clusters must share the fleet's anchor; add ${target} to fleet.clusters of ${fleet.stack} and make it a member first`,
                },
            ];
        }
        return [];
    });
}

/** What a stack exports for the members linking to it, from its config (the CA comes from the cluster). */
export function exportFor(args: {
    apiServerAddress: string;
    apiServerCaPem: string;
    trustDomain: string;
    mode: LinkMode;
    gatewayAddresses: readonly string[];
    remoteAccess: readonly string[];
}): MulticlusterExport {
    return {
        apiServerAddress: args.apiServerAddress,
        apiServerCaPem: args.apiServerCaPem,
        trustDomain: args.trustDomain,
        clusterDomain: CLUSTER_DOMAIN,
        controlPlaneNamespace: NAMESPACES.controlPlane,
        mode: args.mode,
        ...(args.mode === "gateway"
            ? {
                  gateway: {
                      addresses: [...args.gatewayAddresses],
                      port: GATEWAY.port,
                      identity: gatewayIdentity(args.trustDomain),
                      probe: { ...GATEWAY.probe },
                  },
              }
            : {}),
        remoteAccess: [...args.remoteAccess],
    };
}

/**
 * The linkerd-multicluster chart's values. The remote-access objects are the program's own
 * (`remoteMirrorServiceAccount: false`), so each source's token is a resource output, not a chart
 * child; the namespace-metadata Job is a post-install hook helm.v4.Chart never runs, and the program
 * labels the namespace itself. The gateway runs only where someone links here in gateway mode.
 */
export function chartValues(args: {
    trustDomain: string;
    gateway: boolean;
    links: readonly { target: string; mode: LinkMode }[];
}): Record<string, unknown> {
    return {
        linkerdNamespace: NAMESPACES.controlPlane,
        identityTrustDomain: args.trustDomain,
        remoteMirrorServiceAccount: false,
        createNamespaceMetadataJob: false,
        gateway: { enabled: args.gateway },
        // One managed service-mirror controller per Link (templates/controller/*.yaml); in flat mode the Link
        // has no gateway, and the controller must not probe one.
        controllers: args.links.map((link) => ({
            link: { ref: { name: link.target } },
            gateway: { enabled: link.mode === "gateway" },
        })),
    };
}

/** The Link a source registers for a target (link-gen `getLink`), `multicluster.linkerd.io/v1alpha3`. */
export function linkSpec(target: string, remote: MulticlusterExport): Record<string, unknown> {
    const spec: Record<string, unknown> = {
        targetClusterName: target,
        targetClusterDomain: remote.clusterDomain,
        targetClusterLinkerdNamespace: remote.controlPlaneNamespace,
        clusterCredentialsSecret: credentialsSecretName(target),
        remoteDiscoverySelector: { matchLabels: { "mirror.linkerd.io/exported": "remote-discovery" } },
        federatedServiceSelector: { matchLabels: { "mirror.linkerd.io/federated": "member" } },
    };
    if (remote.mode === "flat" || remote.gateway === undefined) return spec;
    const gw = remote.gateway;
    return {
        ...spec,
        gatewayAddress: gw.addresses.join(","),
        gatewayPort: String(gw.port),
        gatewayIdentity: gw.identity,
        // extractProbeSpec turns the annotation's "3" into a Go duration.
        probeSpec: { path: gw.probe.path, port: String(gw.probe.port), period: `${gw.probe.periodSeconds}s` },
        selector: { matchLabels: { "mirror.linkerd.io/exported": "true" } },
    };
}

/**
 * The kubeconfig a source's controllers and destination use to read a target (link-gen
 * `getKubeconfig`): one cluster (the address the source's pods reach, the target's CA), one user
 * (the token of the ServiceAccount the target registered for this source), one context.
 */
export function kubeconfig(args: {
    target: string;
    source: string;
    server: string;
    caPem: string;
    token: string;
}): string {
    const user = remoteAccessName(args.source);
    return YAML.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
            {
                name: args.target,
                cluster: {
                    server: args.server,
                    "certificate-authority-data": Buffer.from(args.caPem).toString("base64"),
                },
            },
        ],
        users: [{ name: user, user: { token: args.token } }],
        contexts: [{ name: args.target, context: { cluster: args.target, user } }],
        "current-context": args.target,
    });
}

/** A policy rule of a (Cluster)Role. */
export interface PolicyRule {
    apiGroups: string[];
    resources: string[];
    verbs: string[];
    resourceNames?: string[];
}

/** What a source's service mirror may read of the target, as Linkerd's chart grants it (remote-access-service-mirror-rbac.yaml). */
export const REMOTE_ACCESS_RULES: readonly PolicyRule[] = [
    { apiGroups: ["apps"], resources: ["replicasets"], verbs: ["list", "get", "watch"] },
    { apiGroups: ["batch"], resources: ["jobs"], verbs: ["list", "get", "watch"] },
    { apiGroups: [""], resources: ["pods", "endpoints", "services"], verbs: ["list", "get", "watch"] },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "get", "watch"] },
    { apiGroups: ["policy.linkerd.io"], resources: ["servers"], verbs: ["list", "get", "watch"] },
    { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: ["linkerd-config"] },
    { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
];

/**
 * The one read beyond Linkerd's grant, for the rollout evidence (cluster/remoteTrust.mjs): the trust
 * bundle the target serves, ConfigMap `linkerd/linkerd-identity-trust-roots`, by name, in `linkerd` only.
 */
export const TRUST_ROOTS_READ_RULES: readonly PolicyRule[] = [
    {
        apiGroups: [""],
        resources: ["configmaps"],
        verbs: ["get"],
        resourceNames: [LINKERD_OBJECTS.trustRootsConfigMap],
    },
];
