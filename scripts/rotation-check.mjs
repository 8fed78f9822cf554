#!/usr/bin/env node
// Daily certificate check of the Linkerd mesh, run by the `linkerd-rotation-check`
// CronJob (components/rotationCronJob.ts mounts this file from a ConfigMap).
//
// 1. Reads the identity issuer certificate (Secret) and the trust bundle (ConfigMap).
// 2. Checks that the issuer chains to an anchor of the bundle (node:crypto).
// 3. Reports the time left on the issuer and on every anchor; fails under the thresholds.
// 4. Restarts, a bounded number at a time, the workloads of the meshed namespaces whose
//    pods were injected with another trust bundle than the current one, so their proxies
//    load it: this is what makes rotation phases 1 and 3 safe without a manual step.
//    Nothing is restarted while the chain is broken (new pods would not get identities).
//
// Exit status: 0 all good, 1 a check failed or a restart did not complete, 2 misconfigured.
// Needs only Node's standard library and `kubectl` on PATH.

import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";

const TRUST_ANCHORS_ENV = "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS";
const PROXY_CONTAINER = "linkerd-proxy";

function setting(name, fallback) {
    const value = process.env[name] ?? fallback;
    if (value === undefined || value === "") {
        console.error(`rotation-check: ${name} is not set`);
        process.exit(2);
    }
    return value;
}

function number(name, fallback) {
    const value = Number(setting(name, fallback));
    if (!Number.isFinite(value) || value < 0) {
        console.error(`rotation-check: ${name} must be a non-negative number`);
        process.exit(2);
    }
    return value;
}

const config = {
    linkerdNamespace: setting("LINKERD_NAMESPACE", "linkerd"),
    issuerSecret: setting("ISSUER_SECRET", "linkerd-identity-issuer"),
    issuerScheme: setting("ISSUER_SCHEME", "linkerd.io/tls"),
    trustRootsConfigMap: setting("TRUST_ROOTS_CONFIGMAP", "linkerd-identity-trust-roots"),
    meshedNamespaces: setting("MESHED_NAMESPACES", "")
        .split(",")
        .map((n) => n.trim())
        .filter(Boolean),
    issuerMinHours: number("ISSUER_MIN_HOURS_LEFT", "24"),
    anchorMinDays: number("ANCHOR_MIN_DAYS_LEFT", "60"),
    maxConcurrent: Math.max(1, number("MAX_CONCURRENT_RESTARTS", "2")),
    rolloutTimeoutSeconds: number("ROLLOUT_TIMEOUT_SECONDS", "600"),
    now: process.env.NOW ? new Date(process.env.NOW) : new Date(),
};

const problems = [];
const log = (line) => console.log(line);

