// What `linkerd multicluster check` should check and does not: the trust roots each linked cluster
// actually serves. Its "clusters share trust anchors" compares the `values` of ConfigMap linkerd-config
// on both sides (linkerd2 edge-26.8.3 multicluster/cmd/check.go:434-496, pkg/healthcheck/healthcheck.go
// FetchCurrentConfiguration), which with `identity.externalCA` holds no anchor at all: it passes for any
// two clusters (pkg/tls/codec.go DecodePEMCertificates("") = nil; linkerd2 #11668, #7449).
//
// This reads, through a link's own credentials (the kubeconfig of Secret cluster-credentials-<target>):
// - ConfigMap linkerd/linkerd-identity-trust-roots, the bundle the target's injector hands new pods
//   (the program's Role `linkerd-service-mirror-remote-access-<source>-trust-roots` on the target);
// - every meshed pod's LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS in the namespaces given (Linkerd's own
//   remote-access ClusterRole lists pods cluster-wide): the bundle each proxy loaded at its start
//   (linkerd2-proxy v2.366.0 linkerd/app/src/env/identity.rs) — what it trusts, whatever the ConfigMap says.
// and compares them with this cluster's bundle and the anchor its issuer chains to. Pure functions
// and a reader with an injected kubectl; `node remoteTrust.mjs` runs it from the environment (the hook
// a Job could call: REMOTE_TRUST_LINKS, LOCAL_BUNDLE_FILE, LOCAL_SIGNING_SHA256); the rollout Job runs
// checkLinks from cluster/mesh-check.mjs, its task remote-trust.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";

export const TRUST_ANCHORS_ENV = "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS";
const PROXY_CONTAINER = "linkerd-proxy";
const PAGE = 200;
/** At most this many pages per namespace: an API that never ends its list must not keep the Job forever. */
const MAX_PAGES = 500;
/** How many pods a problem names before it counts the rest. */
const NAMED = 10;

/** The certificates of a PEM bundle; malformed blocks are an error naming where they come from. */
export function certificatesOf(pem, where) {
    const blocks = String(pem ?? "").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return blocks.map((block) => {
        try {
            return new X509Certificate(block);
        } catch (error) {
            throw new Error(`${where}: a certificate that does not parse (${error.message})`, { cause: error });
        }
    });
}

/** SHA-256 fingerprints (hex, no colons) of a bundle's certificates, sorted. */
export function fingerprints(pem, where) {
    return [...new Set(certificatesOf(pem, where).map((c) => c.fingerprint256.replace(/:/g, "").toLowerCase()))].sort();
}

const short = (sha) => `${sha.slice(0, 12)}…`;
const list = (shas) => shas.map(short).join(", ");
const named = (pods) =>
    pods.slice(0, NAMED).join(", ") + (pods.length > NAMED ? ` and ${pods.length - NAMED} more` : "");

/**
 * The verdict for one link. `local.signingSha256` is the anchor this cluster's issuer chains to,
 * `local.bundlePem` what its proxies trust; `remote.trustRootsPem` what the target serves new pods,
 * `remote.pods` its meshed pods with the bundle each loaded (`bundlePem` undefined: not meshed, skipped).
 *
 * Fails (problems) when a connection between the two clusters would be refused:
 * - a target proxy, or the bundle it serves new pods, lacks the anchor this cluster's identities chain to;
 * - this cluster trusts no anchor the target serves (no identity of the target can verify here).
 * Notes (not failures) what a fleet rotation passes through: bundles that differ, target pods not yet
 * restarted on the target's own bundle.
 */
export function remoteTrustVerdict({ target, local, remote }) {
    const problems = [];
    const notes = [];
    const signing = local.signingSha256.replace(/:/g, "").toLowerCase();
    const localBundle = fingerprints(local.bundlePem, "this cluster's bundle");
    const served = fingerprints(remote.trustRootsPem, `${target}: ConfigMap linkerd/linkerd-identity-trust-roots`);
    if (served.length === 0)
        problems.push(`${target}: serves an empty trust bundle (ConfigMap linkerd/linkerd-identity-trust-roots)`);
    if (!served.includes(signing)) {
        problems.push(
            `${target}: the bundle it serves new pods (${list(served)}) lacks this cluster's issuing anchor ${short(signing)}: its new pods would refuse this cluster's identities`,
        );
    }
    if (served.length > 0 && !served.some((sha) => localBundle.includes(sha))) {
        problems.push(
            `${target}: this cluster trusts none of the anchors it serves (${list(served)}; here: ${list(localBundle)}): no identity of ${target} verifies here`,
        );
    }
    const lacking = [];
    const stale = [];
    let meshed = 0;
    for (const pod of remote.pods) {
        if (pod.bundlePem === undefined) continue;
        meshed++;
        const trusted = fingerprints(pod.bundlePem, `${target}: pod ${pod.namespace}/${pod.name}`);
        if (!trusted.includes(signing)) lacking.push(`${pod.namespace}/${pod.name}`);
        if (trusted.join() !== served.join()) stale.push(`${pod.namespace}/${pod.name}`);
    }
    if (lacking.length > 0) {
        problems.push(
            `${target}: ${lacking.length} meshed pod(s) do not trust this cluster's issuing anchor ${short(signing)} (they loaded their bundle at start): ${named(lacking)}`,
        );
    }
    if (stale.length > 0)
        notes.push(
            `${target}: ${stale.length} meshed pod(s) still run on another bundle than the one it serves (its own rollout restarts them): ${named(stale)}`,
        );
    if (served.join() !== localBundle.join()) {
        notes.push(
            `${target}: serves ${list(served)}, this cluster ${list(localBundle)}: expected during a fleet rotation, until every member is in the same phase`,
        );
    }
    return { target, meshedPods: meshed, served, problems, notes };
}

