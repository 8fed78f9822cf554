/**
 * The first enable cannot cut traffic, nor open it: the mesh's NetworkPolicies, evaluated with
 * Kubernetes semantics (cluster/networkPolicy.cjs, itself tested on the conformance suite's cases
 * in networkPolicyEvaluator.test.ts), over a matrix of the namespaces' own postures — no policy,
 * ingress default-deny with allow-lists, egress default-deny, both — for meshed and unmeshed peers,
 * application ports, opaque ports, the proxy ports, DNS, the control plane, Traefik in kube-system.
 *
 * The mesh's transport (transparent mode, components/linkerdControlPlane.ts): meshed -> meshed
 * traffic keeps its port; to an opaque port of a meshed pod it travels to 4143 (linkerd2 edge-26.8.3
 * controller/api/destination/endpoint_translator.go). "Before" evaluates each flow on its own port
 * against the namespaces' own policies; "after" evaluates what the wire then carries against those
 * plus the mesh's. And the network preflight (cluster/mesh-check.mjs `network-posture`) refuses
 * every posture the config does not describe, with the fix, before anything is applied.
 */
import { strict as assert } from "node:assert";
import {
    allowed,
    Endpoint,
    namespaceIsolation,
    NetworkPolicyObject,
    opaqueMirrors,
    Pod,
    PolicyRule,
} from "../cluster/networkPolicy.cjs";
import {
    meshedNamespacePolicies,
    NamespacePosture,
    NetworkPolicySpec,
    platformPolicies,
    ROTATION_GATE_POD,
} from "../lib/networkPolicies";
import { CHARTS, LINKERD_DEFAULT_OPAQUE_PORTS, PORTS } from "../lib/registry";
import { runScript } from "./fakeCluster";
import { runStackOk } from "./helpers";
import { ofType, one } from "../tools/mockRuntime";
import { chartDefaults, upstream } from "./upstream";

// === The cluster ===

const pod = (
    namespace: string,
    name: string,
    labels: Record<string, string>,
    ports: [string, number, string?][],
    ipSuffix: number,
): Pod => ({
    namespace,
    name,
    labels,
    ip: `10.42.0.${ipSuffix}`,
    ports: ports.map(([portName, containerPort, protocol]) => ({
        name: portName,
        containerPort,
        protocol: protocol ?? "TCP",
    })),
});
const TRINO = pod("akko", "trino", { app: "trino" }, [["http", 8080]], 1);
const SPARK = pod("akko", "spark", { app: "spark-connect" }, [["grpc", 15002]], 2);
const PG = pod("data", "pg", { app: "pg" }, [["postgres", 5432]], 3);
const KAFKA = pod("data", "kafka", { app: "kafka" }, [["kafka", 9092]], 4);
const HIVE = pod("data", "hive", { app: "hive" }, [["thrift", 9083]], 5);
const CLIENT = pod("legacy", "client", { app: "client" }, [["http", 8000]], 6);
const TRAEFIK = pod("kube-system", "traefik", { "app.kubernetes.io/name": "traefik" }, [["web", 8000]], 7);
const DNS = pod(
    "kube-system",
    "coredns",
    { "k8s-app": "kube-dns" },
    [
        ["dns", 53, "UDP"],
        ["dns-tcp", 53],
    ],
    8,
);
const IDENTITY = pod(
    "linkerd",
    "identity",
    { "linkerd.io/control-plane-component": "identity" },
    [["grpc", PORTS.identityGrpc]],
    9,
);
const DESTINATION = pod(
    "linkerd",
    "destination",
    { "linkerd.io/control-plane-component": "destination" },
    [
        ["grpc", PORTS.destinationGrpc],
        ["policy-grpc", PORTS.policyGrpc],
    ],
    10,
);
const PROMETHEUS = pod(
    "linkerd-viz",
    "prometheus",
    { "linkerd.io/extension": "viz", component: "prometheus" },
    [["http", PORTS.prometheus]],
    11,
);
const TAP = pod(
    "linkerd-viz",
    "tap",
    { "linkerd.io/extension": "viz", component: "tap" },
    [["grpc", PORTS.vizTapGrpc]],
    12,
);
const EXTERNAL: Endpoint = { ip: "192.0.2.10" };

const PODS = [TRINO, SPARK, PG, KAFKA, HIVE, CLIENT, TRAEFIK, DNS, IDENTITY, DESTINATION, PROMETHEUS, TAP];
const MESHED_NAMESPACES = ["akko", "data", "linkerd", "linkerd-viz"];
const isMeshed = (endpoint: Endpoint, traefikMeshed: boolean) =>
    endpoint.namespace !== undefined &&
    (MESHED_NAMESPACES.includes(endpoint.namespace) || (traefikMeshed && endpoint === TRAEFIK));
