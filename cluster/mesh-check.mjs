#!/usr/bin/env node
// Mesh maintenance for akko-mtls, run in the cluster by Jobs that mount this file from a ConfigMap
// (components/meshMaintenance.ts, from the plan in lib/maintenancePlan.ts):
//   - the daily CronJob `linkerd-rotation-check` (TASKS=certificates,control-plane,restarts);
//   - the rollout Job of a `pulumi up` that changed the mesh (TASKS=certificates,control-plane,restarts,
//     verify-bundle, plus reload-identity in rotation phase 2, remote-trust on a stack with
//     multicluster.links; thresholds 0: validity only), which
//     `pulumi up` waits for;
//   - the strict-mode preflight Job, before a namespace's default policy becomes all-authenticated
//     (TASKS=strict-preflight);
//   - in rotation phase 3, the gate Job the trust bundle waits for before it drops the old anchor
//     (TASKS=rotation-gate);
//   - the Pod Security check, before any namespace asks for proxies (TASKS=pod-security).
//
// Tasks:
// certificates    read the issuer's public chain (never its key) and the trust bundle, check the issuer
//                 chains to an anchor of the bundle through the cluster's intermediate (an issuer signed
//                 by an anchor itself means the anchor's key is in use somewhere) and that nothing is
//                 expired or not yet valid, report the time left, fail under the thresholds. An expired
//                 or broken chain halts every restart: restarting pods then would only break them. Every
//                 restarting task needs it: TASKS without it is a misconfiguration (exit 2), and it always
//                 runs first.
// control-plane   restart the control-plane Deployments whose pods did not start with what
//                 CONTROL_PLANE_DIGEST stands for (the trust bundle, static webhook certificates): they
//                 read the bundle only at start (linkerd2 controller/cmd/identity/main.go:68).
// reload-identity (rotation phase 2) wait until the live issuer chains to the new anchor
//                 (SIGNING_ANCHOR_SHA256) through its intermediate, then restart the identity controller so that it has loaded it:
//                 it exits at start when the issuer does not chain (pkg/identity/service.go), so a Ready
//                 identity is the evidence.
// restarts        roll, a bounded number at a time, the workloads whose pods do not match the mesh as
//                 configured: no proxy in a meshed namespace (or the ingress controller), a proxy trusting
//                 another bundle, another default policy or proxy annotations than configured, a proxy of
//                 another Linkerd version (at most MAX_VERSION_RESTARTS a run), a proxy left in a namespace
//                 being drained. A pod's workload is verified on the cluster, not taken from the pod (uid and
//                 selector at each step: verifiedOwner). A workload that does not come back, or is gone, is
//                 reported and the others go on; the order rotates daily, so the same workloads are not
//                 always last. Pods trusting an old bundle that no restart can renew (Job and bare pods,
//                 claims that do not hold) fail the run, listed: they alert, they are never "OK".
// rotation-gate   (rotation phase 3, before the old anchor leaves the bundle) the live issuer must chain
//                 to the new anchor (SIGNING_ANCHOR_SHA256) through its intermediate, and every identity
//                 replica must serve it: dropping the anchor the issuer still chains to would stop identity
//                 at its next start and have proxies reject every certificate it issues. Evidence read from
//                 identity itself: each replica's `issuer_cert_ttl_seconds` (admin port), which it sets only
//                 after verifying an issuer against its trust anchors, must be the live issuer's expiry; an
//                 `IssuerUpdateSkipped` event since the live issuer was issued fails at once, else a replica
//                 still on another issuer is waited for (the kubelet refreshes the mounted Secret) within
//                 IDENTITY_RELOAD_WAIT_SECONDS.
// verify-bundle   every running meshed pod, whatever owns it (Job, bare pod, Spark driver or executor),
//                 trusts the current bundle (its LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS equals it: what
//                 `linkerd check --proxy` compares); the others are listed and fail the run.
// remote-trust    (a stack with multicluster.links) through each link's own credentials (the kubeconfig of
//                 Secret REMOTE_TRUST_LINKS[i].secret in MULTICLUSTER_NAMESPACE, written to a private
//                 temporary file and removed after), the bundle the linked cluster serves new pods and the
//                 one each of its meshed proxies (REMOTE_TRUST_NAMESPACES) loaded must hold the anchor this
//                 cluster's issuer is signed under (SIGNING_ANCHOR_SHA256): else a cross-cluster connection
//                 is refused. What `linkerd multicluster check` compares from chart values only (remoteTrust.mjs,
//                 beside this file); every link is checked, each failure names its target.
// strict-preflight before strict mode: probes Linkerd does not authorize by itself under all-authenticated
//                 (gRPC, HTTPS; only httpGet probes get the policy controller's `probe` route) on ports no
//                 probe authorization covers, and Ingresses when the ingress controller is not meshed,
//                 fail the run; tcpSocket probes are reported (they pass, checking nothing).
// network-posture before the mesh's NetworkPolicies and annotations (NETWORK_POSTURE): each namespace's own
//                 policies (the mesh's excluded) must isolate, for every pod, exactly the directions the
//                 config says (a policy that selects some pods only is refused: the mesh's would isolate
//                 the others), and their rules that admit an opaque port must be the ones the config
//                 mirrors onto the proxy port; else fail with the config that matches (Kubernetes
//                 semantics in networkPolicy.cjs, beside this file).
// pod-security    before any namespace asks for proxies (POD_SECURITY): a server-side dry run, in each namespace
//                 about to be injected, of a pod carrying what the injector adds (lib/podSecurity.ts
//                 injectedPodProbe). The API server answers with Pod Security as it decides it there: the
//                 namespace's labels over the cluster's AdmissionConfiguration defaults, exemptions included.
//                 A refusal fails the run naming the config key, the namespace and the fix; nothing is stored.
//
// A failed run writes its problems, one a line, to its termination message (/dev/termination-log, or
// TERMINATION_MESSAGE_PATH), which `pulumi up` prints with the Job's failure.
//
// Bounded: every kubectl call has a timeout; pods are listed a page at a time, pages sized to
// MAX_PAGE_BYTES (from the container's memory, as node's heap cap: lib/maintenancePlan.ts
// scriptMemoryBudget), a list ends within MAX_PAGES pages or fails; and no restart starts that could
// not finish before DEADLINE_SECONDS.
// Never "OK" on doubt: an unreadable bundle or issuer, an answer that is not a list, fail the run.
//
// What each task reads from the environment, and in what format, is the contract beside this file
// (contract.json, read by contract.cjs), which the program declares its Jobs from: a value missing
// or malformed for the run's tasks is a misconfiguration, named, before anything is asked of the cluster.
//
// Exit status: 0 all good, 1 a check failed or work is left, 2 misconfigured.
// Needs only Node's standard library and `kubectl` on PATH.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import * as path from "node:path";
import contract from "./contract.cjs";
import networkPolicy from "./networkPolicy.cjs";
import { checkLinks, kubectlRunner } from "./remoteTrust.mjs";

const TRUST_ANCHORS_ENV = "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS";
const DEFAULT_POLICY_ENV = "LINKERD2_PROXY_INBOUND_DEFAULT_POLICY";
const PROXY_CONTAINER = "linkerd-proxy";
const DIGEST_ANNOTATION = contract.annotations.controlPlaneDigest;
const ISSUER_ANNOTATION = contract.annotations.issuerSha256;
const VERSION_ANNOTATION = "linkerd.io/proxy-version";
/**
 * The identity controller, as linkerd2 edge-26.8.3 runs it: pods labelled
 * `linkerd.io/control-plane-component: identity` of Deployment linkerd-identity, container `identity`
 * with its admin server on the port named `ident-admin` (9990) (charts/linkerd-control-plane/templates/
 * identity.yaml), whose proxy admits plaintext there (`defaultInboundPolicy: all-unauthenticated`, TLS
 * required on 8080 only). Its gauge `issuer_cert_ttl_seconds` is `time.Until(NotAfter)` of the issuer
 * it loaded, set only once that issuer verified against its trust anchors, 0 before any
 * (pkg/identity/service.go loadCredentials, getIssuerCertTTL). A reload it refuses is an event
 * `IssuerUpdateSkipped` on the Deployment, one it takes `IssuerUpdated` (service.go Run;
 * controller/cmd/identity/main.go recordEventFunc); the load at start records none and a refused one
 * there is fatal.
 */
const IDENTITY = {
    deployment: "linkerd-identity",
    selector: "linkerd.io/control-plane-component=identity",
    container: "identity",
    adminPortName: "ident-admin",
    adminPort: 9990,
};
/** The metric gives the expiry through two clocks and a request; this far apart (Linkerd's own clock-skew allowance) is the same certificate. */
const NOT_AFTER_TOLERANCE_SECONDS = 20;
/** Kept free at the end of the deadline to report. */
const DEADLINE_MARGIN_SECONDS = 60;
const started = Date.now();

