/** linkerd-viz: after the control plane, its namespace metadata, sizing, Prometheus, the dashboard's exposure. */
import { strict as assert } from "node:assert";
import { ConfigError } from "../config";
import { enforcedHostRegexp } from "../components/linkerdViz";
import { dependsOn, ofType, one, ProgramRun } from "../tools/mockRuntime";
import { runStack, runStackOk, STACKS } from "./helpers";
import { PART_OF, PART_OF_LABEL } from "../lib/objects";

const CHART = "kubernetes:helm.sh/v4:Chart";
const vizChart = (run: ProgramRun) => one(run, CHART, "akko-viz-chart");

describe("linkerd-viz", () => {
    let netcup: ProgramRun;
    before(async () => {
        netcup = await runStackOk("netcup", { "mtls.enabled": true });
    });

    it("is on in every preset: the official chart, same edge version as the control plane", async () => {
        for (const stack of STACKS) {
            const run = stack === "netcup" ? netcup : await runStackOk(stack, { "mtls.enabled": true });
            const chart = vizChart(run);
            assert.equal(chart.inputs.chart, "linkerd-viz");
            assert.equal(chart.inputs.version, "2026.8.3");
            assert.equal(chart.inputs.repositoryOpts.repo, "https://helm.linkerd.io/edge");
            assert.equal(chart.inputs.namespace, "linkerd-viz");
        }
    });

    it("depends on the control plane, and not the other way round", () => {
        const controlPlane = one(netcup, CHART, "akko-linkerd-control-plane");
        const viz = vizChart(netcup);
        assert.ok(dependsOn(netcup, viz, controlPlane));
        assert.ok(dependsOn(netcup, viz, one(netcup, CHART, "akko-linkerd-crds")), "viz renders policy CRs");
        assert.ok(!dependsOn(netcup, controlPlane, viz));
    });

    it("its namespace carries what the namespace-metadata hook would add (helm.v4.Chart runs no hooks)", async () => {
        const namespace = one(netcup, "kubernetes:core/v1:Namespace", "akko-viz-namespace");
        assert.deepEqual(namespace.inputs.metadata.labels, {
            // The program's own label on every namespace it creates (lib/objects.ts), beside the hook's.
            [PART_OF_LABEL]: PART_OF,
            "linkerd.io/extension": "viz",
            "pod-security.kubernetes.io/enforce": "privileged",
        });
        assert.equal(vizChart(netcup).inputs.values.createNamespaceMetadataJob, false);
        assert.ok(dependsOn(netcup, vizChart(netcup), namespace));
        const external = await runStackOk("eks", {
            "mtls.enabled": true,
            "viz.prometheus.mode": "external",
            "viz.prometheus.alertmanagers": [],
            "viz.prometheus.url": "http://prometheus.monitoring.svc:9090",
            "observability.prometheusOperator": true,
        });
        assert.deepEqual(
            one(external, "kubernetes:core/v1:Namespace", "akko-viz-namespace").inputs.metadata.annotations,
            {
                "viz.linkerd.io/external-prometheus": "http://prometheus.monitoring.svc:9090",
            },
        );
        const values = vizChart(external).inputs.values;
        assert.deepEqual(values.prometheus, { enabled: false });
        assert.equal(values.prometheusUrl, "http://prometheus.monitoring.svc:9090");
    });

    it("tap and tap-injector certificates are supplied by the program's webhook CA, on netcup (cert-manager) as on k3d", async () => {
        const values = vizChart(netcup).inputs.values;
        assert.deepEqual(values.tap.externalSecret, true);
        const ca = one(netcup, "tls:index/selfSignedCert:SelfSignedCert", "akko-viz-webhooks-ca").state.certPem;
        assert.equal(values.tap.caBundle, ca);
        assert.equal(values.tapInjector.caBundle, ca);
        for (const service of ["tap", "tap-injector"]) {
            const secret = one(netcup, "kubernetes:core/v1:Secret", `akko-viz-webhooks-${service}-secret`);
            assert.equal(secret.inputs.metadata.name, `${service}-k8s-tls`);
            assert.equal(secret.inputs.metadata.namespace, "linkerd-viz");
            assert.ok(dependsOn(netcup, vizChart(netcup), secret));
        }
        const k3dRun = await runStackOk("k3d", { "mtls.enabled": true });
        const k3d = vizChart(k3dRun);
        for (const [key, service] of [
            ["tap", "tap"],
            ["tapInjector", "tap-injector"],
        ]) {
            assert.deepEqual(
                Object.keys(k3d.inputs.values[key]).sort(),
                ["caBundle", "externalSecret", ...(key === "tap" ? ["replicas"] : []), "resources"].sort(),
            );
            assert.equal(k3d.inputs.values[key].externalSecret, true);
            assert.match(k3d.inputs.values[key].caBundle, /BEGIN CERTIFICATE/);
            const secret = k3dRun.resources.find(
                (r) => r.type === "kubernetes:core/v1:Secret" && r.inputs.metadata.name === `${service}-k8s-tls`,
            )!;
            assert.equal(secret.inputs.metadata.namespace, "linkerd-viz");
            assert.equal(secret.inputs.type, "kubernetes.io/tls");
            assert.ok(dependsOn(k3dRun, k3d, secret), `viz waits for ${service}-k8s-tls`);
        }
        assert.deepEqual(k3d.secretPaths, [], "no key in the chart values");
    });

    it("single-node sizing: one replica each, bounded, a small Prometheus", () => {
        const values = vizChart(netcup).inputs.values;
        assert.equal(values.tap.replicas, 1);
        assert.equal(values.enablePodAntiAffinity, false);
        for (const key of ["tap", "tapInjector", "dashboard", "metricsAPI"]) {
            assert.ok(values[key].resources.memory.limit, `${key} memory limit`);
        }
        assert.deepEqual(values.prometheus.args, {
            "storage.tsdb.retention.time": "6h",
            "storage.tsdb.retention.size": "512MB",
        });
        assert.deepEqual(values.prometheus.resources, {
            cpu: { request: "20m", limit: "1" },
            memory: { request: "192Mi", limit: "768Mi" },
        });
    });

    it("HA on eks and gke, as viz's values-ha.yaml", async () => {
        for (const stack of ["eks", "gke"]) {
            const values = vizChart(await runStackOk(stack, { "mtls.enabled": true })).inputs.values;
            assert.equal(values.tap.replicas, 3);
            assert.equal(values.enablePodAntiAffinity, true);
            assert.equal(values.enablePodDisruptionBudget, true);
            assert.deepEqual(values.prometheus.resources, {
                cpu: { request: "300m" },
                memory: { request: "300Mi", limit: "8192Mi" },
            });
        }
    });

    it("viz.enabled: false installs no viz", async () => {
        const run = await runStackOk("netcup", {
            "mtls.enabled": true,
            "viz.enabled": false,
            "observability.prometheusOperator": true,
            "observability.grafanaDashboards.namespace": "monitoring",
        });
        assert.equal(ofType(run, CHART).filter((c) => c.inputs.chart === "linkerd-viz").length, 0);
        assert.equal(run.outputs.vizDashboard, undefined);
    });

    it("the dashboard is not exposed by default: the output is the port-forward command", () => {
        assert.deepEqual(ofType(netcup, "kubernetes:networking.k8s.io/v1:Ingress"), []);
        assert.equal(vizChart(netcup).inputs.values.dashboard.enforcedHostRegexp, undefined);
        assert.equal(netcup.outputs.vizDashboard.value, "linkerd viz dashboard --context netcup");
    });

    it("an optional Ingress behind the platform's SSO, with the dashboard's host check set to that host", async () => {
        const auth = {
            "nginx.ingress.kubernetes.io/auth-url": "https://sso.akko.example/oauth2/auth",
            "nginx.ingress.kubernetes.io/auth-signin":
                "https://sso.akko.example/oauth2/start?rd=$scheme://$host$request_uri",
        };
        const run = await runStackOk("eks", {
            "mtls.enabled": true,
            "viz.dashboard.ingress": {
                enabled: true,
                host: "linkerd.akko.example",
                className: "nginx",
                authAnnotations: auth,
                tlsSecretName: "linkerd-tls",
            },
        });
        const ingress = one(run, "kubernetes:networking.k8s.io/v1:Ingress", "akko-viz-dashboard");
        assert.deepEqual(ingress.inputs.metadata.annotations, auth);
        assert.equal(ingress.inputs.spec.rules[0].host, "linkerd.akko.example");
        assert.deepEqual(ingress.inputs.spec.rules[0].http.paths[0].backend, {
            service: { name: "web", port: { number: 8084 } },
        });
        const regexp = new RegExp(vizChart(run).inputs.values.dashboard.enforcedHostRegexp);
        for (const host of [
            "linkerd.akko.example",
            "linkerd.akko.example:443",
            "localhost:50750",
            "web.linkerd-viz.svc.cluster.local:8084",
        ]) {
            assert.ok(regexp.test(host), `${host} is accepted`);
        }
        for (const host of ["evil.example", "linkerd.akko.example.evil.example", "linkerdXakko.example"]) {
            assert.ok(!regexp.test(host), `${host} is refused`);
        }
        assert.equal(run.outputs.vizDashboard.value, "https://linkerd.akko.example/ (behind SSO)");
        assert.equal(
            enforcedHostRegexp("a.b", "linkerd-viz"),
            "^(a\\.b|localhost|127\\.0\\.0\\.1|web\\.linkerd-viz\\.svc\\.cluster\\.local|web\\.linkerd-viz\\.svc|\\[::1\\])(:\\d+)?$",
        );
    });

    it("an Ingress without SSO annotations or without a host is refused", async () => {
        const noAuth = await runStack("eks", {
            "mtls.enabled": true,
            "viz.dashboard.ingress": { enabled: true, host: "linkerd.akko.example", authAnnotations: {} },
        });
        assert.ok(noAuth.error instanceof ConfigError);
        assert.ok(
            noAuth.error.problems.some(
                (p) =>
                    p.key === "akko-mtls:viz.dashboard.ingress.authAnnotations" &&
                    /no login of its own/.test(p.message),
            ),
        );
        const noHost = await runStack("eks", {
            "mtls.enabled": true,
            "viz.dashboard.ingress": { enabled: true, authAnnotations: { a: "b" } },
        });
        assert.ok(noHost.error instanceof ConfigError);
        assert.ok(noHost.error.problems.some((p) => p.key === "akko-mtls:viz.dashboard.ingress.host"));
    });
});