const NAMESPACE_LABELS = {
    akko: { team: "platform" },
    data: { team: "data" },
    legacy: {},
    "kube-system": {},
    linkerd: {},
    "linkerd-viz": {},
};
/** `data` names Kafka's port opaque (it is not among Linkerd's defaults). */
const OPAQUE: Record<string, number[]> = {
    akko: [...LINKERD_DEFAULT_OPAQUE_PORTS],
    data: [...LINKERD_DEFAULT_OPAQUE_PORTS, 9092].sort((a, b) => a - b),
};
const opaqueOf = (endpoint: Endpoint) =>
    (endpoint.namespace && OPAQUE[endpoint.namespace]) || [...LINKERD_DEFAULT_OPAQUE_PORTS];

// === The namespaces' own policies, by posture ===

type Posture = "none" | "ingress" | "egress" | "both";
const POSTURES: Posture[] = ["none", "ingress", "egress", "both"];
const inNs = (namespace: string, labels?: Record<string, string>) => ({
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
    ...(labels ? { podSelector: { matchLabels: labels } } : {}),
});
const netpol = (
    namespace: string,
    name: string,
    podSelector: object,
    spec: { policyTypes: ("Ingress" | "Egress")[]; ingress?: PolicyRule[]; egress?: PolicyRule[] },
) => ({ metadata: { name, namespace }, spec: { podSelector, ...spec } }) as NetworkPolicyObject;
const DNS_RULE: PolicyRule = {
    to: [inNs("kube-system", { "k8s-app": "kube-dns" })],
    ports: [
        { protocol: "UDP", port: 53 },
        { protocol: "TCP", port: 53 },
    ],
};

/** Ingress default-deny with allow-lists: Traefik to Trino, Spark Connect within akko. */
function akkoPolicies(posture: Posture): NetworkPolicyObject[] {
    const ingress = [
        netpol("akko", "deny-ingress", {}, { policyTypes: ["Ingress"] }),
        netpol(
            "akko",
            "trino-from-traefik",
            { matchLabels: { app: "trino" } },
            {
                policyTypes: ["Ingress"],
                ingress: [
                    { from: [inNs("kube-system", { "app.kubernetes.io/name": "traefik" })], ports: [{ port: 8080 }] },
                ],
            },
        ),
        netpol(
            "akko",
            "spark-connect",
            { matchLabels: { app: "spark-connect" } },
            { policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }], ports: [{ port: "grpc" }] }] },
        ),
    ];
    const egress = [
        netpol("akko", "deny-egress", {}, { policyTypes: ["Egress"], egress: [DNS_RULE] }),
        // Trino reads the metastore's database and the outside; Spark reads Kafka and the metastore.
        netpol(
            "akko",
            "trino-out",
            { matchLabels: { app: "trino" } },
            {
                policyTypes: ["Egress"],
                egress: [
                    { to: [inNs("data", { app: "pg" })], ports: [{ port: 5432 }] },
                    { to: [{ ipBlock: { cidr: "192.0.2.0/24" } }], ports: [{ port: 443 }] },
                ],
            },
        ),
        netpol(
            "akko",
            "spark-out",
            { matchLabels: { app: "spark-connect" } },
            {
                policyTypes: ["Egress"],
                egress: [
                    {
                        to: [{ namespaceSelector: { matchLabels: { team: "data" } } }],
                        ports: [{ port: 9092 }, { port: 9083 }],
                    },
                ],
            },
        ),
    ];
    return [
        ...(posture === "ingress" || posture === "both" ? ingress : []),
        ...(posture === "egress" || posture === "both" ? egress : []),
    ];
}

/** Postgres for the metastore, Trino and a legacy client (by port name and number), Kafka for akko, the metastore for Spark. */
function dataPolicies(posture: Posture): NetworkPolicyObject[] {
    const ingress = [
        netpol("data", "deny-ingress", {}, { policyTypes: ["Ingress"] }),
        netpol(
            "data",
            "pg",
            { matchLabels: { app: "pg" } },
            {
                policyTypes: ["Ingress"],
                ingress: [
                    { from: [{ podSelector: { matchLabels: { app: "hive" } } }], ports: [{ port: "postgres" }] },
                    { from: [inNs("akko", { app: "trino" }), inNs("legacy")], ports: [{ port: 5432 }] },
                ],
            },
        ),
        netpol(
            "data",
            "kafka",
            { matchLabels: { app: "kafka" } },
            {
                policyTypes: ["Ingress"],
                ingress: [
                    {
                        from: [{ namespaceSelector: { matchLabels: { team: "platform" } } }],
                        ports: [{ port: 9000, endPort: 9100 }],
                    },
                ],
            },
        ),
        netpol(
            "data",
            "hive",
            { matchLabels: { app: "hive" } },
            {
                policyTypes: ["Ingress"],
                ingress: [{ from: [inNs("akko", { app: "spark-connect" })], ports: [{ port: 9083 }] }],
            },
        ),
    ];
    const egress = [
        netpol("data", "deny-egress", {}, { policyTypes: ["Egress"] }),
        netpol("data", "dns", {}, { policyTypes: ["Egress"], egress: [DNS_RULE] }),
        netpol(
            "data",
            "hive-out",
            { matchLabels: { app: "hive" } },
            {
                policyTypes: ["Egress"],
                egress: [{ to: [{ podSelector: { matchLabels: { app: "pg" } } }], ports: [{ port: 5432 }] }],
            },
        ),
    ];
    return [
        ...(posture === "ingress" || posture === "both" ? ingress : []),
        ...(posture === "egress" || posture === "both" ? egress : []),
    ];
}

