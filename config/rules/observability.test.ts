/** The observability rules, called directly on a parsed config. */
import { strict as assert } from "node:assert";
import { TARGETS } from "../schema";
import { validateAlertRulesHome, validateGrafanaDashboardsNamespace } from "./observability";
import { issuesOf, validConfig } from "./testing";

describe("rules: observability", () => {
    describe("validateAlertRulesHome", () => {
        it("accepts every target's preset (viz's bundled Prometheus), and the operator with an external Prometheus", () => {
            for (const target of TARGETS)
                assert.deepEqual(issuesOf(validateAlertRulesHome, validConfig(target)), [], target);
            const external = validConfig("eks", {
                viz: { prometheus: { mode: "external" } },
                observability: { prometheusOperator: true },
            });
            assert.deepEqual(issuesOf(validateAlertRulesHome, external), []);
        });

        it("refuses rules with no home: an external Prometheus, or no viz, without the operator", () => {
            assert.deepEqual(
                issuesOf(validateAlertRulesHome, validConfig("eks", { viz: { prometheus: { mode: "external" } } })),
                [
                    [
                        "observability.prometheusOperator",
                        "must be true with an external Prometheus: the alert rules cannot be mounted into it, only given as a PrometheusRule",
                    ],
                ],
            );
            assert.deepEqual(issuesOf(validateAlertRulesHome, validConfig("eks", { viz: { enabled: false } })), [
                [
                    "observability.prometheusOperator",
                    "must be true when viz.enabled is false: without viz's Prometheus the alert rules need the operator",
                ],
            ]);
        });
    });

    describe("validateGrafanaDashboardsNamespace", () => {
        it("accepts linkerd-viz with viz, and another namespace without", () => {
            assert.deepEqual(issuesOf(validateGrafanaDashboardsNamespace, validConfig("eks")), []);
            const own = validConfig("eks", {
                viz: { enabled: false },
                observability: { grafanaDashboards: { namespace: "monitoring" } },
            });
            assert.deepEqual(issuesOf(validateGrafanaDashboardsNamespace, own), []);
        });

        it("refuses linkerd-viz when viz is off", () => {
            assert.deepEqual(
                issuesOf(validateGrafanaDashboardsNamespace, validConfig("eks", { viz: { enabled: false } })),
                [
                    [
                        "observability.grafanaDashboards.namespace",
                        "is linkerd-viz, which does not exist with viz.enabled false: name your Grafana's namespace",
                    ],
                ],
            );
        });
    });
});
