/**
 * Rules of `mtls.egress` and `mtls.namespaceOptions.<ns>.egress`: hosts Linkerd can match, networks
 * it accepts, what the target's Gateway API CRDs let it express, and no bypass of the proxy where
 * egress is enforced. The facts behind each are in lib/egress.ts and lib/registry.ts `EGRESS`.
 */
import { egressKey, egressOf, EgressSettings, networksOverlap, parseEgressHost, parsedHosts } from "../../lib/egress";
import { EGRESS } from "../../lib/registry";
import type { ConfigShape, RuleContext } from "./types";

/** Reports each problem once per key: a stack-wide list applies to every namespace. */
function reporter(ctx: RuleContext) {
    const seen = new Set<string>();
    return (path: (string | number)[], message: string) => {
        const key = JSON.stringify(path);
        if (seen.has(key)) return;
        seen.add(key);
        ctx.addIssue({ code: "custom", path, message });
    };
}

/** Every list of a field, with its key: the stack's, then each namespace's own. */
function lists(
    config: ConfigShape,
    field: "allowedHosts" | "allowedNetworks" | "platformNetworks",
): [(string | number)[], readonly string[]][] {
    const own = Object.entries(config.mtls.namespaceOptions).flatMap(
        ([namespace, options]): [(string | number)[], readonly string[]][] =>
            options.egress?.[field] !== undefined
                ? [[["mtls", "namespaceOptions", namespace, "egress", field], options.egress[field]]]
                : [],
    );
    return [[["mtls", "egress", field], config.mtls.egress[field]], ...own];
}

/**
 * Each allowed host is one Linkerd matches: `host[:port]` with an optional http:// or https://, a DNS
 * name in Gateway API's hostname pattern, a wildcard only as a leading `*.` label (routes.rs
 * `host_match`), no IP literal (the proxy's host match refuses them), each once.
 */
export function validateEgressHosts(config: ConfigShape, ctx: RuleContext): void {
    for (const [path, hosts] of lists(config, "allowedHosts")) {
        const seen = new Map<string, number>();
        hosts.forEach((entry, i) => {
            const host = parseEgressHost(entry);
            if (typeof host === "string")
                return ctx.addIssue({ code: "custom", path: [...path, i], message: `"${entry}" ${host}` });
            const key = `${host.protocol}:${host.host}:${host.port}`;
            if (seen.has(key))
                ctx.addIssue({
                    code: "custom",
                    path: [...path, i],
                    message: `"${entry}" repeats entry ${seen.get(key)}`,
                });
            else seen.set(key, i);
        });
    }
}

/**
 * Allowed networks lie outside Linkerd's clusterNetworks: Linkerd never applies egress policy there,
 * and marks an EgressNetwork that overlaps them not Accepted (`EgressReasonNetworkOverlap`), so a Deny
 * would then block every host. Platform networks only widen the NetworkPolicy layer, which only
 * `allowedNetworks` creates (in enforce): without allowed networks they would do nothing, in any mode.
 */
export function validateEgressNetworks(config: ConfigShape, ctx: RuleContext): void {
    const report = reporter(ctx);
    for (const [path, networks] of lists(config, "allowedNetworks")) {
        networks.forEach((cidr, i) => {
            const overlap = EGRESS.clusterNetworks.filter((cluster) => networksOverlap(cidr, cluster));
            if (overlap.length > 0) {
                report(
                    [...path, i],
                    `${cidr} overlaps Linkerd's clusterNetworks (${overlap.join(", ")}), where egress policy never applies and which makes ` +
                        "the EgressNetwork not Accepted (every host would be denied): list external networks only, and in-cluster " +
                        "addresses that are not pods (API server, RDS) in platformNetworks",
                );
            }
        });
    }
    // By key: the stack's list counts as used when any namespace that inherits it would get the layer in enforce.
    const useful = new Map<string, { path: string[]; used: boolean; namespaces: string[] }>();
    for (const namespace of config.mtls.namespaces) {
        const settings = egressOf(config.mtls, namespace);
        if (settings.platformNetworks.length === 0) continue;
        const path = egressKey(config.mtls, namespace, "platformNetworks");
        const entry = useful.get(path.join(".")) ?? { path, used: false, namespaces: [] };
        entry.used ||= settings.allowedNetworks.length > 0;
        entry.namespaces.push(namespace);
        useful.set(path.join("."), entry);
    }
    for (const { path, used, namespaces } of useful.values()) {
        if (used) continue;
        report(
            path,
            `widens the NetworkPolicy layer, which only allowedNetworks creates, and ${namespaces.join(", ")} ` +
                `${namespaces.length === 1 ? "has" : "have"} none: set allowedNetworks, or remove it`,
        );
    }
}

