/** `mtls`: the switch, the meshed namespaces, the ingress hop, and who may call whom in strict mode. */
import { z } from "zod";
import { LINKERD_DEFAULT_OPAQUE_PORTS } from "../../lib/registry";
import { egressConfig, namespaceEgress } from "./egress";
import { opaqueEgressRule, opaqueIngressRule } from "./networkPolicy";
import { cidrs, identities, namespaceName, podSelector, portList, portNumber } from "./primitives";

const denyIngress = z
    .boolean()
    .describe(
        "The namespace's own NetworkPolicies isolate every pod for ingress (a policy with `podSelector: {}` lists Ingress): the mesh's " +
            "policy then admits what reaches the proxies (4191 from the scraper, 4190 from tap) and mirrors `opaqueIngress`. false: the " +
            "mesh adds no ingress policy (one would cut every port). A preflight Job checks it against the live policies before any change.",
    );
const denyEgress = z
    .boolean()
    .describe(
        "The namespace's own NetworkPolicies isolate every pod for egress: the mesh's policy then also admits what the proxies dial " +
            "(DNS, the control plane) and mirrors `opaqueEgress`. false: the mesh adds no egress policy. Checked by the same preflight.",
    );

/** What every meshed namespace's own NetworkPolicies isolate, unless its `namespaceOptions` say otherwise. */
export const namespaceDefaults = z.strictObject({
    denyIngress: denyIngress,
    denyEgress: denyEgress,
});

/** Per meshed namespace: proxy settings, and what the namespace's own NetworkPolicies deny. */
export const namespaceOptions = z.strictObject({
    denyIngress: denyIngress.optional(),
    denyEgress: denyEgress.optional(),
    opaqueIngress: z
        .array(opaqueIngressRule)
        .optional()
        .describe(
            "The rules of the namespace's own ingress policies that admit an opaque port (`podSelector`, `ports`, `from`, as in the " +
                "policy): meshed clients reach opaque ports through the proxy port 4143, so the mesh admits 4143 to the same pods " +
                "from the same peers, and no one else. The preflight prints the exact list when it differs from the live policies.",
        ),
    opaqueEgress: z
        .array(opaqueEgressRule)
        .optional()
        .describe(
            "The rules of the namespace's own egress policies that admit an opaque port (`podSelector`, `ports`, `to`): mirrored onto 4143 likewise.",
        ),
    opaquePorts: portList
        .optional()
        .describe(
            "Ports whose protocol the proxy must not detect (`config.linkerd.io/opaque-ports`), added to Linkerd's defaults " +
                `(${LINKERD_DEFAULT_OPAQUE_PORTS.join(", ")}): server-speaks-first protocols and any non-HTTP protocol on a port ` +
                "Linkerd does not know (Kafka's 9092). Still mTLS.",
        ),
    skipInboundPorts: portList
        .optional()
        .describe("Inbound ports that bypass the proxy (`config.linkerd.io/skip-inbound-ports`): plaintext, no mTLS."),
    skipOutboundPorts: portList
        .optional()
        .describe(
            "Outbound ports that bypass the proxy (`config.linkerd.io/skip-outbound-ports`): plaintext, no mTLS, no egress control.",
        ),
    egress: namespaceEgress
        .optional()
        .describe("The namespace's egress control: each key given replaces the one of `mtls.egress`."),
});
export type NamespaceOptions = z.output<typeof namespaceOptions>;

/** A Server, its AuthorizationPolicy, and who may call it (strict mode). */
export const authorization = z.strictObject({
    namespace: namespaceName.describe("The meshed namespace of the pods that serve."),
    name: namespaceName.describe("Name of the Server (and of its AuthorizationPolicy)."),
    podSelector: podSelector.describe("Labels of the pods that serve."),
    port: z
        .union([
            portNumber,
            // IANA service name, as Kubernetes validates container port names: at least one letter.
            z
                .string()
                .max(15)
                .regex(/^(?=.*[a-z])(?!.*--)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
                    message:
                        "a port number, or a port name (at most 15 lower-case letters, digits and '-', with at least one letter)",
                }),
        ])
        .describe("Container port number or name."),
    proxyProtocol: z
        .enum(["unknown", "HTTP/1", "HTTP/2", "gRPC", "opaque", "TLS"])
        .optional()
        .describe("The protocol the proxy expects on the port."),
    clients: identities
        .optional()
        .describe("Client identities, `<serviceaccount>.<namespace>.serviceaccount.identity.linkerd.<trustDomain>`."),
    networks: cidrs
        .optional()
        .describe(
            "Unauthenticated clients from these networks instead (a NetworkAuthentication): for the probes Linkerd does not " +
                "authorize itself under strict mode (gRPC, TCP, HTTPS).",
        ),
    serviceAccount: namespaceName
        .optional()
        .describe("The ServiceAccount of the pods that serve: their own identity may call the server too (replicas)."),
});

