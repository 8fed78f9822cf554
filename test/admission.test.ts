/** The admission oracle (test/admission.ts) against Kubernetes' selector and rule semantics. */
import { strict as assert } from "node:assert";
import { selects, webhooksCalled } from "./admission";

describe("the admission oracle", () => {
    it("label selectors: every requirement holds; NotIn and DoesNotExist hold for a missing key; none selects all", () => {
        assert.equal(selects(undefined, {}), true);
        assert.equal(selects({}, { a: "1" }), true);
        assert.equal(selects({ matchLabels: { a: "1" } }, { a: "1", b: "2" }), true);
        assert.equal(selects({ matchLabels: { a: "1" } }, { a: "2" }), false);
        assert.equal(
            selects({ matchExpressions: [{ key: "a", operator: "In", values: ["1", "2"] }] }, { a: "2" }),
            true,
        );
        assert.equal(selects({ matchExpressions: [{ key: "a", operator: "In", values: ["1"] }] }, {}), false);
        assert.equal(selects({ matchExpressions: [{ key: "a", operator: "NotIn", values: ["1"] }] }, {}), true);
        assert.equal(
            selects({ matchExpressions: [{ key: "a", operator: "NotIn", values: ["1"] }] }, { a: "1" }),
            false,
        );
        assert.equal(selects({ matchExpressions: [{ key: "a", operator: "Exists" }] }, { a: "" }), true);
        assert.equal(selects({ matchExpressions: [{ key: "a", operator: "DoesNotExist" }] }, { a: "" }), false);
        assert.equal(
            selects({ matchLabels: { a: "1" }, matchExpressions: [{ key: "b", operator: "Exists" }] }, { a: "1" }),
            false,
        );
    });

    it("a webhook is called when a rule matches and both selectors select; the namespace carries its name label", () => {
        const configuration = {
            kind: "ValidatingWebhookConfiguration",
            metadata: { name: "v" },
            webhooks: [
                {
                    name: "w",
                    failurePolicy: "Fail",
                    namespaceSelector: {
                        matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["mesh"] }],
                    },
                    rules: [
                        {
                            operations: ["CREATE", "UPDATE"],
                            apiGroups: ["gateway.networking.k8s.io"],
                            apiVersions: ["*"],
                            resources: ["httproutes"],
                        },
                    ],
                },
            ],
        };
        const route = {
            operation: "CREATE" as const,
            group: "gateway.networking.k8s.io",
            version: "v1",
            resource: "httproutes",
        };
        assert.deepEqual(webhooksCalled([configuration], { ...route, namespace: "mesh" }), [
            { name: "v/w", failurePolicy: "Fail" },
        ]);
        assert.deepEqual(webhooksCalled([configuration], { ...route, namespace: "other" }), []);
        assert.deepEqual(webhooksCalled([configuration], { ...route, namespace: "mesh", operation: "DELETE" }), []);
        assert.deepEqual(webhooksCalled([configuration], { ...route, namespace: "mesh", resource: "grpcroutes" }), []);
        assert.deepEqual(
            webhooksCalled([{ ...configuration, kind: "ConfigMap" }], { ...route, namespace: "mesh" }),
            [],
        );
    });
});