/** kubectl through a link's kubeconfig, with a request timeout: the default runner. */
export function kubectlRunner(kubeconfigPath, timeoutSeconds = 30) {
    return (args) =>
        execFileSync("kubectl", [...args, `--kubeconfig=${kubeconfigPath}`, `--request-timeout=${timeoutSeconds}s`], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
            maxBuffer: 64 * 1024 * 1024,
            timeout: (timeoutSeconds + 5) * 1000,
        });
}

/** The proxy container of a pod: an init container with native sidecars, a container otherwise. */
const proxyOf = (pod) =>
    [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === PROXY_CONTAINER);

/** What a target serves, read with `run` (a kubectl bound to the link's kubeconfig): the trust roots and the meshed pods of `namespaces`. */
export function readRemote({ run, namespaces }) {
    const configMap = JSON.parse(
        run(["get", "configmap", "linkerd-identity-trust-roots", "-n", "linkerd", "-o", "json"]),
    );
    const pods = [];
    for (const namespace of namespaces) {
        let next = "";
        for (let page = 0; ; page++) {
            if (page >= MAX_PAGES)
                throw new Error(`namespace ${namespace}: the pod list did not end after ${MAX_PAGES} pages`);
            const query = new URLSearchParams({ limit: String(PAGE), ...(next ? { continue: next } : {}) });
            const list = JSON.parse(run(["get", "--raw", `/api/v1/namespaces/${namespace}/pods?${query}`]));
            for (const pod of list.items ?? []) {
                if (pod.metadata?.deletionTimestamp || ["Succeeded", "Failed"].includes(pod.status?.phase)) continue;
                const env = proxyOf(pod)?.env?.find((e) => e.name === TRUST_ANCHORS_ENV)?.value;
                pods.push({ namespace, name: pod.metadata.name, bundlePem: env });
            }
            next = list.metadata?.continue ?? "";
            if (!next) break;
        }
    }
    return { trustRootsPem: configMap.data?.["ca-bundle.crt"] ?? "", pods };
}

/** Checks every link: `links` = [{ target, kubeconfigPath, namespaces }]; `runnerFor` makes the kubectl of a link. */
export function checkLinks({ links, local, runnerFor = (link) => kubectlRunner(link.kubeconfigPath) }) {
    return links.map((link) => {
        try {
            return remoteTrustVerdict({
                target: link.target,
                local,
                remote: readRemote({ run: runnerFor(link), namespaces: link.namespaces }),
            });
        } catch (error) {
            const text = String(error.stderr || error.message)
                .trim()
                .split("\n")
                .slice(-1)[0];
            return {
                target: link.target,
                meshedPods: 0,
                served: [],
                problems: [`${link.target}: cannot read what it serves through the link's credentials: ${text}`],
                notes: [],
            };
        }
    });
}

// `node remoteTrust.mjs`: the hook for the maintenance Job.
if (import.meta.url === `file://${process.argv[1]}`) {
    const links = JSON.parse(process.env.REMOTE_TRUST_LINKS ?? "[]");
    const local = {
        bundlePem: fs.readFileSync(process.env.LOCAL_BUNDLE_FILE, "utf8"),
        signingSha256: process.env.LOCAL_SIGNING_SHA256,
    };
    const verdicts = checkLinks({ links, local });
    for (const v of verdicts) {
        for (const note of v.notes) console.log(`note: ${note}`);
        for (const problem of v.problems) console.error(`problem: ${problem}`);
        if (v.problems.length === 0)
            console.log(
                `${v.target}: ${v.meshedPods} meshed pod(s) and the bundle it serves trust this cluster's issuing anchor`,
            );
    }
    process.exit(verdicts.some((v) => v.problems.length > 0) ? 1 : 0);
}