/** The hosts of an enforced namespace, each with the key it is written at. */
function enforcedHosts(config: ConfigShape): { namespace: string; settings: EgressSettings; path: string[] }[] {
    return config.mtls.namespaces
        .map((namespace) => ({
            namespace,
            settings: egressOf(config.mtls, namespace),
            path: egressKey(config.mtls, namespace, "allowedHosts"),
        }))
        .filter(({ settings }) => settings.mode === "enforce");
}

/**
 * TLS hosts need a TLSRoute that Linkerd watches: edge-26.8.3 watches `gateway.networking.k8s.io/v1alpha2`
 * only, which no standard-channel bundle serves (k3s' Traefik and GKE install the standard channel).
 * The program installs that CRD only where it installs Gateway API's (`linkerd.gatewayApi: install`).
 */
export function validateEgressTlsRoutes(config: ConfigShape, ctx: RuleContext): void {
    if (config.linkerd.gatewayApi === "install") return;
    const report = reporter(ctx);
    for (const { settings, path } of enforcedHosts(config)) {
        settings.allowedHosts.forEach((entry, i) => {
            const host = parseEgressHost(entry);
            if (typeof host === "string" || host.protocol !== "tls") return;
            report(
                [...path, i],
                `"${entry}": TLS hosts need Gateway API TLSRoute v1alpha2, which Linkerd edge-26.8.3 alone watches and the ` +
                    `standard-channel CRDs this ${config.target} cluster has (linkerd.gatewayApi: present) never serve (linkerd2 #15584). ` +
                    "Allow the provider's networks with mtls.egress.allowedNetworks instead, or, on a cluster whose Gateway API CRDs " +
                    "the program installs, set linkerd.gatewayApi: install",
            );
        });
    }
}

/** One protocol per port: Linkerd serves a port of an EgressNetwork as HTTP or as TLS, never both (the lower kind is Conflicted). */
export function validateEgressPorts(config: ConfigShape, ctx: RuleContext): void {
    const report = reporter(ctx);
    for (const { settings, path } of enforcedHosts(config)) {
        const protocolOf = new Map<number, string>();
        for (const host of parsedHosts(settings.allowedHosts))
            if (!protocolOf.has(host.port)) protocolOf.set(host.port, host.protocol);
        settings.allowedHosts.forEach((entry, i) => {
            const host = parseEgressHost(entry);
            if (typeof host === "string" || protocolOf.get(host.port) === host.protocol) return;
            report(
                [...path, i],
                `"${entry}": port ${host.port} already carries ${protocolOf.get(host.port)} hosts; Linkerd treats a port of an ` +
                    "EgressNetwork as one protocol, and would ignore these routes",
            );
        });
    }
}

/**
 * No outbound port around the proxy where egress is enforced: traffic on a skipped port never
 * reaches the proxy, so the EgressNetwork never sees it (proxy-init pkg/iptables/iptables.go:
 * `--outbound-ports-to-ignore` RETURNs before the REDIRECT).
 */
export function validateEgressBypass(config: ConfigShape, ctx: RuleContext): void {
    for (const namespace of config.mtls.namespaces) {
        const ports = config.mtls.namespaceOptions[namespace]?.skipOutboundPorts;
        if (!ports || egressOf(config.mtls, namespace).mode !== "enforce") continue;
        ctx.addIssue({
            code: "custom",
            path: ["mtls", "namespaceOptions", namespace, "skipOutboundPorts"],
            message:
                `${ports.join(", ")} would leave the namespace around the proxy, past the enforced egress policy: remove them, ` +
                `or keep ${namespace}'s egress in audit (mtls.namespaceOptions.${namespace}.egress.mode)`,
        });
    }
}
