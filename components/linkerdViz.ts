import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NetworkPolicySpec } from "../lib/networkPolicies";
import type { MeshConfig } from "../config";
import { CHARTS, type LinkerdPolicyKind, NAMESPACES, PORTS, VIZ_WEBHOOKS } from "../lib/registry";
import type { ResourceValues } from "./linkerdControlPlane";
import { awaitCaBundle } from "./transforms";
import type { WebhookTlsValues } from "./webhookCertificates";
import { linkerdPolicyObject, networkPolicyObject } from "../lib/objects";

/** viz's webhooks: chart value key -> Service name (templates' `$host`: `<service>.<namespace>.svc`). */
export const VIZ_WEBHOOK_SERVICES = VIZ_WEBHOOKS;
export type VizWebhook = keyof typeof VIZ_WEBHOOKS;

/** The pod-template annotation that rolls viz's Prometheus when its rule file changes. */
export const RULES_SHA_ANNOTATION = "akko.io/rules-sha256";

export interface VizResources {
    tap: ResourceValues;
    tapInjector: ResourceValues;
    dashboard: ResourceValues;
    metricsAPI: ResourceValues;
}

/** Who else may query the bundled Prometheus (config `viz.prometheus.readers`). */
type PrometheusReaders = NonNullable<MeshConfig["viz"]["prometheus"]["readers"]>;

export type VizPrometheus =
    | {
          mode: "bundled";
          /** Prometheus `--storage.tsdb.retention.time`. */
          retention: string;
          /** Prometheus `--storage.tsdb.retention.size`. */
          retentionSize: string;
          resources?: ResourceValues;
          /**
           * A ConfigMap holding a rule file, mounted into Prometheus. Its hash is not a chart value
           * (it is unknown at preview whenever a trust anchor is new): a Deployment patch rolls
           * Prometheus when it changes, since subPath mounts never see ConfigMap updates.
           */
          rules?: {
              configMap: string;
              key: string;
              sha256: pulumi.Input<string>;
              ready: pulumi.Input<pulumi.Resource>;
          };
          /**
           * Alertmanager URLs Prometheus sends its alerts to (chart `prometheus.alertmanagers`).
           * @default [] (alerts only show in Prometheus' UI)
           */
          alertmanagers?: readonly string[];
          /**
           * Who else may query Prometheus (a Grafana): viz's own AuthorizationPolicy on Server
           * `prometheus-admin` admits only its metrics API (templates/prometheus-policy.yaml).
           */
          readers?: MeshConfig["viz"]["prometheus"]["readers"];
      }
    | {
          mode: "external";
          /** Query URL of the existing Prometheus. */
          url: string;
      };

export interface DashboardIngress {
    /** Its host name; a secret keeps the dashboard output secret. */
    host: pulumi.Input<string>;
    className?: string;
    /** Forward-auth annotations of the platform's SSO (oauth2-proxy). */
    authAnnotations: Readonly<Record<string, string>>;
    tlsSecretName?: string;
}

export interface LinkerdVizArgs {
    /** The linkerd-viz namespace (see `vizNamespace` in namespaces.ts). */
    namespace: k8s.core.v1.Namespace;
    /** Its name, for host names and the namespace-metadata the chart expects. */
    namespaceName: string;
    /** Exact chart version; must match the control plane's. */
    chartVersion: pulumi.Input<MeshConfig["linkerd"]["chartVersion"]>;
    /** Helm repository. */
    repository: pulumi.Input<MeshConfig["linkerd"]["repository"]>;
    /** Identity trust domain (viz's policies name identities in it). */
    trustDomain: pulumi.Input<MeshConfig["identity"]["trustDomain"]>;
    /** TLS of the tap APIService and the tap injector webhook, so renders are deterministic. */
    webhookTls: Record<VizWebhook, WebhookTlsValues>;
    /** viz's values-ha.yaml: three tap replicas, PDBs, anti-affinity. */
    highAvailability: MeshConfig["viz"]["highAvailability"];
    /** Requests and limits of the viz components; unset keeps the chart's (none). */
    resources?: pulumi.Input<VizResources>;
    /** The bundled Prometheus, or an external one. */
    prometheus: VizPrometheus;
    /** Publish the dashboard through an Ingress (behind SSO); unset keeps it private. */
    dashboardIngress?: DashboardIngress;
    /** The kube context, for the dashboard command in {@link dashboard}; a secret keeps that output secret. */
    kubeContext: pulumi.Input<string>;
    /** Its NetworkPolicy on a default-deny-everywhere platform (lib/networkPolicies.ts); omit for none. */
    networkPolicy?: NetworkPolicySpec;
    /** Resources viz must wait for: the control plane, its own webhook certificates. */
    waitFor?: pulumi.Input<pulumi.Resource>[];
}

