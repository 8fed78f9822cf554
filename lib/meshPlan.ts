/**
 * What the mesh deploys in one run, decided from the config and this run's plans (lifecycle,
 * rotation, webhook trust). Pure: components/mtlsMesh.ts only turns it into resources, as
 * pulumi-eks' `createCluster()` returns the record its component assigns.
 *
 * Decided here: who scrapes the proxies, the issuer's back end, the platform's NetworkPolicies,
 * each namespace's annotations, policies and authorizations, the inbound policy per mode, what the
 * maintenance Jobs check and run in this rotation phase, and the operator's warnings (the GKE
 * firewall rule, alerts routed nowhere, the webhook handover).
 */
import type { MeshConfig } from "../config";
import { SINGLE_NODE_TARGETS } from "../config/schema";
import { egressAnnotations, egressOf, type EgressMode, type EgressPlan, planEgress } from "./egress";
import {
    drainingNamespaces,
    injectedNamespaces,
    injectorScope,
    type IngressPlan,
    K3S_TRAEFIK,
    type MeshPlan,
    type MtlsMode,
    strictNamespaces,
} from "./meshLifecycle";
import {
    inNamespaces,
    type MeshedNamespacePolicyArgs,
    namespacePosture,
    type NamespacePosture,
    type NetworkPolicySpec,
    opaquePortsAnnotation,
    type Peer,
    platformPolicies,
    type Scraper,
} from "./networkPolicies";
import { LINKERD_ANNOTATIONS, LINKERD_DEFAULT_OPAQUE_PORTS, LINKERD_OBJECTS, NAMESPACES, PORTS } from "./registry";
import type { WebhookTrustPlan } from "./webhookTrust";

/**
 * Linkerd's default inbound policy of a meshed namespace in each mode (values of
 * `proxy.defaultInboundPolicy`, linkerd2 edge-26.8.3 charts/linkerd-control-plane/values.yaml):
 * permissive accepts plaintext (the chart's default, which the control plane keeps), strict only
 * meshed, authenticated callers. The one place a mode becomes a policy: the namespaces' annotation,
 * the ingress controller's, and what the maintenance Jobs expect to find.
 */
export const INBOUND_POLICY = {
    permissive: "all-unauthenticated",
    strict: "all-authenticated",
} as const satisfies Record<MtlsMode, string>;

/** The default inbound policy of a namespace meshed in `mode`. */
export const inboundPolicy = (mode: MtlsMode): (typeof INBOUND_POLICY)[MtlsMode] => INBOUND_POLICY[mode];

/**
 * Strict mode: who may call a server (config `mtls.authorizations`, less the namespace): its name
 * (also of its AuthorizationPolicy and authentication), the pods that serve and their port, and
 * either `clients` (ServiceAccount identities) or `networks` (unauthenticated callers), plus the
 * serving pods' own `serviceAccount`.
 */
export type Authorization = Omit<MeshConfig["mtls"]["authorizations"][number], "namespace">;

/** Proxy settings a namespace gives its pods (config `mtls.namespaceOptions`). */
export type ProxyOptions = Partial<
    Pick<MeshConfig["mtls"]["namespaceOptions"][string], "opaquePorts" | "skipInboundPorts" | "skipOutboundPorts">
> & {
    /** The namespace's egress control (lib/egress.ts `egressOf`): its annotations. */
    egressMode?: EgressMode;
};

/** A meshed namespace's proxy settings: its options, and its egress mode. */
const proxyOf = (config: MeshConfig, namespace: string): ProxyOptions => ({
    ...config.mtls.namespaceOptions[namespace],
    egressMode: egressOf(config.mtls, namespace).mode,
});

/** The pods of k3s' Traefik (its chart's `app.kubernetes.io/name`). */
export const K3S_TRAEFIK_SELECTOR = { "app.kubernetes.io/name": "traefik" };

/**
 * A namespace's proxy settings as the annotations the injector copies onto each new pod that has
 * none of its own (linkerd2 controller/proxy-injector/webhook.go AppendNamespaceAnnotations; names
 * from pkg/k8s/labels.go). Only the ones set.
 */
