/**
 * The NetworkPolicy evaluator (cluster/networkPolicy.cjs) against known answers: the conformance
 * suite's cases (kubernetes/kubernetes test/e2e/network/netpol/network_policy.go, commit 9db638c0),
 * on the same model — namespaces x, y, z, pods a, b, c in each, serving 80 and 81 as
 * `serve-80-tcp`/`serve-81-tcp` (and UDP twins) — and the same expected truth tables, loopback
 * ignored as the suite does. No npm library evaluates NetworkPolicies (the known evaluators,
 * kubernetes-sigs/network-policy-api's policy-assistant and cyclonus, are Go), hence a hand-written
 * one, proven here before the mesh's tests rely on it.
 */
import { strict as assert } from "node:assert";
import {
    allowed,
    canonicalMirror,
    namespaceIsolation,
    NetworkPolicyObject,
    opaqueMirrors,
    Peer,
    Pod,
    PolicyRule,
    selectorMatches,
} from "./networkPolicy.cjs";

const NAMESPACES = ["x", "y", "z"];
const PODS = ["a", "b", "c"];
const ip = (ns: string, pod: string) => `10.0.${NAMESPACES.indexOf(ns) + 1}.${PODS.indexOf(pod) + 1}`;
const pod = (ns: string, name: string): Pod => ({
    namespace: ns,
    name,
    labels: { pod: name },
    ip: ip(ns, name),
    ports: [80, 81].flatMap((port) =>
        ["TCP", "UDP"].map((protocol) => ({
            name: `serve-${port}-${protocol.toLowerCase()}`,
            containerPort: port,
            protocol,
        })),
    ),
});
const ALL = NAMESPACES.flatMap((ns) => PODS.map((p) => pod(ns, p)));
const NS_LABELS = { x: { ns: "x" }, y: { ns: "y" }, z: { ns: "z" } };

const policy = (
    name: string,
    namespace: string,
    podSelector: object,
    spec: Partial<NetworkPolicyObject["spec"]>,
): NetworkPolicyObject => ({
    metadata: { name, namespace },
    spec: { podSelector, ...spec },
});
const ingressOnly = (rules: PolicyRule[]) => ({ policyTypes: ["Ingress" as const], ingress: rules });
const egressOnly = (rules: PolicyRule[]) => ({ policyTypes: ["Egress" as const], egress: rules });

/** The reachability matrix as rows `from: to-list` of the pods NOT reachable (loopback ignored). */
function denied(policies: NetworkPolicyObject[], port = 80, protocol: "TCP" | "UDP" = "TCP"): string[] {
    const out: string[] = [];
    for (const from of ALL) {
        for (const to of ALL) {
            if (from === to) continue;
            if (!allowed({ namespaces: NS_LABELS, policies }, { from, to, port, protocol }))
                out.push(`${from.namespace}/${from.name}->${to.namespace}/${to.name}`);
        }
    }
    return out;
}
const everyFrom = (to: string, except: string[] = []) =>
    ALL.map((p) => `${p.namespace}/${p.name}`)
        .filter((p) => p !== to && !except.includes(p))
        .map((p) => `${p}->${to}`);
const everyTo = (from: string) =>
    ALL.map((p) => `${p.namespace}/${p.name}`)
        .filter((p) => p !== from)
        .map((p) => `${from}->${p}`);
const same = (a: string[], b: string[], message?: string) =>
    assert.deepEqual([...new Set(a)].sort(), [...new Set(b)].sort(), message);