/** The config that describes a namespace's policies: what the preflight accepts (checked below). */
function describedPosture(policies: NetworkPolicyObject[], opaque: number[], everyOpaque: number[]): NamespacePosture {
    return {
        denyIngress: namespaceIsolation(policies, "Ingress").isolation === "all",
        denyEgress: namespaceIsolation(policies, "Egress").isolation === "all",
        opaqueIngress: opaqueMirrors(policies, "Ingress", opaque),
        opaqueEgress: opaqueMirrors(policies, "Egress", everyOpaque),
    };
}
const EVERY_OPAQUE = [...new Set(Object.values(OPAQUE).flat())].sort((a, b) => a - b);

/** The mesh's policies for both namespaces, as the builder the program uses makes them. */
function meshPolicies(own: Record<string, NetworkPolicyObject[]>): NetworkPolicySpec[] {
    return ["akko", "data"].flatMap((namespace) =>
        meshedNamespacePolicies({
            namespace,
            controlPlaneNamespace: "linkerd",
            vizNamespace: "linkerd-viz",
            scraper: {
                namespace: "linkerd-viz",
                podSelector: { "linkerd.io/extension": "viz", component: "prometheus" },
            },
            posture: describedPosture(own[namespace], OPAQUE[namespace], EVERY_OPAQUE),
        }),
    );
}
const asObject = (spec: NetworkPolicySpec): NetworkPolicyObject => ({
    metadata: { name: spec.name, namespace: spec.namespace },
    spec: spec.spec,
});

// === Flows ===

interface AppFlow {
    from: Endpoint;
    to: Pod;
    port: number;
    protocol: "TCP" | "UDP";
}
const label = (endpoint: Endpoint) =>
    endpoint.namespace ? `${endpoint.namespace}/${endpoint.name}` : (endpoint.ip ?? "node");
const show = (flow: { from: Endpoint; to: Endpoint; port: number; protocol?: string }) =>
    `${label(flow.from)} -> ${label(flow.to)}:${flow.port}${flow.protocol === "UDP" ? "/udp" : ""}`;

/** Every application flow: each source to each port a pod serves. */
const APP_FLOWS: AppFlow[] = [...PODS, EXTERNAL].flatMap((from) =>
    PODS.filter((to) => to !== from).flatMap((to) =>
        (to.ports ?? []).map((p) => ({
            from,
            to,
            port: p.containerPort,
            protocol: (p.protocol ?? "TCP") as "TCP" | "UDP",
        })),
    ),
);
/** What the wire carries for an application flow once the mesh is on. */
function onTheWire(flow: AppFlow, traefikMeshed: boolean) {
    const opaque =
        isMeshed(flow.from, traefikMeshed) &&
        isMeshed(flow.to, traefikMeshed) &&
        flow.protocol === "TCP" &&
        opaqueOf(flow.to).includes(flow.port);
    return opaque ? { ...flow, port: PORTS.proxyInbound } : flow;
}
/** Every flow the wire may carry, to any port anyone uses, the proxy's included. */
const WIRE_PORTS: [number, "TCP" | "UDP"][] = [
    ...[
        ...new Set([
            ...PODS.flatMap((p) => (p.ports ?? []).map((q) => q.containerPort)),
            443,
            PORTS.proxyInbound,
            PORTS.proxyAdmin,
            PORTS.proxyControl,
        ]),
    ].map((port) => [port, "TCP"] as [number, "TCP"]),
    [53, "UDP"],
];
const WIRE_FLOWS = [...PODS, EXTERNAL].flatMap((from) =>
    [...PODS, EXTERNAL]
        .filter((to) => to !== from)
        .flatMap((to) => WIRE_PORTS.map(([port, protocol]) => ({ from, to, port, protocol }))),
);

/** Container port names some rule of the namespaces' own policies names (a name may resolve to an opaque port). */
function namedInRules(policies: NetworkPolicyObject[]): Set<string> {
    const rules = policies.flatMap((p) => [...(p.spec.ingress ?? []), ...(p.spec.egress ?? [])]);
    return new Set(
        rules
            .flatMap((r) => (r.ports ?? []).map((p) => p.port))
            .filter((port): port is string => typeof port === "string"),
    );
}

/**
 * What the mesh itself needs and may newly allow, enumerated: the scraper to every meshed pod's
 * admin port, tap to their control port; from a meshed namespace that isolates egress, DNS and the
 * control plane's gRPC ports; and the proxy port 4143 between exactly the ends the namespaces' own
 * rules admit on an opaque port (the transport of those flows) — or on a port they name, which may
 * resolve to an opaque one (the mirror cannot tell without reading pods; nothing but opaque ports
 * travels on 4143, so no application flow opens: the app-level check proves it).
 */
