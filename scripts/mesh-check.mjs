#!/usr/bin/env node
// Mesh maintenance for akko-mtls, run by two Kubernetes objects that mount this file from
// a ConfigMap (components/meshMaintenance.ts):
//   - the daily CronJob `linkerd-rotation-check` (TASKS=certificates,restarts);
//   - a one-shot Job on every change of the meshed namespaces or mode (TASKS=restarts),
//     which `pulumi up` waits for.
//
// certificates: read the identity issuer (Secret) and the trust bundle (ConfigMap), check
//   the issuer chains to an anchor of the bundle (node:crypto), report the time left, and
//   fail under the thresholds.
// control-plane: restart the control-plane Deployments whose pods did not start with what
//   CONTROL_PLANE_DIGEST stands for (the trust bundle, static webhook certificates): they read
//   the bundle only at start (controller/cmd/identity/main.go:68). The digest is kept as a
//   pod-template annotation, so the same digest never restarts them twice.
// restarts: roll, a bounded number at a time, the workloads whose pods do not match the
//   mesh as configured:
//   - in MESHED_NAMESPACES, a pod without a proxy (started before injection was enabled,
//     or while the injector was down), a proxy injected with another trust bundle than the
//     current one (rotation phases 1 and 3), or another default inbound policy than
//     EXPECTED_INBOUND_POLICY says (a permissive/strict switch);
//   - in UNMESHED_NAMESPACES (being drained), a pod that still has a proxy.
//   Nothing is restarted while the certificate chain is broken.
//
// Every kubectl call has a timeout, and no restart starts that could not finish before
// DEADLINE_SECONDS (the Job's activeDeadlineSeconds): what is left is reported, and fails the run.
//
// Exit status: 0 all good, 1 a check failed or a restart did not complete, 2 misconfigured.
// Needs only Node's standard library and `kubectl` on PATH.

import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";

const TRUST_ANCHORS_ENV = "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS";
const DEFAULT_POLICY_ENV = "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY";
const PROXY_CONTAINER = "linkerd-proxy";
const DIGEST_ANNOTATION = "akko.io/control-plane-digest";
/** A get or patch that takes longer than this is a failed call, not a hung Job. */
const REQUEST_TIMEOUT_SECONDS = 30;
/** Kept free at the end of the deadline to report. */
const DEADLINE_MARGIN_SECONDS = 60;
const started = Date.now();

function fail(message) {
    console.error(`mesh-check: ${message}`);
    process.exit(2);
}

function setting(name, fallback) {
    const value = process.env[name] ?? fallback;
    if (value === undefined || value === "") fail(`${name} is not set`);
    return value;
}

function number(name, fallback) {
    const value = Number(setting(name, fallback));
    if (!Number.isFinite(value) || value < 0) fail(`${name} must be a non-negative number`);
    return value;
}

function list(name) {
    return (process.env[name] ?? "")
        .split(",")
        .map((n) => n.trim())
        .filter(Boolean);
}

function policies() {
    try {
        return JSON.parse(process.env.EXPECTED_INBOUND_POLICY || "{}");
    } catch {
        fail("EXPECTED_INBOUND_POLICY must be a JSON object of namespace -> policy");
    }
}