function fail(message) {
    console.error(`mesh-check: ${message}`);
    process.exit(2);
}

// Every value this run reads, as the Job gave it (cluster/contract.json): nothing has a default, and a
// missing or malformed one stops the run here, named, before anything is asked of the cluster.
let settings;
try {
    settings = contract.read(process.env);
} catch (error) {
    if (!(error instanceof contract.ContractError)) throw error;
    fail(error.message);
}
const { tasks, values } = settings;
const config = {
    tasks,
    linkerdNamespace: values.LINKERD_NAMESPACE,
    /** Where the issuer's public certificate is: {kind: "configmap", name, key} or {kind: "certificate", name}. */
    issuerSource: values.ISSUER_SOURCE,
    trustRootsConfigMap: values.TRUST_ROOTS_CONFIGMAP,
    meshedNamespaces: values.MESHED_NAMESPACES,
    unmeshedNamespaces: values.UNMESHED_NAMESPACES,
    expectedPolicy: values.EXPECTED_INBOUND_POLICY,
    expectedAnnotations: values.EXPECTED_ANNOTATIONS,
    /**
     * The ingress controller: {namespace, selector, inject, deployment}. With a selector (its pods in a
     * shared namespace), `deployment` names the one Deployment whose verified pods count.
     */
    ingress: values.INGRESS,
    issuerMinHours: values.ISSUER_MIN_HOURS_LEFT,
    /** `pulumi up` re-signs the intermediate well before this; fewer hours left means no `pulumi up` ran since. */
    intermediateMinHours: values.INTERMEDIATE_MIN_HOURS_LEFT,
    anchorMinDays: values.ANCHOR_MIN_DAYS_LEFT,
    maxConcurrent: values.MAX_CONCURRENT_RESTARTS,
    rolloutTimeoutSeconds: values.ROLLOUT_TIMEOUT_SECONDS,
    deadlineSeconds: values.DEADLINE_SECONDS,
    controlPlaneDeployments: values.CONTROL_PLANE_DEPLOYMENTS,
    controlPlaneDigest: values.CONTROL_PLANE_DIGEST,
    proxyVersion: values.PROXY_VERSION,
    maxVersionRestarts: values.MAX_VERSION_RESTARTS,
    signingAnchorSha256: values.SIGNING_ANCHOR_SHA256,
    /** The namespace of the links' credentials Secrets (linkerd-multicluster). */
    multiclusterNamespace: values.MULTICLUSTER_NAMESPACE,
    /** [{target, secret}]: the links whose far end is checked, and the Secret holding each one's kubeconfig. */
    remoteTrustLinks: values.REMOTE_TRUST_LINKS,
    /** The linked clusters' namespaces whose meshed pods are read. */
    remoteTrustNamespaces: values.REMOTE_TRUST_NAMESPACES,
    strictNamespaces: values.STRICT_NAMESPACES,
    probeAuthorizations: values.PROBE_AUTHORIZATIONS,
    ingressMeshed: values.INGRESS_MESHED,
    pageSize: values.PAGE_SIZE,
    /**
     * The largest pod page kubectl may hand over, bytes: chosen by the Job from its memory limit
     * (lib/maintenancePlan.ts). Pages are sized to stay well under it; a larger one is fetched again smaller.
     */
    maxPageBytes: values.MAX_PAGE_BYTES,
    /** Pages one pod list may take: a list that does not end (a `continue` token forever) fails the run. */
    maxPages: values.MAX_PAGES,
    /** {namespace: {denyIngress, denyEgress, opaqueIngress, opaqueEgress, opaquePorts}}: what the mesh's policies assume. */
    networkPosture: values.NETWORK_POSTURE,
    /** {probe: the pod to dry-run, namespaces: [{namespace, key}], cniEnabled}: what the Pod Security check submits where. */
    podSecurity: values.POD_SECURITY,
    /** A get or patch that takes longer than this is a failed call, not a hung Job. */
    requestTimeoutSeconds: values.KUBECTL_TIMEOUT_SECONDS,
    /** How long the rotation gate waits for every identity replica to load the live issuer (kubelet's Secret refresh). */
    identityReloadWaitSeconds: values.IDENTITY_RELOAD_WAIT_SECONDS,
    /** TODAY (YYYY-MM-DD) replays another day's restart order (tests, or re-running a day by hand). */
    today: values.TODAY,
    /**
     * Where a failed run writes its problems: the container's termination message, a file the kubelet
     * bind-mounts at /dev/termination-log (the default terminationMessagePath) writable by any user
     * (kubernetes pkg/kubelet/kuberuntime/kuberuntime_container.go makeMounts, mode 0666); the pod's
     * status keeps it and the provider's Job await reports it (pulumi-kubernetes v4.32.0
     * provider/pkg/await/checker/pod/check.go). Written only where it exists, never created.
     */
    terminationMessagePath:
        values.TERMINATION_MESSAGE_PATH || (existsSync("/dev/termination-log") ? "/dev/termination-log" : ""),
};
if (config.rolloutTimeoutSeconds + DEADLINE_MARGIN_SECONDS > config.deadlineSeconds) {
    fail(
        `ROLLOUT_TIMEOUT_SECONDS (${config.rolloutTimeoutSeconds}) leaves no room inside DEADLINE_SECONDS (${config.deadlineSeconds})`,
    );
}
const has = (task) => config.tasks.includes(task);
/** A get or patch that takes longer than this is a failed call, not a hung Job. */
const REQUEST_TIMEOUT_SECONDS = config.requestTimeoutSeconds;

/** Seconds left before the run must stop starting work. */
const secondsLeft = () => config.deadlineSeconds - DEADLINE_MARGIN_SECONDS - (Date.now() - started) / 1000;

const problems = [];
const log = (line) => console.log(line);
const problem = (line) => {
    problems.push(line);
    log(line);
};
/** Set when restarting anything would do harm (expired or broken certificates, an unreadable cluster). */
let halted = "";

/** The most a single kubectl answer other than a pod page may be (a Deployment, a ConfigMap): far above any real one. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * kubectl with a hard process timeout. A plain request also gets `--request-timeout`; a
 * `rollout status` (a watch, which kubectl renews by itself) is bounded by `--timeout` and the
 * process timeout only. An answer over `maxBytes` kills kubectl and throws ENOBUFS.
 */
function kubectl(args, timeoutSeconds = REQUEST_TIMEOUT_SECONDS, maxBytes = MAX_ANSWER_BYTES) {
    const watch = args[0] === "rollout" && args[1] === "status";
    return execFileSync("kubectl", watch ? args : [...args, `--request-timeout=${REQUEST_TIMEOUT_SECONDS}s`], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        maxBuffer: maxBytes,
        timeout: (timeoutSeconds + 2) * 1000,
        killSignal: "SIGKILL",
    });
}

/** A JSON answer that must be an object (never null or a bare value). */
function kubectlJson(args) {
    const value = JSON.parse(kubectl([...args, "-o", "json"]));
    if (value === null || typeof value !== "object")
        throw new Error(`kubectl ${args.join(" ")} answered ${JSON.stringify(value)}`);
    return value;
}

const errorText = (error) =>
    String(error.stderr || error.message)
        .trim()
        .split("\n")[0];
const notFound = (error) => /NotFound|not found/i.test(String(error.stderr || error.message));

/**
 * Every pod of a namespace, one page at a time (`limit` + `continue` on the API itself): kubectl's
 * own `get -o json` holds the whole list, ~218 MB at 2,000 pods. What is held at once is one page,
 * and a page is kept near half of MAX_PAGE_BYTES: its size follows the pods' measured size (pods of
 * 70 KB get pages of a few dozen), and a page over MAX_PAGE_BYTES is asked again at half the limit
 * (a `continue` token holds a key and a resourceVersion, the `limit` is each request's own:
 * k8s.io/apiserver v0.31.0 pkg/storage/etcd3/store.go GetList, storage.DecodeContinue). The loop is
 * bounded: MAX_PAGES pages, a token never seen twice, and the Job's deadline.
 */
