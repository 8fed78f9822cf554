import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "node:crypto";
import { configKey, type MeshConfig } from "../config";
import { ConfigSecrets } from "../config/secrets";
import { SINGLE_NODE_TARGETS } from "../config/schema";
import { drainingNamespaces, injectedNamespaces, injectorScope, MeshPlan, strictNamespaces } from "../lib/meshLifecycle";
import { inNamespaces, namespacePosture, NetworkPolicySpec, platformPolicies, Scraper } from "../lib/networkPolicies";
import { injectedPodProbe } from "../lib/podSecurity";
import { edgeOf, LINKERD_DEFAULT_OPAQUE_PORTS, LINKERD_OBJECTS, LINKERD_WEBHOOKS, NAMESPACES, PORTS, VIZ_WEBHOOKS, WEBHOOK_OBJECTS } from "../lib/registry";
import type { WebhookTrustPlan } from "../lib/webhookTrust";
import type { PlannedAnchor, RotationPlan } from "../lib/rotation";
import { CertManager } from "./certManager";
import type { FleetAnchorMaterial } from "./fleetMember";
import { RunCompletion } from "./completion";
import { GatewayApiCrds } from "./gatewayApi";
import { CertManagerIdentityIssuer, IdentityIssuer } from "./identityIssuer";
import { IntermediateCa } from "./intermediateCa";
import { LinkerdControlPlane } from "./linkerdControlPlane";
import { LinkerdViz } from "./linkerdViz";
import { LinkerdCni } from "./linkerdCni";
import { K3S_TRAEFIK_SELECTOR, MeshedIngress } from "./meshedIngress";
import { Authorization, MeshedNamespace, proxyAnnotations, SCRAPER_SERVER, STRICT_POLICY } from "./meshedNamespace";
import { IssuerSource, MeshMaintenance } from "./meshMaintenance";
import { MtlsObservability, RULES_CONFIGMAP } from "./mtlsObservability";
import { linkerdNamespace, vizNamespace } from "./namespaces";
import { NamespaceAdmission, NamespaceRead } from "./namespaceAdmission";
import { TrustAnchor } from "./trustAnchor";
import { CertManagerWebhookHandover, WebhookCertificates, WebhookTlsValues } from "./webhookCertificates";

export interface MtlsMeshArgs {
    /** The validated stack configuration (config/index.ts). */
    config: MeshConfig;
    /** Which trust anchors exist in this rotation phase (lib/rotation.ts). */
    rotation: RotationPlan;
    /** Which namespaces are meshed, or drained, in this run (lib/meshLifecycle.ts). */
    mesh: MeshPlan;
    /**
     * What the stack marked secret (config/secrets.ts): outputs and warnings built from those keys
     * stay secret.
     * @default ConfigSecrets.none
     */
    secrets?: ConfigSecrets;
    /**
     * Whether this run takes the webhooks over from cert-manager (lib/webhookTrust.ts).
     * @default the program's CA alone
     */
    webhookTrust?: WebhookTrustPlan;
    /**
     * A fleet member's anchors from its trust stack (components/fleetMember.ts), by generation: the
     * anchors the rotation plan marks `source: "fleet"` come from here, with this cluster's
     * intermediate, and are never created in this stack.
     * @default none: every anchor is the stack's own
     */
    fleet?: ReadonlyMap<number, FleetAnchorMaterial>;
}

const CONTROL_PLANE_NAMESPACE = NAMESPACES.controlPlane;
const VIZ_NAMESPACE = NAMESPACES.viz;

/**
 * The Kubernetes provider's `kubeconfig` when `cluster.kubeconfig` is unset: empty, i.e. the
 * ambient configuration of whichever machine runs. Left unset, the SDK fills in `$KUBECONFIG`
 * (@pulumi/kubernetes 4.34.2 provider.js: `args.kubeconfig ?? getEnv("KUBECONFIG")`) and the
 * engine stores that path as a provider input: the next preview on another machine (a laptop after
 * CI's `/home/runner/work/_temp/kubeconfig`, or the reverse) fails in DiffConfig, which parses the
 * stored value and takes a path it cannot find for inline YAML (pulumi-kubernetes#3217; provider
 * provider/pkg/provider/provider.go `DiffConfig`, util.go `parseKubeconfigString`). An empty string
 * parses to an empty config there, and `Configure` then loads client-go's default rules (`$KUBECONFIG`,
 * else ~/.kube/config) on the machine that runs (provider.go: "the Python SDK was setting the
 * kubeconfig value to "" by default, so explicitly check for empty string"). `cluster.context`
 * still chooses the cluster.
 *
 * Migration of a stack that stored a path: DiffConfig plans a replacement only when the active
 * cluster of both the old and the new kubeconfig is found and differs (provider.go DiffConfig,
 * util.go `getActiveClusterFromConfig`); an empty kubeconfig has none, so the change is a provider
 * update in place: same provider ID, no Kubernetes resource replaced (pulumi engine
 * pkg/resource/deploy/step_generator.go `providerChanged`, providers/registry.go `Update`). It
 * must run where the stored path exists (docs/engine.md).
 */
export const AMBIENT_KUBECONFIG = "";

type Anchor = {
    generation: number;
    inBundle: boolean;
    signsIssuer: boolean;
    /** Names its intermediate's Secret and Issuer: `g<n>`, or `fleet-g<n>` for a fleet's (both may be there while a stack joins). */
    label: string;
} & (
    | { source?: "own"; anchor: TrustAnchor }
    /** A fleet's anchor certificate comes with this cluster's intermediate, signed by the trust stack (components/fleetMember.ts). */
    | { source: "fleet"; anchor: Omit<FleetAnchorMaterial, "intermediate">; intermediate: FleetAnchorMaterial["intermediate"] }
);

