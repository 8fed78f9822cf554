/**
 * Whether the namespaces the mesh injects admit injected pods, read two ways.
 *
 * Pod Security admission checks pods after mutation, so what the injector adds must pass too
 * (Kubernetes Pod Security Standards):
 * - without the CNI plugin, each pod gets the `linkerd-init` container, which adds NET_ADMIN and
 *   NET_RAW (linkerd2 charts/partials/templates/_proxy-init.tpl:60-63): `baseline` allows neither,
 *   so only `privileged` admits it. A rejected pod never starts; a StatefulSet replica lost on
 *   restart does not come back.
 * - with the CNI plugin, `linkerd-network-validator` drops ALL (_network-validator.tpl) and the
 *   program gives the proxy a security context that drops ALL ({@link PROXY_SECURITY_CONTEXT}):
 *   `baseline` and `restricted` admit them, provided the application's own containers comply.
 *
 * Where the level comes from (k8s.io/pod-security-admission v0.36.2 api/helpers.go
 * `PolicyToEvaluate`, admission/admission.go `ValidatePod`): each `pod-security.kubernetes.io/*`
 * label of the namespace overrides the API server's AdmissionConfiguration `defaults`, and a
 * namespace (or user, or runtime class) listed in its `exemptions` is never checked. An unlabelled
 * namespace thus gets the cluster's default, which no namespace label shows: the k3s CIS hardening
 * guide sets `enforce: restricted` there and exempts kube-system (docs.k3s.io/security/hardening-guide,
 * "Pod Security"). Hence two checks:
 * - {@link admissionRefusals}, from the labels, before anything is built (components/namespaceAdmission.ts):
 *   right whenever a label decides;
 * - a server-side dry run of {@link injectedPodProbe} in each namespace by a Job (cluster/mesh-check.mjs,
 *   task pod-security), before any namespace asks for proxies: what the API server itself decides,
 *   defaults and exemptions included.
 */
import * as pulumi from "@pulumi/pulumi";
import { objectLabels } from "./objects";

export const ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/** The problem with meshing `namespace`, or undefined when injected pods are admitted. */
export function podSecurityProblem(
    namespace: string,
    labels: Record<string, string> | undefined,
    cniEnabled: boolean,
): string | undefined {
    const level = labels?.[ENFORCE_LABEL];
    if (level === undefined || level === "privileged" || cniEnabled) return undefined;
    return (
        `namespace ${namespace} enforces Pod Security "${level}", which rejects the linkerd-init container every injected pod ` +
        `gets (it adds NET_ADMIN and NET_RAW): its pods would never start. Fix: enable Linkerd's CNI plugin ` +
        `(\`pulumi config set --path linkerd.cni.enabled true\`, which needs no capability in the pods), or take ${namespace} out ` +
        `of the mesh. Relabelling it privileged also works but weakens it.`
    );
}

/** A namespace the mesh is about to patch, with the config key that put it there. */
export interface AdmissionTarget {
    namespace: string;
    /** The config key, in the CLI's notation, e.g. `akko-mtls:mtls.namespaces[1]`. */
    key: string;
    /** Whether this run asks for proxies there (a namespace being drained is never refused). */
    inject: boolean;
}

/** One namespace that would refuse injected pods: the key that put it in the mesh, and why. */
export interface AdmissionRefusal {
    key: string;
    namespace: string;
    message: string;
}

/** The namespaces among `targets` whose Pod Security level refuses injected pods, given each one's labels. */
export function admissionRefusals(
    targets: readonly AdmissionTarget[],
    labelsOf: (namespace: string) => Record<string, string> | undefined,
    cniEnabled: boolean,
): AdmissionRefusal[] {
    return targets.flatMap((target) => {
        const problem = target.inject
            ? podSecurityProblem(target.namespace, labelsOf(target.namespace), cniEnabled)
            : undefined;
        return problem ? [{ key: target.key, namespace: target.namespace, message: problem }] : [];
    });
}

/**
 * Meshing refused before any object is built: one line per namespace, naming the config key and
 * the namespace. A `pulumi.RunError`, printed by `pulumi up` as its message alone.
 */
export class PodSecurityRefusal extends pulumi.RunError {
    constructor(readonly refusals: readonly AdmissionRefusal[]) {
        super(refusals.map((r) => `${r.key}: ${r.message}`).join("\n"));
        this.name = "PodSecurityRefusal";
    }
}

/**
 * The proxy's security context, the chart value `proxy.securityContext` (components/linkerdControlPlane.ts).
 * The proxy needs no capability (it binds ports above 1024). Dropping them all is what Pod Security
 * `restricted` requires; without it the proxy copies the application's first container's
 * (linkerd2 edge-26.8.3 pkg/inject/inject.go injectPodSpec). Replaces the chart's block
 * (charts/partials/templates/_proxy.tpl), hence restated in full.
 */
export const PROXY_SECURITY_CONTEXT = {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: 2102,
    seccompProfile: { type: "RuntimeDefault" },
} as const;

/** The pod the Pod Security check submits as a dry run, and the account that submits it. */
export const POD_SECURITY_CHECK = { pod: "linkerd-pod-security-check", account: "linkerd-mesh-pod-security" } as const;

/** Linkerd's proxy image (charts/linkerd-control-plane values.yaml `proxy.image.name`; its tag the release, `linkerdVersion`). */
export const proxyImage = (edge: string) => `cr.l5d.io/linkerd/proxy:${edge}`;

