/** The linked-clusters e2e's decisions (tools/e2eLinked.ts), without a cluster. */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { PROJECT_ROOT } from "../tools/mockRuntime";
import {
    crossClusterVerdict,
    flatRoutes,
    k3dCreateArgs,
    LINKED,
    loaderManifest,
    memberStackFile,
    parseLoadLog,
    rotationSchedule,
    trafficVerdict,
    waitBefore,
} from "../tools/e2eLinked";

const K3D = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.k3d.yaml"), "utf8");
const T0 = 1_790_000_000;
/** Loader lines: [seconds after T0, target, ok]. */
const lines = (calls: [number, string, boolean][]) =>
    calls.map(([s, target, ok], i) => `${T0 + s} loader-1 ${i + 1} ${target} ${ok ? "ok" : "FAILED"}`).join("\n");
const steady = (until: number, step = 1) =>
    Array.from({ length: Math.floor(until / step) + 1 }, (_, i) => [
        [i * step, "pong", true] as [number, string, boolean],
        [i * step, "pong-e2e-b", true] as [number, string, boolean],
    ]).flat();

describe("e2e: linked clusters and rotation under load (decisions)", () => {
    it("two k3d clusters on one docker network, distinct pod CIDRs, routes both ways for flat mode", () => {
        const [a, b] = [k3dCreateArgs(LINKED.source), k3dCreateArgs(LINKED.target)];
        for (const args of [a, b]) assert.deepEqual(args.slice(3, 5), ["--network", "akko-e2e-mc"]);
        assert.ok(b.includes("--cluster-cidr=10.23.0.0/16@server:*"));
        assert.notEqual(
            a.find((x) => x.startsWith("--cluster-cidr")),
            b.find((x) => x.startsWith("--cluster-cidr")),
        );
        assert.deepEqual(flatRoutes({ source: "172.30.0.2", target: "172.30.0.3" }), [
            ["docker", ["exec", "k3d-akko-e2e-a-server-0", "ip", "route", "add", "10.23.0.0/16", "via", "172.30.0.3"]],
            ["docker", ["exec", "k3d-akko-e2e-b-server-0", "ip", "route", "add", "10.42.0.0/16", "via", "172.30.0.2"]],
        ]);
    });

    it("the members' stack files: a links to b, b grants a at its node address, both fleet members with a 2 min lifetime", () => {
        const a = YAML.parse(
            memberStackFile({ k3dStackFile: K3D, member: "source", targetNodeIp: "172.30.0.3" }),
        ).config;
        const b = YAML.parse(
            memberStackFile({ k3dStackFile: K3D, member: "target", targetNodeIp: "172.30.0.3" }),
        ).config;
        assert.deepEqual(a["akko-mtls:multicluster"], { enabled: true, mode: "flat", links: ["e2e-b"] });
        assert.deepEqual(b["akko-mtls:multicluster"], {
            enabled: true,
            mode: "flat",
            remoteAccess: ["e2e-a"],
            apiServerAddress: "https://172.30.0.3:6443",
        });
        for (const config of [a, b]) {
            assert.equal(config["akko-mtls:identity"].issuer.issuanceLifetime, "2m");
            assert.equal(config["akko-mtls:identity"].trustAnchor.fleetStack, "e2e-trust");
            assert.equal(
                config["akko-mtls:identity"].trustAnchor.minHoursBetweenPhases,
                undefined,
                "the derived floor",
            );
        }
        assert.equal(a["akko-mtls:cluster"].context, "k3d-akko-e2e-a");
        // Pulumi's encryption salt, written at stack init, is kept.
        const again = memberStackFile({
            k3dStackFile: K3D,
            member: "source",
            targetNodeIp: "x",
            current: "encryptionsalt: v1:abc\n",
        });
        assert.equal(YAML.parse(again).encryptionsalt, "v1:abc");
    });

    it("the rotation goes through every phase; phases 1 and 2 last the floor derived from the 2 min lifetime (3 min 40 s)", () => {
        const steps = rotationSchedule();
        assert.deepEqual(
            steps.map((s) => [s.generation, s.rotationPhase, s.floorMs / 1000]),
            [
                [1, 1, 0],
                [1, 2, 220],
                [1, 3, 220],
                [2, 0, 0],
            ],
        );
        const since = new Date(T0 * 1000).toISOString();
        assert.equal(waitBefore(steps[1], since, new Date((T0 + 100) * 1000)), 120_000);
        assert.equal(waitBefore(steps[1], since, new Date((T0 + 300) * 1000)), 0);
        assert.equal(waitBefore(steps[3], since, new Date(T0 * 1000)), 0);
    });

    it("the loader calls both targets, logs to the node, and stops on SIGTERM", () => {
        const deployment = YAML.parse(loaderManifest());
        const script = deployment.spec.template.spec.containers[0].command[2] as string;
        assert.match(script, /for t in pong pong-e2e-b;/);
        assert.match(script, /trap "exit 0" TERM/);
        assert.deepEqual(deployment.spec.template.spec.volumes[0].hostPath, {
            path: LINKED.loadLogDir,
            type: "DirectoryOrCreate",
        });
        assert.equal(deployment.spec.replicas, 2);
    });

    describe("traffic verdict: zero failed calls, no silence", () => {
        it("continuous success on both targets passes, counted per target", () => {
            const verdict = trafficVerdict({ log: lines(steady(120)), from: T0, to: T0 + 120 });
            assert.deepEqual(verdict.problems, []);
            assert.deepEqual(verdict.details, ["pong: 121 calls, 0 failed", "pong-e2e-b: 121 calls, 0 failed"]);
        });

        it("a single failed call fails the run, named with its time", () => {
            const calls = steady(120);
            calls[81] = [40, "pong-e2e-b", false];
            const verdict = trafficVerdict({ log: lines(calls), from: T0, to: T0 + 120 });
            assert.equal(verdict.ok, false);
            assert.deepEqual(verdict.problems, [
                `pong-e2e-b: 1 failed call(s), first at ${new Date((T0 + 40) * 1000).toISOString().slice(11, 19)}`,
            ]);
        });

        it("silence fails too: a loader that stopped calling, or a target never called", () => {
            const quiet = steady(120).filter(([s]) => s < 30 || s > 90);
            assert.match(
                trafficVerdict({ log: lines(quiet), from: T0, to: T0 + 120 }).problems.join(),
                /pong: no successful call for 62 s/,
            );
            const onlyLocal = steady(120).filter(([, t]) => t === "pong");
            assert.match(
                trafficVerdict({ log: lines(onlyLocal), from: T0, to: T0 + 120 }).problems.join(),
                /pong-e2e-b: no successful call for 120 s/,
            );
        });

        it("calls outside the rotation window do not count; a line cut short is reported, not counted", () => {
            const before: [number, string, boolean][] = [[-10, "pong", false]];
            const log = `${lines([...before, ...steady(60)])}\n${T0 + 30} loader-2 7 pong-e`;
            const verdict = trafficVerdict({ log, from: T0, to: T0 + 60 });
            assert.deepEqual(verdict.problems, []);
            assert.match(verdict.details.join(), /1 line\(s\) cut short/);
            assert.equal(parseLoadLog(log).malformed, 1);
        });
    });

    it("cross-cluster: mTLS with the caller's own identity from a, as pong's proxy in b counts it", () => {
        const client = "ping.akko-e2e.serviceaccount.identity.linkerd.cluster.local";
        const metric = (labels: string, value: number) =>
            `tcp_open_total{direction="inbound",peer="src",${labels},srv_kind="default"} ${value}`;
        const good = [
            metric(`tls="true",client_id="${client}"`, 12),
            metric(`tls="no_identity",no_tls_reason="no_tls_from_remote"`, 3),
        ].join("\n");
        assert.deepEqual(crossClusterVerdict(good, client).problems, []);
        // Through a gateway the server would see the gateway's identity, not the caller's.
        const viaGateway = metric(
            `tls="true",client_id="linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local"`,
            12,
        );
        assert.match(
            crossClusterVerdict(viaGateway, client).problems.join(),
            /did not cross the link with the client's identity/,
        );
        const plaintext = [
            metric(`tls="true",client_id="${client}"`, 1),
            metric(`tls="false",client_id="${client}"`, 2),
        ].join("\n");
        assert.match(
            crossClusterVerdict(plaintext, client).problems.join(),
            /2 inbound connection\(s\) .* without TLS/,
        );
    });
});
