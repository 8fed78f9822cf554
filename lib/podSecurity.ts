/**
 * Whether a namespace's Pod Security level admits injected pods.
 *
 * Pod Security admission checks pods after mutation, so what the injector adds must pass too
 * (Kubernetes Pod Security Standards):
 * - without the CNI plugin, each pod gets the `linkerd-init` container, which adds NET_ADMIN and
 *   NET_RAW (linkerd2 charts/partials/templates/_proxy-init.tpl:60-63): `baseline` allows neither,
 *   so only `privileged` admits it. A rejected pod never starts; a StatefulSet replica lost on
 *   restart does not come back.
 * - with the CNI plugin, `linkerd-network-validator` drops ALL (_network-validator.tpl) and the
 *   program gives the proxy a security context that drops ALL (components/linkerdControlPlane.ts):
 *   `baseline` and `restricted` admit them, provided the application's own containers comply.
 * An unlabelled namespace gets the cluster's default level, `privileged` unless an admission
 * configuration says otherwise.
 */
import * as pulumi from "@pulumi/pulumi";

export const ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/** The problem with meshing `namespace`, or undefined when injected pods are admitted. */
export function podSecurityProblem(namespace: string, labels: Record<string, string> | undefined, cniEnabled: boolean): string | undefined {
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
        const problem = target.inject ? podSecurityProblem(target.namespace, labelsOf(target.namespace), cniEnabled) : undefined;
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
