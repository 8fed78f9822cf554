/**
 * The remote trust check (cluster/remoteTrust.mjs): what each linked cluster actually serves, read
 * through the link's credentials from a fake kubectl (test/fakeCluster.ts) with real certificates,
 * judged against this cluster's bundle and issuing anchor — in steady state, through every phase of
 * a fleet rotation, and with the cases `linkerd multicluster check` passes vacuously.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { importEsm } from "../tools/importEsm.cjs";
import { anchor, bundlePem, Ca, FAKE_KUBECTL, issuer, pod, runScript } from "./fakeCluster";

const MODULE = path.join(__dirname, "..", "cluster", "remoteTrust.mjs");
const sha = (ca: Ca) => new X509Certificate(ca.certPem).fingerprint256.replace(/:/g, "");

/** A target cluster as the fake kubectl serves it: its trust-roots ConfigMap and pods per namespace. */
function fakeTarget(
    trustRoots: Ca[],
    pods: Record<string, object[]>,
    rules: Partial<Record<"refuse" | "answer", [string, string][]>> = {},
) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "remote-trust-"));
    fs.writeFileSync(path.join(dir, "kubectl"), FAKE_KUBECTL, { mode: 0o755 });
    fs.writeFileSync(
        path.join(dir, "configmap-linkerd-linkerd-identity-trust-roots.json"),
        JSON.stringify({ data: { "ca-bundle.crt": bundlePem(trustRoots) } }),
    );
    for (const [namespace, list] of Object.entries(pods))
        fs.writeFileSync(path.join(dir, `pods-${namespace}.json`), JSON.stringify(list));
    fs.writeFileSync(
        path.join(dir, "rules.json"),
        JSON.stringify({
            hang: [],
            answer: rules.answer ?? [],
            refuse: rules.refuse ?? [],
            gone: [],
            failing: [],
            podSecurity: {},
            podSecurityModule: "",
        }),
    );
    const calls = () => fs.readFileSync(path.join(dir, "calls.log"), "utf8").trim().split("\n");
    // The link's kubectl: the fake, with the kubeconfig flag last (the fake reads its arguments by position).
    const run = (args: string[]) =>
        execFileSync(path.join(dir, "kubectl"), [...args, "--kubeconfig=/var/run/link/eks/kubeconfig"], {
            encoding: "utf8",
            env: { ...process.env, FAKE_KUBE_DIR: dir },
            stdio: ["ignore", "pipe", "pipe"],
        });
    return { run, calls };
}

