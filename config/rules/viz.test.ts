/** The viz rules, called directly on a parsed config. */
import { strict as assert } from "node:assert";
import { TARGETS } from "../schema";
import { issuesOf, validConfig } from "./testing";
import { validateDashboardIngress, validatePrometheusAccess, validatePrometheusMode } from "./viz";

const EXTERNAL = {
    viz: { prometheus: { mode: "external", url: "http://prometheus.monitoring.svc:9090", alertmanagers: [] } },
    observability: { prometheusOperator: true },
};

describe("rules: viz", () => {
    it("every rule accepts every target's preset", () => {
        for (const rule of [validatePrometheusMode, validateDashboardIngress, validatePrometheusAccess]) {
            for (const target of TARGETS) assert.deepEqual(issuesOf(rule, validConfig(target)), [], `${rule.name} on ${target}`);
        }
    });

    describe("validatePrometheusMode", () => {
        it("refuses an external Prometheus without its URL", () => {
            assert.deepEqual(issuesOf(validatePrometheusMode, validConfig("eks", { viz: { prometheus: { mode: "external" } } })), [
                ["viz.prometheus.url", "is required when viz.prometheus.mode is external"],
            ]);
            assert.deepEqual(issuesOf(validatePrometheusMode, validConfig("eks", EXTERNAL)), []);
        });
    });

    describe("validateDashboardIngress", () => {
        it("refuses an Ingress without host or SSO annotations", () => {
            assert.deepEqual(issuesOf(validateDashboardIngress, validConfig("eks", { viz: { dashboard: { ingress: { enabled: true } } } })), [
                ["viz.dashboard.ingress.host", "is required when the ingress is enabled"],
                ["viz.dashboard.ingress.authAnnotations", "must hold the SSO forward-auth annotations: the dashboard (and its tap) has no login of its own"],
            ]);
        });

        it("accepts an Ingress with both", () => {
            const ingress = {
                enabled: true,
                host: "linkerd.akko.example",
                authAnnotations: { "nginx.ingress.kubernetes.io/auth-url": "https://auth.akko.example" },
            };
            assert.deepEqual(issuesOf(validateDashboardIngress, validConfig("eks", { viz: { dashboard: { ingress } } })), []);
        });
    });

    describe("validatePrometheusAccess", () => {
        it("refuses Alertmanagers and readers without the bundled Prometheus", () => {
            const config = validConfig("eks", EXTERNAL);
            config.viz.prometheus.alertmanagers = ["http://am:9093"];
            config.viz.prometheus.readers = { networks: ["10.0.0.0/8"] };
            assert.deepEqual(
                issuesOf(validatePrometheusAccess, config).map(([path]) => path),
                ["viz.prometheus.alertmanagers", "viz.prometheus.readers"],
            );
        });

        it("refuses readers of both kinds, and a reader that is not an identity", () => {
            const both = validConfig("eks", {
                viz: { prometheus: { readers: { clients: ["grafana.monitoring.serviceaccount.identity.linkerd.cluster.local"], networks: ["10.0.0.0/8"] } } },
            });
            assert.deepEqual(issuesOf(validatePrometheusAccess, both), [
                [
                    "viz.prometheus.readers",
                    "needs either clients (ServiceAccount identities) or networks (CIDRs), not both: Linkerd would require both at once",
                ],
            ]);
            const notIdentity = validConfig("eks", { viz: { prometheus: { readers: { clients: ["grafana"] } } } });
            assert.deepEqual(issuesOf(validatePrometheusAccess, notIdentity), [
                [
                    "viz.prometheus.readers.clients.0",
                    "is not a ServiceAccount identity: <serviceaccount>.<namespace>.serviceaccount.identity.linkerd.cluster.local",
                ],
            ]);
        });

        it("strict mode: an external, unmeshed scraper needs an authentication; meshed or authenticated, it is accepted", () => {
            const strict = { ...EXTERNAL, mtls: { enabled: true, mode: "strict" } };
            assert.deepEqual(
                issuesOf(validatePrometheusAccess, validConfig("eks", strict)).map(([path]) => path),
                ["viz.prometheus.scraper.authentication"],
            );
            const authenticated = validConfig("eks", strict);
            authenticated.viz.prometheus.scraper.authentication = { networks: ["10.0.0.0/16"] };
            assert.deepEqual(issuesOf(validatePrometheusAccess, authenticated), []);
            const meshed = validConfig("eks", strict);
            meshed.mtls.namespaces = ["akko", "monitoring"];
            assert.deepEqual(issuesOf(validatePrometheusAccess, meshed), []);
        });
    });
});
