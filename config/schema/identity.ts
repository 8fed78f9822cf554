/** `identity`: the trust domain, the trust anchor and its rotation, and the identity issuer. */
import { z } from "zod";
import {
    ISSUER_LIFETIME_HOURS,
    issuerLifetimeProblem,
    MAX_VALIDITY_HOURS,
    MIN_RENEW_BEFORE_HOURS,
} from "../../lib/issuerLifetimes";
import { ISSUANCE_LIFETIME_BOUNDS_MS, parseGoDuration } from "../../lib/issuanceLifetime";
import { hours, stackName } from "./primitives";

/** The issuer's lifetime for a back end: the bounds the policy pack applies too (lib/issuerLifetimes.ts). */
function issuerHours(backEnd: "static" | "certManager") {
    const { min, max } = ISSUER_LIFETIME_HOURS[backEnd];
    const message = issuerLifetimeProblem(backEnd, min - 1)!;
    return z.int().min(min, message).max(max, message);
}

/** A Go duration (`time.ParseDuration`) within the bounds Linkerd's proxies can live with (lib/issuanceLifetime.ts). */
const issuanceLifetime = z.string().refine(
    (text) => {
        const ms = parseGoDuration(text);
        return ms !== undefined && ms >= ISSUANCE_LIFETIME_BOUNDS_MS.min && ms <= ISSUANCE_LIFETIME_BOUNDS_MS.max;
    },
    { message: "a Go duration from 1m to 720h, such as 24h0m0s, 2m or 1h30m (units h, m, s, ms; no days)" },
);

/** An issuer's renewal window: long enough for the daily check to alert after a missed renewal. */
const renewBeforeHours = z
    .int()
    .min(
        MIN_RENEW_BEFORE_HOURS,
        `must be at least ${MIN_RENEW_BEFORE_HOURS}: the daily check alerts when fewer than renewBeforeHours - 1 hours are left ` +
            "(rotationJob.issuerMinHoursLeft's default), which must be at least 1",
    )
    .max(MAX_VALIDITY_HOURS);

export const identityConfig = z.strictObject({
    trustDomain: z
        .string()
        .max(253, "must be at most 253 characters (a DNS domain)")
        .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/, {
            message:
                "a DNS domain such as cluster.local: lower-case labels of letters, digits and -, each at most 63 characters",
        })
        .describe(
            "Linkerd's trust domain: the suffix of every identity (`<sa>.<ns>.serviceaccount.identity.linkerd.<trustDomain>`).",
        ),
    trustAnchor: z.strictObject({
        validityHours: hours
            .min(24 * 30)
            .describe(
                "Validity of a new trust anchor, in hours (an existing one keeps its own); at most 175200 (20 years).",
            ),
        expiryWarningDays: z
            .int()
            .min(1)
            .max(365 * 20)
            .describe(
                "`pulumi up` warns when fewer days than this are left on the anchor (linkerd check warns at 60); below the anchor's validity.",
            ),
        generation: z
            .int()
            .min(1)
            .max(9999)
            .describe("The anchor in use; a completed rotation moves to the next generation."),
        rotationPhase: z
            .union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)])
            .describe(
                "Zero-downtime rotation to generation + 1: 0 none, 1 trust both anchors, 2 issue from the new anchor, " +
                    "3 drop the old anchor (docs/admin/rotation.md).",
            ),
        minHoursBetweenPhases: z
            .int()
            .min(1, "must be at least 1, and at least the floor derived from identity.issuer.issuanceLifetime")
            .max(24 * 30)
            .optional()
            .describe(
                "Minimum time in rotation phases 1 and 2 before the next one, in hours; unset: derived from " +
                    "identity.issuer.issuanceLifetime (below). After the issuer switches (phase 2), every proxy must renew its " +
                    "certificate from the new issuer before the old anchor leaves the bundle: a value below the derived floor is refused.",
            ),
        minMinutesBetweenPhases: z
            .int()
            .min(1, "must be at least 1, and at least the floor derived from identity.issuer.issuanceLifetime")
            .max(60 * 24 * 30)
            .optional()
            .describe(
                "The same floor in minutes, for short issuance lifetimes (a test cluster); set this or minHoursBetweenPhases, not both. " +
                    "Unset: derived, `issuanceLifetime + 2 x 20 s clock skew + max(issuanceLifetime / 24, 1 min)` " +
                    "(25 h 0 min 40 s for Linkerd's 24 h).",
            ),
        fleetStack: stackName
            .optional()
            .describe(
                "Make this stack a member of a fleet: the name of the trust stack (`target: trust`, e.g. `trust`) whose anchors and " +
                    "per-member intermediate it uses instead of its own anchor (read through a StackReference to `<organization>/<project>/<fleetStack>`). " +
                    "A stack that already runs its own anchor joins as a rotation, `rotationPhase` 1 → 2 → 3 → 0 (docs/admin/fleet.md).",
            ),
    }),
    intermediate: z.strictObject({
        validityHours: hours
            .min(24 * 30)
            .describe(
                "Validity of the per-cluster intermediate CA, in hours: the trust anchor signs it with @pulumi/tls (the anchor's key never " +
                    "enters the cluster), and it signs the identity issuer (with cert-manager, from Secret `linkerd/linkerd-intermediate-g<generation>`).",
            ),
        renewBeforeHours: hours.describe(
            "Any `pulumi up` with fewer hours than this left on the intermediate re-signs it (same key); the daily check fails when half of this is gone.",
        ),
    }),
    issuer: z.strictObject({
        mode: z
            .enum(["static", "certManager"])
            .describe("static: @pulumi/tls signs the issuer; certManager: cert-manager issues and rotates it."),
        issuanceLifetime: issuanceLifetime.describe(
            "Lifetime of the proxies' certificates, a Go duration (`24h0m0s`, `2m`): Linkerd's `identity.issuer.issuanceLifetime`. " +
                "Proxies renew at 70 % of it. The rotation phase floor is derived from it. 1 min to 720 h; Linkerd warns and keeps " +
                "24 h on a value Go cannot parse (controller/cmd/identity/main.go), so such a value is refused here.",
        ),
        static: z.strictObject({
            validityHours: issuerHours("static").describe(
                "Static issuer: validity of the issuer certificate, in hours (shorter than the anchor's).",
            ),
            renewBeforeHours: renewBeforeHours.describe(
                "Static issuer: early renewal; `pulumi up` re-issues the issuer when fewer hours than this are left.",
            ),
        }),
        certManager: z.strictObject({
            durationHours: issuerHours("certManager").describe(
                "cert-manager issuer: certificate duration in hours (Linkerd docs: 48 h, the most allowed: the policy pack refuses a longer one).",
            ),
            renewBeforeHours: renewBeforeHours.describe(
                "cert-manager issuer: cert-manager renews this many hours before expiry (Linkerd docs: 25 h).",
            ),
        }),
    }),
});
