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
