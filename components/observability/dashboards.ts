/**
 * Grafana dashboards (JSON model, schemaVersion 39) for the Grafana sidecar: mTLS
 * coverage per namespace, and certificate expiry. Built from the same PromQL as the
 * rules (promql.ts), with Grafana's `$namespace` and `$__rate_interval` variables.
 */
import { PORTS } from "../../lib/registry";
import { promql } from "./promql";
import { AnchorExpiry, shortFingerprint } from "./rules";

interface Target {
    expr: string;
    legendFormat: string;
}

export interface PanelSpec {
    title: string;
    description: string;
    unit: string;
    targets: Target[];
    /** Thresholds on the value, ascending: [value, colour]. */
    thresholds?: [number | null, string][];
    type?: "timeseries" | "stat";
    min?: number;
    max?: number;
}

const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

function panels(specs: PanelSpec[]): object[] {
    return specs.map((spec, i) => ({
        id: i + 1,
        type: spec.type ?? "timeseries",
        title: spec.title,
        description: spec.description,
        datasource: DATASOURCE,
        gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
        fieldConfig: {
            defaults: {
                unit: spec.unit,
                ...(spec.min !== undefined ? { min: spec.min } : {}),
                ...(spec.max !== undefined ? { max: spec.max } : {}),
                thresholds: {
                    mode: "absolute",
                    steps: (spec.thresholds ?? [[null, "green"]]).map(([value, color]) => ({ value, color })),
                },
            },
            overrides: [],
        },
        options: { legend: { displayMode: "table", placement: "bottom" }, tooltip: { mode: "multi" } },
        targets: spec.targets.map((t, j) => ({
            refId: String.fromCharCode(65 + j),
            datasource: DATASOURCE,
            expr: t.expr,
            legendFormat: t.legendFormat,
        })),
    }));
}

export function dashboard(
    uid: string,
    title: string,
    description: string,
    specs: PanelSpec[],
    withNamespace: boolean,
): object {
    const templating: object[] = [
        { name: "datasource", label: "Prometheus", type: "datasource", query: "prometheus", current: {}, hide: 0 },
    ];
    if (withNamespace) {
        templating.push({
            name: "namespace",
            label: "Namespace",
            type: "query",
            datasource: DATASOURCE,
            query: { query: 'label_values(request_total{direction="inbound"}, namespace)', refId: "namespaces" },
            definition: 'label_values(request_total{direction="inbound"}, namespace)',
            includeAll: true,
            multi: true,
            allValue: ".+",
            current: { text: "All", value: "$__all" },
            refresh: 2,
            hide: 0,
        });
    }
    return {
        uid,
        title,
        description,
        tags: ["linkerd", "mtls", "akko"],
        editable: false,
        schemaVersion: 39,
        version: 1,
        refresh: "1m",
        time: { from: "now-6h", to: "now" },
        timezone: "utc",
        templating: { list: templating },
        panels: panels(specs),
    };
}

const NS = "$namespace";
const WINDOW = "$__rate_interval";

/** mTLS coverage per namespace: share of requests and connections with TLS, plaintext left. */
export function coverageDashboard(): object {
    return dashboard(
        "akko-mtls-coverage",
        "AKKO mTLS coverage",
        "How much of the traffic into meshed pods is mutual TLS, per namespace (Linkerd proxy metrics).",
        [
            {
                title: "Requests with mTLS",
                description: "Share of inbound HTTP/gRPC requests that arrived over mTLS (proxy admin port excluded).",
                unit: "percentunit",
                min: 0,
                max: 1,
                targets: [{ expr: promql.requestTlsShare(NS, WINDOW), legendFormat: "{{namespace}}" }],
                thresholds: [
                    [null, "red"],
                    [0.99, "green"],
                ],
            },
            {
                title: "Connections with mTLS",
                description: "Share of inbound TCP connections that were mTLS (covers opaque, non-HTTP ports too).",
                unit: "percentunit",
                min: 0,
                max: 1,
                targets: [{ expr: promql.connectionTlsShare(NS, WINDOW), legendFormat: "{{namespace}}" }],
                thresholds: [
                    [null, "red"],
                    [0.99, "green"],
                ],
            },
            {
                title: "Plaintext requests (not probes)",
                description: "Requests into meshed pods without mTLS, by reason: what is still to be meshed.",
                unit: "reqps",
                targets: [
                    {
                        expr: promql.plaintextRequests(NS, WINDOW, "namespace, no_tls_reason"),
                        legendFormat: "{{namespace}} ({{no_tls_reason}})",
                    },
                ],
            },
            {
                title: "Plaintext connections",
                description: "Inbound TCP connections without mTLS (includes kubelet probes to application ports).",
                unit: "cps",
                targets: [
                    {
                        expr:
                            `sum by (namespace, no_tls_reason) (rate(tcp_open_total{direction="inbound", peer="src", ` +
                            `target_port!="${PORTS.proxyAdmin}", namespace=~"${NS}", tls!="true"}[${WINDOW}]))`,
                        legendFormat: "{{namespace}} ({{no_tls_reason}})",
                    },
                ],
            },
        ],
        true,
    );
}

/** Certificate expiry: the issuer, the proxies' own certificates, the trust anchors. */
export function certificatesDashboard(anchors: AnchorExpiry[]): object {
    return dashboard(
        "akko-mtls-certificates",
        "AKKO mTLS certificates",
        "Time left on the identity issuer, the proxies' certificates and the trust anchors.",
        [
            {
                title: "Identity issuer: time left",
                description:
                    "What the identity controller serves from (issuer_cert_ttl_seconds). cert-manager renews it 25 h before expiry.",
                unit: "s",
                type: "stat",
                targets: [{ expr: promql.issuerTtlSeconds(), legendFormat: "issuer" }],
                thresholds: [
                    [null, "red"],
                    [86400, "orange"],
                    [90000, "green"],
                ],
            },
            {
                title: "Trust anchors: time left",
                description: "From each anchor's notAfter (Linkerd exports no anchor metric). Rotate before 60 days.",
                unit: "s",
                type: "stat",
                targets: anchors.map((anchor) => ({
                    expr: promql.anchorTtlSeconds(
                        Math.floor(new Date(anchor.notAfter).getTime() / 1000),
                        shortFingerprint(anchor.fingerprint),
                    ),
                    legendFormat: `anchor ${shortFingerprint(anchor.fingerprint)}`,
                })),
                thresholds: [
                    [null, "red"],
                    [60 * 86400, "orange"],
                    [90 * 86400, "green"],
                ],
            },
            {
                title: "Proxy certificates: shortest time left",
                description:
                    "Proxies renew their 24 h certificates at about 70 % of their life; a falling line means renewals fail.",
                unit: "s",
                targets: [{ expr: promql.proxyCertTtlSeconds(NS), legendFormat: "{{namespace}}" }],
                thresholds: [
                    [null, "red"],
                    [3600, "green"],
                ],
            },
            {
                title: "Proxy injector up",
                description:
                    "1 while a proxy injector is scraped up: without it new pods start unmeshed (or not at all).",
                unit: "none",
                type: "stat",
                targets: [{ expr: promql.injectorUp(), legendFormat: "proxy-injector" }],
                thresholds: [
                    [null, "red"],
                    [1, "green"],
                ],
            },
        ],
        true,
    );
}