function meshNeeds(
    flow: { from: Endpoint; to: Endpoint; port: number; protocol?: string },
    before: (f: AppFlow) => boolean,
    named: Set<string>,
): boolean {
    const meshedDst = flow.to.namespace !== undefined && MESHED_NAMESPACES.includes(flow.to.namespace);
    if (flow.from === PROMETHEUS && meshedDst && flow.port === PORTS.proxyAdmin) return true;
    if (flow.from === TAP && meshedDst && flow.port === PORTS.proxyControl) return true;
    if (flow.from.namespace && ["akko", "data"].includes(flow.from.namespace)) {
        if (flow.to === DNS && flow.port === 53) return true;
        if (
            (flow.to === IDENTITY || flow.to === DESTINATION) &&
            ([PORTS.identityGrpc, PORTS.destinationGrpc, PORTS.policyGrpc] as number[]).includes(flow.port)
        )
            return true;
    }
    if (flow.port === PORTS.proxyInbound && (flow.protocol ?? "TCP") === "TCP" && flow.to.namespace !== undefined) {
        return proxyPortAdmits(flow.from, flow.to, before, named);
    }
    return false;
}

/**
 * Whether the namespaces' own policies admitted `from` to `to` on a port that now reaches `to`
 * through the proxy port: one of its opaque ports (whether it serves it or not: a rule admits a
 * port, not a listener), or a port a rule names. Then every opaque port of `to` is reachable from
 * `from` through 4143: the granularity of a NetworkPolicy on the proxy port is the pods and peers
 * of the mirrored rule, never the port (docs/admin/mtls.md; Linkerd authorization in strict mode
 * segments per port).
 */
function proxyPortAdmits(from: Endpoint, to: Pod, before: (f: AppFlow) => boolean, named: Set<string>): boolean {
    return (
        opaqueOf(to).some((port) => before({ from, to, port, protocol: "TCP" })) ||
        (to.ports ?? []).some(
            (p) =>
                p.name !== undefined &&
                named.has(p.name) &&
                before({ from, to, port: p.containerPort, protocol: "TCP" }),
        )
    );
}

function check(akko: Posture, data: Posture, traefikMeshed: boolean) {
    const own = { akko: akkoPolicies(akko), data: dataPolicies(data) };
    const live = { namespaces: NAMESPACE_LABELS, policies: [...own.akko, ...own.data] };
    const meshed = { namespaces: NAMESPACE_LABELS, policies: [...live.policies, ...meshPolicies(own).map(asObject)] };
    const before = (flow: AppFlow) => allowed(live, flow);
    const named = namedInRules(live.policies);
    const cut: string[] = [];
    const opened: string[] = [];
    const tradeOff: string[] = [];
    for (const flow of APP_FLOWS) {
        const was = before(flow);
        const wire = onTheWire(flow, traefikMeshed);
        const is = allowed(meshed, wire);
        if (was && !is) cut.push(show(flow));
        if (!was && is && !meshNeeds(flow, before, named)) {
            if (wire.port === PORTS.proxyInbound && proxyPortAdmits(flow.from, flow.to, before, named))
                tradeOff.push(show(flow));
            else opened.push(show(flow));
        }
    }
    const unexplained = WIRE_FLOWS.filter(
        (flow) => allowed(meshed, flow) && !allowed(live, flow) && !meshNeeds(flow, before, named),
    ).map(show);
    // The proxies must reach what they need, or pods never become ready.
    const needs = [TRINO, SPARK, PG, KAFKA, HIVE].flatMap((p) => [
        { from: p, to: IDENTITY, port: PORTS.identityGrpc },
        { from: p, to: DESTINATION, port: PORTS.destinationGrpc },
        { from: p, to: DESTINATION, port: PORTS.policyGrpc },
        { from: p, to: DNS, port: 53, protocol: "UDP" as const },
        { from: PROMETHEUS, to: p, port: PORTS.proxyAdmin },
        { from: TAP, to: p, port: PORTS.proxyControl },
    ]);
    const unmet = needs.filter((flow) => !allowed(meshed, flow)).map(show);
    return { cut, opened, tradeOff, unexplained, unmet };
}