const tasks = list("TASKS");
const config = {
    tasks: tasks.length > 0 ? tasks : ["certificates", "restarts"],
    linkerdNamespace: setting("LINKERD_NAMESPACE", "linkerd"),
    issuerSecret: setting("ISSUER_SECRET", "linkerd-identity-issuer"),
    issuerScheme: setting("ISSUER_SCHEME", "linkerd.io/tls"),
    trustRootsConfigMap: setting("TRUST_ROOTS_CONFIGMAP", "linkerd-identity-trust-roots"),
    meshedNamespaces: list("MESHED_NAMESPACES"),
    unmeshedNamespaces: list("UNMESHED_NAMESPACES"),
    expectedPolicy: policies(),
    issuerMinHours: number("ISSUER_MIN_HOURS_LEFT", "24"),
    anchorMinDays: number("ANCHOR_MIN_DAYS_LEFT", "60"),
    maxConcurrent: Math.max(1, number("MAX_CONCURRENT_RESTARTS", "2")),
    rolloutTimeoutSeconds: number("ROLLOUT_TIMEOUT_SECONDS", "600"),
    deadlineSeconds: number("DEADLINE_SECONDS", "3000"),
    controlPlaneDeployments: list("CONTROL_PLANE_DEPLOYMENTS"),
    controlPlaneDigest: process.env.CONTROL_PLANE_DIGEST ?? "",
};
for (const task of config.tasks) {
    if (!["certificates", "control-plane", "restarts"].includes(task)) fail(`unknown task ${task} (certificates, control-plane, restarts)`);
}
if (config.rolloutTimeoutSeconds + DEADLINE_MARGIN_SECONDS > config.deadlineSeconds) {
    fail(`ROLLOUT_TIMEOUT_SECONDS (${config.rolloutTimeoutSeconds}) leaves no room inside DEADLINE_SECONDS (${config.deadlineSeconds})`);
}
/** Seconds left before the run must stop starting work. */
const secondsLeft = () => config.deadlineSeconds - DEADLINE_MARGIN_SECONDS - (Date.now() - started) / 1000;

const problems = [];
const log = (line) => console.log(line);
const problem = (line) => {
    problems.push(line);
    log(line);
};

/**
 * kubectl with a hard process timeout. A plain request also gets `--request-timeout`; a
 * `rollout status` (a watch, which kubectl renews by itself) is bounded by `--timeout` and the
 * process timeout only.
 */
function kubectl(args, timeoutSeconds = REQUEST_TIMEOUT_SECONDS) {
    const watch = args[0] === "rollout" && args[1] === "status";
    return execFileSync("kubectl", watch ? args : [...args, `--request-timeout=${REQUEST_TIMEOUT_SECONDS}s`], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        maxBuffer: 64 * 1024 * 1024,
        timeout: (timeoutSeconds + 5) * 1000,
        killSignal: "SIGKILL",
    });
}

function kubectlJson(args) {
    return JSON.parse(kubectl([...args, "-o", "json"]));
}

const errorText = (error) => String(error.stderr || error.message).trim();

/** Every certificate of a PEM text, in order. */
function certificates(pem) {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return blocks.map((block) => new X509Certificate(block));
}

/** Bundle text without whitespace: what the injector copied into a pod, compared exactly. */
const normalize = (pem) => pem.replace(/\s+/g, "");
const hoursLeft = (cert) => (new Date(cert.validTo).getTime() - Date.now()) / 3600_000;
const describe = (cert) => `${cert.subject.replace(/\n/g, ", ")} (sha256 ${cert.fingerprint256.slice(0, 23)}...)`;

function readIssuer() {
    const secret = kubectlJson(["get", "secret", config.issuerSecret, "-n", config.linkerdNamespace]);
    const key = config.issuerScheme === "kubernetes.io/tls" ? "tls.crt" : "crt.pem";
    const data = secret.data?.[key];
    if (!data) throw new Error(`Secret ${config.linkerdNamespace}/${config.issuerSecret} has no ${key}`);
    const chain = certificates(Buffer.from(data, "base64").toString("utf8"));
    if (chain.length === 0) throw new Error(`Secret ${config.issuerSecret} ${key} holds no certificate`);
    return chain[0];
}

function readBundle() {
    const configMap = kubectlJson(["get", "configmap", config.trustRootsConfigMap, "-n", config.linkerdNamespace]);
    const pem = configMap.data?.["ca-bundle.crt"];
    if (!pem) throw new Error(`ConfigMap ${config.linkerdNamespace}/${config.trustRootsConfigMap} has no ca-bundle.crt`);
    return { pem, anchors: certificates(pem) };
}

