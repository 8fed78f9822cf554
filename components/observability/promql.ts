/**
 * The PromQL the dashboards and alert rules share. Every metric and label here is one
 * Linkerd really exports, checked at edge-26.8.3 (linkerd/linkerd2):
 *
 * - `request_total`, `tcp_open_total` with labels `direction`, `peer`, `tls` ("true", or
 *   "no_identity" with `no_tls_reason`), `target_port`, `authz_name`: proxy metrics, see
 *   testutil/prommatch/testdata/sampleMetrics.txt; Linkerd's own dashboards split secured
 *   and plaintext traffic with `tls="true"` / `tls!="true"` (grafana/dashboards/top-line.json).
 * - `authz_name="probe"`: the default authorization the policy controller gives kubelet
 *   probes (policy-controller/k8s/index/src/inbound/index.rs, `AuthorizationRef::Default("probe")`).
 * - `control_identity_cert_expiration_timestamp_seconds`: each proxy's current certificate
 *   expiry. The proxy edge-26.8.3 ships (linkerd2-proxy v2.366.0, `.proxy-version`) registers it
 *   as `expiration_timestamp` (unit seconds, linkerd/identity/src/metrics.rs) under the `cert`
 *   prefix (linkerd/app/src/identity.rs) of `control_identity` (linkerd/app/src/lib.rs).
 *   The unprefixed `identity_cert_expiration_timestamp_seconds` of linkerd2's old
 *   testutil/prommatch/testdata/sampleMetrics.txt is no longer exported.
 * - kubelet's HTTP probes open one connection per probe (kubernetes pkg/probe/http/http.go,
 *   `DisableKeepAlives: true`): the probe requests a proxy counts (`authz_name="probe"`) are
 *   also the plaintext connections they opened, which the connection share leaves out.
 * - `issuer_cert_ttl_seconds`: seconds left on the issuer the identity controller has
 *   loaded (pkg/identity/service.go, registerCertExpirationMetrics). Linkerd exports no
 *   trust-anchor expiry (same function: "TODO"), so that rule carries the anchor's notAfter.
 * - `up{component="proxy-injector"}`: viz's `linkerd-controller` scrape job and the control
 *   plane's PodMonitor both set `component` from the container name
 *   (viz/charts/linkerd-viz/templates/prometheus.yaml, charts/linkerd-control-plane/templates/podmonitor.yaml).
 * - port 4191 (PORTS.proxyAdmin): the proxy's admin port (charts/linkerd-control-plane/values.yaml
 *   `proxy.ports.admin`): kubelet probes of the proxy and Prometheus scrapes, plaintext by design.
 */
import { PORTS } from "../../lib/registry";

/** A `namespace=~"..."` matcher value for the meshed namespaces (RFC 1123 names need no escaping). */
export function namespaceRegex(namespaces: readonly string[]): string {
    return namespaces.join("|");
}

const ADMIN_PORT = String(PORTS.proxyAdmin);

/** Inbound traffic excluding the proxy's own admin port. */
const inbound = (namespace: string) => `direction="inbound", target_port!="${ADMIN_PORT}", namespace=~"${namespace}"`;

/**
 * `numerator / denominator`, with a numerator that is 0 rather than absent when no series
 * matches (no TLS traffic at all): the share then reads 0 %, not "No data". Absent only
 * when there is no traffic.
 */
const share = (numerator: string, denominator: string) => `(${numerator} or ${denominator} * 0) / ${denominator}`;

export const promql = {
    /** Share of inbound requests (kubelet probes aside) that arrived over mTLS, per namespace. */
    requestTlsShare: (namespace: string, window: string) =>
        share(
            `sum by (namespace) (rate(request_total{${inbound(namespace)}, authz_name!="probe", tls="true"}[${window}]))`,
            `sum by (namespace) (rate(request_total{${inbound(namespace)}, authz_name!="probe"}[${window}]))`,
        ),
    /**
     * Share of inbound TCP connections that were mTLS, per namespace, kubelet's HTTP probes
     * aside (one connection per probe request); capped at 1 against rate-window jitter.
     */
    connectionTlsShare: (namespace: string, window: string) => {
        const all = `sum by (namespace) (rate(tcp_open_total{${inbound(namespace)}, peer="src"}[${window}]))`;
        const probes = `sum by (namespace) (rate(request_total{${inbound(namespace)}, authz_name="probe"}[${window}]))`;
        const secured = `sum by (namespace) (rate(tcp_open_total{${inbound(namespace)}, peer="src", tls="true"}[${window}]))`;
        return `clamp_max((${secured} or ${all} * 0) / ((${all} - (${probes} or ${all} * 0)) > 0), 1)`;
    },
    /** Plaintext requests that are not kubelet probes, per namespace and reason. */
    plaintextRequests: (namespace: string, window: string, by = "namespace") =>
        `sum by (${by}) (rate(request_total{${inbound(namespace)}, tls!="true", authz_name!="probe"}[${window}]))`,
    /** Seconds left on the issuer the identity controller serves from. */
    issuerTtlSeconds: () => `min(issuer_cert_ttl_seconds{component="identity"})`,
    /** Seconds left on the proxies' own certificates, per namespace (they renew every ~17 h). */
    proxyCertTtlSeconds: (namespace: string) =>
        `min by (namespace) (control_identity_cert_expiration_timestamp_seconds{namespace=~"${namespace}"}) - time()`,
    /** Seconds left on a trust anchor whose expiry is known to the program. */
    anchorTtlSeconds: (notAfterUnix: number, fingerprint: string) =>
        `label_replace(vector(${notAfterUnix} - time()), "anchor_sha256", "${fingerprint}", "", "")`,
    /** 1 while at least one proxy injector is scraped up. */
    injectorUp: () => `max(up{component="proxy-injector"})`,
};
