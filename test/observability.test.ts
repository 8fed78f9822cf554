/**
 * Dashboards and alert rules: valid JSON and valid PromQL (Prometheus' own Lezer grammar),
 * only metrics Linkerd exports, dashboards using only what the rules use, and rules
 * delivered where the stack's Prometheus reads them.
 */
import { parser } from "@prometheus-io/lezer-promql";
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import YAML from "yaml";
import { ConfigError } from "../config";
import { dependsOn, ofType, one, ProgramRun } from "../tools/mockRuntime";
import { promql as promqlOf } from "../components/observability/promql";
import { runStack, runStackOk } from "./helpers";

/**
 * Metric names Linkerd (edge-26.8.3) exports, with where they are defined; `up` is
 * Prometheus' own, labelled with `component` by Linkerd's scrape configs (promql.ts).
 */
const LINKERD_METRICS: Record<string, string> = {
    request_total: "proxy, testutil/prommatch/testdata/sampleMetrics.txt",
    tcp_open_total: "proxy, testutil/prommatch/testdata/sampleMetrics.txt",
    control_identity_cert_expiration_timestamp_seconds:
        "proxy v2.366.0, linkerd/app/src/lib.rs + identity.rs + linkerd/identity/src/metrics.rs",
    issuer_cert_ttl_seconds: "identity controller, pkg/identity/service.go",
    up: "Prometheus, component label from viz prometheus.yaml / control-plane podmonitor.yaml",
};

/** Grafana's template variables, replaced by sample values so the grammar sees PromQL. */
function withoutGrafanaVariables(expr: string): string {
    return expr.replace(/\$__rate_interval/g, "5m").replace(/\$namespace/g, "akko");
}

/** Parses PromQL; throws on a syntax error; returns the metric names it selects. */
function metricsOf(expr: string): string[] {
    const tree = parser.parse(expr);
    const metrics: string[] = [];
    let error: number | undefined;
    tree.iterate({
        enter(node) {
            if (node.type.isError && error === undefined) error = node.from;
            if (node.name === "VectorSelector") {
                const identifier = node.node.getChild("Identifier");
                if (identifier) metrics.push(expr.slice(identifier.from, identifier.to));
            }
        },
    });
    if (error !== undefined) throw new Error(`invalid PromQL at ${error}: ${expr}`);
    return metrics;
}

interface Rule {
    record?: string;
    alert?: string;
    expr: string;
    for?: string;
}

function rulesOf(run: ProgramRun): Rule[] {
    const configMap = run.resources.find((r) => r.name === "akko-observability-rules");
    assert.ok(configMap, "rules are deployed");
    const groups = configMap.type.endsWith(":PrometheusRule")
        ? configMap.inputs.spec.groups
        : YAML.parse(configMap.inputs.data["akko_mtls_rules.yml"]).groups;
    return groups.flatMap((g: { rules: Rule[] }) => g.rules);
}

function dashboardsOf(run: ProgramRun): Record<string, any> {
    const dashboards: Record<string, any> = {};
    for (const configMap of ofType(run, "kubernetes:core/v1:ConfigMap").filter(
        (c) => c.name.endsWith("-dashboard") || /akko-mtls-(coverage|certificates)$/.test(c.name),
    )) {
        for (const [file, text] of Object.entries<string>(configMap.inputs.data)) dashboards[file] = JSON.parse(text);
    }
    return dashboards;
}

/** Panel queries, and the series selector inside Grafana's `label_values(<selector>, <label>)` variables. */
const dashboardExprs = (dashboard: any): string[] => [
    ...dashboard.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr)),
    ...dashboard.templating.list
        .filter((v: any) => v.type === "query")
        .map((v: any) => {
            const match = /^label_values\((.+),\s*[a-z_]+\)$/.exec(v.definition);
            assert.ok(match, `unexpected variable query ${v.definition}`);
            return match[1];
        }),
];

