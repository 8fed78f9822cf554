import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "node:crypto";
import YAML from "yaml";
import { certificatesDashboard, coverageDashboard } from "./observability/dashboards";
import { egressDashboard, egressRuleGroups } from "./observability/egress";
import { AnchorExpiry, mtlsRuleGroups } from "./observability/rules";
import { objectLabels } from "../lib/objects";

export interface MtlsObservabilityArgs {
    /** Namespaces whose traffic the dashboards and rules watch. */
    meshedNamespaces: readonly string[];
    /** The anchors proxies trust, with their expiry (Linkerd exports none). */
    anchors: pulumi.Input<pulumi.Input<AnchorExpiry>[]>;
    /** Alert when the issuer has fewer hours left. */
    issuerMinHoursLeft: number;
    /** Alert when a trust anchor has fewer days left. */
    anchorMinDaysLeft: number;
    /** Grafana dashboards as ConfigMaps for the sidecar; omit for none. */
    grafanaDashboards?: { namespace: pulumi.Input<string>; label: string; labelValue: string; folder: string };
    /**
     * Where the rules go: a PrometheusRule (Prometheus operator) in `namespace`, or a
     * ConfigMap for viz's bundled Prometheus (`ruleConfigMapMounts`) in `namespace`.
     */
    rules:
        | { kind: "PrometheusRule"; namespace: pulumi.Input<string>; labels: Readonly<Record<string, string>> }
        | { kind: "ConfigMap"; namespace: pulumi.Input<string> };
    /**
     * Link in every alert (`runbook_url`); a secret keeps the rules secret.
     * @default none: the alerts name the runbook files of this repository
     */
    runbookUrl?: pulumi.Input<string>;
    /**
     * Namespaces whose egress is audited or enforced (lib/egress.ts): the egress dashboard, and the
     * denied-egress alert for the enforced ones.
     * @default none: no egress dashboard or alert
     */
    egress?: { audited: readonly string[]; enforced: readonly string[] };
}

/** Name and key of the rules ConfigMap mounted into viz's Prometheus (must end in _rules.yml). */
export const RULES_CONFIGMAP = { name: "akko-mtls-prometheus-rules", key: "akko_mtls_rules.yml" };

/**
 * Dashboards and alerts that show the mesh encrypts and warn before a certificate
 * expires: two Grafana dashboards (mTLS coverage per namespace, certificate expiry) and
 * recording + alert rules, either as a PrometheusRule or as a rule file for viz's own
 * Prometheus.
 */
export class MtlsObservability extends pulumi.ComponentResource {
    /** The rule file (YAML `groups:`), as deployed. */
    public readonly rulesYaml: pulumi.Output<string>;
    /** SHA-256 of the rule file: viz's Prometheus rolls when it changes (subPath mounts never update). */
    public readonly rulesSha256: pulumi.Output<string>;
    /** What holds the rules (ConfigMap or PrometheusRule), for dependents to wait on. */
    public readonly rules: pulumi.Resource;

    constructor(name: string, args: MtlsObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:MtlsObservability", name, {}, opts);

        const labels = objectLabels();
        const egress = args.egress ?? { audited: [], enforced: [] };
        const groups = pulumi.all([args.anchors, args.runbookUrl]).apply(([anchors, runbookUrl]) => [
            ...mtlsRuleGroups({
                meshedNamespaces: args.meshedNamespaces,
                anchors: anchors,
                issuerMinHoursLeft: args.issuerMinHoursLeft,
                anchorMinDaysLeft: args.anchorMinDaysLeft,
                runbookUrl,
            }),
            ...egressRuleGroups(
                egress.enforced,
                runbookUrl
                    ? { runbook_url: runbookUrl }
                    : { runbook: "docs/admin/egress.md in the akko-mtls repository" },
            ),
        ]);
        this.rulesYaml = groups.apply((g) => YAML.stringify({ groups: g }, { lineWidth: 0 }));
        this.rulesSha256 = this.rulesYaml.apply((text) => crypto.createHash("sha256").update(text).digest("hex"));

        if (args.rules.kind === "PrometheusRule") {
            this.rules = new k8s.apiextensions.CustomResource(
                `${name}-rules`,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "PrometheusRule",
                    metadata: {
                        name: "akko-mtls",
                        namespace: args.rules.namespace,
                        labels: { ...labels, ...args.rules.labels },
                    },
                    spec: { groups },
                },
                { parent: this },
            );
        } else {
            this.rules = new k8s.core.v1.ConfigMap(
                `${name}-rules`,
                {
                    metadata: { name: RULES_CONFIGMAP.name, namespace: args.rules.namespace, labels },
                    data: { [RULES_CONFIGMAP.key]: this.rulesYaml },
                },
                { parent: this },
            );
        }

        const grafana = args.grafanaDashboards;
        if (grafana) {
            const dashboards: [string, pulumi.Input<object>][] = [
                ["akko-mtls-coverage", coverageDashboard()],
                [
                    "akko-mtls-certificates",
                    pulumi.all([args.anchors]).apply(([anchors]) => certificatesDashboard(anchors)),
                ],
                ...(egress.audited.length + egress.enforced.length > 0
                    ? [["akko-mtls-egress", egressDashboard()] as [string, object]]
                    : []),
            ];
            for (const [dashboardName, model] of dashboards) {
                new k8s.core.v1.ConfigMap(
                    `${name}-${dashboardName}`,
                    {
                        metadata: {
                            name: `${dashboardName}-dashboard`,
                            namespace: grafana.namespace,
                            labels: { ...labels, [grafana.label]: grafana.labelValue },
                            // kube-prometheus-stack's sidecar: folderAnnotation grafana_folder.
                            annotations: { grafana_folder: grafana.folder },
                        },
                        data: {
                            [`${dashboardName}.json`]: pulumi.output(model).apply((m) => JSON.stringify(m, null, 2)),
                        },
                    },
                    { parent: this },
                );
            }
        }

        this.registerOutputs({ rulesYaml: this.rulesYaml, rulesSha256: this.rulesSha256, rules: this.rules });
    }
}