function* pods(namespace, labelSelector) {
    let token = "";
    let limit = config.pageSize;
    const tokens = new Set();
    for (let request = 1; ; request++) {
        if (request > config.maxPages)
            throw new Error(`the pod list of ${namespace} did not end after ${config.maxPages} pages (MAX_PAGES)`);
        if (secondsLeft() <= 0) throw new Error(`the pod list of ${namespace} did not end before the Job's deadline`);
        const query = new URLSearchParams({ limit: String(limit) });
        if (token) query.set("continue", token);
        if (labelSelector) query.set("labelSelector", labelSelector);
        const page = podPage(namespace, query);
        if (!page) {
            if (limit === 1)
                throw new Error(`one pod of ${namespace} is larger than MAX_PAGE_BYTES (${config.maxPageBytes} bytes)`);
            limit = Math.max(1, Math.floor(limit / 2));
            log(`pods: a page of ${namespace} was over ${config.maxPageBytes} bytes; asking again ${limit} at a time`);
            continue;
        }
        if (page.next && tokens.has(page.next))
            throw new Error(
                `the pod list of ${namespace} does not end: the API answered the same continue token twice`,
            );
        tokens.add(page.next);
        if (page.items.length > 0)
            limit = Math.max(
                1,
                Math.min(config.pageSize, Math.floor(config.maxPageBytes / 2 / (page.bytes / page.items.length))),
            );
        yield* page.items;
        if (!page.next) return;
        token = page.next;
    }
}

/**
 * One page of pods: {items, next (the continue token), bytes}, or undefined when the answer was over
 * MAX_PAGE_BYTES (kubectl is stopped: ENOBUFS). Its text is dropped on return, before the pods are used.
 */
function podPage(namespace, query) {
    let text;
    try {
        text = kubectl(
            ["get", "--raw", `/api/v1/namespaces/${namespace}/pods?${query}`],
            REQUEST_TIMEOUT_SECONDS,
            config.maxPageBytes,
        );
    } catch (error) {
        if (error.code === "ENOBUFS") return undefined;
        throw error;
    }
    const page = JSON.parse(text);
    if (!page || !Array.isArray(page.items))
        throw new Error(`the pod list of ${namespace} is not a list: ${JSON.stringify(page)?.slice(0, 120)}`);
    return { items: page.items, next: page.metadata?.continue ?? "", bytes: text.length };
}

/** Every certificate of a PEM text, in order. */
function certificates(pem) {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return blocks.map((block) => new X509Certificate(block));
}

/** Bundle text without whitespace: what the injector copied into a pod, compared exactly. */
const normalize = (pem) => pem.replace(/\s+/g, "");
const hoursLeft = (cert) => (new Date(cert.validTo).getTime() - Date.now()) / 3600_000;
const notYetValid = (cert) => new Date(cert.validFrom).getTime() > Date.now();
const sha256Of = (cert) => cert.fingerprint256.replace(/:/g, "");
const describe = (cert) => `${cert.subject.replace(/\n/g, ", ")} (sha256 ${cert.fingerprint256.slice(0, 23)}...)`;

/**
 * The issuer's public chain, leaf first (the issuer, then the intermediate it was signed with), never
 * its Secret (which holds the key): a ConfigMap the program writes (static mode), or the
 * CertificateRequest of the Certificate's current revision (cert-manager), whose `status.certificate`
 * is the chain cert-manager's CA issuer built (v1.21.1 pkg/util/pki/parse_certificate_chain.go).
 */
function readIssuer() {
    const source = config.issuerSource;
    let pem;
    if (source.kind === "configmap") {
        pem = kubectlJson(["get", "configmap", source.name, "-n", config.linkerdNamespace]).data?.[source.key];
        if (!pem) throw new Error(`ConfigMap ${config.linkerdNamespace}/${source.name} has no ${source.key}`);
    } else {
        const certificate = kubectlJson([
            "get",
            "certificates.cert-manager.io",
            source.name,
            "-n",
            config.linkerdNamespace,
        ]);
        const revision = certificate.status?.revision;
        if (!revision) throw new Error(`Certificate ${source.name} has no issued revision yet`);
        const requests = kubectlJson([
            "get",
            "certificaterequests.cert-manager.io",
            "-n",
            config.linkerdNamespace,
        ]).items;
        if (!Array.isArray(requests)) throw new Error("the CertificateRequest list is not a list");
        const current = requests.find(
            (r) =>
                r.metadata?.annotations?.["cert-manager.io/certificate-name"] === source.name &&
                r.metadata?.annotations?.["cert-manager.io/certificate-revision"] === String(revision),
        );
        if (!current?.status?.certificate)
            throw new Error(`no issued CertificateRequest for ${source.name} revision ${revision}`);
        pem = Buffer.from(current.status.certificate, "base64").toString("utf8");
    }
    const chain = certificates(pem);
    if (chain.length === 0) throw new Error("the issuer certificate holds no certificate");
    return chain;
}

function readBundle() {
    const configMap = kubectlJson(["get", "configmap", config.trustRootsConfigMap, "-n", config.linkerdNamespace]);
    const pem = configMap.data?.["ca-bundle.crt"];
    if (!pem)
        throw new Error(`ConfigMap ${config.linkerdNamespace}/${config.trustRootsConfigMap} has no ca-bundle.crt`);
    const anchors = certificates(pem);
    if (anchors.length === 0) throw new Error(`ConfigMap ${config.trustRootsConfigMap} holds no certificate`);
    return { pem, anchors };
}

const signedBy = (cert, ca) => ca.ca && cert.checkIssued(ca) && cert.verify(ca.publicKey);

/**
 * The path from the issuer to one of `anchors` through the CA certificates of its chain: [issuer,
 * intermediate..., anchor], each signed by the next; undefined when there is none. What Linkerd's
 * identity controller verifies (x509 with the chain as intermediates: linkerd2 pkg/tls/cred.go `Verify`).
 */
function pathToAnchor(chain, anchors) {
    const [issuer, ...rest] = chain;
    const path = [issuer];
    for (;;) {
        const current = path[path.length - 1];
        const anchor = anchors.find((a) => signedBy(current, a));
        if (anchor) return [...path, anchor];
        const next = rest.find((c) => !path.includes(c) && signedBy(current, c));
        if (!next) return undefined;
        path.push(next);
    }
}

/** The path, only if it goes through an intermediate: an issuer signed by an anchor itself does not count. */
function pathThroughIntermediate(chain, anchors) {
    const path = pathToAnchor(chain, anchors);
    return path && path.length > 2 ? path : undefined;
}

const describePath = (path) => path.map((c) => c.subject.replace(/\n/g, ", ")).join(" <- ");

/** Checks chain, validity and time left; halts restarts when the mesh's certificates are broken. */
function checkCertificates(chain, anchors) {
    const issuer = chain[0];
    const path = pathToAnchor(chain, anchors);
    if (!path) {
        problem("chain: BROKEN, the identity issuer does not chain to any anchor of the trust bundle");
        halted ||= "the certificate chain is broken";
    } else if (path.length === 2) {
        problem(
            `chain: the issuer is signed by anchor ${describe(path[1])} itself, not by the cluster's intermediate: the anchor's key is in use ` +
                'outside Pulumi state (a CA ClusterIssuer or anchor Secret left in the cluster?). See docs/admin/rotation.md, "The anchor stays out of the cluster"',
        );
    } else {
        log(`chain: OK, ${describePath(path)} (sha256 ${path[path.length - 1].fingerprint256.slice(0, 23)}...)`);
    }
    if (!issuer.ca) problem("issuer: not a CA certificate");

    const issuerHours = hoursLeft(issuer);
    log(
        `issuer: ${describe(issuer)} expires ${issuer.validTo}: ${issuerHours.toFixed(1)} h (${(issuerHours / 24).toFixed(1)} days) left`,
    );
    if (issuerHours <= 0 || notYetValid(issuer)) {
        problem(
            `issuer: ${issuerHours <= 0 ? "EXPIRED" : `not valid before ${issuer.validFrom}`}: new proxies get no identity`,
        );
        halted ||= "the issuer is not valid";
    } else if (issuerHours < config.issuerMinHours) {
        problem(`issuer: ${issuerHours.toFixed(1)} h left, under the ${config.issuerMinHours} h threshold`);
    }
    for (const intermediate of path ? path.slice(1, -1) : []) {
        const hours = hoursLeft(intermediate);
        log(
            `intermediate: ${describe(intermediate)} expires ${intermediate.validTo}: ${(hours / 24).toFixed(1)} days left`,
        );
        if (hours <= 0 || notYetValid(intermediate)) {
            problem(
                `intermediate: ${hours <= 0 ? "EXPIRED" : `not valid before ${intermediate.validFrom}`}: the issuer's chain does not verify; run \`pulumi up\``,
            );
            halted ||= "the intermediate is not valid";
        } else if (hours < config.intermediateMinHours) {
            problem(
                `intermediate: ${hours.toFixed(1)} h left, under the ${config.intermediateMinHours} h threshold: ` +
                    "no `pulumi up` has re-signed it since its renewal window opened; run one",
            );
        }
    }
    anchors.forEach((anchor, i) => {
        const days = hoursLeft(anchor) / 24;
        log(`anchor[${i}]: ${describe(anchor)} expires ${anchor.validTo}: ${days.toFixed(1)} days left`);
        if (days <= 0 || notYetValid(anchor)) {
            problem(
                `anchor[${i}]: ${days <= 0 ? "EXPIRED" : `not valid before ${anchor.validFrom}`}: follow the recovery in docs/admin/rotation.md`,
            );
            halted ||= "a trust anchor is not valid";
        } else if (days < config.anchorMinDays) {
            problem(
                `anchor[${i}]: ${days.toFixed(1)} days left, under the ${config.anchorMinDays} days threshold: rotate it (docs/admin/rotation.md)`,
            );
        }
    });
}

