/** Rules of `identity`: lifetimes that nest, thresholds that can be met. */
import { derivedPhaseFloorMs, formatDuration, parseGoDuration, phaseFloor } from "../../lib/issuanceLifetime";
import type { ConfigShape, RuleContext } from "./types";

/**
 * The issuer lives shorter than the anchor that signs it (a certificate cannot outlive its
 * signer's validity and still verify), and is renewed before it expires (a renewal window as long
 * as the validity would re-issue it on every run, or never in time).
 */
export function validateIssuerLifetimes(config: ConfigShape, ctx: RuleContext): void {
    const { issuer, trustAnchor } = config.identity;
    const lifetimes: ["static" | "certManager", number, number][] = [
        ["static", issuer.static.validityHours, issuer.static.renewBeforeHours],
        ["certManager", issuer.certManager.durationHours, issuer.certManager.renewBeforeHours],
    ];
    for (const [mode, validity, renewBefore] of lifetimes) {
        const validityKey = mode === "static" ? "validityHours" : "durationHours";
        if (validity >= trustAnchor.validityHours) {
            ctx.addIssue({
                code: "custom",
                path: ["identity", "issuer", mode, validityKey],
                message: `must be shorter than identity.trustAnchor.validityHours (${trustAnchor.validityHours})`,
            });
        }
        if (renewBefore >= validity) {
            ctx.addIssue({
                code: "custom",
                path: ["identity", "issuer", mode, "renewBeforeHours"],
                message: `must be shorter than identity.issuer.${mode}.${validityKey} (${validity})`,
            });
        }
    }
}

/**
 * The anchor's expiry thresholds lie inside its validity. A daily Job that fails when fewer than
 * `rotationJob.anchorMinDaysLeft` days are left would fail from the day a new anchor is made, and
 * forever (an alert nobody can clear but by rotating); a `pulumi up` warning threshold at or beyond
 * the validity would warn on every run.
 */
export function validateAnchorExpiryThresholds(config: ConfigShape, ctx: RuleContext): void {
    const validityHours = config.identity.trustAnchor.validityHours;
    const validityDays = validityHours / 24;
    const shown = Number.isInteger(validityDays) ? `${validityDays}` : validityDays.toFixed(1);
    if (config.rotationJob.anchorMinDaysLeft >= validityDays) {
        ctx.addIssue({
            code: "custom",
            path: ["rotationJob", "anchorMinDaysLeft"],
            message:
                `must be below the trust anchor's validity (identity.trustAnchor.validityHours ${validityHours} = ${shown} days): ` +
                "the daily Job would fail from the day the anchor is made, and every day after",
        });
    }
    if (config.identity.trustAnchor.expiryWarningDays >= validityDays) {
        ctx.addIssue({
            code: "custom",
            path: ["identity", "trustAnchor", "expiryWarningDays"],
            message:
                `must be below the trust anchor's validity (identity.trustAnchor.validityHours ${validityHours} = ${shown} days): ` +
                "`pulumi up` would warn on every run from the day the anchor is made",
        });
    }
}

/**
 * The per-cluster intermediate CA sits between the anchor and the issuer, so its lifetime nests
 * between theirs:
 * - it lives shorter than the anchor that signs it, and is re-signed before it expires;
 * - it is re-signed more than a cert-manager issuer's duration before it expires: the issuer
 *   Secret carries a copy of the intermediate certificate (cert-manager v1.21.1
 *   `pkg/util/pki/parse_certificate_chain.go`), and a new intermediate does not make cert-manager
 *   re-issue (no trigger policy looks at the CA Secret: `internal/controller/certificates/policies`),
 *   so the old copy must stay valid until the issuer's next renewal;
 * - a static issuer does not outlive it (its chain would break before its own expiry).
 */
export function validateIntermediateLifetimes(config: ConfigShape, ctx: RuleContext): void {
    const { intermediate, issuer, trustAnchor } = config.identity;
    const at = (...path: string[]) => ["identity", ...path];
    if (intermediate.validityHours >= trustAnchor.validityHours) {
        ctx.addIssue({
            code: "custom",
            path: at("intermediate", "validityHours"),
            message: `must be shorter than identity.trustAnchor.validityHours (${trustAnchor.validityHours})`,
        });
    }
    if (intermediate.renewBeforeHours >= intermediate.validityHours) {
        ctx.addIssue({
            code: "custom",
            path: at("intermediate", "renewBeforeHours"),
            message: `must be shorter than identity.intermediate.validityHours (${intermediate.validityHours})`,
        });
    }
    if (intermediate.renewBeforeHours <= issuer.certManager.durationHours) {
        ctx.addIssue({
            code: "custom",
            path: at("intermediate", "renewBeforeHours"),
            message:
                `must be longer than identity.issuer.certManager.durationHours (${issuer.certManager.durationHours}): ` +
                "the issuer Secret keeps a copy of the old intermediate until cert-manager next renews the issuer",
        });
    }
    if (issuer.static.validityHours > intermediate.validityHours) {
        ctx.addIssue({
            code: "custom",
            path: at("issuer", "static", "validityHours"),
            message: `must not exceed identity.intermediate.validityHours (${intermediate.validityHours}): the issuer's chain would break before it expires`,
        });
    }
}

/**
 * Rotation phases 1 and 2 last at least the floor derived from the proxies' certificate lifetime
 * (lib/issuanceLifetime.ts `derivedPhaseFloorMs`): a configured floor below it would let phase 3
 * drop the old anchor while a leaf it signed is still valid, which breaks any proxy that was failing
 * to renew. One unit only: two floors could disagree.
 */
export function validatePhaseFloor(
    config: {
        identity: {
            trustAnchor: { minHoursBetweenPhases?: number; minMinutesBetweenPhases?: number };
            issuer: { issuanceLifetime: string };
        };
    },
    ctx: RuleContext,
): void {
    const { trustAnchor, issuer } = config.identity;
    const lifetime = parseGoDuration(issuer.issuanceLifetime);
    if (trustAnchor.minHoursBetweenPhases !== undefined && trustAnchor.minMinutesBetweenPhases !== undefined) {
        ctx.addIssue({
            code: "custom",
            path: ["identity", "trustAnchor", "minMinutesBetweenPhases"],
            message: "set either identity.trustAnchor.minMinutesBetweenPhases or minHoursBetweenPhases, not both",
        });
        return;
    }
    // A lifetime Go cannot parse is reported by the schema; nothing to derive from.
    if (lifetime === undefined) return;
    const floor = phaseFloor({ ...trustAnchor, issuanceLifetime: issuer.issuanceLifetime });
    const derived = derivedPhaseFloorMs(lifetime);
    if (floor.ms < derived) {
        ctx.addIssue({
            code: "custom",
            path: floor.key.split("."),
            message:
                `must be at least ${formatDuration(derived)}, the floor derived from identity.issuer.issuanceLifetime ${issuer.issuanceLifetime} ` +
                "(lifetime + 2 x 20 s clock skew + max(lifetime / 24, 1 min)): every certificate the old issuer signed must have expired " +
                "before the old anchor leaves the bundle; leave it unset to use the derived floor",
        });
    }
}