/** Webhook certificates for one chart's webhooks, from whichever back end the stack uses. */
interface WebhookSet {
    values: Record<string, WebhookTlsValues>;
    /** What the chart waits for (the Secrets its pods mount). */
    ready: pulumi.Resource[];
    /** Serving certificates the webhook pods hold in memory: a change restarts the control plane. */
    certificates: pulumi.Output<string>[];
    /**
     * Call with the chart once it is made. In the handover from cert-manager the order is the other
     * way round: the chart's bundles (both CAs) come first, the program's Secrets after them.
     */
    trustedBy(chart: pulumi.Resource): void;
    /** In the handover, the program's Secrets, written after the chart: the rollout restarts the webhooks after them. */
    writtenAfterChart: pulumi.Resource[];
}

/**
 * The ingress controller's pods, as `mtls.ingress` names them (whether or not the mesh injects it);
 * undefined when it names no namespace (nothing is admitted then).
 */
function ingressControllerPods(settings: MeshConfig["mtls"]["ingress"]) {
    if (settings.controller === "k3s-traefik") return inNamespaces(["kube-system"], K3S_TRAEFIK_SELECTOR);
    return settings.namespace ? inNamespaces([settings.namespace]) : undefined;
}

/**
 * Every port whose traffic reaches a namespace's pods on the proxy port: Linkerd's default opaque
 * ports, the namespace's own, and those of Servers the config declares opaque (lib/registry.ts
 * LINKERD_DEFAULT_OPAQUE_PORTS; endpoint_translator.go reads a Server's `opaque` protocol too).
 */
function opaquePortsOf(config: MeshConfig, namespace: string): number[] {
    const servers = config.mtls.authorizations.filter((a) => a.namespace === namespace && a.proxyProtocol === "opaque" && typeof a.port === "number");
    const ports = [...LINKERD_DEFAULT_OPAQUE_PORTS, ...(config.mtls.namespaceOptions[namespace]?.opaquePorts ?? []), ...servers.map((a) => a.port as number)];
    return [...new Set(ports)].sort((a, b) => a - b);
}

/** Which back end issues the identity issuer and webhook certificates: decided once, from the config. */
type IssuerPlan = { mode: "static" } | { mode: "certManager"; install: boolean; namespace: string };

function planIssuer(config: MeshConfig): IssuerPlan {
    return config.identity.issuer.mode === "static"
        ? { mode: "static" }
        : { mode: "certManager", install: config.certManager.install, namespace: config.certManager.namespace };
}

/**
 * The identity issuer and the webhook certificates, from the one back end the stack's
 * `identity.issuer.mode` chooses: `@pulumi/tls` (static) or cert-manager.
 */
interface IdentityBackend {
    /** What the control plane waits for: the issuer Secret or Certificate. */
    ready: pulumi.Resource[];
    /** Where the maintenance Jobs read the issuer's public certificate. */
    issuerSource: IssuerSource;
    /** Certificates for a chart's webhooks in a namespace. */
    webhooks(resourceName: string, namespace: pulumi.Input<string>, namespaceName: string, services: Record<string, string>): WebhookSet;
    certManager?: CertManager;
    /** Static issuer expiry. */
    notAfter?: pulumi.Output<string>;
    /** Expiry of the intermediate that signs the issuer. */
    intermediateNotAfter: pulumi.Output<string>;
}

/**
 * The whole mesh as one dependency graph:
 *
 *   trust anchor(s) → intermediate(s) ─┬─ static: issuer Secret + webhook Secrets (@pulumi/tls) ───┐
 *   (Pulumi state only)                 └─ certManager: cert-manager → API check → intermediate      │
 *                                          Issuer(s) in linkerd → issuer Certificate, webhook Certs ─┤
 *   linkerd namespace → linkerd-crds, trust-roots ConfigMap, Gateway API CRDs ────────────────┴→ control plane ─┬→ viz (+ its certs, rules)
 *   meshed namespaces: annotations, NetworkPolicies, authorizations (after the control plane) ──────────────────┴→ rollout Job, rotation CronJob
 *
 * With `mtls.enabled: false` only the trust anchors exist, and only in Pulumi state
 * (they are not Kubernetes objects): re-enabling the mesh keeps the same identity, and
 * the anchor can be reviewed (fingerprint, expiry) a sprint before the switch. A stack
 * whose mesh was on drains first (lib/meshLifecycle.ts), keeping the control plane until
 * the last workload has restarted without its proxy.
 */
export class MtlsMesh extends pulumi.ComponentResource {
    /** Whether anything is deployed to the cluster in this run (on, or draining). */
    public readonly deployed: boolean;
    /** The trust anchor that signs the identity issuer, PEM. */
    public readonly trustAnchorPem!: pulumi.Output<string>;
    /** Its SHA-256 fingerprint. */
    public readonly trustAnchorFingerprintSha256!: pulumi.Output<string>;
    /** Its expiry, RFC 3339. */
    public readonly trustAnchorNotAfter!: pulumi.Output<string>;
    /** Every anchor proxies trust (ConfigMap linkerd-identity-trust-roots), PEM. */
    public readonly trustBundlePem!: pulumi.Output<string>;
    /** Static issuer expiry, RFC 3339; undefined with cert-manager (it renews every 23 h) or while disabled. */
    public readonly identityIssuerNotAfter: pulumi.Output<string> | undefined;
    /** Expiry of the per-cluster intermediate that signs the issuer, RFC 3339; undefined while disabled. */
    public readonly identityIntermediateNotAfter: pulumi.Output<string> | undefined;
    /** Linkerd chart version; undefined while disabled. */
    public readonly linkerdChartVersion: pulumi.Output<string> | undefined;
    /** cert-manager chart version, when this stack installs cert-manager. */
    public readonly certManagerChartVersion: pulumi.Output<string> | undefined;
    /** Schedule of the rotation CronJob, while enabled. */
    public readonly rotationJobSchedule: pulumi.Output<string> | undefined;
    /** How to open the viz dashboard, while viz is enabled. */
    public readonly vizDashboard: pulumi.Output<string> | undefined;
    /**
     * Resolves once this run's work is done: every resource it registered, in Pulumi state or in the
     * cluster, has completed its step (components/completion.ts). Records of what a run achieved
     * depend on it ({@link settled}); deletes come after it (docs/engine.md).
     */
    public readonly completed: pulumi.Output<string>;

