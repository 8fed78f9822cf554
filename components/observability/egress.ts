/**
 * Egress by namespace and destination, and denied egress: PromQL, a Grafana dashboard and an alert.
 * Every name is one linkerd2-proxy v2.366.0 exports (the proxy edge-26.8.3 ships):
 *
 * - Families, prefix `outbound` (linkerd/app/src/lib.rs): HTTP `outbound_http_route_request_statuses_total`
 *   (linkerd/app/outbound/src/http.rs l.134-140 registers `http`/`grpc` + `route`; linkerd/http/prom/src/status.rs
 *   "statuses"), gRPC `outbound_grpc_route_request_statuses_total`, TLS `outbound_tls_route_{open,close}_total`
 *   (outbound/src/tls.rs l.134, metrics/transport.rs `open`/`close`), opaque TCP `outbound_tcp_route_{open,close}_total`
 *   (outbound/src/opaq.rs l.87).
 * - Labels: `parent_kind` (="EgressNetwork"), `parent_name`, `parent_port`, `route_kind`, `route_name` on
 *   every family (outbound/src/metrics.rs); `hostname` (Host header or SNI, only with hostname labels on)
 *   on HTTP, gRPC and TLS; `target_ip`/`target_port` on TCP, which never has a hostname; `error`
 *   ("forbidden" for a denied connection) on `close_total` (metrics/transport.rs).
 * - Denied traffic is the default route of a Deny EgressNetwork: `route_kind="default"`, `route_name`
 *   `http-egress-deny` (403), `grpc-egress-deny` (PERMISSION_DENIED), `tls-egress-deny`, `tcp-egress-deny`
 *   (linkerd2 edge-26.8.3 policy-controller/grpc/src/outbound/{http,grpc,tls,tcp}.rs).
 * - `namespace` is the client's: viz's scrape config relabels it from the pod (linkerd-viz
 *   templates/prometheus.yaml); an external Prometheus must do the same.
 */
import { dashboard, PanelSpec } from "./dashboards";
import { namespaceRegex } from "./promql";
import type { Rule, RuleGroup } from "./rules";

const EGRESS = `parent_kind="EgressNetwork"`;
const DENIED_FAMILIES = "outbound_(http|grpc)_route_request_statuses_total|outbound_(tls|tcp)_route_close_total";

export const egressPromql = {
    /** HTTP requests leaving the cluster, by namespace, Host and port. */
    http: (namespace: string, window: string) =>
        `sum by (namespace, hostname, parent_port) (rate(outbound_http_route_request_statuses_total{${EGRESS}, namespace=~"${namespace}"}[${window}]))`,
    /** gRPC requests leaving the cluster. */
    grpc: (namespace: string, window: string) =>
        `sum by (namespace, hostname, parent_port) (rate(outbound_grpc_route_request_statuses_total{${EGRESS}, namespace=~"${namespace}"}[${window}]))`,
    /** TLS connections leaving the cluster where a TLSRoute names the SNI. */
    tls: (namespace: string, window: string) =>
        `sum by (namespace, hostname, parent_port) (rate(outbound_tls_route_open_total{${EGRESS}, namespace=~"${namespace}"}[${window}]))`,
    /** Every other connection leaving the cluster (HTTPS without a TLSRoute included), by address. */
    tcp: (namespace: string, window: string) =>
        `sum by (namespace, target_ip, target_port) (rate(outbound_tcp_route_open_total{${EGRESS}, namespace=~"${namespace}"}[${window}]))`,
    /** Requests and connections an enforced namespace was refused, by namespace and kind of traffic. */
    denied: (namespace: string, window: string) =>
        `sum by (namespace, route_name) (rate({__name__=~"${DENIED_FAMILIES}", ${EGRESS}, route_kind="default", ` +
        `route_name=~"(http|grpc|tls|tcp)-egress-deny", namespace=~"${namespace}"}[${window}]))`,
};

const NS = "$namespace";
const WINDOW = "$__rate_interval";

/** The egress dashboard: what leaves the cluster, per namespace and destination, and what was refused. */
export function egressDashboard(): object {
    const panels: PanelSpec[] = [
        {
            title: "HTTP egress by namespace and host",
            description:
                "Requests to outside the cluster, by Host header (hostname labels are on where egress is audited or enforced).",
            unit: "reqps",
            targets: [
                { expr: egressPromql.http(NS, WINDOW), legendFormat: "{{namespace}} → {{hostname}}:{{parent_port}}" },
                {
                    expr: egressPromql.grpc(NS, WINDOW),
                    legendFormat: "{{namespace}} → {{hostname}}:{{parent_port}} (gRPC)",
                },
            ],
        },
        {
            title: "TLS egress by namespace and SNI",
            description: "TLS connections to allowed hosts, by SNI: only where a TLSRoute exists (EKS, enforce).",
            unit: "cps",
            targets: [
                { expr: egressPromql.tls(NS, WINDOW), legendFormat: "{{namespace}} → {{hostname}}:{{parent_port}}" },
            ],
        },
        {
            title: "Other egress by namespace and address",
            description:
                "Connections Linkerd could not name (HTTPS without a TLSRoute, databases, any TCP): by destination IP and port.",
            unit: "cps",
            targets: [
                { expr: egressPromql.tcp(NS, WINDOW), legendFormat: "{{namespace}} → {{target_ip}}:{{target_port}}" },
            ],
        },
        {
            title: "Denied egress",
            description: "What enforce refused, by namespace and kind (http/grpc/tls/tcp-egress-deny). Zero in audit.",
            unit: "ops",
            targets: [{ expr: egressPromql.denied(NS, WINDOW), legendFormat: "{{namespace}} {{route_name}}" }],
            thresholds: [
                [null, "green"],
                [0.001, "red"],
            ],
        },
    ];
    return dashboard(
        "akko-mtls-egress",
        "AKKO egress",
        "Traffic leaving the cluster from meshed namespaces, per namespace and destination (Linkerd EgressNetwork metrics).",
        panels,
        true,
    );
}

/** The alert on denied egress, for the enforced namespaces; no group when none is enforced. */
export function egressRuleGroups(enforced: readonly string[], runbook: Record<string, string>): RuleGroup[] {
    if (enforced.length === 0) return [];
    const alert: Rule = {
        alert: "LinkerdEgressDenied",
        expr: `${egressPromql.denied(namespaceRegex(enforced), "5m")} > 0`,
        for: "5m",
        labels: { severity: "warning" },
        annotations: {
            summary: "Egress from {{ $labels.namespace }} refused ({{ $labels.route_name }})",
            description:
                "A workload calls a destination outside the namespace's allow-list: a new dependency to allow " +
                '(mtls.egress.allowedHosts), or traffic that should not leave. The "AKKO egress" dashboard shows which.',
            ...runbook,
        },
    };
    return [{ name: "akko-mtls.egress", rules: [alert] }];
}
