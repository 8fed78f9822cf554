/** The Linkerd and availability rules, called directly on a parsed config. */
import { strict as assert } from "node:assert";
import { TARGETS } from "../schema";
import { validateControllerReplicas, validateSingleNode, validateWebhookFailurePolicy } from "./linkerd";
import { issuesOf, validConfig } from "./testing";

describe("rules: linkerd", () => {
    it("every rule accepts every target's preset", () => {
        for (const rule of [validateSingleNode, validateWebhookFailurePolicy, validateControllerReplicas]) {
            for (const target of TARGETS)
                assert.deepEqual(issuesOf(rule, validConfig(target)), [], `${rule.name} on ${target}`);
        }
    });

    describe("validateSingleNode", () => {
        it("refuses high availability of linkerd, viz or cert-manager on a single node", () => {
            const config = validConfig("k3d", {
                linkerd: { highAvailability: true },
                viz: { highAvailability: true },
                certManager: { highAvailability: true },
            });
            assert.deepEqual(issuesOf(validateSingleNode, config), [
                [
                    "linkerd.highAvailability",
                    "must be false on the single-node target k3d (HA anti-affinity needs 3 nodes)",
                ],
                ["viz.highAvailability", "must be false on the single-node target k3d"],
                ["certManager.highAvailability", "must be false on the single-node target k3d"],
            ]);
        });

        it("accepts no high availability on a multi-node target", () => {
            const config = validConfig("eks", {
                linkerd: { highAvailability: false },
                viz: { highAvailability: false },
                certManager: { highAvailability: false },
            });
            assert.deepEqual(issuesOf(validateSingleNode, config), []);
        });
    });

    describe("validateWebhookFailurePolicy", () => {
        it("refuses Fail without high availability", () => {
            const issues = issuesOf(
                validateWebhookFailurePolicy,
                validConfig("k3s", { linkerd: { webhookFailurePolicy: "Fail" } }),
            );
            assert.deepEqual(
                issues.map(([path]) => path),
                ["linkerd.webhookFailurePolicy"],
            );
            assert.match(issues[0][1], /^Fail needs linkerd\.highAvailability true/);
        });

        it("accepts Ignore with high availability", () => {
            assert.deepEqual(
                issuesOf(
                    validateWebhookFailurePolicy,
                    validConfig("eks", { linkerd: { webhookFailurePolicy: "Ignore" } }),
                ),
                [],
            );
        });
    });

    describe("validateControllerReplicas", () => {
        it("refuses fewer than 3 replicas with high availability", () => {
            assert.deepEqual(
                issuesOf(validateControllerReplicas, validConfig("gke", { linkerd: { controllerReplicas: 2 } })),
                [["linkerd.controllerReplicas", "must be at least 3 when linkerd.highAvailability is true"]],
            );
            assert.deepEqual(
                issuesOf(validateControllerReplicas, validConfig("gke", { linkerd: { controllerReplicas: 5 } })),
                [],
            );
        });
    });
});
