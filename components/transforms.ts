/**
 * Resource transforms for the objects a chart or a YAML group renders. Options set on a
 * `helm.v4.Chart` do not reach its children (`retainOnDelete`: pulumi-kubernetes #3065, closed
 * won't-fix), transforms do (pulumi >= 3.113, #15846): these are how the program sets options
 * and annotations on rendered objects.
 */
import * as pulumi from "@pulumi/pulumi";

const CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition";

/**
 * Keeps CustomResourceDefinitions in the cluster when Pulumi deletes them: deleting a CRD
 * deletes every object of its kind cluster-wide (every Linkerd policy, every Certificate).
 */
export const retainCustomResourceDefinitions: pulumi.ResourceTransform = (args) =>
    args.type === CRD_TYPE
        ? { props: args.props, opts: pulumi.mergeOptions(args.opts, { retainOnDelete: true }) }
        : undefined;

/**
 * For objects this program owns and keeps on delete (Linkerd's CRDs; the cert-manager it
 * installed): retained, and adopted again by a later `pulumi up` whatever changed meanwhile.
 *
 * A re-created object is an upsert (provider `upsertExistingObjects`), i.e. a server-side apply
 * under a new field manager; the fields the previous Pulumi resource wrote belong to another
 * manager, so any changed value (a newer CRD schema, a new image) would be a conflict
 * (pulumi-kubernetes provider/pkg/await/await.go: `fixCSAFieldManagers` runs on updates only,
 * never on create). `pulumi.com/patchForce` takes them over. It is set on these objects only,
 * never provider-wide (`enablePatchForce`): objects another owner holds, such as the Gateway API
 * CRDs k3s installs, must stay theirs.
 */
/**
 * The annotation that makes the provider's server-side apply of this one object take over the
 * fields it sets from any other field manager instead of failing on a conflict (pulumi-kubernetes
 * provider/pkg/await/await.go `patchForce`: the annotation, else the provider's `enablePatchForce`;
 * in a preview every create is forced, so a conflict never shows before `pulumi up`).
 */
export const PATCH_FORCE = { "pulumi.com/patchForce": "true" } as const;

export const retainAndReadopt: pulumi.ResourceTransform = (args) => {
    if (!args.custom || !args.type.startsWith("kubernetes:")) return undefined;
    const metadata = (args.props.metadata ?? {}) as { annotations?: Record<string, string> };
    return {
        props: {
            ...args.props,
            metadata: { ...metadata, annotations: { ...(metadata.annotations ?? {}), ...PATCH_FORCE } },
        },
        opts: pulumi.mergeOptions(args.opts, { retainOnDelete: true }),
    };
};

/** The caBundle path a webhook configuration or an APIService is ready at. */
const CA_BUNDLE_PATHS: Record<string, string> = {
    "kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration": "{.webhooks[0].clientConfig.caBundle}",
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration": "{.webhooks[0].clientConfig.caBundle}",
    "kubernetes:apiregistration.k8s.io/v1:APIService": "{.spec.caBundle}",
};

/**
 * Makes Pulumi wait until a webhook configuration or APIService has its CA bundle, so nothing the
 * webhook validates or mutates is created before the API server can call it. With cert-manager the
 * bundle arrives later, from cainjector (`cert-manager.io/inject-ca-from`); these kinds have no
 * awaiter of their own and would otherwise be ready at once (pulumi-kubernetes
 * provider/pkg/metadata/overrides.go `ReadyCondition`: `pulumi.com/waitFor` works on any kind).
 * With a static bundle in the values the condition holds immediately.
 */
export const awaitCaBundle: pulumi.ResourceTransform = (args) => {
    const path = CA_BUNDLE_PATHS[args.type];
    if (!path) return undefined;
    const metadata = (args.props.metadata ?? {}) as { annotations?: Record<string, string> };
    return {
        props: {
            ...args.props,
            metadata: {
                ...metadata,
                annotations: { ...(metadata.annotations ?? {}), "pulumi.com/waitFor": `jsonpath=${path}` },
            },
        },
        opts: args.opts,
    };
};
