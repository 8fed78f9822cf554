/**
 * `mtls.egress`: what meshed namespaces may reach outside the cluster, through Linkerd's
 * EgressNetwork (policy.linkerd.io/v1alpha1) and, where networks are given, a NetworkPolicy.
 * The hosts' syntax, the networks' overlap with Linkerd's clusterNetworks and what each target can
 * express are cross-key rules (config/rules/egress.ts), so that each refusal names its key.
 */
import { z } from "zod";
import { noRepeats } from "./primitives";

/** CIDRs, each once; none by default. */
const networks = z.array(z.cidrv4().or(z.cidrv6())).max(64).superRefine(noRepeats);

/** `off`, `audit` or `enforce`. */
export const egressMode = z
    .enum(["off", "audit", "enforce"])
    .describe(
        "`off`: nothing is created. `audit`: an Allow EgressNetwork in each meshed namespace: traffic leaving the cluster is " +
            'counted per namespace and destination (dashboard "AKKO egress"), nothing is refused. `enforce`: a Deny EgressNetwork: ' +
            "only `allowedHosts` and `allowedNetworks` leave the cluster (docs/admin/egress.md).",
    );

const allowedHosts = z
    .array(z.string().max(300))
    .max(64)
    .describe(
        "Enforce: the host names the namespace may reach, `host[:port]` or `https://host[:port]` (TLS, by SNI, port 443 by default) " +
            "or `http://host[:port]` (HTTP, by Host header, port 80 by default). `*.example.com` matches every name under example.com, " +
            "not example.com itself. TLS hosts need Gateway API TLSRoute v1alpha2 (`linkerd.gatewayApi: install`).",
    );

const allowedNetworks = networks.describe(
    "Enforce: external networks the namespace may reach on any port (an Allow EgressNetwork), outside Linkerd's clusterNetworks. " +
        "Given, they also make a NetworkPolicy that admits only pods, these and `platformNetworks`: every allowed host's addresses " +
        "must then lie in them.",
);

const platformNetworks = networks.describe(
    "Enforce with `allowedNetworks`: addresses the NetworkPolicy also admits that are not pods: the API server's endpoints " +
        "(EKS ENIs, GKE's control-plane IP, the k3s node IP), NodeLocal DNSCache (169.254.20.10), VPC services (RDS).",
);

export const egressConfig = z.strictObject({
    mode: egressMode,
    allowedHosts,
    allowedNetworks,
    platformNetworks,
});

/** Per namespace: each key given replaces the one of `mtls.egress`. */
export const namespaceEgress = z.strictObject({
    mode: egressMode.optional(),
    allowedHosts: allowedHosts.optional(),
    allowedNetworks: allowedNetworks.optional(),
    platformNetworks: platformNetworks.optional(),
});

export type EgressConfig = z.output<typeof egressConfig>;
export type NamespaceEgress = z.output<typeof namespaceEgress>;
