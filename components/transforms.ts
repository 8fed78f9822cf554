import * as pulumi from "@pulumi/pulumi";

const CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition";

/**
 * Keeps CustomResourceDefinitions in the cluster when Pulumi deletes them: deleting a CRD
 * deletes every object of its kind cluster-wide (every Linkerd policy, every Certificate).
 *
 * A resource transform, because `retainOnDelete` on a `helm.v4.Chart` is not passed on to
 * the objects it renders (pulumi-kubernetes#3065) while transforms reach them.
 */
export const retainCustomResourceDefinitions: pulumi.ResourceTransform = (args) =>
    args.type === CRD_TYPE ? { props: args.props, opts: pulumi.mergeOptions(args.opts, { retainOnDelete: true }) } : undefined;