describe("the mesh's NetworkPolicies over the matrix of postures", () => {
    it("the flows the matrix exercises: opaque ports of meshed pods ride the proxy port, the rest keeps its port", () => {
        const wire = (from: Endpoint, to: Pod, port: number) =>
            onTheWire({ from, to, port, protocol: "TCP" }, true).port;
        assert.equal(wire(TRINO, PG, 5432), PORTS.proxyInbound, "meshed -> meshed Postgres (a default opaque port)");
        assert.equal(wire(SPARK, KAFKA, 9092), PORTS.proxyInbound, "meshed -> meshed Kafka (data's own opaque port)");
        assert.equal(wire(SPARK, HIVE, 9083), 9083, "meshed -> meshed HTTP-like: transparent");
        assert.equal(wire(CLIENT, PG, 5432), 5432, "unmeshed -> meshed: plaintext on the port");
        assert.equal(wire(TRAEFIK, TRINO, 8080), 8080, "the meshed ingress controller: transparent");
        assert.ok(APP_FLOWS.length > 100 && WIRE_FLOWS.length > 1000);
    });

    for (const akko of POSTURES) {
        for (const data of POSTURES) {
            it(`akko ${akko}, data ${data}: every flow allowed before is allowed after, none denied before is allowed after but what the mesh needs (and the enumerated trade-off), the proxies reach what they need`, () => {
                for (const traefikMeshed of [true, false]) {
                    const { cut, opened, tradeOff, unexplained, unmet } = check(akko, data, traefikMeshed);
                    const context = `(Traefik ${traefikMeshed ? "meshed" : "not meshed"})`;
                    assert.deepEqual(cut, [], `cut ${context}`);
                    assert.deepEqual(opened, [], `opened ${context}`);
                    // The enumerated trade-off: Spark may send to the data namespace's pods on Kafka's opaque port,
                    // so through the proxy port it reaches their other opaque ports too — unless data's own ingress
                    // policies stop it (then the mirror of pg's rules admits Trino and Hive only).
                    const spill = (akko === "egress" || akko === "both") && (data === "none" || data === "egress");
                    assert.deepEqual(
                        tradeOff,
                        spill ? ["akko/spark -> data/pg:5432"] : [],
                        `the proxy port's granularity ${context}`,
                    );
                    assert.deepEqual(unexplained, [], `newly allowed beyond what the mesh needs ${context}`);
                    assert.deepEqual(unmet, [], `what the proxies need ${context}`);
                }
            });
        }
    }

    it("the matrix catches a policy that isolates what the namespace did not (the mesh's policy before issue 18)", () => {
        // The previous program's policy: every pod, Ingress, the proxy port from every meshed namespace only.
        const previous = netpol(
            "akko",
            "linkerd-mesh",
            {},
            {
                policyTypes: ["Ingress"],
                ingress: [
                    {
                        from: [
                            {
                                namespaceSelector: {
                                    matchExpressions: [
                                        {
                                            key: "kubernetes.io/metadata.name",
                                            operator: "In",
                                            values: MESHED_NAMESPACES,
                                        },
                                    ],
                                },
                            },
                        ],
                        ports: [{ port: 4143 }],
                    },
                ],
            },
        );
        const live = { namespaces: NAMESPACE_LABELS, policies: [] };
        const after = { namespaces: NAMESPACE_LABELS, policies: [previous] };
        const cut = APP_FLOWS.filter((flow) => allowed(live, flow) && !allowed(after, onTheWire(flow, true))).map(show);
        assert.ok(cut.includes("kube-system/traefik -> akko/trino:8080"), "Traefik's requests");
        assert.ok(cut.includes("data/hive -> akko/spark:15002"), "meshed peers on an application port");
        // And, in a namespace with an ingress default-deny, it opened the proxy port to every meshed pod:
        // Postgres, reached by any meshed pod whatever the app-port policies say.
        const own = dataPolicies("ingress");
        const wide = netpol("data", "linkerd-mesh", {}, { ...previous.spec, policyTypes: ["Ingress"] } as any);
        const opened = APP_FLOWS.filter(
            (flow) =>
                !allowed({ namespaces: NAMESPACE_LABELS, policies: own }, flow) &&
                allowed({ namespaces: NAMESPACE_LABELS, policies: [...own, wide] }, onTheWire(flow, true)),
        ).map(show);
        assert.ok(opened.includes("akko/spark -> data/pg:5432"), opened.join(", "));
    });

    it("the trade-off, enumerated: a NetworkPolicy cannot tell two opaque ports of one pod apart", () => {
        // A pod serving Postgres (to Trino only) and Redis (to Spark only): the proxy port admits both peers.
        const both = pod(
            "data",
            "cache",
            { app: "cache" },
            [
                ["postgres", 5432],
                ["redis", 6379],
            ],
            20,
        );
        const own = [
            netpol("data", "deny-ingress", {}, { policyTypes: ["Ingress"] }),
            netpol(
                "data",
                "cache",
                { matchLabels: { app: "cache" } },
                {
                    policyTypes: ["Ingress"],
                    ingress: [
                        { from: [inNs("akko", { app: "trino" })], ports: [{ port: 5432 }] },
                        { from: [inNs("akko", { app: "spark-connect" })], ports: [{ port: 6379 }] },
                    ],
                },
            ),
        ];
        const mesh = meshPolicies({ akko: [], data: own }).map(asObject);
        const live = { namespaces: NAMESPACE_LABELS, policies: own };
        const after = { namespaces: NAMESPACE_LABELS, policies: [...own, ...mesh] };
        const flows = [TRINO, SPARK].flatMap((from) =>
            [5432, 6379].map((port) => ({ from, to: both, port, protocol: "TCP" as const })),
        );
        const opened = flows.filter((f) => !allowed(live, f) && allowed(after, onTheWire(f, true))).map(show);
        assert.deepEqual(
            opened,
            ["akko/trino -> data/cache:6379", "akko/spark -> data/cache:5432"],
            "what Linkerd authorization (strict mode) must segment",
        );
        assert.deepEqual(
            flows.filter((f) => allowed(live, f) && !allowed(after, onTheWire(f, true))),
            [],
            "and nothing is cut",
        );
    });
});