    /** The Kubernetes provider of the stack's cluster, when this run touches it. */
    private readonly provider: k8s.Provider | undefined;
    /** The namespaces this run patches, read (and checked) before anything else is built. */
    private readonly admission: NamespaceAdmission | undefined;
    /** Collects every resource of the run as it is constructed (components/completion.ts). */
    private readonly run: RunCompletion;

    /**
     * The mesh, built only once the namespaces it patches were read and admit injected pods.
     *
     * "Before anything is built" precisely: a refused run has registered the stack, its
     * StackReference read, this component (a logical resource), the Kubernetes provider (its
     * configuration; it creates nothing) and the reads of the namespaces (GETs): no trust anchor,
     * no Kubernetes object, no chart. The refusal is a {@link PodSecurityRefusal}, one line per
     * namespace naming its config key. That reads labels only; what the API server decides beyond
     * them (its default level, its exemptions) is asked by the Pod Security check Job, which every
     * namespace annotation waits for (MeshMaintenance `podSecurity`, lib/podSecurity.ts).
     */
    static async create(name: string, args: MtlsMeshArgs, opts?: pulumi.ComponentResourceOptions): Promise<MtlsMesh> {
        const mesh = new MtlsMesh(name, args, opts);
        await mesh.admission?.admitted;
        mesh.build(name, args);
        return mesh;
    }

    /** Registers the component, and, when the run touches the cluster, its provider and the reads of the namespaces to patch. */
    private constructor(name: string, args: MtlsMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        const { config, mesh } = args;
        // Recorded as the component's inputs, where the policy pack reads the meshed namespaces.
        const meshedNamespaces = injectedNamespaces(mesh);
        // Every resource of the run, as it is constructed: what `completed` waits for.
        const run = new RunCompletion();
        super(
            "akko:mtls:MtlsMesh",
            name,
            { meshedNamespaces, phase: mesh.phase },
            {
                ...opts,
                transformations: [...(opts?.transformations ?? []), run.collect],
            },
        );
        run.ownedBy(this);
        this.run = run;
        this.deployed = mesh.deploy;
        this.completed = pulumi.output("nothing deployed");
        this.provider =
            mesh.deploy || mesh.cleanup
                ? new k8s.Provider(
                      `${name}-kubernetes`,
                      {
                          context: config.cluster.context,
                          // Never a path of the machine that runs (pulumi-kubernetes#3217): see AMBIENT_KUBECONFIG.
                          kubeconfig: config.cluster.kubeconfig ?? AMBIENT_KUBECONFIG,
                          // pulumi-kubernetes >= 4.29 creates objects (AlreadyExists if one is there); objects
                          // that outlive their stack entry (retained CRDs, a retained cert-manager) and objects
                          // re-created after a mesh-off must be adopted instead: upsert, i.e. server-side apply.
                          // Not `enablePatchForce`: an upsert without force refuses to overwrite fields another
                          // field manager owns (a conflict fails `pulumi up`), which is what protects CRDs k3s
                          // or GKE installed; the objects this program owns opt in one by one (transforms.ts).
                          upsertExistingObjects: true,
                          // A changed ConfigMap or Secret is otherwise replaced, delete first (fixed names):
                          // a window without linkerd-identity-trust-roots, the issuer, the rules
                          // (pulumi-kubernetes provider/pkg/provider/diff.go).
                          enableConfigMapMutable: true,
                          enableSecretMutable: true,
                          // Only when removing everything at once: drop what a gone cluster can no longer delete.
                          ...(mesh.cleanup ? { deleteUnreachable: true } : {}),
                      },
                      { parent: this },
                  )
                : undefined;
        if (mesh.deploy) {
            const index = (namespace: string) => config.mtls.namespaces.indexOf(namespace);
            const reads: NamespaceRead[] = mesh.namespaces.map((plan) => ({
                resourceName: `${name}-mesh-${plan.name}-namespace`,
                namespace: plan.name,
                // A namespace being drained is no longer in the config: only injected ones are checked.
                key: index(plan.name) >= 0 ? configKey(["mtls", "namespaces", index(plan.name)]) : configKey(["mtls", "namespaces"]),
                inject: plan.inject,
            }));
            if (mesh.ingress) {
                reads.push({
                    resourceName: `${name}-ingress-namespace`,
                    namespace: mesh.ingress.namespace,
                    key: configKey(["mtls", "ingress", mesh.ingress.controller === "k3s-traefik" ? "controller" : "namespace"]),
                    inject: mesh.ingress.inject,
                });
            }
            this.admission = new NamespaceAdmission(reads, config.linkerd.cni.enabled, { parent: this, provider: this.provider });
        }
    }

