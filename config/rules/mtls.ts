/** Rules of `mtls`: which namespaces are meshed, the ingress hop, strict-mode authorizations. */
import { LINKERD_OBJECTS, NAMESPACES } from "../../lib/registry";
import { identityPattern, RESERVED_NAMESPACES, SINGLE_NODE_TARGETS } from "../schema/primitives";
import type { ConfigShape, RuleContext } from "./types";

/**
 * Each meshed namespace once, and never a system or mesh namespace: injecting proxies into
 * kube-system or the control plane's own namespaces would make the mesh depend on itself.
 */
export function validateNamespaces(config: ConfigShape, ctx: RuleContext): void {
    const namespaces = config.mtls.namespaces;
    namespaces.forEach((namespace, i) => {
        if (namespaces.indexOf(namespace) !== i) {
            ctx.addIssue({ code: "custom", path: ["mtls", "namespaces", i], message: `lists "${namespace}" twice` });
        }
        if (RESERVED_NAMESPACES.includes(namespace)) {
            ctx.addIssue({
                code: "custom",
                path: ["mtls", "namespaces", i],
                message: `must not be a system or mesh namespace (${RESERVED_NAMESPACES.join(", ")})`,
            });
        }
    });
}

/** Options only for meshed namespaces: options of any other namespace would silently do nothing. */
export function validateNamespaceOptions(config: ConfigShape, ctx: RuleContext): void {
    const mtls = config.mtls;
    for (const namespace of Object.keys(mtls.namespaceOptions)) {
        if (!mtls.namespaces.includes(namespace)) {
            ctx.addIssue({
                code: "custom",
                path: ["mtls", "namespaceOptions", namespace],
                message: `is not a meshed namespace (mtls.namespaces: ${mtls.namespaces.join(", ")})`,
            });
        }
    }
}

/**
 * The meshed ingress controller is one that exists on the target: k3s' Traefik only on k3s and
 * k3d, and, since meshing it puts kube-system in the injector's scope, only with an injector that
 * fails open; a controller in its own namespace names that namespace, which is neither a meshed
 * AKKO namespace nor a system or mesh one.
 */
export function validateIngress(config: ConfigShape, ctx: RuleContext): void {
    const mtls = config.mtls;
    const meshIngress = mtls.ingress;
    if (meshIngress.enabled && meshIngress.controller === "k3s-traefik") {
        if (!SINGLE_NODE_TARGETS.includes(config.target)) {
            ctx.addIssue({
                code: "custom",
                path: ["mtls", "ingress", "controller"],
                message: `k3s-traefik is the Traefik of k3s and k3d; on ${config.target} use in-namespace with the controller's namespace`,
            });
        }
        if (config.linkerd.webhookFailurePolicy === "Fail") {
            ctx.addIssue({
                code: "custom",
                path: ["mtls", "ingress", "controller"],
                message:
                    "k3s-traefik puts kube-system in the proxy injector's scope, which needs linkerd.webhookFailurePolicy Ignore: " +
                    "with Fail, an injector outage would block every kube-system pod (CoreDNS included)",
            });
        }
    }
    if (meshIngress.enabled && meshIngress.controller === "in-namespace") {
        if (!meshIngress.namespace) {
            ctx.addIssue({
                code: "custom",
                path: ["mtls", "ingress", "namespace"],
                message: "is required with controller in-namespace",
            });
        } else if (
            mtls.namespaces.includes(meshIngress.namespace) ||
            RESERVED_NAMESPACES.includes(meshIngress.namespace)
        ) {
            ctx.addIssue({
                code: "custom",
                path: ["mtls", "ingress", "namespace"],
                message:
                    "must be the controller's own namespace: not a meshed AKKO namespace, not a system or mesh namespace",
            });
        }
    }
}

/**
 * The operator's Traefik values go into the HelmChartConfig of k3s' own Traefik: with a controller
 * in its own namespace there is no such object, and the values would be ignored without a word.
 */
export function validateTraefikValues(config: ConfigShape, ctx: RuleContext): void {
    const ingress = config.mtls.ingress;
    if (ingress.controller !== "k3s-traefik" && Object.keys(ingress.k3sTraefikValues).length > 0) {
        ctx.addIssue({
            code: "custom",
            path: ["mtls", "ingress", "k3sTraefikValues"],
            message:
                `applies only to k3s' Traefik (mtls.ingress.controller k3s-traefik); with ${ingress.controller} it would be ignored. ` +
                "Configure your controller through its own chart, and remove these values",
        });
    }
}

/**
 * Strict-mode authorizations that Linkerd can enforce as meant: only in strict mode (permissive
 * accepts anyone anyway), for Servers in meshed namespaces, each Server once and not the program's
 * own, with one kind of caller (an AuthorizationPolicy requires all the authentications it names at
 * once), and clients that are ServiceAccount identities of this trust domain in meshed namespaces
 * (a pod outside the mesh has no identity, and strict mode would refuse every call it makes).
 */
