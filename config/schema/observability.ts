/** `observability`: Grafana dashboards, alert and recording rules, the runbook link. */
import { z } from "zod";
import { displayText, httpUrl, labelKey, labels, labelValue, namespaceName } from "./primitives";

export const observabilityConfig = z.strictObject({
    /** Grafana dashboards as ConfigMaps for the Grafana sidecar. */
    grafanaDashboards: z.strictObject({
        enabled: z.boolean().describe("Grafana dashboards as ConfigMaps for the Grafana sidecar."),
        namespace: namespaceName.describe("Namespace of the dashboard ConfigMaps (where the Grafana sidecar looks)."),
        label: labelKey.describe("The label key the sidecar watches (kube-prometheus-stack: grafana_dashboard)."),
        labelValue: labelValue.describe('The value of that label (kube-prometheus-stack: "1").'),
        folder: displayText(255).describe("Grafana folder of the dashboards."),
    }),
    prometheusOperator: z
        .boolean()
        .describe(
            "true: alert and recording rules as a PrometheusRule (the Prometheus operator is installed); false: mounted into viz's bundled Prometheus.",
        ),
    ruleLabels: labels.describe(
        "Labels the operator's ruleSelector and podMonitorSelector match (e.g. release: kube-prometheus-stack).",
    ),
    runbookUrl: httpUrl
        .optional()
        .describe("Published runbook (http or https), linked from every alert as runbook_url."),
});