    /** Everything else: the trust anchors and, when the mesh is deployed, the cluster's objects. */
    private build(name: string, args: MtlsMeshArgs): void {
        const { config, rotation, mesh } = args;
        const writable = this as { -readonly [K in keyof MtlsMesh]: MtlsMesh[K] };
        const trustAnchor = config.identity.trustAnchor;
        const ownAnchor = (planned: PlannedAnchor): Anchor => ({
            ...planned,
            source: "own",
            label: `g${planned.generation}`,
            anchor: new TrustAnchor(
                `${name}-trust-anchor-g${planned.generation}`,
                {
                    validityHours: trustAnchor.validityHours,
                    // The anchor on its way out in phase 3 is expected to be old.
                    expiryWarningDays: planned.inBundle ? trustAnchor.expiryWarningDays : 0,
                    allowDeletion: planned.allowDeletion,
                },
                { parent: this },
            ),
        });
        const anchors = rotation.anchors.map((planned) => (planned.source === "fleet" ? fleetAnchor(planned, args.fleet) : ownAnchor(planned)));
        const inBundle = anchors.filter((a) => a.inBundle);
        const signing = anchors.find((a) => a.signsIssuer)!;
        const bundle = pulumi.all(inBundle.map((a) => a.anchor.certPem)).apply((pems) => pems.map((p) => p.trim()).join("\n"));

        writable.trustAnchorPem = signing.anchor.certPem;
        writable.trustAnchorFingerprintSha256 = signing.anchor.fingerprintSha256;
        writable.trustAnchorNotAfter = signing.anchor.notAfter;
        writable.trustBundlePem = bundle;

        if (mesh.deploy) {
            this.deploy(
                name,
                config,
                mesh,
                args.secrets ?? ConfigSecrets.none,
                { bundle, inBundle, signing, phase: rotation.record.phase },
                args.webhookTrust ?? { step: "program", record: "program-ca" },
                { parent: this, provider: this.provider },
            );
        }
        if (mesh.notice) pulumi.log.warn((args.secrets ?? ConfigSecrets.none).redact(mesh.notice), this);
        // Everything this run creates, updates or reads, whatever it is: the rollout Job, and every
        // sibling it does not wait for (the CronJob, admission policies, viz, Deployment patches).
        writable.completed = this.run.completed();

        this.registerOutputs({
            deployed: this.deployed,
            trustAnchorPem: this.trustAnchorPem,
            trustAnchorFingerprintSha256: this.trustAnchorFingerprintSha256,
            trustAnchorNotAfter: this.trustAnchorNotAfter,
            trustBundlePem: this.trustBundlePem,
            identityIssuerNotAfter: this.identityIssuerNotAfter,
            identityIntermediateNotAfter: this.identityIntermediateNotAfter,
            linkerdChartVersion: this.linkerdChartVersion,
            certManagerChartVersion: this.certManagerChartVersion,
            rotationJobSchedule: this.rotationJobSchedule,
            vizDashboard: this.vizDashboard,
            completed: this.completed,
        });
    }

    /** `value`, once this run's work is done: a failed `pulumi up` then keeps the previous value. */
    public settled<T>(value: T): pulumi.Output<T> {
        return this.completed.apply(() => value);
    }

