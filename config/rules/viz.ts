/** Rules of `viz`: its Prometheus, who may reach it, and the dashboard's Ingress. */
import { Callers, identityPattern } from "../schema/primitives";
import { FORWARD_AUTH } from "../schema/viz";
import type { ConfigShape, RuleContext } from "./types";

/**
 * An external Prometheus needs its URL: viz's metrics API and the dashboards query it there. The
 * bundled one has its own: a URL (or a scraper's authentication) set for it would be ignored
 * without a word, and the operator would believe viz reads the Prometheus they named.
 */
export function validatePrometheusMode(config: ConfigShape, ctx: RuleContext): void {
    const viz = config.viz;
    if (viz.enabled && viz.prometheus.mode === "external" && !viz.prometheus.url) {
        ctx.addIssue({
            code: "custom",
            path: ["viz", "prometheus", "url"],
            message: "is required when viz.prometheus.mode is external",
        });
    }
    if (viz.prometheus.mode === "bundled" && viz.prometheus.url !== undefined) {
        ctx.addIssue({
            code: "custom",
            path: ["viz", "prometheus", "url"],
            message:
                "applies only to an external Prometheus (viz.prometheus.mode external): the bundled one would ignore it. Remove it, or set the mode to external",
        });
    }
    if (viz.prometheus.mode === "bundled" && viz.prometheus.scraper.authentication !== undefined) {
        ctx.addIssue({
            code: "custom",
            path: ["viz", "prometheus", "scraper", "authentication"],
            message:
                "applies only to an external Prometheus (viz.prometheus.mode external): viz's own Prometheus is meshed, and this would be ignored",
        });
    }
}

/**
 * The dashboard's Ingress needs a host, and a forward-auth gate in front of it: the dashboard (and
 * its tap, which shows live requests) has no login of its own, so an Ingress whose annotations ask
 * no SSO would publish it to anyone. The annotations' keys and values are checked by the schema
 * (config/schema/viz.ts FORWARD_AUTH); here, that one gate is there, and for the AWS Load Balancer
 * Controller, its identity provider and that unauthenticated requests are not let through. Without
 * viz there is no dashboard: an Ingress for it would be ignored without a word.
 */
export function validateDashboardIngress(config: ConfigShape, ctx: RuleContext): void {
    const ingress = config.viz.dashboard.ingress;
    const path = ["viz", "dashboard", "ingress"];
    if (!ingress.enabled) return;
    if (!config.viz.enabled) {
        ctx.addIssue({
            code: "custom",
            path: [...path, "enabled"],
            message: "needs viz.enabled true: without viz there is no dashboard to publish",
        });
    }
    if (!ingress.host)
        ctx.addIssue({ code: "custom", path: [...path, "host"], message: "is required when the ingress is enabled" });
    const annotations = ingress.authAnnotations;
    const gates = Object.values(FORWARD_AUTH)
        .map(({ gate }) => gate)
        .filter((gate) => annotations[gate] !== undefined);
    if (gates.length === 0) {
        ctx.addIssue({
            code: "custom",
            path: [...path, "authAnnotations"],
            message:
                "must hold a forward-auth gate, the dashboard (and its tap) having no login of its own: " +
                Object.entries(FORWARD_AUTH)
                    .map(([controller, { gate }]) => `${gate} (${controller})`)
                    .join(", "),
        });
    }
    const alb = "alb.ingress.kubernetes.io/";
    const type = annotations[`${alb}auth-type`];
    if (type === "oidc" || type === "cognito") {
        if (!annotations[`${alb}auth-idp-${type}`]) {
            ctx.addIssue({
                code: "custom",
                path: [...path, "authAnnotations", `${alb}auth-idp-${type}`],
                message: `is required with ${alb}auth-type ${type}: the identity provider the ALB asks`,
            });
        }
        if (annotations[`${alb}auth-on-unauthenticated-request`] === "allow") {
            ctx.addIssue({
                code: "custom",
                path: [...path, "authAnnotations", `${alb}auth-on-unauthenticated-request`],
                message: "must not be allow: the ALB would let unauthenticated requests through to the dashboard",
            });
        }
    }
}

/** Who may call a Prometheus: one kind of caller (Linkerd would require both at once), identities of this trust domain. */
function validateCallers(
    allowed: Callers | undefined,
    path: (string | number)[],
    trustDomain: string,
    ctx: RuleContext,
): void {
    if (!allowed) return;
    if ((allowed.clients === undefined) === (allowed.networks === undefined)) {
        ctx.addIssue({
            code: "custom",
            path,
            message:
                "needs either clients (ServiceAccount identities) or networks (CIDRs), not both: Linkerd would require both at once",
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
            message:
                "belongs to viz's bundled Prometheus; an external one routes alerts through its own Alertmanager configuration",
        });
    }
    if (!bundled && prometheus.readers) {
        ctx.addIssue({
            code: "custom",
            path: ["viz", "prometheus", "readers"],
            message: "belongs to viz's bundled Prometheus (viz.prometheus.mode bundled)",
        });
    }
    validateCallers(prometheus.readers, ["viz", "prometheus", "readers"], trustDomain, ctx);
    validateCallers(
        prometheus.scraper.authentication,
        ["viz", "prometheus", "scraper", "authentication"],
        trustDomain,
        ctx,
    );
    const externalScraper = !bundled;
    const scraperMeshed = config.mtls.namespaces.includes(prometheus.scraper.namespace);
    if (
        config.mtls.enabled &&
        config.mtls.mode === "strict" &&
        externalScraper &&
        !scraperMeshed &&
        !prometheus.scraper.authentication
    ) {
        ctx.addIssue({
            code: "custom",
            path: ["viz", "prometheus", "scraper", "authentication"],
            message:
                `is required in strict mode: the Prometheus in ${prometheus.scraper.namespace} is not meshed, and strict namespaces refuse its scrapes ` +
                "of the proxies' admin port unless Linkerd knows it (networks: its pod CIDR; or mesh its namespace)",
        });
    }
}