export function validateAuthorizations(config: ConfigShape, ctx: RuleContext): void {
    const mtls = config.mtls;
    if (mtls.authorizations.length > 0 && mtls.mode !== "strict") {
        ctx.addIssue({
            code: "custom",
            path: ["mtls", "authorizations"],
            message: "apply in strict mode only: set mtls.mode strict (permissive mode accepts any client)",
        });
    }
    const clientPattern = identityPattern(config.identity.trustDomain);
    const servers = new Set<string>();
    mtls.authorizations.forEach((authorization, i) => {
        if (!mtls.namespaces.includes(authorization.namespace)) {
            ctx.addIssue({
                code: "custom",
                path: ["mtls", "authorizations", i, "namespace"],
                message: `is not a meshed namespace (mtls.namespaces: ${mtls.namespaces.join(", ")})`,
            });
        }
        if (authorization.name === LINKERD_OBJECTS.scraperServer) {
            ctx.addIssue({
                code: "custom",
                path: ["mtls", "authorizations", i, "name"],
                message: `${LINKERD_OBJECTS.scraperServer} is the program's own Server (the proxies' admin port): choose another name`,
            });
        }
        const server = `${authorization.namespace}/${authorization.name}`;
        if (servers.has(server)) {
            ctx.addIssue({
                code: "custom",
                path: ["mtls", "authorizations", i, "name"],
                message: `${server} is defined twice`,
            });
        }
        servers.add(server);
        if ((authorization.clients === undefined) === (authorization.networks === undefined)) {
            ctx.addIssue({
                code: "custom",
                path: ["mtls", "authorizations", i],
                message:
                    "needs either clients (ServiceAccount identities) or networks (CIDRs of unauthenticated callers such as kubelet probes), not both: " +
                    "Linkerd would require both at once",
            });
        }
        (authorization.clients ?? []).forEach((client, j) => {
            if (!clientPattern.test(client)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["mtls", "authorizations", i, "clients", j],
                    message: `is not a ServiceAccount identity: <serviceaccount>.<namespace>.serviceaccount.identity.linkerd.${config.identity.trustDomain}`,
                });
                return;
            }
            // A client in a namespace that is not meshed (or leaves the mesh) has no identity:
            // strict mode would refuse every call it makes.
            const clientNamespace = client.split(".")[1];
            if (!mtls.namespaces.includes(clientNamespace) && clientNamespace !== NAMESPACES.viz) {
                ctx.addIssue({
                    code: "custom",
                    path: ["mtls", "authorizations", i, "clients", j],
                    // The namespace is not quoted: a part of a secret value is no longer recognizable as one to redact.
                    message:
                        "names a namespace (its second part) that is not meshed: its pods have no mTLS identity and would be refused. " +
                        "Keep that namespace in mtls.namespaces while a strict authorization names it, or remove this client first",
                });
            }
        });
    });
}

/**
 * What the mesh's NetworkPolicies are built from must be able to mean what it says. A rule mirrored
 * onto the proxy port exists only in a direction the namespace isolates (a mirror policy in a
 * direction it does not would newly isolate the pods it selects), and only with the mesh's
 * NetworkPolicies on (else nothing reads it). A Server declared `opaque` names its port by number:
 * its traffic travels on the proxy port too, and the preflight matches the namespace's own rules
 * against opaque ports by number.
 */
export function validateNetworkPosture(config: ConfigShape, ctx: RuleContext): void {
    const mtls = config.mtls;
    for (const [namespace, options] of Object.entries(mtls.namespaceOptions)) {
        const mirrors = [
            [
                "opaqueIngress",
                options.opaqueIngress,
                options.denyIngress ?? mtls.namespaceDefaults.denyIngress,
                "denyIngress",
            ],
            [
                "opaqueEgress",
                options.opaqueEgress,
                options.denyEgress ?? mtls.namespaceDefaults.denyEgress,
                "denyEgress",
            ],
        ] as const;
        for (const [key, entries, isolated, flag] of mirrors) {
            if (!entries || entries.length === 0) continue;
            if (!mtls.networkPolicies) {
                ctx.addIssue({
                    code: "custom",
                    path: ["mtls", "namespaceOptions", namespace, key],
                    message:
                        "is read only with mtls.networkPolicies true (the mesh's NetworkPolicies mirror it): remove it, or turn them on",
                });
            } else if (!isolated) {
                ctx.addIssue({
                    code: "custom",
                    path: ["mtls", "namespaceOptions", namespace, key],
                    message:
                        `mirrors rules of policies that isolate the namespace, but ${flag} is false: a mirror policy would newly isolate the pods ` +
                        `it selects. Set mtls.namespaceOptions.${namespace}.${flag} true if its policies isolate every pod, or remove ${key}`,
                });
            }
        }
    }
    mtls.authorizations.forEach((authorization, i) => {
        if (authorization.proxyProtocol === "opaque" && typeof authorization.port !== "number") {
            ctx.addIssue({
                code: "custom",
                path: ["mtls", "authorizations", i, "port"],
                message:
                    "must be a port number with proxyProtocol opaque: its traffic travels on the proxy port, which the mesh's NetworkPolicies open by opaque port number",
            });
        }
    });
}
