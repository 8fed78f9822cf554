/** `cluster`: which existing Kubernetes cluster the stack deploys to. */
import { z } from "zod";
import { nonBlank } from "./primitives";

export const clusterConfig = z.strictObject({
    context: nonBlank.describe("kubeconfig context of the existing cluster this stack deploys to."),
    kubeconfig: nonBlank
        .optional()
        .describe(
            "Path of the kubeconfig file, stored in the stack's state: it must exist on every machine that runs the stack " +
                "(`~/` is expanded on each). Unset (recommended): each machine's own $KUBECONFIG or ~/.kube/config, and no path in state.",
        ),
    /**
     * GKE private cluster: the control plane reaches webhooks on nodes only through a
     * firewall rule; `pulumi up` prints the exact rule.
     */
    gkePrivate: z
        .strictObject({
            masterIpv4CidrBlock: z
                .cidrv4()
                .describe(
                    "GKE private cluster: the control plane's CIDR (`masterIpv4CidrBlock`), the source of the firewall rule `pulumi up` prints for the webhooks.",
                ),
            network: nonBlank.describe("GKE private cluster: the VPC network of the nodes, where the firewall rule goes."),
            nodeTag: nonBlank.describe("GKE private cluster: the network tag of the nodes, the target of the firewall rule."),
        })
        .optional(),
});
