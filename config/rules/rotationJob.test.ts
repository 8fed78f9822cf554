/** The rotation Job's rules, called directly on a parsed config. */
import { strict as assert } from "node:assert";
import { TARGETS } from "../schema";
import { validateIssuerAlertThreshold, validateRotationDeadline } from "./rotationJob";
import { issuesOf, validConfig } from "./testing";

describe("rules: rotationJob", () => {
    describe("validateIssuerAlertThreshold", () => {
        it("accepts every target's preset (the threshold is derived later) and a threshold below the renewal window", () => {
            for (const target of TARGETS)
                assert.deepEqual(issuesOf(validateIssuerAlertThreshold, validConfig(target)), [], target);
            assert.deepEqual(
                issuesOf(validateIssuerAlertThreshold, validConfig("k3s", { rotationJob: { issuerMinHoursLeft: 24 } })),
                [],
            );
        });

        it("refuses a threshold at or above the issuer's renewBeforeHours, of the issuer in use", () => {
            assert.deepEqual(
                issuesOf(validateIssuerAlertThreshold, validConfig("k3s", { rotationJob: { issuerMinHoursLeft: 25 } })),
                [
                    [
                        "rotationJob.issuerMinHoursLeft",
                        "must be below the issuer's renewBeforeHours (25), or the check fails every day",
                    ],
                ],
            );
            // k3d's static issuer renews 2160 h before expiry.
            assert.deepEqual(
                issuesOf(
                    validateIssuerAlertThreshold,
                    validConfig("k3d", { rotationJob: { issuerMinHoursLeft: 2159 } }),
                ),
                [],
            );
            assert.deepEqual(
                issuesOf(
                    validateIssuerAlertThreshold,
                    validConfig("k3d", { rotationJob: { issuerMinHoursLeft: 2160 } }),
                ),
                [
                    [
                        "rotationJob.issuerMinHoursLeft",
                        "must be below the issuer's renewBeforeHours (2160), or the check fails every day",
                    ],
                ],
            );
        });
    });

    describe("validateRotationDeadline", () => {
        it("accepts every target's preset, and a restart that leaves exactly a minute", () => {
            for (const target of TARGETS)
                assert.deepEqual(issuesOf(validateRotationDeadline, validConfig(target)), [], target);
            assert.deepEqual(
                issuesOf(
                    validateRotationDeadline,
                    validConfig("k3s", { rotationJob: { rolloutTimeoutSeconds: 2940, deadlineMinutes: 50 } }),
                ),
                [],
            );
        });

        it("refuses a restart timeout that does not fit in the deadline with a minute to spare", () => {
            assert.deepEqual(
                issuesOf(
                    validateRotationDeadline,
                    validConfig("k3s", { rotationJob: { rolloutTimeoutSeconds: 2941, deadlineMinutes: 50 } }),
                ),
                [
                    [
                        "rotationJob.rolloutTimeoutSeconds",
                        "must leave a minute inside rotationJob.deadlineMinutes (50 min): one restart could never finish in time",
                    ],
                ],
            );
        });
    });
});