describe("dashboards and alert rules", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runStackOk("netcup", { "mtls.enabled": true, "mtls.namespaces": ["akko", "spark"] });
    });

    it("the PromQL checker rejects what Prometheus would", () => {
        assert.throws(() => metricsOf("sum(rate(request_total[5m]) by"), /invalid PromQL/);
        assert.throws(() => metricsOf('request_total{tls="true"'), /invalid PromQL/);
        assert.deepEqual(metricsOf('sum(rate(request_total{tls="true"}[5m])) / sum(rate(tcp_open_total[5m]))'), [
            "request_total",
            "tcp_open_total",
        ]);
    });

    it("two Grafana dashboards as ConfigMaps labelled for the sidecar: coverage and certificate expiry", () => {
        const configMaps = ofType(run, "kubernetes:core/v1:ConfigMap").filter((c) => c.name.includes("akko-mtls-"));
        assert.deepEqual(configMaps.map((c) => c.inputs.metadata.name).sort(), [
            "akko-mtls-certificates-dashboard",
            "akko-mtls-coverage-dashboard",
        ]);
        for (const configMap of configMaps) {
            assert.equal(configMap.inputs.metadata.namespace, "linkerd-viz");
            assert.equal(configMap.inputs.metadata.labels.grafana_dashboard, "1");
            assert.equal(configMap.inputs.metadata.annotations.grafana_folder, "Linkerd mTLS");
        }
        const dashboards = dashboardsOf(run);
        assert.deepEqual(Object.keys(dashboards).sort(), ["akko-mtls-certificates.json", "akko-mtls-coverage.json"]);
        const coverage = dashboards["akko-mtls-coverage.json"];
        assert.equal(coverage.uid, "akko-mtls-coverage");
        assert.deepEqual(
            coverage.panels.map((p: any) => p.title),
            ["Requests with mTLS", "Connections with mTLS", "Plaintext requests (not probes)", "Plaintext connections"],
        );
        assert.match(coverage.panels[0].targets[0].expr, /sum by \(namespace\).*tls="true"/, "share per namespace");
    });

    it("every dashboard query and every rule is valid PromQL over metrics Linkerd exports", () => {
        const exprs = [
            ...Object.values(dashboardsOf(run)).flatMap(dashboardExprs).map(withoutGrafanaVariables),
            ...rulesOf(run).map((r) => r.expr),
        ];
        assert.ok(exprs.length >= 15);
        for (const expr of exprs) {
            for (const metric of metricsOf(expr)) {
                assert.ok(metric in LINKERD_METRICS, `${metric} is not a metric Linkerd exports (in: ${expr})`);
            }
        }
    });

    it("dashboards reference only the metrics the rules use", () => {
        const ruleMetrics = new Set(rulesOf(run).flatMap((r) => metricsOf(r.expr)));
        const dashboardMetrics = new Set(
            Object.values(dashboardsOf(run)).flatMap(dashboardExprs).map(withoutGrafanaVariables).flatMap(metricsOf),
        );
        assert.deepEqual(
            [...dashboardMetrics].filter((m) => !ruleMetrics.has(m)),
            [],
        );
        assert.deepEqual(
            [...dashboardMetrics].sort(),
            Object.keys(LINKERD_METRICS).sort(),
            "every metric is on a dashboard",
        );
    });

    it("the four alerts, with the config's thresholds and the meshed namespaces", () => {
        const alerts = Object.fromEntries(
            rulesOf(run)
                .filter((r) => r.alert)
                .map((r) => [r.alert, r]),
        );
        assert.deepEqual(Object.keys(alerts).sort(), [
            "LinkerdIdentityIssuerExpiringSoon",
            "LinkerdPlaintextTrafficInMeshedNamespace",
            "LinkerdProxyInjectorUnavailable",
            "LinkerdTrustAnchorExpiringSoon",
        ]);
        assert.equal(
            alerts.LinkerdIdentityIssuerExpiringSoon.expr,
            `min(issuer_cert_ttl_seconds{component="identity"}) < ${24 * 3600}`,
        );
        assert.match(
            alerts.LinkerdPlaintextTrafficInMeshedNamespace.expr,
            /namespace=~"akko\|spark".*tls!="true", authz_name!="probe"/,
        );
        assert.match(
            alerts.LinkerdPlaintextTrafficInMeshedNamespace.expr,
            /target_port!="4191"/,
            "the proxy's admin port (probes, scrapes) is plaintext by design",
        );
        assert.equal(alerts.LinkerdProxyInjectorUnavailable.expr, 'absent(up{component="proxy-injector"} == 1)');
    });

    it("the trust-anchor alert fires 60 days before the anchor's real expiry (Linkerd exports none)", () => {
        const anchorPem = run.outputs.trustAnchorPem.value as string;
        const anchor = new crypto.X509Certificate(anchorPem);
        const notAfter = Math.floor(new Date(anchor.validTo).getTime() / 1000);
        const rule = rulesOf(run).find((r) => r.alert === "LinkerdTrustAnchorExpiringSoon")!;
        assert.equal(
            rule.expr,
            `label_replace(vector(${notAfter} - time()), "anchor_sha256", "${anchor.fingerprint256.replace(/:/g, "").slice(0, 16).toLowerCase()}", "", "") < ${60 * 86400}`,
        );
    });

    it("without the Prometheus operator the rules are mounted into viz's Prometheus, which a Deployment patch rolls when they change", () => {
        const configMap = one(run, "kubernetes:core/v1:ConfigMap", "akko-observability-rules");
        assert.equal(configMap.inputs.metadata.namespace, "linkerd-viz");
        const prometheus = one(run, "kubernetes:helm.sh/v4:Chart", "akko-viz-chart").inputs.values.prometheus;
        assert.deepEqual(prometheus.ruleConfigMapMounts, [
            { name: "akko-mtls-rules", subPath: "akko_mtls_rules.yml", configMap: "akko-mtls-prometheus-rules" },
        ]);
        // Not a chart value: the rules carry the anchors' expiry, unknown at preview when an anchor is new.
        assert.equal(prometheus.podAnnotations, undefined);
        const sha = crypto.createHash("sha256").update(configMap.inputs.data["akko_mtls_rules.yml"]).digest("hex");
        const patch = one(run, "kubernetes:apps/v1:DeploymentPatch", "akko-viz-prometheus-rules");
        assert.deepEqual(patch.inputs.metadata, { name: "prometheus", namespace: "linkerd-viz" });
        assert.deepEqual(patch.inputs.spec, {
            template: { metadata: { annotations: { "akko.io/rules-sha256": sha } } },
        });
        assert.ok(
            dependsOn(run, patch, one(run, "kubernetes:helm.sh/v4:Chart", "akko-viz-chart")),
            "patches the chart's Deployment",
        );
        assert.ok(dependsOn(run, patch, configMap));
    });

    it("with the Prometheus operator: a PrometheusRule carrying the ruleSelector labels", async () => {
        const withOperator = await runStackOk("eks", {
            "mtls.enabled": true,
            "observability.prometheusOperator": true,
            "observability.ruleLabels": { release: "kube-prometheus-stack" },
            "observability.runbookUrl": "https://wiki.akko.example/runbooks/mtls",
        });
        const rule = one(
            withOperator,
            "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
            "akko-observability-rules",
        );
        assert.equal(rule.inputs.metadata.namespace, "linkerd");
        assert.equal(rule.inputs.metadata.labels.release, "kube-prometheus-stack");
        assert.equal(rulesOf(withOperator).length, 7);
        assert.ok(
            rule.inputs.spec.groups[1].rules.every(
                (r: any) => r.annotations.runbook_url === "https://wiki.akko.example/runbooks/mtls",
            ),
        );
        assert.equal(
            one(withOperator, "kubernetes:helm.sh/v4:Chart", "akko-viz-chart").inputs.values.prometheus
                .ruleConfigMapMounts,
            undefined,
        );
    });

    it("during a rotation the anchor alert and panel cover both anchors", async () => {
        const rotating = await runStackOk(
            "k3d",
            { "mtls.enabled": true, "identity.trustAnchor.rotationPhase": 1 },
            { previousOutputs: { trustAnchorRotation: { generation: 1, phase: 0, since: "2026-01-01T00:00:00Z" } } },
        );
        assert.equal(rulesOf(rotating).filter((r) => r.alert === "LinkerdTrustAnchorExpiringSoon").length, 2);
        const panel = dashboardsOf(rotating)["akko-mtls-certificates.json"].panels.find(
            (p: any) => p.title === "Trust anchors: time left",
        );
        assert.equal(panel.targets.length, 2);
    });

    it("an external Prometheus needs the operator for the rules; dashboards need an existing namespace", async () => {
        const external = await runStack("eks", {
            "mtls.enabled": true,
            "viz.prometheus.mode": "external",
            "viz.prometheus.alertmanagers": [],
            "viz.prometheus.url": "http://p:9090",
        });
        assert.ok(external.error instanceof ConfigError);
        assert.ok(external.error.problems.some((p) => p.key === "akko-mtls:observability.prometheusOperator"));
        const noUrl = await runStack("eks", {
            "viz.prometheus.mode": "external",
            "viz.prometheus.alertmanagers": [],
            "observability.prometheusOperator": true,
        });
        assert.ok(
            noUrl.error instanceof ConfigError &&
                noUrl.error.problems.some((p) => p.key === "akko-mtls:viz.prometheus.url"),
        );
        const noViz = await runStack("eks", { "viz.enabled": false, "observability.prometheusOperator": true });
        assert.ok(
            noViz.error instanceof ConfigError &&
                noViz.error.problems.some((p) => p.key === "akko-mtls:observability.grafanaDashboards.namespace"),
        );
    });
});

