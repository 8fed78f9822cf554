/** The cluster rules, called directly on a parsed config. */
import { strict as assert } from "node:assert";
import { validateGkePrivate } from "./cluster";
import { issuesOf, validConfig } from "./testing";

const GKE_PRIVATE = { masterIpv4CidrBlock: "172.16.0.0/28", network: "akko-vpc", nodeTag: "gke-akko" };

describe("rules: cluster", () => {
    describe("validateGkePrivate", () => {
        it("accepts a private GKE cluster on gke, and no gkePrivate anywhere", () => {
            assert.deepEqual(
                issuesOf(validateGkePrivate, validConfig("gke", { cluster: { gkePrivate: GKE_PRIVATE } })),
                [],
            );
            assert.deepEqual(issuesOf(validateGkePrivate, validConfig("eks")), []);
        });

        it("refuses gkePrivate on another target", () => {
            assert.deepEqual(
                issuesOf(validateGkePrivate, validConfig("eks", { cluster: { gkePrivate: GKE_PRIVATE } })),
                [["cluster.gkePrivate", "only applies to target gke (this is eks)"]],
            );
        });
    });
});
