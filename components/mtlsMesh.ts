import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "node:crypto";
import { configKey, type MeshConfig } from "../config";
import { ConfigSecrets } from "../config/secrets";
import { injectedNamespaces, MeshPlan } from "../lib/meshLifecycle";
import { MeshDeployment, planDeployment, policyIn } from "../lib/meshPlan";
import type { RemoteTrustArgs } from "../lib/maintenancePlan";
import { credentialsSecretName } from "../lib/multicluster";
import { PROGRAM_RESOURCES } from "../lib/objects";
import { LINKERD_ISSUANCE_LIFETIME } from "../lib/issuanceLifetime";
import { injectedPodProbe } from "../lib/podSecurity";
import { edgeOf, LINKERD_OBJECTS, LINKERD_WEBHOOKS, NAMESPACES, VIZ_WEBHOOKS, WEBHOOK_OBJECTS } from "../lib/registry";
import type { WebhookTrustPlan } from "../lib/webhookTrust";
import type { PlannedAnchor, RotationPlan } from "../lib/rotation";
import { CertManager } from "./certManager";
import type { FleetAnchorMaterial } from "./fleetMember";
import { RunCompletion } from "./completion";
import { EgressControl } from "./egressControl";
import { GatewayApiCrds } from "./gatewayApi";
import { CertManagerIdentityIssuer, IdentityIssuer } from "./identityIssuer";
import { IntermediateCa } from "./intermediateCa";
import { LinkerdControlPlane } from "./linkerdControlPlane";
import { LinkerdViz } from "./linkerdViz";
import { LinkerdCni } from "./linkerdCni";
import { MeshedIngress } from "./meshedIngress";
import { MeshedNamespace } from "./meshedNamespace";
import { IssuerSource, MeshMaintenance } from "./meshMaintenance";
import { MtlsObservability, RULES_CONFIGMAP } from "./mtlsObservability";
import { LinkedMember, Multicluster } from "./multicluster";
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
     * The members `multicluster.links` names, read before anything was registered (components/multicluster.ts `linkedMembers`).
     * @default []
     */
    linkedMembers?: readonly LinkedMember[];
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
    | {
          source: "fleet";
          anchor: Omit<FleetAnchorMaterial, "intermediate">;
          intermediate: FleetAnchorMaterial["intermediate"];
      }
);

/** The anchors of this run: those in the bundle proxies trust, the one that signs the issuer, and the bundle. */
interface Trust {
    bundle: pulumi.Output<string>;
    inBundle: Anchor[];
    signing: Anchor;
}

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

/** A chart's webhooks: the resource name of their certificates, their namespace, and their Services by chart value key. */
interface WebhookRequest {
    resourceName: string;
    namespace: pulumi.Input<string>;
    namespaceName: string;
    services: Record<string, string>;
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
    webhooks(request: WebhookRequest): WebhookSet;
    certManager?: CertManager;
    /** Static issuer expiry. */
    notAfter?: pulumi.Output<string>;
    /** Expiry of the intermediate that signs the issuer. */
    intermediateNotAfter: pulumi.Output<string>;
}

/** What every part of a deploying run is built from. */
interface DeployContext {
    /** The component's name: its children's names start with it. */
    name: string;
    config: MeshConfig;
    secrets: ConfigSecrets;
    /** What this run deploys (lib/meshPlan.ts). */
    plan: MeshDeployment;
    webhookTrust: WebhookTrustPlan;
    /** The members this stack links to (MtlsMeshArgs `linkedMembers`). */
    linkedMembers: readonly LinkedMember[];
    /** Options of every child in the cluster: this component as parent, the stack's provider. */
    inCluster: pulumi.ComponentResourceOptions;
}

/** The outputs of the mesh: each one the component exposes as a read-only property. */
interface MeshOutputs {
    trustAnchorPem: pulumi.Output<string>;
    trustAnchorFingerprintSha256: pulumi.Output<string>;
    trustAnchorNotAfter: pulumi.Output<string>;
    trustBundlePem: pulumi.Output<string>;
    identityIssuerNotAfter?: pulumi.Output<string>;
    identityIntermediateNotAfter?: pulumi.Output<string>;
    linkerdChartVersion?: pulumi.Output<string>;
    certManagerChartVersion?: pulumi.Output<string>;
    rotationJobSchedule?: pulumi.Output<string>;
    vizDashboard?: pulumi.Output<string>;
    multicluster?: Multicluster;
    completed: pulumi.Output<string>;
}

