/**
 * Recording and alert rules for the mesh, as a Prometheus rule file (the `groups` of a
 * PrometheusRule spec). Thresholds come from the stack config; the trust anchors'
 * expiry is written in, because Linkerd does not export it (see promql.ts).
 */
import { namespaceRegex, promql } from "./promql";

export interface AnchorExpiry {
    /** SHA-256 fingerprint, `AB:CD:...`. */
    fingerprint: string;
    /** RFC 3339. */
    notAfter: string;
}

export interface RuleSettings {
    meshedNamespaces: readonly string[];
    anchors: AnchorExpiry[];
    issuerMinHoursLeft: number;
    anchorMinDaysLeft: number;
    /** Where the runbook is published; unset names the file in this repository. */
    runbookUrl?: string;
}

export interface Rule {
    record?: string;
    alert?: string;
    expr: string;
    for?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
}

export interface RuleGroup {
    name: string;
    rules: Rule[];
}

export const RECORDED = {
    requestTlsShare: "namespace:linkerd_inbound_requests_tls:ratio_rate5m",
    connectionTlsShare: "namespace:linkerd_inbound_connections_tls:ratio_rate5m",
    proxyCertTtl: "namespace:linkerd_proxy_identity_cert_ttl_seconds:min",
};

/** A short, label-friendly form of a fingerprint. */
export const shortFingerprint = (fingerprint: string) => fingerprint.replace(/:/g, "").slice(0, 16).toLowerCase();

export function mtlsRuleGroups(settings: RuleSettings): RuleGroup[] {
    const namespaces = namespaceRegex(settings.meshedNamespaces);
    const runbook: Record<string, string> = settings.runbookUrl
        ? { runbook_url: settings.runbookUrl }
        : { runbook: "docs/admin/rotation.md and docs/admin/mtls.md in the akko-mtls repository" };
    return [
        {
            name: "akko-mtls.recording",
            rules: [
                { record: RECORDED.requestTlsShare, expr: promql.requestTlsShare(namespaces, "5m") },
                { record: RECORDED.connectionTlsShare, expr: promql.connectionTlsShare(namespaces, "5m") },
                { record: RECORDED.proxyCertTtl, expr: promql.proxyCertTtlSeconds(namespaces) },
            ],
        },
        {
            name: "akko-mtls.alerts",
            rules: [
                {
                    alert: "LinkerdIdentityIssuerExpiringSoon",
                    expr: `${promql.issuerTtlSeconds()} < ${settings.issuerMinHoursLeft * 3600}`,
                    for: "15m",
                    labels: { severity: "critical" },
                    annotations: {
                        summary: "Linkerd's identity issuer expires in {{ $value | humanizeDuration }}",
                        description:
                            `The identity controller serves an issuer with less than ${settings.issuerMinHoursLeft} h left: ` +
                            "its renewal failed. When it expires, new pods get no identity and meshed calls fail.",
                        ...runbook,
                    },
                },
                ...settings.anchors.map((anchor): Rule => ({
                    alert: "LinkerdTrustAnchorExpiringSoon",
                    expr: `${promql.anchorTtlSeconds(Math.floor(new Date(anchor.notAfter).getTime() / 1000), shortFingerprint(anchor.fingerprint))} < ${settings.anchorMinDaysLeft * 86400}`,
                    for: "1h",
                    labels: { severity: "warning" },
                    annotations: {
                        summary: `Linkerd trust anchor ${shortFingerprint(anchor.fingerprint)} expires on ${anchor.notAfter}`,
                        description:
                            `Less than ${settings.anchorMinDaysLeft} days left (linkerd check's threshold). ` +
                            "Start the three-phase rotation now; an expired anchor breaks every proxy.",
                        ...runbook,
                    },
                })),
                {
                    alert: "LinkerdPlaintextTrafficInMeshedNamespace",
                    expr: `${promql.plaintextRequests(namespaces, "5m")} > 0`,
                    for: "10m",
                    labels: { severity: "warning" },
                    annotations: {
                        summary: "Plaintext requests into meshed namespace {{ $labels.namespace }}",
                        description:
                            "Meshed pods accept requests without mTLS (not kubelet probes, not the proxy admin port): " +
                            "a client outside the mesh, or pods started before injection. `linkerd viz edges` shows which.",
                        ...runbook,
                    },
                },
                {
                    alert: "LinkerdProxyInjectorUnavailable",
                    expr: `absent(up{component="proxy-injector"} == 1)`,
                    for: "5m",
                    labels: { severity: "critical" },
                    annotations: {
                        summary: "No Linkerd proxy injector is up",
                        description:
                            "New pods in meshed namespaces start without a proxy (failure policy Ignore) or cannot start (Fail).",
                        ...runbook,
                    },
                },
            ],
        },
    ];
}