/** What a pod's controller reference claims it belongs to (no API call): how messages name it. */
function claimedOwner(pod) {
    const ref = pod.metadata.ownerReferences?.find((r) => r.controller) ?? pod.metadata.ownerReferences?.[0];
    if (!ref) return undefined;
    if (ref.kind === "ReplicaSet") {
        const hash = pod.metadata.labels?.["pod-template-hash"];
        if (hash && ref.name.endsWith(`-${hash}`)) return `deployment/${ref.name.slice(0, -hash.length - 1)}`;
    }
    return `${ref.kind.toLowerCase()}/${ref.name}`;
}

/**
 * Whether a label selector selects these labels, as k8s.io/apimachinery pkg/apis/meta/v1/helpers.go
 * LabelSelectorAsSelector (v0.33) and pkg/labels Requirement.Matches read it: no selector selects
 * nothing, an empty one everything; matchLabels are equalities; NotIn and DoesNotExist also match a
 * missing label; an unknown operator is an error there, so it selects nothing here.
 */
function selects(selector, labels) {
    if (!selector) return false;
    const has = (key) => Object.hasOwn(labels, key);
    return (
        Object.entries(selector.matchLabels ?? {}).every(([key, value]) => has(key) && labels[key] === value) &&
        (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
            if (operator === "In") return has(key) && values.includes(labels[key]);
            if (operator === "NotIn") return !has(key) || !values.includes(labels[key]);
            if (operator === "Exists") return has(key);
            if (operator === "DoesNotExist") return !has(key);
            return false;
        })
    );
}

const controllerOf = (object) => object.metadata?.ownerReferences?.find((r) => r.controller === true);

/** A DNS-1123 subdomain, what the API server accepts as a workload's name (apimachinery IsDNS1123Subdomain). */
const isObjectName = (name) =>
    typeof name === "string" && name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name);

/** Workload objects read during this run, as far as ownership needs them; null when not found. */
const workloadObjects = new Map();

/** A ReplicaSet, Deployment, StatefulSet or DaemonSet of a namespace: its uid, labels, selector and controller. */
function workloadObject(namespace, kind, name) {
    const key = `${namespace}/${kind}/${name}`;
    if (!workloadObjects.has(key)) {
        let object = null;
        try {
            const found = kubectlJson(["get", kind.toLowerCase(), name, "-n", namespace]);
            object = {
                uid: found.metadata?.uid,
                labels: found.metadata?.labels ?? {},
                selector: found.spec?.selector,
                controller: controllerOf(found),
            };
        } catch (error) {
            // Gone is an answer (the claim is then not verified); anything else, e.g. Forbidden, fails the run.
            if (!notFound(error)) throw error;
        }
        workloadObjects.set(key, object);
    }
    return workloadObjects.get(key);
}

/**
 * Whether `ref` (an ownerReference with controller: true) names an object that controls a dependent
 * with these labels: the object exists with that uid and its selector selects the labels. That is how
 * the controllers themselves decide (kubernetes pkg/controller/controller_ref_manager.go claimObject: a
 * controllerRef with another UID is "owned by someone else", one whose labels the selector does not
 * match is released), and an ownerReference is whatever the pod's creator wrote: the API server does
 * not check it (only blockOwnerDeletion needs a right, OwnerReferencesPermissionEnforcement).
 * Returns the object, or why not.
 */
function controls(namespace, ref, labels) {
    if (ref.apiVersion !== "apps/v1") return { why: `its controller is ${ref.apiVersion} ${ref.kind}, not apps/v1` };
    // The name goes to kubectl as an argument: one starting with "-" would be read as a flag
    // (`--server=...` would send the Job's token elsewhere). Workload names are DNS subdomains.
    if (!isObjectName(ref.name))
        return { why: `its controller's name ${JSON.stringify(String(ref.name)).slice(0, 80)} is not an object name` };
    const object = workloadObject(namespace, ref.kind, ref.name);
    if (!object) return { why: `${ref.kind.toLowerCase()}/${ref.name} does not exist` };
    if (!ref.uid || object.uid !== ref.uid)
        return { why: `${ref.kind.toLowerCase()}/${ref.name} has another uid than the one it names` };
    if (!selects(object.selector, labels))
        return { why: `${ref.kind.toLowerCase()}/${ref.name}'s selector does not select it` };
    return { object };
}

/**
 * The workload a pod belongs to, verified on the cluster rather than taken from the pod: {ref,
 * restartable}, `unverified` saying why a claim does not hold, or undefined for a bare pod. A pod
 * claiming a ReplicaSet it does not belong to must not get that ReplicaSet's Deployment restarted.
 * Deployment: pod -> ReplicaSet (uid, selector) -> Deployment (uid, selector of the ReplicaSet's
 * labels and of the pod's); StatefulSet and DaemonSet: pod -> workload (uid, selector). With
 * `onlyDeployment` (the ingress controller's, in kube-system), no other workload is read.
 */
function verifiedOwner(pod, namespace, onlyDeployment) {
    const claimed = claimedOwner(pod);
    const ref = controllerOf(pod);
    if (!ref) return claimed && { ref: claimed, restartable: false };
    if (!["ReplicaSet", "StatefulSet", "DaemonSet"].includes(ref.kind)) return { ref: claimed, restartable: false };
    // Where only one Deployment may be restarted (kube-system), nothing else is read: the Jobs may not.
    const elsewhere = `only deployment/${onlyDeployment} is looked at here`;
    if (onlyDeployment && ref.kind !== "ReplicaSet") return { ref: claimed, restartable: false, unverified: elsewhere };
    const labels = pod.metadata.labels ?? {};
    const direct = controls(namespace, ref, labels);
    if (!direct.object) return { ref: claimed, restartable: false, unverified: direct.why };
    if (ref.kind !== "ReplicaSet") return { ref: `${ref.kind.toLowerCase()}/${ref.name}`, restartable: true };
    const deployment = direct.object.controller;
    // A ReplicaSet of its own (no Deployment): `kubectl rollout restart` cannot restart it.
    if (deployment?.kind !== "Deployment") return { ref: `replicaset/${ref.name}`, restartable: false };
    if (onlyDeployment && deployment.name !== onlyDeployment)
        return { ref: `deployment/${deployment.name}`, restartable: false, unverified: elsewhere };
    const parent = controls(namespace, deployment, direct.object.labels);
    if (!parent.object) return { ref: `deployment/${deployment.name}`, restartable: false, unverified: parent.why };
    if (!selects(parent.object.selector, labels)) {
        return {
            ref: `deployment/${deployment.name}`,
            restartable: false,
            unverified: `deployment/${deployment.name}'s selector does not select it`,
        };
    }
    return { ref: `deployment/${deployment.name}`, restartable: true };
}

/** The pod's linkerd-proxy container (a native sidecar is an init container), if any. */
function proxyOf(pod) {
    return [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])].find((c) => c.name === PROXY_CONTAINER);
}

const envOf = (container, name) => container?.env?.find((e) => e.name === name)?.value;
const live = (pod) => !pod.metadata.deletionTimestamp && !["Succeeded", "Failed"].includes(pod.status?.phase);

