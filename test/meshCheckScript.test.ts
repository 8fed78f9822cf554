/**
 * cluster/mesh-check.mjs under real conditions: real certificates and a fake `kubectl`
 * (test/fakeCluster.ts) that can hang, fail, answer nonsense or be slow where a test says so.
 */
import * as crypto from "node:crypto";
import { strict as assert } from "node:assert";
import {
    anchor,
    Ca,
    intermediate,
    issuer,
    outOfTime,
    pod,
    restarts,
    runScript,
    uidOf,
    UNREACHABLE,
    workloadsOf,
} from "./fakeCluster";

describe("mesh-check.mjs: certificates", () => {
    let a: Ca;
    let b: Ca;
    before(async () => {
        [a, b] = await Promise.all([anchor(), anchor()]);
    });

    it("valid chain, everything current: reports time left, restarts nothing, exits 0", async () => {
        const result = runScript({ issuer: await issuer(a), bundle: [a], pods: { akko: [pod("spark", [a])] } });
        assert.equal(result.status, 0, result.stderr);
        assert.match(
            result.stdout,
            /chain: OK, CN=identity\.linkerd\.cluster\.local <- CN=intermediate-g1\.test\.linkerd\.cluster\.local <- CN=root\.linkerd\.cluster\.local/,
        );
        assert.match(result.stdout, /intermediate: CN=intermediate-g1.* 36\d\.\d days left/);
        assert.match(result.stdout, /issuer: CN=identity\.linkerd\.cluster\.local .* 4[78]\.\d h \(2\.0 days\) left/);
        assert.match(result.stdout, /anchor\[0\]: .* 36\d\d\.\d days left/);
        assert.match(result.stdout, /restart: none needed/);
        assert.deepEqual(restarts(result), []);
    });

    it("never reads a Secret: the issuer comes from its public certificate (static ConfigMap, or cert-manager's CertificateRequest)", async () => {
        const configMap = runScript({ issuer: await issuer(a), bundle: [a] });
        assert.equal(configMap.status, 0, configMap.stderr);
        assert.ok(configMap.calls.includes("get configmap linkerd-identity-issuer-certificate -n linkerd -o json"));
        const certManager = runScript({ issuer: await issuer(a), bundle: [a], issuerSource: "certificate" });
        assert.equal(certManager.status, 0, certManager.stderr);
        assert.ok(
            certManager.calls.includes("get certificates.cert-manager.io linkerd-identity-issuer -n linkerd -o json"),
        );
        assert.ok(
            certManager.calls.includes("get certificaterequests.cert-manager.io -n linkerd -o json"),
            "the request of the current revision",
        );
        for (const result of [configMap, certManager])
            assert.ok(!result.calls.some((c) => c.includes("secret")), "no Secret is read");
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

    const broken: [string, (a: Ca, b: Ca) => Promise<{ issuer: Ca; bundle: Ca[] }>, RegExp][] = [
        ["a broken chain", async (a, b) => ({ issuer: await issuer(b), bundle: [a] }), /chain: BROKEN/],
        [
            "an expired issuer",
            async (a) => ({
                issuer: await outOfTime(a, new Date(Date.now() - 72 * 3600_000), new Date(Date.now() - 3600_000)),
                bundle: [a],
            }),
            /issuer: EXPIRED/,
        ],
        [
            "an issuer not valid yet",
            async (a) => ({
                issuer: await outOfTime(a, new Date(Date.now() + 3600_000), new Date(Date.now() + 72 * 3600_000)),
                bundle: [a],
            }),
            /issuer: not valid before/,
        ],
        [
            "an expired anchor",
            async () => {
                const old = await outOfTime(
                    await anchor(),
                    new Date(Date.now() - 100 * 86_400_000),
                    new Date(Date.now() - 86_400_000),
                );
                return { issuer: await issuer(a), bundle: [a, old] };
            },
            /anchor\[1\]: EXPIRED/,
        ],
    ];
    for (const [why, make, message] of broken) {
        it(`${why}: alerts, and restarts nothing even where pods differ`, async () => {
            const { issuer: cert, bundle } = await make(a, b);
            const result = runScript({
                issuer: cert,
                bundle,
                pods: { akko: [pod("spark", [b]), pod("trino", undefined)] },
            });
            assert.equal(result.status, 1);
            assert.match(result.stderr, message);
            assert.match(result.stdout, /restarts: skipped: /);
            assert.deepEqual(restarts(result), []);
        });
    }

    it("no task restarts without the certificate check first: asking for one is a misconfiguration", async () => {
        for (const tasks of ["restarts", "control-plane", "control-plane,restarts,verify-bundle", "reload-identity"]) {
            const result = runScript({
                issuer: await issuer(a),
                bundle: [a],
                pods: { akko: [pod("spark", undefined)] },
                env: { TASKS: tasks, SIGNING_ANCHOR_SHA256: "A".repeat(64) },
            });
            assert.equal(result.status, 2, tasks);
            assert.match(result.stderr, /TASKS names .*which restart workloads, without certificates/);
            assert.deepEqual(result.calls, [], "nothing asked of the cluster");
        }
    });

    it("an issuer signed by an anchor itself (its key in the cluster): fails naming it, though the chain verifies", async () => {
        const result = runScript({
            issuer: await issuer(a, 48, "direct"),
            bundle: [a],
            pods: { akko: [pod("spark", [a])] },
        });
        assert.equal(result.status, 1);
        assert.match(
            result.stderr,
            /chain: the issuer is signed by anchor CN=root\.linkerd\.cluster\.local .* itself, not by the cluster's intermediate/,
        );
        assert.doesNotMatch(result.stdout, /restarts: skipped/, "a valid chain halts nothing");
    });

    it("an intermediate of another anchor, or an issuer chain without its intermediate: BROKEN, nothing restarted", async () => {
        const foreign = await issuer(b);
        const bare = {
            certPem: (await issuer(a)).certPem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n",
            privateKeyPem: "",
        };
        for (const cert of [foreign, bare]) {
            const result = runScript({ issuer: cert, bundle: [a], pods: { akko: [pod("spark", [b])] } });
            assert.equal(result.status, 1);
            assert.match(result.stderr, /chain: BROKEN/);
            assert.deepEqual(restarts(result), []);
        }
    });

    it("an expired intermediate halts every restart; one under its threshold alerts: `pulumi up` re-signs it", async () => {
        const past = await outOfTime(
            a,
            new Date(Date.now() - 400 * 86_400_000),
            new Date(Date.now() - 3600_000),
            "CN=intermediate-g1.test.linkerd.cluster.local",
        );
        const expired = runScript({
            issuer: await issuer(a, 48, past),
            bundle: [a],
            pods: { akko: [pod("spark", [b])] },
        });
        assert.equal(expired.status, 1);
        assert.match(expired.stderr, /intermediate: EXPIRED: the issuer's chain does not verify/);
        assert.match(expired.stdout, /restarts: skipped: the intermediate is not valid/);
        assert.deepEqual(restarts(expired), []);
        const soon = runScript({
            issuer: await issuer(a, 48, await intermediate(a, 500)),
            bundle: [a],
            env: { TASKS: "certificates", INTERMEDIATE_MIN_HOURS_LEFT: "1080" },
        });
        assert.equal(soon.status, 1);
        assert.match(
            soon.stderr,
            /intermediate: (499|500)\.\d h left, under the 1080 h threshold: no `pulumi up` has re-signed it/,
        );
    });

    it("an unreadable bundle or issuer in restart mode: non-zero, never OK, nothing restarted", async () => {
        const noBundle = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: { akko: [pod("spark", undefined)] },
            answer: [["configmap linkerd-identity-trust-roots", "null"]],
            env: { TASKS: "certificates,restarts" },
        });
        assert.equal(noBundle.status, 1);
        assert.match(noBundle.stderr, /bundle: cannot read the trust bundle/);
        assert.doesNotMatch(noBundle.stdout, /mesh-check: OK/);
        assert.deepEqual(restarts(noBundle), []);
        const noIssuer = runScript({
            issuer: await issuer(a),
            bundle: [a],
            answer: [["configmap linkerd-identity-issuer-certificate", '{"data": {}}']],
        });
        assert.equal(noIssuer.status, 1);
        assert.match(noIssuer.stderr, /issuer: cannot read the issuer certificate/);
    });
});

describe("mesh-check.mjs: restarts", () => {
    let a: Ca;
    let b: Ca;
    before(async () => {
        [a, b] = await Promise.all([anchor(), anchor()]);
    });

    it("changed bundle (rotation phase 1): restarts every workload injected with the old bundle, one batch at a time", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: {
                akko: [
                    pod("spark", [a]),
                    pod("spark", [a]),
                    pod("trino", [a, b]),
                    pod("opted-out", undefined, { annotations: { "linkerd.io/inject": "disabled" } }),
                    pod("hive", [a], { nativeSidecar: true }),
                ],
                data: [
                    pod("postgres", [a], { owner: "StatefulSet" }),
                    pod("node-exporter", [a], { owner: "DaemonSet" }),
                ],
            },
            env: { TODAY: "2026-11-23" },
        });
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(
            restarts(result)
                .filter((c) => c.startsWith("rollout restart"))
                .sort(),
            [
                "rollout restart daemonset/node-exporter -n data",
                "rollout restart deployment/hive -n akko",
                "rollout restart deployment/spark -n akko",
                "rollout restart statefulset/postgres -n data",
            ],
        );
    });

    it("Job and bare pods trusting an old bundle fail the daily check, listed, after what can be restarted is restarted", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: {
                spark: [
                    pod("connect", [a]),
                    pod("etl", [a], { owner: "Job" }),
                    pod("debug", [a], { owner: "none" }),
                    pod("exec-1", [a], { owner: "none", labels: { "spark-role": "executor" } }),
                    pod("fresh-batch", [a, b], { owner: "Job" }),
                ],
            },
            // The daily CronJob's tasks (components/meshMaintenance.ts).
            env: { TASKS: "certificates,control-plane,restarts" },
        });
        assert.equal(result.status, 1, "KubeJobFailed must fire");
        assert.deepEqual(restarts(result), [
            "rollout restart deployment/connect -n spark",
            "rollout status deployment/connect -n spark --timeout=60s",
        ]);
        assert.match(
            result.stderr,
            /restart: 3 pod\(s\) trust an old bundle and no workload of theirs can be restarted; recreate them \(or let them finish\): spark\/etl-\S+ \(it belongs to job\/etl\), spark\/debug-\S+ \(it is a bare pod\), spark\/exec-1-\S+ \(it is a bare pod\)/,
        );
        assert.doesNotMatch(result.stdout, /mesh-check: OK/);
        // What cannot be restarted for another reason (no proxy yet) is not an alert: it is meshed when it is recreated.
        const unmeshedJob = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: { spark: [pod("etl", undefined, { owner: "Job" })] },
        });
        assert.equal(unmeshedJob.status, 0, unmeshedJob.stderr);
        assert.match(
            unmeshedJob.stdout,
            /skip: pod spark\/etl-\S+: it has no proxy, but it belongs to job\/etl: recreate it/,
        );
    });

    it("safe enable: restarts workloads started before injection, never the opted-out, host-network or finished ones", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: {
                akko: [
                    pod("spark", undefined),
                    pod("trino", [a]),
                    pod("legacy", undefined, { annotations: { "linkerd.io/inject": "disabled" } }),
                    pod("node-agent", undefined, { hostNetwork: true }),
                    pod("batch", undefined, { phase: "Succeeded" }),
                ],
            },
            env: { TASKS: "certificates,restarts" },
        });
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(restarts(result), [
            "rollout restart deployment/spark -n akko",
            "rollout status deployment/spark -n akko --timeout=60s",
        ]);
        assert.match(result.stdout, /restart: akko\/deployment\/spark \(it has no proxy\)/);
    });

    it("a permissive/strict switch, or proxy annotations the namespace set later: the pods created before are restarted", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: {
                akko: [pod("spark", [a]), pod("trino", [a], { policy: "all-authenticated" })],
                data: [
                    pod("postgres", [a]),
                    pod("mysql", [a], { annotations: { "config.linkerd.io/opaque-ports": "3306" } }),
                ],
            },
            env: {
                TASKS: "certificates,restarts",
                EXPECTED_INBOUND_POLICY: JSON.stringify({ akko: "all-authenticated", data: "all-unauthenticated" }),
                EXPECTED_ANNOTATIONS: JSON.stringify({ data: { "config.linkerd.io/opaque-ports": "3306,5432" } }),
            },
        });
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(
            restarts(result)
                .filter((c) => c.startsWith("rollout restart"))
                .sort(),
            ["rollout restart deployment/postgres -n data", "rollout restart deployment/spark -n akko"],
        );
        assert.match(result.stdout, /default inbound policy is all-unauthenticated, not all-authenticated/);
        assert.match(result.stdout, /created before its namespace set config\.linkerd\.io\/opaque-ports/);
    });

    it("safe disable: in a namespace being drained, restarts the workloads that still run a proxy", async () => {
        const drained = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: { akko: [pod("spark", [a]), pod("trino", undefined)] },
            env: { TASKS: "certificates,restarts", MESHED_NAMESPACES: "", UNMESHED_NAMESPACES: "akko" },
        });
        assert.equal(drained.status, 0, drained.stderr);
        assert.deepEqual(restarts(drained), [
            "rollout restart deployment/spark -n akko",
            "rollout status deployment/spark -n akko --timeout=60s",
        ]);
        assert.match(drained.stdout, /it still has a proxy, its namespace leaves the mesh/);
    });

    it("the ingress controller: only its pods in kube-system are looked at, and its Deployment restarted", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: {
                akko: [pod("spark", [a])],
                "kube-system": [
                    pod("traefik", undefined, { labels: { "app.kubernetes.io/name": "traefik" } }),
                    pod("coredns", undefined),
                ],
            },
            env: {
                TASKS: "certificates,restarts",
                MESHED_NAMESPACES: "akko",
                INGRESS: JSON.stringify({
                    namespace: "kube-system",
                    selector: "app.kubernetes.io/name=traefik",
                    inject: true,
                    deployment: "traefik",
                }),
            },
        });
        assert.equal(result.status, 0, result.stderr);
        assert.deepEqual(restarts(result), [
            "rollout restart deployment/traefik -n kube-system",
            "rollout status deployment/traefik -n kube-system --timeout=60s",
        ]);
        assert.ok(
            result.calls.some(
                (c) =>
                    c.includes("/namespaces/kube-system/pods?") &&
                    c.includes("labelSelector=app.kubernetes.io%2Fname%3Dtraefik"),
            ),
        );
    });

    describe("owners verified on the cluster, not taken from the pod", () => {
        const TRAEFIK = "app.kubernetes.io/name=traefik";
        /** A pod that copies `victim`'s controller reference and pod-template-hash, changed by `forge`. */
        const forged = (victim: any, anchors: Ca[], forge: (p: any) => void) => {
            const p = pod("intruder", anchors, { owner: "none" });
            p.metadata.ownerReferences = structuredClone(victim.metadata.ownerReferences);
            p.metadata.labels = { ...victim.metadata.labels, app: "intruder" };
            forge(p);
            return p;
        };

        it("a pod claiming a ReplicaSet, StatefulSet or DaemonSet it does not belong to gets nothing restarted, and alerts", async () => {
            const victim = pod("trino", [a, b]);
            const set = pod("postgres", [a, b], { owner: "StatefulSet" });
            const daemon = pod("fluent-bit", [a, b], { owner: "DaemonSet" });
            const cases: [string, any, RegExp][] = [
                // Its labels are not the ReplicaSet's: the ReplicaSet controller would release it.
                [
                    "labels the selector does not select",
                    forged(victim, [a], () => undefined),
                    /replicaset\/trino-\w+'s selector does not select it/,
                ],
                [
                    "another uid than the ReplicaSet's",
                    forged(
                        victim,
                        [a],
                        (p) => ((p.metadata.ownerReferences[0].uid = "forged"), (p.metadata.labels.app = "trino")),
                    ),
                    /replicaset\/trino-\w+ has another uid/,
                ],
                [
                    "no uid",
                    forged(
                        victim,
                        [a],
                        (p) => (delete p.metadata.ownerReferences[0].uid, (p.metadata.labels.app = "trino")),
                    ),
                    /replicaset\/trino-\w+ has another uid/,
                ],
                [
                    "a ReplicaSet that does not exist",
                    forged(
                        victim,
                        [a],
                        (p) => (
                            (p.metadata.ownerReferences[0].name = "trino-0000000"),
                            (p.metadata.labels["pod-template-hash"] = "0000000")
                        ),
                    ),
                    /replicaset\/trino-0000000 does not exist/,
                ],
                [
                    "a StatefulSet whose selector does not select it",
                    forged(set, [a], () => undefined),
                    /statefulset\/postgres's selector does not select it/,
                ],
                [
                    "a DaemonSet of another uid",
                    forged(
                        daemon,
                        [a],
                        (p) => ((p.metadata.ownerReferences[0].uid = "forged"), (p.metadata.labels.app = "fluent-bit")),
                    ),
                    /daemonset\/fluent-bit has another uid/,
                ],
            ];
            for (const [why, intruder, reason] of cases) {
                const result = runScript({
                    issuer: await issuer(a),
                    bundle: [a, b],
                    pods: { akko: [victim, set, daemon, intruder] },
                    workloads: { akko: workloadsOf([victim, set, daemon]) },
                });
                assert.deepEqual(restarts(result), [], `${why}: nothing restarted`);
                assert.equal(result.status, 1, why);
                assert.match(
                    result.stderr,
                    /restart: 1 pod\(s\) trust an old bundle and no workload of theirs can be restarted/,
                    why,
                );
                assert.match(
                    result.stderr,
                    new RegExp(`akko/intruder-\\S+ \\(it claims \\S+, but ${reason.source}`),
                    why,
                );
            }
        });

        it("a ReplicaSet claiming a Deployment it does not belong to gets it no restart", async () => {
            const stale = pod("trino", [a]);
            const [replicaSet, deployment] = workloadsOf([stale]);
            const cases: [string, (rs: any) => void, RegExp][] = [
                [
                    "another uid than the Deployment's",
                    (rs) => (rs.metadata.ownerReferences[0].uid = "forged"),
                    /deployment\/trino has another uid/,
                ],
                [
                    "labels the Deployment does not select",
                    (rs) => (rs.metadata.labels = { app: "intruder" }),
                    /deployment\/trino's selector does not select it/,
                ],
            ];
            for (const [why, forge, reason] of cases) {
                const rs = structuredClone(replicaSet);
                forge(rs);
                const result = runScript({
                    issuer: await issuer(a),
                    bundle: [a, b],
                    pods: { akko: [stale] },
                    workloads: { akko: [rs, deployment] },
                });
                assert.deepEqual(restarts(result), [], why);
                assert.match(result.stderr, new RegExp(`it claims deployment/trino, but ${reason.source}`), why);
            }
            // The same chain, consistent: restarted.
            const honest = runScript({ issuer: await issuer(a), bundle: [a, b], pods: { akko: [stale] } });
            assert.equal(honest.status, 0, honest.stderr);
            assert.deepEqual(restarts(honest), [
                "rollout restart deployment/trino -n akko",
                "rollout status deployment/trino -n akko --timeout=60s",
            ]);
            assert.ok(
                honest.calls.includes("get replicaset trino-5d8f7c9b4 -n akko -o json"),
                "the ReplicaSet is read",
            );
            assert.ok(honest.calls.includes("get deployment trino -n akko -o json"), "and its Deployment");
        });

        it("kube-system pods carrying the ingress label count only as pods of the ingress Deployment", async () => {
            const traefikLabels = { "app.kubernetes.io/name": "traefik" };
            const traefik = pod("traefik", [a], { labels: traefikLabels });
            const coredns = pod("coredns", undefined, { labels: traefikLabels });
            const bare = pod("lookalike", undefined, { owner: "none", labels: traefikLabels });
            // Traefik's own ReplicaSet and uid, without the labels its selector asks for.
            const claimant = forged(
                traefik,
                [],
                (p) => (p.metadata.labels = { ...traefikLabels, "pod-template-hash": "5d8f7c9b4" }),
            );
            claimant.spec = { containers: [{ name: "app", env: [] }] };
            const result = runScript({
                issuer: await issuer(a),
                bundle: [a],
                pods: { "kube-system": [traefik, coredns, bare, claimant] },
                workloads: { "kube-system": workloadsOf([traefik, coredns]) },
                env: {
                    TASKS: "certificates,restarts",
                    MESHED_NAMESPACES: "",
                    INGRESS: JSON.stringify({
                        namespace: "kube-system",
                        selector: TRAEFIK,
                        inject: true,
                        deployment: "traefik",
                    }),
                },
            });
            assert.equal(result.status, 0, result.stderr);
            assert.deepEqual(
                restarts(result),
                [],
                "neither coredns nor traefik is restarted for pods that are not traefik's",
            );
            assert.match(
                result.stdout,
                /ignored: pod kube-system\/coredns-\S+ carries app\.kubernetes\.io\/name=traefik but is not a pod of deployment\/traefik: it claims deployment\/coredns, but only deployment\/traefik is looked at here/,
            );
            // The Jobs may read no other Deployment there (RBAC: traefik by name).
            assert.ok(!result.calls.some((c) => c.startsWith("get deployment coredns")));
            assert.match(result.stdout, /ignored: pod kube-system\/lookalike-\S+ .* it is a bare pod/);
            assert.match(
                result.stdout,
                /ignored: pod kube-system\/intruder-\S+ .* it claims deployment\/traefik, but replicaset\/traefik-5d8f7c9b4's selector does not select it/,
            );
            assert.equal(
                uidOf("ReplicaSet", "traefik-5d8f7c9b4"),
                claimant.metadata.ownerReferences[0].uid,
                "the claim names the real uid",
            );
        });

        it("an owner name that kubectl would read as a flag is never passed to it", async () => {
            const victim = pod("trino", [a, b]);
            const intruder = forged(
                victim,
                [a],
                (p) => (p.metadata.ownerReferences[0].name = "--server=https://attacker.example"),
            );
            const result = runScript({
                issuer: await issuer(a),
                bundle: [a, b],
                pods: { akko: [victim, intruder] },
                workloads: { akko: workloadsOf([victim]) },
            });
            assert.ok(!result.raw.some((c) => c.includes("attacker")), "the Job's token stays with the API server");
            assert.match(
                result.stderr,
                /its controller's name "--server=https:\/\/attacker\.example" is not an object name/,
            );
            assert.deepEqual(restarts(result), []);
        });

        it("an ingress scope by label without its Deployment is a misconfiguration", async () => {
            const result = runScript({
                issuer: await issuer(a),
                bundle: [a],
                env: { INGRESS: JSON.stringify({ namespace: "kube-system", selector: TRAEFIK, inject: true }) },
            });
            assert.equal(result.status, 2);
            assert.match(result.stderr, /INGRESS with a selector needs its deployment/);
        });
    });

    it("a workload that does not come back, or is gone, is reported; the others are still restarted", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [b, a],
            pods: { akko: [pod("hive", [a]), pod("spark", [a]), pod("trino", [a])] },
            failingRollouts: ["akko/deployment/hive"],
            gone: ["akko/deployment/spark"],
        });
        assert.equal(result.status, 1);
        assert.ok(result.calls.includes("rollout restart deployment/trino -n akko"), "trino still restarted");
        assert.ok(result.calls.includes("rollout status deployment/trino -n akko --timeout=60s"));
        assert.match(result.stderr, /restart: akko\/deployment\/hive did not complete: error: timed out/);
        assert.match(result.stderr, /restart: akko\/deployment\/spark is gone/);
    });

    it("the order rotates daily: the same workloads are not always the last ones", async () => {
        const current = await issuer(a);
        const order = (today: string) =>
            restarts(
                runScript({
                    issuer: current,
                    bundle: [a],
                    pods: { akko: ["w1", "w2", "w3", "w4"].map((n) => pod(n, undefined)) },
                    env: { TASKS: "certificates,restarts", TODAY: today },
                }),
            )
                .filter((c) => c.startsWith("rollout restart"))
                .map((c) => c.split(" ")[2]);
        const monday = order("2026-11-23");
        const tuesday = order("2026-11-24");
        assert.deepEqual([...monday].sort(), [...tuesday].sort());
        assert.notDeepEqual(monday, tuesday);
        assert.notEqual(monday.at(-1), tuesday.at(-1));
    });

    it("proxies of another Linkerd version (after a chart upgrade): restarted, at most MAX_VERSION_RESTARTS a run, the rest reported", async () => {
        const old = { annotations: { "linkerd.io/proxy-version": "edge-26.7.1" } };
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: {
                akko: [
                    pod("a1", [a], old),
                    pod("a2", [a], old),
                    pod("a3", [a], old),
                    pod("current", [a], { annotations: { "linkerd.io/proxy-version": "edge-26.8.3" } }),
                ],
            },
            env: { TASKS: "certificates,restarts", PROXY_VERSION: "edge-26.8.3", MAX_VERSION_RESTARTS: "2" },
        });
        assert.equal(result.status, 0, result.stderr);
        assert.equal(restarts(result).filter((c) => c.startsWith("rollout restart")).length, 2);
        assert.match(result.stdout, /version: 3 workloads run another proxy version; 2 restarted this run/);
        assert.match(result.stdout, /its proxy is edge-26\.7\.1, the control plane edge-26\.8\.3/);
    });

    it("control plane: restarted first, one Deployment at a time, only where its pods did not start with the digest", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: { akko: [pod("spark", [a])] },
            deployments: {
                "linkerd-identity": { "akko.io/control-plane-digest": "old" },
                "linkerd-destination": { "akko.io/control-plane-digest": "new" },
                "linkerd-proxy-injector": {},
            },
            env: {
                TASKS: "certificates,control-plane,restarts",
                CONTROL_PLANE_DIGEST: "new",
                CONTROL_PLANE_DEPLOYMENTS: "linkerd-identity,linkerd-destination,linkerd-proxy-injector",
            },
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

    it("a control plane that does not come back: no data-plane restart, the run fails", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: { akko: [pod("spark", [a])] },
            deployments: { "linkerd-identity": { "akko.io/control-plane-digest": "old" } },
            failingRollouts: ["linkerd/deployment/linkerd-identity"],
            env: {
                TASKS: "certificates,control-plane,restarts",
                CONTROL_PLANE_DIGEST: "new",
                CONTROL_PLANE_DEPLOYMENTS: "linkerd-identity",
            },
        });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /control-plane: deployment\/linkerd-identity did not complete/);
        assert.match(result.stdout, /restarts: skipped: the control plane did not restart/);
        assert.ok(!result.calls.some((c) => c.startsWith("rollout restart")));
    });
});

