/** `certManager`: cert-manager, which issues and rotates the identity issuer (issuer mode certManager). */
import { z } from "zod";
import { containerResources, exactVChartVersion, httpsUrl, namespaceName } from "./primitives";

export const certManagerConfig = z.strictObject({
    install: z.boolean().describe("Install cert-manager (true) or use the cluster's existing installation (false)."),
    chartVersion: exactVChartVersion.describe("Exact version of the cert-manager chart, with its `v`."),
    repository: httpsUrl.describe("Helm repository of the cert-manager chart (https)."),
    namespace: namespaceName.describe(
        "cert-manager's own namespace: neither a system or mesh namespace, nor a meshed one.",
    ),
    highAvailability: z.boolean().describe("cert-manager with replicas and PodDisruptionBudgets (needs 3 nodes)."),
    resources: z.strictObject({
        controller: containerResources.describe("cert-manager's controller."),
        webhook: containerResources.describe("cert-manager's webhook."),
        cainjector: containerResources.describe(
            "cert-manager's cainjector, which writes CA bundles into webhook configurations.",
        ),
    }),
});
