/** `viz`: linkerd-viz (dashboard, tap, metrics API) and its Prometheus, or an external one. */
import { z } from "zod";
import {
    callers,
    containerResources,
    hostName,
    httpUrl,
    httpUrlWithCredentials,
    invisibleProblem,
    labels,
    namespaceName,
    noRepeats,
    objectName,
    qualifiedNameProblem,
    urlProblem,
} from "./primitives";

const nonZero = (text: string) => !/^0+[a-zA-Z]*$/.test(text);

/** Prometheus' duration units in milliseconds (prometheus/common model/time.go ParseDuration: a year is 365 days). */
const DURATION_MS: Record<string, number> = {
    ms: 1,
    s: 1e3,
    m: 60e3,
    h: 3600e3,
    d: 86400e3,
    w: 7 * 86400e3,
    y: 365 * 86400e3,
};
/** Prometheus' size units, base 2 (prometheus/prometheus cmd/prometheus: `units.Base2Bytes`). */
const SIZE_BYTES: Record<string, number> = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40 };

/**
 * A bounded Prometheus quantity. Beyond the upper bound a value is a typo, and beyond what
 * Prometheus can count (a duration past 292 years overflows its nanoseconds) it would not start.
 */
function prometheusQuantity(
    pattern: RegExp,
    units: Record<string, number>,
    example: string,
    zero: string,
    min: [number, string],
    max: [number, string],
) {
    return z
        .string()
        .regex(pattern, { message: `a Prometheus ${example}` })
        .refine(nonZero, { message: zero })
        .superRefine((text, ctx) => {
            const match = /^([0-9]+)([A-Za-z]+)$/.exec(text);
            if (!match || !nonZero(text)) return;
            const value = Number(match[1]) * units[match[2]];
            if (value < min[0]) ctx.addIssue({ code: "custom", message: min[1] });
            if (value > max[0]) ctx.addIssue({ code: "custom", message: max[1] });
        });
}

/**
 * The forward-auth annotations of the ingress controllers the dashboard's Ingress may use: for each,
 * the gate (the annotation that makes the controller ask the SSO first) and the annotations that
 * tune it. Anything else (a `configuration-snippet`, an `auth-snippet`) is no forward auth, and no
 * place for free text in front of the dashboard.
 */
export const FORWARD_AUTH: Readonly<Record<string, { gate: string; tuning: readonly string[] }>> = {
    // ingress-nginx docs, user-guide/nginx-configuration/annotations.md "External Authentication".
    "ingress-nginx": {
        gate: "nginx.ingress.kubernetes.io/auth-url",
        tuning: [
            "auth-signin",
            "auth-signin-redirect-param",
            "auth-response-headers",
            "auth-request-redirect",
            "auth-method",
            "auth-always-set-cookie",
            "auth-cache-key",
            "auth-cache-duration",
            "auth-proxy-set-headers",
        ].map((name) => `nginx.ingress.kubernetes.io/${name}`),
    },
    // Traefik: a ForwardAuth Middleware, referenced as `<namespace>-<name>@kubernetescrd`.
    traefik: { gate: "traefik.ingress.kubernetes.io/router.middlewares", tuning: [] },
    // AWS Load Balancer Controller: OIDC or Cognito authentication on the ALB.
    "aws-load-balancer-controller": {
        gate: "alb.ingress.kubernetes.io/auth-type",
        tuning: [
            "auth-idp-oidc",
            "auth-idp-cognito",
            "auth-on-unauthenticated-request",
            "auth-scope",
            "auth-session-cookie",
            "auth-session-timeout",
        ].map((name) => `alb.ingress.kubernetes.io/${name}`),
    },
};

/** Why a gate annotation's value does not ask the SSO first, or undefined. */
export function forwardAuthGateProblem(key: string, value: string): string | undefined {
    switch (key) {
        case FORWARD_AUTH["ingress-nginx"].gate: {
            const problem = urlProblem(value, ["http", "https"], false);
            return problem ? `must be the SSO's auth endpoint: ${problem}` : undefined;
        }
        case FORWARD_AUTH.traefik.gate:
            return /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?@kubernetescrd(,[a-z0-9]([-a-z0-9.]*[a-z0-9])?@kubernetescrd)*$/.test(
                value,
            )
                ? undefined
                : "must name the ForwardAuth Middleware(s) as <namespace>-<name>@kubernetescrd, comma-separated";
        case FORWARD_AUTH["aws-load-balancer-controller"].gate:
            return value === "oidc" || value === "cognito"
                ? undefined
                : 'must be "oidc" or "cognito" (anything else lets every request through)';
        default:
            return undefined;
    }
}

const FORWARD_AUTH_KEYS = new Set(Object.values(FORWARD_AUTH).flatMap(({ gate, tuning }) => [gate, ...tuning]));

/** The dashboard Ingress' forward-auth annotations: only those of {@link FORWARD_AUTH}, each problem at its own key. */
const forwardAuthAnnotations = z.record(z.string(), z.string()).superRefine((map, ctx) => {
    const entries = Object.entries(map);
    if (entries.length > 16) ctx.addIssue({ code: "custom", message: "must hold at most 16 annotations" });
    for (const [key, value] of entries) {
        const keyProblem = qualifiedNameProblem(key);
        const problem = keyProblem
            ? `is not a valid annotation key: ${keyProblem}`
            : !FORWARD_AUTH_KEYS.has(key)
              ? `is not a forward-auth annotation; the gates are ${Object.entries(FORWARD_AUTH)
                    .map(([controller, { gate }]) => `${gate} (${controller})`)
                    .join(", ")}, with their tuning annotations`
              : value.trim() === ""
                ? "must not be empty: an empty forward-auth annotation asks no one"
                : value.length > 4096
                  ? "must be at most 4096 characters"
                  : (invisibleProblem(value) ?? forwardAuthGateProblem(key, value));
        if (problem) ctx.addIssue({ code: "custom", path: [key], message: problem });
    }
});

