/**
 * Everything the end-to-end test (tools/cli/e2e.ts) decides without a cluster: the stack
 * config it deploys, the two workloads it meshes, and whether Linkerd's own data says
 * every edge between them is mTLS. Unit-tested in `npm test`; the cluster part is not.
 */
import YAML from "yaml";
import { IMAGES, LINKERD_EDGE } from "../lib/registry";

/** Namespace of the e2e workloads: a dedicated one, never a real AKKO namespace. */
export const E2E_NAMESPACE = "akko-e2e";
/** The two workloads, each calling the other every second. */
export const E2E_WORKLOADS = ["ping", "pong"] as const;
/** busybox (httpd + wget in one small image), pinned by digest. */
export const E2E_IMAGE =
    "docker.io/library/busybox:1.37.0@sha256:bdf57e528e45e4433820e045b29b4597825a1c9e38353532d90a01445013f82e";
export const E2E_PORT = 8080;

/**
 * The ingress hop under test: k3s' Traefik (kube-system, ServiceAccount `traefik`, Service `traefik`
 * port 80), which the k3d preset meshes (mtls.ingress), routing this host to pong.
 */
export const E2E_INGRESS = {
    namespace: "kube-system",
    workload: "traefik",
    serviceAccount: "traefik",
    host: "pong.akko-e2e.local",
    backend: "pong",
} as const;
/** What ping calls to go through the ingress controller. */
export const E2E_INGRESS_URL = `http://${E2E_INGRESS.workload}.${E2E_INGRESS.namespace}.svc/`;

/**
 * The protocol classes AKKO sends through the mesh, each served by workload `engine` and called by
 * `driver` (both running {@link PROTOCOL_SCRIPT} on the pinned node image):
 * - gRPC server streaming, as Spark Connect's ExecutePlan (HTTP/2, `application/grpc`, trailers);
 * - HTTP/1.1 and HTTP/2 (prior knowledge), as Trino's coordinator and clients;
 * - a server-speaks-first protocol on an opaque port of Linkerd's defaults (MySQL's 3306: the
 *   server greets before the client writes; a port left out of the opaque list stalls here, on
 *   protocol detection);
 * - client-first TCP on a port the namespace declares opaque, as Kafka's 9092.
 * Each must be mTLS: the engine's proxy counts its inbound connections per port, with `tls`.
 */
export const E2E_PROTOCOLS = [
    { name: "grpc-stream", port: 15002, opaque: false },
    { name: "http1", port: 8080, opaque: false },
    { name: "http2", port: 8081, opaque: false },
    { name: "server-first", port: 3306, opaque: true },
    { name: "client-first", port: 9092, opaque: true },
] as const;
/** The ports the e2e namespace adds to Linkerd's default opaque ports. */
export const E2E_OPAQUE_PORTS = [9092];
export const E2E_PROTOCOL_WORKLOADS = { server: "engine", client: "driver" } as const;
/** Every Deployment the e2e runs in its namespace. */
export const E2E_ALL_WORKLOADS = [
    ...E2E_WORKLOADS,
    E2E_PROTOCOL_WORKLOADS.server,
    E2E_PROTOCOL_WORKLOADS.client,
] as const;

/**
 * Server (`serve`) and client (`call <host>`) of every protocol class, Node's standard library only.
 * The client tries each class every 2 s and prints `ok <class>` or `FAILED <class>: <why>`.
 */
