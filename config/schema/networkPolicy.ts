/**
 * NetworkPolicy parts as config: a label selector, a peer and a rule the mesh mirrors onto the
 * proxy port. The shapes are Kubernetes' (k8s.io/api networking/v1 and meta/v1 LabelSelector), so
 * that a rule of a namespace's own NetworkPolicies can be copied as it is, and compared with it.
 */
import { z } from "zod";
import { cidrs, labels, labelValue, portNumber } from "./primitives";

/** A LabelSelectorRequirement (apimachinery meta/v1). */
const selectorRequirement = z
    .strictObject({
        key: z.string().min(1).describe("The label key."),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]).describe("How the key relates to the values."),
        values: z
            .array(labelValue)
            .optional()
            .describe("Values for In and NotIn (at least one); none for Exists and DoesNotExist."),
    })
    .superRefine((requirement, ctx) => {
        const needsValues = requirement.operator === "In" || requirement.operator === "NotIn";
        const count = requirement.values?.length ?? 0;
        if (needsValues && count === 0)
            ctx.addIssue({
                code: "custom",
                path: ["values"],
                message: `${requirement.operator} needs at least one value`,
            });
        if (!needsValues && count > 0)
            ctx.addIssue({ code: "custom", path: ["values"], message: `${requirement.operator} takes no values` });
    });

/** A Kubernetes label selector: matchLabels AND matchExpressions; `{}` selects everything. */
export const labelSelector = z.strictObject({
    matchLabels: labels.optional().describe("Labels that must all match."),
    matchExpressions: z.array(selectorRequirement).optional().describe("Requirements that must all hold."),
});

/** A NetworkPolicyPeer: pods and/or namespaces by label, or an IP block. */
export const networkPolicyPeer = z
    .strictObject({
        podSelector: labelSelector
            .optional()
            .describe("Pods (in the policy's namespace unless namespaceSelector is set)."),
        namespaceSelector: labelSelector
            .optional()
            .describe("Namespaces (every pod in them unless podSelector is set)."),
        ipBlock: z
            .strictObject({
                cidr: cidrs.element.describe("The block."),
                except: cidrs.optional().describe("Blocks left out."),
            })
            .optional()
            .describe("Addresses, alone."),
    })
    .superRefine((peer, ctx) => {
        if (peer.ipBlock && (peer.podSelector || peer.namespaceSelector)) {
            ctx.addIssue({
                code: "custom",
                message: "an ipBlock stands alone: no podSelector or namespaceSelector beside it (as in Kubernetes)",
            });
        }
        if (!peer.ipBlock && !peer.podSelector && !peer.namespaceSelector) {
            ctx.addIssue({ code: "custom", message: "needs a podSelector, a namespaceSelector or an ipBlock" });
        }
    });

/** An opaque port of a mirrored rule: a number, or a container port name (which may resolve to one). */
const mirroredPort = z.union([
    portNumber,
    z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
        .max(15),
]);

const mirrorBase = {
    podSelector: labelSelector.describe(
        "The rule's policy's podSelector: the pods that serve (ingress) or call (egress).",
    ),
    ports: z
        .array(mirroredPort)
        .min(1)
        .optional()
        .describe(
            "The opaque ports (or port names) the rule admits; omitted when it admits every port. Documents the entry: the mirror opens 4143.",
        ),
};

/** A rule of the namespace's own ingress policies that admits an opaque port, mirrored onto 4143. */
export const opaqueIngressRule = z.strictObject({
    ...mirrorBase,
    from: z
        .array(networkPolicyPeer)
        .min(1)
        .optional()
        .describe("The rule's `from` peers; omitted when it admits any source."),
});

/** A rule of the namespace's own egress policies that admits an opaque port, mirrored onto 4143. */
export const opaqueEgressRule = z.strictObject({
    ...mirrorBase,
    to: z
        .array(networkPolicyPeer)
        .min(1)
        .optional()
        .describe("The rule's `to` peers; omitted when it admits any destination."),
});

export type LabelSelector = z.output<typeof labelSelector>;
export type NetworkPolicyPeer = z.output<typeof networkPolicyPeer>;
export type OpaqueIngressRule = z.output<typeof opaqueIngressRule>;
export type OpaqueEgressRule = z.output<typeof opaqueEgressRule>;