/** Why a pod must restart (and whether it is a version skew), or undefined. */
function restartReason(pod, namespace, meshed, bundle) {
    const proxy = proxyOf(pod);
    if (!meshed) return proxy ? { text: "it still has a proxy, its namespace leaves the mesh" } : undefined;
    const optedOut = pod.metadata.annotations?.["linkerd.io/inject"] === "disabled" || pod.spec.hostNetwork;
    if (!proxy) return optedOut ? undefined : { text: "it has no proxy" };
    const anchors = envOf(proxy, TRUST_ANCHORS_ENV);
    // Control-plane style pods read the bundle from a ConfigMap (valueFrom): not compared.
    if (anchors !== undefined && normalize(anchors) !== normalize(bundle))
        return { text: "its proxy trusts an old bundle", bundle: true };
    const expected = config.expectedPolicy[namespace];
    const actual = envOf(proxy, DEFAULT_POLICY_ENV);
    if (expected && actual !== undefined && actual !== expected)
        return { text: `its proxy's default inbound policy is ${actual}, not ${expected}` };
    // The injector copies a namespace's proxy annotations onto a pod when it is created, unless the pod
    // has its own: a pod without one was created before the namespace had it.
    for (const annotation of Object.keys(config.expectedAnnotations[namespace] ?? {})) {
        if (pod.metadata.annotations?.[annotation] === undefined)
            return { text: `it was created before its namespace set ${annotation}` };
    }
    const version = pod.metadata.annotations?.[VERSION_ANNOTATION];
    if (config.proxyVersion && version && version !== config.proxyVersion) {
        return { text: `its proxy is ${version}, the control plane ${config.proxyVersion}`, version: true };
    }
    return undefined;
}

/**
 * The namespaces the restarts and checks look at: {namespace, selector, meshed, deployment}. The
 * ingress controller in a shared namespace (k3s' Traefik in kube-system) is found by a label
 * selector, which any pod there can carry: its pods count only once verified as the pods of its
 * Deployment (see ingressPod).
 */
function scopes() {
    const result = [
        ...config.meshedNamespaces.map((namespace) => ({ namespace, selector: "", meshed: true })),
        ...config.unmeshedNamespaces.map((namespace) => ({ namespace, selector: "", meshed: false })),
    ];
    if (config.ingress) {
        const { namespace, selector = "", inject, deployment } = config.ingress;
        result.push({ namespace, selector, meshed: Boolean(inject), deployment });
    }
    return result;
}

/**
 * Whether a pod the ingress scope's label selector found is a pod of the ingress controller's
 * Deployment (its owner chain verified on the cluster, its labels selected by that Deployment);
 * logs the ones that are not, which then do not count.
 */
function ingressPod(scope, pod, workload) {
    if (!scope.deployment) return true;
    workload ??= verifiedOwner(pod, scope.namespace, scope.deployment);
    if (workload?.restartable && workload.ref === `deployment/${scope.deployment}`) return true;
    const claim = workload
        ? workload.unverified
            ? `it claims ${workload.ref}, but ${workload.unverified}`
            : `it belongs to ${workload.ref}`
        : "it is a bare pod";
    log(
        `ignored: pod ${scope.namespace}/${pod.metadata.name} carries ${scope.selector} but is not a pod of deployment/${scope.deployment}: ${claim}`,
    );
    return false;
}

/** A day-dependent rotation of a sorted list: each run starts elsewhere, so nobody is always last. */
function rotateDaily(items) {
    if (items.length === 0) return items;
    const now = config.today ? new Date(`${config.today}T12:00:00Z`).getTime() : Date.now();
    const day = Math.floor(now / 86_400_000);
    const offset = day % items.length;
    return [...items.slice(offset), ...items.slice(0, offset)];
}

function workloadsToRestart(bundle) {
    const found = new Map();
    /** Pods trusting an old bundle that no restart here can replace: the run fails, listing them. */
    const stuck = [];
    for (const scope of scopes()) {
        const { namespace, selector, meshed } = scope;
        for (const pod of pods(namespace, selector)) {
            if (!live(pod)) continue;
            const reason = restartReason(pod, namespace, meshed, bundle);
            if (!reason) continue;
            const workload = verifiedOwner(pod, namespace, scope.deployment);
            if (!ingressPod(scope, pod, workload)) continue;
            if (!workload?.restartable) {
                const why = !workload
                    ? "it is a bare pod"
                    : workload.unverified
                      ? `it claims ${workload.ref}, but ${workload.unverified}`
                      : `it belongs to ${workload.ref}`;
                // A Job's or a bare pod's proxy keeps the old bundle until the pod is gone; once the old
                // anchor leaves the bundle it can no longer talk to the mesh: alert, not "OK".
                if (reason.bundle) stuck.push(`${namespace}/${pod.metadata.name} (${why})`);
                else log(`skip: pod ${namespace}/${pod.metadata.name}: ${reason.text}, but ${why}: recreate it`);
                continue;
            }
            const key = `${namespace}/${workload.ref}`;
            if (!found.has(key))
                found.set(key, {
                    namespace,
                    workload: workload.ref,
                    reason: reason.text,
                    version: Boolean(reason.version),
                });
        }
    }
    if (stuck.length > 0) {
        problem(
            `restart: ${stuck.length} pod(s) trust an old bundle and no workload of theirs can be restarted; recreate them (or let them finish): ${stuck.join(", ")}`,
        );
    }
    const sorted = [...found.values()].sort((a, b) =>
        `${a.namespace}/${a.workload}`.localeCompare(`${b.namespace}/${b.workload}`),
    );
    const urgent = sorted.filter((w) => !w.version);
    const skewed = sorted.filter((w) => w.version);
    if (skewed.length > config.maxVersionRestarts) {
        log(
            `version: ${skewed.length} workloads run another proxy version; ${config.maxVersionRestarts} restarted this run, the rest on the next ones`,
        );
    }
    return [...rotateDaily(urgent), ...rotateDaily(skewed).slice(0, config.maxVersionRestarts)];
}

/** Restarts the control-plane Deployments not yet running with CONTROL_PLANE_DIGEST, one at a time. */
function restartControlPlane() {
    if (!config.controlPlaneDigest) return;
    for (const name of config.controlPlaneDeployments) {
        const deployment = kubectlJson(["get", "deployment", name, "-n", config.linkerdNamespace]);
        if (deployment.spec?.template?.metadata?.annotations?.[DIGEST_ANNOTATION] === config.controlPlaneDigest)
            continue;
        restartWithAnnotation(
            name,
            DIGEST_ANNOTATION,
            config.controlPlaneDigest,
            "trust bundle or webhook certificates changed",
        );
    }
}

/** Rolls a control-plane Deployment by setting one pod-template annotation; waits for it. */
function restartWithAnnotation(name, annotation, value, why) {
    if (secondsLeft() < config.rolloutTimeoutSeconds) {
        problem(`control-plane: deployment/${name} not restarted: the Job's deadline is too close`);
        return false;
    }
    log(`control-plane: restart deployment/${name} (${why})`);
    const patch = { spec: { template: { metadata: { annotations: { [annotation]: value } } } } };
    kubectl([
        "patch",
        "deployment",
        name,
        "-n",
        config.linkerdNamespace,
        "--type",
        "merge",
        "-p",
        JSON.stringify(patch),
    ]);
    try {
        kubectl(
            [
                "rollout",
                "status",
                `deployment/${name}`,
                "-n",
                config.linkerdNamespace,
                `--timeout=${config.rolloutTimeoutSeconds}s`,
            ],
            config.rolloutTimeoutSeconds,
        );
        log(`control-plane: deployment/${name} restarted`);
        return true;
    } catch (error) {
        problem(`control-plane: deployment/${name} did not complete: ${errorText(error)}`);
        return false;
    }
}

/**
 * Rotation phase 2: the live issuer must chain to the new anchor through its intermediate, and the
 * identity controller must have loaded it. It is restarted once per issuer: it refuses to start with
 * an issuer that does not chain to its trust anchors, so Ready is the evidence.
 */
function reloadIdentity(bundle) {
    const anchor = bundle.anchors.find((a) => sha256Of(a) === config.signingAnchorSha256);
    if (!anchor) {
        problem(
            `issuer: the new anchor (sha256 ${config.signingAnchorSha256.slice(0, 16)}...) is not in the trust bundle`,
        );
        return;
    }
    let chain;
    // cert-manager re-issues as soon as the Certificate points at the new intermediate's Issuer; wait for it, within budget.
    for (;;) {
        chain = readIssuer();
        if (pathThroughIntermediate(chain, [anchor])) break;
        if (secondsLeft() < config.rolloutTimeoutSeconds + 10) {
            problem(
                `issuer: ${describe(chain[0])} does not chain to the new anchor through its intermediate: it was not re-issued from the new one`,
            );
            return;
        }
        log("issuer: not yet re-issued from the new anchor's intermediate; waiting");
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
    }
    const issuer = chain[0];
    log(`issuer: re-issued, ${describePath(pathThroughIntermediate(chain, [anchor]))}`);
    const identity = kubectlJson(["get", "deployment", "linkerd-identity", "-n", config.linkerdNamespace]);
    if (identity.spec?.template?.metadata?.annotations?.[ISSUER_ANNOTATION] === sha256Of(issuer)) {
        log("issuer: the identity controller already restarted with it");
        return;
    }
    restartWithAnnotation(
        "linkerd-identity",
        ISSUER_ANNOTATION,
        sha256Of(issuer),
        "load the issuer signed by the new anchor's intermediate",
    );
}

