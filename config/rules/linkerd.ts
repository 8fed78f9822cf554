/** Rules of `linkerd`, and of high availability across the charts. */
import { SINGLE_NODE_TARGETS } from "../schema/primitives";
import type { ConfigShape, RuleContext } from "./types";

/**
 * No high availability on a single-node target (linkerd, viz, cert-manager): HA's required
 * anti-affinity spreads replicas over three nodes, so on one node the extra replicas stay Pending.
 */
export function validateSingleNode(config: ConfigShape, ctx: RuleContext): void {
    if (!SINGLE_NODE_TARGETS.includes(config.target)) return;
    if (config.linkerd.highAvailability) {
        ctx.addIssue({
            code: "custom",
            path: ["linkerd", "highAvailability"],
            message: `must be false on the single-node target ${config.target} (HA anti-affinity needs 3 nodes)`,
        });
    }
    if (config.viz.highAvailability) {
        ctx.addIssue({
            code: "custom",
            path: ["viz", "highAvailability"],
            message: `must be false on the single-node target ${config.target}`,
        });
    }
    if (config.certManager.highAvailability) {
        ctx.addIssue({
            code: "custom",
            path: ["certManager", "highAvailability"],
            message: `must be false on the single-node target ${config.target}`,
        });
    }
}

/**
 * A proxy injector that fails closed (`Fail`) must be highly available: with one replica, a
 * restart or a node drain blocks every pod creation in the meshed namespaces.
 */
export function validateWebhookFailurePolicy(config: ConfigShape, ctx: RuleContext): void {
    const linkerd = config.linkerd;
    if (linkerd.webhookFailurePolicy === "Fail" && !linkerd.highAvailability) {
        ctx.addIssue({
            code: "custom",
            path: ["linkerd", "webhookFailurePolicy"],
            message:
                "Fail needs linkerd.highAvailability true (3 replicas, PodDisruptionBudgets, anti-affinity): without it one " +
                "proxy-injector restart or a node drain blocks every pod creation in the meshed namespaces. Set it to Ignore " +
                "together with highAvailability false",
        });
    }
}

/** High availability means at least three replicas: Linkerd's values-ha.yaml, and a quorum that survives a node. */
export function validateControllerReplicas(config: ConfigShape, ctx: RuleContext): void {
    const linkerd = config.linkerd;
    if (linkerd.highAvailability && linkerd.controllerReplicas < 3) {
        ctx.addIssue({
            code: "custom",
            path: ["linkerd", "controllerReplicas"],
            message: "must be at least 3 when linkerd.highAvailability is true",
        });
    }
}