    private deploy(
        name: string,
        config: MeshConfig,
        mesh: MeshPlan,
        secrets: ConfigSecrets,
        trust: { bundle: pulumi.Output<string>; inBundle: Anchor[]; signing: Anchor; phase: number },
        webhookTrust: WebhookTrustPlan,
        inCluster: pulumi.ComponentResourceOptions,
    ): void {
        const writable = this as { -readonly [K in keyof MtlsMesh]: MtlsMesh[K] };
        if (webhookTrust.step === "handover") {
            pulumi.log.warn(
                "the admission webhooks move from cert-manager's webhook CA to the program's (its key stays in Pulumi state): this run " +
                    "removes cert-manager's webhook Certificates, Issuers and the webhook-ca Secret and trusts both CAs; the next `pulumi up` " +
                    "(meshState.nextRun: the deploy workflow runs it) trusts the program's alone",
                this,
            );
        }
        const linkerd = config.linkerd;
        const cniEnabled = linkerd.cni.enabled;
        const namespace = linkerdNamespace(`${name}-linkerd-namespace`, CONTROL_PLANE_NAMESPACE, cniEnabled, inCluster);
        const gatewayApi = new GatewayApiCrds(`${name}-gateway-api`, { mode: linkerd.gatewayApi }, inCluster);
        const viz = config.viz.enabled ? VIZ_NAMESPACE : undefined;
        const ingress = mesh.ingress;

        // Who scrapes the proxies: viz's own Prometheus, or the external one the config names.
        const bundledPrometheus = viz !== undefined && config.viz.prometheus.mode === "bundled";
        const scraper: Scraper = bundledPrometheus
            ? { namespace: VIZ_NAMESPACE, podSelector: { "linkerd.io/extension": "viz", component: "prometheus" } }
            : { namespace: config.viz.prometheus.scraper.namespace, podSelector: config.viz.prometheus.scraper.podSelector };
        const meshed = injectedNamespaces(mesh);
        // Namespaces whose pods run (or still run) a proxy: the control plane's webhooks are called for these only.
        const ownedNamespaces = injectorScope(mesh, viz);
        const issuerPlan = planIssuer(config);
        const platform = linkerd.networkPolicies
            ? platformPolicies({
                  controlPlaneNamespace: CONTROL_PLANE_NAMESPACE,
                  meshNamespaces: [...meshed, ...(ingress?.inject ? [ingress.namespace] : [])],
                  vizNamespace: viz,
                  scraper,
                  certManagerNamespace: issuerPlan.mode === "certManager" && issuerPlan.install ? issuerPlan.namespace : undefined,
                  cniNamespace: cniEnabled ? NAMESPACES.cni : undefined,
                  maintenanceNamespace: NAMESPACES.maintenance,
                  vizPrometheus: bundledPrometheus
                      ? {
                            readers: config.viz.prometheus.readers !== undefined,
                            alertmanagerPorts: config.viz.prometheus.alertmanagers.map((u) => {
                                const url = new URL(u);
                                return Number(url.port || (url.protocol === "https:" ? 443 : 80));
                            }),
                        }
                      : undefined,
                  dashboardIngressFrom: config.viz.dashboard.ingress.enabled ? ingressControllerPods(config.mtls.ingress) : undefined,
              })
            : [];
        const policyFor = (policyNamespace: string) => platform.find((p) => p.namespace === policyNamespace);
        const identity = this.identityBackend(
            name,
            config,
            issuerPlan,
            namespace,
            trust.inBundle,
            trust.signing,
            inCluster,
            policyFor(config.certManager.namespace),
            webhookTrust,
        );
        writable.identityIssuerNotAfter = identity.notAfter;
        writable.identityIntermediateNotAfter = identity.intermediateNotAfter;
        writable.certManagerChartVersion = identity.certManager?.chart ? identity.certManager.chartVersion : undefined;
        const linkerdWebhooks = identity.webhooks(`${name}-linkerd-webhooks`, namespace.metadata.name, CONTROL_PLANE_NAMESPACE, LINKERD_WEBHOOKS);

        const cni = cniEnabled
            ? new LinkerdCni(
                  `${name}-cni`,
                  {
                      namespace: NAMESPACES.cni,
                      chartVersion: linkerd.chartVersion,
                      repository: linkerd.repository,
                      netDir: linkerd.cni.netDir,
                      binDir: linkerd.cni.binDir,
                      iptablesMode: linkerd.proxyInit.iptablesMode,
                      resources: linkerd.cni.resources,
                      networkPolicy: policyFor(NAMESPACES.cni),
                  },
                  inCluster,
              )
            : undefined;

        // Rotation phase 3: the bundle drops the old anchor only after the gate Job (made with the
        // maintenance Jobs, below) proved the live issuer signed by the new one.
        let gateReady: (gate: pulumi.Resource[]) => void = () => undefined;
        const trustRootsWaitFor = new Promise<pulumi.Resource[]>((resolve) => (gateReady = resolve));
        const controlPlane = new LinkerdControlPlane(
            `${name}-linkerd`,
            {
                namespace,
                chartVersion: linkerd.chartVersion,
                repository: linkerd.repository,
                trustAnchorsPem: trust.bundle,
                trustDomain: config.identity.trustDomain,
                webhookTls: linkerdWebhooks.values,
                highAvailability: linkerd.highAvailability,
                controllerReplicas: linkerd.controllerReplicas,
                webhookFailurePolicy: linkerd.webhookFailurePolicy,
                iptablesMode: linkerd.proxyInit.iptablesMode,
                proxyResources: linkerd.proxy.resources,
                controlPlaneResources: linkerd.controlPlaneResources,
                admissionNamespaces: ownedNamespaces,
                cniEnabled,
                trustRootsWaitFor,
                podMonitor: !bundledPrometheus && config.observability.prometheusOperator ? { labels: config.observability.ruleLabels } : undefined,
                // Linkerd's docs install the CNI plugin first (features/cni.md).
                waitFor: [...identity.ready, ...linkerdWebhooks.ready, ...gatewayApi.ready, ...(cni ? [cni] : [])],
                networkPolicy: policyFor(CONTROL_PLANE_NAMESPACE),
            },
            inCluster,
        );
        linkerdWebhooks.trustedBy(controlPlane);
        writable.linkerdChartVersion = controlPlane.chartVersion;

        if (viz) {
            writable.vizDashboard = this.viz(name, config, secrets, namespace, controlPlane, identity, trust.inBundle, policyFor(VIZ_NAMESPACE), inCluster);
        }

        // Strict namespaces are checked before their policy changes; the rollout waits for everything.
        const strict = strictNamespaces(mesh);
        const probeAuthorizations = config.mtls.authorizations
            .filter((a) => a.networks && strict.includes(a.namespace))
            .map((a) => ({ namespace: a.namespace, podSelector: a.podSelector, port: a.port }));
        let namespacesReady: (ready: pulumi.Resource[]) => void = () => undefined;
        const rolloutWaitFor = new Promise<pulumi.Resource[]>((resolve) => (namespacesReady = resolve));

        // What the control-plane pods must have started with: the bundle (read once at start:
        // controller/cmd/identity/main.go:68) and, in static mode, the webhook serving certificates.
        const controlPlaneDigest = pulumi
            .all([trust.bundle, ...linkerdWebhooks.certificates])
            .apply((parts) => crypto.createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 16));
        const job = config.rotationJob;
        const signingSha256 = trust.signing.anchor.fingerprintSha256.apply((f) => f.replace(/:/g, ""));
        const namespaceOptions = config.mtls.namespaceOptions;
        const maintenance = new MeshMaintenance(
            `${name}-maintenance`,
            {
                controlPlaneNamespace: namespace.metadata.name,
                issuerSource: identity.issuerSource,
                // viz's pods are meshed too and must pick up a new trust bundle.
                meshedNamespaces: [...meshed, ...(viz ? [viz] : [])],
                unmeshedNamespaces: drainingNamespaces(mesh),
                expectedInboundPolicy: Object.fromEntries(
                    mesh.namespaces.filter((n) => n.inject).map((n) => [n.name, n.mode === "strict" ? STRICT_POLICY : "all-unauthenticated"]),
                ),
                expectedAnnotations: Object.fromEntries(
                    meshed.map((n) => [n, proxyAnnotations(namespaceOptions[n])] as const).filter(([, annotations]) => Object.keys(annotations).length > 0),
                ),
                ingress: ingress
                    ? {
                          namespace: ingress.namespace,
                          selector: ingress.controller === "k3s-traefik" ? K3S_TRAEFIK_SELECTOR : {},
                          deployment: ingress.controller === "k3s-traefik" ? "traefik" : undefined,
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
                reloadIdentityFor: trust.phase === 2 ? signingSha256 : undefined,
                rotationGateFor: trust.phase === 3 ? signingSha256 : undefined,
                strict: strict.length > 0 ? { namespaces: strict, probeAuthorizations, ingressMeshed: ingress?.inject ?? false } : undefined,
                maxConcurrentRestarts: job.maxConcurrentRestarts,
                rolloutTimeoutSeconds: job.rolloutTimeoutSeconds,
                deadlineMinutes: job.deadlineMinutes,
                controlPlaneDigest,
                proxyVersion: edgeOf(linkerd.chartVersion),
                image: job.image,
                kubectlImage: job.kubectlImage,
                resources: job.resources,
                waitFor: [controlPlane, ...linkerdWebhooks.writtenAfterChart],
                rolloutWaitFor,
                networkPolicy: policyFor(NAMESPACES.maintenance),
                // What the labels cannot show (the cluster's default level, its exemptions), asked of the API server.
                podSecurity: {
                    namespaces: this.admission!.injected.map(({ namespace, key }) => ({ namespace, key })),
                    probe: injectedPodProbe({ cniEnabled, edge: edgeOf(linkerd.chartVersion), appImage: job.image, proxyResources: linkerd.proxy.resources }),
                    cniEnabled,
                },
                networkPosture: config.mtls.networkPolicies
                    ? Object.fromEntries(
                          mesh.namespaces.map((plan) => [
                              plan.name,
                              { ...namespacePosture(config.mtls, plan.name), opaquePorts: opaquePortsOf(config, plan.name) },
                          ]),
                      )
                    : undefined,
            },
            inCluster,
        );
        gateReady(maintenance.rotationGate ? [maintenance.rotationGate] : []);
        writable.rotationJobSchedule = maintenance.schedule;

        // An unmeshed external Prometheus, known to Linkerd: strict namespaces admit it on the proxies'
        // admin port (a Server there keeps kubelet's probes of /live and /ready authorized: the policy
        // controller adds probe routes to a Server without HTTPRoutes, policy-controller/k8s/index/src/inbound/index.rs).
        const scraperAuthentication = bundledPrometheus ? undefined : config.viz.prometheus.scraper.authentication;
        const scraperAdmin: Authorization | undefined = scraperAuthentication
            ? {
                  name: SCRAPER_SERVER,
                  podSelector: {},
                  port: PORTS.proxyAdmin,
                  proxyProtocol: "HTTP/1",
                  clients: scraperAuthentication.clients,
                  networks: scraperAuthentication.networks,
              }
            : undefined;
        const namespaces = mesh.namespaces.map(
            (plan) =>
                new MeshedNamespace(
                    `${name}-mesh-${plan.name}`,
                    {
                        namespace: plan.name,
                        inject: plan.inject,
                        mode: plan.mode,
                        proxy: plan.inject ? namespaceOptions[plan.name] : undefined,
                        networkPolicy: config.mtls.networkPolicies
                            ? { controlPlaneNamespace: CONTROL_PLANE_NAMESPACE, vizNamespace: viz, scraper, posture: namespacePosture(config.mtls, plan.name) }
                            : undefined,
                        postureChecked: maintenance.networkPreflight ? [maintenance.networkPreflight] : [],
                        admissionChecked: maintenance.podSecurityCheck ? [maintenance.podSecurityCheck] : [],
                        authorizations: mesh.authorizations
                            ? [
                                  ...config.mtls.authorizations.filter((a) => a.namespace === plan.name),
                                  ...(plan.inject && plan.mode === "strict" && scraperAdmin ? [scraperAdmin] : []),
                              ]
                            : [],
                        trustDomain: config.identity.trustDomain,
                        existing: this.admission!.namespaces.get(plan.name)!,
                        // Policy objects are validated by the policy controller's webhook, and the
                        // annotation asks for proxies: both wait for the whole control plane (and, going
                        // strict, for the preflight that proves nothing would be refused).
                        waitFor: [controlPlane, ...(plan.inject && plan.mode === "strict" && maintenance.preflight ? [maintenance.preflight] : [])],
                    },
                    inCluster,
                ),
        );
        const meshedIngress = ingress
            ? new MeshedIngress(
                  `${name}-ingress`,
                  {
                      plan: ingress,
                      existing: this.admission!.namespaces.get(ingress.namespace)!,
                      // Its proxy is asked for only once Pod Security is known to admit it there.
                      waitFor: [controlPlane, ...(maintenance.podSecurityCheck ? [maintenance.podSecurityCheck] : [])],
                      k3sTraefikValues: secrets.keep(["mtls", "ingress", "k3sTraefikValues"], config.mtls.ingress.k3sTraefikValues),
                  },
                  inCluster,
              )
            : undefined;
        namespacesReady([...namespaces.flatMap((n) => n.ready), ...(meshedIngress ? meshedIngress.ready : [])]);

        const gke = config.cluster.gkePrivate;
        if (gke) {
            // Values of a secret `cluster` show as [secret]: the operator fills them in.
            pulumi.log.warn(secrets.redact(gkeFirewallWarning(gke)), this);
        }
    }