/**
 * linkerd-viz: the dashboard that shows which edges are mTLS, `linkerd viz edges`/`tap`,
 * and (unless an external one is used) a small Prometheus. Installed after the control
 * plane from the same edge repository and version.
 */
export class LinkerdViz extends pulumi.ComponentResource {
    /** The linkerd-viz chart. */
    public readonly chart: k8s.helm.v4.Chart;
    /** How to open the dashboard: its URL behind SSO, or the port-forward command. */
    public readonly dashboard: pulumi.Output<string>;

    constructor(name: string, args: LinkerdVizArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:LinkerdViz", name, {}, opts);

        const ns = args.namespaceName;
        const ha = args.highAvailability;
        const resources = pulumi.output(args.resources);
        const component = (key: keyof VizResources) => resources.apply((r) => r?.[key]);
        const ingress = args.dashboardIngress;

        const prometheus = prometheusValues(args.prometheus);

        this.chart = new k8s.helm.v4.Chart(
            `${name}-chart`,
            {
                name: "linkerd-viz",
                chart: CHARTS.linkerdViz.chart,
                version: args.chartVersion,
                repositoryOpts: { repo: args.repository },
                namespace: args.namespace.metadata.name,
                values: {
                    linkerdNamespace: NAMESPACES.controlPlane,
                    identityTrustDomain: args.trustDomain,
                    // The namespace carries that metadata already (namespaces.ts); hooks do not run.
                    createNamespaceMetadataJob: false,
                    enablePodAntiAffinity: ha,
                    enablePodDisruptionBudget: ha,
                    tap: { ...args.webhookTls.tap, replicas: ha ? 3 : 1, resources: component("tap") },
                    tapInjector: { ...args.webhookTls.tapInjector, resources: component("tapInjector") },
                    dashboard: {
                        resources: component("dashboard"),
                        // The dashboard refuses other Host headers (DNS rebinding); keep the
                        // port-forward hosts so `linkerd viz dashboard` still works.
                        ...(ingress
                            ? {
                                  enforcedHostRegexp: pulumi
                                      .output(ingress.host)
                                      .apply((host) => enforcedHostRegexp(host, ns)),
                              }
                            : {}),
                    },
                    metricsAPI: { resources: component("metricsAPI") },
                    prometheus,
                    ...(args.prometheus.mode === "external" ? { prometheusUrl: args.prometheus.url } : {}),
                },
            },
            // The tap APIService and the tap injector are ready once the API server can call them.
            { parent: this, dependsOn: [args.namespace, ...(args.waitFor ?? [])], transforms: [awaitCaBundle] },
        );

        if (args.networkPolicy) {
            new k8s.networking.v1.NetworkPolicy(
                `${name}-network-policy`,
                networkPolicyObject(args.networkPolicy, args.namespace.metadata.name),
                {
                    parent: this,
                },
            );
        }

        const rules = args.prometheus.mode === "bundled" ? args.prometheus.rules : undefined;
        if (rules) {
            // Server-side apply of one annotation: the chart's own fields stay the chart's.
            new k8s.apps.v1.DeploymentPatch(
                `${name}-prometheus-rules`,
                {
                    metadata: { name: "prometheus", namespace: args.namespace.metadata.name },
                    spec: { template: { metadata: { annotations: { [RULES_SHA_ANNOTATION]: rules.sha256 } } } },
                },
                { parent: this, dependsOn: [this.chart, rules.ready] },
            );
        }

        const readers = args.prometheus.mode === "bundled" ? args.prometheus.readers : undefined;
        if (readers) this.prometheusReaders(name, args.namespace, readers);

        if (ingress) {
            new k8s.networking.v1.Ingress(
                `${name}-dashboard`,
                {
                    metadata: {
                        name: "linkerd-viz-dashboard",
                        namespace: args.namespace.metadata.name,
                        annotations: ingress.authAnnotations,
                    },
                    spec: {
                        ingressClassName: ingress.className,
                        rules: [
                            {
                                host: ingress.host,
                                http: {
                                    paths: [
                                        {
                                            path: "/",
                                            pathType: "Prefix",
                                            backend: { service: { name: "web", port: { number: PORTS.vizWeb } } },
                                        },
                                    ],
                                },
                            },
                        ],
                        tls: ingress.tlsSecretName
                            ? [{ hosts: [ingress.host], secretName: ingress.tlsSecretName }]
                            : undefined,
                    },
                },
                { parent: this, dependsOn: [this.chart] },
            );
        }

        this.dashboard = ingress
            ? pulumi.interpolate`https://${ingress.host}/ (behind SSO)`
            : pulumi.interpolate`linkerd viz dashboard --context ${args.kubeContext}`;
        this.registerOutputs({ chart: this.chart, dashboard: this.dashboard });
    }