describe("mesh-check.mjs: bounded in time and memory", () => {
    let a: Ca;
    let b: Ca;
    before(async () => {
        [a, b] = await Promise.all([anchor(), anchor()]);
    });

    it("every kubectl call is bounded: a request timeout on each request, --timeout on each rollout watch", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, await anchor()],
            pods: { akko: [pod("spark", [a])] },
        });
        assert.equal(result.status, 0, result.stderr);
        assert.ok(result.raw.length >= 4);
        for (const call of result.raw) {
            if (call.startsWith("rollout status")) assert.match(call, /--timeout=60s$/);
            else assert.match(call, / --request-timeout=2s$/, call);
        }
    });

    it("a hung call cannot hold the Job: it is killed at its timeout, reported, and the run ends", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: { akko: [pod("spark", undefined)] },
            hang: [["/namespaces/akko/pods", 600]],
            env: { TASKS: "certificates,restarts" },
        });
        assert.equal(result.status, 1);
        assert.ok(result.seconds < 20, `ended after ${result.seconds} s`);
        assert.match(result.stderr, /restarts: /);
        assert.deepEqual(restarts(result), []);
    });

    it("an answer that is not a list (null, a Status) fails the run, never OK", async () => {
        for (const answer of ["null", '{"kind": "Status", "status": "Failure"}']) {
            const result = runScript({
                issuer: await issuer(a),
                bundle: [a],
                pods: { akko: [pod("spark", undefined)] },
                answer: [["/namespaces/akko/pods", answer]],
                env: { TASKS: "certificates,restarts" },
            });
            assert.equal(result.status, 1, answer);
            assert.match(result.stderr, /is not a list/);
            assert.doesNotMatch(result.stdout, /mesh-check: OK/);
        }
    });

    /** The pod pages the script asked for in a namespace, with the limit each asked for. */
    const pages = (result: { calls: string[] }, namespace = "akko") =>
        result.calls
            .filter((c) => c.startsWith(`get --raw /api/v1/namespaces/${namespace}/pods`))
            .map((c) => Number(/limit=(\d+)/.exec(c)![1]));

    it("pods are listed a page at a time, never kubectl's whole list; a page's size follows the pods' size", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: { akko: Array.from({ length: 600 }, (_, i) => pod(`w${i % 60}`, [a])) },
            podPadding: 8 * 1024,
            env: { PAGE_SIZE: "100", MAX_PAGE_BYTES: String(1024 * 1024) },
        });
        assert.equal(result.status, 0, result.stderr);
        const limits = pages(result);
        assert.equal(limits[0], 100, "the first page asks PAGE_SIZE pods");
        // ~10 KB a pod: the next pages aim at half of 1 MiB, ~50 pods.
        assert.ok(limits.length > 2);
        for (const limit of limits.slice(1)) assert.ok(limit >= 45 && limit <= 60, `${limit} pods a page`);
        assert.ok(
            !result.calls.some((c) => /^get pods/.test(c)),
            "never kubectl's whole-list get (~218 MB at 2,000 pods)",
        );
    });

    it("a page over MAX_PAGE_BYTES is asked again, smaller, instead of crashing on ENOBUFS", async () => {
        // Pods of 70 KB, 60 a page: 4.2 MB against 1 MiB (the Jobs' own case, 250 of them over the 16 MiB
        // buffer that crashed the run before, is in test/maintenanceJobs.test.ts).
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: { akko: Array.from({ length: 60 }, (_, i) => pod(`w${i % 3}`, [a])) },
            podPadding: 70 * 1024,
            env: { PAGE_SIZE: "60", MAX_PAGE_BYTES: String(1024 * 1024), TODAY: "2026-11-23" },
        });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /pods: a page of akko was over 1048576 bytes; asking again 30 at a time/);
        assert.deepEqual(pages(result).slice(0, 4), [60, 30, 15, 7], "halved until a page fits");
        assert.equal(restarts(result).filter((c) => c.startsWith("rollout restart")).length, 3, "every pod was seen");
        const oversized = runScript({
            issuer: await issuer(a),
            bundle: [a],
            pods: { akko: [pod("w", [a])] },
            podPadding: 70 * 1024,
            env: { PAGE_SIZE: "4", MAX_PAGE_BYTES: String(64 * 1024) },
        });
        assert.equal(oversized.status, 1);
        assert.match(oversized.stderr, /one pod of akko is larger than MAX_PAGE_BYTES \(65536 bytes\)/);
    });

    it("a list that never ends (the same continue token, or a new one every time) fails the run, restarting nothing", async () => {
        const same = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: { akko: [pod("spark", [a])] },
            endlessList: "same",
            timeoutSeconds: 60,
        });
        assert.equal(same.status, 1);
        assert.match(
            same.stderr,
            /restarts: the pod list of akko does not end: the API answered the same continue token twice/,
        );
        assert.equal(pages(same).length, 2);
        const fresh = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: { akko: [pod("spark", [a])] },
            endlessList: "new",
            timeoutSeconds: 60,
            env: { MAX_PAGES: "5" },
        });
        assert.equal(fresh.status, 1);
        assert.match(fresh.stderr, /restarts: the pod list of akko did not end after 5 pages \(MAX_PAGES\)/);
        assert.equal(pages(fresh).length, 5);
        for (const result of [same, fresh]) assert.deepEqual(restarts(result), []);
    });

    it("the page budget and the page bound must be given: no silent default", async () => {
        for (const name of ["MAX_PAGE_BYTES", "MAX_PAGES"]) {
            for (const [value, message] of [
                [undefined, `${name} is not set`],
                ["", `${name} must be a positive whole number`],
                ["0", `${name} must be a positive whole number`],
            ] as const) {
                const result = runScript({ issuer: await issuer(a), bundle: [a], env: { [name]: value } });
                assert.equal(result.status, 2, `${name}=${value}`);
                assert.match(result.stderr, new RegExp(message));
                assert.deepEqual(result.calls, []);
            }
        }
    });

    it("no restart starts that could not finish before the Job's deadline; what is left fails the run", async () => {
        // 30 s per restart, 93 s of deadline (60 kept to report): the first batch fits, the second no longer.
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, await anchor()],
            pods: { akko: [pod("hive", [a]), pod("spark", [a])] },
            slowRollouts: 3,
            env: { DEADLINE_SECONDS: "93", ROLLOUT_TIMEOUT_SECONDS: "30", TODAY: "2026-11-24" },
        });
        assert.equal(result.status, 1);
        assert.equal(restarts(result).filter((c) => c.startsWith("rollout restart")).length, 1);
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

