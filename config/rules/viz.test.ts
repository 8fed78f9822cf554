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
            for (const target of TARGETS)
                assert.deepEqual(issuesOf(rule, validConfig(target)), [], `${rule.name} on ${target}`);
        }
    });

    describe("validatePrometheusMode", () => {
        it("refuses an external Prometheus without its URL", () => {
            assert.deepEqual(
                issuesOf(validatePrometheusMode, validConfig("eks", { viz: { prometheus: { mode: "external" } } })),
                [["viz.prometheus.url", "is required when viz.prometheus.mode is external"]],
            );
            assert.deepEqual(issuesOf(validatePrometheusMode, validConfig("eks", EXTERNAL)), []);
        });
    });

    describe("validatePrometheusMode: settings the bundled Prometheus would ignore", () => {
        it("refuses a URL and a scraper authentication with the bundled Prometheus", () => {
            const config = validConfig("eks", {
                viz: {
                    prometheus: {
                        url: "http://prometheus.monitoring.svc:9090",
                        scraper: { authentication: { networks: ["10.0.0.0/8"] } },
                    },
                },
            });
            assert.deepEqual(
                issuesOf(validatePrometheusMode, config).map(([path]) => path),
                ["viz.prometheus.url", "viz.prometheus.scraper.authentication"],
            );
        });
    });

    describe("validateDashboardIngress: a gate in front of the dashboard", () => {
        const host = "linkerd.akko.example";
        const withAnnotations = (authAnnotations: Record<string, string>, vizEnabled = true) =>
            validConfig("eks", {
                viz: { enabled: vizEnabled, dashboard: { ingress: { enabled: true, host, authAnnotations } } },
            });
        it("accepts each controller's gate", () => {
            for (const annotations of <Record<string, string>[]>[
                { "nginx.ingress.kubernetes.io/auth-url": "https://sso.akko.example/oauth2/auth" },
                { "traefik.ingress.kubernetes.io/router.middlewares": "sso-forward-auth@kubernetescrd" },
                {
                    "alb.ingress.kubernetes.io/auth-type": "oidc",
                    "alb.ingress.kubernetes.io/auth-idp-oidc": '{"issuer":"https://sso.akko.example"}',
                },
            ]) {
                assert.deepEqual(
                    issuesOf(validateDashboardIngress, withAnnotations(annotations)),
                    [],
                    JSON.stringify(annotations),
                );
            }
        });

        it("refuses tuning without a gate, an ALB without its identity provider or letting unauthenticated requests through, and an Ingress without viz", () => {
            assert.deepEqual(
                issuesOf(
                    validateDashboardIngress,
                    withAnnotations({ "nginx.ingress.kubernetes.io/auth-signin": "https://sso.akko.example/start" }),
                ).map(([path]) => path),
                ["viz.dashboard.ingress.authAnnotations"],
            );
            const alb = withAnnotations({
                "alb.ingress.kubernetes.io/auth-type": "cognito",
                "alb.ingress.kubernetes.io/auth-on-unauthenticated-request": "allow",
            });
            assert.deepEqual(
                issuesOf(validateDashboardIngress, alb).map(([path]) => path),
                [
                    "viz.dashboard.ingress.authAnnotations.alb.ingress.kubernetes.io/auth-idp-cognito",
                    "viz.dashboard.ingress.authAnnotations.alb.ingress.kubernetes.io/auth-on-unauthenticated-request",
                ],
            );
            const noViz = withAnnotations(
                { "nginx.ingress.kubernetes.io/auth-url": "https://sso.akko.example/oauth2/auth" },
                false,
            );
            assert.deepEqual(issuesOf(validateDashboardIngress, noViz), [
                [
                    "viz.dashboard.ingress.enabled",
                    "needs viz.enabled true: without viz there is no dashboard to publish",
                ],
            ]);
        });
    });

    describe("validateDashboardIngress", () => {
        it("refuses an Ingress without host or SSO annotations", () => {
            assert.deepEqual(
                issuesOf(
                    validateDashboardIngress,
                    validConfig("eks", { viz: { dashboard: { ingress: { enabled: true } } } }),
                ),
                [
                    ["viz.dashboard.ingress.host", "is required when the ingress is enabled"],
                    [
                        "viz.dashboard.ingress.authAnnotations",
                        "must hold a forward-auth gate, the dashboard (and its tap) having no login of its own: nginx.ingress.kubernetes.io/auth-url " +
                            "(ingress-nginx), traefik.ingress.kubernetes.io/router.middlewares (traefik), alb.ingress.kubernetes.io/auth-type (aws-load-balancer-controller)",
                    ],
                ],
            );
        });

        it("accepts an Ingress with both", () => {
            const ingress = {
                enabled: true,
                host: "linkerd.akko.example",
                authAnnotations: { "nginx.ingress.kubernetes.io/auth-url": "https://auth.akko.example" },
            };
            assert.deepEqual(
                issuesOf(validateDashboardIngress, validConfig("eks", { viz: { dashboard: { ingress } } })),
                [],
            );
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
                viz: {
                    prometheus: {
                        readers: {
                            clients: ["grafana.monitoring.serviceaccount.identity.linkerd.cluster.local"],
                            networks: ["10.0.0.0/8"],
                        },
                    },
                },
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
