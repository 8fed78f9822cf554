/**
 * What keeps a pod of an enforced namespace from going around its proxy: a ValidatingAdmissionPolicy
 * (CEL) on the pods the API server admits there, after the proxy injector has mutated them.
 *
 * The ways around the proxy (linkerd2-proxy-init v2.4.9 pkg/iptables/iptables.go; linkerd2
 * edge-26.8.3 pkg/k8s/labels.go, pkg/inject/inject.go; docs/admin/egress.md "The second layer"):
 * - the proxy's own UID (2102) is let out unredirected: any container running as it bypasses the proxy;
 * - `linkerd.io/inject: disabled`, `config.linkerd.io/skip-outbound-ports`, `proxy-uid`, `proxy-gid`
 *   annotations on the pod (they win over the namespace's);
 * - NET_ADMIN or NET_RAW (or ALL) lets a container rewrite the pod's nat table; only linkerd-init,
 *   without the CNI plugin, needs them;
 * - `hostNetwork` leaves the pod's network namespace, and its iptables, altogether;
 * - UDP is never redirected: only the NetworkPolicy layer stops it.
 * Pod Security `restricted` stops NET_ADMIN and hostNetwork but not the UID nor the annotations.
 *
 * Evaluated by Kubernetes on `object` as an unstructured map (fields the API omits are absent, never
 * null), tested with @bufbuild/cel on allowed and hostile pods (lib/egressBypass.test.ts).
 */
import { EGRESS } from "./registry";

/** The policy's (and its binding's) name. */
export const EGRESS_BYPASS_POLICY = "akko-mtls-egress-no-bypass";

const PROXY = "linkerd-proxy";
const PROXY_INIT = "linkerd-init";
const annotations = "(has(object.metadata.annotations) ? dyn(object.metadata.annotations) : {})";
const list = (field: string) => `(has(object.spec.${field}) ? object.spec.${field} : [])`;
const containers = `${list("containers")} + ${list("initContainers")} + ${list("ephemeralContainers")}`;
const podUser =
    "(has(object.spec.securityContext) && has(object.spec.securityContext.runAsUser) ? object.spec.securityContext.runAsUser : -1)";
const userOf = (c: string) =>
    `(has(${c}.securityContext) && has(${c}.securityContext.runAsUser) ? ${c}.securityContext.runAsUser : ${podUser})`;
const added = (c: string) =>
    `(has(${c}.securityContext) && has(${c}.securityContext.capabilities) && has(${c}.securityContext.capabilities.add) ? ${c}.securityContext.capabilities.add : [])`;

/** The ValidatingAdmissionPolicy spec for the enforced namespaces; `cniEnabled`: no container may hold NET_ADMIN, linkerd-init included. */
export function egressBypassPolicy(args: { namespaces: readonly string[]; cniEnabled: boolean }) {
    const netAdminExempt = args.cniEnabled ? "false" : `c.name == '${PROXY_INIT}'`;
    return {
        failurePolicy: "Fail",
        matchConstraints: {
            namespaceSelector: {
                matchExpressions: [
                    { key: "kubernetes.io/metadata.name", operator: "In" as const, values: [...args.namespaces] },
                ],
            },
            resourceRules: [
                { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] },
                // `kubectl debug` adds an ephemeral container to a running pod.
                {
                    apiGroups: [""],
                    apiVersions: ["v1"],
                    operations: ["UPDATE"],
                    resources: ["pods/ephemeralcontainers"],
                },
            ],
        },
        // A dry run stores nothing and starts nothing: the Pod Security check's probe (a pre-injected pod
        // annotated `linkerd.io/inject: disabled`, lib/podSecurity.ts) must still be admitted there.
        matchConditions: [{ name: "not-a-dry-run", expression: "!request.dryRun" }],
        validations: [
            {
                expression:
                    `!(('linkerd.io/inject' in ${annotations}) && ${annotations}['linkerd.io/inject'] == 'disabled') && ` +
                    `!('config.linkerd.io/proxy-uid' in ${annotations}) && !('config.linkerd.io/proxy-gid' in ${annotations}) && ` +
                    `(!('config.linkerd.io/skip-outbound-ports' in ${annotations}) || ${annotations}['config.linkerd.io/skip-outbound-ports'] == '')`,
                message:
                    "egress is enforced in this namespace: a pod may not opt out of the proxy (linkerd.io/inject: disabled) nor " +
                    "set skip-outbound-ports, proxy-uid or proxy-gid (docs/admin/egress.md)",
            },
            {
                expression: `!(${containers}).exists(c, c.name != '${PROXY}' && ${userOf("c")} == ${EGRESS.proxyUid})`,
                message: `egress is enforced in this namespace: only ${PROXY} runs as UID ${EGRESS.proxyUid}, whose traffic is not redirected to the proxy`,
            },
            {
                expression: `!(${containers}).exists(c, !(${netAdminExempt}) && ${added("c")}.exists(x, x in ['NET_ADMIN', 'NET_RAW', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'ALL']))`,
                message:
                    "egress is enforced in this namespace: no container may add NET_ADMIN, NET_RAW or ALL (they rewrite the pod's redirection)",
            },
            {
                expression: "!(has(object.spec.hostNetwork) && object.spec.hostNetwork)",
                message: "egress is enforced in this namespace: hostNetwork pods leave it outside the proxy",
            },
        ],
    };
}
