/** Rules of `rotationJob`: thresholds and deadlines the daily Job can meet. */
import type { ConfigShape, RuleContext } from "./types";

/**
 * The Job's issuer alert fires below the issuer's renewal window: the issuer normally has up to
 * renewBeforeHours left (it is renewed then), so a threshold at or above it fails the check every day.
 */
export function validateIssuerAlertThreshold(config: ConfigShape, ctx: RuleContext): void {
    const issuer = config.identity.issuer;
    const renewBefore = issuer.mode === "static" ? issuer.static.renewBeforeHours : issuer.certManager.renewBeforeHours;
    const minLeft = config.rotationJob.issuerMinHoursLeft;
    if (minLeft !== undefined && minLeft >= renewBefore) {
        ctx.addIssue({
            code: "custom",
            path: ["rotationJob", "issuerMinHoursLeft"],
            message: `must be below the issuer's renewBeforeHours (${renewBefore}), or the check fails every day`,
        });
    }
}

/**
 * One workload's restart fits inside the Job's deadline with a minute to spare: otherwise the Job
 * (which starts no restart it could not finish) could never restart anything.
 */
export function validateRotationDeadline(config: ConfigShape, ctx: RuleContext): void {
    const job = config.rotationJob;
    if (job.rolloutTimeoutSeconds + 60 > job.deadlineMinutes * 60) {
        ctx.addIssue({
            code: "custom",
            path: ["rotationJob", "rolloutTimeoutSeconds"],
            message: `must leave a minute inside rotationJob.deadlineMinutes (${job.deadlineMinutes} min): one restart could never finish in time`,
        });
    }
}
