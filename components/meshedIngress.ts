import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MeshConfig } from "../config";
import deepmerge from "deepmerge";
import YAML from "yaml";
import type { IngressPlan } from "../lib/meshLifecycle";
import { PATCH_FORCE } from "./transforms";
import { inboundPolicy } from "../lib/meshPlan";
import { objectLabels } from "../lib/objects";
import { LINKERD_ANNOTATIONS } from "../lib/registry";

export interface MeshedIngressArgs {
    /** Which controller, meshed or being drained (lib/meshLifecycle.ts). */
    plan: IngressPlan;
    /**
     * The controller's namespace as read before the mesh built anything (components/namespaceAdmission.ts,
     * which also checked that it admits injected pods): what the objects wait for.
     */
    existing: k8s.core.v1.Namespace;
    /** What the injection waits for: the control plane. */
    waitFor?: pulumi.Input<pulumi.Resource>[];
    /**
     * `k3s-traefik`: the operator's own Traefik values, carried by the program's HelmChartConfig
     * (k3s reads one per chart). The mesh's pod annotations win. A secret keeps the rendered values secret.
     * @default {}
     */
    k3sTraefikValues?: pulumi.Input<MeshConfig["mtls"]["ingress"]["k3sTraefikValues"]>;
}

/**
 * The `valuesContent` of k3s' Traefik HelmChartConfig: the operator's values with the mesh's pod
 * annotations merged in (traefik-helm-chart values.yaml `deployment.podAnnotations`, which k3s'
 * own HelmChart leaves to us). Keys sorted: the same values always give the same text.
 */
export function traefikValuesContent(
    plan: IngressPlan,
    operatorValues: MeshConfig["mtls"]["ingress"]["k3sTraefikValues"] = {},
): string {
    const values = deepmerge(operatorValues, { deployment: { podAnnotations: ingressAnnotations(plan) } });
    return YAML.stringify(values, { sortMapEntries: true });
}

/**
 * The pod annotations that mesh an ingress controller. Its default inbound policy stays
 * `all-unauthenticated` whatever the cluster's default: the traffic it serves comes from outside
 * the mesh (a load balancer), and its own httpGet probes (Traefik's `/ping`) are authorized by
 * Linkerd's probe route anyway. `enabled` mode encrypts every request to the address the
 * controller connected to (the destination controller resolves a pod IP to its identity).
 * `ingress` mode (the proxy's ingress stack: linkerd2-proxy release/v2.366.0, the proxy of
 * edge-26.8.3, app/outbound/src/ingress.rs) detects HTTP on every connection and routes each
 * request by its `l5d-dst-override` header when there is one (`SelectTarget::select`:
 * `RequestTarget::Named`, the header stripped before forwarding), and otherwise by the original
 * destination (`RequestTarget::Orig`), as `enabled` does; only a fallback whose address has no
 * HTTP policy fails (`PolicyRequired`), and non-HTTP connections go by their original destination.
 * Linkerd's docs (2-edge tasks/using-ingress.md) reserve it for controllers that pick endpoints
 * themselves yet should leave the Service's balancing and routes to Linkerd, and require the
 * controller to drop the header from clients' requests (an open relay otherwise); the "header
 * required" behaviour was a bug of 2.13.0-2.13.4.
 */
export function ingressAnnotations(plan: IngressPlan): Record<string, string> {
    return {
        [LINKERD_ANNOTATIONS.inject]: plan.inject ? plan.injectMode : "disabled",
        [LINKERD_ANNOTATIONS.defaultInboundPolicy]: inboundPolicy("permissive"),
        "config.linkerd.io/proxy-enable-native-sidecar": "true",
    };
}

/**
 * The cluster's ingress controller in the mesh, so that the hop from it to each pod is mTLS.
 *
 * - `k3s-traefik`: k3s and k3d deploy Traefik into kube-system from their own HelmChart; its
 *   values are changed through a HelmChartConfig of the same name (k3s docs, "Customizing Packaged
 *   Components with HelmChartConfig"); helm-controller then upgrades Traefik, i.e. rolls it. Deleting
 *   the HelmChartConfig restores k3s' defaults. kube-system is added to the injector's scope
 *   (components/linkerdControlPlane.ts); only these annotated pods are injected there.
 * - `in-namespace`: a controller in its own namespace (ingress-nginx, a Traefik installed by its
 *   chart): the namespace is annotated, the rollout Job restarts what runs there.
 * Draining writes `linkerd.io/inject: disabled` first (the controller restarts without its proxy
 * while the control plane still runs); the objects go with the mesh.
 */
export class MeshedIngress extends pulumi.ComponentResource {
    /** What the rollout waits for. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: MeshedIngressArgs, opts?: pulumi.ComponentResourceOptions) {
        super(
            "akko:mtls:MeshedIngress",
            name,
            { controller: args.plan.controller, namespace: args.plan.namespace },
            opts,
        );
        const plan = args.plan;

        const admitted = args.existing.metadata.name;

        if (plan.controller === "k3s-traefik") {
            this.ready = [
                new k8s.apiextensions.CustomResource(
                    `${name}-traefik-config`,
                    {
                        apiVersion: "helm.cattle.io/v1",
                        kind: "HelmChartConfig",
                        metadata: { name: "traefik", namespace: admitted, labels: objectLabels() },
                        spec: {
                            valuesContent: pulumi
                                .output(args.k3sTraefikValues ?? {})
                                .apply((values) => traefikValuesContent(plan, values)),
                        },
                    },
                    { parent: this, dependsOn: args.waitFor ?? [] },
                ),
            ];
        } else {
            this.ready = [
                // Forced like the meshed namespaces' annotations (meshedNamespace.ts).
                new k8s.core.v1.NamespacePatch(
                    `${name}-annotations`,
                    { metadata: { name: admitted, annotations: { ...ingressAnnotations(plan), ...PATCH_FORCE } } },
                    { parent: this, dependsOn: args.waitFor ?? [] },
                ),
            ];
        }
        this.registerOutputs({ ready: this.ready });
    }
}
