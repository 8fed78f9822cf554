/**
 * How long the identity issuer may live, by back end: one fact that the config schema
 * (config/schema/identity.ts) and the policy pack (policy/policies.ts) both read, so that a config
 * the schema accepts is never one the pack refuses (test/policy.test.ts checks it across the range).
 *
 * - certManager: cert-manager renews the issuer on its own, so it can be short-lived, and is: the
 *   issuer's key sits in a Secret in the cluster, and a short life bounds what a leaked key is worth.
 *   Linkerd's recipe (automatically-rotating-control-plane-tls-credentials) uses 48 h, the most this
 *   program allows. The least leaves room for a renewal window of {@link MIN_RENEW_BEFORE_HOURS}.
 *   Linkerd clamps each proxy certificate to the issuer's expiry (linkerd2 edge-26.8.3
 *   pkg/tls/ca.go `firstCrtExpiration`), so an issuer shorter than the proxies' 24 h still works.
 * - static: `pulumi up` re-issues it (@pulumi/tls `earlyRenewalHours`), only when someone runs it: at
 *   least a day, and no longer than the per-cluster intermediate that signs it, itself shorter than
 *   the anchor (at most {@link MAX_VALIDITY_HOURS}).
 */

/** 20 years: the longest validity any certificate here may ask for (@pulumi/tls counts hours in a Go duration). */
export const MAX_VALIDITY_HOURS = 24 * 365 * 20;

/**
 * The shortest renewal window, in hours: the daily check alerts when the issuer has fewer than
 * renewBeforeHours - 1 hours left (`rotationJob.issuerMinHoursLeft`'s default), which must be at least 1.
 */
export const MIN_RENEW_BEFORE_HOURS = 2;

export type IssuerBackEnd = "static" | "certManager";

export const ISSUER_LIFETIME_HOURS: Readonly<Record<IssuerBackEnd, { readonly min: number; readonly max: number }>> = {
    certManager: { min: MIN_RENEW_BEFORE_HOURS + 1, max: 48 },
    // No longer than the intermediate that signs it, itself shorter than the anchor (at most MAX_VALIDITY_HOURS).
    static: { min: 24, max: MAX_VALIDITY_HOURS - 1 },
};

/** Why an issuer of `hours` is refused for a back end, or undefined when it is allowed. */
export function issuerLifetimeProblem(backEnd: IssuerBackEnd, hours: number): string | undefined {
    const { min, max } = ISSUER_LIFETIME_HOURS[backEnd];
    if (!Number.isInteger(hours)) return `must be a whole number of hours (${min}–${max}), not ${hours}`;
    if (hours < min || hours > max) {
        return backEnd === "certManager"
            ? `must be ${min}–${max} h: cert-manager renews it, and a short life bounds what a leaked issuer key is worth (Linkerd's recipe: 48 h)`
            : `must be ${min}–${max} h: \`pulumi up\` re-issues it, so at least a day, and it lives no longer than the intermediate that signs it, itself shorter than the anchor (at most ${MAX_VALIDITY_HOURS} h)`;
    }
    return undefined;
}