/**
 * A plain-HTTP GET, from a child node process: this script is synchronous. Bounded in time and size;
 * the body, or an error.
 */
function httpGet(url, timeoutSeconds = REQUEST_TIMEOUT_SECONDS) {
    const fetchOnce =
        `const r = await fetch(process.argv[1], { signal: AbortSignal.timeout(${timeoutSeconds * 1000}), redirect: "error" });` +
        `if (!r.ok) { process.stderr.write("HTTP " + r.status); process.exit(1); } process.stdout.write(await r.text());`;
    return execFileSync(process.execPath, ["--max-old-space-size=32", "--input-type=module", "-e", fetchOnce, url], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        maxBuffer: 4 * 1024 * 1024,
        timeout: (timeoutSeconds + 5) * 1000,
        killSignal: "SIGKILL",
    });
}

/** The value of an unlabelled gauge in a Prometheus text exposition. */
function gauge(text, name) {
    const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    const value = line === undefined ? NaN : Number(line.trim().split(/\s+/).at(-1));
    if (!Number.isFinite(value)) throw new Error(`no ${name} in its metrics`);
    return value;
}

/**
 * The identity controller's running pods whose ownership holds (pod -> ReplicaSet -> Deployment
 * linkerd-identity, uids and selectors: verifiedOwner), each with where its admin server listens. A
 * pod that only carries the label does not count: it could answer anything.
 */
function identityReplicas() {
    const replicas = [];
    for (const pod of pods(config.linkerdNamespace, IDENTITY.selector)) {
        if (!live(pod)) continue;
        const owner = verifiedOwner(pod, config.linkerdNamespace, IDENTITY.deployment);
        if (owner?.ref !== `deployment/${IDENTITY.deployment}` || !owner.restartable) {
            log(
                `rotation-gate: pod ${pod.metadata.name} is labelled as identity but not verified as ${IDENTITY.deployment}'s (${owner?.unverified ?? "no owner"}): ignored`,
            );
            continue;
        }
        const container = (pod.spec?.containers ?? []).find((c) => c.name === IDENTITY.container);
        const port =
            container?.ports?.find((p) => p.name === IDENTITY.adminPortName)?.containerPort ?? IDENTITY.adminPort;
        const ip = pod.status?.podIP;
        const valid =
            typeof ip === "string" && (/^[0-9.]+$/.test(ip) || /^[0-9a-fA-F:]+$/.test(ip)) && Number.isInteger(port);
        replicas.push({
            name: pod.metadata.name,
            url: valid ? `http://${ip.includes(":") ? `[${ip}]` : ip}:${port}/metrics` : undefined,
        });
    }
    return replicas;
}

/** Events of a reason the identity controller recorded on its Deployment (core/v1, where client-go's recorder writes). */
function identityEvents(reason) {
    const list = kubectlJson([
        "get",
        "events",
        "-n",
        config.linkerdNamespace,
        "--field-selector",
        `involvedObject.kind=Deployment,involvedObject.name=${IDENTITY.deployment},reason=${reason}`,
    ]);
    if (!Array.isArray(list.items)) throw new Error("the event list is not a list");
    return list.items
        .filter(
            (e) =>
                e.reason === reason &&
                e.involvedObject?.kind === "Deployment" &&
                e.involvedObject?.name === IDENTITY.deployment,
        )
        .map((e) => ({
            at: Date.parse(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp ?? ""),
            message: String(e.message ?? ""),
        }));
}

/**
 * Rotation phase 3's gate: the live issuer chains to the new anchor through its intermediate, and
 * every identity replica serves it (identity's own word, read from its metrics), so the old anchor
 * can leave the bundle.
 */
function rotationGate(bundle) {
    const anchor = bundle.anchors.find((a) => sha256Of(a) === config.signingAnchorSha256);
    if (!anchor) {
        problem(
            `rotation-gate: the new anchor (sha256 ${config.signingAnchorSha256.slice(0, 16)}...) is not in the live trust bundle: phase 2 is not deployed`,
        );
        return;
    }
    const chain = readIssuer();
    const path = pathThroughIntermediate(chain, [anchor]);
    if (!path) {
        problem(
            `rotation-gate: the live issuer (${describe(chain[0])}) does not chain to the new anchor ${describe(anchor)} through its intermediate: ` +
                "dropping the old anchor now would break every proxy's identity. The bundle was not changed; " +
                "find out why the issuer was not re-issued (cert-manager: kubectl -n linkerd describe certificate linkerd-identity-issuer) and deploy phase 2 again",
        );
        return;
    }
    const issuer = chain[0];
    const expires = Date.parse(issuer.validTo);
    // Refusals older than the live issuer are about an earlier one.
    const issuedAt = Date.parse(issuer.validFrom) - NOT_AFTER_TOLERANCE_SECONDS * 1000;
    const waitUntil = Date.now() + Math.min(config.identityReloadWaitSeconds, Math.max(0, secondsLeft())) * 1000;
    for (;;) {
        const replicas = identityReplicas();
        if (replicas.length === 0) {
            problem(`rotation-gate: no pod of deployment/${IDENTITY.deployment} runs: nothing serves an issuer`);
            return;
        }
        const stale = [];
        for (const replica of replicas) {
            if (!replica.url) {
                stale.push(`${replica.name} has no address yet`);
                continue;
            }
            let ttl;
            try {
                ttl = gauge(httpGet(replica.url), "issuer_cert_ttl_seconds");
            } catch (error) {
                problem(
                    `rotation-gate: cannot read which issuer identity pod ${replica.name} serves (${replica.url}): ${errorText(error)}. ` +
                        "The gate reads its admin port from the maintenance Jobs' namespace: a NetworkPolicy must admit it (the mesh's own do, with linkerd.networkPolicies)",
                );
                return;
            }
            if (ttl <= 0) {
                stale.push(`${replica.name} has loaded no issuer`);
                continue;
            }
            const loaded = Date.now() + ttl * 1000;
            if (Math.abs(loaded - expires) > NOT_AFTER_TOLERANCE_SECONDS * 1000) {
                stale.push(
                    `${replica.name} serves an issuer that expires ${new Date(loaded).toISOString().replace(/\.\d+Z$/, "Z")}`,
                );
            }
        }
        const skipped = identityEvents("IssuerUpdateSkipped").filter((e) => !(e.at < issuedAt));
        if (stale.length === 0) {
            if (skipped.length > 0)
                log(
                    `rotation-gate: identity skipped an update earlier (${skipped[0].message}); every replica has loaded the live issuer since`,
                );
            log(
                `rotation-gate: OK, the live issuer chains to the new anchor (${describePath(path)}) and every identity replica (${replicas.length}) serves it`,
            );
            return;
        }
        const wanted = `the live issuer (expires ${issuer.validTo}), signed by the new anchor's intermediate`;
        if (skipped.length > 0) {
            problem(
                `rotation-gate: identity refused ${wanted}: IssuerUpdateSkipped "${skipped[0].message}"; ${stale.join("; ")}. ` +
                    "The bundle was not changed; fix the issuer Secret (kubectl -n linkerd describe deployment linkerd-identity) and run phase 3 again",
            );
            return;
        }
        if (Date.now() >= waitUntil) {
            problem(
                `rotation-gate: identity has not loaded ${wanted}: ${stale.join("; ")}. The bundle was not changed; ` +
                    "restart it (deploy phase 2 again) or find out why it keeps the old one (kubectl -n linkerd logs deploy/linkerd-identity -c identity)",
            );
            return;
        }
        log(
            `rotation-gate: ${stale.join("; ")}: waiting for identity to load the live issuer (the kubelet refreshes its Secret within minutes)`,
        );
        Atomics.wait(
            new Int32Array(new SharedArrayBuffer(4)),
            0,
            0,
            Math.min(10_000, Math.max(100, waitUntil - Date.now())),
        );
    }
}

function restart(workloads) {
    const failed = [];
    for (let i = 0; i < workloads.length; i += config.maxConcurrent) {
        if (secondsLeft() < config.rolloutTimeoutSeconds) {
            problem(
                `restart: the Job's deadline is too close, ${workloads.length - i} workload(s) left for the next run`,
            );
            break;
        }
        const batch = [];
        for (const item of workloads.slice(i, i + config.maxConcurrent)) {
            log(`restart: ${item.namespace}/${item.workload} (${item.reason})`);
            try {
                kubectl(["rollout", "restart", item.workload, "-n", item.namespace]);
                batch.push(item);
            } catch (error) {
                // Gone meanwhile (NotFound), or refused: the others go on.
                problem(
                    `restart: ${item.namespace}/${item.workload} ${notFound(error) ? "is gone" : "was refused"}: ${errorText(error)}`,
                );
                failed.push(item);
            }
        }
        for (const { namespace, workload } of batch) {
            try {
                kubectl(
                    ["rollout", "status", workload, "-n", namespace, `--timeout=${config.rolloutTimeoutSeconds}s`],
                    config.rolloutTimeoutSeconds,
                );
                log(`restarted: ${namespace}/${workload}`);
            } catch (error) {
                problem(`restart: ${namespace}/${workload} did not complete: ${errorText(error)}`);
            }
        }
    }
}