export const PROTOCOL_SCRIPT = `
const [mode, host] = process.argv.slice(2);
const http = require("node:http"), http2 = require("node:http2"), net = require("node:net");
const GRPC_PATH = "/spark.connect.SparkConnectService/ExecutePlan";
const frame = (text) => { const body = Buffer.from(text); const head = Buffer.alloc(5); head.writeUInt32BE(body.length, 1); return Buffer.concat([head, body]); };
if (mode === "serve") {
  http.createServer((req, res) => res.end("http1")).listen(8080);
  http2.createServer().on("stream", (stream) => { stream.respond({ ":status": 200 }); stream.end("http2"); }).listen(8081);
  http2.createServer().on("stream", (stream, headers) => {
    if (headers[":path"] !== GRPC_PATH) { stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12" }, { endStream: true }); return; }
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    let sent = 0;
    const next = () => (sent < 3 ? (stream.write(frame("batch " + sent++)), setTimeout(next, 200)) : stream.end());
    stream.resume();
    next();
  }).listen(15002);
  net.createServer((socket) => { socket.write("greeting\\n"); socket.once("data", () => socket.end("bye\\n")); }).listen(3306);
  net.createServer((socket) => socket.once("data", (data) => socket.end(data))).listen(9092);
} else {
  const report = (name, check) => check().then(() => console.log("ok " + name), (e) => console.log("FAILED " + name + ": " + (e && e.message)));
  const timeout = (promise) => Promise.race([promise, new Promise((_, no) => setTimeout(() => no(new Error("timed out")), 5000))]);
  const body = (stream) => new Promise((yes, no) => { let data = ""; stream.on("data", (d) => (data += d)); stream.on("end", () => yes(data)); stream.on("error", no); });
  const h2 = (port, headers, payload) => new Promise((yes, no) => {
    const session = http2.connect("http://" + host + ":" + port);
    session.on("error", no);
    const stream = session.request(headers);
    let chunks = 0, trailers = {};
    stream.on("data", () => chunks++);
    stream.on("trailers", (t) => (trailers = t));
    body(stream).then((data) => { session.close(); yes({ data, chunks, trailers }); }, no);
    stream.end(payload);
  });
  const tcp = (port, serverFirst) => new Promise((yes, no) => {
    const socket = net.connect(port, host);
    let data = "";
    socket.on("error", no);
    socket.on("data", (d) => { data += d; if (serverFirst && data === "greeting\\n") socket.write("hi"); });
    socket.on("end", () => yes(data));
    if (!serverFirst) socket.write("ping");
  });
  const expect = (ok, what) => { if (!ok) throw new Error(what); };
  const round = () => Promise.all([
    report("grpc-stream", () => timeout(h2(15002, { ":method": "POST", ":path": GRPC_PATH, "content-type": "application/grpc", te: "trailers" }, frame(""))).then((r) => expect(r.chunks >= 3 && r.trailers["grpc-status"] === "0", "stream of " + r.chunks + " messages, grpc-status " + r.trailers["grpc-status"]))),
    report("http1", () => timeout(new Promise((yes, no) => http.get("http://" + host + ":8080/", (res) => body(res).then(yes, no)).on("error", no))).then((d) => expect(d === "http1", "answered " + d))),
    report("http2", () => timeout(h2(8081, { ":path": "/" })).then((r) => expect(r.data === "http2", "answered " + r.data))),
    report("server-first", () => timeout(tcp(3306, true)).then((d) => expect(d === "greeting\\nbye\\n", "got " + JSON.stringify(d)))),
    report("client-first", () => timeout(tcp(9092, false)).then((d) => expect(d === "ping", "got " + JSON.stringify(d)))),
  ]);
  const loop = () => round().then(() => setTimeout(loop, 2000));
  loop();
}
`;

/**
 * The e2e stack file: the k3d stack's config, on the current kube context, meshing only
 * the e2e namespace, with the mesh on (`enabled: false` for the disable steps). Anything
 * else the current file holds (Pulumi's `encryptionsalt`, written at stack init) is kept:
 * without it the stack's secrets could not be decrypted any more.
 */
export function e2eStackFile(k3dStackFile: string, context: string, enabled: boolean, current = ""): string {
    const document = YAML.parse(k3dStackFile) ?? {};
    const config = { ...(document.config ?? {}) };
    config["akko-mtls:cluster"] = { ...(config["akko-mtls:cluster"] ?? {}), context };
    config["akko-mtls:mtls"] = {
        ...(config["akko-mtls:mtls"] ?? {}),
        enabled,
        namespaces: [E2E_NAMESPACE],
        // Kafka-like client-first TCP; MySQL's 3306 stays opaque because the program adds Linkerd's defaults.
        namespaceOptions: { [E2E_NAMESPACE]: { opaquePorts: E2E_OPAQUE_PORTS } },
        // The mesh's NetworkPolicies are meant for namespaces that already run default-deny
        // (they allow what the mesh needs); alone in a fresh namespace they would isolate
        // its pods, DNS included.
        networkPolicies: false,
    };
    return YAML.stringify({ ...(YAML.parse(current) ?? {}), config });
}