describe("observability that shows", () => {
    const CHART = "kubernetes:helm.sh/v4:Chart";
    const AUTHZ = "kubernetes:policy.linkerd.io/v1alpha1:AuthorizationPolicy";
    const SERVER = "kubernetes:policy.linkerd.io/v1beta3:Server";
    const POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
    const vizValues = (run: ProgramRun) => one(run, CHART, "akko-viz-chart").inputs.values;
    const keys = (run: ProgramRun) => (run.error instanceof ConfigError ? run.error.problems.map((p) => p.key) : []);
    const EXTERNAL = {
        "mtls.enabled": true,
        "viz.prometheus.mode": "external",
        "viz.prometheus.alertmanagers": [],
        "viz.prometheus.url": "http://prometheus-operated.monitoring.svc:9090",
        "observability.prometheusOperator": true,
        "observability.ruleLabels": { release: "kube-prometheus-stack" },
    };

    it("shares read 0 %, not “No data”, when no traffic is mTLS; kubelet's probes leave both shares", () => {
        const requests = promqlOf.requestTlsShare("akko", "5m");
        assert.match(
            requests,
            /^\(sum by \(namespace\) \(rate\(request_total\{.*tls="true"\}\[5m\]\)\) or sum by \(namespace\) \(rate\(request_total\{.*\}\[5m\]\)\) \* 0\) \/ sum by/,
        );
        assert.ok(requests.split('authz_name!="probe"').length - 1 >= 2, "probe requests are in neither side");
        const connections = promqlOf.connectionTlsShare("akko", "5m");
        assert.match(connections, /or sum by \(namespace\) \(rate\(tcp_open_total\{[^}]*\}\[5m\]\)\) \* 0\)/);
        assert.match(
            connections,
            /- \(sum by \(namespace\) \(rate\(request_total\{[^}]*authz_name="probe"\}\[5m\]\)\)/,
            "one connection per probe leaves the denominator",
        );
        assert.match(connections, /^clamp_max\(/);
        for (const expr of [requests, connections]) metricsOf(expr);
    });

    it("the proxies' certificate expiry is the metric the pinned proxy exports", () => {
        assert.match(
            promqlOf.proxyCertTtlSeconds("akko"),
            /^min by \(namespace\) \(control_identity_cert_expiration_timestamp_seconds\{/,
        );
    });

    it("bundled Prometheus: alerts reach the Alertmanagers the config names; without any, `pulumi up` says they reach no one", async () => {
        const run = await runStackOk("netcup", {
            "mtls.enabled": true,
            "viz.prometheus.alertmanagers": [
                "http://alertmanager-operated.monitoring.svc:9093",
                "https://am.akko.example/prefix",
            ],
            "linkerd.networkPolicies": true,
        });
        assert.deepEqual(vizValues(run).prometheus.alertmanagers, [
            { scheme: "http", static_configs: [{ targets: ["alertmanager-operated.monitoring.svc:9093"] }] },
            { scheme: "https", path_prefix: "/prefix", static_configs: [{ targets: ["am.akko.example:443"] }] },
        ]);
        const vizPolicy = ofType(run, POLICY).find((p) => p.inputs.metadata.name === "linkerd-viz")!;
        assert.ok(
            vizPolicy.inputs.spec.egress.some((r: any) =>
                isDeepStrictEqual(r, {
                    ports: [
                        { protocol: "TCP", port: 443 },
                        { protocol: "TCP", port: 9093 },
                    ],
                }),
            ),
        );
        assert.ok(!run.warnings.some((w) => /sends them nowhere/.test(w)));
        // Where someone must be paged, a warning; on the laptop and the demo box, a note.
        const silent = await runStackOk("eks", { "mtls.enabled": true, "viz.prometheus.alertmanagers": [] });
        assert.ok(silent.warnings.some((w) => /sends them nowhere: set viz.prometheus.alertmanagers/.test(w)));
        assert.equal(vizValues(silent).prometheus.alertmanagers, undefined);
        const demo = await runStackOk("netcup", { "mtls.enabled": true });
        assert.deepEqual(demo.warnings, []);
        assert.ok(demo.notes.some((n) => /sends them nowhere/.test(n)));
        // The production stack files route them.
        assert.deepEqual(vizValues(await runStackOk("eks", { "mtls.enabled": true })).prometheus.alertmanagers, [
            { scheme: "http", static_configs: [{ targets: ["alertmanager-operated.monitoring.svc:9093"] }] },
        ]);
    });

    it("Grafana may query viz's Prometheus: an AuthorizationPolicy on the chart's prometheus-admin Server, by identity or network", async () => {
        const grafana = "grafana.monitoring.serviceaccount.identity.linkerd.cluster.local";
        const byIdentity = await runStackOk("netcup", {
            "mtls.enabled": true,
            "viz.prometheus.readers": { clients: [grafana] },
            "linkerd.networkPolicies": true,
        });
        const authz = one(byIdentity, AUTHZ, "akko-viz-prometheus-readers");
        assert.deepEqual(authz.inputs.metadata.namespace, "linkerd-viz");
        assert.deepEqual(authz.inputs.spec.targetRef, {
            group: "policy.linkerd.io",
            kind: "Server",
            name: "prometheus-admin",
        });
        assert.equal(authz.inputs.spec.requiredAuthenticationRefs[0].kind, "MeshTLSAuthentication");
        assert.deepEqual(
            one(
                byIdentity,
                "kubernetes:policy.linkerd.io/v1alpha1:MeshTLSAuthentication",
                "akko-viz-prometheus-readers-identities",
            ).inputs.spec,
            {
                identities: [grafana],
            },
        );
        const vizPolicy = ofType(byIdentity, POLICY).find((p) => p.inputs.metadata.name === "linkerd-viz")!;
        assert.ok(
            vizPolicy.inputs.spec.ingress.some((r: any) =>
                isDeepStrictEqual(r, { ports: [{ protocol: "TCP", port: 9090 }] }),
            ),
        );
        const byNetwork = await runStackOk("netcup", {
            "mtls.enabled": true,
            "viz.prometheus.readers": { networks: ["10.42.0.0/16"] },
        });
        assert.deepEqual(
            one(
                byNetwork,
                "kubernetes:policy.linkerd.io/v1alpha1:NetworkAuthentication",
                "akko-viz-prometheus-readers-networks",
            ).inputs.spec,
            {
                networks: [{ cidr: "10.42.0.0/16" }],
            },
        );
        assert.deepEqual(ofType(await runStackOk("netcup", { "mtls.enabled": true }), AUTHZ), [], "none unless asked");
    });

    it("external Prometheus: the chart's PodMonitors scrape the control plane and every proxy, with the operator's labels", async () => {
        const run = await runStackOk("eks", EXTERNAL);
        const values = one(run, CHART, "akko-linkerd-control-plane").inputs.values;
        assert.deepEqual(values.podMonitor, {
            enabled: true,
            labels: { release: "kube-prometheus-stack" },
            serviceMirror: { enabled: false },
        });
        const bundled = await runStackOk("eks", { "mtls.enabled": true, "observability.prometheusOperator": true });
        assert.equal(
            one(bundled, CHART, "akko-linkerd-control-plane").inputs.values.podMonitor,
            undefined,
            "viz's own Prometheus scrapes",
        );
    });

    it("external Prometheus, strict namespaces: the scraper is admitted on the proxies' admin port by Linkerd, or the config says how", async () => {
        const strict = { ...EXTERNAL, "mtls.mode": "strict", "mtls.namespaces": ["akko"] };
        const unknown = await runStack("eks", strict);
        assert.ok(keys(unknown).includes("akko-mtls:viz.prometheus.scraper.authentication"), String(unknown.error));
        const run = await runStackOk("eks", {
            ...strict,
            "viz.prometheus.scraper.authentication": { networks: ["10.0.0.0/16"] },
        });
        const server = one(run, SERVER, "akko-mesh-akko-server-linkerd-admin");
        assert.deepEqual(server.inputs.spec, { podSelector: { matchLabels: {} }, port: 4191, proxyProtocol: "HTTP/1" });
        assert.equal(
            one(run, AUTHZ, "akko-mesh-akko-authorization-linkerd-admin").inputs.spec.requiredAuthenticationRefs[0]
                .kind,
            "NetworkAuthentication",
        );
        // A meshed Prometheus is authenticated already; permissive namespaces admit anyone.
        assert.equal(
            (await runStack("eks", { ...strict, "mtls.namespaces": ["akko", "monitoring"] })).error,
            undefined,
        );
        assert.deepEqual(
            ofType(
                await runStackOk("eks", {
                    ...EXTERNAL,
                    "mtls.namespaces": ["akko"],
                    "viz.prometheus.scraper.authentication": { networks: ["10.0.0.0/16"] },
                }),
                SERVER,
            ),
            [],
        );
    });

    it("refuses what would not work, naming the key", async () => {
        const cases: [Record<string, unknown>, string][] = [
            [
                { ...EXTERNAL, "viz.prometheus.alertmanagers": ["http://am:9093"] },
                "akko-mtls:viz.prometheus.alertmanagers",
            ],
            [
                { ...EXTERNAL, "viz.prometheus.readers": { networks: ["10.0.0.0/8"] } },
                "akko-mtls:viz.prometheus.readers",
            ],
            [
                {
                    "viz.prometheus.readers": {
                        clients: ["grafana.monitoring.serviceaccount.identity.linkerd.cluster.local"],
                        networks: ["10.0.0.0/8"],
                    },
                },
                "akko-mtls:viz.prometheus.readers",
            ],
            [{ "viz.prometheus.readers": { clients: ["grafana"] } }, "akko-mtls:viz.prometheus.readers.clients[0]"],
            [{ "viz.prometheus.alertmanagers": ["javascript:alert(1)"] }, "akko-mtls:viz.prometheus.alertmanagers[0]"],
            [
                {
                    "mtls.mode": "strict",
                    "mtls.enabled": true,
                    "mtls.namespaces": ["akko"],
                    "mtls.authorizations": [
                        {
                            namespace: "akko",
                            name: "linkerd-admin",
                            podSelector: { a: "b" },
                            port: 80,
                            clients: ["x.akko.serviceaccount.identity.linkerd.cluster.local"],
                        },
                    ],
                },
                "akko-mtls:mtls.authorizations[0].name",
            ],
        ];
        for (const [overrides, key] of cases) {
            const run = await runStack("eks", overrides);
            assert.ok(keys(run).includes(key), `${key}: ${String(run.error)}`);
        }
    });
});