/** Every running meshed pod trusts the current bundle; the others are listed, with what owns them. */
function verifyBundle(bundle) {
    const stale = [];
    for (const scope of scopes()) {
        if (!scope.meshed) continue;
        for (const pod of pods(scope.namespace, scope.selector)) {
            if (!live(pod)) continue;
            const anchors = envOf(proxyOf(pod), TRUST_ANCHORS_ENV);
            if (anchors !== undefined && normalize(anchors) !== normalize(bundle) && ingressPod(scope, pod)) {
                stale.push(`${scope.namespace}/${pod.metadata.name} (${claimedOwner(pod) ?? "bare pod"})`);
            }
        }
    }
    if (stale.length === 0) log("verify: every meshed proxy trusts the current bundle");
    else
        problem(
            `verify: ${stale.length} pod(s) still trust an old bundle; restart or delete them, then run again: ${stale.join(", ")}`,
        );
}

/**
 * Each linked cluster serves, and its meshed proxies loaded, a bundle holding the anchor this cluster's
 * issuer is signed under. The kubeconfigs are read from the links' Secrets (the rollout identity's one
 * read of a Secret, by name) into a directory only this user reads, removed whatever happens.
 */
function remoteTrust(bundle) {
    const dir = mkdtempSync(path.join(tmpdir(), "remote-trust-"));
    try {
        const links = [];
        for (const { target, secret } of config.remoteTrustLinks) {
            try {
                const object = kubectlJson(["get", "secret", secret, "-n", config.multiclusterNamespace]);
                const kubeconfig = Buffer.from(object.data?.kubeconfig ?? "", "base64").toString("utf8");
                if (kubeconfig === "")
                    throw new Error(`Secret ${config.multiclusterNamespace}/${secret} has no kubeconfig`);
                const kubeconfigPath = path.join(dir, `${target}.kubeconfig`);
                writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
                links.push({ target, kubeconfigPath, namespaces: config.remoteTrustNamespaces });
            } catch (error) {
                problem(
                    `remote-trust: ${target}: cannot read the link's credentials (Secret ${config.multiclusterNamespace}/${secret}): ${errorText(error)}`,
                );
            }
        }
        const verdicts = checkLinks({
            links,
            local: { bundlePem: bundle, signingSha256: config.signingAnchorSha256 },
            runnerFor: (link) => kubectlRunner(link.kubeconfigPath, REQUEST_TIMEOUT_SECONDS),
        });
        for (const verdict of verdicts) {
            for (const note of verdict.notes) log(`remote-trust: note: ${note}`);
            for (const p of verdict.problems) problem(`remote-trust: ${p}`);
            if (verdict.problems.length === 0) {
                log(
                    `remote-trust: ${verdict.target}: the bundle it serves and its ${verdict.meshedPods} meshed proxies trust this cluster's issuing anchor`,
                );
            }
        }
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

/** Probes Linkerd does not authorize by itself under all-authenticated, on ports no authorization covers. */
function strictPreflight() {
    const blocked = [];
    /** A port number, resolving a container port name against every container of the pod. */
    const portNumber = (pod, port) =>
        typeof port === "number"
            ? port
            : (pod.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === port)?.containerPort ?? port);
    const covered = (namespace, pod, port) =>
        config.probeAuthorizations.some(
            (a) =>
                a.namespace === namespace &&
                Object.entries(a.podSelector).every(([k, v]) => pod.metadata.labels?.[k] === v) &&
                portNumber(pod, a.port) === port,
        );
    for (const namespace of config.strictNamespaces) {
        for (const pod of pods(namespace, "")) {
            if (!live(pod)) continue;
            const workload = claimedOwner(pod) ?? `pod/${pod.metadata.name}`;
            for (const container of [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])]) {
                if (container.name === PROXY_CONTAINER) continue;
                for (const [kind, probe] of [
                    ["liveness", container.livenessProbe],
                    ["readiness", container.readinessProbe],
                    ["startup", container.startupProbe],
                ]) {
                    if (!probe) continue;
                    const what = `${namespace}/${workload} ${container.name} ${kind} probe`;
                    if (probe.grpc || (probe.httpGet && probe.httpGet.scheme === "HTTPS")) {
                        const port = portNumber(pod, (probe.grpc ?? probe.httpGet).port);
                        if (!covered(namespace, pod, port))
                            blocked.push(`${what} (${probe.grpc ? "gRPC" : "HTTPS"}, port ${port})`);
                    } else if (probe.tcpSocket) {
                        log(
                            `strict: ${what} is tcpSocket: it reaches the proxy, so it passes whatever the application does`,
                        );
                    }
                }
            }
        }
        if (!config.ingressMeshed) {
            const ingresses = kubectlJson(["get", "ingresses.networking.k8s.io", "-n", namespace]).items;
            if (!Array.isArray(ingresses)) throw new Error(`the Ingress list of ${namespace} is not a list`);
            for (const ingress of ingresses)
                blocked.push(
                    `${namespace}/ingress/${ingress.metadata.name} (the ingress controller is not meshed: it would be refused)`,
                );
        }
    }
    const unique = [...new Set(blocked)];
    if (unique.length === 0) log(`strict: nothing in ${config.strictNamespaces.join(", ")} would be refused`);
    else {
        problem(
            `strict: ${unique.length} caller(s) would be refused under all-authenticated: ${unique.join("; ")}. ` +
                "Authorize them (mtls.authorizations with networks for the probe port), switch the probe to httpGet, or mesh the ingress " +
                "controller (mtls.ingress); docs/admin/mtls.md, Strict mode.",
        );
    }
}

/**
 * The mesh's own policies (an earlier run's): not part of what the namespace isolates by itself. The
 * egress layer (lib/egress.ts, in enforce mode) isolates egress on purpose.
 */
const isMeshPolicy = (policy) =>
    policy.metadata?.labels?.[contract.partOf.key] === contract.partOf.value &&
    (policy.metadata.name === contract.meshPolicies.name ||
        policy.metadata.name.startsWith(contract.meshPolicies.mirrorPrefix) ||
        policy.metadata.name === contract.meshPolicies.egressLayer);

/**
 * Each meshed namespace's own NetworkPolicies against what the config says they isolate: the mesh's
 * policy lists a direction only where every pod already is isolated (else it would cut what was
 * allowed), and opens the proxy port only to the peers the namespace's own rules admit to an opaque
 * port. Any difference fails the run, before any policy or annotation is applied, with the config
 * that matches the cluster.
 */
