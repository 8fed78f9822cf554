/** Rules of `identity`: lifetimes that nest, thresholds that can be met. */
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
