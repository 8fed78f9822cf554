/** Rules of `observability`: where the alert rules and the dashboards can go. */
import { NAMESPACES } from "../../lib/registry";
import type { ConfigShape, RuleContext } from "./types";

/**
 * The alert and recording rules need a home: they are mounted into viz's bundled Prometheus, or
 * given to the Prometheus operator as a PrometheusRule. An external Prometheus, or no viz at all,
 * leaves only the operator.
 */
export function validateAlertRulesHome(config: ConfigShape, ctx: RuleContext): void {
    const viz = config.viz;
    if (viz.enabled && viz.prometheus.mode === "external" && !config.observability.prometheusOperator) {
        ctx.addIssue({
            code: "custom",
            path: ["observability", "prometheusOperator"],
            message:
                "must be true with an external Prometheus: the alert rules cannot be mounted into it, only given as a PrometheusRule",
        });
    }
    if (!viz.enabled && !config.observability.prometheusOperator) {
        ctx.addIssue({
            code: "custom",
            path: ["observability", "prometheusOperator"],
            message:
                "must be true when viz.enabled is false: without viz's Prometheus the alert rules need the operator",
        });
    }
}

/** The dashboards' ConfigMaps go to a namespace that exists: linkerd-viz does not without viz. */
export function validateGrafanaDashboardsNamespace(config: ConfigShape, ctx: RuleContext): void {
    const dashboards = config.observability.grafanaDashboards;
    if (dashboards.enabled && !config.viz.enabled && dashboards.namespace === NAMESPACES.viz) {
        ctx.addIssue({
            code: "custom",
            path: ["observability", "grafanaDashboards", "namespace"],
            message: `is ${NAMESPACES.viz}, which does not exist with viz.enabled false: name your Grafana's namespace`,
        });
    }
}
