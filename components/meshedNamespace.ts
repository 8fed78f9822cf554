import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MeshConfig } from "../config";
import { MeshedNamespacePolicyArgs, meshedNamespacePolicies } from "../lib/networkPolicies";
import { type Authorization, meshAnnotations, type ProxyOptions } from "../lib/meshPlan";
import { PATCH_FORCE } from "./transforms";
import { linkerdPolicyObject, networkPolicyObject } from "../lib/objects";
import type { LinkerdPolicyKind } from "../lib/registry";

export interface MeshedNamespaceArgs {
    /** The existing namespace (created by its Helm charts): patched, never taken over. */
    namespace: string;
    /** `linkerd.io/inject: enabled`; false writes `disabled` while the namespace is drained (lib/meshLifecycle.ts). */
    inject: boolean;
    /**
     * permissive: plaintext still accepted; strict: Linkerd's default inbound policy
     * `all-authenticated` for the namespace.
     */
    mode: MeshConfig["mtls"]["mode"];
    /** Per-namespace proxy settings, as namespace annotations the injector copies onto each pod. */
    proxy?: ProxyOptions;
    /** The mesh's NetworkPolicies for this namespace (lib/networkPolicies.ts); omit for none. */
    networkPolicy?: Omit<MeshedNamespacePolicyArgs, "namespace">;
    /**
     * The network preflight Job, which proves the namespace's own policies isolate what
     * {@link networkPolicy}'s posture says: the annotations and the mesh's policies wait for it.
     * @default []
     */
    postureChecked?: pulumi.Input<pulumi.Resource>[];
    /**
     * The Pod Security check Job, which proves the API server admits injected pods in the namespace
     * (its labels, the cluster's default level, its exemptions): the annotations wait for it.
     * @default []
     */
    admissionChecked?: pulumi.Input<pulumi.Resource>[];
    /** Servers and their authorizations in this namespace (strict mode). */
    authorizations?: readonly Authorization[];
    /** The trust domain, for the serving pods' own identity. */
    trustDomain: MeshConfig["identity"]["trustDomain"];
    /**
     * The namespace as read before the mesh built anything (components/namespaceAdmission.ts, which
     * also checked that it admits injected pods): the patch waits for the read, which fails the run
     * when the namespace does not exist (a patch would create it).
     */
    existing: k8s.core.v1.Namespace;
    /**
     * What the annotations and the authorization objects wait for: the control plane, whose
     * injector adds the proxies and whose policy validator admits the policy objects (and, in
     * strict mode, the check that nothing breaks).
     */
    waitFor?: pulumi.Input<pulumi.Resource>[];
}

/**
 * One AKKO namespace in the mesh: its injection and proxy annotations (a server-side apply patch,
 * so the namespace stays its charts' and survives the mesh), the NetworkPolicy the mesh's ports
 * need, and in strict mode the Linkerd Server, authentication and AuthorizationPolicy objects of
 * `mtls.authorizations`. The namespace must exist and admit injected pods: it was read and checked
 * before the mesh built anything (components/namespaceAdmission.ts).
 */
export class MeshedNamespace extends pulumi.ComponentResource {
    /** The annotation patch. */
    public readonly patch: k8s.core.v1.NamespacePatch;
    /** Everything the workloads' restart must wait for. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: MeshedNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("akko:mtls:MeshedNamespace", name, {}, opts);
        const namespace = args.namespace;
        const inject = args.inject;

        // The mesh's annotations are the stack file's: forced (PATCH_FORCE), because an operator's
        // `kubectl annotate` of one of them (field manager `kubectl-annotate`) would otherwise fail the
        // first `pulumi up` with a field conflict that no preview shows. Forcing takes over only the
        // annotations listed here; every other field of the namespace keeps its owner.
        const postureChecked = args.postureChecked ?? [];
        this.patch = new k8s.core.v1.NamespacePatch(
            `${name}-annotations`,
            {
                metadata: {
                    name: args.existing.metadata.name,
                    annotations: { ...meshAnnotations(inject, args.mode, args.proxy), ...PATCH_FORCE },
                },
            },
            { parent: this, dependsOn: [...(args.waitFor ?? []), ...postureChecked, ...(args.admissionChecked ?? [])] },
        );
        this.ready = [this.patch];

        if (args.networkPolicy) {
            // Proxies must be able to talk before workloads restart with them; and no policy lands before
            // the preflight proved it isolates nothing the namespace did not already isolate.
            for (const policy of meshedNamespacePolicies({ namespace, ...args.networkPolicy })) {
                const suffix = policy.name === "linkerd-mesh" ? "" : policy.name.slice("linkerd-mesh".length);
                this.ready.push(
                    new k8s.networking.v1.NetworkPolicy(
                        `${name}-mesh${suffix}`,
                        networkPolicyObject(policy, namespace),
                        {
                            parent: this,
                            dependsOn: postureChecked,
                        },
                    ),
                );
            }
        }

        const objectOpts = { parent: this, dependsOn: args.waitFor ?? [] };
        /** A Linkerd policy object in this namespace; waits for the control plane (CRDs, policy validator). */
        const policyObject = (resourceName: string, object: { kind: LinkerdPolicyKind; name: string; spec: object }) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${resourceName}`,
                linkerdPolicyObject({ ...object, namespace }),
                objectOpts,
            );
        const trustDomain = args.trustDomain;
        for (const authorization of args.authorizations ?? []) {
            const server = policyObject(`server-${authorization.name}`, {
                kind: "Server",
                name: authorization.name,
                spec: {
                    podSelector: { matchLabels: authorization.podSelector },
                    port: authorization.port,
                    ...(authorization.proxyProtocol ? { proxyProtocol: authorization.proxyProtocol } : {}),
                },
            });
            let authentication: k8s.apiextensions.CustomResource;
            if (authorization.networks) {
                // Unauthenticated callers from these networks only (kubelet's probes of a gRPC, TCP or HTTPS port).
                authentication = policyObject(`clients-${authorization.name}`, {
                    kind: "NetworkAuthentication",
                    name: `${authorization.name}-clients`,
                    spec: { networks: authorization.networks.map((cidr) => ({ cidr })) },
                });
            } else {
                const self = authorization.serviceAccount
                    ? [`${authorization.serviceAccount}.${namespace}.serviceaccount.identity.linkerd.${trustDomain}`]
                    : [];
                authentication = policyObject(`clients-${authorization.name}`, {
                    kind: "MeshTLSAuthentication",
                    name: `${authorization.name}-clients`,
                    // The serving workload's own identity (its replicas calling each other), then the listed clients.
                    spec: { identities: [...new Set([...self, ...(authorization.clients ?? [])])] },
                });
            }
            const authz = policyObject(`authorization-${authorization.name}`, {
                kind: "AuthorizationPolicy",
                name: authorization.name,
                spec: {
                    targetRef: { group: "policy.linkerd.io", kind: "Server", name: server.metadata.name },
                    requiredAuthenticationRefs: [
                        {
                            group: "policy.linkerd.io",
                            kind: authorization.networks ? "NetworkAuthentication" : "MeshTLSAuthentication",
                            name: authentication.metadata.name,
                        },
                    ],
                },
            });
            this.ready.push(server, authentication, authz);
        }

        this.registerOutputs({ patch: this.patch });
    }
}