    /** The identity issuer and webhook certificates, in the configured mode: the one place the mode is decided. */
    private identityBackend(
        name: string,
        config: MeshConfig,
        plan: IssuerPlan,
        namespace: k8s.core.v1.Namespace,
        inBundle: Anchor[],
        signing: Anchor,
        inCluster: pulumi.ComponentResourceOptions,
        certManagerPolicy: NetworkPolicySpec | undefined,
        webhookTrust: WebhookTrustPlan,
    ): IdentityBackend {
        const issuer = config.identity.issuer;
        const webhooks = (resourceName: string, webhookNamespace: pulumi.Input<string>, namespaceName: string, services: Record<string, string>) =>
            this.webhookCertificates(resourceName, webhookNamespace, namespaceName, services, config, webhookTrust, inCluster);
        // One intermediate per anchor in the bundle (the next generation's is ready before phase 2 needs
        // it), signed here: the anchors' keys never leave Pulumi state. In static mode the intermediates
        // stay there too; with cert-manager they become the namespaced Issuers' CA Secrets.
        const intermediates = inBundle.map((a) => ({
            generation: a.generation,
            label: a.label,
            anchor: a.anchor,
            intermediate:
                a.source === "fleet"
                    ? a.intermediate
                    : new IntermediateCa(
                          `${name}-intermediate-g${a.generation}`,
                          {
                              signedBy: a.anchor,
                              commonName: `intermediate-g${a.generation}.${pulumi.getStack()}.linkerd.${config.identity.trustDomain}`,
                              validityHours: config.identity.intermediate.validityHours,
                              renewBeforeHours: config.identity.intermediate.renewBeforeHours,
                          },
                          inCluster,
                      ),
        }));
        const signingIntermediate = intermediates.find((i) => i.label === signing.label)!.intermediate;
        if (plan.mode === "static") {
            const staticIssuer = new IdentityIssuer(
                `${name}-identity-issuer`,
                {
                    signedBy: signingIntermediate,
                    chainPem: signingIntermediate.certPem,
                    trustAnchorPem: signing.anchor.certPem,
                    namespace: namespace.metadata.name,
                    validityHours: issuer.static.validityHours,
                    renewBeforeHours: issuer.static.renewBeforeHours,
                    trustDomain: config.identity.trustDomain,
                },
                inCluster,
            );
            return {
                ready: staticIssuer.ready,
                issuerSource: { kind: "configmap", name: LINKERD_OBJECTS.issuerCertificateConfigMap, key: "tls.crt" },
                notAfter: staticIssuer.notAfter,
                intermediateNotAfter: signingIntermediate.notAfter,
                webhooks,
            };
        }

        const certManagerConfig = config.certManager;
        const certManager = new CertManager(
            `${name}-cert-manager`,
            {
                install: plan.install,
                chartVersion: certManagerConfig.chartVersion,
                repository: certManagerConfig.repository,
                namespace: plan.namespace,
                highAvailability: certManagerConfig.highAvailability,
                resources: certManagerConfig.resources,
                networkPolicy: certManagerPolicy,
            },
            inCluster,
        );
        const managedIssuer = new CertManagerIdentityIssuer(
            `${name}-identity-issuer`,
            {
                namespace: namespace.metadata.name,
                intermediates: intermediates.map((i) => ({
                    generation: i.generation,
                    label: i.label,
                    certPem: i.intermediate.certPem,
                    privateKeyPem: i.intermediate.privateKeyPem,
                    anchorPem: i.anchor.certPem,
                })),
                signingGeneration: signing.generation,
                signingLabel: signing.label,
                durationHours: issuer.certManager.durationHours,
                renewBeforeHours: issuer.certManager.renewBeforeHours,
                trustDomain: config.identity.trustDomain,
                certManagerReady: certManager.ready,
            },
            inCluster,
        );
        return {
            ready: managedIssuer.ready,
            issuerSource: { kind: "certificate", name: LINKERD_OBJECTS.issuerSecret },
            intermediateNotAfter: signingIntermediate.notAfter,
            certManager,
            // The program's webhook CA in this mode too: a cert-manager CA Issuer would keep its key in the webhooks' namespace.
            webhooks,
        };
    }