// === The preflight, against a fake kubectl ===

/** Runs the network preflight with a declaration against live policies per namespace. */
function preflight(declared: Record<string, object>, live: Record<string, NetworkPolicyObject[]>) {
    return runScript({
        issuer: { certPem: "unused" },
        bundle: "unused",
        answer: Object.entries(live).map(([namespace, items]) => [
            `get networkpolicies.networking.k8s.io -n ${namespace}`,
            JSON.stringify({ items }),
        ]),
        env: { TASKS: "network-posture", NETWORK_POSTURE: JSON.stringify(declared) },
    });
}
const declaration = (posture: NamespacePosture, opaquePorts: number[]) => ({ ...posture, opaquePorts });

describe("the network preflight", () => {
    it("accepts every posture of the matrix described as it is, reading only NetworkPolicies", function () {
        this.timeout(60_000);
        for (const akko of POSTURES) {
            for (const data of POSTURES) {
                const own = { akko: akkoPolicies(akko), data: dataPolicies(data) };
                const result = preflight(
                    {
                        akko: declaration(describedPosture(own.akko, OPAQUE.akko, EVERY_OPAQUE), OPAQUE.akko),
                        data: declaration(describedPosture(own.data, OPAQUE.data, EVERY_OPAQUE), OPAQUE.data),
                    },
                    own,
                );
                assert.equal(result.status, 0, `akko ${akko}, data ${data}: ${result.stdout}${result.stderr}`);
                // Spark's egress rule to the whole data namespace on Kafka's port: the matrix's enumerated trade-off, named.
                const wide =
                    /network: akko: note: .*"app":"spark-connect".* admits an opaque port to whole namespaces/.test(
                        result.stdout,
                    );
                assert.equal(wide, akko === "egress" || akko === "both", result.stdout);
                assert.deepEqual(result.calls, [
                    "get networkpolicies.networking.k8s.io -n akko -o json",
                    "get networkpolicies.networking.k8s.io -n data -o json",
                ]);
            }
        }
    });

    const DEFAULT = {
        denyIngress: true,
        denyEgress: false,
        opaqueIngress: [],
        opaqueEgress: [],
        opaquePorts: OPAQUE.akko,
    };

    it("a namespace without policies, under the default config (ingress isolated): refused with the fix, before anything changes", () => {
        const result = preflight({ akko: DEFAULT }, { akko: [] });
        assert.equal(result.status, 1);
        assert.match(
            result.stderr,
            /network: akko: its own policies do not isolate ingress but the config says denyIngress true: pulumi config set --path mtls\.namespaceOptions\.akko\.denyIngress false/,
        );
    });

    it("a namespace that isolates egress but is not marked denyEgress: refused (its proxies could not reach identity)", () => {
        const own = [...akkoPolicies("both")];
        const result = preflight(
            { akko: { ...DEFAULT, opaqueIngress: opaqueMirrors(own, "Ingress", OPAQUE.akko) } },
            { akko: own },
        );
        assert.equal(result.status, 1);
        assert.match(
            result.stderr,
            /network: akko: its own policies isolate egress \(deny-egress, spark-out, trino-out\) but the config says denyEgress false: pulumi config set --path mtls\.namespaceOptions\.akko\.denyEgress true/,
        );
    });

    it("a policy that isolates some pods only: refused, whatever the config says (the mesh's would isolate the others)", () => {
        const partial = dataPolicies("ingress").filter((p) => p.metadata.name !== "deny-ingress");
        for (const denyIngress of [true, false]) {
            const result = preflight(
                { data: { ...DEFAULT, denyIngress, opaquePorts: OPAQUE.data } },
                { data: partial },
            );
            assert.equal(result.status, 1);
            assert.match(
                result.stderr,
                /network: data: hive, kafka, pg isolate\(s\) ingress for some pods only \(no policy with podSelector \{\} lists Ingress\)/,
            );
        }
    });

    it("opaque rules not mirrored, or mirrored but not live: refused, printing the list that matches the cluster", () => {
        const own = dataPolicies("ingress");
        const missing = preflight({ data: { ...DEFAULT, opaquePorts: OPAQUE.data } }, { data: own });
        assert.equal(missing.status, 1);
        assert.match(
            missing.stderr,
            /not mirrored \(their meshed clients would be cut\): \{"podSelector":\{"matchLabels":\{"app":"kafka"\}\}/,
        );
        const fix = /opaqueIngress: (\[.*\])$/m.exec(missing.stderr)![1];
        assert.deepEqual(JSON.parse(fix), opaqueMirrors(own, "Ingress", OPAQUE.data));
        const accepted = preflight(
            { data: { ...DEFAULT, opaqueIngress: JSON.parse(fix), opaquePorts: OPAQUE.data } },
            { data: own },
        );
        assert.equal(accepted.status, 0, accepted.stderr);

        const stale = { podSelector: { matchLabels: { app: "gone" } }, ports: [5432], from: [{ podSelector: {} }] };
        const extra = preflight(
            { data: { ...DEFAULT, opaqueIngress: [...JSON.parse(fix), stale], opaquePorts: OPAQUE.data } },
            { data: own },
        );
        assert.equal(extra.status, 1);
        assert.match(
            extra.stderr,
            /mirrored but in no live rule \(the proxy port would admit them\): \{"podSelector":\{"matchLabels":\{"app":"gone"\}\}/,
        );
    });

    it("the mesh's own policies from an earlier run do not count as the namespace's", () => {
        const previous = {
            metadata: { name: "linkerd-mesh", namespace: "akko", labels: { "app.kubernetes.io/part-of": "akko-mtls" } },
            spec: { podSelector: {}, policyTypes: ["Ingress" as const], ingress: [{ ports: [{ port: 4143 }] }] },
        };
        const result = preflight({ akko: { ...DEFAULT, denyIngress: false } }, { akko: [previous] });
        assert.equal(result.status, 0, result.stderr);
        // A look-alike the operator wrote without the label is theirs, and counts.
        const lookalike = { ...previous, metadata: { name: "linkerd-mesh", namespace: "akko" } };
        assert.equal(preflight({ akko: { ...DEFAULT, denyIngress: false } }, { akko: [lookalike] }).status, 1);
    });

    it("an answer that is not a list fails the run", () => {
        const result = runScript({
            issuer: { certPem: "unused" },
            bundle: "unused",
            answer: [["get networkpolicies.networking.k8s.io -n akko", "{}"]],
            env: { TASKS: "network-posture", NETWORK_POSTURE: JSON.stringify({ akko: DEFAULT }) },
        });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /the NetworkPolicy list of akko is not a list/);
    });
});

describe("the program's NetworkPolicies for a posture", () => {
    it("are the builder's, in the namespaces the config describes (the matrix's inputs reach the cluster as evaluated)", async () => {
        const own = dataPolicies("both");
        const posture = describedPosture(own, OPAQUE.data, EVERY_OPAQUE);
        const run = await runStackOk("netcup", {
            "mtls.enabled": true,
            "mtls.namespaces": ["akko", "data"],
            "mtls.namespaceOptions": { akko: { denyIngress: false }, data: { ...posture, opaquePorts: [9092] } },
        });
        const registered = ofType(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy").filter((p) =>
            ["akko", "data"].includes(p.inputs.metadata.namespace),
        );
        const expected = meshPolicies({ akko: [], data: own });
        const byName = (a: any[], b: any[]) => `${a[0]}/${a[1]}`.localeCompare(`${b[0]}/${b[1]}`);
        assert.deepEqual(
            registered.map((p) => [p.inputs.metadata.namespace, p.inputs.metadata.name, p.inputs.spec]).sort(byName),
            expected.map((p) => [p.namespace, p.name, JSON.parse(JSON.stringify(p.spec))]).sort(byName),
        );
        assert.equal(
            registered.length,
            4,
            "data: the mesh's policy, the mirrors of pg's and Kafka's ingress and of Hive's egress; akko isolates nothing: none",
        );
        const env = Object.fromEntries(
            one(
                run,
                "kubernetes:batch/v1:Job",
                "akko-maintenance-network-preflight",
            ).inputs.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value]),
        );
        assert.deepEqual(
            JSON.parse(env.NETWORK_POSTURE).data.opaquePorts,
            OPAQUE.data,
            "Linkerd's defaults and the namespace's",
        );
    });

    it("the registry's default opaque ports are the pinned chart's (values.yaml proxy.opaquePorts)", async function () {
        const values = await upstream(this, () => chartDefaults(CHARTS.linkerdControlPlane));
        assert.deepEqual(
            String(values.proxy.opaquePorts)
                .split(",")
                .map(Number)
                .sort((a, b) => a - b),
            [...LINKERD_DEFAULT_OPAQUE_PORTS],
        );
    });
});

