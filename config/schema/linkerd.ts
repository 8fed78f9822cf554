/** `linkerd`: the control plane's chart, availability, proxy-init or CNI plugin, and resources. */
import { z } from "zod";
import { containerResources, exactChartVersion, httpsUrl, nodePath } from "./primitives";

export const linkerdConfig = z.strictObject({
    chartVersion: exactChartVersion.describe(
        "Exact version of the linkerd-crds and linkerd-control-plane charts (and linkerd-viz, linkerd2-cni).",
    ),
    repository: httpsUrl.describe("Helm repository of the Linkerd charts (https)."),
    gatewayApi: z
        .enum(["install", "present"])
        .describe(
            "Gateway API CRDs, which Linkerd's policy controller watches; linkerd-crds never installs them. `present`: the " +
                "cluster has them (k3s/k3d through their bundled Traefik, GKE >= 1.34); the program reads them and stops if they " +
                "are missing. `install`: the program installs the upstream standard-channel CRDs (lib/registry.ts GATEWAY_API), " +
                "never overwriting CRDs another owner installed.",
        ),
    highAvailability: z
        .boolean()
        .describe(
            "Linkerd's HA values (values-ha.yaml): replicas, PodDisruptionBudgets, anti-affinity. Needs 3 nodes.",
        ),
    controllerReplicas: z
        .int()
        .min(1)
        .max(7)
        .describe("Replicas of each control-plane controller (at least 3 with highAvailability)."),
    webhookFailurePolicy: z
        .enum(["Ignore", "Fail"])
        .describe(
            "What the API server does when a control-plane webhook (the proxy injector, the policy and ServiceProfile validators) " +
                "does not answer, for the mesh's namespaces only: `Fail` (needs highAvailability) or `Ignore`.",
        ),
    proxyInit: z.strictObject({
        iptablesMode: z
            .enum(["nft", "legacy"])
            .describe(
                "iptables backend of linkerd-init: `nft` (the chart's default), or `legacy` for nodes without nf_tables (GKE's COS).",
            ),
    }),
    /**
     * Linkerd's CNI plugin (chart linkerd2-cni) sets up each pod's redirection instead of the
     * linkerd-init container.
     */
    cni: z.strictObject({
        enabled: z
            .boolean()
            .describe(
                "Linkerd's CNI plugin (chart linkerd2-cni) sets up each pod's redirection instead of the linkerd-init container, " +
                    "which needs NET_ADMIN and NET_RAW: required to mesh namespaces that enforce Pod Security `baseline` or `restricted`.",
            ),
        netDir: nodePath.describe(
            "Where the node's CNI configuration is (k3s: /var/lib/rancher/k3s/agent/etc/cni/net.d).",
        ),
        binDir: nodePath.describe(
            "Where the node's container runtime runs CNI plugins from (containerd's `bin_dir`): the plugin's binary goes there. " +
                "k3s and k3d: /var/lib/rancher/k3s/data/cni (rancher/k3s images v1.31.0-v1.31.6 and v1.32.0-v1.32.2: /bin); GKE: /home/kubernetes/bin.",
        ),
        resources: containerResources.describe("The CNI plugin's install-cni container (a DaemonSet, one per node)."),
    }),
    networkPolicies: z
        .boolean()
        .describe("NetworkPolicies for the control plane, where a platform policy puts default-deny everywhere."),
    proxy: z.strictObject({
        resources: containerResources.describe(
            "Every injected linkerd-proxy (one per meshed pod): what the mesh costs per pod.",
        ),
    }),
    /** Requests and limits of every control-plane container. */
    controlPlaneResources: z.strictObject({
        destination: containerResources.describe(
            "The destination controller (service discovery, endpoints' identities).",
        ),
        spValidator: containerResources.describe("The ServiceProfile validator webhook."),
        policyController: containerResources.describe(
            "The policy controller (Servers, authorizations; its admission webhook).",
        ),
        identity: containerResources.describe("The identity controller, which signs every proxy's 24 h certificate."),
        proxyInjector: containerResources.describe("The proxy injector webhook."),
    }),
});
