/** The issuance lifetime as Go reads it, and the rotation phase floor derived from it (lib/issuanceLifetime.ts). */
import { strict as assert } from "node:assert";
import { derivedPhaseFloorMs, formatDuration, parseGoDuration, phaseFloor } from "./issuanceLifetime";

const MIN = 60_000;
const HOUR = 60 * MIN;

describe("issuance lifetime and phase floor", () => {
    it("parses what Go's time.ParseDuration parses, to the same value", () => {
        // Values from Go's own table (src/time/time_test.go parseDurationTests) and the chart's default.
        const accepted: [string, number][] = [
            ["24h0m0s", 24 * HOUR],
            ["2m", 2 * MIN],
            ["0", 0],
            ["+5s", 5000],
            ["-5s", -5000],
            ["1.5h", 1.5 * HOUR],
            [".5m", 30_000],
            ["1.m", MIN],
            ["1h30m", 90 * MIN],
            ["300ms", 300],
            ["1000us", 1],
            ["1000µs", 1],
            ["1000μs", 1],
            ["3000000ns", 3],
            ["1s500ms", 1500],
            ["39h9m14.425s", 39 * HOUR + 9 * MIN + 14_425],
        ];
        for (const [text, ms] of accepted)
            assert.ok(Math.abs(parseGoDuration(text)! - ms) < 1e-6, `${text} -> ${parseGoDuration(text)}`);
    });

    it("refuses what Go refuses (Linkerd would then warn and silently keep 24 h)", () => {
        for (const text of [
            "",
            "3",
            "-",
            "s",
            ".s",
            "+.s",
            "1d",
            "24H",
            "1 h",
            "1hs",
            "1mh",
            "24h0m0",
            "1.5.h",
            "h1",
            " 2m",
            "2m ",
        ]) {
            assert.equal(parseGoDuration(text), undefined, JSON.stringify(text));
        }
    });

    it("derives L + 2·skew + max(L/24, 1 min): 25 h 40 s for Linkerd's 24 h, 3 min 40 s for a 2 min e2e", () => {
        assert.equal(derivedPhaseFloorMs(24 * HOUR), 25 * HOUR + 40_000);
        assert.equal(formatDuration(derivedPhaseFloorMs(24 * HOUR)), "25 h 0 min 40 s");
        assert.equal(derivedPhaseFloorMs(2 * MIN), 3 * MIN + 40_000);
        assert.equal(formatDuration(derivedPhaseFloorMs(2 * MIN)), "3 min 40 s");
        // The margin is a minute until L/24 passes it (L = 24 min).
        assert.equal(derivedPhaseFloorMs(48 * MIN) - 48 * MIN - 40_000, 2 * MIN);
    });

    it("every certificate issued from the old issuer before the switch has expired when the floor has passed", () => {
        // Leaves are valid until issue + L + skew (pkg/tls/ca.go Window); the last old one is issued at t0.
        for (const lifetime of [MIN, 2 * MIN, 30 * MIN, 24 * HOUR, 30 * 24 * HOUR]) {
            const lastOldLeafExpiry = lifetime + 20_000;
            assert.ok(derivedPhaseFloorMs(lifetime) > lastOldLeafExpiry, `${lifetime}`);
        }
    });

    it("the floor in force: minutes, else hours, else the derived one — each naming its key", () => {
        assert.deepEqual(phaseFloor({ issuanceLifetime: "2m", minMinutesBetweenPhases: 5 }), {
            ms: 5 * MIN,
            key: "identity.trustAnchor.minMinutesBetweenPhases",
            says: "identity.trustAnchor.minMinutesBetweenPhases being 5",
        });
        assert.equal(phaseFloor({ issuanceLifetime: "24h0m0s", minHoursBetweenPhases: 30 }).ms, 30 * HOUR);
        const derived = phaseFloor({ issuanceLifetime: "24h0m0s" });
        assert.equal(derived.ms, 25 * HOUR + 40_000);
        assert.equal(derived.key, "identity.issuer.issuanceLifetime");
        assert.match(derived.says, /derived from identity.issuer.issuanceLifetime 24h0m0s being 25 h 0 min 40 s/);
        assert.throws(() => phaseFloor({ issuanceLifetime: "1d" }), /not a Go duration/);
    });
});