/** Checks chain and time left; returns whether the chain holds. */
function checkCertificates(issuer, anchors) {
    const signer = anchors.find((anchor) => issuer.checkIssued(anchor) && issuer.verify(anchor.publicKey));
    if (signer) log(`chain: OK, the issuer is signed by anchor ${describe(signer)}`);
    else problem("chain: BROKEN, the identity issuer is not signed by any anchor of the trust bundle");
    if (!issuer.ca) problem("issuer: not a CA certificate");

    const issuerHours = hoursLeft(issuer);
    log(`issuer: ${describe(issuer)} expires ${issuer.validTo}: ${issuerHours.toFixed(1)} h (${(issuerHours / 24).toFixed(1)} days) left`);
    if (issuerHours < config.issuerMinHours) {
        problem(`issuer: ${issuerHours.toFixed(1)} h left, under the ${config.issuerMinHours} h threshold`);
    }
    anchors.forEach((anchor, i) => {
        const days = hoursLeft(anchor) / 24;
        log(`anchor[${i}]: ${describe(anchor)} expires ${anchor.validTo}: ${days.toFixed(1)} days left`);
        if (days < config.anchorMinDays) {
            problem(`anchor[${i}]: ${days.toFixed(1)} days left, under the ${config.anchorMinDays} days threshold: rotate it (docs/admin/rotation.md)`);
        }
    });
    return Boolean(signer);
}

/** The workload that owns a pod, as `kind/name`, or undefined when it has none we can restart. */
function owner(pod) {
    const ref = pod.metadata.ownerReferences?.find((r) => r.controller) ?? pod.metadata.ownerReferences?.[0];
    if (!ref) return undefined;
    if (ref.kind === "ReplicaSet") {
        const hash = pod.metadata.labels?.["pod-template-hash"];
        return hash && ref.name.endsWith(`-${hash}`) ? `deployment/${ref.name.slice(0, -hash.length - 1)}` : undefined;
    }
    if (ref.kind === "StatefulSet" || ref.kind === "DaemonSet") return `${ref.kind.toLowerCase()}/${ref.name}`;
    return undefined;
}

/** The pod's linkerd-proxy container (a native sidecar is an init container), if any. */
function proxyOf(pod) {
    return [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])].find((c) => c.name === PROXY_CONTAINER);
}

const envOf = (container, name) => container?.env?.find((e) => e.name === name)?.value;

/** Why a pod must restart, or undefined. `bundle` is the current trust bundle, if read. */
function restartReason(pod, namespace, meshed, bundle) {
    const proxy = proxyOf(pod);
    if (!meshed) return proxy ? "it still has a proxy, its namespace leaves the mesh" : undefined;
    const optedOut = pod.metadata.annotations?.["linkerd.io/inject"] === "disabled" || pod.spec.hostNetwork;
    if (!proxy) return optedOut ? undefined : "it has no proxy";
    const anchors = envOf(proxy, TRUST_ANCHORS_ENV);
    // Control-plane style pods read the bundle from a ConfigMap (valueFrom): not compared.
    if (bundle !== undefined && anchors !== undefined && normalize(anchors) !== normalize(bundle)) {
        return "its proxy trusts an old bundle";
    }
    const expected = config.expectedPolicy[namespace];
    const actual = envOf(proxy, DEFAULT_POLICY_ENV);
    if (expected && actual !== undefined && actual !== expected) return `its proxy's default inbound policy is ${actual}, not ${expected}`;
    return undefined;
}

function workloadsToRestart(bundle) {
    const found = new Map();
    const scan = (namespace, meshed) => {
        const pods = kubectlJson(["get", "pods", "-n", namespace]).items ?? [];
        for (const pod of pods) {
            if (pod.metadata.deletionTimestamp || ["Succeeded", "Failed"].includes(pod.status?.phase)) continue;
            const reason = restartReason(pod, namespace, meshed, bundle);
            if (!reason) continue;
            const workload = owner(pod);
            if (!workload) {
                log(`skip: pod ${namespace}/${pod.metadata.name}: ${reason}, but it has no Deployment, StatefulSet or DaemonSet: recreate it by hand`);
                continue;
            }
            const key = `${namespace}/${workload}`;
            if (!found.has(key)) found.set(key, { namespace, workload, reason });
        }
    };
    for (const namespace of config.meshedNamespaces) scan(namespace, true);
    for (const namespace of config.unmeshedNamespaces) scan(namespace, false);
    return [...found.values()].sort((a, b) => `${a.namespace}/${a.workload}`.localeCompare(`${b.namespace}/${b.workload}`));
}