function networkPosture() {
    const declared = config.networkPosture;
    // Opaque-ness is the destination's: egress rules may reach an opaque port of any meshed namespace.
    const everyOpaque = [...new Set(Object.values(declared).flatMap((d) => d.opaquePorts ?? []))].sort((a, b) => a - b);
    const directions = [
        { direction: "Ingress", flag: "denyIngress", mirrors: "opaqueIngress", opaque: (d) => d.opaquePorts ?? [] },
        { direction: "Egress", flag: "denyEgress", mirrors: "opaqueEgress", opaque: () => everyOpaque },
    ];
    for (const namespace of Object.keys(declared).sort()) {
        const want = declared[namespace];
        const items = kubectlJson(["get", "networkpolicies.networking.k8s.io", "-n", namespace]).items;
        if (!Array.isArray(items)) throw new Error(`the NetworkPolicy list of ${namespace} is not a list`);
        const own = items.filter((policy) => !isMeshPolicy(policy));
        for (const { direction, flag, mirrors, opaque } of directions) {
            const key = `mtls.namespaceOptions.${namespace}`;
            const { isolation, policies } = networkPolicy.namespaceIsolation(own, direction);
            const lower = direction.toLowerCase();
            if (isolation === "partial") {
                problem(
                    `network: ${namespace}: ${policies.join(", ")} isolate(s) ${lower} for some pods only (no policy with podSelector {} lists ${direction}): ` +
                        `a mesh policy would newly isolate the others, none would cut their opaque ports. Make the isolation namespace-wide ` +
                        `(a ${direction} default-deny with podSelector {} and allow-lists for what the other pods need), or set mtls.networkPolicies false and admit the mesh yourself`,
                );
                continue;
            }
            const isolated = isolation === "all";
            if (isolated !== Boolean(want[flag])) {
                problem(
                    `network: ${namespace}: its own policies ${isolated ? `isolate ${lower} (${policies.join(", ")})` : `do not isolate ${lower}`} but the config says ` +
                        `${flag} ${Boolean(want[flag])}: pulumi config set --path ${key}.${flag} ${isolated}`,
                );
                continue;
            }
            if (!isolated) {
                log(`network: ${namespace}: ${lower} not isolated, as configured: the mesh adds no ${lower} policy`);
                continue;
            }
            const live = networkPolicy.opaqueMirrors(own, direction, opaque(want));
            const mine = networkPolicy.uniqueSorted(
                (want[mirrors] ?? []).map((entry) => networkPolicy.canonicalMirror(entry, direction)),
            );
            const text = (entries) => new Set(entries.map((entry) => JSON.stringify(entry)));
            const [liveText, mineText] = [text(live), text(mine)];
            const missing = [...liveText].filter((entry) => !mineText.has(entry));
            const extra = [...mineText].filter((entry) => !liveText.has(entry));
            if (missing.length === 0 && extra.length === 0) {
                log(
                    `network: ${namespace}: ${lower} isolated (${policies.join(", ")}), as configured; ${live.length} opaque-port rule(s) mirrored onto the proxy port`,
                );
                // The proxy port's granularity is the mirrored rule's pods and peers, never the port: say where that is wide.
                for (const entry of live) {
                    const wide =
                        direction === "Ingress"
                            ? networkPolicy.selectsAll(entry.podSelector)
                            : (entry.to ?? [{}]).some(
                                  (peer) => !peer.ipBlock && networkPolicy.selectsAll(peer.podSelector),
                              );
                    if (wide) {
                        log(
                            `network: ${namespace}: note: ${JSON.stringify(entry)} admits an opaque port to ${direction === "Ingress" ? "every pod of the namespace" : "whole namespaces"}: ` +
                                "through the proxy port its peers reach every opaque port there; select the pods that serve it, or segment with mtls.authorizations",
                        );
                    }
                }
                continue;
            }
            problem(
                `network: ${namespace}: the ${lower} rules that admit an opaque port differ from ${key}.${mirrors}` +
                    `${missing.length > 0 ? `; not mirrored (their meshed clients would be cut): ${missing.join(" ")}` : ""}` +
                    `${extra.length > 0 ? `; mirrored but in no live rule (the proxy port would admit them): ${extra.join(" ")}` : ""}. ` +
                    `Set it, in Pulumi.<stack>.yaml under akko-mtls:mtls.namespaceOptions.${namespace}: ${mirrors}: ${JSON.stringify(live)}`,
            );
        }
    }
}

/**
 * `kubectl` with `input` on its standard input, for a request whose refusal is an answer: its status,
 * output and error output, never thrown. Bounded like {@link kubectl}.
 */
function kubectlSubmit(args, input) {
    const result = spawnSync("kubectl", [...args, `--request-timeout=${REQUEST_TIMEOUT_SECONDS}s`], {
        input,
        encoding: "utf8",
        maxBuffer: MAX_ANSWER_BYTES,
        timeout: (REQUEST_TIMEOUT_SECONDS + 2) * 1000,
        killSignal: "SIGKILL",
    });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/**
 * What Pod Security admission says of an injected pod in each namespace about to be injected, asked of
 * the API server itself: a server-side dry run (`kubectl create --dry-run=server`, `?dryRun=All`), which
 * runs every admission plugin and stores nothing (k8s.io/apiserver v0.36.3 pkg/endpoints/handlers/create.go:
 * admission attributes carry dryRun; pkg/registry/generic/registry/dryrun.go skips the write). Pod
 * Security evaluates a dry run like any create, from the namespace's labels over the cluster's
 * defaults, skipping exempt namespaces and users (k8s.io/pod-security-admission v0.36.2
 * admission/admission.go ValidatePod; kubernetes plugin/pkg/admission/security/podsecurity). Its
 * refusal reads `pods "<name>" is forbidden: violates PodSecurity "<level>:<version>": <details>`.
 */
function podSecurity() {
    const { probe, namespaces, cniEnabled } = config.podSecurity;
    const manifest = JSON.stringify(probe);
    const fix = (namespace, key) =>
        cniEnabled
            ? `Fix: the injected containers already drop every capability (CNI plugin): the level forbids what the details say; ` +
              `relax it for ${namespace} (kubectl label namespace ${namespace} pod-security.kubernetes.io/enforce=baseline), exempt it in the API server's ` +
              `PodSecurity configuration, or take it out of the mesh (${key})`
            : `Fix: enable Linkerd's CNI plugin (pulumi config set --path linkerd.cni.enabled true; its pods need no capability), or let ${namespace} ` +
              `admit privileged pods (kubectl label namespace ${namespace} pod-security.kubernetes.io/enforce=privileged, or exempt it in the API server's ` +
              `PodSecurity configuration), or take it out of the mesh (${key})`;
    for (const { namespace, key } of namespaces) {
        const answer = kubectlSubmit(
            ["create", "--dry-run=server", "-n", namespace, "-f", "-", "-o", "name"],
            manifest,
        );
        const lines = answer.stderr
            .split("\n")
            .map((line) => line.trim())
            .filter(Boolean);
        if (answer.status === 0) {
            log(`pod-security: ${namespace}: admits injected pods (server-side dry run)`);
            for (const warning of lines.filter((line) => line.startsWith("Warning:")))
                log(`pod-security: ${namespace}: note: ${warning.slice("Warning:".length).trim()}`);
            continue;
        }
        const error = lines.find((line) => !line.startsWith("Warning:")) ?? `kubectl exited ${answer.status}`;
        const refused = /violates PodSecurity "([^"]+)": (.*)$/.exec(error);
        if (refused) {
            problem(
                `pod-security: ${key}: namespace ${namespace} refuses injected pods: Pod Security "${refused[1]}" (its label, else the cluster's default) ` +
                    `forbids ${refused[2]}. No namespace is annotated until this check passes. ${fix(namespace, key)}`,
            );
        } else {
            problem(
                `pod-security: ${key}: namespace ${namespace}: the API server refused the check's dry-run pod, so it may refuse injected pods too: ${error}. ` +
                    "No namespace is annotated until this check passes; see docs/admin/mtls.md, Pod Security and the CNI plugin",
            );
        }
    }
}

function main() {
    let bundle;
    const needsBundle = [
        "certificates",
        "restarts",
        "verify-bundle",
        "reload-identity",
        "rotation-gate",
        "remote-trust",
    ].some(has);
    if (needsBundle) {
        try {
            bundle = readBundle();
        } catch (error) {
            problem(`bundle: cannot read the trust bundle: ${errorText(error)}`);
            halted ||= "the trust bundle cannot be read";
        }
    }
    if (has("certificates") && bundle) {
        try {
            checkCertificates(readIssuer(), bundle.anchors);
        } catch (error) {
            problem(`issuer: cannot read the issuer certificate: ${errorText(error)}`);
            halted ||= "the issuer cannot be read";
        }
    }
    const step = (task, run) => {
        if (!has(task)) return;
        if (halted) return log(`${task}: skipped: ${halted}`);
        try {
            run();
        } catch (error) {
            problem(`${task}: ${errorText(error)}`);
            halted ||= `${task} failed`;
        }
    };
    step("pod-security", podSecurity);
    step("rotation-gate", () => rotationGate(bundle));
    step("strict-preflight", strictPreflight);
    step("network-posture", networkPosture);
    step("control-plane", restartControlPlane);
    step("reload-identity", () => reloadIdentity(bundle));
    if (has("restarts") && problems.some((p) => p.startsWith("control-plane:")))
        halted ||= "the control plane did not restart";
    step("restarts", () => {
        const workloads = workloadsToRestart(bundle.pem);
        if (workloads.length === 0) log("restart: none needed, every pod matches the mesh as configured");
        else restart(workloads);
    });
    step("verify-bundle", () => verifyBundle(bundle.pem));
    step("remote-trust", () => remoteTrust(bundle.pem));

    if (problems.length > 0) {
        console.error(`mesh-check: FAILED\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        if (config.terminationMessagePath) {
            // The kubelet keeps 4096 bytes of it (the pod's status); `pulumi up` prints it with the Job's failure.
            try {
                writeFileSync(config.terminationMessagePath, Buffer.from(problems.join("\n")).subarray(0, 4096));
            } catch (error) {
                log(`mesh-check: cannot write the termination message: ${errorText(error)}`);
            }
        }
        return 1;
    }
    log("mesh-check: OK");
    return 0;
}

process.exitCode = main();