function kubectl(args) {
    return execFileSync("kubectl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
}

function kubectlJson(args) {
    return JSON.parse(kubectl([...args, "-o", "json"]));
}

/** Every certificate of a PEM text, in order. */
function certificates(pem) {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return blocks.map((block) => new X509Certificate(block));
}

/** Bundle text without whitespace: what the injector copied into a pod, compared exactly. */
function normalize(pem) {
    return pem.replace(/\s+/g, "");
}

const hoursLeft = (cert) => (new Date(cert.validTo).getTime() - config.now.getTime()) / 3600_000;
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

function checkCertificates(issuer, anchors) {
    const signer = anchors.find((anchor) => issuer.checkIssued(anchor) && issuer.verify(anchor.publicKey));
    if (signer) {
        log(`chain: OK, the issuer is signed by anchor ${describe(signer)}`);
    } else {
        problems.push("chain: BROKEN, the identity issuer is not signed by any anchor of the trust bundle");
        log(problems[problems.length - 1]);
    }
    if (!issuer.ca) problems.push("issuer: not a CA certificate");

    const issuerHours = hoursLeft(issuer);
    log(`issuer: ${describe(issuer)} expires ${issuer.validTo}: ${issuerHours.toFixed(1)} h (${(issuerHours / 24).toFixed(1)} days) left`);
    if (issuerHours < config.issuerMinHours) {
        problems.push(`issuer: ${issuerHours.toFixed(1)} h left, under the ${config.issuerMinHours} h threshold`);
    }
    anchors.forEach((anchor, i) => {
        const days = hoursLeft(anchor) / 24;
        log(`anchor[${i}]: ${describe(anchor)} expires ${anchor.validTo}: ${days.toFixed(1)} days left`);
        if (days < config.anchorMinDays) {
            problems.push(`anchor[${i}]: ${days.toFixed(1)} days left, under the ${config.anchorMinDays} days threshold: rotate it (docs/admin/rotation.md)`);
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

/** The trust bundle a pod's proxy was injected with, or undefined if it has no proxy. */
function injectedBundle(pod) {
    const containers = [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])];
    const proxy = containers.find((c) => c.name === PROXY_CONTAINER);
    return proxy?.env?.find((e) => e.name === TRUST_ANCHORS_ENV)?.value;
}

function staleWorkloads(currentBundle) {
    const current = normalize(currentBundle);
    const stale = new Map();
    for (const namespace of config.meshedNamespaces) {
        const pods = kubectlJson(["get", "pods", "-n", namespace]).items ?? [];
        for (const pod of pods) {
            const injected = injectedBundle(pod);
            if (injected === undefined || normalize(injected) === current) continue;
            if (pod.metadata.deletionTimestamp) continue;
            const workload = owner(pod);
            if (!workload) {
                log(`stale: pod ${namespace}/${pod.metadata.name} trusts an old bundle but has no Deployment, StatefulSet or DaemonSet: delete it by hand`);
                continue;
            }
            stale.set(`${namespace}/${workload}`, { namespace, workload });
        }
    }
    return [...stale.values()].sort((a, b) => `${a.namespace}/${a.workload}`.localeCompare(`${b.namespace}/${b.workload}`));
}

function restart(workloads) {
    for (let i = 0; i < workloads.length; i += config.maxConcurrent) {
        const batch = workloads.slice(i, i + config.maxConcurrent);
        for (const { namespace, workload } of batch) {
            log(`restart: ${namespace}/${workload} (its proxies trust an old bundle)`);
            kubectl(["rollout", "restart", workload, "-n", namespace]);
        }
        for (const { namespace, workload } of batch) {
            try {
                kubectl(["rollout", "status", workload, "-n", namespace, `--timeout=${config.rolloutTimeoutSeconds}s`]);
                log(`restarted: ${namespace}/${workload}`);
            } catch (error) {
                problems.push(`restart: ${namespace}/${workload} did not complete: ${String(error.stderr ?? error.message).trim()}`);
                log(problems[problems.length - 1]);
            }
        }
        if (problems.some((p) => p.startsWith("restart:"))) {
            const left = workloads.slice(i + config.maxConcurrent);
            if (left.length > 0) log(`restart: stopped, ${left.length} workload(s) left for the next run`);
            return;
        }
    }
}

function main() {
    let issuer;
    let bundle;
    try {
        issuer = readIssuer();
        bundle = readBundle();
    } catch (error) {
        console.error(`rotation-check: cannot read the certificates: ${String(error.stderr ?? error.message).trim()}`);
        return 1;
    }
    const chainOk = checkCertificates(issuer, bundle.anchors);

    if (!chainOk) {
        log("restart: skipped while the chain is broken");
    } else {
        try {
            const stale = staleWorkloads(bundle.pem);
            if (stale.length === 0) log("restart: none needed, every meshed pod trusts the current bundle");
            else restart(stale);
        } catch (error) {
            problems.push(`restart: cannot list the meshed pods: ${String(error.stderr ?? error.message).trim()}`);
        }
    }

    if (problems.length > 0) {
        console.error(`rotation-check: FAILED\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        return 1;
    }
    log("rotation-check: OK");
    return 0;
}

process.exitCode = main();
