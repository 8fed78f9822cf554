/** `multicluster`: linkerd-multicluster, and Links to other member stacks of the fleet. */
import { z } from "zod";
import { hostName } from "./primitives";

/**
 * A member stack's name, as links and grants name it. It becomes part of object names the chart and
 * the program derive from it (`controller-<name>`, `probe-<name>`, the label
 * `mirror.linkerd.io/cluster-name`: at most 63), hence an RFC 1123 label of at most 40 characters.
 */
export const memberName = z
    .string()
    .max(40, "at most 40 characters: it becomes part of object names and label values")
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
        message: "a member stack name: lower-case letters, digits and '-' (an RFC 1123 label)",
    });

/** An IPv4 address, or a DNS name. */
const gatewayAddress = z.union([z.ipv4(), hostName], { message: "an IPv4 address or a DNS host name" });

export const multiclusterConfig = z.strictObject({
    enabled: z
        .boolean()
        .describe(
            "Installs linkerd-multicluster (the pinned edge chart, one service-mirror controller per link) into namespace " +
                "`linkerd-multicluster`, meshed and restarted with the mesh. Needs `mtls.enabled`.",
        ),
    mode: z
        .enum(["flat", "gateway"])
        .describe(
            "How the other members reach this cluster's pods when they link to it. `flat`: straight to the pods, proxy to proxy; " +
                "the server sees the client's own identity, so `mtls.authorizations` can name a client of another cluster; needs pod " +
                "CIDRs routable both ways between the clusters (one VPC, peering, or routes: k3d on one docker network) and the same " +
                "control-plane namespace everywhere. `gateway`: through this cluster's linkerd-gateway (a LoadBalancer on 4143); works " +
                "across any network, but every caller from every linked cluster reaches the workload as the gateway's identity " +
                "(`linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.<trustDomain>`): authorizing the gateway " +
                "authorizes the whole fleet. The presets: flat on k3d, gateway elsewhere.",
        ),
    apiServerAddress: z
        .url({ protocol: /^https$/, message: "an https:// URL of the Kubernetes API server" })
        .optional()
        .describe(
            "This cluster's API server as the pods of the linked clusters reach it (not the operator's kubeconfig address: on k3d " +
                "the server node's address on the shared docker network, `https://<node IP>:6443`). Needed when `remoteAccess` names a member.",
        ),
    gatewayAddresses: z
        .array(gatewayAddress)
        .optional()
        .describe(
            "Gateway mode: the addresses the linked clusters' pods reach this cluster's linkerd-gateway Service at (its LoadBalancer " +
                "ingress IPs or host names). Needed when `remoteAccess` names a member and `mode` is gateway.",
        ),
    remoteAccess: z
        .array(memberName)
        .describe(
            "The member stacks that may link to this one. Each gets its own ServiceAccount `linkerd-service-mirror-remote-access-<member>` " +
                "(read access to services, endpoints and pods cluster-wide, as Linkerd's chart grants it, plus the trust-roots ConfigMap " +
                "for the rollout evidence) and its own token, exported as a secret output only: removing a name revokes that member alone.",
        ),
    links: z
        .array(memberName)
        .describe(
            "The member stacks this one links to (mirrors their exported services). Each must list this stack in its own " +
                "`multicluster.remoteAccess` and be deployed first: its address, CA, mode and the token for this stack come from its " +
                "stack outputs through a StackReference, the token kept secret end to end.",
        ),
});
