/**
 * The mesh's invariants, as policies a reviewer would otherwise check by hand in every
 * preview. Kept apart from index.ts so the tests call each validation directly.
 *
 * The meshed namespaces come from the mesh component's own inputs (`akko:mtls:MtlsMesh`
 * props `meshedNamespaces`), or from the policy config `meshedNamespaces` when the pack
 * guards another stack (an AKKO application stack deploying into those namespaces).
 */
import type {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { ISSUER_LIFETIME_HOURS, issuerLifetimeProblem } from "../lib/issuerLifetimes";
import { PROGRAM_RESOURCES } from "../lib/objects";
import { CHARTS, LINKERD_ANNOTATIONS, LINKERD_DEFAULT_OPAQUE_PORTS, LINKERD_OBJECTS, PORTS } from "../lib/registry";

/**
 * The pack's policies report every violation before they return (the SDK also allows a promise):
 * `npm run plan` and the tests (tools/policyCheck.ts) read the violations as soon as the call returns.
 */
export interface ResourcePolicy extends ResourceValidationPolicy {
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => void;
}
export interface StackPolicy extends StackValidationPolicy {
    validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => void;
}
type Policy = ResourcePolicy | StackPolicy;

export const PROXY_INBOUND_PORT = PORTS.proxyInbound;
/** The annotation that asks for (or refuses) a proxy. */
const INJECT = LINKERD_ANNOTATIONS.inject;
/** The identity issuer's Certificate (cert-manager mode): named as the Secret identity reads. */
const ISSUER = LINKERD_OBJECTS.issuerSecret;

/** Every chart the program installs (lib/registry.ts): each must be pinned to an exact version. */
const PINNED_CHARTS: string[] = Object.values(CHARTS).map((c) => c.chart);
const CHART_TYPES = ["kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Chart", "kubernetes:helm.sh/v3:Release"];
const WORKLOAD_TYPES: Record<string, (props: any) => any> = {
    "kubernetes:apps/v1:Deployment": (p) => p.spec?.template,
    "kubernetes:apps/v1:StatefulSet": (p) => p.spec?.template,
    "kubernetes:apps/v1:DaemonSet": (p) => p.spec?.template,
    "kubernetes:apps/v1:ReplicaSet": (p) => p.spec?.template,
    "kubernetes:batch/v1:Job": (p) => p.spec?.template,
    "kubernetes:batch/v1:CronJob": (p) => p.spec?.jobTemplate?.spec?.template,
    "kubernetes:core/v1:Pod": (p) => p,
};

interface MeshPolicyConfig {
    /** Meshed namespaces, for stacks without the mesh component. */
    meshedNamespaces?: string[];
    /** Workloads allowed to opt out of injection, as `namespace/name`. */
    allowedOptOuts?: string[];
}

const configSchema = {
    properties: {
        meshedNamespaces: { type: "array", items: { type: "string" } },
        allowedOptOuts: { type: "array", items: { type: "string" } },
    },
} as const;

function meshedNamespaces(resources: PolicyResource[], config: MeshPolicyConfig): string[] {
    const mesh = resources.find((r) => r.type === PROGRAM_RESOURCES.meshType);
    const recorded: unknown = mesh?.props[PROGRAM_RESOURCES.meshedNamespacesInput];
    const names = Array.isArray(recorded) ? recorded.filter((n): n is string => typeof n === "string") : [];
    return [...new Set([...names, ...(config.meshedNamespaces ?? [])])];
}

/** Go duration ("48h0m0s", "90m") in hours. */
export function durationHours(duration: string): number {
    const parts = [...duration.matchAll(/([0-9.]+)(h|m|s|ms)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== duration) return Number.NaN;
    const unit: Record<string, number> = { h: 1, m: 1 / 60, s: 1 / 3600, ms: 1 / 3_600_000 };
    return parts.reduce((sum, [, value, u]) => sum + Number(value) * unit[u], 0);
}

export const meshedNamespacesInjected: StackPolicy = {
    name: "meshed-namespaces-injected",
    description: `Every namespace in mtls.namespaces carries ${INJECT}: enabled.`,
    configSchema,
    validateStack: (args, reportViolation) => {
        const patches = args.resources.filter(
            (r) => r.type === "kubernetes:core/v1:NamespacePatch" || r.type === "kubernetes:core/v1:Namespace",
        );
        for (const namespace of meshedNamespaces(args.resources, args.getConfig<MeshPolicyConfig>())) {
            const annotated = patches.some(
                (p) => p.props.metadata?.name === namespace && p.props.metadata?.annotations?.[INJECT] === "enabled",
            );
            if (!annotated)
                reportViolation(
                    `Meshed namespace ${namespace} is not annotated ${INJECT}: enabled: its pods would start without proxies.`,
                );
        }
    },
};

export const noInjectionOptOut: StackPolicy = {
    name: "no-injection-opt-out",
    description: `No workload in a meshed namespace opts out of injection (${INJECT}: disabled) unless allow-listed.`,
    configSchema,
    validateStack: (args, reportViolation) => {
        const config = args.getConfig<MeshPolicyConfig>();
        const meshed = meshedNamespaces(args.resources, config);
        for (const resource of args.resources) {
            const template = WORKLOAD_TYPES[resource.type]?.(resource.props);
            const namespace = resource.props.metadata?.namespace;
            if (!template || !meshed.includes(namespace)) continue;
            const optOut = template.metadata?.annotations?.[INJECT] === "disabled";
            const workload = `${namespace}/${resource.props.metadata?.name}`;
            if (optOut && !(config.allowedOptOuts ?? []).includes(workload)) {
                reportViolation(
                    `${resource.type.split(":").pop()} ${workload} opts out of the mesh (${INJECT}: disabled); allow-list it in allowedOptOuts if it must.`,
                    resource.urn,
                );
            }
        }
    },
};

export const chartsPinned: ResourcePolicy = {
    name: "charts-pinned",
    description:
        "The Linkerd (control plane, CRDs, viz, CNI plugin) and cert-manager charts are pinned to exact versions.",
    validateResource: (args, reportViolation) => {
        if (!CHART_TYPES.includes(args.type) || !PINNED_CHARTS.includes(args.props.chart)) return;
        const version = args.props.version;
        if (typeof version !== "string" || !/^v?[0-9]+\.[0-9]+\.[0-9]+$/.test(version)) {
            reportViolation(
                `Chart ${args.props.chart} must be pinned to an exact version, not ${JSON.stringify(version)}.`,
            );
        }
    },
};

export const identityIssuerP256: ResourcePolicy = {
    name: "identity-issuer-p256",
    description:
        "The identity issuer is ECDSA P-256 (Linkerd rejects anything else) and lives within the bounds the config allows " +
        `(lib/issuerLifetimes.ts): ${ISSUER_LIFETIME_HOURS.certManager.min}–${ISSUER_LIFETIME_HOURS.certManager.max} h from cert-manager, ` +
        `${ISSUER_LIFETIME_HOURS.static.min}–${ISSUER_LIFETIME_HOURS.static.max} h static.`,
    validateResource: (args, reportViolation) => {
        if (args.type === "kubernetes:cert-manager.io/v1:Certificate" && args.props.metadata?.name === ISSUER) {
            const spec = args.props.spec ?? {};
            if (spec.privateKey?.algorithm !== "ECDSA" || spec.privateKey?.size !== 256) {
                reportViolation(`${ISSUER} must use an ECDSA P-256 key, not ${JSON.stringify(spec.privateKey)}.`);
            }
            if (spec.isCA !== true) reportViolation(`${ISSUER} must be a CA (isCA: true).`);
            const hours = durationHours(spec.duration ?? "2160h"); // cert-manager's default is 90 days
            const problem = issuerLifetimeProblem("certManager", hours);
            if (problem)
                reportViolation(
                    `${ISSUER}'s duration ${spec.duration ?? "(cert-manager's default 2160h)"} ${problem}.`,
                );
        }
        if (
            args.type === "tls:index/locallySignedCert:LocallySignedCert" &&
            args.name.endsWith(`${PROGRAM_RESOURCES.identityIssuer}-${PROGRAM_RESOURCES.issuerCert}`)
        ) {
            const problem = issuerLifetimeProblem("static", args.props.validityPeriodHours);
            if (problem)
                reportViolation(
                    `The static identity issuer's validityPeriodHours ${args.props.validityPeriodHours} ${problem}.`,
                );
        }
        if (
            args.type === "tls:index/privateKey:PrivateKey" &&
            args.name.endsWith(`${PROGRAM_RESOURCES.identityIssuer}-${PROGRAM_RESOURCES.issuerKey}`)
        ) {
            if (args.props.algorithm !== "ECDSA" || args.props.ecdsaCurve !== "P256") {
                reportViolation(
                    `The identity issuer key must be ECDSA P256, not ${args.props.algorithm} ${args.props.ecdsaCurve ?? ""}.`,
                );
            }
        }
    },
};

export const noClusterCaIssuer: ResourcePolicy = {
    name: "no-cluster-ca-issuer",
    description:
        "No CA ClusterIssuer, and the identity issuer comes from a namespaced Issuer: cert-manager's chart auto-approves requests to any " +
        "ClusterIssuer, from any namespace editor, and its CA issuer signs the CA certificates they ask for.",
    validateResource: (args, reportViolation) => {
        if (args.type === "kubernetes:cert-manager.io/v1:ClusterIssuer" && args.props.spec?.ca) {
            reportViolation(
                `ClusterIssuer ${args.props.metadata?.name} is a CA: every namespace editor could have it sign a CA certificate.`,
            );
        }
        if (args.type === "kubernetes:cert-manager.io/v1:Certificate" && args.props.metadata?.name === ISSUER) {
            const kind = args.props.spec?.issuerRef?.kind ?? "Issuer";
            if (kind !== "Issuer") reportViolation(`${ISSUER} must come from a namespaced Issuer, not a ${kind}.`);
        }
    },
};

/** Whether an ingress rule admits TCP traffic to `port`. */
function admits(rule: any, port: number): boolean {
    const ports: any[] | undefined = rule.ports;
    if (!ports || ports.length === 0) return true;
    return ports.some(
        (p) =>
            (p.protocol ?? "TCP") === "TCP" &&
            (p.port === undefined ||
                p.port === port ||
                (p.endPort !== undefined && p.port <= port && port <= p.endPort)),
    );
}

/**
 * With `proxy.outboundTransportMode: transparent` (the program's), meshed traffic keeps its port on
 * the wire except to an opaque port, which travels to the peer's proxy port 4143 (linkerd2 edge-26.8.3
 * controller/api/destination/endpoint_translator.go). A namespace whose NetworkPolicies admit one of
 * Linkerd's default opaque ports but nothing on 4143 would drop every meshed call to it.
 */
export const networkPoliciesAllowProxy: StackPolicy = {
    name: "networkpolicies-allow-proxy",
    description:
        "In a meshed namespace whose NetworkPolicies admit one of Linkerd's opaque ports, one of them admits the proxy's inbound port 4143 too.",
    configSchema,
    validateStack: (args, reportViolation) => {
        const policies = args.resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy");
        for (const namespace of meshedNamespaces(args.resources, args.getConfig<MeshPolicyConfig>())) {
            const ingress = policies.filter(
                (p) =>
                    p.props.metadata?.namespace === namespace &&
                    (p.props.spec?.policyTypes ?? ["Ingress"]).includes("Ingress"),
            );
            const rules: any[] = ingress.flatMap((p) => p.props.spec?.ingress ?? []);
            const opaque = LINKERD_DEFAULT_OPAQUE_PORTS.filter((port) => rules.some((rule) => admits(rule, port)));
            if (opaque.length === 0) continue;
            if (!rules.some((rule) => admits(rule, PROXY_INBOUND_PORT))) {
                reportViolation(
                    `NetworkPolicies in meshed namespace ${namespace} admit opaque port(s) ${opaque.join(", ")} but nothing on port ${PROXY_INBOUND_PORT}, ` +
                        "where meshed clients' opaque traffic arrives: every meshed call to them would be dropped.",
                );
            }
        }
    },
};

/** The types of a URN's parents and its own, outermost first (`urn:pulumi:<stack>::<project>::<parent>$…$<type>::<name>`). */
function typeChain(urn: string): string[] {
    return urn.split("::")[2]?.split("$") ?? [];
}

const TRUST_ANCHOR = "akko:mtls:TrustAnchor";
const SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert";
const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";
/** The program's webhook CAs (components/webhookCertificates.ts): the API server trusts them for webhooks; no proxy does. */
const WEBHOOK_CERTIFICATES = "akko:mtls:WebhookCertificates";

/**
 * A fleet's anchor key exists only in its trust stack (issue 21, docs/admin/fleet.md): a stack that
 * is a fleet member (`akko:mtls:FleetMember`, whose inputs say whether it is still joining) holds
 * no trust anchor, no self-signed CA certificate beside the webhook CAs, and no private key that
 * signs one. A joining stack keeps its own anchor until the join's phase 3 unprotects it and the
 * finishing run removes it.
 */
export const noAnchorKeyInFleetMember: StackPolicy = {
    name: "no-anchor-key-in-fleet-member",
    description:
        "A fleet member holds no trust anchor and no key that signs a self-signed CA: the fleet's anchors live only in its trust stack.",
    validateStack: (args, reportViolation) => {
        const member = args.resources.find((r) => r.type === "akko:mtls:FleetMember");
        if (!member || member.props.joining === true) return;
        const where = `this stack is a member of the fleet of ${String(member.props.fleetStack)}: the fleet's anchors and their keys live only in its trust stack`;
        const keys = new Map<string, string>();
        for (const resource of args.resources) {
            const chain = typeChain(resource.urn);
            if (resource.type === TRUST_ANCHOR) {
                reportViolation(`trust anchor ${resource.name}: ${where} (docs/admin/fleet.md)`);
            } else if (resource.type === PRIVATE_KEY && chain.includes(TRUST_ANCHOR)) {
                keys.set(resource.urn, resource.name);
            } else if (
                resource.type === SELF_SIGNED_CERT &&
                resource.props.isCaCertificate === true &&
                !chain.includes(WEBHOOK_CERTIFICATES)
            ) {
                reportViolation(`self-signed CA ${resource.name}: ${where}`);
                const signers = [
                    ...resource.dependencies,
                    ...(resource.propertyDependencies.privateKeyPem ?? []),
                ].filter((d) => d.type === PRIVATE_KEY);
                for (const key of signers) keys.set(key.urn, key.name);
            }
        }
        for (const name of keys.values()) reportViolation(`private key ${name} signs a trust anchor: ${where}`);
    },
};

export const policies: Policy[] = [
    meshedNamespacesInjected,
    noInjectionOptOut,
    chartsPinned,
    identityIssuerP256,
    noClusterCaIssuer,
    networkPoliciesAllowProxy,
    noAnchorKeyInFleetMember,
];
