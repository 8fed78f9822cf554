/**
 * scripts/mesh-check.mjs against real certificates and a fake `kubectl` on PATH
 * that serves fixtures and records every call.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MESH_CHECK_SCRIPT_PATH } from "../components/meshMaintenance";
import { certRequestOutputs, locallySignedCertOutputs, privateKeyOutputs, selfSignedCertOutputs } from "../lib/mockTls";

interface Ca {
    certPem: string;
    privateKeyPem: string;
}

async function anchor(validityHours = 87600): Promise<Ca> {
    const key = privateKeyOutputs({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const cert = await selfSignedCertOutputs({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: "root.linkerd.cluster.local" },
        isCaCertificate: true,
        allowedUses: ["cert_signing", "crl_signing"],
        validityPeriodHours: validityHours,
    });
    return { certPem: cert.certPem, privateKeyPem: key.privateKeyPem };
}

async function issuer(signer: Ca, validityHours = 48): Promise<Ca> {
    const key = privateKeyOutputs({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = await certRequestOutputs({ privateKeyPem: key.privateKeyPem, subject: { commonName: "identity.linkerd.cluster.local" } });
    const cert = await locallySignedCertOutputs({
        certRequestPem: csr.certRequestPem,
        caCertPem: signer.certPem,
        caPrivateKeyPem: signer.privateKeyPem,
        isCaCertificate: true,
        allowedUses: ["cert_signing", "crl_signing"],
        validityPeriodHours: validityHours,
    });
    return { certPem: cert.certPem, privateKeyPem: key.privateKeyPem };
}

/** The fake kubectl: answers `get` from JSON fixtures, records `rollout` calls. */
const FAKE_KUBECTL = `#!/usr/bin/env node
const fs = require("fs"), path = require("path");
const dir = process.env.FAKE_KUBE_DIR;
const args = process.argv.slice(2);
fs.appendFileSync(path.join(dir, "calls.log"), args.join(" ") + "\\n");
const ns = args[args.indexOf("-n") + 1];
const serve = (file) => {
  const full = path.join(dir, file);
  if (!fs.existsSync(full)) { process.stderr.write("Error from server (NotFound): " + file + "\\n"); process.exit(1); }
  process.stdout.write(fs.readFileSync(full, "utf8"));
};
if (args[0] === "get" && args[1] === "pods") {
  const file = path.join(dir, "pods-" + ns + ".json");
  process.stdout.write(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : '{"items": []}');
} else if (args[0] === "get") {
  serve(args[1] + "-" + ns + "-" + args[2] + ".json");
} else if (args[0] === "patch") {
  process.stdout.write(args[1] + "/" + args[2] + " patched\\n");
} else if (args[0] === "rollout" && args[1] === "restart") {
  process.stdout.write(args[2] + " restarted\\n");
} else if (args[0] === "rollout" && args[1] === "status") {
  const slow = path.join(dir, "slow-rollouts");
  if (fs.existsSync(slow)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(fs.readFileSync(slow, "utf8")) * 1000);
  const failing = path.join(dir, "failing-rollouts");
  if (fs.existsSync(failing) && fs.readFileSync(failing, "utf8").split("\\n").includes(ns + "/" + args[2])) {
    process.stderr.write("error: timed out waiting for the condition\\n"); process.exit(1);
  }
  process.stdout.write("successfully rolled out\\n");
} else { process.stderr.write("fake kubectl: unexpected " + args.join(" ") + "\\n"); process.exit(3); }
`;

interface Cluster {
    issuer: Ca;
    bundle: Ca[];
    scheme?: "linkerd.io/tls" | "kubernetes.io/tls";
    pods?: Record<string, object[]>;
    failingRollouts?: string[];
    /** Seconds every rollout watch takes. */
    slowRollouts?: number;
    /** Control-plane Deployments by name, with the digest annotation their pod template carries. */
    controlPlane?: Record<string, string | undefined>;
    env?: Record<string, string>;
}