/** Restarts the control-plane Deployments not yet running with CONTROL_PLANE_DIGEST, one at a time. */
function restartControlPlane() {
    if (!config.controlPlaneDigest) return;
    for (const name of config.controlPlaneDeployments) {
        const deployment = kubectlJson(["get", "deployment", name, "-n", config.linkerdNamespace]);
        if (deployment.spec?.template?.metadata?.annotations?.[DIGEST_ANNOTATION] === config.controlPlaneDigest) continue;
        if (secondsLeft() < config.rolloutTimeoutSeconds) {
            problem(`control-plane: deployment/${name} not restarted: the Job's deadline is too close`);
            continue;
        }
        log(`control-plane: restart deployment/${name} (trust bundle or webhook certificates changed)`);
        const patch = { spec: { template: { metadata: { annotations: { [DIGEST_ANNOTATION]: config.controlPlaneDigest } } } } };
        kubectl(["patch", "deployment", name, "-n", config.linkerdNamespace, "--type", "merge", "-p", JSON.stringify(patch)]);
        try {
            kubectl(["rollout", "status", `deployment/${name}`, "-n", config.linkerdNamespace, `--timeout=${config.rolloutTimeoutSeconds}s`], config.rolloutTimeoutSeconds);
            log(`control-plane: deployment/${name} restarted`);
        } catch (error) {
            problem(`control-plane: deployment/${name} did not complete: ${errorText(error)}`);
        }
    }
}

function restart(workloads) {
    for (let i = 0; i < workloads.length; i += config.maxConcurrent) {
        const batch = workloads.slice(i, i + config.maxConcurrent);
        if (secondsLeft() < config.rolloutTimeoutSeconds) {
            problem(`restart: the Job's deadline is too close, ${workloads.length - i} workload(s) left for the next run`);
            return;
        }
        for (const { namespace, workload, reason } of batch) {
            log(`restart: ${namespace}/${workload} (${reason})`);
            kubectl(["rollout", "restart", workload, "-n", namespace]);
        }
        for (const { namespace, workload } of batch) {
            try {
                kubectl(["rollout", "status", workload, "-n", namespace, `--timeout=${config.rolloutTimeoutSeconds}s`], config.rolloutTimeoutSeconds);
                log(`restarted: ${namespace}/${workload}`);
            } catch (error) {
                problem(`restart: ${namespace}/${workload} did not complete: ${errorText(error)}`);
            }
        }
        if (problems.some((p) => p.startsWith("restart:"))) {
            const left = workloads.length - (i + batch.length);
            if (left > 0) log(`restart: stopped, ${left} workload(s) left for the next run`);
            return;
        }
    }
}

function main() {
    let chainOk = true;
    let bundle;
    try {
        bundle = readBundle();
        if (config.tasks.includes("certificates")) chainOk = checkCertificates(readIssuer(), bundle.anchors);
    } catch (error) {
        if (config.tasks.includes("certificates")) {
            console.error(`mesh-check: cannot read the certificates: ${errorText(error)}`);
            return 1;
        }
        // A drain may run while the bundle is being removed: restarts do not need it.
        log(`bundle: not read (${errorText(error)}); trust bundles are not compared`);
    }

    if (config.tasks.includes("control-plane")) {
        if (!chainOk) log("control-plane: skipped while the chain is broken");
        else {
            try {
                restartControlPlane();
            } catch (error) {
                problem(`control-plane: cannot read or restart the control plane: ${errorText(error)}`);
            }
        }
    }

    if (config.tasks.includes("restarts")) {
        if (!chainOk) {
            log("restart: skipped while the chain is broken");
        } else if (problems.some((p) => p.startsWith("control-plane:"))) {
            log("restart: skipped, the control plane did not restart");
        } else {
            try {
                const workloads = workloadsToRestart(bundle?.pem);
                if (workloads.length === 0) log("restart: none needed, every pod matches the mesh as configured");
                else restart(workloads);
            } catch (error) {
                problem(`restart: cannot list or restart pods: ${errorText(error)}`);
            }
        }
    }

    if (problems.length > 0) {
        console.error(`mesh-check: FAILED\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        return 1;
    }
    log("mesh-check: OK");
    return 0;
}

process.exitCode = main();