describe("NetworkPolicy evaluator: the conformance suite's truth tables", () => {
    it("no policy: everything reaches everything", () => same(denied([]), []));

    it("default-deny-ingress in x", () => {
        same(
            denied([policy("deny-ingress", "x", {}, ingressOnly([]))]),
            ["x/a", "x/b", "x/c"].flatMap((to) => everyFrom(to)),
        );
    });

    it("default-deny-all in x: nothing in, nothing out", () => {
        const deny = policy("deny-all", "x", {}, { policyTypes: ["Ingress", "Egress"], ingress: [], egress: [] });
        same(denied([deny]), [
            ...["x/a", "x/b", "x/c"].flatMap((p) => everyFrom(p)),
            ...["x/a", "x/b", "x/c"].flatMap((p) => everyTo(p)),
        ]);
    });

    it("policyTypes unset: Ingress, plus Egress when the policy has an egress section", () => {
        same(
            denied([policy("p", "x", {}, {})]),
            ["x/a", "x/b", "x/c"].flatMap((to) => everyFrom(to)),
        );
        same(denied([policy("p", "x", { matchLabels: { pod: "a" } }, { egress: [] })]), [
            ...everyFrom("x/a"),
            ...everyTo("x/a"),
        ]);
    });

    it("x/a admits x/b (podSelector): only its own namespace", () => {
        const p = policy(
            "x-a-allows-x-b",
            "x",
            { matchLabels: { pod: "a" } },
            ingressOnly([{ from: [{ podSelector: { matchLabels: { pod: "b" } } }] }]),
        );
        same(denied([p]), everyFrom("x/a", ["x/b"]));
        const expressions = policy(
            "x-a-allows-x-b",
            "x",
            { matchLabels: { pod: "a" } },
            ingressOnly([
                { from: [{ podSelector: { matchExpressions: [{ key: "pod", operator: "In", values: ["b"] }] } }] },
            ]),
        );
        same(denied([expressions]), everyFrom("x/a", ["x/b"]));
    });

    it("deny-all in x plus an allow-all to x/a: policies add up", () => {
        const deny = policy("deny-all", "x", {}, ingressOnly([]));
        const allowA = policy(
            "allow-all-to-a",
            "x",
            { matchLabels: { pod: "a" } },
            ingressOnly([{ from: [{ podSelector: {}, namespaceSelector: {} }] }]),
        );
        same(denied([deny, allowA]), [...everyFrom("x/b"), ...everyFrom("x/c")]);
    });

    it("an empty namespaceSelector admits every namespace", () => {
        same(
            denied([
                policy(
                    "p",
                    "x",
                    { matchLabels: { pod: "a" } },
                    ingressOnly([{ from: [{ namespaceSelector: { matchLabels: {} } }] }]),
                ),
            ]),
            [],
        );
    });

    it("namespaceSelector y (by kubernetes.io/metadata.name, matchLabels or matchExpressions): x and z refused", () => {
        const byLabel = policy(
            "p",
            "x",
            { matchLabels: { pod: "a" } },
            ingressOnly([{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "y" } } }] }]),
        );
        const byExpression = policy(
            "p",
            "x",
            { matchLabels: { pod: "a" } },
            ingressOnly([
                {
                    from: [
                        {
                            namespaceSelector: {
                                matchExpressions: [
                                    { key: "kubernetes.io/metadata.name", operator: "In", values: ["y"] },
                                ],
                            },
                        },
                    ],
                },
            ]),
        );
        const expected = everyFrom("x/a", ["y/a", "y/b", "y/c"]);
        same(denied([byLabel]), expected);
        same(denied([byExpression]), expected);
    });

    it("podSelector OR namespaceSelector (two peers): x/a and x/c refused", () => {
        const p = policy(
            "p",
            "x",
            { matchLabels: { pod: "a" } },
            ingressOnly([
                {
                    from: [
                        {
                            namespaceSelector: {
                                matchExpressions: [
                                    { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["x"] },
                                ],
                            },
                        },
                        { podSelector: { matchLabels: { pod: "b" } } },
                    ],
                },
            ]),
        );
        same(denied([p]), ["x/c->x/a"]);
    });

    it("podSelector AND namespaceSelector (one peer): only y/b and z/b", () => {
        const p = policy(
            "p",
            "x",
            { matchLabels: { pod: "a" } },
            ingressOnly([
                {
                    from: [
                        {
                            namespaceSelector: {
                                matchExpressions: [
                                    { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["x"] },
                                ],
                            },
                            podSelector: { matchLabels: { pod: "b" } },
                        },
                    ],
                },
            ]),
        );
        same(denied([p]), everyFrom("x/a", ["y/b", "z/b"]));
    });

    it("a named port: 81 by name is open, 80 is not; a named port of another protocol does not match", () => {
        const p = policy("p", "x", { matchLabels: { pod: "a" } }, ingressOnly([{ ports: [{ port: "serve-81-tcp" }] }]));
        same(denied([p], 81), []);
        same(denied([p], 80), everyFrom("x/a"));
        const udp = policy(
            "p",
            "x",
            { matchLabels: { pod: "a" } },
            ingressOnly([{ ports: [{ protocol: "UDP", port: "serve-81-tcp" }] }]),
        );
        same(denied([udp], 81, "UDP"), everyFrom("x/a"));
    });

    it("a port range (endPort) and a protocol-only port", () => {
        const range = policy(
            "p",
            "x",
            { matchLabels: { pod: "a" } },
            ingressOnly([{ ports: [{ port: 80, endPort: 81 }] }]),
        );
        same(denied([range], 80), []);
        same(denied([range], 81), []);
        const below = policy(
            "p",
            "x",
            { matchLabels: { pod: "a" } },
            ingressOnly([{ ports: [{ port: 70, endPort: 79 }] }]),
        );
        same(denied([below], 80), everyFrom("x/a"));
        const udpOnly = policy(
            "p",
            "x",
            { matchLabels: { pod: "a" } },
            ingressOnly([{ ports: [{ protocol: "UDP" }] }]),
        );
        same(denied([udpOnly], 80, "UDP"), []);
        same(denied([udpOnly], 80, "TCP"), everyFrom("x/a"), "a policy that lists only UDP admits no TCP");
    });

    it("egress on one named port: the destination's port name decides", () => {
        const p = policy("p", "x", { matchLabels: { pod: "a" } }, egressOnly([{ ports: [{ port: "serve-80-tcp" }] }]));
        same(denied([p], 80), []);
        same(denied([p], 81), everyTo("x/a"));
        // An address outside the cluster has no named port.
        assert.equal(allowed({ policies: [p] }, { from: pod("x", "a"), to: { ip: "192.0.2.1" }, port: 80 }), false);
    });

    it("egress to a CIDR except a block: x/a reaches y but not y/b", () => {
        const p = policy(
            "p",
            "x",
            { matchLabels: { pod: "a" } },
            egressOnly([{ to: [{ ipBlock: { cidr: "10.0.2.0/24", except: [`${ip("y", "b")}/32`] } }] }]),
        );
        same(
            denied([p]),
            everyTo("x/a").filter((f) => !["x/a->y/a", "x/a->y/c"].includes(f)),
        );
    });

    it("a flow needs the source's egress AND the destination's ingress", () => {
        const out = policy(
            "out",
            "x",
            { matchLabels: { pod: "a" } },
            egressOnly([{ to: [{ namespaceSelector: {} }] }]),
        );
        const inn = policy("in", "y", { matchLabels: { pod: "b" } }, ingressOnly([{ from: [{ podSelector: {} }] }]));
        assert.equal(
            allowed({ policies: [out, inn] }, { from: pod("x", "a"), to: pod("y", "b"), port: 80 }),
            false,
            "y/b admits its own namespace only",
        );
        assert.equal(allowed({ policies: [out, inn] }, { from: pod("y", "a"), to: pod("y", "b"), port: 80 }), true);
        const inFromX = policy(
            "in",
            "y",
            { matchLabels: { pod: "b" } },
            ingressOnly([{ from: [{ namespaceSelector: { matchLabels: { ns: "x" } } }] }]),
        );
        assert.equal(
            allowed(
                { namespaces: NS_LABELS, policies: [out, inFromX] },
                { from: pod("x", "a"), to: pod("y", "b"), port: 80 },
            ),
            true,
        );
    });

    it("the pod's own node always gets in (kubelet probes)", () => {
        assert.equal(
            allowed(
                { policies: [policy("deny", "x", {}, ingressOnly([]))] },
                { from: { node: true }, to: pod("x", "a"), port: 80 },
            ),
            true,
        );
    });

    it("label selectors: NotIn and DoesNotExist match a missing key, In and Exists do not", () => {
        const expression = (operator: "In" | "NotIn" | "Exists" | "DoesNotExist") => ({
            matchExpressions: [{ key: "tier", operator, values: ["db"] }],
        });
        assert.deepEqual(
            (["In", "NotIn", "Exists", "DoesNotExist"] as const).map((op) => [
                selectorMatches(expression(op), {}),
                selectorMatches(expression(op), { tier: "db" }),
            ]),
            [
                [false, true],
                [true, false],
                [false, true],
                [true, false],
            ],
        );
        assert.throws(
            () => selectorMatches({ matchExpressions: [{ key: "k", operator: "Gt" as any }] }, {}),
            /unknown label selector operator/,
        );
    });
});

