/** Rules of `certManager`. */
import { CERT_MANAGER_NAMESPACE } from "../../lib/registry";
import { RESERVED_NAMESPACES } from "../schema/primitives";
import type { ConfigShape, RuleContext } from "./types";

/**
 * cert-manager keeps a namespace of its own. In a system or mesh namespace (kube-system, linkerd, …)
 * its objects mix with the cluster's or the mesh's, and removing one would take the other along; in
 * a meshed namespace (or the meshed ingress controller's) its webhook would get a proxy, and the
 * mesh's identity issuer would depend on the mesh it issues for.
 */
export function validateCertManagerNamespace(config: ConfigShape, ctx: RuleContext): void {
    const namespace = config.certManager.namespace;
    const path = ["certManager", "namespace"];
    const ingress = config.mtls.ingress;
    if (namespace !== CERT_MANAGER_NAMESPACE && RESERVED_NAMESPACES.includes(namespace)) {
        ctx.addIssue({
            code: "custom",
            path,
            message: `must be cert-manager's own namespace, not a system or mesh namespace (${RESERVED_NAMESPACES.filter((n) => n !== CERT_MANAGER_NAMESPACE).join(", ")})`,
        });
    } else if (config.mtls.namespaces.includes(namespace)) {
        ctx.addIssue({
            code: "custom",
            path,
            message:
                "is a meshed namespace (mtls.namespaces): cert-manager's webhook would get a proxy, and the mesh's issuer would depend on the mesh",
        });
    } else if (ingress.enabled && ingress.controller === "in-namespace" && ingress.namespace === namespace) {
        ctx.addIssue({
            code: "custom",
            path,
            message:
                "is the meshed ingress controller's namespace (mtls.ingress.namespace): cert-manager's webhook would get a proxy",
        });
    }
}