export function proxyAnnotations(proxy: ProxyOptions = {}): Record<string, string> {
    const list = (ports: readonly number[] | undefined) => (ports && ports.length > 0 ? ports.join(",") : undefined);
    const annotations: Record<string, string | undefined> = {
        // Ports whose protocol is not detected: server-speaks-first and other non-HTTP protocols. Still
        // mTLS. Linkerd's defaults included: the annotation replaces them (lib/networkPolicies.ts).
        "config.linkerd.io/opaque-ports": opaquePortsAnnotation(proxy.opaquePorts),
        // Ports the proxy does not touch at all: plaintext, for protocols that cannot go through it.
        "config.linkerd.io/skip-inbound-ports": list(proxy.skipInboundPorts),
        "config.linkerd.io/skip-outbound-ports": list(proxy.skipOutboundPorts),
        // Hostname labels where egress is watched; no outbound bypass where it is enforced.
        ...egressAnnotations(proxy.egressMode),
    };
    return Object.fromEntries(
        Object.entries(annotations).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
}

/** The namespace annotations for a meshed (or draining) namespace: read by the injector when a pod is created. */
export function meshAnnotations(inject: boolean, mode: MtlsMode, proxy: ProxyOptions = {}): Record<string, string> {
    return {
        [LINKERD_ANNOTATIONS.inject]: inject ? "enabled" : "disabled",
        // Native sidecars (the chart's default since linkerd2 #15267), pinned: Jobs and Spark executors
        // must complete, which a classic sidecar proxy prevents.
        "config.linkerd.io/proxy-enable-native-sidecar": "true",
        // Permissive writes none: the control plane's default applies, the chart's all-unauthenticated.
        ...(mode === "strict" ? { [LINKERD_ANNOTATIONS.defaultInboundPolicy]: inboundPolicy(mode) } : {}),
        ...(inject ? proxyAnnotations(proxy) : {}),
    };
}

/** Which back end issues the identity issuer and webhook certificates: decided once, from the config. */
export type IssuerPlan = { mode: "static" } | { mode: "certManager"; install: boolean; namespace: string };

export function planIssuer(config: MeshConfig): IssuerPlan {
    return config.identity.issuer.mode === "static"
        ? { mode: "static" }
        : { mode: "certManager", install: config.certManager.install, namespace: config.certManager.namespace };
}

/** One namespace of the lifecycle plan, as the mesh deploys it. */
export interface NamespaceDeployment {
    name: string;
    /** `linkerd.io/inject: enabled`, or `disabled` while drained. */
    inject: boolean;
    mode: MtlsMode;
    /** The namespace's proxy settings, while injected. */
    proxy: ProxyOptions | undefined;
    /** The mesh's NetworkPolicies there (lib/networkPolicies.ts), when `mtls.networkPolicies`. */
    networkPolicy: Omit<MeshedNamespacePolicyArgs, "namespace"> | undefined;
    /** Servers and their authorizations (strict mode, not draining). */
    authorizations: Authorization[];
    /** Whether its annotation and objects wait for the strict preflight (going, or staying, strict). */
    strictPreflight: boolean;
}

/** What the maintenance Jobs check and run (components/meshMaintenance.ts MeshMaintenanceArgs, the parts decided by the config). */
export interface MaintenancePlan {
    meshedNamespaces: string[];
    unmeshedNamespaces: string[];
    expectedInboundPolicy: Record<string, string>;
    expectedAnnotations: Record<string, Record<string, string>>;
    ingress?: { namespace: string; selector: Record<string, string>; deployment?: string; inject: boolean };
    rotation?: {
        windowStartHour: number;
        windowHours: number;
        issuerMinHoursLeft: number;
        anchorMinDaysLeft: number;
        intermediateMinHoursLeft: number;
    };
    /** Rotation phase 2: identity reloads the issuer signed by the new anchor. */
    reloadIdentity: boolean;
    /** Rotation phase 3: the gate proves the live issuer signed by the new anchor before the bundle drops the old one. */
    rotationGate: boolean;
    strict?: {
        namespaces: string[];
        probeAuthorizations: { namespace: string; podSelector: Record<string, string>; port: number | string }[];
        ingressMeshed: boolean;
    };
    networkPosture?: Record<string, NamespacePosture & { opaquePorts: number[] }>;
}

/** Messages for the operator, at the level given. */
export interface MeshWarnings {
    /** The run that takes the webhooks over from cert-manager. */
    webhookHandover?: string;
    /** Alerts evaluated but sent nowhere: a warning, or a note on a single-node target. */
    alertRouting?: { level: "warn" | "info"; message: string };
    /** The firewall rule a GKE private cluster needs (values of a secret `cluster` are redacted by the caller). */
    gkeFirewall?: string;
}

/** Everything a deploying run decides. */
export interface MeshDeployment {
    /** viz's namespace, when viz is enabled. */
    viz: string | undefined;
    /** Whether viz's own Prometheus scrapes the proxies (else the external one of `viz.prometheus.scraper`). */
    bundledPrometheus: boolean;
    scraper: Scraper;
    issuer: IssuerPlan;
    /** The platform's NetworkPolicies (`linkerd.networkPolicies`), by namespace. */
    platformPolicies: NetworkPolicySpec[];
    /** Namespaces whose pods run (or still run) a proxy: the control plane's webhooks are called for these only. */
    injectorScope: string[];
    /** PodMonitors for an external Prometheus operator. */
    podMonitor: { labels: Record<string, string> } | undefined;
    namespaces: NamespaceDeployment[];
    /** The ingress controller, meshed or being drained (lib/meshLifecycle.ts). */
    ingress: IngressPlan | undefined;
    maintenance: MaintenancePlan;
    warnings: MeshWarnings;
    /** Egress control of the injected namespaces (lib/egress.ts). */
    egress: EgressPlan;
}

export interface MeshDeploymentArgs {
    config: MeshConfig;
    /** Which namespaces are meshed, or drained, in this run. */
    mesh: MeshPlan;
    /** The trust anchor rotation's phase (lib/rotation.ts). */
    rotationPhase: number;
    webhookTrust: WebhookTrustPlan;
}

/** The platform policy of a namespace, if any. */
export const policyIn = (deployment: MeshDeployment, namespace: string): NetworkPolicySpec | undefined =>
    deployment.platformPolicies.find((p) => p.namespace === namespace);

/** Who scrapes the proxies: viz's own Prometheus, or the external one the config names. */
function scraperOf(config: MeshConfig, bundledPrometheus: boolean): Scraper {
    return bundledPrometheus
        ? { namespace: NAMESPACES.viz, podSelector: { "linkerd.io/extension": "viz", component: "prometheus" } }
        : {
              namespace: config.viz.prometheus.scraper.namespace,
              podSelector: config.viz.prometheus.scraper.podSelector,
          };
}

/**
 * The ingress controller's pods, as `mtls.ingress` names them (whether or not the mesh injects it);
 * undefined when it names no namespace (nothing is admitted then).
 */
function ingressControllerPods(settings: MeshConfig["mtls"]["ingress"]): Peer | undefined {
    if (settings.controller === "k3s-traefik") return inNamespaces([K3S_TRAEFIK.namespace], K3S_TRAEFIK_SELECTOR);
    return settings.namespace ? inNamespaces([settings.namespace]) : undefined;
}

/**
 * Every port whose traffic reaches a namespace's pods on the proxy port: Linkerd's default opaque
 * ports, the namespace's own, and those of Servers the config declares opaque (lib/registry.ts
 * LINKERD_DEFAULT_OPAQUE_PORTS; endpoint_translator.go reads a Server's `opaque` protocol too).
 */
export function opaquePortsOf(config: MeshConfig, namespace: string): number[] {
    const servers = config.mtls.authorizations.flatMap((a) =>
        a.namespace === namespace && a.proxyProtocol === "opaque" && typeof a.port === "number" ? [a.port] : [],
    );
    const ports = [
        ...LINKERD_DEFAULT_OPAQUE_PORTS,
        ...(config.mtls.namespaceOptions[namespace]?.opaquePorts ?? []),
        ...servers,
    ];
    return [...new Set(ports)].sort((a, b) => a - b);
}

function platformPoliciesOf(
    config: MeshConfig,
    mesh: MeshPlan,
    plan: { viz?: string; scraper: Scraper; bundledPrometheus: boolean; issuer: IssuerPlan },
) {
    if (!config.linkerd.networkPolicies) return [];
    const ingress = mesh.ingress;
    return platformPolicies({
        controlPlaneNamespace: NAMESPACES.controlPlane,
        meshNamespaces: [...injectedNamespaces(mesh), ...(ingress?.inject ? [ingress.namespace] : [])],
        vizNamespace: plan.viz,
        scraper: plan.scraper,
        certManagerNamespace:
            plan.issuer.mode === "certManager" && plan.issuer.install ? plan.issuer.namespace : undefined,
        cniNamespace: config.linkerd.cni.enabled ? NAMESPACES.cni : undefined,
        maintenanceNamespace: NAMESPACES.maintenance,
        vizPrometheus: plan.bundledPrometheus
            ? {
                  readers: config.viz.prometheus.readers !== undefined,
                  alertmanagerPorts: config.viz.prometheus.alertmanagers.map((u) => {
                      const url = new URL(u);
                      return Number(url.port || (url.protocol === "https:" ? 443 : 80));
                  }),
              }
            : undefined,
        dashboardIngressFrom: config.viz.dashboard.ingress.enabled
            ? ingressControllerPods(config.mtls.ingress)
            : undefined,
    });
}

/**
 * An unmeshed external Prometheus, known to Linkerd: strict namespaces admit it on the proxies'
 * admin port (a Server there keeps kubelet's probes of /live and /ready authorized: the policy
 * controller adds probe routes to a Server without HTTPRoutes, policy-controller/k8s/index/src/inbound/index.rs).
 */
function scraperAuthorization(config: MeshConfig, bundledPrometheus: boolean): Authorization | undefined {
    const authentication = bundledPrometheus ? undefined : config.viz.prometheus.scraper.authentication;
    if (!authentication) return undefined;
    return {
        name: LINKERD_OBJECTS.scraperServer,
        podSelector: {},
        port: PORTS.proxyAdmin,
        proxyProtocol: "HTTP/1",
        clients: authentication.clients,
        networks: authentication.networks,
    };
}

function namespacesOf(
    config: MeshConfig,
    mesh: MeshPlan,
    plan: { viz?: string; scraper: Scraper; bundledPrometheus: boolean },
): NamespaceDeployment[] {
    const scraperAdmin = scraperAuthorization(config, plan.bundledPrometheus);
    return mesh.namespaces.map((namespace) => {
        const strict = namespace.inject && namespace.mode === "strict";
        return {
            name: namespace.name,
            inject: namespace.inject,
            mode: namespace.mode,
            proxy: namespace.inject ? proxyOf(config, namespace.name) : undefined,
            networkPolicy: config.mtls.networkPolicies
                ? {
                      controlPlaneNamespace: NAMESPACES.controlPlane,
                      vizNamespace: plan.viz,
                      scraper: plan.scraper,
                      posture: namespacePosture(config.mtls, namespace.name),
                  }
                : undefined,
            authorizations: mesh.authorizations
                ? [
                      ...config.mtls.authorizations.filter((a) => a.namespace === namespace.name),
                      ...(strict && scraperAdmin ? [scraperAdmin] : []),
                  ]
                : [],
            strictPreflight: strict,
        };
    });
}

/** linkerd-multicluster's namespace, while the extension is on. */
const multiclusterNamespace = (config: MeshConfig): string[] =>
    config.multicluster.enabled ? [NAMESPACES.multicluster] : [];

function maintenanceOf(args: MeshDeploymentArgs & { viz: string | undefined }): MaintenancePlan {
    const { config, mesh, rotationPhase, viz } = args;
    const meshed = injectedNamespaces(mesh);
    const strict = strictNamespaces(mesh);
    const ingress = mesh.ingress;
    const job = config.rotationJob;
    const k3sTraefik = ingress?.controller === "k3s-traefik";
    return {
        // viz's and linkerd-multicluster's pods are meshed too and must pick up a new trust bundle.
        meshedNamespaces: [...meshed, ...(viz ? [viz] : []), ...multiclusterNamespace(config)],
        unmeshedNamespaces: drainingNamespaces(mesh),
        expectedInboundPolicy: Object.fromEntries(
            mesh.namespaces.filter((n) => n.inject).map((n) => [n.name, inboundPolicy(n.mode)]),
        ),
        expectedAnnotations: Object.fromEntries(
            meshed
                .map((n) => [n, proxyAnnotations(proxyOf(config, n))] as const)
                .filter(([, annotations]) => Object.keys(annotations).length > 0),
        ),
        ingress: ingress
            ? {
                  namespace: ingress.namespace,
                  selector: k3sTraefik ? K3S_TRAEFIK_SELECTOR : {},
                  deployment: k3sTraefik ? "traefik" : undefined,
                  inject: ingress.inject,
              }
            : undefined,
        rotation: job.enabled
            ? {
                  windowStartHour: job.windowStartHour,
                  windowHours: job.windowHours,
                  issuerMinHoursLeft: job.issuerMinHoursLeft,
                  anchorMinDaysLeft: job.anchorMinDaysLeft,
                  // `pulumi up` re-signs it from renewBeforeHours before expiry: half of that gone means none ran.
                  intermediateMinHoursLeft: Math.floor(config.identity.intermediate.renewBeforeHours / 2),
              }
            : undefined,
        reloadIdentity: rotationPhase === 2,
        rotationGate: rotationPhase === 3,
        strict:
            strict.length > 0
                ? {
                      namespaces: strict,
                      // Strict namespaces are checked before their policy changes.
                      probeAuthorizations: config.mtls.authorizations
                          .filter((a) => a.networks && strict.includes(a.namespace))
                          .map((a) => ({ namespace: a.namespace, podSelector: a.podSelector, port: a.port })),
                      ingressMeshed: ingress?.inject ?? false,
                  }
                : undefined,
        networkPosture: config.mtls.networkPolicies
            ? Object.fromEntries(
                  mesh.namespaces.map((n) => [
                      n.name,
                      { ...namespacePosture(config.mtls, n.name), opaquePorts: opaquePortsOf(config, n.name) },
                  ]),
              )
            : undefined,
    };
}

/**
 * The firewall rule a GKE private cluster needs for Linkerd's webhooks, as the `gcloud` command the
 * operator runs once. Every value in it is validated (config/schema/cluster.ts: GCP names, a /28),
 * so the command is one the shell reads back as written.
 */
export function gkeFirewallWarning(gke: NonNullable<MeshConfig["cluster"]["gkePrivate"]>): string {
    return (
        "GKE private cluster: the API server reaches Linkerd's webhooks on the nodes only through a firewall rule " +
        `(proxy injector and SP validator ${PORTS.webhookHttps}, policy validator ${PORTS.policyValidatorHttps}, viz tap ${PORTS.vizTapApi}). Create it once:\n` +
        `  gcloud compute firewall-rules create ${gke.network}-linkerd-webhooks --network ${gke.network} ` +
        `--direction INGRESS --source-ranges ${gke.masterIpv4CidrBlock} --target-tags ${gke.nodeTag} ` +
        `--allow tcp:${PORTS.webhookHttps},tcp:${PORTS.vizTapApi},tcp:${PORTS.policyValidatorHttps}`
    );
}

function warningsOf(config: MeshConfig, webhookTrust: WebhookTrustPlan): MeshWarnings {
    const viz = config.viz;
    const obs = config.observability;
    const alertsNowhere =
        viz.enabled &&
        viz.prometheus.mode !== "external" &&
        !obs.prometheusOperator &&
        viz.prometheus.alertmanagers.length === 0;
    return {
        webhookHandover:
            webhookTrust.step === "handover"
                ? "the admission webhooks move from cert-manager's webhook CA to the program's (its key stays in Pulumi state): this run " +
                  "removes cert-manager's webhook Certificates, Issuers and the webhook-ca Secret and trusts both CAs; the next `pulumi up` " +
                  "(meshState.nextRun: the deploy workflow runs it) trusts the program's alone"
                : undefined,
        // A warning where someone must be paged; on a laptop or the single-node demo box, a note.
        alertRouting: alertsNowhere
            ? {
                  level: SINGLE_NODE_TARGETS.includes(config.target) ? "info" : "warn",
                  message:
                      "viz's Prometheus evaluates the mesh's alerts but sends them nowhere: set viz.prometheus.alertmanagers " +
                      '(docs/admin/mtls.md, "Alerts"), or use the Prometheus operator (observability.prometheusOperator)',
              }
            : undefined,
        gkeFirewall: config.cluster.gkePrivate ? gkeFirewallWarning(config.cluster.gkePrivate) : undefined,
    };
}

/** What a run that deploys the mesh registers, and how each piece is configured. */
export function planDeployment(args: MeshDeploymentArgs): MeshDeployment {
    const { config, mesh } = args;
    const viz = config.viz.enabled ? NAMESPACES.viz : undefined;
    const bundledPrometheus = viz !== undefined && config.viz.prometheus.mode === "bundled";
    const scraper = scraperOf(config, bundledPrometheus);
    const issuer = planIssuer(config);
    return {
        viz,
        bundledPrometheus,
        scraper,
        issuer,
        platformPolicies: platformPoliciesOf(config, mesh, { viz, scraper, bundledPrometheus, issuer }),
        // linkerd-multicluster's controllers and gateway are injected pods (`linkerd.io/inject: enabled`).
        injectorScope: [...injectorScope(mesh, viz), ...multiclusterNamespace(config)],
        podMonitor:
            !bundledPrometheus && config.observability.prometheusOperator
                ? { labels: config.observability.ruleLabels }
                : undefined,
        namespaces: namespacesOf(config, mesh, { viz, scraper, bundledPrometheus }),
        ingress: mesh.ingress,
        maintenance: maintenanceOf({ ...args, viz }),
        warnings: warningsOf(config, args.webhookTrust),
        egress: planEgress({
            mtls: config.mtls,
            namespaces: injectedNamespaces(mesh),
            gatewayApi: config.linkerd.gatewayApi,
        }),
    };
}