    /**
     * A chart's webhook certificates, from the program's webhook CA (lib/webhookTrust.ts). In the run
     * that takes them over from cert-manager, a Job first removes cert-manager's objects for them, and
     * each webhook's bundle also keeps the CA cainjector had written (read from the live object).
     */
    private webhookCertificates(
        resourceName: string,
        namespace: pulumi.Input<string>,
        namespaceName: string,
        services: Record<string, string>,
        config: MeshConfig,
        webhookTrust: WebhookTrustPlan,
        inCluster: pulumi.ComponentResourceOptions,
    ): WebhookSet {
        const handingOver = webhookTrust.step === "handover" && (namespaceName !== VIZ_NAMESPACE || webhookTrust.handover?.viz === true);
        const handover = handingOver
            ? new CertManagerWebhookHandover(
                  `${resourceName}-handover`,
                  { namespace, services: Object.values(services), kubectlImage: config.rotationJob.kubectlImage },
                  inCluster,
              )
            : undefined;
        // In the handover the webhooks' bundles must trust the program's CA before a pod can serve its
        // certificate: cert-manager's Secrets are still there for the chart's pods, and the program's
        // are written once the chart (its webhook configurations) and the Job are done.
        let chartDone: (chart: pulumi.Resource[]) => void = () => undefined;
        const chart = new Promise<pulumi.Resource[]>((resolve) => (chartDone = resolve));
        const certificates = new WebhookCertificates(
            resourceName,
            {
                namespace,
                namespaceName,
                services,
                alsoTrust: handingOver
                    ? Object.fromEntries(Object.keys(services).map((key) => [key, liveCaBundle(`${resourceName}-live-${key}`, key, inCluster)]))
                    : undefined,
                secretsAfter: handover ? chart.then((trusting) => [handover.done, ...trusting]) : [],
            },
            inCluster,
        );
        return {
            values: certificates.values,
            ready: handover ? [] : certificates.ready,
            certificates: certificates.certificates,
            trustedBy: (trusting) => chartDone(handover ? [trusting] : []),
            writtenAfterChart: handover ? certificates.ready : [],
        };
    }

