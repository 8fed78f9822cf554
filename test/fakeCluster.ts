/**
 * A fake cluster for cluster/mesh-check.mjs: real certificates, and a fake `kubectl` on PATH that
 * serves fixtures a page at a time, records every call, and can hang, fail, answer nonsense or be
 * slow where a test says so. {@link runScript} runs the script once against a described cluster;
 * {@link LiveCluster} keeps a cluster across runs, restarted workloads picking up the current
 * bundle, for the program's own Jobs to run against (test/rotationEvidence.test.ts).
 */
import { spawn, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MESH_CHECK_SCRIPT_PATH } from "../components/meshMaintenance";
import {
    certRequestOutputs,
    locallySignedCertOutputs,
    privateKeyOutputs,
    selfSignedCertOutputs,
} from "../tools/mockTls";
import type { VariableName } from "../cluster/contract.cjs";
import type { PodSecurityConfiguration } from "./podSecurityAdmission.cjs";

/** Pod Security admission for the fake kubectl (plain Node, required by path). */
const POD_SECURITY_ADMISSION_MODULE = path.join(__dirname, "podSecurityAdmission.cjs");

export interface Ca {
    certPem: string;
    privateKeyPem: string;
}

export async function anchor(validityHours = 87600): Promise<Ca> {
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

/** A per-cluster intermediate CA signed by `signer` (an anchor), as components/intermediateCa.ts makes it. */
export async function intermediate(signer: Ca, validityHours = 8760): Promise<Ca> {
    const key = privateKeyOutputs({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = await certRequestOutputs({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: "intermediate-g1.test.linkerd.cluster.local" },
    });
    const cert = await locallySignedCertOutputs({
        certRequestPem: csr.certRequestPem,
        caCertPem: signer.certPem,
        caPrivateKeyPem: signer.privateKeyPem,
        isCaCertificate: true,
        maxPathLength: 1,
        allowedUses: ["cert_signing", "crl_signing"],
        validityPeriodHours: validityHours,
    });
    return { certPem: cert.certPem, privateKeyPem: key.privateKeyPem };
}

/**
 * An identity issuer as the cluster holds it: signed by a fresh intermediate under `anchor` (or by
 * `via`: an intermediate, or "direct" for the anchor itself), its `certPem` the chain, issuer first.
 */
export async function issuer(anchor: Ca, validityHours = 48, via?: Ca | "direct"): Promise<Ca> {
    const signer = via === "direct" ? anchor : (via ?? (await intermediate(anchor)));
    const key = privateKeyOutputs({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    const csr = await certRequestOutputs({
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: "identity.linkerd.cluster.local" },
    });
    const cert = await locallySignedCertOutputs({
        certRequestPem: csr.certRequestPem,
        caCertPem: signer.certPem,
        caPrivateKeyPem: signer.privateKeyPem,
        isCaCertificate: true,
        allowedUses: ["cert_signing", "crl_signing"],
        validityPeriodHours: validityHours,
    });
    const chain = via === "direct" ? cert.certPem : `${cert.certPem.trim()}\n${signer.certPem.trim()}\n`;
    return { certPem: chain, privateKeyPem: key.privateKeyPem };
}

/** A certificate whose validity is in the past, or the future: signed by hand (the tls mock issues from now). */
export async function outOfTime(
    signer: Ca,
    from: Date,
    to: Date,
    subject = "CN=identity.linkerd.cluster.local",
): Promise<Ca> {
    const x509 = await import("@peculiar/x509");
    const crypto = await import("node:crypto");
    const keys = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    const subtle = crypto.webcrypto.subtle;
    const algorithm = { name: "ECDSA", namedCurve: "P-256" };
    const importPrivate = (pem: string) =>
        subtle.importKey(
            "pkcs8",
            crypto.createPrivateKey(pem).export({ type: "pkcs8", format: "der" }),
            algorithm,
            true,
            ["sign"],
        );
    const publicKey = await subtle.importKey(
        "spki",
        keys.publicKey.export({ type: "spki", format: "der" }),
        algorithm,
        true,
        ["verify"],
    );
    const signerCert = new x509.X509Certificate(signer.certPem);
    const cert = await x509.X509CertificateGenerator.create({
        serialNumber: "01",
        subject,
        issuer: signerCert.subject,
        notBefore: from,
        notAfter: to,
        publicKey,
        signingKey: await importPrivate(signer.privateKeyPem),
        signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
        extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    return {
        certPem: cert.toString("pem"),
        privateKeyPem: keys.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    };
}

/** The fake kubectl: answers from fixtures in FAKE_KUBE_DIR, a page at a time for pods; records every call. */
export const FAKE_KUBECTL = `#!/usr/bin/env node
const fs = require("fs"), path = require("path");
const root = process.env.FAKE_KUBE_DIR;
// A linked cluster, through a link's kubeconfig (its server fake://<target>): served from remote-<target>/,
// its calls logged prefixed with @<target>.
const kubeconfig = process.argv.slice(2).find((a) => a.startsWith("--kubeconfig="));
const kubeconfigFile = kubeconfig ? kubeconfig.slice("--kubeconfig=".length) : "";
const remote = kubeconfigFile && fs.existsSync(kubeconfigFile) ? (/server: fake:\\/\\/([a-z0-9-]+)/.exec(fs.readFileSync(kubeconfigFile, "utf8")) || [])[1] || "" : "";
const dir = remote ? path.join(root, "remote-" + remote) : root;
const args = process.argv.slice(2).filter((a) => !a.startsWith("--kubeconfig="));
fs.appendFileSync(path.join(root, "calls.log"), (remote ? "@" + remote + " " + args.join(" ") : process.argv.slice(2).join(" ")) + "\\n");
const rules = JSON.parse(fs.readFileSync(path.join(root, "rules.json"), "utf8"));
const call = args.filter((a) => !a.startsWith("--request-timeout")).join(" ");
const sleep = (s) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, s * 1000);
for (const [pattern, seconds] of rules.hang) if (call.includes(pattern)) sleep(seconds);
for (const [pattern, answer] of rules.answer) if (call.includes(pattern)) { process.stdout.write(answer); process.exit(0); }
for (const [pattern, error] of rules.refuse) if (call.includes(pattern)) { process.stderr.write(error + "\\n"); process.exit(1); }
const ns = args[args.indexOf("-n") + 1];
const notFound = (what) => { process.stderr.write("Error from server (NotFound): " + what + " not found\\n"); process.exit(1); };
const serve = (file) => { const full = path.join(dir, file); if (!fs.existsSync(full)) notFound(file); process.stdout.write(fs.readFileSync(full, "utf8")); };
if (args[0] === "get" && args[1] === "--raw") {
  const url = new URL(args[2], "https://api");
  const ns = url.pathname.split("/")[4];
  const all = fs.existsSync(path.join(dir, "pods-" + ns + ".json")) ? JSON.parse(fs.readFileSync(path.join(dir, "pods-" + ns + ".json"), "utf8")) : [];
  const selector = url.searchParams.get("labelSelector");
  const wanted = selector ? Object.fromEntries(selector.split(",").map((kv) => kv.split("="))) : {};
  const pods = all.filter((p) => Object.entries(wanted).every(([k, v]) => (p.metadata.labels || {})[k] === v));
  const limit = Number(url.searchParams.get("limit")), start = Number(url.searchParams.get("continue") || 0) || 0;
  if (!limit) { process.stderr.write("unpaged list\\n"); process.exit(5); }
  // An API that never ends its list: the same token again, or a new one every time.
  const next = rules.endlessList === "same" ? "stuck" : rules.endlessList === "new" ? "t" + Math.random() : start + limit < pods.length ? String(start + limit) : "";
  // Each page is built on its own: what the script holds at once is one page.
  const page = pods.slice(start, start + limit).map((p) => ({ ...p, metadata: { ...p.metadata, annotations: { ...(p.metadata.annotations || {}), padding: "x".repeat(rules.podPadding || 0) } } }));
  process.stdout.write(JSON.stringify({ kind: "PodList", items: page, metadata: { continue: next } }));
} else if (args[0] === "get") {
  const kind = args[1].split(".")[0];
  if (args[2] === "-n") serve(kind + "-" + ns + ".json"); else serve(kind + "-" + ns + "-" + args[2] + ".json");
} else if (args[0] === "create") {
  // Server-side dry runs only: the fake cluster stores nothing, and any other create fails the test.
  if (!args.includes("--dry-run=server")) { process.stderr.write("fake kubectl: a create that is not a server-side dry run\\n"); process.exit(9); }
  const object = JSON.parse(fs.readFileSync(0, "utf8"));
  fs.appendFileSync(path.join(dir, "submitted.log"), JSON.stringify({ namespace: ns, object }) + "\\n");
  // Pod Security admission as the API server decides it (test/podSecurityAdmission.cjs).
  const psa = rules.podSecurity;
  const verdict = require(rules.podSecurityModule).admit(psa.configuration, (psa.namespaceLabels || {})[ns], ns, psa.user, object);
  if (!verdict.allowed) {
    process.stderr.write('Error from server (Forbidden): error when creating "STDIN": pods "' + object.metadata.name + '" is forbidden: ' + verdict.message + "\\n");
    process.exit(1);
  }
  for (const warning of verdict.warnings) process.stderr.write("Warning: " + warning + "\\n");
  process.stdout.write("pod/" + object.metadata.name + "\\n");
} else if (args[0] === "patch") {
  // A merge patch of a Deployment's pod-template annotations is kept: a later get sees it.
  const file = path.join(dir, args[1] + "-" + ns + "-" + args[2] + ".json");
  if (fs.existsSync(file)) {
    const object = JSON.parse(fs.readFileSync(file, "utf8"));
    const patch = JSON.parse(args[args.indexOf("-p") + 1]);
    const template = ((object.spec ||= {}).template ||= {});
    template.metadata = { ...(template.metadata || {}), annotations: { ...((template.metadata || {}).annotations || {}), ...patch.spec.template.metadata.annotations } };
    fs.writeFileSync(file, JSON.stringify(object));
  }
  process.stdout.write(args[1] + "/" + args[2] + " patched\\n");
} else if (args[0] === "rollout" && args[1] === "restart") {
  if (rules.gone.includes(ns + "/" + args[2])) notFound(args[2]);
  if (rules.refreshOnRestart) {
    // The workload's new pods are injected with the bundle the ConfigMap holds now.
    const [kind, name] = args[2].split("/");
    const podsFile = path.join(dir, "pods-" + ns + ".json");
    const bundle = JSON.parse(fs.readFileSync(path.join(dir, "configmap-linkerd-linkerd-identity-trust-roots.json"), "utf8")).data["ca-bundle.crt"];
    const owned = (p) => (p.metadata.ownerReferences || []).some((r) => kind === "deployment" ? r.kind === "ReplicaSet" && r.name.startsWith(name + "-") : r.kind.toLowerCase() === kind && r.name === name);
    const pods = fs.existsSync(podsFile) ? JSON.parse(fs.readFileSync(podsFile, "utf8")) : [];
    for (const p of pods.filter(owned)) {
      for (const c of [...(p.spec.initContainers || []), ...p.spec.containers]) {
        for (const e of c.env || []) if (e.name === "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS") e.value = bundle + "\\n";
      }
    }
    fs.writeFileSync(podsFile, JSON.stringify(pods));
  }
  process.stdout.write(args[2] + " restarted\\n");
} else if (args[0] === "rollout" && args[1] === "status") {
  if (rules.slowRollouts) sleep(rules.slowRollouts);
  if (rules.failing.includes(ns + "/" + args[2])) { process.stderr.write("error: timed out waiting for the condition\\n"); process.exit(1); }
  process.stdout.write("successfully rolled out\\n");
} else { process.stderr.write("fake kubectl: unexpected " + args.join(" ") + "\\n"); process.exit(3); }
`;

/**
 * The identity controller's admin servers: one listener per replica on 127.0.0.1, serving
 * `issuer_cert_ttl_seconds` for the issuer that replica loaded, as pkg/identity/service.go does
 * (`time.Until(NotAfter)`, 0 before any). Run as its own process: the script runs synchronously.
 * Reads identity.json ([notAfter ms | null | "closed"] per replica), writes identity-ports.json.
 */
const FAKE_IDENTITY_ADMIN = `
const fs = require("fs"), http = require("http"), path = require("path");
const dir = process.argv[2];
const replicas = JSON.parse(fs.readFileSync(path.join(dir, "identity.json"), "utf8"));
const listen = (server) => new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
(async () => {
  const ports = [];
  for (const notAfter of replicas) {
    const server = http.createServer((req, res) => {
      if (req.url !== "/metrics") { res.writeHead(404); return res.end(); }
      const ttl = notAfter === null ? 0 : (notAfter - Date.now()) / 1000;
      res.end("# HELP issuer_cert_ttl_seconds The remaining seconds until the issuer certificate expires\\n# TYPE issuer_cert_ttl_seconds gauge\\nissuer_cert_ttl_seconds " + ttl + "\\n");
    });
    const port = await listen(server);
    if (notAfter === "closed") await new Promise((resolve) => server.close(resolve));
    ports.push(port);
  }
  fs.writeFileSync(path.join(dir, "identity-ports.json.tmp"), JSON.stringify(ports));
  fs.renameSync(path.join(dir, "identity-ports.json.tmp"), path.join(dir, "identity-ports.json"));
})();
`;

/** A replica whose admin port does not answer. */
export const UNREACHABLE = Symbol("unreachable");

/** What the identity controller's replicas serve, and the events it recorded. */
export interface IdentityFixture {
    /** Per replica: the issuer it loaded (PEM, leaf first), none yet (null), or an admin port that does not answer. */
    replicas: (string | null | typeof UNREACHABLE)[];
    /** Events on Deployment linkerd-identity. */
    events?: { reason: "IssuerUpdated" | "IssuerUpdateSkipped"; message: string; at: Date }[];
    /** Pods labelled as identity that no Deployment owns (a forged claim). */
    impostors?: (string | null)[];
}

const firstCertificate = (pem: string) =>
    new X509Certificate(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)![0]);

/**
 * Starts the identity admin servers and returns the identity pods (their ports filled in) and a stop
 * function. Synchronous: waits for the server process's ports file.
 */
function startIdentity(dir: string, identity: IdentityFixture): { pods: any[]; stop: () => void } {
    const all = [
        ...identity.replicas.map((r) => ({ loaded: r, impostor: false })),
        ...(identity.impostors ?? []).map((r) => ({ loaded: r, impostor: true })),
    ];
    const notAfters = all.map(({ loaded }) =>
        typeof loaded === "string" ? Date.parse(firstCertificate(loaded).validTo) : loaded === null ? null : "closed",
    );
    fs.writeFileSync(path.join(dir, "identity.json"), JSON.stringify(notAfters));
    fs.writeFileSync(path.join(dir, "identity-admin.cjs"), FAKE_IDENTITY_ADMIN);
    const server = spawn(process.execPath, [path.join(dir, "identity-admin.cjs"), dir], { stdio: "ignore" });
    const portsFile = path.join(dir, "identity-ports.json");
    for (const started = Date.now(); !fs.existsSync(portsFile);) {
        if (Date.now() - started > 10_000) throw new Error("the fake identity admin server did not start");
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
    const ports: number[] = JSON.parse(fs.readFileSync(portsFile, "utf8"));
    fs.rmSync(portsFile);
    const pods = all.map(({ impostor }, i) => {
        const p = pod(impostor ? "identity-impostor" : "linkerd-identity", undefined, {
            labels: { "linkerd.io/control-plane-component": "identity" },
            owner: impostor ? "none" : "Deployment",
        });
        p.spec.containers = [
            {
                name: "identity",
                ports: [
                    { name: "ident-grpc", containerPort: 8080 },
                    { name: "ident-admin", containerPort: ports[i] },
                ],
            },
        ];
        p.status.podIP = "127.0.0.1";
        return p;
    });
    return { pods, stop: () => server.kill("SIGKILL") };
}

export interface Cluster {
    /** The issuer's public certificate (its key is never read). */
    issuer: { certPem: string };
    /** The trust bundle: anchors, or the PEM the ConfigMap holds. */
    bundle: Ca[] | string;
    /** Restarted workloads' pods come back trusting the bundle of the moment (a live cluster). */
    refreshOnRestart?: boolean;
    /** Where the issuer's public certificate is: the static ConfigMap (default) or cert-manager's CertificateRequest. */
    issuerSource?: "configmap" | "certificate";
    pods?: Record<string, object[]>;
    /** `ns/kind/name` whose rollout never becomes ready. */
    failingRollouts?: string[];
    /** `ns/kind/name` that is gone when restarted. */
    gone?: string[];
    /** Seconds every rollout watch takes. */
    slowRollouts?: number;
    /** [call substring, seconds]: calls that hang. */
    hang?: [string, number][];
    /** [call substring, raw answer]: calls that answer this. */
    answer?: [string, string][];
    /** [call substring, error output]: calls that fail with it (exit 1), as an API refusal does. */
    refuse?: [string, string][];
    /**
     * Pod Security admission: the API server's PodSecurityConfiguration, the namespaces' labels, and who
     * submits (default: the Pod Security check's identity). Default: no configuration (privileged), no labels.
     */
    podSecurity?: {
        configuration?: PodSecurityConfiguration;
        namespaceLabels?: Record<string, Record<string, string>>;
        user?: string;
    };
    /** Control-plane Deployments by name, with their pod-template annotations. */
    deployments?: Record<string, Record<string, string>>;
    /** The identity controller's replicas and events (the rotation gate reads them). */
    identity?: IdentityFixture;
    /** Ingresses per namespace. */
    ingresses?: Record<string, string[]>;
    /** Bytes added to every served pod (memory test). */
    podPadding?: number;
    /** The pod list never ends: the same continue token every time, or a new one. */
    endlessList?: "same" | "new";
    /**
     * ReplicaSets, Deployments, StatefulSets and DaemonSets per namespace, as the cluster has them; by
     * default those the pods' controller references name, consistent with them ({@link workloadsOf}).
     */
    workloads?: Record<string, object[]>;
    /**
     * Linked clusters, by target: the bundle each serves, its pods per namespace, reached through the
     * kubeconfig of Secret linkerd-multicluster/cluster-credentials-<target> (absent with `noCredentials`).
     */
    linked?: Record<string, { bundle: Ca[] | string; pods?: Record<string, object[]>; noCredentials?: boolean }>;
    /** Options for the script's node (e.g. --max-old-space-size). */
    nodeOptions?: string[];
    /** Kill the script after this long (a run that would not end by itself). */
    timeoutSeconds?: number;
    /** Record the script's peak resident memory (its node process alone; kubectl runs apart). */
    measureMemory?: boolean;
    /** Heap limit of the script's node, MiB. */
    heapMiB?: number;
    /** The Job's environment over {@link SCRIPT_ENV}; undefined takes a variable out. */
    env?: Record<string, string | undefined>;
}

/**
 * A valid value for every variable of the contract (cluster/contract.json) but those that name what a
 * test asks of the script (the new anchor, the strict namespaces, the network posture, the Pod Security
 * probe): each test sets those itself, and a test of a missing value takes one out.
 */
export const SCRIPT_ENV: Partial<Record<VariableName, string>> = {
    TASKS: "certificates,restarts",
    LINKERD_NAMESPACE: "linkerd",
    ISSUER_SOURCE: JSON.stringify({ kind: "configmap", name: "linkerd-identity-issuer-certificate", key: "tls.crt" }),
    TRUST_ROOTS_CONFIGMAP: "linkerd-identity-trust-roots",
    MAX_CONCURRENT_RESTARTS: "1",
    ROLLOUT_TIMEOUT_SECONDS: "60",
    DEADLINE_SECONDS: "3000",
    PAGE_SIZE: "250",
    MAX_PAGE_BYTES: String(4 * 1024 * 1024),
    MAX_PAGES: "1000",
    KUBECTL_TIMEOUT_SECONDS: "2",
    MESHED_NAMESPACES: "akko",
    UNMESHED_NAMESPACES: "",
    EXPECTED_INBOUND_POLICY: "{}",
    EXPECTED_ANNOTATIONS: "{}",
    INGRESS: "",
    PROXY_VERSION: "",
    MAX_VERSION_RESTARTS: "10",
    CONTROL_PLANE_DEPLOYMENTS: "linkerd-identity,linkerd-destination,linkerd-proxy-injector",
    CONTROL_PLANE_DIGEST: "",
    ISSUER_MIN_HOURS_LEFT: "24",
    ANCHOR_MIN_DAYS_LEFT: "60",
    INTERMEDIATE_MIN_HOURS_LEFT: "720",
    PROBE_AUTHORIZATIONS: "[]",
    INGRESS_MESHED: "true",
    IDENTITY_RELOAD_WAIT_SECONDS: "180",
};

export interface Result {
    status: number | null;
    /** What the script wrote to its termination message (TERMINATION_MESSAGE_PATH), when it did. */
    terminationMessage?: string;
    /** Objects submitted with `kubectl create --dry-run=server`, with their namespace. */
    submitted: { namespace: string; object: any }[];
    stdout: string;
    stderr: string;
    /** kubectl calls, without the request timeout. */
    calls: string[];
    /** kubectl calls as made. */
    raw: string[];
    seconds: number;
    /** Peak resident memory of the script's node process, MiB (with {@link Cluster.measureMemory}). */
    peakMiB?: number;
}

export const bundlePem = (anchors: Ca[] | string) =>
    typeof anchors === "string" ? anchors : anchors.map((a) => a.certPem.trim()).join("\n");

/**
 * Runs the script once against `cluster`. In a directory of its own, removed after; in `dir`, kept
 * (the pods, restarted or not, are then read back into `cluster.pods`).
 */
export function runScript(cluster: Cluster, dir?: string): Result {
    const keep = dir !== undefined;
    dir ??= fs.mkdtempSync(path.join(os.tmpdir(), "mesh-check-"));
    let stopIdentity: (() => void) | undefined;
    try {
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin, { recursive: true });
        fs.writeFileSync(path.join(bin, "kubectl"), FAKE_KUBECTL, { mode: 0o755 });
        const write = (file: string, value: unknown) => fs.writeFileSync(path.join(dir, file), JSON.stringify(value));
        write("rules.json", {
            hang: cluster.hang ?? [],
            answer: cluster.answer ?? [],
            failing: cluster.failingRollouts ?? [],
            gone: cluster.gone ?? [],
            slowRollouts: cluster.slowRollouts ?? 0,
            podPadding: cluster.podPadding ?? 0,
            endlessList: cluster.endlessList ?? "",
            refreshOnRestart: cluster.refreshOnRestart ?? false,
            refuse: cluster.refuse ?? [],
            podSecurity: {
                user: "system:serviceaccount:linkerd-maintenance:linkerd-mesh-pod-security",
                ...cluster.podSecurity,
            },
            podSecurityModule: POD_SECURITY_ADMISSION_MODULE,
        });
        write("configmap-linkerd-linkerd-identity-trust-roots.json", {
            data: { "ca-bundle.crt": bundlePem(cluster.bundle) },
        });
        write("configmap-linkerd-linkerd-identity-issuer-certificate.json", {
            data: { "tls.crt": cluster.issuer.certPem },
        });
        write("certificates-linkerd-linkerd-identity-issuer.json", { status: { revision: 3 } });
        write("certificaterequests-linkerd.json", {
            items: [2, 3].map((revision) => ({
                metadata: {
                    annotations: {
                        "cert-manager.io/certificate-name": "linkerd-identity-issuer",
                        "cert-manager.io/certificate-revision": String(revision),
                    },
                },
                status: {
                    certificate: Buffer.from(revision === 3 ? cluster.issuer.certPem : "garbage").toString("base64"),
                },
            })),
        });
        const identity = cluster.identity ? startIdentity(dir, cluster.identity) : undefined;
        stopIdentity = identity?.stop;
        const allPods: Record<string, object[]> = { ...(cluster.pods ?? {}) };
        if (identity) allPods.linkerd = [...(allPods.linkerd ?? []), ...identity.pods];
        write("events-linkerd.json", {
            items: (cluster.identity?.events ?? []).map((e) => ({
                reason: e.reason,
                message: e.message,
                type: e.reason === "IssuerUpdated" ? "Normal" : "Warning",
                involvedObject: {
                    apiVersion: "apps/v1",
                    kind: "Deployment",
                    namespace: "linkerd",
                    name: "linkerd-identity",
                },
                lastTimestamp: e.at.toISOString(),
                count: 1,
            })),
        });
        for (const [namespace, pods] of Object.entries(allPods)) write(`pods-${namespace}.json`, pods);
        for (const namespace of new Set([...Object.keys(allPods), ...Object.keys(cluster.workloads ?? {})])) {
            for (const object of cluster.workloads?.[namespace] ?? workloadsOf((allPods[namespace] as any[]) ?? [])) {
                write(`${object.kind.toLowerCase()}-${namespace}-${object.metadata.name}.json`, object);
            }
        }
        for (const [name, annotations] of Object.entries(cluster.deployments ?? {})) {
            // Beside the Deployment the identity pods' owners name (uid, selector), when there is one.
            const file = path.join(dir, `deployment-linkerd-${name}.json`);
            const owned = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : { metadata: { name } };
            write(`deployment-linkerd-${name}.json`, {
                ...owned,
                spec: { ...owned.spec, template: { metadata: { annotations } } },
                status: { availableReplicas: 1 },
            });
        }
        for (const [namespace, names] of Object.entries(cluster.ingresses ?? {}))
            write(`ingresses-${namespace}.json`, { items: names.map((name) => ({ metadata: { name } })) });
        for (const [target, linked] of Object.entries(cluster.linked ?? {})) {
            if (!linked.noCredentials) {
                const kubeconfig = `apiVersion: v1\nkind: Config\nclusters:\n- name: ${target}\n  cluster:\n    server: fake://${target}\n`;
                write(`secret-linkerd-multicluster-cluster-credentials-${target}.json`, {
                    data: { kubeconfig: Buffer.from(kubeconfig).toString("base64") },
                });
            }
            const remote = path.join(dir, `remote-${target}`);
            fs.mkdirSync(remote, { recursive: true });
            fs.writeFileSync(
                path.join(remote, "configmap-linkerd-linkerd-identity-trust-roots.json"),
                JSON.stringify({ data: { "ca-bundle.crt": bundlePem(linked.bundle) } }),
            );
            for (const [namespace, pods] of Object.entries(linked.pods ?? {}))
                fs.writeFileSync(path.join(remote, `pods-${namespace}.json`), JSON.stringify(pods));
        }
        fs.writeFileSync(path.join(dir, "calls.log"), "");

        const started = Date.now();
        const rssFile = path.join(dir, "peak-rss");
        if (cluster.measureMemory) {
            // getrusage's ru_maxrss of the script's process, written as it exits.
            const preload = `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));`;
            fs.writeFileSync(path.join(dir, "peak-rss.cjs"), preload);
        }
        const nodeOptions = [
            ...(cluster.heapMiB ? [`--max-old-space-size=${cluster.heapMiB}`] : []),
            ...(cluster.nodeOptions ?? []),
            ...(cluster.measureMemory ? ["--require", path.join(dir, "peak-rss.cjs")] : []),
        ];
        const result = spawnSync(process.execPath, [...nodeOptions, MESH_CHECK_SCRIPT_PATH], {
            encoding: "utf8",
            ...(cluster.timeoutSeconds
                ? { timeout: cluster.timeoutSeconds * 1000, killSignal: "SIGKILL" as const }
                : {}),
            env: Object.fromEntries(
                Object.entries({
                    PATH: `${bin}:${process.env.PATH}`,
                    FAKE_KUBE_DIR: dir,
                    ...SCRIPT_ENV,
                    ISSUER_SOURCE: JSON.stringify(
                        cluster.issuerSource === "certificate"
                            ? { kind: "certificate", name: "linkerd-identity-issuer" }
                            : { kind: "configmap", name: "linkerd-identity-issuer-certificate", key: "tls.crt" },
                    ),
                    MESHED_NAMESPACES: Object.keys(cluster.pods ?? { akko: [] }).join(","),
                    ...cluster.env,
                    // The Job's /dev/termination-log, here.
                    TERMINATION_MESSAGE_PATH: path.join(dir, "termination-log"),
                }).filter((entry): entry is [string, string] => entry[1] !== undefined),
            ),
        });
        const raw = fs.readFileSync(path.join(dir, "calls.log"), "utf8").split("\n").filter(Boolean);
        const calls = raw.map((call) => call.replace(/ --request-timeout=\d+s$/, ""));
        if (keep) {
            const read = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
            for (const namespace of Object.keys(cluster.pods ?? {})) {
                // The identity pods are the fixture's, made again each run.
                if (namespace !== "linkerd" || !identity) cluster.pods![namespace] = read(`pods-${namespace}.json`);
            }
            for (const name of Object.keys(cluster.deployments ?? {})) {
                cluster.deployments![name] =
                    read(`deployment-linkerd-${name}.json`).spec.template.metadata.annotations ?? {};
            }
        }
        const seconds = (Date.now() - started) / 1000;
        const peakMiB =
            cluster.measureMemory && fs.existsSync(rssFile)
                ? Number(fs.readFileSync(rssFile, "utf8")) / 1024
                : undefined;
        const terminationFile = path.join(dir, "termination-log");
        const terminationMessage = fs.existsSync(terminationFile)
            ? fs.readFileSync(terminationFile, "utf8")
            : undefined;
        if (fs.existsSync(terminationFile)) fs.rmSync(terminationFile);
        const submittedFile = path.join(dir, "submitted.log");
        const submitted = fs.existsSync(submittedFile)
            ? fs
                  .readFileSync(submittedFile, "utf8")
                  .split("\n")
                  .filter(Boolean)
                  .map((line) => JSON.parse(line))
            : [];
        if (fs.existsSync(submittedFile)) fs.rmSync(submittedFile);
        return {
            status: result.status,
            stdout: result.stdout,
            stderr: result.stderr,
            calls,
            raw,
            seconds,
            peakMiB,
            terminationMessage,
            submitted,
        };
    } finally {
        stopIdentity?.();
        if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    }
}

export const restarts = (r: Result) => r.calls.filter((c) => c.startsWith("rollout"));

export interface PodOptions {
    /** Proxy as a native sidecar (init container). */
    nativeSidecar?: boolean;
    /** The proxy's LINKERD2_PROXY_INBOUND_DEFAULT_POLICY. */
    policy?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    hostNetwork?: boolean;
    phase?: string;
    /** Owner: Deployment (default, through its ReplicaSet), StatefulSet, DaemonSet, Job, or none (a bare pod). */
    owner?: "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "none";
    probes?: Record<string, object>;
    ports?: object[];
}

let podCounter = 0;
const HASH = "5d8f7c9b4";
/** The uid the fake cluster gives a workload object: fixed per kind and name. */
export const uidOf = (kind: string, name: string) => `uid-${kind.toLowerCase()}-${name}`;

/**
 * A pod; meshed when `anchors` is given, trusting them. Its workload's pods carry `app: <name>`, which
 * the workload's selector selects, and its controller reference names the workload's uid, as the
 * controllers write them.
 */
export function pod(name: string, anchors: Ca[] | string | undefined, options: PodOptions = {}): any {
    const env = [{ name: "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY", value: options.policy ?? "all-unauthenticated" }];
    if (anchors) env.push({ name: "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS", value: `${bundlePem(anchors)}\n` });
    const proxy = { name: "linkerd-proxy", env };
    const app = { name: "app", env: [], ports: options.ports ?? [], ...(options.probes ?? {}) };
    const containers = anchors
        ? options.nativeSidecar
            ? { initContainers: [proxy], containers: [app] }
            : { containers: [app, proxy] }
        : { containers: [app] };
    const owner = options.owner ?? "Deployment";
    const controller = (kind: string, ownerName: string) => ({
        apiVersion: kind === "Job" ? "batch/v1" : "apps/v1",
        kind,
        name: ownerName,
        uid: uidOf(kind, ownerName),
        controller: true,
    });
    const ownerReferences =
        owner === "Deployment"
            ? [controller("ReplicaSet", `${name}-${HASH}`)]
            : owner === "none"
              ? undefined
              : [controller(owner, name)];
    podCounter++;
    return {
        metadata: {
            name: `${name}-${HASH}-x${podCounter}`,
            labels: {
                ...(owner === "none" ? {} : { app: name }),
                ...(owner === "Deployment" ? { "pod-template-hash": HASH } : {}),
                ...(options.labels ?? {}),
            },
            annotations: options.annotations ?? {},
            ...(ownerReferences ? { ownerReferences } : {}),
        },
        spec: { ...containers, ...(options.hostNetwork ? { hostNetwork: true } : {}) },
        status: { phase: options.phase ?? "Running" },
    };
}

/**
 * The workload objects the pods' controller references name, as the controllers make them: a
 * ReplicaSet controlled by its Deployment (named by the ReplicaSet's name without the pod-template-hash),
 * StatefulSets and DaemonSets; each with the uid the pods name and a selector of `app` (plus the
 * pod-template-hash for a ReplicaSet).
 */
export function workloadsOf(pods: any[]): any[] {
    const objects = new Map<string, any>();
    const add = (object: any) =>
        objects.has(`${object.kind}/${object.metadata.name}`) ||
        objects.set(`${object.kind}/${object.metadata.name}`, object);
    for (const p of pods) {
        const ref = (p.metadata.ownerReferences ?? []).find((r: any) => r.controller);
        const app = p.metadata.labels?.app;
        if (!ref || !app) continue;
        const object = (kind: string, name: string, matchLabels: Record<string, string>, extra: object = {}) => ({
            apiVersion: "apps/v1",
            kind,
            metadata: { name, uid: uidOf(kind, name), labels: matchLabels, ...extra },
            spec: { selector: { matchLabels } },
        });
        if (ref.kind === "ReplicaSet") {
            const hash = p.metadata.labels["pod-template-hash"];
            const deployment = ref.name.slice(0, -hash.length - 1);
            add(
                object(
                    "ReplicaSet",
                    ref.name,
                    { app, "pod-template-hash": hash },
                    {
                        ownerReferences: [
                            { ...ref, kind: "Deployment", name: deployment, uid: uidOf("Deployment", deployment) },
                        ],
                    },
                ),
            );
            add(object("Deployment", deployment, { app }));
        } else if (ref.kind === "StatefulSet" || ref.kind === "DaemonSet") {
            add(object(ref.kind, ref.name, { app }));
        }
    }
    return [...objects.values()];
}
