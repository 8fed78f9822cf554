/**
 * The trust stack's config (`akko-mtls:target: trust`): a stack with no cluster that holds the
 * fleet's anchors and rotation phase and signs one intermediate CA per member (issue 21,
 * components/fleetTrust.ts). Its own schema, not a target of the cluster config: it has no
 * cluster, mesh, chart or Job settings, and a key of theirs is refused as unknown.
 */
import { z } from "zod";
import { identityConfig } from "./identity";
import { stackName } from "./primitives";

export const TRUST_TARGET = "trust";

export const fleetConfig = z.strictObject({
    clusters: z
        .array(stackName)
        .min(1, "list at least one member stack")
        .describe(
            "The fleet's member stacks (cluster stacks of this project, each with `identity.trustAnchor.fleetStack` naming this stack): " +
                "one intermediate CA is signed per member, and a rotation phase is left only once every member has applied it.",
        ),
});

export const trustStackConfig = z.strictObject({
    target: z.literal(TRUST_TARGET).describe("`trust`: this stack is a fleet's trust stack, with no cluster."),
    identity: z.strictObject({
        trustDomain: identityConfig.shape.trustDomain,
        trustAnchor: identityConfig.shape.trustAnchor.omit({ fleetStack: true }),
        intermediate: identityConfig.shape.intermediate,
        issuer: z.strictObject({
            issuanceLifetime: identityConfig.shape.issuer.shape.issuanceLifetime.describe(
                "The longest proxy certificate lifetime of any member (their identity.issuer.issuanceLifetime): the fleet's phase " +
                    "floor is derived from it, so that no member's old-issuer certificate outlives phase 2.",
            ),
        }),
    }),
    fleet: fleetConfig,
});

export type TrustStackShape = z.output<typeof trustStackConfig>;
