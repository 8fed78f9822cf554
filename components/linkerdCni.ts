import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NetworkPolicySpec } from "../lib/networkPolicies";
import type { MeshConfig } from "../config";
import { CHARTS } from "../lib/registry";
import type { ResourceValues } from "./linkerdControlPlane";
import { namespaceObject, networkPolicyObject } from "../lib/objects";

export interface LinkerdCniArgs {
    /** Namespace of the plugin's DaemonSet (created here). */
    namespace: string;
    /** Exact chart version, the control plane's. */
    chartVersion: pulumi.Input<MeshConfig["linkerd"]["chartVersion"]>;
    /** Helm repository. */
    repository: pulumi.Input<MeshConfig["linkerd"]["repository"]>;
    /** Where the node's CNI configuration is. */
    netDir: MeshConfig["linkerd"]["cni"]["netDir"];
    /** Where the node's CNI plugins are. */
    binDir: MeshConfig["linkerd"]["cni"]["binDir"];
    /** iptables variant the plugin uses (the same as proxy-init's would be). */
    iptablesMode: MeshConfig["linkerd"]["proxyInit"]["iptablesMode"];
    /** Requests and limits of the install-cni container. */
    resources?: ResourceValues;
    /** Its NetworkPolicy on a default-deny-everywhere platform (lib/networkPolicies.ts); omit for none. */
    networkPolicy?: NetworkPolicySpec;
}

/**
 * Linkerd's CNI plugin (chart linkerd2-cni): a DaemonSet that writes each meshed pod's traffic
 * redirection when the pod's network is set up, so injected pods need no `linkerd-init` container
 * with NET_ADMIN and NET_RAW, and namespaces that enforce Pod Security `baseline` or `restricted`
 * admit them. Linkerd's docs install it before the control plane (features/cni.md), which then
 * runs with `cniEnabled: true` (a `linkerd-network-validator` init container checks the plugin).
 *
 * Its own pods write to the node (hostPath), hence a `privileged` namespace, labelled as the
 * chart's CLI render does (charts/linkerd2-cni/templates/cni-plugin.yaml:20-30; `helm template`
 * renders no Namespace).
 */
export class LinkerdCni extends pulumi.ComponentResource {
    /** The chart. */
    public readonly chart: k8s.helm.v4.Chart;

    constructor(name: string, args: LinkerdCniArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:LinkerdCni", name, {}, opts);

        const namespace = new k8s.core.v1.Namespace(
            `${name}-namespace`,
            namespaceObject({
                name: args.namespace,
                labels: {
                    "linkerd.io/cni-resource": "true",
                    "config.linkerd.io/admission-webhooks": "disabled",
                    "pod-security.kubernetes.io/enforce": "privileged",
                },
            }),
            { parent: this },
        );
        this.chart = new k8s.helm.v4.Chart(
            `${name}-chart`,
            {
                name: "linkerd2-cni",
                chart: CHARTS.linkerdCni.chart,
                version: args.chartVersion,
                repositoryOpts: { repo: args.repository },
                namespace: namespace.metadata.name,
                values: {
                    destCNINetDir: args.netDir,
                    destCNIBinDir: args.binDir,
                    iptablesMode: args.iptablesMode,
                    // charts/linkerd2-cni/values.yaml `resources`: Linkerd's {cpu: {request, limit}} shape.
                    ...(args.resources ? { resources: args.resources } : {}),
                },
            },
            { parent: this, dependsOn: [namespace] },
        );
        if (args.networkPolicy) {
            new k8s.networking.v1.NetworkPolicy(
                `${name}-network-policy`,
                networkPolicyObject(args.networkPolicy, namespace.metadata.name),
                { parent: this },
            );
        }
        this.registerOutputs({ chart: this.chart });
    }
}
