import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PORTS as LINKERD_PORTS } from "../lib/registry";

/** Strict mode: who may call a server, by ServiceAccount identity (config `mtls.authorizations`). */
export interface Authorization {
    /** Server name (also of its AuthorizationPolicy and MeshTLSAuthentication). */
    name: string;
    /** Labels of the pods that serve. */
    podSelector: Record<string, string>;
    /** Container port number or name. */
    port: number | string;
    /** Protocol discovery override (Server `proxyProtocol`). */
    proxyProtocol?: string;
    /** Client identities, `<sa>.<ns>.serviceaccount.identity.linkerd.<trust domain>`. */
    clients: string[];
}

export interface MeshedNamespaceArgs {
    /** The existing namespace (created by its Helm charts): patched, never taken over. */
    namespace: string;
    /**
     * `linkerd.io/inject: enabled`; false writes `disabled` while the namespace is drained.
     * @default true
     */
    inject?: boolean;
    /**
     * permissive: plaintext still accepted; strict: Linkerd's default inbound policy
     * `all-authenticated` for the namespace.
     * @default "permissive"
     */
    mode?: "permissive" | "strict";
    /**
     * NetworkPolicies opening the mesh's ports, for namespaces with default-deny policies;
     * omit for none.
     */
    networkPolicy?: {
        /** Every meshed namespace (mesh traffic comes from and goes to them). */
        meshedNamespaces: string[];
        /** The control-plane namespace. */
        controlPlaneNamespace: string;
        /** linkerd-viz's namespace, whose Prometheus scrapes and tap watches the proxies. */
        vizNamespace?: string;
    };
    /** Servers and their authorizations in this namespace (strict mode). */
    authorizations?: Authorization[];
    /**
     * What the annotations and the authorization objects wait for: the control plane, whose
     * injector adds the proxies and whose policy validator admits the policy objects.
     */
    waitFor?: pulumi.Input<pulumi.Resource>[];
}

/** The default inbound policy of strict mode. */
export const STRICT_POLICY = "all-authenticated";

/**
 * One AKKO namespace in the mesh: its injection and default-policy annotations (a
 * server-side apply patch, so the namespace stays its charts' and survives the mesh),
 * the NetworkPolicies the mesh's ports need, and in strict mode the Linkerd Server,
 * MeshTLSAuthentication and AuthorizationPolicy objects of `mtls.authorizations`.
 */
export class MeshedNamespace extends pulumi.ComponentResource {
    /** The annotation patch. */
    public readonly patch: k8s.core.v1.NamespacePatch;
    /** Everything the workloads' restart must wait for. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: MeshedNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:MeshedNamespace", name, {}, opts);
        const namespace = args.namespace;
        const labels = { "app.kubernetes.io/part-of": "akko-mtls" };

        this.patch = new k8s.core.v1.NamespacePatch(
            `${name}-annotations`,
            {
                metadata: {
                    name: namespace,
                    annotations: {
                        "linkerd.io/inject": (args.inject ?? true) ? "enabled" : "disabled",
                        // Read by the injector when a pod is created: running pods change on restart.
                        ...(args.mode === "strict" ? { "config.linkerd.io/default-inbound-policy": STRICT_POLICY } : {}),
                    },
                },
            },
            { parent: this, dependsOn: args.waitFor ?? [] },
        );
        this.ready = [this.patch];

        const policy = args.networkPolicy;
        if (policy) {
            const namespaces = (names: string[]) => ({
                namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: names }] },
            });
            const mesh = [...new Set([...policy.meshedNamespaces, policy.controlPlaneNamespace, ...(policy.vizNamespace ? [policy.vizNamespace] : [])])];
            const viz = (component: string) => ({
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": policy.vizNamespace! } },
                podSelector: { matchLabels: { "linkerd.io/extension": "viz", component } },
            });
            const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: "TCP", port }));
            const meshPolicy = new k8s.networking.v1.NetworkPolicy(
                `${name}-mesh`,
                {
                    metadata: { name: "linkerd-mesh", namespace, labels },
                    spec: {
                        // Allows only: it adds to the namespace's default-deny, never restricts more.
                        podSelector: {},
                        policyTypes: ["Ingress", "Egress"],
                        ingress: [
                            // Meshed clients reach a meshed pod on its proxy's inbound port (transport header).
                            { from: [namespaces(mesh)], ports: tcp(LINKERD_PORTS.proxyInbound) },
                            ...(policy.vizNamespace
                                ? [
                                      { from: [viz("prometheus")], ports: tcp(LINKERD_PORTS.proxyAdmin) },
                                      { from: [viz("tap")], ports: tcp(LINKERD_PORTS.proxyControl) },
                                  ]
                                : []),
                        ],
                        egress: [
                            // Proxies ask the control plane for identity, destinations and policies.
                            {
                                to: [namespaces([policy.controlPlaneNamespace])],
                                ports: tcp(LINKERD_PORTS.identityGrpc, LINKERD_PORTS.destinationGrpc, LINKERD_PORTS.policyGrpc),
                            },
                            { to: [namespaces(mesh)], ports: tcp(LINKERD_PORTS.proxyInbound) },
                        ],
                    },
                },
                { parent: this },
            );
            // Proxies must be able to talk before workloads restart with them.
            this.ready.push(meshPolicy);
        }

        const objectOpts = { parent: this, dependsOn: args.waitFor ?? [] };
        /** A Linkerd policy object in this namespace; waits for the control plane (CRDs, policy validator). */
        const policyObject = (resourceName: string, version: string, kind: string, objectName: string, spec: object) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${resourceName}`,
                { apiVersion: `policy.linkerd.io/${version}`, kind, metadata: { name: objectName, namespace, labels }, spec },
                objectOpts,
            );
        for (const authorization of args.authorizations ?? []) {
            const server = policyObject(`server-${authorization.name}`, "v1beta3", "Server", authorization.name, {
                podSelector: { matchLabels: authorization.podSelector },
                port: authorization.port,
                ...(authorization.proxyProtocol ? { proxyProtocol: authorization.proxyProtocol } : {}),
            });
            const clients = policyObject(`clients-${authorization.name}`, "v1alpha1", "MeshTLSAuthentication", `${authorization.name}-clients`, {
                identities: authorization.clients,
            });
            const authz = policyObject(`authorization-${authorization.name}`, "v1alpha1", "AuthorizationPolicy", authorization.name, {
                targetRef: { group: "policy.linkerd.io", kind: "Server", name: server.metadata.name },
                requiredAuthenticationRefs: [{ group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: clients.metadata.name }],
            });
            this.ready.push(server, clients, authz);
        }

        this.registerOutputs({ patch: this.patch });
    }
}
