import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { EgressPlan } from "../lib/egress";
import { EGRESS_BYPASS_POLICY, egressBypassPolicy } from "../lib/egressBypass";
import { networkPolicyObject, objectLabels } from "../lib/objects";

export interface EgressControlArgs {
    /** What each meshed namespace gets (lib/egress.ts `planEgress`); namespaces whose mode is off are not in it. */
    plan: EgressPlan;
    /**
     * What every object waits for: the control plane, whose policy validator admits EgressNetworks and
     * routes (it covers `egressnetworks`, `httproutes`, `tlsroutes`) and whose destination controller
     * must have started with the TLSRoute CRD present.
     * @default []
     */
    waitFor?: pulumi.Input<pulumi.Resource>[];
    /**
     * Whether Linkerd's CNI plugin sets up the pods' redirection: then no container of an enforced
     * namespace may hold NET_ADMIN, linkerd-init included (lib/egressBypass.ts).
     * @default false
     */
    cniEnabled?: boolean;
}

/**
 * Egress control of the meshed namespaces (docs/admin/egress.md): per namespace an EgressNetwork
 * (Allow in audit, Deny in enforce), in enforce the routes of `allowedHosts`, the Allow network of
 * `allowedNetworks` and, given networks, a NetworkPolicy that keeps everything else (UDP, a spoofed
 * SNI to another address, a bypassed proxy) inside the cluster.
 *
 * Order: the allowances come first, the namespace's EgressNetwork after them, so that turning
 * enforce on never denies, even for a moment, what the allow-list admits. The policy controller
 * reads them all dynamically; only the TLSRoute CRD must predate the destination controller
 * (components/gatewayApi.ts `tlsRoutes`).
 */
export class EgressControl extends pulumi.ComponentResource {
    /** Every object registered, for the rollout to wait on. */
    public readonly ready: pulumi.Resource[];
    /** The namespaces whose egress is enforced. */
    public readonly enforcedNamespaces: string[];
    /** The namespaces whose egress is audited. */
    public readonly auditedNamespaces: string[];

    constructor(name: string, args: EgressControlArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:EgressControl", name, { audited: args.plan.audited, enforced: args.plan.enforced }, opts);
        this.enforcedNamespaces = args.plan.enforced;
        this.auditedNamespaces = args.plan.audited;
        this.ready = [];
        const waitFor = args.waitFor ?? [];
        for (const namespace of args.plan.namespaces) {
            const prefix = `${name}-${namespace.namespace}`;
            const allowances = namespace.allowances.map(
                (object) =>
                    new k8s.apiextensions.CustomResource(`${prefix}-${object.metadata.name}`, object, {
                        parent: this,
                        dependsOn: waitFor,
                    }),
            );
            const network = new k8s.apiextensions.CustomResource(
                `${prefix}-${namespace.network.metadata.name}`,
                namespace.network,
                {
                    parent: this,
                    dependsOn: [...waitFor, ...allowances],
                },
            );
            this.ready.push(...allowances, network);
            if (namespace.networkPolicy) {
                this.ready.push(
                    new k8s.networking.v1.NetworkPolicy(
                        `${prefix}-${namespace.networkPolicy.name}`,
                        networkPolicyObject(namespace.networkPolicy, namespace.namespace),
                        { parent: this, dependsOn: [...waitFor, network] },
                    ),
                );
            }
        }
        if (args.plan.enforced.length > 0) this.ready.push(...this.noBypass(name, args));
        this.registerOutputs({
            enforcedNamespaces: this.enforcedNamespaces,
            auditedNamespaces: this.auditedNamespaces,
        });
    }

    /** The admission policy that keeps enforced namespaces' pods from going around their proxy, and its binding. */
    private noBypass(name: string, args: EgressControlArgs): pulumi.Resource[] {
        const metadata = { name: EGRESS_BYPASS_POLICY, labels: objectLabels() };
        const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            `${name}-no-bypass`,
            {
                metadata,
                spec: egressBypassPolicy({ namespaces: args.plan.enforced, cniEnabled: args.cniEnabled ?? false }),
            },
            { parent: this },
        );
        const binding = new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            `${name}-no-bypass`,
            { metadata, spec: { policyName: policy.metadata.name, validationActions: ["Deny"] } },
            { parent: this },
        );
        return [policy, binding];
    }
}
