/** The identity rules, called directly on a parsed config. */
import { strict as assert } from "node:assert";
import { TARGETS } from "../schema";
import {
    validateAnchorExpiryThresholds,
    validateIntermediateLifetimes,
    validateIssuerLifetimes,
    validatePhaseFloor,
} from "./identity";
import { issuesOf, validConfig } from "./testing";

describe("rules: identity", () => {
    describe("validateIssuerLifetimes", () => {
        it("accepts every target's preset", () => {
            for (const target of TARGETS)
                assert.deepEqual(issuesOf(validateIssuerLifetimes, validConfig(target)), [], target);
        });

        it("refuses an issuer that lives as long as the anchor", () => {
            const config = validConfig("k3d", { identity: { issuer: { static: { validityHours: 87600 } } } });
            assert.deepEqual(issuesOf(validateIssuerLifetimes, config), [
                [
                    "identity.issuer.static.validityHours",
                    "must be shorter than identity.trustAnchor.validityHours (87600)",
                ],
            ]);
        });

        it("refuses a renewal window as long as the validity, for either issuer", () => {
            const config = validConfig("k3s", {
                identity: { issuer: { static: { renewBeforeHours: 8760 }, certManager: { renewBeforeHours: 48 } } },
            });
            assert.deepEqual(issuesOf(validateIssuerLifetimes, config), [
                [
                    "identity.issuer.static.renewBeforeHours",
                    "must be shorter than identity.issuer.static.validityHours (8760)",
                ],
                [
                    "identity.issuer.certManager.renewBeforeHours",
                    "must be shorter than identity.issuer.certManager.durationHours (48)",
                ],
            ]);
            const justShorter = validConfig("k3s", {
                identity: { issuer: { static: { renewBeforeHours: 8759 }, certManager: { renewBeforeHours: 47 } } },
            });
            assert.deepEqual(issuesOf(validateIssuerLifetimes, justShorter), []);
        });
    });

    describe("validateIntermediateLifetimes", () => {
        it("accepts every target's preset", () => {
            for (const target of TARGETS)
                assert.deepEqual(issuesOf(validateIntermediateLifetimes, validConfig(target)), [], target);
        });

        it("refuses an intermediate that outlives the anchor, or is re-signed on every run", () => {
            const config = validConfig("k3s", {
                identity: {
                    trustAnchor: { validityHours: 8760 },
                    intermediate: { validityHours: 8760, renewBeforeHours: 8760 },
                },
            });
            assert.deepEqual(issuesOf(validateIntermediateLifetimes, config), [
                [
                    "identity.intermediate.validityHours",
                    "must be shorter than identity.trustAnchor.validityHours (8760)",
                ],
                [
                    "identity.intermediate.renewBeforeHours",
                    "must be shorter than identity.intermediate.validityHours (8760)",
                ],
            ]);
        });

        it("refuses a renewal window within a cert-manager issuer's duration: the issuer's copy of the old intermediate would expire first", () => {
            const config = validConfig("k3s", { identity: { intermediate: { renewBeforeHours: 48 } } });
            assert.deepEqual(issuesOf(validateIntermediateLifetimes, config), [
                [
                    "identity.intermediate.renewBeforeHours",
                    "must be longer than identity.issuer.certManager.durationHours (48): the issuer Secret keeps a copy of the old intermediate until cert-manager next renews the issuer",
                ],
            ]);
            assert.deepEqual(
                issuesOf(
                    validateIntermediateLifetimes,
                    validConfig("k3s", { identity: { intermediate: { renewBeforeHours: 49 } } }),
                ),
                [],
            );
        });

        it("refuses a static issuer that outlives its intermediate", () => {
            const config = validConfig("k3d", {
                identity: { intermediate: { validityHours: 4380, renewBeforeHours: 720 } },
            });
            assert.deepEqual(issuesOf(validateIntermediateLifetimes, config), [
                [
                    "identity.issuer.static.validityHours",
                    "must not exceed identity.intermediate.validityHours (4380): the issuer's chain would break before it expires",
                ],
            ]);
        });
    });

    describe("validateAnchorExpiryThresholds", () => {
        it("accepts every target's preset, and thresholds a day inside the validity", () => {
            for (const target of TARGETS)
                assert.deepEqual(issuesOf(validateAnchorExpiryThresholds, validConfig(target)), [], target);
            const tight = validConfig("k3s", {
                identity: { trustAnchor: { validityHours: 720, expiryWarningDays: 29 } },
                rotationJob: { anchorMinDaysLeft: 29 },
            });
            assert.deepEqual(issuesOf(validateAnchorExpiryThresholds, tight), []);
        });

        it("refuses thresholds at or beyond the anchor's validity: the daily Job would fail forever, pulumi up would always warn", () => {
            const config = validConfig("k3s", {
                identity: { trustAnchor: { validityHours: 720, expiryWarningDays: 30 } },
                rotationJob: { anchorMinDaysLeft: 30 },
            });
            assert.deepEqual(issuesOf(validateAnchorExpiryThresholds, config), [
                [
                    "rotationJob.anchorMinDaysLeft",
                    "must be below the trust anchor's validity (identity.trustAnchor.validityHours 720 = 30 days): the daily Job would fail from the day the anchor is made, and every day after",
                ],
                [
                    "identity.trustAnchor.expiryWarningDays",
                    "must be below the trust anchor's validity (identity.trustAnchor.validityHours 720 = 30 days): `pulumi up` would warn on every run from the day the anchor is made",
                ],
            ]);
        });

        it("the defaults (60 days) refuse an anchor of 45 days", () => {
            const config = validConfig("k3d", { identity: { trustAnchor: { validityHours: 24 * 45 } } });
            assert.deepEqual(
                issuesOf(validateAnchorExpiryThresholds, config).map(([path]) => path),
                ["rotationJob.anchorMinDaysLeft", "identity.trustAnchor.expiryWarningDays"],
            );
        });
    });

    describe("validatePhaseFloor", () => {
        const paths = (config: ReturnType<typeof validConfig>) =>
            issuesOf(validatePhaseFloor, config).map(([path]) => path);

        it("accepts every target's preset: the floor is derived there", () => {
            for (const target of TARGETS)
                assert.deepEqual(issuesOf(validatePhaseFloor, validConfig(target)), [], target);
        });

        it("refuses a configured floor below the one derived from the lifetime, naming the key that set it", () => {
            const hours = validConfig("k3s", { identity: { trustAnchor: { minHoursBetweenPhases: 25 } } });
            const [[path, message]] = issuesOf(validatePhaseFloor, hours);
            assert.equal(path, "identity.trustAnchor.minHoursBetweenPhases");
            assert.match(
                message,
                /^must be at least 25 h 0 min 40 s, the floor derived from identity.issuer.issuanceLifetime 24h0m0s/,
            );
            assert.deepEqual(
                paths(validConfig("k3s", { identity: { trustAnchor: { minHoursBetweenPhases: 26 } } })),
                [],
            );

            const short = { issuer: { issuanceLifetime: "2m" } };
            assert.deepEqual(
                paths(validConfig("k3d", { identity: { ...short, trustAnchor: { minMinutesBetweenPhases: 3 } } })),
                ["identity.trustAnchor.minMinutesBetweenPhases"],
            );
            assert.deepEqual(
                paths(validConfig("k3d", { identity: { ...short, trustAnchor: { minMinutesBetweenPhases: 4 } } })),
                [],
            );
        });

        it("a longer lifetime raises the derived floor over a floor that was enough for 24 h", () => {
            const config = validConfig("k3s", {
                identity: { issuer: { issuanceLifetime: "48h" }, trustAnchor: { minHoursBetweenPhases: 30 } },
            });
            assert.match(issuesOf(validatePhaseFloor, config)[0][1], /at least 50 h 0 min 40 s/);
        });

        it("refuses both units at once", () => {
            const config = validConfig("k3s", {
                identity: { trustAnchor: { minHoursBetweenPhases: 30, minMinutesBetweenPhases: 2000 } },
            });
            assert.deepEqual(paths(config), ["identity.trustAnchor.minMinutesBetweenPhases"]);
        });
    });
});
