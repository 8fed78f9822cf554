/**
 * The stack configuration contract, as one zod schema.
 *
 * Every key of the `akko-mtls:` namespace is described here; objects are strict,
 * so a typo such as `mtls.enable` is an error rather than a silently ignored key.
 * Defaults do not live here: they are the presets in `presets.ts`, merged under
 * the stack file before this schema validates the result.
 */
import { z } from "zod";
import { parseQuantity, QUANTITY_PATTERN } from "../lib/quantity";
import { LINKERD_OBJECTS } from "../lib/registry";

export const TARGETS = ["k3d", "k3s", "eks", "gke"] as const;
export type Target = (typeof TARGETS)[number];

/** Targets that are one node: no HA, explicit limits everywhere. */
export const SINGLE_NODE_TARGETS: readonly Target[] = ["k3d", "k3s"];

/** Helm chart versions must be exact: a range would let `pulumi up` pick a new chart on its own. */
const exactChartVersion = z
    .string()
    .regex(/^[0-9]+\.[0-9]+\.[0-9]+$/, { message: "an exact chart version such as 2026.8.3 (no range, no 'latest', no 'v')" });
/** cert-manager's chart versions carry a `v`. */
const exactVChartVersion = z
    .string()
    .regex(/^v[0-9]+\.[0-9]+\.[0-9]+$/, { message: "an exact chart version such as v1.21.1 (with the 'v', no range)" });

/** An image reference pinned by digest: a tag alone can be moved under a running CronJob. */
const imageByDigest = z
    .string()
    .regex(/^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9._-]+)*(:[A-Za-z0-9._-]+)?@sha256:[a-f0-9]{64}$/, {
        message: "an image pinned by digest, e.g. docker.io/library/node:24-alpine@sha256:<64 hex>",
    });

/** A Kubernetes namespace name (RFC 1123 label). */
export const namespaceName = z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: "a namespace name (RFC 1123 label: lower-case letters, digits, '-')" })
    .max(63);

const quantity = z.string().regex(QUANTITY_PATTERN, { message: "a Kubernetes quantity such as 100m, 20Mi or 1Gi" });

const requestAndLimit = z.strictObject({
    request: quantity,
    /** Unset means no limit (Linkerd's HA values leave the CPU limit empty). */
    limit: quantity.optional(),
});

/** Linkerd's own resource shape (charts/linkerd-control-plane/values.yaml `proxy.resources`). */
export const containerResources = z.strictObject({
    cpu: requestAndLimit,
    memory: requestAndLimit,
});
export type ContainerResources = z.output<typeof containerResources>;

const hours = z.int().positive();

const portNumber = z.int().min(1).max(65535);
/** A list of port numbers, e.g. for Linkerd's opaque or skipped ports. */
const portList = z.array(portNumber).min(1);

/** IPv4 or IPv6 CIDRs. */
const cidrs = z.array(z.cidrv4().or(z.cidrv6())).min(1);
/**
 * Who may call a server that is not one of the platform's (a Prometheus, a Grafana): meshed clients
 * by ServiceAccount identity, or unmeshed ones by network. One of the two: a Linkerd
 * AuthorizationPolicy requires every authentication it names at once.
 */
const callers = z.strictObject({
    /** ServiceAccount identities, `<serviceaccount>.<namespace>.serviceaccount.identity.linkerd.<trustDomain>`. */
    clients: z.array(z.string()).min(1).optional(),
    /** CIDRs of unmeshed callers (a NetworkAuthentication). */
    networks: cidrs.optional(),
});
export type Callers = z.output<typeof callers>;

/** Per meshed namespace: proxy settings, and what the namespace's own NetworkPolicies deny. */
export const namespaceOptions = z.strictObject({
    /**
     * The namespace's own NetworkPolicies deny egress: the mesh's policy then also allows what the
     * proxies dial (DNS, the control plane, meshed peers' proxies). Unset: the mesh adds ingress rules only.
     */
    denyEgress: z.boolean().optional(),
    /**
     * Ports whose protocol the proxy must not detect (`config.linkerd.io/opaque-ports`): server-speaks-first
     * protocols (MySQL, SMTP) and any non-HTTP protocol on a port Linkerd does not know. Still mTLS.
     */
    opaquePorts: portList.optional(),
    /** Inbound ports that bypass the proxy (`config.linkerd.io/skip-inbound-ports`): plaintext, no mTLS. */
    skipInboundPorts: portList.optional(),
    /** Outbound ports that bypass the proxy (`config.linkerd.io/skip-outbound-ports`): plaintext, no mTLS. */
    skipOutboundPorts: portList.optional(),
});
export type NamespaceOptions = z.output<typeof namespaceOptions>;

