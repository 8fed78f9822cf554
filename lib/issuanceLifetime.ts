/**
 * The proxies' certificate lifetime (Linkerd's `identity.issuer.issuanceLifetime`) and the rotation
 * phase floor it implies.
 *
 * The value is a Go duration: the chart passes it verbatim as `-identity-issuance-lifetime`
 * (charts/linkerd-control-plane/templates/identity.yaml:167, edge-26.8.3) and the identity
 * controller parses it with Go's `time.ParseDuration` — and on a parse error only *warns* and keeps
 * 24 h (controller/cmd/identity/main.go:116-122). A typo would silently leave every certificate at
 * 24 h while the phase floor was derived from the typo: so the program parses it exactly as Go does
 * and refuses what Go would refuse.
 */

/** Go's unit table (time/format.go `unitMap`), in milliseconds. */
const UNIT_MS: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3, // U+00B5 micro sign
    μs: 1e-3, // U+03BC Greek mu
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
};

/** One `<number><unit>` term as Go reads it: digits, optionally a fraction, then a unit. */
const TERM = /([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * A Go duration (`24h0m0s`, `2m`, `1.5h`, `90s`) in milliseconds, as `time.ParseDuration` reads it;
 * undefined when Go would refuse it. A sign is accepted as Go does (`-1h` parses, to a negative
 * value); `0` alone is the only unitless value Go accepts.
 */
export function parseGoDuration(text: string): number | undefined {
    let rest = text;
    let sign = 1;
    if (rest.startsWith("-") || rest.startsWith("+")) {
        sign = rest.startsWith("-") ? -1 : 1;
        rest = rest.slice(1);
    }
    if (rest === "0") return 0;
    if (rest === "") return undefined;
    let total = 0;
    TERM.lastIndex = 0;
    while (TERM.lastIndex < rest.length) {
        const start = TERM.lastIndex;
        const match = TERM.exec(rest);
        if (!match || match.index !== start) return undefined;
        const [, whole, fraction, unit] = match;
        // Go: "missing leading digits" — a term needs a digit before or after the dot.
        if (whole === "" && (fraction === undefined || fraction === "")) return undefined;
        total += Number(`${whole || "0"}.${fraction || "0"}`) * UNIT_MS[unit];
    }
    return sign * total;
}

/** Linkerd's default issuance lifetime and clock-skew allowance (charts/linkerd-control-plane values.yaml:476-479). */
export const LINKERD_ISSUANCE_LIFETIME = "24h0m0s";
/** `identity.issuer.clockSkewAllowance`: leaves are valid from now - skew to now + lifetime + skew (pkg/tls/ca.go `Window`). */
export const CLOCK_SKEW_ALLOWANCE_MS = 20_000;

/** The bounds the config allows for the lifetime: a minute (the proxies refresh at 70 %, at least every 10 s) to 30 days. */
export const ISSUANCE_LIFETIME_BOUNDS_MS = { min: 60_000, max: 30 * 24 * 3_600_000 } as const;

/**
 * The least time rotation phases 1 and 2 must last for a lifetime L, in milliseconds:
 * `L + 2·skew + max(L/24, 1 min)`.
 *
 * Why (research-21 §4): let t0 be when every identity replica serves the new issuer. A leaf issued
 * from the old issuer just before t0 is valid until t0 + L + skew (ca.go `Window`); a healthy proxy
 * renews long before (70 % of its lifetime: linkerd2-proxy v2.366.0
 * linkerd/proxy/identity-client/src/certify.rs `refresh_in`), but one that was transiently failing
 * renewal keeps its old leaf until it expires. Dropping the old anchor before that turns a transient
 * failure into a broken proxy. The second skew covers the clocks of the node that starts phase 3,
 * the margin the time between `pulumi up` and the rollout. Linkerd's default (24 h) gives 25 h 40 s,
 * where the project's fixed 25 h was; a two-minute e2e lifetime gives 3 min 40 s.
 */
export function derivedPhaseFloorMs(lifetimeMs: number): number {
    return lifetimeMs + 2 * CLOCK_SKEW_ALLOWANCE_MS + Math.max(lifetimeMs / 24, 60_000);
}

/** A duration for a person: `25 h 0 min 40 s`, `3 min 40 s`. */
export function formatDuration(ms: number): string {
    const seconds = Math.ceil(ms / 1000);
    const [h, m, s] = [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60];
    const parts = [h > 0 ? `${h} h` : "", h > 0 || m > 0 ? `${m} min` : "", `${s} s`].filter((p) => p !== "");
    return parts.join(" ");
}

/** The phase floor in force, and the config key that sets it (for the messages). */
export interface PhaseFloor {
    readonly ms: number;
    /** `identity.trustAnchor.minMinutesBetweenPhases`, `…minHoursBetweenPhases`, or the lifetime's key when derived. */
    readonly key: string;
    /** How the messages name it: `identity.trustAnchor.minHoursBetweenPhases being 30`. */
    readonly says: string;
}

/** The trust-anchor and issuer settings the floor comes from. */
export interface PhaseFloorSettings {
    readonly issuanceLifetime: string;
    readonly minHoursBetweenPhases?: number;
    readonly minMinutesBetweenPhases?: number;
}

/**
 * The floor in force: the one configured (minutes or hours), else the one derived from the
 * lifetime. A configured floor below the derived one is a config error (config/rules/identity.ts
 * `validatePhaseFloor`), so by the time this runs it is at least the derived floor.
 */
export function phaseFloor(settings: PhaseFloorSettings): PhaseFloor {
    const lifetime = parseGoDuration(settings.issuanceLifetime);
    if (lifetime === undefined)
        throw new Error(
            `identity.issuer.issuanceLifetime ${JSON.stringify(settings.issuanceLifetime)} is not a Go duration`,
        );
    if (settings.minMinutesBetweenPhases !== undefined) {
        const key = "identity.trustAnchor.minMinutesBetweenPhases";
        return {
            ms: settings.minMinutesBetweenPhases * 60_000,
            key,
            says: `${key} being ${settings.minMinutesBetweenPhases}`,
        };
    }
    if (settings.minHoursBetweenPhases !== undefined) {
        const key = "identity.trustAnchor.minHoursBetweenPhases";
        return {
            ms: settings.minHoursBetweenPhases * 3_600_000,
            key,
            says: `${key} being ${settings.minHoursBetweenPhases}`,
        };
    }
    const ms = derivedPhaseFloorMs(lifetime);
    return {
        ms,
        key: "identity.issuer.issuanceLifetime",
        says: `the floor derived from identity.issuer.issuanceLifetime ${settings.issuanceLifetime} being ${formatDuration(ms)}`,
    };
}