describe("mesh-check.mjs: evidence for rotation phases", () => {
    let a: Ca;
    let b: Ca;
    before(async () => {
        [a, b] = await Promise.all([anchor(), anchor()]);
    });
    const fingerprint = (ca: Ca) => new crypto.X509Certificate(ca.certPem).fingerprint256.replace(/:/g, "");

    it("verify-bundle: a Job pod, a bare pod and a Spark executor still trusting the old bundle block the phase, named", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: {
                spark: [
                    pod("etl", [a], { owner: "Job" }),
                    pod("debug", [a], { owner: "none" }),
                    pod("exec-1", [a], { owner: "none", labels: { "spark-role": "executor" } }),
                    pod("fresh", [a, b]),
                ],
            },
            env: { TASKS: "verify-bundle" },
        });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /verify: 3 pod\(s\) still trust an old bundle/);
        assert.match(result.stderr, /spark\/etl-.* \(job\/etl\)/);
        assert.match(result.stderr, /spark\/debug-.* \(bare pod\)/);
        const clean = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            pods: { spark: [pod("fresh", [a, b])] },
            env: { TASKS: "verify-bundle" },
        });
        assert.equal(clean.status, 0, clean.stderr);
        assert.match(clean.stdout, /every meshed proxy trusts the current bundle/);
    });

    it("reload-identity: refuses while the issuer still chains to the old anchor", async () => {
        const result = runScript({
            issuer: await issuer(a),
            bundle: [a, b],
            deployments: { "linkerd-identity": {} },
            env: {
                TASKS: "certificates,reload-identity",
                SIGNING_ANCHOR_SHA256: fingerprint(b),
                DEADLINE_SECONDS: "125",
                ROLLOUT_TIMEOUT_SECONDS: "60",
            },
        });
        assert.equal(result.status, 1);
        assert.match(
            result.stderr,
            /issuer: CN=identity.* does not chain to the new anchor through its intermediate: it was not re-issued/,
        );
        assert.ok(
            !result.calls.some((c) => c.startsWith("patch")),
            "identity is not restarted with an issuer that would not load",
        );
    });

    it("reload-identity: once re-issued from the new anchor, restarts identity with it, once", async () => {
        const newIssuer = await issuer(b);
        const result = runScript({
            issuer: newIssuer,
            bundle: [a, b],
            issuerSource: "certificate",
            deployments: { "linkerd-identity": {} },
            env: { TASKS: "certificates,reload-identity", SIGNING_ANCHOR_SHA256: fingerprint(b) },
        });
        assert.equal(result.status, 0, result.stderr);
        assert.ok(
            result.calls.some(
                (c) => c.startsWith("patch deployment linkerd-identity") && c.includes("akko.io/issuer-sha256"),
            ),
        );
        assert.ok(result.calls.includes("rollout status deployment/linkerd-identity -n linkerd --timeout=60s"));
        const issuerSha = fingerprint(newIssuer);
        const again = runScript({
            issuer: newIssuer,
            bundle: [a, b],
            deployments: { "linkerd-identity": { "akko.io/issuer-sha256": issuerSha } },
            env: { TASKS: "certificates,reload-identity", SIGNING_ANCHOR_SHA256: fingerprint(b) },
        });
        assert.equal(again.status, 0, again.stderr);
        assert.ok(!again.calls.some((c) => c.startsWith("patch")));
    });

    it("rotation-gate: refuses at once, restarting nothing, while the issuer still chains to the old anchor", async () => {
        const old = await issuer(a);
        const result = runScript({
            issuer: old,
            bundle: [a, b],
            identity: { replicas: [old.certPem] },
            env: { TASKS: "rotation-gate", SIGNING_ANCHOR_SHA256: fingerprint(b) },
        });
        assert.equal(result.status, 1);
        assert.match(
            result.stderr,
            /rotation-gate: the live issuer .* does not chain to the new anchor .* through its intermediate: .*The bundle was not changed/,
        );
        assert.ok(result.seconds < 10, "never waits");
        assert.deepEqual(restarts(result), []);
        assert.ok(!result.calls.some((c) => c.startsWith("patch")));
    });

    it("reload-identity and rotation-gate: an issuer signed by the new anchor itself does not count (the anchor signs only intermediates)", async () => {
        // reload-identity restarts identity, so it runs after the certificate check (which only reports this chain).
        for (const task of ["certificates,reload-identity", "rotation-gate"]) {
            const direct = await issuer(b, 48, "direct");
            const result = runScript({
                issuer: direct,
                bundle: [a, b],
                deployments: { "linkerd-identity": {} },
                identity: { replicas: [direct.certPem] },
                env: {
                    TASKS: task,
                    SIGNING_ANCHOR_SHA256: fingerprint(b),
                    DEADLINE_SECONDS: "125",
                    ROLLOUT_TIMEOUT_SECONDS: "60",
                },
            });
            assert.equal(result.status, 1, task);
            assert.match(result.stderr, /does not chain to the new anchor.* through its intermediate/, task);
            assert.ok(!result.calls.some((c) => c.startsWith("patch")), task);
        }
    });

    it("rotation-gate: passes once the issuer chains to the new anchor and every identity replica serves it; needs the anchor's fingerprint", async () => {
        for (const issuerSource of ["configmap", "certificate"] as const) {
            const reissued = await issuer(b);
            const result = runScript({
                issuer: reissued,
                bundle: [a, b],
                issuerSource,
                identity: { replicas: [reissued.certPem, reissued.certPem] },
                env: { TASKS: "rotation-gate", SIGNING_ANCHOR_SHA256: fingerprint(b) },
            });
            assert.equal(result.status, 0, result.stderr);
            assert.match(result.stdout, /rotation-gate: OK, .* every identity replica \(2\) serves it/);
            // Least privilege: identity's pods and events in its namespace, its Deployment and ReplicaSet by name; no Secret.
            assert.ok(
                result.calls.some(
                    (c) =>
                        c.startsWith("get --raw /api/v1/namespaces/linkerd/pods?") &&
                        c.includes("labelSelector=linkerd.io%2Fcontrol-plane-component%3Didentity"),
                ),
            );
            assert.ok(
                result.calls.includes("get replicaset linkerd-identity-5d8f7c9b4 -n linkerd -o json"),
                "its owner verified",
            );
            assert.ok(
                result.calls.some((c) =>
                    c.startsWith(
                        "get events -n linkerd --field-selector involvedObject.kind=Deployment,involvedObject.name=linkerd-identity,reason=IssuerUpdateSkipped",
                    ),
                ),
            );
            assert.ok(!result.calls.some((c) => c.includes("secret")));
        }
        const notDeployed = runScript({
            issuer: await issuer(b),
            bundle: [a],
            deployments: { "linkerd-identity": {} },
            env: { TASKS: "rotation-gate", SIGNING_ANCHOR_SHA256: fingerprint(b) },
        });
        assert.match(notDeployed.stderr, /not in the live trust bundle: phase 2 is not deployed/);
        const misconfigured = runScript({ issuer: await issuer(b), bundle: [a, b], env: { TASKS: "rotation-gate" } });
        assert.equal(misconfigured.status, 2);
        assert.match(misconfigured.stderr, /SIGNING_ANCHOR_SHA256 is not set/);
    });

    describe("rotation-gate: identity's own word on which issuer it serves", () => {
        let old: Ca;
        let reissued: Ca;
        before(async () => {
            // The old issuer was issued hours before the re-issue: it expires that much earlier.
            [old, reissued] = await Promise.all([issuer(a, 40), issuer(b)]);
        });
        const gate = (identity: object, env: Record<string, string> = {}) =>
            runScript({
                issuer: reissued,
                bundle: [a, b],
                identity: identity as any,
                env: {
                    TASKS: "rotation-gate",
                    SIGNING_ANCHOR_SHA256: fingerprint(b),
                    IDENTITY_RELOAD_WAIT_SECONDS: "0",
                    ...env,
                },
            });

        it("a replica that refused the re-issued issuer (IssuerUpdateSkipped) fails the gate at once, quoting identity", () => {
            const message =
                "Skipping issuer update as certs could not be read from disk: failed to verify issuer credentials for 'identity.linkerd.cluster.local' with trust anchors: x509: certificate signed by unknown authority";
            const result = gate(
                {
                    replicas: [reissued.certPem, old.certPem],
                    events: [{ reason: "IssuerUpdateSkipped", message, at: new Date() }],
                },
                { IDENTITY_RELOAD_WAIT_SECONDS: "120" },
            );
            assert.equal(result.status, 1);
            assert.match(
                result.stderr,
                /rotation-gate: identity refused the live issuer .*: IssuerUpdateSkipped "Skipping issuer update .*unknown authority"; linkerd-identity-.* serves an issuer that expires /,
            );
            assert.ok(result.seconds < 10, "a refusal is not waited out");
            assert.ok(
                !result.calls.some((c) => c.startsWith("patch") || c.startsWith("rollout")),
                "the gate changes nothing",
            );
        });

        it("a replica still on the old issuer, with no refusal: waited for within the budget, then the gate fails naming it", () => {
            // A budget the first look cannot use up even on a loaded machine: the wait must be seen.
            const result = gate({ replicas: [reissued.certPem, old.certPem] }, { IDENTITY_RELOAD_WAIT_SECONDS: "4" });
            assert.equal(result.status, 1);
            assert.match(result.stdout, /waiting for identity to load the live issuer/);
            assert.match(
                result.stderr,
                /rotation-gate: identity has not loaded the live issuer .* linkerd-identity-\S+ serves an issuer that expires /,
            );
            assert.equal(
                (result.stderr.match(/serves an issuer that expires/g) ?? []).length,
                1,
                "only the stale replica is named",
            );
        });

        it("a replica with no issuer loaded, or whose admin port does not answer, fails the gate: no evidence is no pass", () => {
            assert.match(gate({ replicas: [null] }).stderr, /has loaded no issuer/);
            const unreachable = gate({ replicas: [reissued.certPem, UNREACHABLE] });
            assert.equal(unreachable.status, 1);
            assert.match(
                unreachable.stderr,
                /cannot read which issuer identity pod linkerd-identity-\S+ serves \(http:\/\/127\.0\.0\.1:\d+\/metrics\)/,
            );
            assert.match(gate({ replicas: [] }).stderr, /no pod of deployment\/linkerd-identity runs/);
        });

        it("a pod that only carries identity's label is not asked: it could answer anything", () => {
            const result = gate({ replicas: [old.certPem], impostors: [reissued.certPem] });
            assert.equal(result.status, 1);
            assert.match(result.stdout, /pod identity-impostor-\S+ is labelled as identity but not verified/);
            assert.match(result.stderr, /serves an issuer that expires/);
        });

        it("a refusal older than the live issuer, or one a restart has since made good: every replica serving it passes", () => {
            const result = gate({
                replicas: [reissued.certPem],
                events: [
                    {
                        reason: "IssuerUpdateSkipped",
                        message: "Skipping issuer update: an earlier one",
                        at: new Date(Date.now() - 3 * 3600_000),
                    },
                ],
            });
            assert.equal(result.status, 0, result.stderr);
            const since = gate({
                replicas: [reissued.certPem],
                events: [
                    { reason: "IssuerUpdateSkipped", message: "Skipping issuer update: half written", at: new Date() },
                ],
            });
            assert.equal(since.status, 0, since.stderr);
            assert.match(
                since.stdout,
                /identity skipped an update earlier .*; every replica has loaded the live issuer since/,
            );
        });
    });
});