    /** One more AuthorizationPolicy on the chart's Server: each policy authorizes on its own. */
    private prometheusReaders(name: string, namespace: k8s.core.v1.Namespace, readers: PrometheusReaders): void {
        const policyObject = (resourceName: string, kind: LinkerdPolicyKind, spec: object) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${resourceName}`,
                linkerdPolicyObject({
                    kind,
                    name: "akko-prometheus-readers",
                    namespace: namespace.metadata.name,
                    spec,
                }),
                { parent: this, dependsOn: [this.chart] },
            );
        const authentication = readers.clients
            ? policyObject("prometheus-readers-identities", "MeshTLSAuthentication", { identities: readers.clients })
            : policyObject("prometheus-readers-networks", "NetworkAuthentication", {
                  networks: (readers.networks ?? []).map((cidr) => ({ cidr })),
              });
        policyObject("prometheus-readers", "AuthorizationPolicy", {
            targetRef: { group: "policy.linkerd.io", kind: "Server", name: "prometheus-admin" },
            requiredAuthenticationRefs: [
                {
                    group: "policy.linkerd.io",
                    kind: readers.clients ? "MeshTLSAuthentication" : "NetworkAuthentication",
                    name: authentication.metadata.name,
                },
            ],
        });
    }
}

/** The chart's `prometheus.alertmanagers` (Prometheus `alerting.alertmanagers`) for Alertmanager URLs. */
export function alertmanagerConfigs(urls: readonly string[]): object[] {
    return urls.map((text) => {
        const url = new URL(text);
        const scheme = url.protocol.replace(/:$/, "");
        const port = url.port || (scheme === "https" ? "443" : "80");
        const path = url.pathname.replace(/\/$/, "");
        return {
            scheme,
            ...(path ? { path_prefix: path } : {}),
            static_configs: [{ targets: [`${url.hostname}:${port}`] }],
        };
    });
}

/** The Host check of viz's web: the public host plus the hosts a port-forward uses. */
export function enforcedHostRegexp(host: string, namespace: string, clusterDomain = "cluster.local"): string {
    const escape = (s: string) => s.replace(/\./g, "\\.");
    const hosts = [
        escape(host),
        "localhost",
        "127\\.0\\.0\\.1",
        escape(`web.${namespace}.svc.${clusterDomain}`),
        escape(`web.${namespace}.svc`),
        "\\[::1\\]",
    ];
    return `^(${hosts.join("|")})(:\\d+)?$`;
}

/** The chart's `prometheus` values: the bundled Prometheus's retention, resources, alerting and rules, or none. */
function prometheusValues(settings: LinkerdVizArgs["prometheus"]): Record<string, unknown> {
    if (settings.mode !== "bundled") return { enabled: false };
    return {
        enabled: true,
        // Merged into the chart's args map (data path and config file stay).
        args: {
            "storage.tsdb.retention.time": settings.retention,
            "storage.tsdb.retention.size": settings.retentionSize,
        },
        resources: settings.resources,
        ...(settings.alertmanagers?.length ? { alertmanagers: alertmanagerConfigs(settings.alertmanagers) } : {}),
        ...(settings.rules
            ? {
                  ruleConfigMapMounts: [
                      { name: "akko-mtls-rules", subPath: settings.rules.key, configMap: settings.rules.configMap },
                  ],
              }
            : {}),
    };
}