describe("remote trust: what each linked cluster actually serves", () => {
    let rt: Record<string, any>;
    let g1: Ca;
    let g2: Ca;
    let stranger: Ca;
    before(async () => {
        rt = await importEsm(MODULE);
        [g1, g2, stranger] = await Promise.all([anchor(), anchor(), anchor()]);
    });
    const check = (
        local: { bundle: Ca[]; signing: Ca },
        target: ReturnType<typeof fakeTarget>,
        namespaces = ["akko", "linkerd-multicluster"],
    ) =>
        rt.checkLinks({
            links: [{ target: "eks", kubeconfigPath: "/var/run/link/eks/kubeconfig", namespaces }],
            local: { bundlePem: bundlePem(local.bundle), signingSha256: sha(local.signing) },
            runnerFor: () => target.run,
        })[0];

    it("steady, one anchor shared: no problem, every meshed pod counted, read through the link's kubeconfig", () => {
        const target = fakeTarget([g1], {
            akko: [pod("trino", [g1]), pod("plain", undefined)],
            "linkerd-multicluster": [pod("linkerd-gateway", [g1])],
        });
        const verdict = check({ bundle: [g1], signing: g1 }, target);
        assert.deepEqual(verdict.problems, []);
        assert.deepEqual(verdict.notes, []);
        assert.equal(verdict.meshedPods, 2);
        assert.ok(target.calls().every((c) => c.endsWith("--kubeconfig=/var/run/link/eks/kubeconfig")));
        assert.ok(
            target.calls().some((c) => c.startsWith("get --raw /api/v1/namespaces/akko/pods?limit=")),
            "paged pod lists",
        );
    });

    it("two clusters with different anchors fail — the pair `linkerd multicluster check` passes (both linkerd-config values empty)", () => {
        const target = fakeTarget([stranger], { akko: [pod("trino", [stranger])] });
        const verdict = check({ bundle: [g1], signing: g1 }, target);
        assert.equal(verdict.problems.length, 3, verdict.problems.join("\n"));
        assert.match(verdict.problems[0], /lacks this cluster's issuing anchor/);
        assert.match(verdict.problems[1], /this cluster trusts none of the anchors it serves/);
        assert.match(
            verdict.problems[2],
            /1 meshed pod\(s\) do not trust this cluster's issuing anchor .*akko\/trino-/,
        );
    });

    it("a target whose ConfigMap already trusts the new anchor but whose pods were not restarted fails, naming them: the proxies decide, not the ConfigMap", () => {
        const target = fakeTarget([g1, g2], { akko: [pod("trino", [g1]), pod("spark", [g1, g2])] });
        const verdict = check({ bundle: [g1, g2], signing: g2 }, target);
        assert.equal(verdict.problems.length, 1);
        assert.match(verdict.problems[0], /1 meshed pod\(s\) do not trust .*akko\/trino-/);
        assert.match(verdict.notes[0], /1 meshed pod\(s\) still run on another bundle/);
    });

    it("a fleet rotation, member by member: every step the barrier allows passes; a member ahead of the other fails", () => {
        // [local bundle, local signer] x [target bundle (ConfigMap = pods), target signer] per step of the fleet's phases.
        type Side = { bundle: Ca[]; signing: Ca };
        const phase = (p: 0 | 1 | 2 | 3 | 4): Side =>
            [
                { bundle: [g1], signing: g1 },
                { bundle: [g1, g2], signing: g1 },
                { bundle: [g1, g2], signing: g2 },
                { bundle: [g2], signing: g2 },
                { bundle: [g2], signing: g2 },
            ][p];
        // The verdict on what the target serves (the reading is proven above, through the fake kubectl).
        const verdict = (local: Side, remote: Side) =>
            rt.remoteTrustVerdict({
                target: "eks",
                local: { bundlePem: bundlePem(local.bundle), signingSha256: sha(local.signing) },
                remote: {
                    trustRootsPem: bundlePem(remote.bundle),
                    pods: [{ namespace: "akko", name: "trino", bundlePem: bundlePem(remote.bundle) }],
                },
            });
        // Members one phase apart inside the barrier: phase p everywhere before anyone enters p + 1.
        for (const [a, b] of [
            [0, 0],
            [1, 0],
            [1, 1],
            [2, 1],
            [2, 2],
            [3, 2],
            [3, 3],
        ] as const) {
            assert.deepEqual(verdict(phase(a), phase(b)).problems, [], `local ${a}, target ${b}`);
            assert.deepEqual(verdict(phase(b), phase(a)).problems, [], `local ${b}, target ${a}`);
        }
        // Issuing from g2 (phase 2) while the target is still in phase 0: its proxies refuse us.
        assert.match(verdict(phase(2), phase(0)).problems.join(), /lacks this cluster's issuing anchor/);
        // Dropping g1 (phase 3) while the target is still steady on g1: neither side trusts the other's anchor.
        assert.match(verdict(phase(3), phase(0)).problems.join(), /trusts none of the anchors it serves/);
    });

    it("a link whose credentials cannot read the trust roots is a problem naming the target, not a pass", () => {
        const target = fakeTarget(
            [g1],
            {},
            {
                refuse: [
                    [
                        "configmap linkerd-identity-trust-roots",
                        'Error from server (Forbidden): configmaps "linkerd-identity-trust-roots" is forbidden',
                    ],
                ],
            },
        );
        const verdict = check({ bundle: [g1], signing: g1 }, target);
        assert.deepEqual(verdict.problems, [
            'eks: cannot read what it serves through the link\'s credentials: Error from server (Forbidden): configmaps "linkerd-identity-trust-roots" is forbidden',
        ]);
    });

    it("a bundle that does not parse is an error naming where it comes from", () => {
        assert.throws(
            () => rt.certificatesOf("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----", "eks: pod akko/x"),
            /eks: pod akko\/x: a certificate that does not parse/,
        );
    });
});

describe("the rollout's remote-trust task (cluster/mesh-check.mjs): each link's far end, through the credentials Secret it reads", function () {
    this.timeout(60_000);
    let old: Ca;
    let fleet: Ca;
    let own: Ca;
    let local: { issuer: { certPem: string }; bundle: Ca[] };
    before(async () => {
        [old, fleet] = [await anchor(), await anchor()];
        own = await anchor();
        local = { issuer: await issuer(fleet), bundle: [fleet] };
    });
    const env = (links: string[]) => ({
        TASKS: "certificates,remote-trust",
        SIGNING_ANCHOR_SHA256: sha(fleet),
        MULTICLUSTER_NAMESPACE: "linkerd-multicluster",
        REMOTE_TRUST_LINKS: JSON.stringify(
            links.map((target) => ({ target, secret: `cluster-credentials-${target}` })),
        ),
        REMOTE_TRUST_NAMESPACES: "akko,linkerd-multicluster",
    });

    it("passes when every linked cluster serves and its proxies loaded the anchor this cluster's issuer is signed under; reads exactly the links' Secrets", () => {
        const result = runScript({
            ...local,
            pods: {},
            env: env(["eks", "gke"]),
            linked: {
                eks: {
                    bundle: [fleet],
                    pods: { akko: [pod("pong", [fleet])], "linkerd-multicluster": [pod("linkerd-gateway", [fleet])] },
                },
                // Mid-rotation: gke serves both, its proxies loaded both.
                gke: { bundle: [old, fleet], pods: { akko: [pod("pong", [old, fleet])] } },
            },
        });
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.match(
            result.stdout,
            /remote-trust: eks: the bundle it serves and its 2 meshed proxies trust this cluster's issuing anchor/,
        );
        assert.match(result.stdout, /remote-trust: gke: .* 1 meshed proxies/);
        const secretReads = result.calls.filter((c) => c.startsWith("get secret"));
        assert.deepEqual(secretReads, [
            "get secret cluster-credentials-eks -n linkerd-multicluster -o json",
            "get secret cluster-credentials-gke -n linkerd-multicluster -o json",
        ]);
        assert.ok(
            result.calls.some((c) => c.startsWith("@gke get configmap linkerd-identity-trust-roots -n linkerd")),
            "read through gke's kubeconfig",
        );
    });

    it("fails (exit 1), naming the link, when a linked cluster serves or loaded a bundle without this cluster's issuing anchor", () => {
        const result = runScript({
            ...local,
            pods: {},
            env: env(["eks", "gke"]),
            linked: {
                eks: { bundle: [fleet], pods: { akko: [pod("pong", [fleet])] } },
                // gke kept its own anchor: it serves and its proxies trust nothing of this cluster's.
                gke: { bundle: [own], pods: { akko: [pod("pong", [own])] } },
            },
        });
        assert.equal(result.status, 1, result.stdout + result.stderr);
        assert.match(
            result.terminationMessage ?? "",
            /remote-trust: gke: the bundle it serves new pods .* lacks this cluster's issuing anchor/,
        );
        assert.match(
            result.terminationMessage ?? "",
            /remote-trust: gke: 1 meshed pod\(s\) do not trust this cluster's issuing anchor/,
        );
        assert.doesNotMatch(result.terminationMessage ?? "", /eks/);
        // Served right, loaded wrong: the proxies that started before the bundle changed.
        const stale = runScript({
            ...local,
            pods: {},
            env: env(["eks"]),
            linked: { eks: { bundle: [fleet], pods: { akko: [pod("pong", [own])] } } },
        });
        assert.equal(stale.status, 1);
        assert.match(stale.terminationMessage ?? "", /remote-trust: eks: 1 meshed pod\(s\) do not trust/);
    });

    it("a link whose credentials cannot be read fails, named, and the others are still checked", () => {
        const result = runScript({
            ...local,
            pods: {},
            env: env(["eks", "gke"]),
            linked: {
                eks: { bundle: [fleet], noCredentials: true },
                gke: { bundle: [fleet], pods: { akko: [pod("pong", [fleet])] } },
            },
        });
        assert.equal(result.status, 1);
        assert.match(
            result.terminationMessage ?? "",
            /remote-trust: eks: cannot read the link's credentials \(Secret linkerd-multicluster\/cluster-credentials-eks\)/,
        );
        assert.match(result.stdout, /remote-trust: gke: the bundle it serves/);
    });

    it("the Job's variables are the contract's: a malformed link list is a misconfiguration (exit 2) before anything is read", () => {
        const result = runScript({
            ...local,
            pods: {},
            env: { ...env(["eks"]), REMOTE_TRUST_LINKS: '[{"target":"eks"}]' },
        });
        assert.equal(result.status, 2);
        assert.match(result.stderr, /REMOTE_TRUST_LINKS/);
        assert.deepEqual(result.calls, []);
    });
});
