/**
 * The shared shape of the objects the program registers itself (not through a chart): their labels,
 * and the two kinds several components register, NetworkPolicies and Namespaces. One home, as
 * Linkerd's charts keep their common metadata in one partial (linkerd2 edge-26.8.3
 * charts/partials/templates/_metadata.tpl). Pure data: the components register them.
 *
 * Every object carries {@link PART_OF}. A NetworkPolicy or a Namespace carries it and nothing else
 * of the program's, beside the labels that have a function (Pod Security, Linkerd's own): the
 * network preflight tells the mesh's own policies from the namespace's by it (cluster/mesh-check.mjs
 * `isMeshPolicy`), and no selector of the program selects a Namespace or a NetworkPolicy by a label
 * of the program (namespaces are selected by `kubernetes.io/metadata.name`, lib/networkPolicies.ts).
 */
import { LINKERD_POLICY_API, type LinkerdPolicyKind } from "./registry";

type Labels = Readonly<Record<string, string>>;

/**
 * The label naming what an object is part of (Kubernetes' recommended labels), and what every object
 * the program registers is part of. The maintenance script tells the mesh's own NetworkPolicies from a
 * namespace's by them (cluster/contract.json `partOf`); test/scriptContract.test.ts holds both equal.
 * Written here, not read from the contract: the policy pack loads lib/ and policy/ only (test/layout.test.ts).
 */
export const PART_OF_LABEL = "app.kubernetes.io/part-of";
export const PART_OF = "akko-mtls";
/**
 * Names of the program's own by which the policy pack (policy/policies.ts) recognizes its resources:
 * the mesh component's type token, its input listing the meshed namespaces, and the static identity
 * issuer's resources (`<mesh>-identity-issuer`, its key `…-key` and certificate `…-cert`).
 */
export const PROGRAM_RESOURCES = {
    meshType: "akko:mtls:MtlsMesh",
    meshedNamespacesInput: "meshedNamespaces",
    identityIssuer: "identity-issuer",
    issuerKey: "key",
    issuerCert: "cert",
} as const;

/** The recommended label naming the application an object belongs to. */
export const NAME_LABEL = "app.kubernetes.io/name";

/**
 * An object's labels: {@link PART_OF}, then the application's name (`app.kubernetes.io/name`) when it
 * has one, then its own.
 */
export function objectLabels<V = string>(
    args: { appName?: string; labels?: Readonly<Record<string, V>> } = {},
): Record<string, string | V> {
    return { ...(args.appName ? { [NAME_LABEL]: args.appName } : {}), [PART_OF_LABEL]: PART_OF, ...args.labels };
}

/** The metadata of an object in a namespace; `N` is the namespace's type (a name, or a Pulumi input of one). */
export interface ObjectMetadata<N> {
    name: string;
    namespace: N;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
}

/** The metadata of a namespaced object the program registers: its name, its namespace, its labels ({@link objectLabels}). */
export function objectMetadata<N>(args: {
    name: string;
    namespace: N;
    appName?: string;
    labels?: Labels;
    annotations?: Labels;
}): ObjectMetadata<N> {
    return {
        name: args.name,
        namespace: args.namespace,
        labels: objectLabels(args),
        ...(args.annotations ? { annotations: { ...args.annotations } } : {}),
    };
}

/** A NetworkPolicy object of lib/networkPolicies.ts (its name and spec), in its namespace (the name, or the Namespace resource's). */
export function networkPolicyObject<N, S>(
    policy: { name: string; spec: S },
    namespace: N,
): { metadata: ObjectMetadata<N>; spec: S } {
    return { metadata: objectMetadata({ name: policy.name, namespace }), spec: policy.spec };
}

/** A Linkerd policy object (Server, AuthorizationPolicy, an authentication) in a namespace, with the program's labels. */
export function linkerdPolicyObject<N, S>(args: { kind: LinkerdPolicyKind; name: string; namespace: N; spec: S }) {
    return {
        apiVersion: LINKERD_POLICY_API[args.kind],
        kind: args.kind,
        metadata: objectMetadata({ name: args.name, namespace: args.namespace }),
        spec: args.spec,
    };
}

/** A Namespace object's metadata. */
export interface NamespaceObject {
    metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
}

/**
 * A Namespace the program creates: {@link PART_OF}, and its functional labels (Pod Security, Linkerd's)
 * and annotations. `annotations` is written as given when given (`{}` included), omitted otherwise.
 */
export function namespaceObject(args: { name: string; labels?: Labels; annotations?: Labels }): NamespaceObject {
    return {
        metadata: {
            name: args.name,
            labels: objectLabels({ labels: args.labels }),
            ...(args.annotations ? { annotations: { ...args.annotations } } : {}),
        },
    };
}
