/** Rules of `cluster`. */
import type { ConfigShape, RuleContext } from "./types";

/**
 * `cluster.gkePrivate` only on target gke: the firewall rule it describes is a GKE private
 * cluster's; on any other target it would be a setting that silently does nothing.
 */
export function validateGkePrivate(config: ConfigShape, ctx: RuleContext): void {
    if (config.cluster.gkePrivate && config.target !== "gke") {
        ctx.addIssue({
            code: "custom",
            path: ["cluster", "gkePrivate"],
            message: `only applies to target gke (this is ${config.target})`,
        });
    }
}