    /** linkerd-viz, its webhook certificates, dashboards and rules; returns how to open the dashboard. */
    private viz(
        name: string,
        config: MeshConfig,
        secrets: ConfigSecrets,
        controlPlaneNamespace: k8s.core.v1.Namespace,
        controlPlane: LinkerdControlPlane,
        identity: IdentityBackend,
        inBundle: Anchor[],
        networkPolicy: NetworkPolicySpec | undefined,
        inCluster: pulumi.ComponentResourceOptions,
    ): pulumi.Output<string> {
        const viz = config.viz;
        const obs = config.observability;
        const external = viz.prometheus.mode === "external";
        const namespace = vizNamespace(
            `${name}-viz-namespace`,
            VIZ_NAMESPACE,
            external ? viz.prometheus.url : undefined,
            config.linkerd.cni.enabled,
            inCluster,
        );
        const inNamespace = (namespaceName: string) => (namespaceName === VIZ_NAMESPACE ? namespace.metadata.name : pulumi.output(namespaceName));

        const observability = new MtlsObservability(
            `${name}-observability`,
            {
                meshedNamespaces: config.mtls.namespaces,
                anchors: inBundle.map(({ anchor }) =>
                    pulumi.all([anchor.fingerprintSha256, anchor.notAfter]).apply(([fingerprint, notAfter]) => ({ fingerprint, notAfter })),
                ),
                issuerMinHoursLeft: config.rotationJob.issuerMinHoursLeft,
                anchorMinDaysLeft: config.rotationJob.anchorMinDaysLeft,
                grafanaDashboards: obs.grafanaDashboards.enabled
                    ? { ...obs.grafanaDashboards, namespace: inNamespace(obs.grafanaDashboards.namespace) }
                    : undefined,
                rules: obs.prometheusOperator
                    ? { kind: "PrometheusRule", namespace: controlPlaneNamespace.metadata.name, labels: obs.ruleLabels }
                    : { kind: "ConfigMap", namespace: namespace.metadata.name },
                runbookUrl: obs.runbookUrl === undefined ? undefined : secrets.keep(["observability", "runbookUrl"], obs.runbookUrl),
            },
            inCluster,
        );

        if (!external && !obs.prometheusOperator && viz.prometheus.alertmanagers.length === 0) {
            // A warning where someone must be paged; on a laptop or the single-node demo box, a note.
            const say = SINGLE_NODE_TARGETS.includes(config.target) ? pulumi.log.info : pulumi.log.warn;
            say(
                "viz's Prometheus evaluates the mesh's alerts but sends them nowhere: set viz.prometheus.alertmanagers " +
                    '(docs/admin/mtls.md, "Alerts"), or use the Prometheus operator (observability.prometheusOperator)',
                this,
            );
        }
        const webhooks = identity.webhooks(`${name}-viz-webhooks`, namespace.metadata.name, VIZ_NAMESPACE, VIZ_WEBHOOKS);
        const ingress = viz.dashboard.ingress;
        const component = new LinkerdViz(
            `${name}-viz`,
            {
                namespace,
                namespaceName: VIZ_NAMESPACE,
                chartVersion: config.linkerd.chartVersion,
                repository: config.linkerd.repository,
                trustDomain: config.identity.trustDomain,
                webhookTls: webhooks.values,
                highAvailability: viz.highAvailability,
                resources: viz.resources,
                prometheus: external
                    ? { mode: "external", url: viz.prometheus.url! }
                    : {
                          mode: "bundled",
                          retention: viz.prometheus.retention,
                          retentionSize: viz.prometheus.retentionSize,
                          resources: viz.prometheus.resources,
                          alertmanagers: viz.prometheus.alertmanagers,
                          readers: viz.prometheus.readers,
                          rules: obs.prometheusOperator
                              ? undefined
                              : { configMap: RULES_CONFIGMAP.name, key: RULES_CONFIGMAP.key, sha256: observability.rulesSha256, ready: observability.rules },
                      },
                dashboardIngress: ingress.enabled
                    ? {
                          host: secrets.keep(["viz", "dashboard", "ingress", "host"], ingress.host!),
                          className: ingress.className,
                          authAnnotations: ingress.authAnnotations,
                          tlsSecretName: ingress.tlsSecretName,
                      }
                    : undefined,
                // The dashboard command shows the context: a secret `cluster` keeps the output secret.
                kubeContext: secrets.keep(["cluster", "context"], config.cluster.context),
                networkPolicy,
                waitFor: [controlPlane, ...webhooks.ready, ...(obs.prometheusOperator ? [] : [observability.rules])],
            },
            inCluster,
        );
        webhooks.trustedBy(component);
        return component.dashboard;
    }
}

/** A fleet's anchor (lib/fleet.ts, `source: "fleet"`), from the material its trust stack exported. */
function fleetAnchor(planned: PlannedAnchor, fleet: MtlsMeshArgs["fleet"]): Anchor {
    const material = fleet?.get(planned.generation);
    if (!material) throw new Error(`the fleet's anchor of generation ${planned.generation} was not read from the trust stack`);
    return { ...planned, source: "fleet", label: `fleet-g${planned.generation}`, anchor: material, intermediate: material.intermediate };
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

/**
 * The CA bundle the API server holds for a webhook now, PEM ("" when none): read from the live
 * webhook configuration or APIService (a read, also in a preview).
 */
function liveCaBundle(resourceName: string, valueKey: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    const object = WEBHOOK_OBJECTS[valueKey as keyof typeof WEBHOOK_OBJECTS];
    if (!object) throw new Error(`no webhook object known for chart value ${valueKey}`);
    const base64 =
        object.kind === "APIService"
            ? k8s.apiregistration.v1.APIService.get(resourceName, object.name, opts).spec.apply((spec) => spec?.caBundle)
            : object.kind === "MutatingWebhookConfiguration"
              ? k8s.admissionregistration.v1.MutatingWebhookConfiguration.get(resourceName, object.name, opts).webhooks.apply(
                    (w) => w?.[0]?.clientConfig?.caBundle,
                )
              : k8s.admissionregistration.v1.ValidatingWebhookConfiguration.get(resourceName, object.name, opts).webhooks.apply(
                    (w) => w?.[0]?.clientConfig?.caBundle,
                );
    return base64.apply((value) => (value ? Buffer.from(value, "base64").toString("utf8") : ""));
}