/** The shape of the namespace, without the cross-key rules. */
export const configObject = z.strictObject({
        /** Which infrastructure the stack runs on; selects the preset. */
        target: z.enum(TARGETS),
        cluster: z.strictObject({
            /** kubeconfig context of the existing cluster this stack deploys to. */
            context: z.string().min(1),
            /** Path of the kubeconfig file; unset means the default (~/.kube/config or $KUBECONFIG). */
            kubeconfig: z.string().min(1).optional(),
            /**
             * GKE private cluster: the control plane reaches webhooks on nodes only through a
             * firewall rule; `pulumi up` prints the exact rule.
             */
            gkePrivate: z
                .strictObject({
                    masterIpv4CidrBlock: z.cidrv4(),
                    network: z.string().min(1),
                    nodeTag: z.string().min(1),
                })
                .optional(),
        }),
        mtls: z.strictObject({
            /** THE switch: false creates no Kubernetes object at all (after draining a meshed stack). */
            enabled: z.boolean(),
            /** The AKKO namespaces whose workloads are meshed (they must exist). */
            namespaces: z.array(namespaceName).min(1),
            /** Per meshed namespace settings, by namespace name. */
            namespaceOptions: z.record(namespaceName, namespaceOptions),
            /**
             * The cluster's ingress controller, meshed so that the ingress -> pod hop is mTLS too.
             * `k3s-traefik`: the Traefik k3s and k3d run in kube-system, configured through a
             * HelmChartConfig; `in-namespace`: a controller in its own namespace (ingress-nginx, Traefik).
             */
            ingress: z.strictObject({
                enabled: z.boolean(),
                controller: z.enum(["k3s-traefik", "in-namespace"]),
                /** The controller's namespace (`in-namespace`). */
                namespace: namespaceName.optional(),
                /**
                 * `enabled`: a regular proxy, which mTLSes every request to the pod the controller picked;
                 * `ingress`: Linkerd's ingress mode, routing by the l5d-dst-override header, which every route
                 * must then set and strip from clients (linkerd.io 2-edge tasks/using-ingress.md).
                 */
                mode: z.enum(["enabled", "ingress"]),
                /**
                 * `k3s-traefik`: Traefik values you already set through a HelmChartConfig named `traefik`.
                 * k3s reads one HelmChartConfig per chart, and the program's takes that name, so it carries
                 * yours: move them here (docs/runbook.md, "The ingress hop"). The mesh's pod annotations win.
                 */
                k3sTraefikValues: z.record(z.string(), z.unknown()),
            }),
            /** permissive: plaintext still accepted (migration); strict: only authenticated mesh traffic. */
            mode: z.enum(["permissive", "strict"]),
            /** NetworkPolicies that open the mesh's ports in meshed namespaces (which have default-deny). */
            networkPolicies: z.boolean(),
            /** Disable in steps that never cut traffic (true), or remove everything at once (false). */
            drainOnDisable: z.boolean(),
            /** Strict mode: who may call which server, by ServiceAccount identity. */
            authorizations: z.array(
                z.strictObject({
                    namespace: namespaceName,
                    /** Name of the Server (and of its AuthorizationPolicy). */
                    name: namespaceName,
                    /** Labels of the pods that serve. */
                    podSelector: z.record(z.string(), z.string()).refine((labels) => Object.keys(labels).length > 0, {
                        message: "must select pods by at least one label",
                    }),
                    /** Container port number or name. */
                    port: z.union([
                        z.int().min(1).max(65535),
                        z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: "a port name" }).max(15),
                    ]),
                    proxyProtocol: z.enum(["unknown", "HTTP/1", "HTTP/2", "gRPC", "opaque", "TLS"]).optional(),
                    /** Client identities, `<serviceaccount>.<namespace>.serviceaccount.identity.linkerd.<trustDomain>`. */
                    clients: z.array(z.string()).min(1).optional(),
                    /**
                     * Unauthenticated clients from these networks instead (a NetworkAuthentication): for the
                     * probes Linkerd does not authorize itself under strict mode (gRPC, TCP, HTTPS).
                     */
                    networks: cidrs.optional(),
                    /** The ServiceAccount of the pods that serve: their own identity may call the server too (replicas). */
                    serviceAccount: namespaceName.optional(),
                }),
            ),
        }),
        linkerd: z.strictObject({
            chartVersion: exactChartVersion,
            repository: z.url({ protocol: /^https$/ }),
            /**
             * Gateway API CRDs, which Linkerd's policy controller watches. linkerd-crds never installs
             * them. `present`: the cluster has them (k3s/k3d through their bundled Traefik, GKE >= 1.34);
             * the program reads them and stops if they are missing. `install`: the program installs
             * the upstream standard-channel CRDs (lib/registry.ts GATEWAY_API), never overwriting CRDs
             * another owner installed.
             */
            gatewayApi: z.enum(["install", "present"]),
            highAvailability: z.boolean(),
            controllerReplicas: z.int().min(1).max(7),
            webhookFailurePolicy: z.enum(["Ignore", "Fail"]),
            proxyInit: z.strictObject({
                iptablesMode: z.enum(["nft", "legacy"]),
            }),
            /**
             * Linkerd's CNI plugin (chart linkerd2-cni) sets up each pod's redirection instead of the
             * linkerd-init container, which needs NET_ADMIN and NET_RAW: required to mesh namespaces
             * that enforce Pod Security `baseline` or `restricted`.
             */
            cni: z.strictObject({
                enabled: z.boolean(),
                /** Where the node's CNI configuration is (k3s: /var/lib/rancher/k3s/agent/etc/cni/net.d). */
                netDir: z.string().regex(/^\//, { message: "an absolute path" }),
                /** Where the node's CNI plugins are (k3s: containerd's bin_dir). */
                binDir: z.string().regex(/^\//, { message: "an absolute path" }),
                resources: containerResources,
            }),
            /** NetworkPolicies for the control plane, where a platform policy puts default-deny everywhere. */
            networkPolicies: z.boolean(),
            proxy: z.strictObject({
                resources: containerResources,
            }),
            /** Requests and limits of every control-plane container. */
            controlPlaneResources: z.strictObject({
                destination: containerResources,
                spValidator: containerResources,
                policyController: containerResources,
                identity: containerResources,
                proxyInjector: containerResources,
            }),
        }),
        identity: z.strictObject({
            trustDomain: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
                message: "a DNS domain such as cluster.local",
            }),
            trustAnchor: z.strictObject({
                /** Validity of a new anchor (an existing one keeps its own). */
                validityHours: hours.min(24 * 30),
                /** `pulumi up` warns when fewer days than this are left (linkerd check warns at 60). */
                expiryWarningDays: z.int().min(1),
                /** The anchor in use; a completed rotation moves to the next generation. */
                generation: z.int().min(1),
                /**
                 * Zero-downtime rotation to generation + 1: 0 none, 1 trust both anchors,
                 * 2 issue from the new anchor, 3 drop the old anchor (docs/admin/rotation.md).
                 */
                rotationPhase: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
                /**
                 * Minimum time in phases 1 and 2 before the next one. At least 24 h: after the issuer
                 * switches (phase 2), every proxy must renew its 24 h certificate from the new issuer
                 * before the old anchor leaves the bundle (Linkerd's proxy certificate lifetime,
                 * charts/linkerd-control-plane values.yaml `identity.issuer.issuanceLifetime: 24h0m0s`).
                 */
                minHoursBetweenPhases: z.int().min(24, "must be at least 24: proxy certificates live 24 h, and every proxy must renew from the new issuer before the old anchor goes").max(24 * 30),
            }),
            issuer: z.strictObject({
                /** static: @pulumi/tls signs the issuer; certManager: cert-manager issues and rotates it. */
                mode: z.enum(["static", "certManager"]),
                static: z.strictObject({
                    validityHours: hours.min(24),
                    /** Early renewal: `pulumi up` re-issues the issuer when fewer hours than this are left. */
                    renewBeforeHours: hours,
                }),
                certManager: z.strictObject({
                    /** Certificate duration (Linkerd docs: 48 h). */
                    durationHours: hours.min(2),
                    /** cert-manager renews this long before expiry (Linkerd docs: 25 h). */
                    renewBeforeHours: hours,
                }),
            }),
        }),
        certManager: z.strictObject({
            /** Install cert-manager (true) or use the cluster's existing installation (false). */
            install: z.boolean(),
            chartVersion: exactVChartVersion,
            repository: z.url({ protocol: /^https$/ }),
            namespace: namespaceName,
            highAvailability: z.boolean(),
            resources: z.strictObject({
                controller: containerResources,
                webhook: containerResources,
                cainjector: containerResources,
            }),
        }),
        viz: z.strictObject({
            /** linkerd-viz (dashboard, tap, metrics API, Prometheus), same chart version as Linkerd. */
            enabled: z.boolean(),
            highAvailability: z.boolean(),
            resources: z.strictObject({
                tap: containerResources,
                tapInjector: containerResources,
                dashboard: containerResources,
                metricsAPI: containerResources,
            }),
            prometheus: z.strictObject({
                /** `bundled`: viz's own Prometheus; `external`: an existing one at `url`. */
                mode: z.enum(["bundled", "external"]),
                /** Query URL of the external Prometheus, e.g. http://prometheus.monitoring.svc:9090. */
                url: z.url({ protocol: /^https?$/ }).optional(),
                /**
                 * The pods of the external Prometheus that scrape the proxies (the bundled one is viz's own):
                 * NetworkPolicies and Linkerd policy admit them on the proxies' admin port.
                 */
                scraper: z.strictObject({
                    namespace: namespaceName,
                    podSelector: z.record(z.string(), z.string()),
                    /**
                     * Strict namespaces refuse unmeshed callers on the proxies' admin port too: who the
                     * scraper is to Linkerd (a Server `linkerd-admin` per strict namespace admits it).
                     * Not needed when its namespace is meshed.
                     */
                    authentication: callers.optional(),
                }),
                /**
                 * Bundled Prometheus: the Alertmanagers it sends alerts to, e.g.
                 * http://alertmanager-operated.monitoring.svc:9093. Without any, alerts only show in
                 * Prometheus' own UI.
                 */
                alertmanagers: z.array(z.url({ protocol: /^https?$/ })),
                /**
                 * Bundled Prometheus: who else may query it (a Grafana). viz's own policy admits only its
                 * metrics API.
                 */
                readers: callers.optional(),
                /** Bundled Prometheus: how long and how much data it keeps. */
                retention: z.string().regex(/^[0-9]+(ms|s|m|h|d|w|y)$/, { message: "a Prometheus duration such as 6h" }),
                retentionSize: z.string().regex(/^[0-9]+(B|KB|MB|GB|TB)$/, { message: "a Prometheus size such as 512MB" }),
                resources: containerResources,
            }),
            dashboard: z.strictObject({
                /**
                 * Optional Ingress for the dashboard, behind the platform's SSO. Without it the
                 * dashboard is only reachable with `linkerd viz dashboard` (a port-forward).
                 */
                ingress: z.strictObject({
                    enabled: z.boolean(),
                    host: z
                        .string()
                        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/, { message: "a DNS host name" })
                        .optional(),
                    className: z.string().min(1).optional(),
                    /** Forward-auth annotations of the platform's oauth2-proxy (required: the dashboard has no login). */
                    authAnnotations: z.record(z.string(), z.string()),
                    tlsSecretName: z.string().min(1).optional(),
                }),
            }),
        }),
        observability: z.strictObject({
            /** Grafana dashboards as ConfigMaps for the Grafana sidecar. */
            grafanaDashboards: z.strictObject({
                enabled: z.boolean(),
                namespace: namespaceName,
                /** The label the sidecar watches (kube-prometheus-stack: grafana_dashboard: "1"). */
                label: z.string().min(1),
                labelValue: z.string(),
                folder: z.string().min(1),
            }),
            /**
             * true: alert and recording rules as a PrometheusRule (the Prometheus operator is
             * installed); false: mounted into viz's bundled Prometheus.
             */
            prometheusOperator: z.boolean(),
            /** Labels the operator's ruleSelector and podMonitorSelector match (e.g. release: kube-prometheus-stack). */
            ruleLabels: z.record(z.string(), z.string()),
            /** Published runbook, linked from every alert as runbook_url. */
            runbookUrl: z.url().optional(),
        }),
        rotationJob: z.strictObject({
            /** The daily check-and-restart CronJob in the linkerd namespace. */
            enabled: z.boolean(),
            /** The Job runs at a minute drawn once per stack inside [windowStartHour, +windowHours) UTC. */
            windowStartHour: z.int().min(0).max(23),
            windowHours: z.int().min(1).max(24),
            /** Fail the Job (alert) when the issuer has fewer hours left; default min(renewBefore - 1, 1440). */
            issuerMinHoursLeft: z.int().min(1).optional(),
            /** Fail the Job when a trust anchor has fewer days left. */
            anchorMinDaysLeft: z.int().min(1),
            /** Workloads restarted at the same time when the trust bundle changed. */
            maxConcurrentRestarts: z.int().min(1).max(20),
            /** How long one workload's restart may take before it counts as failed. */
            rolloutTimeoutSeconds: z.int().min(30),
            /**
             * A maintenance Job (the daily one, or the rollout Job of a `pulumi up`) is stopped after
             * this long (activeDeadlineSeconds); it starts no restart it could not finish in time.
             * `pulumi up` waits this long plus 5 minutes for the rollout Job.
             */
            deadlineMinutes: z.int().min(5),
            /** Runs the check script (node). */
            image: imageByDigest,
            /** Provides the kubectl binary the script calls. */
            kubectlImage: imageByDigest,
            resources: containerResources,
        }),
});

