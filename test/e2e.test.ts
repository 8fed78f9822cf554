/**
 * The parts of the end-to-end test that need no cluster: the config it deploys, the
 * workloads, reading Linkerd's edges and proxy metrics, deciding pass/fail, and skipping
 * cleanly where it cannot run. Sample outputs follow the formats of linkerd/linkerd2 at
 * edge-26.8.3: `linkerd viz edges -o json` prints viz/cmd/edges.go `edgesJSONStats`
 * (golden file viz/cmd/testdata/edges_one_output_json.golden); proxy metrics as
 * testutil/prommatch/testdata/sampleMetrics.txt.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { resolveConfig } from "../config";
import {
    CommandResult,
    E2E_EXIT,
    E2E_IMAGE,
    E2E_INGRESS,
    E2E_NAMESPACE,
    E2E_OPAQUE_PORTS,
    E2E_PROTOCOLS,
    e2eStackFile,
    Edge,
    edgesVerdict,
    ingressEdgeVerdict,
    metricsVerdict,
    missingPrerequisite,
    parsePrometheusText,
    protocolLogVerdict,
    protocolManifests,
    protocolMetricsVerdict,
    PROTOCOL_SCRIPT,
    workloadManifests,
} from "../tools/e2e";
import { IMAGES } from "../lib/registry";
import * as os from "node:os";
import { kubernetesObjects, ofType, PROJECT_ROOT, runProgram } from "../tools/mockRuntime";

const edge = (src: string, dst: string, overrides: Partial<Record<string, string>> = {}) => ({
    src,
    src_namespace: E2E_NAMESPACE,
    dst,
    dst_namespace: E2E_NAMESPACE,
    client_id: `${src}.${E2E_NAMESPACE}`,
    server_id: `${dst}.${E2E_NAMESPACE}`,
    no_tls_reason: "",
    ...overrides,
});

const METRICS_HEADER = ["# HELP request_total Total count of HTTP requests.", "# TYPE request_total counter"].join(
    "\n",
);
const request = (labels: string, value: number) =>
    `request_total{direction="inbound",target_addr="10.42.0.9:8080",target_ip="10.42.0.9",${labels}} ${value}`;

describe("e2e (no cluster needed)", () => {
    it("deploys the k3d stack on the current context, meshing only its own namespace; then turns it off", async () => {
        const k3d = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.k3d.yaml"), "utf8");
        for (const enabled of [true, false]) {
            const file = YAML.parse(e2eStackFile(k3d, "k3d-akko-e2e", enabled)).config;
            const values = Object.fromEntries(
                Object.entries<unknown>(file).map(([k, v]) => [k.replace("akko-mtls:", ""), v]),
            );
            const config = resolveConfig(values);
            assert.equal(config.target, "k3d");
            assert.equal(config.cluster.context, "k3d-akko-e2e");
            assert.equal(config.mtls.enabled, enabled);
            assert.deepEqual(config.mtls.namespaces, [E2E_NAMESPACE]);
            assert.equal(config.viz.enabled, true, "edges come from viz");
            assert.equal(config.mtls.networkPolicies, false, "a fresh namespace has no default-deny to open up");
        }
        const initialised = "encryptionsalt: v1:abc:def\nconfig:\n  akko-mtls:target: k3d\n";
        assert.equal(
            YAML.parse(e2eStackFile(k3d, "k3d-x", false, initialised)).encryptionsalt,
            "v1:abc:def",
            "the salt survives a rewrite",
        );
        const run = await runProgram({
            stack: "e2e",
            config: Object.fromEntries(
                Object.entries<unknown>(YAML.parse(e2eStackFile(k3d, "k3d-akko-e2e", true)).config).map(([k, v]) => [
                    k,
                    typeof v === "string" ? v : JSON.stringify(v),
                ]),
            ),
        });
        assert.equal(run.error, undefined);
        assert.deepEqual(
            ofType(run, "kubernetes:core/v1:NamespacePatch").map((p) => p.inputs.metadata.name),
            [E2E_NAMESPACE],
        );
        assert.ok(kubernetesObjects(run).length > 10);
    });

    it("two workloads that call each other, image pinned by digest, unmeshed until the mesh annotates their namespace", () => {
        const objects = YAML.parseAllDocuments(workloadManifests()).map((d) => d.toJS());
        assert.deepEqual(
            objects.map((o) => `${o.kind}/${o.metadata.name}`),
            [
                `Namespace/${E2E_NAMESPACE}`,
                "ServiceAccount/ping",
                "Deployment/ping",
                "Service/ping",
                "ServiceAccount/pong",
                "Deployment/pong",
                "Service/pong",
                "Ingress/pong",
            ],
        );
        assert.equal(objects[0].metadata.annotations, undefined, "no injection annotation of its own");
        const [ping, pong] = objects.filter((o) => o.kind === "Deployment");
        assert.match(E2E_IMAGE, /@sha256:[a-f0-9]{64}$/);
        assert.equal(ping.spec.template.spec.containers[0].image, E2E_IMAGE);
        assert.match(ping.spec.template.spec.containers[0].args[0], /http:\/\/pong:8080\//);
        assert.match(pong.spec.template.spec.containers[0].args[0], /http:\/\/ping:8080\//);
        assert.equal(ping.spec.template.spec.serviceAccountName, "ping", "distinct identities");
        // The ingress hop: ping calls pong through k3s' Traefik too; pong does not.
        assert.ok(
            ping.spec.template.spec.containers[0].args[0].includes(
                `--header "Host: ${E2E_INGRESS.host}" http://traefik.kube-system.svc/`,
            ),
        );
        assert.ok(!pong.spec.template.spec.containers[0].args[0].includes("Host:"));
        const ingress = objects.find((o) => o.kind === "Ingress");
        assert.equal(ingress.spec.ingressClassName, "traefik");
        assert.deepEqual(ingress.spec.rules[0].http.paths[0].backend, {
            service: { name: "pong", port: { number: 8080 } },
        });
    });

    it("the k3d stack the e2e deploys meshes k3s' Traefik, the hop it checks", () => {
        const k3d = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.k3d.yaml"), "utf8");
        const values = Object.fromEntries(
            Object.entries<unknown>(YAML.parse(e2eStackFile(k3d, "k3d-akko-e2e", true)).config).map(([k, v]) => [
                k.replace("akko-mtls:", ""),
                v,
            ]),
        );
        const config = resolveConfig(values);
        assert.deepEqual([config.mtls.ingress.enabled, config.mtls.ingress.controller], [true, "k3s-traefik"]);
    });

    it("ingress edge: passes only when Traefik -> pong is mTLS with both ServiceAccounts", () => {
        const hop = (extra: Partial<Edge> = {}): Edge => ({
            ...edge("traefik", "pong"),
            src_namespace: "kube-system",
            client_id: "traefik.kube-system",
            ...extra,
        });
        const ok = ingressEdgeVerdict(JSON.stringify([edge("ping", "pong"), hop()]));
        assert.deepEqual(ok.problems, []);
        assert.deepEqual(ok.details, [
            "kube-system/traefik -> akko-e2e/pong: mTLS (traefik.kube-system -> pong.akko-e2e)",
        ]);
        assert.deepEqual(ingressEdgeVerdict(JSON.stringify([edge("ping", "pong")])).problems, [
            "no edge kube-system/traefik -> akko-e2e/pong yet",
        ]);
        assert.deepEqual(
            ingressEdgeVerdict(JSON.stringify([hop({ client_id: "", no_tls_reason: "no_tls_from_remote" })])).problems,
            ["kube-system/traefik -> akko-e2e/pong: NOT secured (no_tls_from_remote)"],
        );
        assert.match(
            ingressEdgeVerdict(JSON.stringify([hop({ client_id: "default.kube-system" })])).problems[0],
            /not the controller's and the backend's/,
        );
        assert.match(ingressEdgeVerdict("No edges found.").problems[0], /did not print a JSON array/);
    });

    it("edges: passes only when every edge between the workloads is mTLS, both ways", () => {
        const other = {
            ...edge("web", "api"),
            src_namespace: "linkerd-viz",
            dst_namespace: "linkerd-viz",
            no_tls_reason: "no_tls_from_remote",
        };
        const ok = edgesVerdict(JSON.stringify([edge("ping", "pong"), edge("pong", "ping"), other]));
        assert.deepEqual(ok.problems, []);
        assert.deepEqual(ok.details, [
            "ping -> pong: mTLS (ping.akko-e2e -> pong.akko-e2e)",
            "pong -> ping: mTLS (pong.akko-e2e -> ping.akko-e2e)",
        ]);

        const plaintext = edgesVerdict(
            JSON.stringify([
                edge("ping", "pong", { client_id: "", no_tls_reason: "no_tls_from_remote" }),
                edge("pong", "ping"),
            ]),
        );
        assert.deepEqual(plaintext.problems, ["ping -> pong: NOT secured (no_tls_from_remote)"]);

        const oneWay = edgesVerdict(JSON.stringify([edge("ping", "pong")]));
        assert.deepEqual(oneWay.problems, ["no edge pong -> ping yet"]);

        const impostor = edgesVerdict(
            JSON.stringify([edge("ping", "pong", { client_id: "default.akko-e2e" }), edge("pong", "ping")]),
        );
        assert.match(impostor.problems[0], /not the workloads' ServiceAccounts/);

        assert.deepEqual(edgesVerdict("[]").problems, ["no edge ping -> pong yet", "no edge pong -> ping yet"]);
        assert.match(edgesVerdict("No edges found.").problems[0], /did not print a JSON array/);
    });

    it("proxy metrics: inbound requests to the app over mTLS only (probes and the admin port aside)", () => {
        const secured = [
            METRICS_HEADER,
            request(
                'target_port="8080",tls="true",server_id="pong.akko-e2e.serviceaccount.identity.linkerd.cluster.local",srv_kind="default",srv_name="all-unauthenticated",authz_kind="default",authz_name="all-unauthenticated"',
                57,
            ),
            request(
                'target_port="4191",tls="no_identity",no_tls_reason="no_tls_from_remote",srv_kind="default",srv_name="all-unauthenticated",authz_kind="default",authz_name="all-unauthenticated"',
                30,
            ),
            request(
                'target_port="8080",tls="no_identity",no_tls_reason="no_tls_from_remote",srv_kind="default",srv_name="all-unauthenticated",authz_kind="default",authz_name="probe"',
                12,
            ),
            'request_total{direction="outbound",target_port="8080",tls="true"} 60',
        ].join("\n");
        const ok = metricsVerdict(secured, "pong");
        assert.deepEqual(ok.problems, []);
        assert.deepEqual(ok.details, ["pong: 57 inbound requests over mTLS, 0 without"]);

        const leaking = `${secured}\n${request('target_port="8080",tls="no_identity",no_tls_reason="no_tls_from_remote",authz_name="all-unauthenticated"', 3)}`;
        assert.deepEqual(metricsVerdict(leaking, "pong").problems, [
            "pong: 3 plaintext inbound requests (tls=no_identity, no_tls_reason=no_tls_from_remote)",
        ]);
        assert.deepEqual(metricsVerdict(METRICS_HEADER, "pong").problems, [
            "pong: no inbound request over mTLS in its proxy's metrics",
        ]);

        assert.deepEqual(parsePrometheusText('a_total{x="q\\"uote",y="n\\\\l"} 1.5\n# c\nb 2'), [
            { name: "a_total", labels: { x: 'q"uote', y: "n\\l" }, value: 1.5 },
            { name: "b", labels: {}, value: 2 },
        ]);
    });

    it("protocol classes: every class AKKO sends, each opaque where Linkerd must not detect, on the pinned node image", async () => {
        assert.deepEqual(
            E2E_PROTOCOLS.map((p) => p.name),
            ["grpc-stream", "http1", "http2", "server-first", "client-first"],
        );
        const k3d = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.k3d.yaml"), "utf8");
        const file = YAML.parse(e2eStackFile(k3d, "k3d-akko-e2e", true)).config;
        const config = resolveConfig(
            Object.fromEntries(Object.entries<unknown>(file).map(([k, v]) => [k.replace("akko-mtls:", ""), v])),
        );
        assert.deepEqual(config.mtls.namespaceOptions[E2E_NAMESPACE].opaquePorts, E2E_OPAQUE_PORTS);
        // The namespace's annotation the program writes keeps Linkerd's defaults (3306 among them): the
        // server-first class would stall on protocol detection otherwise.
        const run = await runProgram({
            stack: "e2e",
            config: Object.fromEntries(
                Object.entries<unknown>(file).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
            ),
        });
        const patch = ofType(run, "kubernetes:core/v1:NamespacePatch").find(
            (p) => p.inputs.metadata.name === E2E_NAMESPACE,
        )!;
        const opaque = patch.inputs.metadata.annotations["config.linkerd.io/opaque-ports"].split(",").map(Number);
        for (const protocol of E2E_PROTOCOLS)
            assert.equal(opaque.includes(protocol.port), protocol.opaque, `${protocol.name} on ${protocol.port}`);
        const objects = YAML.parseAllDocuments(protocolManifests()).map((d) => d.toJSON());
        const images = objects
            .filter((o) => o.kind === "Deployment")
            .map((o) => o.spec.template.spec.containers[0].image);
        assert.deepEqual(images, [IMAGES.node, IMAGES.node]);
        assert.deepEqual(
            objects.find((o) => o.kind === "Service").spec.ports.map((p: any) => p.port),
            E2E_PROTOCOLS.map((p) => p.port),
        );
    });

    it("protocol classes: the script serves and calls each of them (run here, on loopback ports)", async function () {
        this.timeout(40_000);
        const shift = (port: number) => port + 20000;
        let script = PROTOCOL_SCRIPT;
        for (const p of E2E_PROTOCOLS)
            script = script
                .replaceAll(`(${p.port})`, `(${shift(p.port)})`)
                .replaceAll(`:${p.port}/`, `:${shift(p.port)}/`);
        script = script
            .replace(/h2\((\d+),/g, (_, port) => `h2(${shift(Number(port))},`)
            .replace(/tcp\((\d+),/g, (_, port) => `tcp(${shift(Number(port))},`);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "protocols-"));
        const file = path.join(dir, "protocols.js");
        fs.writeFileSync(file, script);
        const { spawn } = await import("node:child_process");
        const server = spawn(process.execPath, [file, "serve"], { stdio: "ignore" });
        try {
            // Until every port accepts a connection (a fixed pause was too short on a loaded machine).
            const { connect } = await import("node:net");
            const listening = (port: number) =>
                new Promise<boolean>((resolve) => {
                    const socket = connect(port, "127.0.0.1");
                    socket.once("connect", () => (socket.destroy(), resolve(true)));
                    socket.once("error", () => resolve(false));
                });
            for (const deadline = Date.now() + 15_000; ;) {
                const up = await Promise.all(E2E_PROTOCOLS.map((p) => listening(shift(p.port))));
                if (up.every(Boolean)) break;
                assert.ok(Date.now() < deadline, "the protocol server did not listen within 15 s");
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            const client = spawnSync(process.execPath, [file, "call", "127.0.0.1"], {
                encoding: "utf8",
                timeout: 4000,
            });
            const verdict = protocolLogVerdict(client.stdout);
            assert.ok(verdict.ok, `${verdict.problems.join("; ")}\n${client.stdout}${client.stderr}`);
        } finally {
            server.kill();
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("protocol classes: the client's latest round decides; the server's proxy counts each port's connections over mTLS", () => {
        const round = (failed?: string) =>
            E2E_PROTOCOLS.map((p) => (p.name === failed ? `FAILED ${p.name}: timed out` : `ok ${p.name}`)).join("\n");
        assert.equal(protocolLogVerdict(round()).ok, true);
        assert.deepEqual(protocolLogVerdict(`${round()}\n${round("server-first")}`).problems, [
            "server-first: FAILED server-first: timed out",
        ]);
        assert.equal(protocolLogVerdict(`${round("http2")}\n${round()}`).ok, true, "recovered");
        assert.deepEqual(protocolLogVerdict("ok http1").problems.length, 4);

        const open = (port: number, tls: string, value: number) =>
            `tcp_open_total{direction="inbound",peer="src",target_addr="10.42.0.9:${port}",target_ip="10.42.0.9",target_port="${port}",tls="${tls}"${tls === "true" ? "" : ',no_tls_reason="no_tls_from_remote"'},srv_kind="default",srv_name="all-unauthenticated"} ${value}`;
        const admin =
            'tcp_open_total{direction="inbound",peer="src",target_addr="0.0.0.0:4191",target_ip="0.0.0.0",target_port="4191",tls="no_identity",no_tls_reason="no_tls_from_remote"} 30';
        const secured = [
            "# TYPE tcp_open_total counter",
            admin,
            ...E2E_PROTOCOLS.map((p) => open(p.port, "true", 3)),
        ].join("\n");
        assert.equal(protocolMetricsVerdict(secured).ok, true, protocolMetricsVerdict(secured).problems.join());
        const plain = `${secured}\n${open(3306, "no_identity", 2)}`;
        assert.deepEqual(protocolMetricsVerdict(plain).problems, [
            "server-first: 2 plaintext connections on 3306 (no_tls_from_remote)",
        ]);
        const missing = [
            "# TYPE tcp_open_total counter",
            ...E2E_PROTOCOLS.filter((p) => p.port !== 9092).map((p) => open(p.port, "true", 1)),
        ].join("\n");
        assert.deepEqual(protocolMetricsVerdict(missing).problems, [
            "client-first: no inbound mTLS connection on 9092",
        ]);
    });

    it("skips with a reason where it cannot run: no CLI, no k3d context, Linkerd already there", () => {
        const fake =
            (missing: string[], context = "k3d-akko-e2e") =>
            (command: string, args: string[]): CommandResult => {
                const key = `${command} ${args[0]}`;
                if (missing.includes(key)) return { status: 1, stdout: "", stderr: "not found" };
                if (key === "kubectl config") return { status: 0, stdout: `${context}\n`, stderr: "" };
                if (key === "kubectl get") return { status: 1, stdout: "", stderr: "NotFound" };
                return { status: 0, stdout: "ok", stderr: "" };
            };
        assert.match(missingPrerequisite(fake(["pulumi version"]), {})!, /Pulumi CLI is not on PATH/);
        assert.match(missingPrerequisite(fake(["linkerd version"]), {})!, /Linkerd CLI is not on PATH/);
        assert.match(missingPrerequisite(fake(["kubectl config"]), {})!, /no current context/);
        assert.match(missingPrerequisite(fake([], "prod-eks"), {})!, /not a k3d cluster/);
        assert.equal(missingPrerequisite(fake([], "prod-eks"), { AKKO_E2E_ANY_CONTEXT: "1" }), undefined);
        assert.match(missingPrerequisite(fake(["kubectl version"]), {})!, /does not answer/);
        const withLinkerd = (command: string, args: string[]) =>
            `${command} ${args[0]}` === "kubectl get"
                ? { status: 0, stdout: "linkerd", stderr: "" }
                : fake([])(command, args);
        assert.match(missingPrerequisite(withLinkerd, {})!, /already runs Linkerd/);
        assert.equal(missingPrerequisite(fake([]), {}), undefined);
    });

    it("`npm run e2e` without the CLIs exits at once with status 3 and says why", () => {
        const started = Date.now();
        const result = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(PROJECT_ROOT, "tools", "cli", "e2e.ts")],
            {
                cwd: PROJECT_ROOT,
                encoding: "utf8",
                env: { ...process.env, PATH: path.dirname(process.execPath) },
                timeout: 60_000,
            },
        );
        assert.equal(result.status, E2E_EXIT.skipped, result.stderr);
        assert.match(result.stderr, /^e2e: skipped: the Pulumi CLI is not on PATH/);
        assert.ok(Date.now() - started < 30_000);
    });

    it("is not part of npm test", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8"));
        assert.doesNotMatch(pkg.scripts.test, /e2e/);
        assert.equal(pkg.scripts.e2e, "ts-node --transpile-only tools/cli/e2e.ts");
    });
});