/** Namespace, ServiceAccounts, Deployments and Services of the two workloads. */
export function workloadManifests(namespace = E2E_NAMESPACE): string {
    const objects: object[] = [
        {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: namespace, labels: { "app.kubernetes.io/part-of": "akko-mtls-e2e" } },
        },
    ];
    for (const [name, peer] of [
        [E2E_WORKLOADS[0], E2E_WORKLOADS[1]],
        [E2E_WORKLOADS[1], E2E_WORKLOADS[0]],
    ]) {
        const labels = { app: name };
        objects.push(
            { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } },
            {
                apiVersion: "apps/v1",
                kind: "Deployment",
                metadata: { name, namespace, labels },
                spec: {
                    replicas: 1,
                    selector: { matchLabels: labels },
                    template: {
                        metadata: { labels },
                        spec: {
                            serviceAccountName: name,
                            securityContext: {
                                runAsNonRoot: true,
                                runAsUser: 65534,
                                seccompProfile: { type: "RuntimeDefault" },
                            },
                            containers: [
                                {
                                    name,
                                    image: E2E_IMAGE,
                                    command: ["sh", "-c"],
                                    // Serve a page, and call the peer every second (a failed call is logged);
                                    // ping also calls pong through the ingress controller, the hop under test.
                                    args: [
                                        `echo ${name} > /www/index.html && httpd -p ${E2E_PORT} -h /www && ` +
                                            `while true; do wget -q -T 3 -O /dev/null http://${peer}:${E2E_PORT}/ || echo "call to ${peer} failed"; ` +
                                            (name === E2E_INGRESS.backend
                                                ? ""
                                                : `wget -q -T 3 -O /dev/null --header "Host: ${E2E_INGRESS.host}" ${E2E_INGRESS_URL} || echo "call through the ingress failed"; `) +
                                            "sleep 1; done",
                                    ],
                                    ports: [{ name: "http", containerPort: E2E_PORT }],
                                    readinessProbe: { tcpSocket: { port: E2E_PORT }, periodSeconds: 5 },
                                    securityContext: {
                                        allowPrivilegeEscalation: false,
                                        readOnlyRootFilesystem: true,
                                        capabilities: { drop: ["ALL"] },
                                    },
                                    resources: {
                                        requests: { cpu: "5m", memory: "8Mi" },
                                        limits: { cpu: "100m", memory: "32Mi" },
                                    },
                                    volumeMounts: [{ name: "www", mountPath: "/www" }],
                                },
                            ],
                            volumes: [{ name: "www", emptyDir: {} }],
                        },
                    },
                },
            },
            {
                apiVersion: "v1",
                kind: "Service",
                metadata: { name, namespace },
                spec: { selector: labels, ports: [{ name: "http", port: E2E_PORT, targetPort: "http" }] },
            },
        );
    }
    objects.push({
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { name: E2E_INGRESS.backend, namespace },
        spec: {
            ingressClassName: "traefik",
            rules: [
                {
                    host: E2E_INGRESS.host,
                    http: {
                        paths: [
                            {
                                path: "/",
                                pathType: "Prefix",
                                backend: { service: { name: E2E_INGRESS.backend, port: { number: E2E_PORT } } },
                            },
                        ],
                    },
                },
            ],
        },
    });
    return objects.map((o) => YAML.stringify(o)).join("---\n");
}