export const configSchema = configObject
    .superRefine((config, ctx) => {
        const { issuer, trustAnchor } = config.identity;
        const lifetimes: [string, number, number][] = [
            ["static", issuer.static.validityHours, issuer.static.renewBeforeHours],
            ["certManager", issuer.certManager.durationHours, issuer.certManager.renewBeforeHours],
        ];
        for (const [mode, validity, renewBefore] of lifetimes) {
            const validityKey = mode === "static" ? "validityHours" : "durationHours";
            if (validity >= trustAnchor.validityHours) {
                ctx.addIssue({
                    code: "custom",
                    path: ["identity", "issuer", mode, validityKey],
                    message: `must be shorter than identity.trustAnchor.validityHours (${trustAnchor.validityHours})`,
                });
            }
            if (renewBefore >= validity) {
                ctx.addIssue({
                    code: "custom",
                    path: ["identity", "issuer", mode, "renewBeforeHours"],
                    message: `must be shorter than identity.issuer.${mode}.${validityKey} (${validity})`,
                });
            }
        }
        const renewBefore = issuer.mode === "static" ? issuer.static.renewBeforeHours : issuer.certManager.renewBeforeHours;
        const minLeft = config.rotationJob.issuerMinHoursLeft;
        if (minLeft !== undefined && minLeft >= renewBefore) {
            ctx.addIssue({
                code: "custom",
                path: ["rotationJob", "issuerMinHoursLeft"],
                message: `must be below the issuer's renewBeforeHours (${renewBefore}), or the check fails every day`,
            });
        }
        const viz = config.viz;
        if (viz.enabled && viz.prometheus.mode === "external" && !viz.prometheus.url) {
            ctx.addIssue({ code: "custom", path: ["viz", "prometheus", "url"], message: "is required when viz.prometheus.mode is external" });
        }
        if (viz.enabled && viz.prometheus.mode === "external" && !config.observability.prometheusOperator) {
            ctx.addIssue({
                code: "custom",
                path: ["observability", "prometheusOperator"],
                message: "must be true with an external Prometheus: the alert rules cannot be mounted into it, only given as a PrometheusRule",
            });
        }
        if (!viz.enabled && !config.observability.prometheusOperator) {
            ctx.addIssue({
                code: "custom",
                path: ["observability", "prometheusOperator"],
                message: "must be true when viz.enabled is false: without viz's Prometheus the alert rules need the operator",
            });
        }
        const dashboards = config.observability.grafanaDashboards;
        if (dashboards.enabled && !viz.enabled && dashboards.namespace === "linkerd-viz") {
            ctx.addIssue({
                code: "custom",
                path: ["observability", "grafanaDashboards", "namespace"],
                message: "is linkerd-viz, which does not exist with viz.enabled false: name your Grafana's namespace",
            });
        }
        const ingress = viz.dashboard.ingress;
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
        if (config.cluster.gkePrivate && config.target !== "gke") {
            ctx.addIssue({ code: "custom", path: ["cluster", "gkePrivate"], message: `only applies to target gke (this is ${config.target})` });
        }
        const mtls = config.mtls;
        if (mtls.authorizations.length > 0 && mtls.mode !== "strict") {
            ctx.addIssue({
                code: "custom",
                path: ["mtls", "authorizations"],
                message: "apply in strict mode only: set mtls.mode strict (permissive mode accepts any client)",
            });
        }
        for (const namespace of Object.keys(mtls.namespaceOptions)) {
            if (!mtls.namespaces.includes(namespace)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["mtls", "namespaceOptions", namespace],
                    message: `is not a meshed namespace (mtls.namespaces: ${mtls.namespaces.join(", ")})`,
                });
            }
        }
        const meshIngress = mtls.ingress;
        if (meshIngress.enabled && meshIngress.controller === "k3s-traefik") {
            if (!SINGLE_NODE_TARGETS.includes(config.target)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["mtls", "ingress", "controller"],
                    message: `k3s-traefik is the Traefik of k3s and k3d; on ${config.target} use in-namespace with the controller's namespace`,
                });
            }
            if (config.linkerd.webhookFailurePolicy === "Fail") {
                ctx.addIssue({
                    code: "custom",
                    path: ["mtls", "ingress", "controller"],
                    message:
                        "k3s-traefik puts kube-system in the proxy injector's scope, which needs linkerd.webhookFailurePolicy Ignore: " +
                        "with Fail, an injector outage would block every kube-system pod (CoreDNS included)",
                });
            }
        }
        if (meshIngress.enabled && meshIngress.controller === "in-namespace") {
            if (!meshIngress.namespace) {
                ctx.addIssue({ code: "custom", path: ["mtls", "ingress", "namespace"], message: "is required with controller in-namespace" });
            } else if (mtls.namespaces.includes(meshIngress.namespace) || RESERVED_NAMESPACES.includes(meshIngress.namespace)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["mtls", "ingress", "namespace"],
                    message: "must be the controller's own namespace: not a meshed AKKO namespace, not a system or mesh namespace",
                });
            }
        }

        const clientPattern = identityPattern(config.identity.trustDomain);
        const servers = new Set<string>();
        mtls.authorizations.forEach((authorization, i) => {
            if (!mtls.namespaces.includes(authorization.namespace)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["mtls", "authorizations", i, "namespace"],
                    message: `is not a meshed namespace (mtls.namespaces: ${mtls.namespaces.join(", ")})`,
                });
            }
            if (authorization.name === LINKERD_OBJECTS.scraperServer) {
                ctx.addIssue({
                    code: "custom",
                    path: ["mtls", "authorizations", i, "name"],
                    message: `${LINKERD_OBJECTS.scraperServer} is the program's own Server (the proxies' admin port): choose another name`,
                });
            }
            const server = `${authorization.namespace}/${authorization.name}`;
            if (servers.has(server)) {
                ctx.addIssue({ code: "custom", path: ["mtls", "authorizations", i, "name"], message: `${server} is defined twice` });
            }
            servers.add(server);
            if ((authorization.clients === undefined) === (authorization.networks === undefined)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["mtls", "authorizations", i],
                    message:
                        "needs either clients (ServiceAccount identities) or networks (CIDRs of unauthenticated callers such as kubelet probes), not both: " +
                        "Linkerd would require both at once",
                });
            }
            (authorization.clients ?? []).forEach((client, j) => {
                if (!clientPattern.test(client)) {
                    ctx.addIssue({
                        code: "custom",
                        path: ["mtls", "authorizations", i, "clients", j],
                        message: `is not a ServiceAccount identity: <serviceaccount>.<namespace>.serviceaccount.identity.linkerd.${config.identity.trustDomain}`,
                    });
                    return;
                }
                // A client in a namespace that is not meshed (or leaves the mesh) has no identity:
                // strict mode would refuse every call it makes.
                const clientNamespace = client.split(".")[1];
                if (!mtls.namespaces.includes(clientNamespace) && clientNamespace !== "linkerd-viz") {
                    ctx.addIssue({
                        code: "custom",
                        path: ["mtls", "authorizations", i, "clients", j],
                        message:
                            `names namespace ${clientNamespace}, which is not meshed: its pods have no mTLS identity and would be refused. ` +
                            `Keep ${clientNamespace} in mtls.namespaces while a strict authorization names it, or remove this client first`,
                    });
                }
            });
        });
        const namespaces = config.mtls.namespaces;
        namespaces.forEach((namespace, i) => {
            if (namespaces.indexOf(namespace) !== i) {
                ctx.addIssue({ code: "custom", path: ["mtls", "namespaces", i], message: `lists "${namespace}" twice` });
            }
            if (RESERVED_NAMESPACES.includes(namespace)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["mtls", "namespaces", i],
                    message: `must not be a system or mesh namespace (${RESERVED_NAMESPACES.join(", ")})`,
                });
            }
        });

        const linkerd = config.linkerd;
        const singleNode = SINGLE_NODE_TARGETS.includes(config.target);
        if (singleNode && linkerd.highAvailability) {
            ctx.addIssue({
                code: "custom",
                path: ["linkerd", "highAvailability"],
                message: `must be false on the single-node target ${config.target} (HA anti-affinity needs 3 nodes)`,
            });
        }
        if (singleNode && config.viz.highAvailability) {
            ctx.addIssue({ code: "custom", path: ["viz", "highAvailability"], message: `must be false on the single-node target ${config.target}` });
        }
        if (singleNode && config.certManager.highAvailability) {
            ctx.addIssue({
                code: "custom",
                path: ["certManager", "highAvailability"],
                message: `must be false on the single-node target ${config.target}`,
            });
        }
        if (linkerd.webhookFailurePolicy === "Fail" && !linkerd.highAvailability) {
            ctx.addIssue({
                code: "custom",
                path: ["linkerd", "webhookFailurePolicy"],
                message:
                    "Fail needs linkerd.highAvailability true (3 replicas, PodDisruptionBudgets, anti-affinity): without it one " +
                    "proxy-injector restart or a node drain blocks every pod creation in the meshed namespaces. Set it to Ignore " +
                    "together with highAvailability false",
            });
        }
        if (linkerd.highAvailability && linkerd.controllerReplicas < 3) {
            ctx.addIssue({
                code: "custom",
                path: ["linkerd", "controllerReplicas"],
                message: "must be at least 3 when linkerd.highAvailability is true",
            });
        }

        const job = config.rotationJob;
        if (job.rolloutTimeoutSeconds + 60 > job.deadlineMinutes * 60) {
            ctx.addIssue({
                code: "custom",
                path: ["rotationJob", "rolloutTimeoutSeconds"],
                message: `must leave a minute inside rotationJob.deadlineMinutes (${job.deadlineMinutes} min): one restart could never finish in time`,
            });
        }

        const everyResources: [string[], ContainerResources][] = [
            [["linkerd", "proxy", "resources"], linkerd.proxy.resources],
            [["rotationJob", "resources"], config.rotationJob.resources],
            [["viz", "prometheus", "resources"], config.viz.prometheus.resources],
            ...Object.entries(config.viz.resources).map(
                ([component, r]): [string[], ContainerResources] => [["viz", "resources", component], r],
            ),
            ...Object.entries(config.certManager.resources).map(
                ([component, r]): [string[], ContainerResources] => [["certManager", "resources", component], r],
            ),
            ...Object.entries(linkerd.controlPlaneResources).map(
                ([component, r]): [string[], ContainerResources] => [["linkerd", "controlPlaneResources", component], r],
            ),
        ];
        validatePrometheusAccess(config, ctx);
        for (const [path, resources] of everyResources) {
            for (const kind of ["cpu", "memory"] as const) {
                const { request, limit } = resources[kind];
                const valid = (q: string | undefined) => q === undefined || QUANTITY_PATTERN.test(q);
                if (!valid(request) || !valid(limit)) continue; // already reported as not a quantity
                if (limit === undefined) {
                    if (singleNode) {
                        ctx.addIssue({
                            code: "custom",
                            path: [...path, kind, "limit"],
                            message: `is required on the single-node target ${config.target} (every container has explicit limits)`,
                        });
                    }
                } else if (parseQuantity(request) > parseQuantity(limit)) {
                    ctx.addIssue({
                        code: "custom",
                        path: [...path, kind, "request"],
                        message: `must not exceed its limit (${limit})`,
                    });
                }
            }
        }
    })
    .transform((config) => {
        // Derived default: alert an hour after the issuer's renewal should have happened
        // (cert-manager), or at `linkerd check`'s 60 days (static).
        const issuer = config.identity.issuer;
        const renewBefore = issuer.mode === "static" ? issuer.static.renewBeforeHours : issuer.certManager.renewBeforeHours;
        const issuerMinHoursLeft = config.rotationJob.issuerMinHoursLeft ?? Math.min(renewBefore - 1, 1440);
        return { ...config, rotationJob: { ...config.rotationJob, issuerMinHoursLeft } };
    });