describe("mesh-check.mjs: strict-mode preflight", () => {
    const grpc = { livenessProbe: { grpc: { port: 15002 } } };
    const https = { readinessProbe: { httpGet: { path: "/health", port: "https", scheme: "HTTPS" } } };
    const http = { readinessProbe: { httpGet: { path: "/health", port: 8080 } } };
    const tcp = { livenessProbe: { tcpSocket: { port: 5432 } } };
    const run = (
        pods: Record<string, object[]>,
        env: Record<string, string>,
        ingresses: Record<string, string[]> = {},
    ) =>
        runScript({
            issuer: { certPem: "" },
            bundle: [],
            pods,
            ingresses,
            env: { TASKS: "strict-preflight", INGRESS_MESHED: "true", ...env },
        });

    it("gRPC and HTTPS probes on uncovered ports would be refused: the run fails, naming each", () => {
        const result = run(
            {
                spark: [
                    pod("connect", undefined, { probes: grpc }),
                    pod("trino", undefined, { probes: https, ports: [{ name: "https", containerPort: 8443 }] }),
                ],
            },
            { STRICT_NAMESPACES: "spark" },
        );
        assert.equal(result.status, 1);
        assert.match(result.stderr, /spark\/deployment\/connect app liveness probe \(gRPC, port 15002\)/);
        assert.match(result.stderr, /spark\/deployment\/trino app readiness probe \(HTTPS, port 8443\)/);
        assert.match(result.stderr, /mtls\.authorizations with networks/);
    });

    it("a probe authorization for the port lets it through; httpGet probes need none; tcpSocket is reported", () => {
        const result = run(
            {
                spark: [
                    pod("connect", undefined, { probes: grpc, labels: { app: "connect" } }),
                    pod("web", undefined, { probes: http }),
                    pod("db", undefined, { probes: tcp }),
                ],
            },
            {
                STRICT_NAMESPACES: "spark",
                PROBE_AUTHORIZATIONS: JSON.stringify([
                    { namespace: "spark", podSelector: { app: "connect" }, port: 15002 },
                ]),
            },
        );
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /tcpSocket: it reaches the proxy, so it passes whatever the application does/);
        assert.match(result.stdout, /nothing in spark would be refused/);
    });

    it("Ingresses while the ingress controller is not meshed would be refused", () => {
        const result = run(
            { akko: [] },
            { STRICT_NAMESPACES: "akko", INGRESS_MESHED: "false" },
            { akko: ["superset"] },
        );
        assert.equal(result.status, 1);
        assert.match(result.stderr, /akko\/ingress\/superset \(the ingress controller is not meshed/);
        const meshed = run({ akko: [] }, { STRICT_NAMESPACES: "akko", INGRESS_MESHED: "true" }, { akko: ["superset"] });
        assert.equal(meshed.status, 0, meshed.stderr);
    });
});