/** Requests and limits as the chart's values hold them (`{cpu: {request, limit}, memory: {...}}`). */
export interface ProxyResources {
    cpu: { request?: string; limit?: string };
    memory: { request?: string; limit?: string };
}

/** The chart's `partials.resources` of the proxy's resources: what every container the injector adds gets. */
function containerResources(r: ProxyResources | undefined): {
    limits?: Record<string, string>;
    requests?: Record<string, string>;
} {
    const pick = (field: "request" | "limit") =>
        Object.fromEntries(
            (["cpu", "memory"] as const).flatMap((name) => (r?.[name]?.[field] ? [[name, r[name][field]]] : [])),
        ) as Record<string, string>;
    const [limits, requests] = [pick("limit"), pick("request")];
    return {
        ...(Object.keys(limits).length > 0 ? { limits } : {}),
        ...(Object.keys(requests).length > 0 ? { requests } : {}),
    };
}

export interface InjectedPodProbeArgs {
    /** Whether pods get `linkerd-network-validator` (CNI plugin) rather than `linkerd-init`. */
    cniEnabled: boolean;
    /** The edge release the control plane injects, e.g. `edge-26.8.3`. */
    edge: string;
    /** The application container's image: one the cluster already admits (the maintenance Jobs'). */
    appImage: string;
    /** `linkerd.proxy.resources`. */
    proxyResources?: ProxyResources;
}

/**
 * The pod the Pod Security check submits, as a server-side dry run, in each namespace about to be
 * injected: an application container that meets `restricted` by itself (so that every refusal is
 * the mesh's), plus exactly what Linkerd's injector adds to such a pod (linkerd2 edge-26.8.3
 * charts/patch/templates/patch.json, rendered with the control plane's values):
 * - `linkerd-init` (no CNI plugin), with the chart's security context for the program's values
 *   (partials/_proxy-init.tpl: NET_ADMIN and NET_RAW added, UID 65534) and the application's dropped
 *   capabilities copied in (pkg/inject/inject.go injectProxyInit: its first container's `drop`, less
 *   NET_ADMIN and NET_RAW), or `linkerd-network-validator` (CNI plugin, _network-validator.tpl);
 * - the proxy as a native sidecar (an init container with `restartPolicy: Always`), with
 *   {@link PROXY_SECURITY_CONTEXT};
 * - their volumes (emptyDir and projected, which `restricted` admits), their image and resources.
 * test/podSecurityCheck.test.ts compares these containers with the real chart's partials rendered
 * with the program's values.
 *
 * It is already "injected" and says `linkerd.io/inject: disabled`, so the injector, if running,
 * leaves it alone (a pod annotation wins over the namespace's); it has no owner, so the injector
 * records no event for it (controller/proxy-injector/webhook.go records on the parent only), and
 * every Linkerd webhook declares `sideEffects: None`, which a dry run requires of every webhook it
 * calls (k8s.io/apiserver v0.36.3 pkg/admission/plugin/webhook/mutating/dispatcher.go).
 */
export function injectedPodProbe(args: InjectedPodProbeArgs): Record<string, unknown> {
    const image = proxyImage(args.edge);
    const resources = containerResources(args.proxyResources);
    const dropAll = { drop: ["ALL"] };
    const app = {
        name: "app",
        image: args.appImage,
        securityContext: { allowPrivilegeEscalation: false, capabilities: dropAll, readOnlyRootFilesystem: true },
        resources,
    };
    const proxyInit = {
        name: "linkerd-init",
        image,
        resources,
        securityContext: {
            allowPrivilegeEscalation: false,
            // The application's `drop` copied (injectProxyInit); `add` is the chart's.
            capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] },
            privileged: false,
            readOnlyRootFilesystem: true,
            runAsGroup: 65534,
            runAsNonRoot: true,
            runAsUser: 65534,
            seccompProfile: { type: "RuntimeDefault" },
        },
    };
    const networkValidator = {
        name: "linkerd-network-validator",
        image,
        resources,
        // values.yaml networkValidator.securityContext, the chart's default.
        securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: dropAll,
            readOnlyRootFilesystem: true,
            runAsGroup: 65534,
            runAsNonRoot: true,
            runAsUser: 65534,
            seccompProfile: { type: "RuntimeDefault" },
        },
    };
    const proxy = {
        name: "linkerd-proxy",
        image,
        resources,
        restartPolicy: "Always",
        securityContext: PROXY_SECURITY_CONTEXT,
    };
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
            name: POD_SECURITY_CHECK.pod,
            labels: objectLabels({ appName: POD_SECURITY_CHECK.pod }),
            annotations: { "linkerd.io/inject": "disabled" },
        },
        spec: {
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: "RuntimeDefault" } },
            initContainers: [args.cniEnabled ? networkValidator : proxyInit, proxy],
            containers: [app],
            volumes: [
                ...(args.cniEnabled ? [] : [{ name: "linkerd-proxy-init-xtables-lock", emptyDir: {} }]),
                { name: "linkerd-identity-end-entity", emptyDir: { medium: "Memory" } },
                {
                    name: "linkerd-identity-token",
                    projected: {
                        sources: [
                            {
                                serviceAccountToken: {
                                    path: "linkerd-identity-token",
                                    expirationSeconds: 86400,
                                    audience: "identity.l5d.io",
                                },
                            },
                        ],
                    },
                },
            ],
        },
    };
}
