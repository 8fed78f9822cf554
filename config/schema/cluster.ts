/** `cluster`: which existing Kubernetes cluster the stack deploys to. */
import { z } from "zod";
import { filePath, gcpName, gcpNetworkTag, gkeControlPlaneRangeProblem, kubeContext } from "./primitives";

export const clusterConfig = z.strictObject({
    context: kubeContext.describe("kubeconfig context of the existing cluster this stack deploys to."),
    kubeconfig: filePath
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
                .superRefine((cidr, ctx) => {
                    const problem = gkeControlPlaneRangeProblem(cidr);
                    if (problem) ctx.addIssue({ code: "custom", message: problem });
                })
                .describe(
                    "GKE private cluster: the control plane's CIDR (`masterIpv4CidrBlock`), the source of the firewall rule `pulumi up` prints for the webhooks.",
                ),
            // The firewall rule is named `<network>-linkerd-webhooks`, itself a GCP name of at most 63.
            network: gcpName(46, "the firewall rule <network>-linkerd-webhooks must fit in 63").describe(
                "GKE private cluster: the VPC network of the nodes, where the firewall rule goes.",
            ),
            nodeTag: gcpNetworkTag.describe(
                "GKE private cluster: the network tag of the nodes, the target of the firewall rule.",
            ),
        })
        .optional(),
});