export const vizConfig = z.strictObject({
    enabled: z
        .boolean()
        .describe("linkerd-viz (dashboard, tap, metrics API, Prometheus), same chart version as Linkerd."),
    highAvailability: z
        .boolean()
        .describe("linkerd-viz's HA values (values-ha.yaml): replicas and anti-affinity. Needs 3 nodes."),
    resources: z.strictObject({
        tap: containerResources.describe("viz's tap API server."),
        tapInjector: containerResources.describe("viz's tap injector webhook."),
        dashboard: containerResources.describe("viz's dashboard (web)."),
        metricsAPI: containerResources.describe("viz's metrics API."),
    }),
    prometheus: z.strictObject({
        mode: z
            .enum(["bundled", "external"])
            .describe("`bundled`: viz's own Prometheus; `external`: an existing one at `url`."),
        url: httpUrlWithCredentials
            .optional()
            .describe(
                "Query URL of the external Prometheus, e.g. http://prometheus.monitoring.svc:9090 (with credentials in it, set it with --secret).",
            ),
        /**
         * The pods of the external Prometheus that scrape the proxies (the bundled one is viz's own):
         * NetworkPolicies and Linkerd policy admit them on the proxies' admin port.
         */
        scraper: z.strictObject({
            namespace: namespaceName.describe(
                "Namespace of the external Prometheus that scrapes the proxies (the bundled one is viz's own).",
            ),
            podSelector: labels
                .refine((map) => Object.keys(map).length > 0, {
                    message:
                        "must select the Prometheus pods by at least one label: an empty selector admits every pod of the namespace",
                })
                .describe(
                    "Labels of the external Prometheus' pods: NetworkPolicies and Linkerd policy admit them on the proxies' admin port.",
                ),
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
            .max(16)
            .superRefine(noRepeats)
            .describe(
                "Bundled Prometheus: the Alertmanagers it sends alerts to, e.g. http://alertmanager-operated.monitoring.svc:9093. " +
                    "Without any, alerts only show in Prometheus' own UI.",
            ),
        readers: callers
            .optional()
            .describe(
                "Bundled Prometheus: who else may query it (a Grafana); viz's own policy admits only its metrics API. One of:",
            ),
        retention: prometheusQuantity(
            /^[0-9]+(ms|s|m|h|d|w|y)$/,
            DURATION_MS,
            "duration such as 6h",
            "must be more than zero (Prometheus reads 0 as its default, 15 days)",
            [DURATION_MS.h, "must be at least 1h: the mesh's alerts wait up to an hour (for: 1h) before they fire"],
            [
                10 * DURATION_MS.y,
                "must be at most 10y: the bundled Prometheus keeps recent mesh metrics, not an archive",
            ],
        ).describe("Bundled Prometheus: how long it keeps data (a Prometheus duration such as 6h)."),
        retentionSize: prometheusQuantity(
            /^[0-9]+(B|KB|MB|GB|TB)$/,
            SIZE_BYTES,
            "size such as 512MB",
            "must be more than zero (Prometheus reads 0 as no limit)",
            [64 * SIZE_BYTES.MB, "must be at least 64MB: too little to keep the mesh's metrics the dashboards show"],
            [
                100 * SIZE_BYTES.TB,
                "must be at most 100TB: the bundled Prometheus keeps recent mesh metrics, not an archive",
            ],
        ).describe("Bundled Prometheus: how much data it keeps at most (a Prometheus size such as 512MB)."),
        resources: containerResources.describe("The bundled Prometheus."),
    }),
    dashboard: z.strictObject({
        /**
         * Optional Ingress for the dashboard, behind the platform's SSO. Without it the
         * dashboard is only reachable with `linkerd viz dashboard` (a port-forward).
         */
        ingress: z.strictObject({
            enabled: z
                .boolean()
                .describe(
                    "An Ingress for the dashboard, behind the platform's SSO. Without it: `linkerd viz dashboard` (a port-forward).",
                ),
            host: hostName.optional().describe("Host name of the dashboard's Ingress (required when enabled)."),
            className: objectName
                .optional()
                .describe("IngressClass of the dashboard's Ingress; unset: the cluster's default class."),
            authAnnotations: forwardAuthAnnotations.describe(
                "Forward-auth annotations of the platform's SSO (required: the dashboard has no login): ingress-nginx's " +
                    "`nginx.ingress.kubernetes.io/auth-url` (+ auth-signin, …), Traefik's `traefik.ingress.kubernetes.io/router.middlewares` " +
                    "(a ForwardAuth Middleware), or the AWS Load Balancer Controller's `alb.ingress.kubernetes.io/auth-type` oidc or cognito. " +
                    "Traefik's is checked for its form only (`<namespace>-<name>@kubernetescrd`): the program cannot tell a ForwardAuth " +
                    "Middleware from any other (a `compress` one publishes the dashboard and tap with no login); check its kind " +
                    '(docs/admin/mtls.md, "The viz dashboard behind the SSO").',
            ),
            tlsSecretName: objectName
                .optional()
                .describe("Secret holding the Ingress' TLS certificate; unset: no TLS section."),
        }),
    }),
});