/** How deep and how long the operator's Traefik values may be: Traefik's own values nest 5 levels, and fit in a few KiB. */
export const MAX_FREE_FORM_DEPTH = 16;
export const MAX_FREE_FORM_TEXT = 64 * 1024;

/** The depth of a JSON value (a scalar is 0), walked without recursion. */
function depthOf(value: unknown): number {
    let deepest = 0;
    const pending: [unknown, number][] = [[value, 0]];
    while (pending.length > 0) {
        const [node, depth] = pending.pop()!;
        deepest = Math.max(deepest, depth);
        if (node !== null && typeof node === "object")
            for (const child of Object.values(node)) pending.push([child, depth + 1]);
    }
    return deepest;
}

/**
 * Values the program passes through without reading them (rendered to YAML for k3s' helm-controller):
 * bounded in depth and size, so that they fail here, not after half the mesh is registered.
 */
const freeFormValues = z.record(z.string(), z.unknown()).superRefine((values, ctx) => {
    if (depthOf(values) > MAX_FREE_FORM_DEPTH)
        ctx.addIssue({ code: "custom", message: `must nest at most ${MAX_FREE_FORM_DEPTH} levels deep` });
    else if (JSON.stringify(values).length > MAX_FREE_FORM_TEXT)
        ctx.addIssue({ code: "custom", message: `must be at most ${MAX_FREE_FORM_TEXT / 1024} KiB as JSON` });
});

export const mtlsConfig = z.strictObject({
    enabled: z
        .boolean()
        .describe("THE switch: false creates no Kubernetes object at all (after draining a meshed stack)."),
    namespaces: z
        .array(namespaceName)
        .min(1)
        .max(100)
        .describe("The AKKO namespaces whose workloads are meshed (they must exist)."),
    namespaceDefaults: namespaceDefaults,
    namespaceOptions: z
        .record(namespaceName, namespaceOptions)
        .describe(
            "Per meshed namespace settings, by namespace name: `denyIngress`, `denyEgress`, `opaqueIngress`, `opaqueEgress`, " +
                "`opaquePorts`, `skipInboundPorts`, `skipOutboundPorts`, `egress`.",
        ),
    /**
     * The cluster's ingress controller, meshed so that the ingress -> pod hop is mTLS too.
     */
    ingress: z.strictObject({
        enabled: z
            .boolean()
            .describe("Mesh the cluster's ingress controller, so that the ingress -> pod hop is mTLS too."),
        controller: z
            .enum(["k3s-traefik", "in-namespace"])
            .describe(
                "`k3s-traefik`: the Traefik k3s and k3d run in kube-system, configured through a HelmChartConfig; " +
                    "`in-namespace`: a controller in its own namespace (ingress-nginx, Traefik).",
            ),
        namespace: namespaceName.optional().describe("The controller's namespace (`in-namespace`)."),
        mode: z
            .enum(["enabled", "ingress"])
            .describe(
                "`enabled`: a regular proxy: each request goes, over mTLS, to the address the controller connected to (the pod it " +
                    "picked, or the Service for controllers told to target Services, such as ingress-nginx with service-upstream). " +
                    "`ingress`: Linkerd's ingress mode, for controllers that pick pods themselves (Traefik, GCE, Contour) when Linkerd " +
                    "should balance and route per Service: an HTTP request carrying `l5d-dst-override: <service>.<namespace>.svc." +
                    "cluster.local:<port>` (set by the route) goes to that Service, one without it to the address the controller " +
                    "connected to, as in `enabled`. mTLS either way. The controller must drop `l5d-dst-override` from clients' " +
                    "requests, or any client can reach any Service through it (linkerd.io 2-edge tasks/using-ingress.md; " +
                    "linkerd2-proxy app/outbound/src/ingress.rs).",
            ),
        k3sTraefikValues: freeFormValues.describe(
            "`k3s-traefik`: Traefik values you already set through a HelmChartConfig named `traefik`. k3s reads one " +
                "HelmChartConfig per chart, and the program's takes that name, so it carries yours: move them here " +
                '(docs/admin/mtls.md, "The ingress hop"). The mesh\'s pod annotations win.',
        ),
    }),
    mode: z
        .enum(["permissive", "strict"])
        .describe("permissive: plaintext still accepted (migration); strict: only authenticated mesh traffic."),
    networkPolicies: z
        .boolean()
        .describe(
            "NetworkPolicies that admit what the mesh needs in meshed namespaces, built from what each namespace's own policies " +
                "isolate (`namespaceDefaults`, `namespaceOptions`) and checked against them by a preflight Job before any change.",
        ),
    egress: egressConfig,
    drainOnDisable: z
        .boolean()
        .describe("Disable in steps that never cut traffic (true), or remove everything at once (false)."),
    authorizations: z
        .array(authorization)
        .max(256)
        .describe(
            "Strict mode: who may call which server, by ServiceAccount identity. Each: `namespace`, `name`, `podSelector`, `port`, " +
                "`proxyProtocol`, `clients` or `networks`, `serviceAccount`.",
        ),
});
