/** The trust stack's rules (config/rules/fleet.ts), and its config as the program loads it (config/fleet.ts). */
import { strict as assert } from "node:assert";
import { ConfigError, resolveConfig } from "../index";
import { resolveTrustConfig } from "../fleet";
import { validateFleetClusters, validateFleetIntermediates } from "./fleet";
import type { RuleIssue } from "./types";
import type { TrustStackShape } from "../schema/fleet";

/** A valid trust config with these members and identity settings, as the schema parses it (the rules not applied). */
const trust = (clusters: string[], identity: { trustAnchor?: object; intermediate?: object } = {}): TrustStackShape => {
    const valid = resolveTrustConfig({ target: "trust", fleet: { clusters: ["placeholder"] } }, "trust");
    return {
        ...valid,
        identity: {
            ...valid.identity,
            trustAnchor: { ...valid.identity.trustAnchor, ...identity.trustAnchor },
            intermediate: { ...valid.identity.intermediate, ...identity.intermediate },
        },
        fleet: { clusters },
    };
};
const issues = (check: (ctx: { addIssue: (i: RuleIssue) => void }) => void) => {
    const found: [string, string][] = [];
    check({ addIssue: (i) => found.push([i.path.join("."), i.message]) });
    return found;
};

describe("rules: fleet (the trust stack)", () => {
    it("validateFleetClusters: each member once, never the trust stack itself", () => {
        assert.deepEqual(
            issues((ctx) => validateFleetClusters(trust(["netcup", "eks"]), "trust", ctx)),
            [],
        );
        assert.deepEqual(
            issues((ctx) => validateFleetClusters(trust(["netcup", "trust", "netcup"]), "trust", ctx)),
            [
                ["fleet.clusters.1", "is this trust stack itself: list the member cluster stacks only"],
                ["fleet.clusters.2", "lists netcup twice: each member once"],
            ],
        );
    });

    it("validateFleetIntermediates: shorter than the anchor, renewed before expiry", () => {
        assert.deepEqual(
            issues((ctx) =>
                validateFleetIntermediates(
                    trust(["a"], {
                        trustAnchor: { validityHours: 8760 },
                        intermediate: { validityHours: 8760, renewBeforeHours: 8760 },
                    }),
                    ctx,
                ),
            ),
            [
                [
                    "identity.intermediate.validityHours",
                    "must be shorter than identity.trustAnchor.validityHours (8760)",
                ],
                [
                    "identity.intermediate.renewBeforeHours",
                    "must be shorter than identity.intermediate.validityHours (8760)",
                ],
            ],
        );
    });
});

describe("the trust stack's config (config/fleet.ts)", () => {
    const refused = (values: Record<string, unknown>, secretKeys: string[] = []) => {
        try {
            resolveTrustConfig(values, "trust", secretKeys);
        } catch (error) {
            assert.ok(error instanceof ConfigError, String(error));
            return error.message;
        }
        assert.fail(`accepted ${JSON.stringify(values)}`);
    };

    it("takes the cluster stacks' identity defaults", () => {
        const config = resolveTrustConfig({ target: "trust", fleet: { clusters: ["netcup", "eks"] } }, "trust");
        assert.deepEqual(config.identity.trustAnchor, {
            validityHours: 87600,
            expiryWarningDays: 60,
            generation: 1,
            rotationPhase: 0,
        });
        assert.deepEqual(config.fleet.clusters, ["netcup", "eks"]);
    });

    it("derives the fleet's phase floor from the members' longest issuance lifetime, and refuses a floor below it", () => {
        const config = resolveTrustConfig(
            { target: "trust", fleet: { clusters: ["netcup"] }, identity: { issuer: { issuanceLifetime: "48h" } } },
            "trust",
        );
        assert.equal(config.identity.issuer.issuanceLifetime, "48h");
        assert.match(
            refused({
                target: "trust",
                fleet: { clusters: ["netcup"] },
                identity: { issuer: { issuanceLifetime: "48h" }, trustAnchor: { minHoursBetweenPhases: 30 } },
            }),
            /akko-mtls:identity\.trustAnchor\.minHoursBetweenPhases.*must be at least 50 h 0 min 40 s/,
        );
    });

    it("refuses, naming the key: a member that is no DNS label, a duplicate, itself, a cluster key, a secret key", () => {
        assert.match(
            refused({ target: "trust", fleet: { clusters: ["Net_cup"] } }),
            /akko-mtls:fleet\.clusters\[0\]: a stack name that is a DNS label/,
        );
        assert.match(
            refused({ target: "trust", fleet: { clusters: ["eks", "eks"] } }),
            /akko-mtls:fleet\.clusters\[1\]: lists eks twice/,
        );
        assert.match(
            refused({ target: "trust", fleet: { clusters: ["trust"] } }),
            /akko-mtls:fleet\.clusters\[0\]: is this trust stack itself/,
        );
        assert.match(
            refused({ target: "trust", fleet: { clusters: [] } }),
            /akko-mtls:fleet\.clusters: list at least one member stack/,
        );
        assert.match(
            refused({ target: "trust", fleet: { clusters: ["eks"] }, mtls: { enabled: true } }),
            /akko-mtls:mtls: unknown key for a trust stack/,
        );
        assert.match(
            refused({ target: "trust", fleet: { clusters: ["eks"] }, identity: { trustAnchor: { fleetStack: "x" } } }),
            /akko-mtls:identity\.trustAnchor\.fleetStack: unknown key/,
        );
        assert.match(
            refused({ target: "trust", fleet: { clusters: ["eks"] } }, ["fleet"]),
            /akko-mtls:fleet: a trust stack holds no secret config/,
        );
    });
});

describe("a member's identity.trustAnchor.fleetStack", () => {
    it("names a StackReference, kept in the open: refused under a key marked secret, and not a DNS label is refused", () => {
        const values = {
            target: "k3s",
            cluster: { context: "netcup" },
            identity: { trustAnchor: { fleetStack: "trust" } },
        };
        assert.equal(resolveConfig(values).identity.trustAnchor.fleetStack, "trust");
        assert.throws(
            () => resolveConfig(values, ["identity"]),
            /akko-mtls:identity\.trustAnchor\.fleetStack: names Kubernetes objects and Pulumi resources/,
        );
        assert.throws(
            () => resolveConfig({ ...values, identity: { trustAnchor: { fleetStack: "org/akko-mtls/trust" } } }),
            /akko-mtls:identity\.trustAnchor\.fleetStack: a stack name that is a DNS label/,
        );
    });
});
