/**
 * Everything the end-to-end test (tools/cli/e2e.ts) decides without a cluster: the stack
 * config it deploys, the two workloads it meshes, and whether Linkerd's own data says
 * every edge between them is mTLS. Unit-tested in `npm test`; the cluster part is not.
 */
import YAML from "yaml";
import { LINKERD_EDGE } from "../lib/registry";

/** Namespace of the e2e workloads: a dedicated one, never a real AKKO namespace. */
export const E2E_NAMESPACE = "akko-e2e";
/** The two workloads, each calling the other every second. */
export const E2E_WORKLOADS = ["ping", "pong"] as const;
/** busybox (httpd + wget in one small image), pinned by digest. */
export const E2E_IMAGE = "docker.io/library/busybox:1.37.0@sha256:bdf57e528e45e4433820e045b29b4597825a1c9e38353532d90a01445013f82e";
export const E2E_PORT = 8080;

/**
 * The ingress hop under test: k3s' Traefik (kube-system, ServiceAccount `traefik`, Service `traefik`
 * port 80), which the k3d preset meshes (mtls.ingress), routing this host to pong.
 */
export const E2E_INGRESS = { namespace: "kube-system", workload: "traefik", serviceAccount: "traefik", host: "pong.akko-e2e.local", backend: "pong" } as const;
/** What ping calls to go through the ingress controller. */
export const E2E_INGRESS_URL = `http://${E2E_INGRESS.workload}.${E2E_INGRESS.namespace}.svc/`;

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
        { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { "app.kubernetes.io/part-of": "akko-mtls-e2e" } } },
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
                            securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: "RuntimeDefault" } },
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
                                    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                                    resources: { requests: { cpu: "5m", memory: "8Mi" }, limits: { cpu: "100m", memory: "32Mi" } },
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
                    http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: E2E_INGRESS.backend, port: { number: E2E_PORT } } } }] },
                },
            ],
        },
    });
    return objects.map((o) => YAML.stringify(o)).join("---\n");
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
        return { ok: false, details: [], problems: [`linkerd viz edges did not print a JSON array: ${(error as Error).message}`] };
    }
}

/** Whether an edge is mTLS (no reason for plaintext, both identities known), and its log line. */
function describeEdge(edge: Edge, what: string): { secured: boolean; line: string } {
    const secured = edge.no_tls_reason === "" && edge.client_id !== "" && edge.server_id !== "";
    return { secured, line: `${what}: ${secured ? `mTLS (${edge.client_id} -> ${edge.server_id})` : `NOT secured (${edge.no_tls_reason || "no identity"})`}` };
}

/**
 * Every edge between the e2e workloads must be secured, and each must call the other:
 * a secured edge has no `no_tls_reason` and both peers' identities.
 */
export function edgesVerdict(json: string, namespace = E2E_NAMESPACE, workloads: readonly string[] = E2E_WORKLOADS): Verdict {
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
            problems.push(`${edge.src} -> ${edge.dst}: identities ${edge.client_id} -> ${edge.server_id} are not the workloads' ServiceAccounts`);
        }
    }
    for (const src of workloads) {
        for (const dst of workloads) {
            if (src !== dst && !inside.some((e) => e.src === src && e.dst === dst)) problems.push(`no edge ${src} -> ${dst} yet`);
        }
    }
    return { ok: problems.length === 0, details, problems };
}

/**
 * The ingress hop is mTLS: the edge from the ingress controller (another namespace; `linkerd viz
 * edges -n <e2e namespace>` lists edges with either end there, viz/metrics-api/edges.go) to the
 * backend is secured, with the controller's ServiceAccount as client and the backend's as server.
 */
export function ingressEdgeVerdict(json: string, namespace = E2E_NAMESPACE, ingress: typeof E2E_INGRESS = E2E_INGRESS): Verdict {
    const edges = parseEdges(json);
    if (!Array.isArray(edges)) return edges;
    const what = `${ingress.namespace}/${ingress.workload} -> ${namespace}/${ingress.backend}`;
    const edge = edges.find(
        (e) => e.src === ingress.workload && e.src_namespace === ingress.namespace && e.dst === ingress.backend && e.dst_namespace === namespace,
    );
    if (!edge) return { ok: false, details: [], problems: [`no edge ${what} yet`] };
    const { secured, line } = describeEdge(edge, what);
    const problems = !secured
        ? [line]
        : edge.client_id !== `${ingress.serviceAccount}.${ingress.namespace}` || edge.server_id !== `${ingress.backend}.${namespace}`
          ? [`${what}: identities ${edge.client_id} -> ${edge.server_id} are not the controller's and the backend's ServiceAccounts`]
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
            s.name === "request_total" && s.labels.direction === "inbound" && s.labels.target_port !== "4191" && s.labels.authz_name !== "probe" && s.value > 0,
    );
    const secured = inbound.filter((s) => s.labels.tls === "true");
    const plaintext = inbound.filter((s) => s.labels.tls !== "true");
    const details = [
        `${workload}: ${secured.reduce((n, s) => n + s.value, 0)} inbound requests over mTLS, ${plaintext.reduce((n, s) => n + s.value, 0)} without`,
    ];
    const problems = [
        ...(secured.length === 0 ? [`${workload}: no inbound request over mTLS in its proxy's metrics`] : []),
        ...plaintext.map((s) => `${workload}: ${s.value} plaintext inbound requests (tls=${s.labels.tls}, no_tls_reason=${s.labels.no_tls_reason ?? ""})`),
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
    if (!ok("linkerd", ["version", "--client", "--short"])) return `the Linkerd CLI is not on PATH (${LINKERD_EDGE}: https://linkerd.io/2/getting-started/)`;
    const context = ok("kubectl", ["config", "current-context"])?.stdout.trim();
    if (!context) return "kubectl has no current context (create one: k3d cluster create akko-e2e)";
    if (!context.startsWith("k3d-") && env.AKKO_E2E_ANY_CONTEXT !== "1") {
        return `the current context ${context} is not a k3d cluster; the e2e installs and removes a mesh, so it only runs on a throwaway cluster (AKKO_E2E_ANY_CONTEXT=1 to override)`;
    }
    if (!ok("kubectl", ["version", "--request-timeout=10s"])) return `the cluster of context ${context} does not answer`;
    if (ok("kubectl", ["get", "namespace", "linkerd", "--request-timeout=10s"]))
        return `context ${context} already runs Linkerd (namespace linkerd): the e2e needs a cluster without it`;
    return undefined;
}
