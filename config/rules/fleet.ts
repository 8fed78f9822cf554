/** Rules of the trust stack's config (config/schema/fleet.ts): a member list the fleet can gate on, lifetimes that nest. */
import type { TrustStackShape } from "../schema/fleet";
import type { RuleContext } from "./types";

/**
 * Each member once (a duplicate would sign two intermediates under one name), and never the trust
 * stack itself: it has no cluster, and the gate would wait for it forever.
 */
export function validateFleetClusters(config: TrustStackShape, trustStack: string, ctx: RuleContext): void {
    const seen = new Set<string>();
    config.fleet.clusters.forEach((member, i) => {
        if (member === trustStack) {
            ctx.addIssue({
                code: "custom",
                path: ["fleet", "clusters", i],
                message: `is this trust stack itself: list the member cluster stacks only`,
            });
        } else if (seen.has(member)) {
            ctx.addIssue({
                code: "custom",
                path: ["fleet", "clusters", i],
                message: `lists ${member} twice: each member once`,
            });
        }
        seen.add(member);
    });
}

/** The intermediates live shorter than the anchor that signs them, and are re-signed before they expire (as a cluster stack's: rules/identity.ts). */
export function validateFleetIntermediates(config: TrustStackShape, ctx: RuleContext): void {
    const { intermediate, trustAnchor } = config.identity;
    if (intermediate.validityHours >= trustAnchor.validityHours) {
        ctx.addIssue({
            code: "custom",
            path: ["identity", "intermediate", "validityHours"],
            message: `must be shorter than identity.trustAnchor.validityHours (${trustAnchor.validityHours})`,
        });
    }
    if (intermediate.renewBeforeHours >= intermediate.validityHours) {
        ctx.addIssue({
            code: "custom",
            path: ["identity", "intermediate", "renewBeforeHours"],
            message: `must be shorter than identity.intermediate.validityHours (${intermediate.validityHours})`,
        });
    }
}