describe("NetworkPolicy evaluator: a namespace's isolation and what the mesh mirrors", () => {
    const ns = (spec: Partial<NetworkPolicyObject["spec"]>, name = "p") =>
        policy(name, "data", spec.podSelector ?? {}, spec);

    it("isolation: none, all (an empty podSelector: every pod, now and later), partial (by label)", () => {
        assert.deepEqual(namespaceIsolation([], "Ingress"), { isolation: "none", policies: [] });
        assert.deepEqual(namespaceIsolation([ns({ policyTypes: ["Ingress"] }, "deny")], "Ingress").isolation, "all");
        assert.deepEqual(namespaceIsolation([ns({ policyTypes: ["Ingress"] }, "deny")], "Egress").isolation, "none");
        const partial = namespaceIsolation(
            [ns({ podSelector: { matchLabels: { app: "pg" } }, policyTypes: ["Egress"] }, "pg-out")],
            "Egress",
        );
        assert.deepEqual(partial, { isolation: "partial", policies: ["pg-out"] });
    });

    it("mirrors the rules that admit an opaque port (by number, range, name, or every port), canonical and once", () => {
        const opaque = [3306, 5432];
        const policies = [
            ns({
                podSelector: { matchLabels: { app: "pg" } },
                policyTypes: ["Ingress"],
                ingress: [
                    {
                        from: [{ podSelector: { matchLabels: { app: "hive" } } }],
                        ports: [{ port: 5432 }, { port: 8080 }],
                    },
                    { from: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: 8080 }] },
                    {
                        from: [{ namespaceSelector: { matchLabels: { team: "bi" } } }],
                        ports: [{ port: 3000, endPort: 4000 }],
                    },
                    { from: [{ podSelector: { matchLabels: { app: "ops" } } }], ports: [{ port: "postgres" }] },
                    { from: [{ podSelector: { matchLabels: { app: "debug" } } }] },
                    { ports: [{ port: 5432, protocol: "UDP" }] },
                ],
            }),
        ];
        assert.deepEqual(opaqueMirrors(policies, "Ingress", opaque), [
            { podSelector: { matchLabels: { app: "pg" } }, from: [{ podSelector: { matchLabels: { app: "debug" } } }] },
            {
                podSelector: { matchLabels: { app: "pg" } },
                ports: ["postgres"],
                from: [{ podSelector: { matchLabels: { app: "ops" } } }],
            },
            {
                podSelector: { matchLabels: { app: "pg" } },
                ports: [3306],
                from: [{ namespaceSelector: { matchLabels: { team: "bi" } } }],
            },
            {
                podSelector: { matchLabels: { app: "pg" } },
                ports: [5432],
                from: [{ podSelector: { matchLabels: { app: "hive" } } }],
            },
        ]);
        assert.deepEqual(opaqueMirrors(policies, "Egress", opaque), []);
    });

    it("canonical forms do not depend on the order things are written in", () => {
        const a: Peer[] = [
            {
                podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["b", "a"] }] },
                namespaceSelector: { matchLabels: { y: "1", x: "2" } },
            },
            { ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16", "10.0.0.0/16"] } },
        ];
        const b: Peer[] = [
            { ipBlock: { cidr: "10.0.0.0/8", except: ["10.0.0.0/16", "10.1.0.0/16"] } },
            {
                namespaceSelector: { matchLabels: { x: "2", y: "1" } },
                podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["a", "b"] }] },
            },
        ];
        assert.equal(
            JSON.stringify(canonicalMirror({ podSelector: {}, ports: [5432, 3306], from: a }, "Ingress")),
            JSON.stringify(
                canonicalMirror({ podSelector: { matchLabels: {} }, ports: [3306, 5432], from: b }, "Ingress"),
            ),
        );
    });
});