/** The outputs that exist only while the mesh is in the cluster. */
type DeployedOutputs = Pick<
    MeshOutputs,
    | "identityIssuerNotAfter"
    | "identityIntermediateNotAfter"
    | "linkerdChartVersion"
    | "certManagerChartVersion"
    | "rotationJobSchedule"
    | "vizDashboard"
    | "multicluster"
>;

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

    /** The Kubernetes provider of the stack's cluster, when this run touches it. */
    private readonly provider: k8s.Provider | undefined;
    /** The namespaces this run patches, read (and checked) before anything else is built. */
    private readonly admission: NamespaceAdmission | undefined;
    /** Collects every resource of the run as it is constructed (components/completion.ts). */
    private readonly run: RunCompletion;
    /** The outputs, once {@link create} built the mesh (after the namespaces were admitted). */
    private outputs: MeshOutputs | undefined;

    /** The trust anchor that signs the identity issuer, PEM. */
    public get trustAnchorPem(): pulumi.Output<string> {
        return this.built().trustAnchorPem;
    }
    /** Its SHA-256 fingerprint. */
    public get trustAnchorFingerprintSha256(): pulumi.Output<string> {
        return this.built().trustAnchorFingerprintSha256;
    }
    /** Its expiry, RFC 3339. */
    public get trustAnchorNotAfter(): pulumi.Output<string> {
        return this.built().trustAnchorNotAfter;
    }
    /** Every anchor proxies trust (ConfigMap linkerd-identity-trust-roots), PEM. */
    public get trustBundlePem(): pulumi.Output<string> {
        return this.built().trustBundlePem;
    }
    /** Static issuer expiry, RFC 3339; undefined with cert-manager (it renews every 23 h) or while disabled. */
    public get identityIssuerNotAfter(): pulumi.Output<string> | undefined {
        return this.built().identityIssuerNotAfter;
    }
    /** Expiry of the per-cluster intermediate that signs the issuer, RFC 3339; undefined while disabled. */
    public get identityIntermediateNotAfter(): pulumi.Output<string> | undefined {
        return this.built().identityIntermediateNotAfter;
    }
    /** Linkerd chart version; undefined while disabled. */
    public get linkerdChartVersion(): pulumi.Output<string> | undefined {
        return this.built().linkerdChartVersion;
    }
    /** cert-manager chart version, when this stack installs cert-manager. */
    public get certManagerChartVersion(): pulumi.Output<string> | undefined {
        return this.built().certManagerChartVersion;
    }
    /** Schedule of the rotation CronJob, while enabled. */
    public get rotationJobSchedule(): pulumi.Output<string> | undefined {
        return this.built().rotationJobSchedule;
    }
    /** How to open the viz dashboard, while viz is enabled. */
    public get vizDashboard(): pulumi.Output<string> | undefined {
        return this.built().vizDashboard;
    }
    /** linkerd-multicluster and the links, while `multicluster.enabled`. */
    public get multicluster(): Multicluster | undefined {
        return this.built().multicluster;
    }
    /**
     * Resolves once this run's work is done: every resource it registered, in Pulumi state or in the
     * cluster, has completed its step (components/completion.ts). Records of what a run achieved
     * depend on it ({@link settled}); deletes come after it (docs/engine.md).
     */
    public get completed(): pulumi.Output<string> {
        return this.built().completed;
    }

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
        mesh.outputs = mesh.build(name, args);
        return mesh;
    }

    private constructor(name: string, args: MtlsMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        const { config, mesh } = args;
        // Recorded as the component's inputs, where the policy pack reads the meshed namespaces.
        const meshedNamespaces = injectedNamespaces(mesh);
        // Every resource of the run, as it is constructed: what `completed` waits for.
        const run = new RunCompletion();
        super(
            PROGRAM_RESOURCES.meshType,
            name,
            { [PROGRAM_RESOURCES.meshedNamespacesInput]: meshedNamespaces, phase: mesh.phase },
            {
                ...opts,
                transformations: [...(opts?.transformations ?? []), run.collect],
            },
        );
        run.ownedBy(this);
        this.run = run;
        this.deployed = mesh.deploy;
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
                key:
                    index(plan.name) >= 0
                        ? configKey(["mtls", "namespaces", index(plan.name)])
                        : configKey(["mtls", "namespaces"]),
                inject: plan.inject,
            }));
            if (mesh.ingress) {
                reads.push({
                    resourceName: `${name}-ingress-namespace`,
                    namespace: mesh.ingress.namespace,
                    key: configKey([
                        "mtls",
                        "ingress",
                        mesh.ingress.controller === "k3s-traefik" ? "controller" : "namespace",
                    ]),
                    inject: mesh.ingress.inject,
                });
            }
            this.admission = new NamespaceAdmission(reads, config.linkerd.cni.enabled, {
                parent: this,
                provider: this.provider,
            });
        }
    }

    private built(): MeshOutputs {
        if (!this.outputs) throw new Error("MtlsMesh: outputs read before MtlsMesh.create built the mesh");
        return this.outputs;
    }

    /** Everything else: the trust anchors and, when the mesh is deployed, the cluster's objects. Registers the outputs. */
    private build(name: string, args: MtlsMeshArgs): MeshOutputs {
        const { config, rotation, mesh } = args;
        const secrets = args.secrets ?? ConfigSecrets.none;
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
        const anchors = rotation.anchors.map((planned) =>
            planned.source === "fleet" ? fleetAnchor(planned, args.fleet) : ownAnchor(planned),
        );
        const inBundle = anchors.filter((a) => a.inBundle);
        const signing = anchors.find((a) => a.signsIssuer);
        if (!signing) throw new Error("the rotation plan names no anchor that signs the issuer (lib/rotation.ts)");
        const bundle = pulumi
            .all(inBundle.map((a) => a.anchor.certPem))
            .apply((pems) => pems.map((p) => p.trim()).join("\n"));

        const webhookTrust = args.webhookTrust ?? { step: "program", record: "program-ca" };
        const deployed = mesh.deploy
            ? this.deploy(
                  {
                      name,
                      config,
                      secrets,
                      plan: planDeployment({ config, mesh, rotationPhase: rotation.record.phase, webhookTrust }),
                      webhookTrust,
                      linkedMembers: args.linkedMembers ?? [],
                      inCluster: { parent: this, provider: this.provider },
                  },
                  { bundle, inBundle, signing },
              )
            : {};
        if (mesh.notice) pulumi.log.warn(secrets.redact(mesh.notice), this);

        const outputs: MeshOutputs = {
            trustAnchorPem: signing.anchor.certPem,
            trustAnchorFingerprintSha256: signing.anchor.fingerprintSha256,
            trustAnchorNotAfter: signing.anchor.notAfter,
            trustBundlePem: bundle,
            ...deployed,
            // Everything this run creates, updates or reads, whatever it is: the rollout Job, and every
            // sibling it does not wait for (the CronJob, admission policies, viz, Deployment patches).
            completed: this.run.completed(),
        };
        this.registerOutputs({
            deployed: this.deployed,
            trustAnchorPem: outputs.trustAnchorPem,
            trustAnchorFingerprintSha256: outputs.trustAnchorFingerprintSha256,
            trustAnchorNotAfter: outputs.trustAnchorNotAfter,
            trustBundlePem: outputs.trustBundlePem,
            identityIssuerNotAfter: outputs.identityIssuerNotAfter,
            identityIntermediateNotAfter: outputs.identityIntermediateNotAfter,
            linkerdChartVersion: outputs.linkerdChartVersion,
            certManagerChartVersion: outputs.certManagerChartVersion,
            rotationJobSchedule: outputs.rotationJobSchedule,
            vizDashboard: outputs.vizDashboard,
            completed: outputs.completed,
        });
        return outputs;
    }

    /** `value`, once this run's work is done: a failed `pulumi up` then keeps the previous value. */
    public settled<T>(value: T): pulumi.Output<T> {
        return this.completed.apply(() => value);
    }

    /** The cluster's objects, as the plan says; returns the outputs that exist while the mesh is in the cluster. */
    private deploy(context: DeployContext, trust: Trust): DeployedOutputs {
        const { name, config, plan, inCluster } = context;
        if (plan.warnings.webhookHandover) pulumi.log.warn(plan.warnings.webhookHandover, this);
        const linkerd = config.linkerd;
        const namespace = linkerdNamespace(
            `${name}-linkerd-namespace`,
            { name: CONTROL_PLANE_NAMESPACE, cniEnabled: linkerd.cni.enabled },
            inCluster,
        );
        const gatewayApi = new GatewayApiCrds(
            `${name}-gateway-api`,
            { mode: linkerd.gatewayApi, tlsRoutes: plan.egress.installTlsRoutes },
            inCluster,
        );
        const identity = this.identityBackend(context, { namespace, trust });
        const linkerdWebhooks = identity.webhooks({
            resourceName: `${name}-linkerd-webhooks`,
            namespace: namespace.metadata.name,
            namespaceName: CONTROL_PLANE_NAMESPACE,
            services: LINKERD_WEBHOOKS,
        });
        const cni = linkerd.cni.enabled
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
                      networkPolicy: policyIn(plan, NAMESPACES.cni),
                  },
                  inCluster,
              )
            : undefined;

        // The maintenance Jobs, in stages (components/meshMaintenance.ts): first those that wait for
        // nothing of the mesh, among them rotation phase 3's gate.
        const maintenance = this.maintenance(context, { namespace, identity, linkerdWebhooks, trust });
        const controlPlane = new LinkerdControlPlane(
            `${name}-linkerd`,
            {
                namespace,
                chartVersion: linkerd.chartVersion,
                repository: linkerd.repository,
                trustAnchorsPem: trust.bundle,
                trustDomain: config.identity.trustDomain,
                // Only when it is not the chart's own default: existing stacks' chart values stay as they were.
                issuanceLifetime:
                    config.identity.issuer.issuanceLifetime === LINKERD_ISSUANCE_LIFETIME
                        ? undefined
                        : config.identity.issuer.issuanceLifetime,
                webhookTls: linkerdWebhooks.values,
                highAvailability: linkerd.highAvailability,
                controllerReplicas: linkerd.controllerReplicas,
                webhookFailurePolicy: linkerd.webhookFailurePolicy,
                iptablesMode: linkerd.proxyInit.iptablesMode,
                proxyResources: linkerd.proxy.resources,
                controlPlaneResources: linkerd.controlPlaneResources,
                admissionNamespaces: plan.injectorScope,
                cniEnabled: linkerd.cni.enabled,
                // Rotation phase 3: the bundle drops the old anchor only after the gate Job proved the live issuer signed by the new one.
                trustRootsWaitFor: maintenance.rotationGate ? [maintenance.rotationGate] : [],
                podMonitor: plan.podMonitor,
                // Linkerd's docs install the CNI plugin first (features/cni.md).
                waitFor: [...identity.ready, ...linkerdWebhooks.ready, ...gatewayApi.ready, ...(cni ? [cni] : [])],
                networkPolicy: policyIn(plan, CONTROL_PLANE_NAMESPACE),
            },
            inCluster,
        );
        linkerdWebhooks.trustedBy(controlPlane);
        // Then those that wait for the control plane: the strict preflight (the namespaces wait for it) and the CronJob.
        const checked = maintenance.afterControlPlane({
            controlPlane: [controlPlane, ...linkerdWebhooks.writtenAfterChart],
        });

        const multicluster = config.multicluster.enabled
            ? this.multiclusterOf(context, { namespace, controlPlane })
            : undefined;
        const vizDashboard = plan.viz
            ? this.viz(context, { controlPlaneNamespace: namespace, controlPlane, identity, inBundle: trust.inBundle })
            : undefined;

        // Last the rollout, which waits for every namespace's objects and, with links, for the credentials Secrets
        // the links hold (it reads their far ends through them).
        maintenance.afterNamespaces({
            namespaces: [
                ...this.meshedNamespaces(context, { controlPlane, maintenance, preflight: checked.preflight }),
                ...(multicluster ? [multicluster] : []),
            ],
        });
        if (plan.egress.namespaces.length > 0) {
            new EgressControl(
                `${name}-egress`,
                { plan: plan.egress, waitFor: [controlPlane], cniEnabled: linkerd.cni.enabled },
                inCluster,
            );
        }

        // Values of a secret `cluster` show as [secret]: the operator fills them in.
        if (plan.warnings.gkeFirewall) pulumi.log.warn(context.secrets.redact(plan.warnings.gkeFirewall), this);
        return {
            identityIssuerNotAfter: identity.notAfter,
            identityIntermediateNotAfter: identity.intermediateNotAfter,
            certManagerChartVersion: identity.certManager?.chart ? identity.certManager.chartVersion : undefined,
            linkerdChartVersion: controlPlane.chartVersion,
            rotationJobSchedule: checked.schedule,
            vizDashboard,
            multicluster,
        };
    }

    /** linkerd-multicluster, the grants and the links (components/multicluster.ts), once the control plane injects its namespace. */
    private multiclusterOf(
        context: DeployContext,
        parts: { namespace: k8s.core.v1.Namespace; controlPlane: LinkerdControlPlane },
    ): Multicluster {
        const { config, name, inCluster } = context;
        const mc = config.multicluster;
        return new Multicluster(
            `${name}-multicluster`,
            {
                self: pulumi.getStack(),
                chartVersion: config.linkerd.chartVersion,
                repository: config.linkerd.repository,
                trustDomain: config.identity.trustDomain,
                cniEnabled: config.linkerd.cni.enabled,
                mode: mc.mode,
                apiServerAddress: mc.apiServerAddress,
                gatewayAddresses: mc.gatewayAddresses,
                remoteAccess: mc.remoteAccess,
                links: context.linkedMembers,
                controlPlaneNamespace: parts.namespace.metadata.name,
                waitFor: [parts.controlPlane],
            },
            inCluster,
        );
    }

    /** The maintenance component, its first stage made (the stages: deploy): what its Jobs check and run is the plan's; the rest is wiring. */
    private maintenance(
        context: DeployContext,
        parts: {
            namespace: k8s.core.v1.Namespace;
            identity: IdentityBackend;
            linkerdWebhooks: WebhookSet;
            trust: Trust;
        },
    ): MeshMaintenance {
        const { name, config, inCluster } = context;
        const planned = context.plan.maintenance;
        const { trust } = parts;
        const linkerd = config.linkerd;
        const job = config.rotationJob;
        // What the control-plane pods must have started with: the bundle (read once at start:
        // controller/cmd/identity/main.go:68) and, in static mode, the webhook serving certificates.
        const controlPlaneDigest = pulumi
            // The destination controller decides at start whether it watches TLSRoutes (lib/registry.ts GATEWAY_API_TLSROUTE).
            .all([
                trust.bundle,
                ...parts.linkerdWebhooks.certificates,
                ...(context.plan.egress.installTlsRoutes ? ["tlsroutes.gateway.networking.k8s.io/v1alpha2"] : []),
            ])
            .apply((all) => crypto.createHash("sha256").update(all.join("\n")).digest("hex").slice(0, 16));
        const signingSha256 = trust.signing.anchor.fingerprintSha256.apply((f) => f.replace(/:/g, ""));
        return new MeshMaintenance(
            `${name}-maintenance`,
            {
                controlPlaneNamespace: parts.namespace.metadata.name,
                issuerSource: parts.identity.issuerSource,
                meshedNamespaces: planned.meshedNamespaces,
                unmeshedNamespaces: planned.unmeshedNamespaces,
                expectedInboundPolicy: planned.expectedInboundPolicy,
                expectedAnnotations: planned.expectedAnnotations,
                ingress: planned.ingress,
                rotation: planned.rotation,
                reloadIdentityFor: planned.reloadIdentity ? signingSha256 : undefined,
                rotationGateFor: planned.rotationGate ? signingSha256 : undefined,
                strict: planned.strict,
                remoteTrust: this.remoteTrustOf(context, signingSha256),
                maxConcurrentRestarts: job.maxConcurrentRestarts,
                rolloutTimeoutSeconds: job.rolloutTimeoutSeconds,
                deadlineMinutes: job.deadlineMinutes,
                controlPlaneDigest,
                proxyVersion: edgeOf(linkerd.chartVersion),
                image: job.image,
                kubectlImage: job.kubectlImage,
                resources: job.resources,
                networkPolicy: policyIn(context.plan, NAMESPACES.maintenance),
                // What the labels cannot show (the cluster's default level, its exemptions), asked of the API server.
                podSecurity: {
                    namespaces: this.admitted().injected.map(({ namespace, key }) => ({ namespace, key })),
                    probe: injectedPodProbe({
                        cniEnabled: linkerd.cni.enabled,
                        edge: edgeOf(linkerd.chartVersion),
                        appImage: job.image,
                        proxyResources: linkerd.proxy.resources,
                    }),
                    cniEnabled: linkerd.cni.enabled,
                },
                networkPosture: planned.networkPosture,
            },
            inCluster,
        );
    }

    /** What the rollout checks of the linked clusters (cluster/remoteTrust.mjs): each link's far end trusts the anchor the issuer is signed under. */
    private remoteTrustOf(
        context: DeployContext,
        signingAnchorSha256: pulumi.Output<string>,
    ): RemoteTrustArgs | undefined {
        const { config, linkedMembers } = context;
        if (!config.multicluster.enabled || linkedMembers.length === 0) return undefined;
        return {
            signingAnchorSha256,
            credentialsNamespace: NAMESPACES.multicluster,
            links: linkedMembers.map(({ target }) => ({ target, secret: credentialsSecretName(target) })),
            // The far end's meshed pods: in the namespaces the fleet meshes alike, and its gateway's.
            namespaces: [...new Set([...context.plan.maintenance.meshedNamespaces, NAMESPACES.multicluster])],
        };
    }

    /** The meshed namespaces and the ingress controller: annotations, NetworkPolicies, authorizations. Returns what the rollout waits for. */
    private meshedNamespaces(
        context: DeployContext,
        parts: {
            controlPlane: LinkerdControlPlane;
            maintenance: MeshMaintenance;
            preflight: k8s.batch.v1.Job | undefined;
        },
    ): pulumi.Resource[] {
        const { name, config, inCluster } = context;
        const { controlPlane, maintenance, preflight } = parts;
        const admission = this.admitted();
        const podSecurityChecked = maintenance.podSecurityCheck ? [maintenance.podSecurityCheck] : [];
        const namespaces = context.plan.namespaces.map(
            (planned) =>
                new MeshedNamespace(
                    `${name}-mesh-${planned.name}`,
                    {
                        namespace: planned.name,
                        inject: planned.inject,
                        mode: planned.mode,
                        proxy: planned.proxy,
                        networkPolicy: planned.networkPolicy,
                        postureChecked: maintenance.networkPreflight ? [maintenance.networkPreflight] : [],
                        admissionChecked: podSecurityChecked,
                        authorizations: planned.authorizations,
                        trustDomain: config.identity.trustDomain,
                        existing: readNamespace(admission, planned.name),
                        // Policy objects are validated by the policy controller's webhook, and the
                        // annotation asks for proxies: both wait for the whole control plane (and, going
                        // strict, for the preflight that proves nothing would be refused).
                        waitFor: [controlPlane, ...(planned.strictPreflight && preflight ? [preflight] : [])],
                    },
                    inCluster,
                ),
        );
        const ingress = context.plan.ingress;
        const meshedIngress = ingress
            ? new MeshedIngress(
                  `${name}-ingress`,
                  {
                      plan: ingress,
                      existing: readNamespace(admission, ingress.namespace),
                      // Its proxy is asked for only once Pod Security is known to admit it there.
                      waitFor: [controlPlane, ...podSecurityChecked],
                      k3sTraefikValues: context.secrets.keep(
                          ["mtls", "ingress", "k3sTraefikValues"],
                          config.mtls.ingress.k3sTraefikValues,
                      ),
                  },
                  inCluster,
              )
            : undefined;
        return [...namespaces.flatMap((n) => n.ready), ...(meshedIngress ? meshedIngress.ready : [])];
    }

    /** The identity issuer and webhook certificates, in the configured mode: the one place the mode is decided. */
    private identityBackend(
        context: DeployContext,
        parts: { namespace: k8s.core.v1.Namespace; trust: Trust },
    ): IdentityBackend {
        const { name, config, inCluster } = context;
        const issuer = config.identity.issuer;
        const { inBundle, signing } = parts.trust;
        const webhooks = (request: WebhookRequest) => this.webhookCertificates(context, request);
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
        const signingIntermediate = intermediates.find((i) => i.label === signing.label)?.intermediate;
        if (!signingIntermediate)
            throw new Error(`the signing anchor ${signing.label} is not in the bundle (lib/rotation.ts, lib/fleet.ts)`);
        const issuerName = `${name}-${PROGRAM_RESOURCES.identityIssuer}`;
        const plan = context.plan.issuer;
        if (plan.mode === "static") {
            const staticIssuer = new IdentityIssuer(
                issuerName,
                {
                    signedBy: signingIntermediate,
                    chainPem: signingIntermediate.certPem,
                    trustAnchorPem: signing.anchor.certPem,
                    namespace: parts.namespace.metadata.name,
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
                networkPolicy: policyIn(context.plan, certManagerConfig.namespace),
            },
            inCluster,
        );
        const managedIssuer = new CertManagerIdentityIssuer(
            issuerName,
            {
                namespace: parts.namespace.metadata.name,
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
    private webhookCertificates(context: DeployContext, request: WebhookRequest): WebhookSet {
        const { webhookTrust, inCluster } = context;
        const { resourceName, namespace, services } = request;
        const handingOver =
            webhookTrust.step === "handover" &&
            (request.namespaceName !== VIZ_NAMESPACE || webhookTrust.handover?.viz === true);
        const handover = handingOver
            ? new CertManagerWebhookHandover(
                  `${resourceName}-handover`,
                  {
                      namespace,
                      services: Object.values(services),
                      kubectlImage: context.config.rotationJob.kubectlImage,
                  },
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
                namespaceName: request.namespaceName,
                services,
                alsoTrust: handingOver
                    ? Object.fromEntries(
                          Object.keys(services).map((key) => [
                              key,
                              liveCaBundle(`${resourceName}-live-${key}`, key, inCluster),
                          ]),
                      )
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
        context: DeployContext,
        parts: {
            controlPlaneNamespace: k8s.core.v1.Namespace;
            controlPlane: LinkerdControlPlane;
            identity: IdentityBackend;
            inBundle: Anchor[];
        },
    ): pulumi.Output<string> {
        const { name, config, secrets, inCluster } = context;
        const viz = config.viz;
        const obs = config.observability;
        const external = viz.prometheus.mode === "external";
        const namespace = vizNamespace(
            `${name}-viz-namespace`,
            {
                name: VIZ_NAMESPACE,
                externalPrometheusUrl: external ? viz.prometheus.url : undefined,
                cniEnabled: config.linkerd.cni.enabled,
            },
            inCluster,
        );
        const inNamespace = (namespaceName: string) =>
            namespaceName === VIZ_NAMESPACE ? namespace.metadata.name : pulumi.output(namespaceName);

        const observability = new MtlsObservability(
            `${name}-observability`,
            {
                meshedNamespaces: config.mtls.namespaces,
                anchors: parts.inBundle.map(({ anchor }) =>
                    pulumi
                        .all([anchor.fingerprintSha256, anchor.notAfter])
                        .apply(([fingerprint, notAfter]) => ({ fingerprint, notAfter })),
                ),
                issuerMinHoursLeft: config.rotationJob.issuerMinHoursLeft,
                anchorMinDaysLeft: config.rotationJob.anchorMinDaysLeft,
                grafanaDashboards: obs.grafanaDashboards.enabled
                    ? { ...obs.grafanaDashboards, namespace: inNamespace(obs.grafanaDashboards.namespace) }
                    : undefined,
                rules: obs.prometheusOperator
                    ? {
                          kind: "PrometheusRule",
                          namespace: parts.controlPlaneNamespace.metadata.name,
                          labels: obs.ruleLabels,
                      }
                    : { kind: "ConfigMap", namespace: namespace.metadata.name },
                runbookUrl:
                    obs.runbookUrl === undefined
                        ? undefined
                        : secrets.keep(["observability", "runbookUrl"], obs.runbookUrl),
                egress: context.plan.egress,
            },
            inCluster,
        );

        const alertRouting = context.plan.warnings.alertRouting;
        if (alertRouting)
            (alertRouting.level === "info" ? pulumi.log.info : pulumi.log.warn)(alertRouting.message, this);
        const webhooks = parts.identity.webhooks({
            resourceName: `${name}-viz-webhooks`,
            namespace: namespace.metadata.name,
            namespaceName: VIZ_NAMESPACE,
            services: VIZ_WEBHOOKS,
        });
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
                    ? { mode: "external", url: configured(viz.prometheus.url, "viz.prometheus.url") }
                    : {
                          mode: "bundled",
                          retention: viz.prometheus.retention,
                          retentionSize: viz.prometheus.retentionSize,
                          resources: viz.prometheus.resources,
                          alertmanagers: viz.prometheus.alertmanagers,
                          readers: viz.prometheus.readers,
                          rules: obs.prometheusOperator
                              ? undefined
                              : {
                                    configMap: RULES_CONFIGMAP.name,
                                    key: RULES_CONFIGMAP.key,
                                    sha256: observability.rulesSha256,
                                    ready: observability.rules,
                                },
                      },
                dashboardIngress: ingress.enabled
                    ? {
                          host: secrets.keep(
                              ["viz", "dashboard", "ingress", "host"],
                              configured(ingress.host, "viz.dashboard.ingress.host"),
                          ),
                          className: ingress.className,
                          authAnnotations: ingress.authAnnotations,
                          tlsSecretName: ingress.tlsSecretName,
                      }
                    : undefined,
                // The dashboard command shows the context: a secret `cluster` keeps the output secret.
                kubeContext: secrets.keep(["cluster", "context"], config.cluster.context),
                networkPolicy: policyIn(context.plan, VIZ_NAMESPACE),
                waitFor: [
                    parts.controlPlane,
                    ...webhooks.ready,
                    ...(obs.prometheusOperator ? [] : [observability.rules]),
                ],
            },
            inCluster,
        );
        webhooks.trustedBy(component);
        return component.dashboard;
    }

    /** The namespace reads, which exist whenever the mesh is deployed (made in the constructor). */
    private admitted(): NamespaceAdmission {
        if (!this.admission) throw new Error("MtlsMesh: the namespaces were not read before the mesh was deployed");
        return this.admission;
    }
}

/** A fleet's anchor (lib/fleet.ts, `source: "fleet"`), from the material its trust stack exported. */
function fleetAnchor(planned: PlannedAnchor, fleet: MtlsMeshArgs["fleet"]): Anchor {
    const material = fleet?.get(planned.generation);
    if (!material)
        throw new Error(`the fleet's anchor of generation ${planned.generation} was not read from the trust stack`);
    return {
        ...planned,
        source: "fleet",
        label: `fleet-g${planned.generation}`,
        anchor: material,
        intermediate: material.intermediate,
    };
}

/** Whether a chart value key names a webhook whose live object the registry knows. */
const isWebhookKey = (key: string): key is keyof typeof WEBHOOK_OBJECTS =>
    Object.prototype.hasOwnProperty.call(WEBHOOK_OBJECTS, key);

/**
 * The CA bundle the API server holds for a webhook now, PEM ("" when none): read from the live
 * webhook configuration or APIService (a read, also in a preview).
 */
function liveCaBundle(
    resourceName: string,
    valueKey: string,
    opts: pulumi.CustomResourceOptions,
): pulumi.Output<string> {
    if (!isWebhookKey(valueKey)) throw new Error(`no webhook object known for chart value ${valueKey}`);
    const object = WEBHOOK_OBJECTS[valueKey];
    const base64 =
        object.kind === "APIService"
            ? k8s.apiregistration.v1.APIService.get(resourceName, object.name, opts).spec.apply(
                  (spec) => spec?.caBundle,
              )
            : object.kind === "MutatingWebhookConfiguration"
              ? k8s.admissionregistration.v1.MutatingWebhookConfiguration.get(
                    resourceName,
                    object.name,
                    opts,
                ).webhooks.apply((w) => w?.[0]?.clientConfig?.caBundle)
              : k8s.admissionregistration.v1.ValidatingWebhookConfiguration.get(
                    resourceName,
                    object.name,
                    opts,
                ).webhooks.apply((w) => w?.[0]?.clientConfig?.caBundle);
    return base64.apply((value) => (value ? Buffer.from(value, "base64").toString("utf8") : ""));
}

/** A namespace as read before the mesh built anything: every namespace the plan patches was read (the constructor). */
function readNamespace(admission: NamespaceAdmission, namespace: string): k8s.core.v1.Namespace {
    const read = admission.namespaces.get(namespace);
    if (!read) throw new Error(`MtlsMesh: namespace ${namespace} was not read before it is patched`);
    return read;
}

/** A value the config rules require when it is used (config/rules): a missing one is a bug of the rules, not of the config. */
function configured<T>(value: T | undefined, key: string): T {
    if (value === undefined) throw new Error(`${key} is unset although the config rules require it here`);
    return value;
}