/** Namespaces that are never meshed workload namespaces. */
/** A Linkerd ServiceAccount identity in the trust domain: `<sa>.<ns>.serviceaccount.identity.linkerd.<trustDomain>`. */
export function identityPattern(trustDomain: string): RegExp {
    const label = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
    return new RegExp(`^${label}\\.${label}\\.serviceaccount\\.identity\\.linkerd\\.${trustDomain.replace(/\./g, "\\.")}$`);
}

type Shape = z.output<typeof configObject>;

/** Who may call a Prometheus: one kind of caller, identities of this trust domain. */
function validateCallers(allowed: Callers | undefined, path: (string | number)[], trustDomain: string, ctx: z.RefinementCtx): void {
    if (!allowed) return;
    if ((allowed.clients === undefined) === (allowed.networks === undefined)) {
        ctx.addIssue({ code: "custom", path, message: "needs either clients (ServiceAccount identities) or networks (CIDRs), not both: Linkerd would require both at once" });
    }
    const pattern = identityPattern(trustDomain);
    (allowed.clients ?? []).forEach((client, i) => {
        if (!pattern.test(client)) {
            ctx.addIssue({ code: "custom", path: [...path, "clients", i], message: `is not a ServiceAccount identity: <serviceaccount>.<namespace>.serviceaccount.identity.linkerd.${trustDomain}` });
        }
    });
}

/**
 * viz's Prometheus: Alertmanagers and readers belong to the bundled one; a scraper of strict
 * namespaces that is not meshed must be known to Linkerd, or strict mode refuses its scrapes.
 */
export function validatePrometheusAccess(config: Shape, ctx: z.RefinementCtx): void {
    const prometheus = config.viz.prometheus;
    const trustDomain = config.identity.trustDomain;
    const bundled = config.viz.enabled && prometheus.mode === "bundled";
    if (!bundled && prometheus.alertmanagers.length > 0) {
        ctx.addIssue({ code: "custom", path: ["viz", "prometheus", "alertmanagers"], message: "belongs to viz's bundled Prometheus; an external one routes alerts through its own Alertmanager configuration" });
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

export const RESERVED_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease", "linkerd", "linkerd-viz", "linkerd-cni", "linkerd-maintenance", "cert-manager"];

export type MeshConfigInput = z.input<typeof configSchema>;
export type MeshConfig = z.output<typeof configSchema>;