describe("the viz dashboard behind an Ingress (linkerd.networkPolicies)", () => {
    const vizPolicy = (dashboardIngressFrom?: ReturnType<typeof inNs>) =>
        asObject(
            platformPolicies({
                controlPlaneNamespace: "linkerd",
                meshNamespaces: ["akko"],
                vizNamespace: "linkerd-viz",
                dashboardIngressFrom,
            }).find((p) => p.namespace === "linkerd-viz")!,
        );
    const WEB = pod(
        "linkerd-viz",
        "web",
        { "linkerd.io/extension": "viz", component: "web" },
        [["http", PORTS.vizWeb]],
        13,
    );

    it("admits the ingress controller's pods to web:8084, and no one else", () => {
        const policies = [vizPolicy(inNs("kube-system", { "app.kubernetes.io/name": "traefik" }))];
        const cluster = { namespaces: NAMESPACE_LABELS, policies };
        assert.equal(allowed(cluster, { from: TRAEFIK, to: WEB, port: PORTS.vizWeb }), true);
        for (const other of [DNS, TRINO, CLIENT])
            assert.equal(allowed(cluster, { from: other, to: WEB, port: PORTS.vizWeb }), false, label(other));
        assert.equal(
            allowed(cluster, { from: TRAEFIK, to: PROMETHEUS, port: PORTS.prometheus }),
            false,
            "not Prometheus",
        );
        assert.equal(
            allowed(
                { namespaces: NAMESPACE_LABELS, policies: [vizPolicy()] },
                { from: TRAEFIK, to: WEB, port: PORTS.vizWeb },
            ),
            false,
            "without the Ingress: closed",
        );
    });

    it("the program opens it only when the dashboard Ingress is on, from the controller mtls.ingress names", async () => {
        const on = await runStackOk("netcup", {
            "mtls.enabled": true,
            "linkerd.networkPolicies": true,
            "viz.dashboard.ingress": {
                enabled: true,
                host: "linkerd.akko.example.org",
                authAnnotations: {
                    "traefik.ingress.kubernetes.io/router.middlewares": "sso-forward-auth@kubernetescrd",
                },
            },
        });
        const spec = one(on, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "akko-viz-network-policy").inputs.spec;
        const cluster = {
            namespaces: NAMESPACE_LABELS,
            policies: [asObject({ name: "linkerd-viz", namespace: "linkerd-viz", spec })],
        };
        assert.equal(allowed(cluster, { from: TRAEFIK, to: WEB, port: PORTS.vizWeb }), true);
        assert.equal(allowed(cluster, { from: TRINO, to: WEB, port: PORTS.vizWeb }), false);
        const off = await runStackOk("netcup", { "mtls.enabled": true, "linkerd.networkPolicies": true });
        const closed = {
            namespaces: NAMESPACE_LABELS,
            policies: [
                asObject({
                    name: "linkerd-viz",
                    namespace: "linkerd-viz",
                    spec: one(off, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "akko-viz-network-policy").inputs
                        .spec,
                }),
            ],
        };
        assert.equal(allowed(closed, { from: TRAEFIK, to: WEB, port: PORTS.vizWeb }), false);
    });
});

