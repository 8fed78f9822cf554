/** `viz`: linkerd-viz (dashboard, tap, metrics API) and its Prometheus, or an external one. */
import { z } from "zod";
import { annotations, callers, containerResources, hostName, httpUrl, labels, namespaceName, noRepeats, objectName } from "./primitives";

const nonZero = (text: string) => !/^0+[a-zA-Z]*$/.test(text);

export const vizConfig = z.strictObject({
    enabled: z.boolean().describe("linkerd-viz (dashboard, tap, metrics API, Prometheus), same chart version as Linkerd."),
    highAvailability: z.boolean().describe("linkerd-viz's HA values (values-ha.yaml): replicas and anti-affinity. Needs 3 nodes."),
    resources: z.strictObject({
        tap: containerResources.describe("viz's tap API server."),
        tapInjector: containerResources.describe("viz's tap injector webhook."),
        dashboard: containerResources.describe("viz's dashboard (web)."),
        metricsAPI: containerResources.describe("viz's metrics API."),
    }),
    prometheus: z.strictObject({
        mode: z.enum(["bundled", "external"]).describe("`bundled`: viz's own Prometheus; `external`: an existing one at `url`."),
        url: httpUrl.optional().describe("Query URL of the external Prometheus, e.g. http://prometheus.monitoring.svc:9090."),
        /**
         * The pods of the external Prometheus that scrape the proxies (the bundled one is viz's own):
         * NetworkPolicies and Linkerd policy admit them on the proxies' admin port.
         */
        scraper: z.strictObject({
            namespace: namespaceName.describe("Namespace of the external Prometheus that scrapes the proxies (the bundled one is viz's own)."),
            podSelector: labels
                .refine((map) => Object.keys(map).length > 0, {
                    message: "must select the Prometheus pods by at least one label: an empty selector admits every pod of the namespace",
                })
                .describe("Labels of the external Prometheus' pods: NetworkPolicies and Linkerd policy admit them on the proxies' admin port."),
            authentication: callers
                .optional()
                .describe(
                    "External Prometheus in strict mode: who the scraper is to Linkerd (strict namespaces refuse unmeshed " +
                        "callers on the proxies' admin port too; a Server `linkerd-admin` per strict namespace admits it). " +
                        "Not needed when its namespace is meshed. One of:",
                ),
        }),
        alertmanagers: z
            .array(httpUrl)
            .superRefine(noRepeats)
            .describe(
                "Bundled Prometheus: the Alertmanagers it sends alerts to, e.g. http://alertmanager-operated.monitoring.svc:9093. " +
                    "Without any, alerts only show in Prometheus' own UI.",
            ),
        readers: callers.optional().describe("Bundled Prometheus: who else may query it (a Grafana); viz's own policy admits only its metrics API. One of:"),
        retention: z
            .string()
            .regex(/^[0-9]+(ms|s|m|h|d|w|y)$/, { message: "a Prometheus duration such as 6h" })
            .refine(nonZero, { message: "must be more than zero (Prometheus reads 0 as its default, 15 days)" })
            .describe("Bundled Prometheus: how long it keeps data (a Prometheus duration such as 6h)."),
        retentionSize: z
            .string()
            .regex(/^[0-9]+(B|KB|MB|GB|TB)$/, { message: "a Prometheus size such as 512MB" })
            .refine(nonZero, { message: "must be more than zero (Prometheus reads 0 as no limit)" })
            .describe("Bundled Prometheus: how much data it keeps at most (a Prometheus size such as 512MB)."),
        resources: containerResources.describe("The bundled Prometheus."),
    }),
    dashboard: z.strictObject({
        /**
         * Optional Ingress for the dashboard, behind the platform's SSO. Without it the
         * dashboard is only reachable with `linkerd viz dashboard` (a port-forward).
         */
        ingress: z.strictObject({
            enabled: z.boolean().describe("An Ingress for the dashboard, behind the platform's SSO. Without it: `linkerd viz dashboard` (a port-forward)."),
            host: hostName.optional().describe("Host name of the dashboard's Ingress (required when enabled)."),
            className: objectName.optional().describe("IngressClass of the dashboard's Ingress; unset: the cluster's default class."),
            authAnnotations: annotations.describe("Forward-auth annotations of the platform's oauth2-proxy (required: the dashboard has no login)."),
            tlsSecretName: objectName.optional().describe("Secret holding the Ingress' TLS certificate; unset: no TLS section."),
        }),
    }),
});