/** The protocol classes' server and client: a ConfigMap with the script, two Deployments, a Service. */
export function protocolManifests(namespace = E2E_NAMESPACE): string {
    const { server, client } = E2E_PROTOCOL_WORKLOADS;
    const workload = (name: string, args: string[], ports: object[]) => [
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } },
        {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name, namespace, labels: { app: name } },
            spec: {
                replicas: 1,
                selector: { matchLabels: { app: name } },
                template: {
                    metadata: { labels: { app: name } },
                    spec: {
                        serviceAccountName: name,
                        securityContext: {
                            runAsNonRoot: true,
                            runAsUser: 65534,
                            seccompProfile: { type: "RuntimeDefault" },
                        },
                        containers: [
                            {
                                name,
                                image: IMAGES.node,
                                command: ["node", "/scripts/protocols.js", ...args],
                                ports,
                                securityContext: {
                                    allowPrivilegeEscalation: false,
                                    readOnlyRootFilesystem: true,
                                    capabilities: { drop: ["ALL"] },
                                },
                                resources: {
                                    requests: { cpu: "5m", memory: "24Mi" },
                                    limits: { cpu: "200m", memory: "96Mi" },
                                },
                                volumeMounts: [{ name: "scripts", mountPath: "/scripts", readOnly: true }],
                            },
                        ],
                        volumes: [{ name: "scripts", configMap: { name: "akko-protocols" } }],
                    },
                },
            },
        },
    ];
    const objects: object[] = [
        {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: "akko-protocols", namespace },
            data: { "protocols.js": PROTOCOL_SCRIPT },
        },
        ...workload(
            server,
            ["serve"],
            E2E_PROTOCOLS.map((p) => ({ name: p.name.slice(0, 15), containerPort: p.port })),
        ),
        ...workload(client, ["call", server], []),
        {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: server, namespace },
            spec: {
                selector: { app: server },
                ports: E2E_PROTOCOLS.map((p) => ({ name: p.name.slice(0, 15), port: p.port, targetPort: p.port })),
            },
        },
    ];
    return objects.map((o) => YAML.stringify(o)).join("---\n");
}

/** Every protocol class answered as it should in the client's latest round (its log, newest last). */
export function protocolLogVerdict(log: string): Verdict {
    const latest = new Map<string, string>();
    for (const line of log.split("\n")) {
        const match = /^(ok|FAILED) ([a-z0-9-]+)/.exec(line.trim());
        if (match) latest.set(match[2], line.trim());
    }
    const details = E2E_PROTOCOLS.map(
        (p) => `${p.name} (${p.port}${p.opaque ? ", opaque" : ""}): ${latest.get(p.name) ?? "no call yet"}`,
    );
    const problems = E2E_PROTOCOLS.filter((p) => !latest.get(p.name)?.startsWith("ok ")).map(
        (p) => `${p.name}: ${latest.get(p.name) ?? "no call yet"}`,
    );
    return { ok: problems.length === 0, details, problems };
}

/**
 * Every protocol class reached the server over mTLS: its proxy's inbound `tcp_open_total` for the
 * class' port has connections with `tls="true"` and none without (an opaque port's connections
 * arrive on the proxy port but are counted under the port the transport header names, linkerd2-proxy
 * v2.366.0 linkerd/app/inbound/src/direct.rs). Labels as in linkerd2 testutil/prommatch/testdata/sampleMetrics.txt.
 */
export function protocolMetricsVerdict(text: string): Verdict {
    const inbound = parsePrometheusText(text).filter(
        (s) => s.name === "tcp_open_total" && s.labels.direction === "inbound" && s.value > 0,
    );
    const details: string[] = [];
    const problems: string[] = [];
    for (const protocol of E2E_PROTOCOLS) {
        const onPort = inbound.filter((s) => s.labels.target_port === String(protocol.port));
        const secured = onPort.filter((s) => s.labels.tls === "true").reduce((n, s) => n + s.value, 0);
        const plaintext = onPort.filter((s) => s.labels.tls !== "true");
        details.push(
            `${protocol.name} (${protocol.port}): ${secured} mTLS connections, ${plaintext.reduce((n, s) => n + s.value, 0)} without`,
        );
        if (secured === 0) problems.push(`${protocol.name}: no inbound mTLS connection on ${protocol.port}`);
        for (const s of plaintext)
            problems.push(
                `${protocol.name}: ${s.value} plaintext connections on ${protocol.port} (${s.labels.no_tls_reason ?? s.labels.tls})`,
            );
    }
    return { ok: problems.length === 0, details, problems };
}

/**
 * One edge of `linkerd viz edges -o json`: the fields of `edgesJSONStats` in
 * linkerd/linkerd2 viz/cmd/edges.go (edge-26.8.3); sample: viz/cmd/testdata/edges_one_output_json.golden.
 * `client_id`/`server_id` are shortened to `<serviceaccount>.<namespace>`; `no_tls_reason` is
 * empty for a secured edge.
 */
