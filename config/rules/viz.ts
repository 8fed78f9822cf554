/** Rules of `viz`: its Prometheus, who may reach it, and the dashboard's Ingress. */
import { Callers, identityPattern } from "../schema/primitives";
import type { ConfigShape, RuleContext } from "./types";

/** An external Prometheus needs its URL: viz's metrics API and the dashboards query it there. */
export function validatePrometheusMode(config: ConfigShape, ctx: RuleContext): void {
    const viz = config.viz;
    if (viz.enabled && viz.prometheus.mode === "external" && !viz.prometheus.url) {
        ctx.addIssue({ code: "custom", path: ["viz", "prometheus", "url"], message: "is required when viz.prometheus.mode is external" });
    }
}

/**
 * The dashboard's Ingress needs a host, and the SSO's forward-auth annotations: the dashboard (and
 * its tap, which shows live requests) has no login of its own, so an Ingress without them would
 * publish it to anyone.
 */
export function validateDashboardIngress(config: ConfigShape, ctx: RuleContext): void {
    const ingress = config.viz.dashboard.ingress;
    if (ingress.enabled && !ingress.host) {
        ctx.addIssue({ code: "custom", path: ["viz", "dashboard", "ingress", "host"], message: "is required when the ingress is enabled" });
    }
    if (ingress.enabled && Object.keys(ingress.authAnnotations).length === 0) {
        ctx.addIssue({
            code: "custom",
            path: ["viz", "dashboard", "ingress", "authAnnotations"],
            message: "must hold the SSO forward-auth annotations: the dashboard (and its tap) has no login of its own",
        });
    }
}

/** Who may call a Prometheus: one kind of caller (Linkerd would require both at once), identities of this trust domain. */
function validateCallers(allowed: Callers | undefined, path: (string | number)[], trustDomain: string, ctx: RuleContext): void {
    if (!allowed) return;
    if ((allowed.clients === undefined) === (allowed.networks === undefined)) {
        ctx.addIssue({
            code: "custom",
            path,
            message: "needs either clients (ServiceAccount identities) or networks (CIDRs), not both: Linkerd would require both at once",
        });
    }
    const pattern = identityPattern(trustDomain);
    (allowed.clients ?? []).forEach((client, i) => {
        if (!pattern.test(client)) {
            ctx.addIssue({
                code: "custom",
                path: [...path, "clients", i],
                message: `is not a ServiceAccount identity: <serviceaccount>.<namespace>.serviceaccount.identity.linkerd.${trustDomain}`,
            });
        }
    });
}

/**
 * viz's Prometheus: Alertmanagers and readers belong to the bundled one; a scraper of strict
 * namespaces that is not meshed must be known to Linkerd, or strict mode refuses its scrapes.
 */
export function validatePrometheusAccess(config: ConfigShape, ctx: RuleContext): void {
    const prometheus = config.viz.prometheus;
    const trustDomain = config.identity.trustDomain;
    const bundled = config.viz.enabled && prometheus.mode === "bundled";
    if (!bundled && prometheus.alertmanagers.length > 0) {
        ctx.addIssue({
            code: "custom",
            path: ["viz", "prometheus", "alertmanagers"],
            message: "belongs to viz's bundled Prometheus; an external one routes alerts through its own Alertmanager configuration",
        });
    }
    if (!bundled && prometheus.readers) {
        ctx.addIssue({ code: "custom", path: ["viz", "prometheus", "readers"], message: "belongs to viz's bundled Prometheus (viz.prometheus.mode bundled)" });
    }
    validateCallers(prometheus.readers, ["viz", "prometheus", "readers"], trustDomain, ctx);
    validateCallers(prometheus.scraper.authentication, ["viz", "prometheus", "scraper", "authentication"], trustDomain, ctx);
    const externalScraper = !bundled;
    const scraperMeshed = config.mtls.namespaces.includes(prometheus.scraper.namespace);
    if (config.mtls.enabled && config.mtls.mode === "strict" && externalScraper && !scraperMeshed && !prometheus.scraper.authentication) {
        ctx.addIssue({
            code: "custom",
            path: ["viz", "prometheus", "scraper", "authentication"],
            message:
                `is required in strict mode: the Prometheus in ${prometheus.scraper.namespace} is not meshed, and strict namespaces refuse its scrapes ` +
                "of the proxies' admin port unless Linkerd knows it (networks: its pod CIDR; or mesh its namespace)",
        });
    }
}