describe("the rotation gate reads identity's admin port (linkerd.networkPolicies)", () => {
    const IDENTITY_ADMIN = pod(
        "linkerd",
        "identity-admin",
        { "linkerd.io/control-plane-component": "identity" },
        [
            ["ident-grpc", PORTS.identityGrpc],
            ["ident-admin", PORTS.identityAdmin],
        ],
        20,
    );
    const maintenancePod = (labels: Record<string, string>, ipSuffix: number) =>
        pod(
            "linkerd-maintenance",
            "job",
            { "app.kubernetes.io/name": "linkerd-mesh-maintenance", ...labels },
            [],
            ipSuffix,
        );

    it("from the gate Job's pods only, to identity's pods on 9990 only: what the program registers", async () => {
        const phase3 = { trustAnchorRotation: { generation: 1, phase: 2, since: "2026-01-01T00:00:00Z" } };
        const run = await runStackOk(
            "netcup",
            { "mtls.enabled": true, "linkerd.networkPolicies": true, "identity.trustAnchor.rotationPhase": 3 },
            { previousOutputs: phase3 },
        );
        const gateLabels = one(run, "kubernetes:batch/v1:Job", "akko-maintenance-rotation-gate").inputs.spec.template
            .metadata.labels;
        const rolloutLabels = one(run, "kubernetes:batch/v1:Job", "akko-maintenance-rollout").inputs.spec.template
            .metadata.labels;
        const policies = ["akko-linkerd-network-policy", "akko-maintenance-network-policy"].map((name) => {
            const registered = one(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", name).inputs;
            return asObject({
                name: registered.metadata.name,
                namespace: registered.metadata.namespace,
                spec: registered.spec,
            });
        });
        const cluster = { namespaces: { ...NAMESPACE_LABELS, "linkerd-maintenance": {} }, policies };
        const GATE = maintenancePod(gateLabels, 21);
        const ROLLOUT = maintenancePod(rolloutLabels, 22);
        assert.deepEqual({ ...gateLabels, ...ROTATION_GATE_POD }, gateLabels);
        assert.equal(allowed(cluster, { from: GATE, to: IDENTITY_ADMIN, port: PORTS.identityAdmin }), true);
        assert.equal(
            allowed(cluster, { from: ROLLOUT, to: IDENTITY_ADMIN, port: PORTS.identityAdmin }),
            false,
            "no other maintenance Job",
        );
        assert.equal(
            allowed(cluster, { from: GATE, to: IDENTITY_ADMIN, port: PORTS.identityGrpc }),
            false,
            "not its gRPC port",
        );
        assert.equal(
            allowed(cluster, { from: GATE, to: DESTINATION, port: PORTS.destinationGrpc }),
            false,
            "nothing else of the control plane",
        );
        assert.equal(
            allowed(cluster, { from: TRINO, to: IDENTITY_ADMIN, port: PORTS.identityAdmin }),
            false,
            "not from the mesh",
        );
    });
});