export interface Edge {
    src: string;
    src_namespace: string;
    dst: string;
    dst_namespace: string;
    client_id: string;
    server_id: string;
    no_tls_reason: string;
}

export interface Verdict {
    ok: boolean;
    /** What was checked, one line each, for the log. */
    details: string[];
    /** What failed; empty when ok. */
    problems: string[];
}

/** The edges `linkerd viz edges -o json` printed, or the failed verdict saying why not. */
function parseEdges(json: string): Edge[] | Verdict {
    try {
        const edges = JSON.parse(json);
        if (!Array.isArray(edges)) throw new Error("not an array");
        return edges;
    } catch (error) {
        return {
            ok: false,
            details: [],
            problems: [`linkerd viz edges did not print a JSON array: ${(error as Error).message}`],
        };
    }
}

/** Whether an edge is mTLS (no reason for plaintext, both identities known), and its log line. */
function describeEdge(edge: Edge, what: string): { secured: boolean; line: string } {
    const secured = edge.no_tls_reason === "" && edge.client_id !== "" && edge.server_id !== "";
    return {
        secured,
        line: `${what}: ${secured ? `mTLS (${edge.client_id} -> ${edge.server_id})` : `NOT secured (${edge.no_tls_reason || "no identity"})`}`,
    };
}

/**
 * Every edge between the e2e workloads must be secured, and each must call the other:
 * a secured edge has no `no_tls_reason` and both peers' identities.
 */
export function edgesVerdict(
    json: string,
    namespace = E2E_NAMESPACE,
    workloads: readonly string[] = E2E_WORKLOADS,
): Verdict {
    const edges = parseEdges(json);
    if (!Array.isArray(edges)) return edges;
    const inside = edges.filter((e) => e.src_namespace === namespace && e.dst_namespace === namespace);
    const details: string[] = [];
    const problems: string[] = [];
    for (const edge of inside) {
        const { secured, line } = describeEdge(edge, `${edge.src} -> ${edge.dst}`);
        details.push(line);
        if (!secured) problems.push(line);
        else if (edge.client_id !== `${edge.src}.${namespace}` || edge.server_id !== `${edge.dst}.${namespace}`) {
            problems.push(
                `${edge.src} -> ${edge.dst}: identities ${edge.client_id} -> ${edge.server_id} are not the workloads' ServiceAccounts`,
            );
        }
    }
    for (const src of workloads) {
        for (const dst of workloads) {
            if (src !== dst && !inside.some((e) => e.src === src && e.dst === dst))
                problems.push(`no edge ${src} -> ${dst} yet`);
        }
    }
    return { ok: problems.length === 0, details, problems };
}

/**
 * The ingress hop is mTLS: the edge from the ingress controller (another namespace; `linkerd viz
 * edges -n <e2e namespace>` lists edges with either end there, viz/metrics-api/edges.go) to the
 * backend is secured, with the controller's ServiceAccount as client and the backend's as server.
 */
export function ingressEdgeVerdict(
    json: string,
    namespace = E2E_NAMESPACE,
    ingress: typeof E2E_INGRESS = E2E_INGRESS,
): Verdict {
    const edges = parseEdges(json);
    if (!Array.isArray(edges)) return edges;
    const what = `${ingress.namespace}/${ingress.workload} -> ${namespace}/${ingress.backend}`;
    const edge = edges.find(
        (e) =>
            e.src === ingress.workload &&
            e.src_namespace === ingress.namespace &&
            e.dst === ingress.backend &&
            e.dst_namespace === namespace,
    );
    if (!edge) return { ok: false, details: [], problems: [`no edge ${what} yet`] };
    const { secured, line } = describeEdge(edge, what);
    const problems = !secured
        ? [line]
        : edge.client_id !== `${ingress.serviceAccount}.${ingress.namespace}` ||
            edge.server_id !== `${ingress.backend}.${namespace}`
          ? [
                `${what}: identities ${edge.client_id} -> ${edge.server_id} are not the controller's and the backend's ServiceAccounts`,
            ]
          : [];
    return { ok: problems.length === 0, details: [line], problems };
}