interface Result {
    status: number | null;
    stdout: string;
    stderr: string;
    /** kubectl calls, without the request timeout. */
    calls: string[];
    /** kubectl calls as made. */
    raw: string[];
}

const bundlePem = (anchors: Ca[]) => anchors.map((a) => a.certPem.trim()).join("\n");

function runScript(cluster: Cluster): Result {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-check-"));
    try {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        fs.writeFileSync(path.join(bin, "kubectl"), FAKE_KUBECTL, { mode: 0o755 });
        const scheme = cluster.scheme ?? "linkerd.io/tls";
        const crtKey = scheme === "kubernetes.io/tls" ? "tls.crt" : "crt.pem";
        const b64 = (s: string) => Buffer.from(s).toString("base64");
        fs.writeFileSync(
            path.join(dir, "secret-linkerd-linkerd-identity-issuer.json"),
            JSON.stringify({ data: { [crtKey]: b64(cluster.issuer.certPem), [crtKey === "crt.pem" ? "key.pem" : "tls.key"]: b64(cluster.issuer.privateKeyPem) } }),
        );
        fs.writeFileSync(
            path.join(dir, "configmap-linkerd-linkerd-identity-trust-roots.json"),
            JSON.stringify({ data: { "ca-bundle.crt": bundlePem(cluster.bundle) } }),
        );
        for (const [namespace, pods] of Object.entries(cluster.pods ?? {})) {
            fs.writeFileSync(path.join(dir, `pods-${namespace}.json`), JSON.stringify({ items: pods }));
        }
        if (cluster.failingRollouts) fs.writeFileSync(path.join(dir, "failing-rollouts"), cluster.failingRollouts.join("\n"));
        if (cluster.slowRollouts) fs.writeFileSync(path.join(dir, "slow-rollouts"), String(cluster.slowRollouts));
        for (const [deployment, digest] of Object.entries(cluster.controlPlane ?? {})) {
            const annotations = digest ? { "akko.io/control-plane-digest": digest } : {};
            fs.writeFileSync(
                path.join(dir, `deployment-linkerd-${deployment}.json`),
                JSON.stringify({ metadata: { name: deployment }, spec: { template: { metadata: { annotations } } } }),
            );
        }
        fs.writeFileSync(path.join(dir, "calls.log"), "");

        const result = spawnSync(process.execPath, [MESH_CHECK_SCRIPT_PATH], {
            encoding: "utf8",
            env: {
                PATH: `${bin}:${process.env.PATH}`,
                FAKE_KUBE_DIR: dir,
                ISSUER_SCHEME: scheme,
                MESHED_NAMESPACES: Object.keys(cluster.pods ?? { akko: [] }).join(","),
                ISSUER_MIN_HOURS_LEFT: "24",
                ANCHOR_MIN_DAYS_LEFT: "60",
                MAX_CONCURRENT_RESTARTS: "1",
                ROLLOUT_TIMEOUT_SECONDS: "60",
                ...cluster.env,
            },
        });
        const raw = fs.readFileSync(path.join(dir, "calls.log"), "utf8").split("\n").filter(Boolean);
        // Every call but a rollout watch carries a request timeout; the assertions compare the rest.
        const calls = raw.map((call) => call.replace(/ --request-timeout=30s$/, ""));
        return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls, raw };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const restarts = (r: Result) => r.calls.filter((c) => c.startsWith("rollout"));

interface PodOptions {
    nativeSidecar?: boolean;
    /** The proxy's LINKERD2_PROXY_INBOUND_DEFAULT_POLICY. */
    policy?: string;
    annotations?: Record<string, string>;
    hostNetwork?: boolean;
    phase?: string;
}

/** A pod owned by a Deployment (through its ReplicaSet); meshed when `anchors` is given, trusting them. */
function deploymentPod(name: string, anchors: Ca[] | undefined, options: PodOptions = {}): object {
    const hash = "5d8f7c9b4";
    const env = [{ name: "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY", value: options.policy ?? "all-unauthenticated" }];
    if (anchors) env.push({ name: "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS", value: `${bundlePem(anchors)}\n` });
    const proxy = { name: "linkerd-proxy", env };
    const app = { name: "app", env: [] };
    const containers = anchors ? (options.nativeSidecar ? { initContainers: [proxy], containers: [app] } : { containers: [app, proxy] }) : { containers: [app] };
    return {
        metadata: {
            name: `${name}-${hash}-x${Math.random().toString(36).slice(2, 7)}`,
            labels: { "pod-template-hash": hash },
            annotations: options.annotations ?? {},
            ownerReferences: [{ kind: "ReplicaSet", name: `${name}-${hash}`, controller: true }],
        },
        spec: { ...containers, ...(options.hostNetwork ? { hostNetwork: true } : {}) },
        status: { phase: options.phase ?? "Running" },
    };
}

function statefulSetPod(name: string, anchors: Ca[]): object {
    return {
        metadata: { name: `${name}-0`, ownerReferences: [{ kind: "StatefulSet", name, controller: true }] },
        spec: { containers: [{ name: "linkerd-proxy", env: [{ name: "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS", value: bundlePem(anchors) }] }] },
    };
}

describe("mesh-check.mjs: certificates and restarts (real certificates, fake kubectl)", () => {
    let a: Ca;
    let b: Ca;
    before(async () => {
        [a, b] = await Promise.all([anchor(), anchor()]);
    });

    it("valid chain, everything current: reports time left, restarts nothing, exits 0", async () => {
        const result = runScript({ issuer: await issuer(a), bundle: [a], pods: { akko: [deploymentPod("spark", [a])] } });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /chain: OK, the issuer is signed by anchor CN=root\.linkerd\.cluster\.local/);
        assert.match(result.stdout, /issuer: CN=identity\.linkerd\.cluster\.local .* 4[78]\.\d h \(2\.0 days\) left/);
        assert.match(result.stdout, /anchor\[0\]: .* 36\d\d\.\d days left/);
        assert.match(result.stdout, /restart: none needed, every pod matches the mesh as configured/);
        assert.deepEqual(restarts(result), []);
        assert.deepEqual(result.calls.slice(0, 2).sort(), [
            "get configmap linkerd-identity-trust-roots -n linkerd -o json",
            "get secret linkerd-identity-issuer -n linkerd -o json",
        ]);
    });

    it("issuer about to expire: fails the Job so it alerts", async () => {
        const result = runScript({ issuer: await issuer(a, 10), bundle: [a] });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /issuer: (9|10)\.\d h left, under the 24 h threshold/);
    });

    it("trust anchor about to expire: fails and says to rotate", async () => {
        const shortAnchor = await anchor(24 * 30);
        const result = runScript({ issuer: await issuer(shortAnchor), bundle: [shortAnchor] });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /anchor\[0\]: (29|30)\.\d days left, under the 60 days threshold: rotate it/);
    });

    it("broken chain: fails, and restarts nothing even where bundles differ", async () => {
        const result = runScript({
            issuer: await issuer(b),
            bundle: [a],
            pods: { akko: [deploymentPod("spark", [b])] },
        });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /chain: BROKEN, the identity issuer is not signed by any anchor of the trust bundle/);
        assert.match(result.stdout, /restart: skipped while the chain is broken/);
        assert.deepEqual(restarts(result), []);
    });

    it("changed bundle (rotation phase 1): restarts every workload injected with the old bundle, one batch at a time", async () => {
        const bare = { metadata: { name: "debug" }, spec: { containers: [{ name: "linkerd-proxy", env: [{ name: "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS", value: a.certPem }] }] } };
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: {
                akko: [
                    deploymentPod("spark", [a]),
                    deploymentPod("spark", [a]),
                    deploymentPod("trino", [a, b]),
                    deploymentPod("opted-out", undefined, { annotations: { "linkerd.io/inject": "disabled" } }),
                    deploymentPod("hive", [a], { nativeSidecar: true }),
                    bare,
                ],
                data: [statefulSetPod("postgres", [a])],
            },
        });
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(restarts(result), [
            "rollout restart deployment/hive -n akko",
            "rollout status deployment/hive -n akko --timeout=60s",
            "rollout restart deployment/spark -n akko",
            "rollout status deployment/spark -n akko --timeout=60s",
            "rollout restart statefulset/postgres -n data",
            "rollout status statefulset/postgres -n data --timeout=60s",
        ]);
        assert.match(result.stdout, /skip: pod akko\/debug: its proxy trusts an old bundle, but it has no Deployment/);
    });

    it("safe enable: restarts workloads started before injection, never the opted-out, host-network or finished ones", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: {
                akko: [
                    deploymentPod("spark", undefined),
                    deploymentPod("trino", [a]),
                    deploymentPod("legacy", undefined, { annotations: { "linkerd.io/inject": "disabled" } }),
                    deploymentPod("node-agent", undefined, { hostNetwork: true }),
                    deploymentPod("batch", undefined, { phase: "Succeeded" }),
                ],
            },
            env: { TASKS: "restarts" },
        });
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(restarts(result), ["rollout restart deployment/spark -n akko", "rollout status deployment/spark -n akko --timeout=60s"]);
        assert.match(result.stdout, /restart: akko\/deployment\/spark \(it has no proxy\)/);
        assert.ok(!result.calls.some((c) => c.startsWith("get secret")), "restarts alone do not read the issuer");
    });

    it("a permissive/strict switch restarts the workloads whose proxies were injected with the other policy", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: {
                akko: [deploymentPod("spark", [a]), deploymentPod("trino", [a], { policy: "all-authenticated" })],
                data: [deploymentPod("postgres", [a])],
            },
            env: { TASKS: "restarts", EXPECTED_INBOUND_POLICY: JSON.stringify({ akko: "all-authenticated", data: "all-unauthenticated" }) },
        });
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(restarts(result), ["rollout restart deployment/spark -n akko", "rollout status deployment/spark -n akko --timeout=60s"]);
        assert.match(result.stdout, /default inbound policy is all-unauthenticated, not all-authenticated/);
    });

    it("safe disable: in a namespace being drained, restarts the workloads that still run a proxy", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: {},
            env: { TASKS: "restarts", MESHED_NAMESPACES: "", UNMESHED_NAMESPACES: "akko" },
        });
        assert.equal(result.status, 0, result.stderr);
        const drained = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: { akko: [deploymentPod("spark", [a]), deploymentPod("trino", undefined)] },
            env: { TASKS: "restarts", MESHED_NAMESPACES: "", UNMESHED_NAMESPACES: "akko" },
        });
        assert.equal(drained.status, 0, drained.stderr);
        assert.deepEqual(restarts(drained), ["rollout restart deployment/spark -n akko", "rollout status deployment/spark -n akko --timeout=60s"]);
        assert.match(drained.stdout, /it still has a proxy, its namespace leaves the mesh/);
    });

    it("a restart that does not complete fails the Job and stops the remaining batches", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [b, a],
            pods: { akko: [deploymentPod("hive", [a]), deploymentPod("spark", [a])] },
            failingRollouts: ["akko/deployment/hive"],
        });
        assert.equal(result.status, 1);
        assert.deepEqual(restarts(result), ["rollout restart deployment/hive -n akko", "rollout status deployment/hive -n akko --timeout=60s"]);
        assert.match(result.stderr, /restart: akko\/deployment\/hive did not complete: error: timed out/);
        assert.match(result.stdout, /stopped, 1 workload\(s\) left for the next run/);
    });

    it("reads tls.crt with the kubernetes.io/tls scheme (cert-manager), crt.pem with linkerd.io/tls", async () => {
        const cm = runScript({ issuer: await issuer(a), bundle: [a], scheme: "kubernetes.io/tls" });
        assert.equal(cm.status, 0, cm.stderr);
        const missing = runScript({ issuer: await issuer(a), bundle: [a], scheme: "linkerd.io/tls", env: { ISSUER_SCHEME: "kubernetes.io/tls" } });
        assert.equal(missing.status, 1);
        assert.match(missing.stderr, /has no tls\.crt/);
    });

    it("every kubectl call is bounded: a request timeout on each request, --timeout on each rollout watch", async () => {
        const result = runScript({ issuer: await issuer(a), bundle: [a, b], pods: { akko: [deploymentPod("spark", [a])] } });
        assert.equal(result.status, 0, result.stderr);
        assert.ok(result.raw.length >= 4);
        for (const call of result.raw) {
            if (call.startsWith("rollout status")) assert.match(call, /--timeout=60s$/);
            else assert.match(call, / --request-timeout=30s$/, call);
        }
    });

    it("control plane: restarted first, one Deployment at a time, only where its pods did not start with the digest", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: { akko: [deploymentPod("spark", [a])] },
            controlPlane: { "linkerd-identity": "old", "linkerd-destination": "new", "linkerd-proxy-injector": undefined },
            env: { TASKS: "control-plane,restarts", CONTROL_PLANE_DIGEST: "new", CONTROL_PLANE_DEPLOYMENTS: "linkerd-identity,linkerd-destination,linkerd-proxy-injector" },
        });
        assert.equal(result.status, 0, result.stderr);
        const patch = (name: string) =>
            `patch deployment ${name} -n linkerd --type merge -p {"spec":{"template":{"metadata":{"annotations":{"akko.io/control-plane-digest":"new"}}}}}`;
        assert.deepEqual(
            result.calls.filter((c) => c.startsWith("patch") || c.startsWith("rollout")),
            [
                patch("linkerd-identity"),
                "rollout status deployment/linkerd-identity -n linkerd --timeout=60s",
                patch("linkerd-proxy-injector"),
                "rollout status deployment/linkerd-proxy-injector -n linkerd --timeout=60s",
                // Then the data plane, with the new bundle.
                "rollout restart deployment/spark -n akko",
                "rollout status deployment/spark -n akko --timeout=60s",
            ],
        );
    });

    it("control plane that does not come back: no data-plane restart, the run fails", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: { akko: [deploymentPod("spark", [a])] },
            controlPlane: { "linkerd-identity": "old" },
            failingRollouts: ["linkerd/deployment/linkerd-identity"],
            env: { TASKS: "control-plane,restarts", CONTROL_PLANE_DIGEST: "new", CONTROL_PLANE_DEPLOYMENTS: "linkerd-identity" },
        });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /control-plane: deployment\/linkerd-identity did not complete/);
        assert.match(result.stdout, /restart: skipped, the control plane did not restart/);
        assert.ok(!result.calls.some((c) => c.startsWith("rollout restart")));
    });

    it("no restart starts that could not finish before the Job's deadline; what is left fails the run", async () => {
        // 30 s per restart, 93 s of deadline (60 kept to report): the first batch fits, the second no longer.
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: { akko: [deploymentPod("hive", [a]), deploymentPod("spark", [a])] },
            slowRollouts: 3,
            env: { DEADLINE_SECONDS: "93", ROLLOUT_TIMEOUT_SECONDS: "30" },
        });
        assert.equal(result.status, 1);
        assert.deepEqual(restarts(result), ["rollout restart deployment/hive -n akko", "rollout status deployment/hive -n akko --timeout=30s"]);
        assert.match(result.stderr, /deadline is too close, 1 workload\(s\) left for the next run/);
        const misconfigured = runScript({ issuer: await issuer(a), bundle: [a], env: { DEADLINE_SECONDS: "100" } });
        assert.equal(misconfigured.status, 2, "a rollout timeout that cannot fit the deadline is a misconfiguration");
    });

    it("a misconfigured threshold exits 2 before touching the cluster", async () => {
        const result = runScript({ issuer: await issuer(a), bundle: [a], env: { ISSUER_MIN_HOURS_LEFT: "soon" } });
        assert.equal(result.status, 2);
        assert.deepEqual(result.calls, []);
    });
});