interface Sample {
    name: string;
    labels: Record<string, string>;
    value: number;
}

/** The samples of a Prometheus text exposition (what a proxy's admin port serves). */
export function parsePrometheusText(text: string): Sample[] {
    const samples: Sample[] = [];
    for (const line of text.split("\n")) {
        if (line === "" || line.startsWith("#")) continue;
        const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
        if (!match) continue;
        const labels: Record<string, string> = {};
        for (const [, key, value] of (match[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
            labels[key] = value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
        }
        samples.push({ name: match[1], labels, value: Number(match[4]) });
    }
    return samples;
}

/**
 * A proxy's own metrics (`linkerd diagnostics proxy-metrics`): inbound requests to the
 * application arrived over mTLS only. Format and labels as linkerd/linkerd2
 * testutil/prommatch/testdata/sampleMetrics.txt (edge-26.8.3); the proxy's admin port 4191
 * (kubelet probes, scrapes) and kubelet probes of the application (authz_name="probe") are
 * plaintext by design and left out.
 */
export function metricsVerdict(text: string, workload: string): Verdict {
    const inbound = parsePrometheusText(text).filter(
        (s) =>
            s.name === "request_total" &&
            s.labels.direction === "inbound" &&
            s.labels.target_port !== "4191" &&
            s.labels.authz_name !== "probe" &&
            s.value > 0,
    );
    const secured = inbound.filter((s) => s.labels.tls === "true");
    const plaintext = inbound.filter((s) => s.labels.tls !== "true");
    const details = [
        `${workload}: ${secured.reduce((n, s) => n + s.value, 0)} inbound requests over mTLS, ${plaintext.reduce((n, s) => n + s.value, 0)} without`,
    ];
    const problems = [
        ...(secured.length === 0 ? [`${workload}: no inbound request over mTLS in its proxy's metrics`] : []),
        ...plaintext.map(
            (s) =>
                `${workload}: ${s.value} plaintext inbound requests (tls=${s.labels.tls}, no_tls_reason=${s.labels.no_tls_reason ?? ""})`,
        ),
    ];
    return { ok: problems.length === 0, details, problems };
}

/** Exit statuses of `npm run e2e`. */
export const E2E_EXIT = { passed: 0, failed: 1, skipped: 3 } as const;

export interface CommandResult {
    status: number | null;
    stdout: string;
    stderr: string;
}
export type Runner = (command: string, args: string[]) => CommandResult;

/**
 * Why the e2e cannot run here, or undefined when it can: the Pulumi CLI, the Linkerd CLI,
 * a reachable kube context that is a throwaway k3d cluster (or explicitly allowed), and no
 * Linkerd on it yet (the test installs and removes its own).
 */
export function missingPrerequisite(run: Runner, env: Record<string, string | undefined>): string | undefined {
    const ok = (command: string, args: string[]) => {
        try {
            const result = run(command, args);
            return result.status === 0 ? result : undefined;
        } catch {
            return undefined;
        }
    };
    if (!ok("pulumi", ["version"])) return "the Pulumi CLI is not on PATH (https://www.pulumi.com/docs/install/)";
    if (!ok("linkerd", ["version", "--client", "--short"]))
        return `the Linkerd CLI is not on PATH (${LINKERD_EDGE}: https://linkerd.io/2/getting-started/)`;
    const context = ok("kubectl", ["config", "current-context"])?.stdout.trim();
    if (!context) return "kubectl has no current context (create one: k3d cluster create akko-e2e)";
    if (!context.startsWith("k3d-") && env.AKKO_E2E_ANY_CONTEXT !== "1") {
        return `the current context ${context} is not a k3d cluster; the e2e installs and removes a mesh, so it only runs on a throwaway cluster (AKKO_E2E_ANY_CONTEXT=1 to override)`;
    }
    if (!ok("kubectl", ["version", "--request-timeout=10s"]))
        return `the cluster of context ${context} does not answer`;
    if (ok("kubectl", ["get", "namespace", "linkerd", "--request-timeout=10s"]))
        return `context ${context} already runs Linkerd (namespace linkerd): the e2e needs a cluster without it`;
    return undefined;
}
