/**
 * What the linked-clusters end-to-end test (`npm run e2e -- --linked`, tools/cli/e2eLinked.ts) decides
 * without a cluster: the two k3d clusters and their network, the fleet's stack files, the rotation
 * schedule with its floors, the traffic the loader sends, and the verdicts — a cross-cluster call
 * over mTLS with the client's own identity, and zero failed requests while the shared anchor rotates
 * through every phase. Unit-tested in `npm test` (test/e2eLinked.test.ts); the cluster part is not.
 *
 * The k3d layout follows Linkerd's own multicluster e2e (linkerd2 edge-26.8.3 bin/_test-helpers.sh,
 * justfile `mc-flat-network-init`, test/integration/multicluster/install_test.go): both clusters on
 * one docker network, the target with a distinct pod CIDR, a route to each other's pod CIDR in each
 * server container (flat mode), the link to the target's API server at its node address.
 */
import YAML from "yaml";
import { derivedPhaseFloorMs, formatDuration, parseGoDuration } from "../lib/issuanceLifetime";
import { E2E_IMAGE, E2E_NAMESPACE, E2E_PORT, parsePrometheusText, Verdict } from "./e2e";

/** The fleet: a trust stack (no cluster) and two member clusters, `a` linking to `b` (flat). */
export const LINKED = {
    network: "akko-e2e-mc",
    trustStack: "e2e-trust",
    /** Short enough that a full rotation fits a test run: the floor is 3 min 40 s. */
    issuanceLifetime: "2m",
    source: { cluster: "akko-e2e-a", stack: "e2e-a", podCidr: "10.42.0.0/16", serviceCidr: "10.43.0.0/16" },
    target: { cluster: "akko-e2e-b", stack: "e2e-b", podCidr: "10.23.0.0/16", serviceCidr: "10.247.0.0/16" },
    /** Where the loader writes one line per call, on the node (a hostPath survives the loader's restarts). */
    loadLogDir: "/var/lib/akko-e2e-load",
} as const;
export type LinkedCluster = typeof LINKED.source | typeof LINKED.target;

/** The server container of a k3d cluster (`k3d-<name>-server-0`). */
export const serverContainer = (cluster: LinkedCluster) => `k3d-${cluster.cluster}-server-0`;
/** The kube context k3d writes for a cluster. */
export const contextOf = (cluster: LinkedCluster) => `k3d-${cluster.cluster}`;

/** `k3d cluster create` for one member: the shared network, its own pod and service CIDRs. */
export function k3dCreateArgs(cluster: LinkedCluster): string[] {
    return [
        "cluster",
        "create",
        cluster.cluster,
        "--network",
        LINKED.network,
        "--k3s-arg",
        `--cluster-cidr=${cluster.podCidr}@server:*`,
        "--k3s-arg",
        `--service-cidr=${cluster.serviceCidr}@server:*`,
        "--wait",
    ];
}

/** Flat mode: each server container routes the other's pod CIDR to the other's node (justfile `mc-flat-network-init`). */
export function flatRoutes(nodeIps: { source: string; target: string }): [string, string[]][] {
    const route = (from: LinkedCluster, to: LinkedCluster, via: string): [string, string[]] => [
        "docker",
        ["exec", serverContainer(from), "ip", "route", "add", to.podCidr, "via", via],
    ];
    return [route(LINKED.source, LINKED.target, nodeIps.target), route(LINKED.target, LINKED.source, nodeIps.source)];
}

/**
 * A member's stack file, from the k3d one: the mesh on over the e2e namespace, the short lifetime
 * (no floor configured: the derived one), a member of the fleet's trust stack (one anchor for both:
 * `identity.trustAnchor.fleetStack`, issue 21's trust stack), linked flat — `a` links to `b`, `b`
 * grants `a` and names the API server address `a`'s pods reach (its node on the shared network).
 */
export function memberStackFile(args: {
    k3dStackFile: string;
    member: "source" | "target";
    targetNodeIp: string;
    current?: string;
}): string {
    const document = YAML.parse(args.k3dStackFile) ?? {};
    const self = LINKED[args.member];
    const config = { ...(document.config ?? {}) };
    config["akko-mtls:cluster"] = { ...(config["akko-mtls:cluster"] ?? {}), context: contextOf(self) };
    config["akko-mtls:mtls"] = {
        ...(config["akko-mtls:mtls"] ?? {}),
        enabled: true,
        namespaces: [E2E_NAMESPACE],
        networkPolicies: false,
    };
    config["akko-mtls:identity"] = {
        ...(config["akko-mtls:identity"] ?? {}),
        issuer: { ...(config["akko-mtls:identity"]?.issuer ?? {}), issuanceLifetime: LINKED.issuanceLifetime },
        trustAnchor: { ...(config["akko-mtls:identity"]?.trustAnchor ?? {}), fleetStack: LINKED.trustStack },
    };
    config["akko-mtls:multicluster"] =
        args.member === "source"
            ? { enabled: true, mode: "flat", links: [LINKED.target.stack] }
            : {
                  enabled: true,
                  mode: "flat",
                  remoteAccess: [LINKED.source.stack],
                  apiServerAddress: `https://${args.targetNodeIp}:6443`,
              };
    return YAML.stringify({ ...(YAML.parse(args.current ?? "") ?? {}), config });
}

/** One step of the fleet's rotation: the trust stack's config, then every member's `pulumi up`. */
export interface RotationStep {
    generation: number;
    rotationPhase: 0 | 1 | 2 | 3;
    /** How long the previous phase must have lasted before this step (the derived floor), ms. */
    floorMs: number;
    title: string;
}

/** Generation 1 → 2 through every phase; phases 1 and 2 last the floor derived from the lifetime. */
export function rotationSchedule(issuanceLifetime: string = LINKED.issuanceLifetime): RotationStep[] {
    const lifetime = parseGoDuration(issuanceLifetime);
    if (lifetime === undefined) throw new Error(`issuanceLifetime ${issuanceLifetime} is not a Go duration`);
    const floor = derivedPhaseFloorMs(lifetime);
    return [
        { generation: 1, rotationPhase: 1, floorMs: 0, title: "trust both anchors" },
        { generation: 1, rotationPhase: 2, floorMs: floor, title: "issue from the new anchor" },
        { generation: 1, rotationPhase: 3, floorMs: floor, title: "drop the old anchor" },
        { generation: 2, rotationPhase: 0, floorMs: 0, title: "finish" },
    ];
}

/** How long to wait before a step, given when the previous phase was recorded (RFC 3339) and now. */
export function waitBefore(step: RotationStep, previousSince: string, now: Date): number {
    return Math.max(0, new Date(previousSince).getTime() + step.floorMs - now.getTime());
}

/** A schedule as the log shows it. */
export const describeSchedule = (steps: RotationStep[]) =>
    steps
        .map(
            (s) =>
                `g${s.generation} phase ${s.rotationPhase} (${s.title})${s.floorMs > 0 ? ` after ${formatDuration(s.floorMs)}` : ""}`,
        )
        .join(", ");

/** The loader's targets: pong in its own cluster, and pong of `b` mirrored across the link (`<service>-<target>`). */
export const LOAD_TARGETS = { inCluster: "pong", acrossLink: `pong-${LINKED.target.stack}` } as const;

/**
 * The loader: two replicas in `a`, meshed, calling both targets without pause, one line per call
 * (`<epoch seconds> <pod> <seq> <target> ok|FAILED`) appended to a file of its own on the node. It
 * stops calling on SIGTERM, before its proxy goes (a native sidecar outlives the app container), so
 * a restart of the loader itself fails no call.
 */
export function loaderManifest(namespace = E2E_NAMESPACE): string {
    const labels = { app: "loader" };
    const script =
        'n=0; trap "exit 0" TERM; while true; do for t in ' +
        `${LOAD_TARGETS.inCluster} ${LOAD_TARGETS.acrossLink}; do n=$((n+1)); ` +
        `if wget -q -T 2 -O /dev/null http://$t:${E2E_PORT}/; then r=ok; else r=FAILED; fi; ` +
        `echo "$(date -u +%s) $HOSTNAME $n $t $r" >> ${LINKED.loadLogDir}/$HOSTNAME; done; sleep 0.2; done`;
    return YAML.stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "loader", namespace, labels },
        spec: {
            replicas: 2,
            selector: { matchLabels: labels },
            template: {
                metadata: { labels },
                spec: {
                    serviceAccountName: "ping",
                    containers: [
                        {
                            name: "loader",
                            image: E2E_IMAGE,
                            command: ["sh", "-c", script],
                            volumeMounts: [{ name: "log", mountPath: LINKED.loadLogDir }],
                        },
                    ],
                    volumes: [{ name: "log", hostPath: { path: LINKED.loadLogDir, type: "DirectoryOrCreate" } }],
                },
            },
        },
    });
}

/** One call the loader made. */
export interface LoadCall {
    at: number;
    pod: string;
    seq: number;
    target: string;
    ok: boolean;
}

/** The calls in the loader's files (concatenated); lines that are not a call are counted, not guessed. */
export function parseLoadLog(text: string): { calls: LoadCall[]; malformed: number } {
    const calls: LoadCall[] = [];
    let malformed = 0;
    for (const line of text.split("\n")) {
        if (line.trim() === "") continue;
        const match = /^(\d+) (\S+) (\d+) (\S+) (ok|FAILED)$/.exec(line.trim());
        if (!match) {
            malformed++;
            continue;
        }
        calls.push({
            at: Number(match[1]),
            pod: match[2],
            seq: Number(match[3]),
            target: match[4],
            ok: match[5] === "ok",
        });
    }
    return { calls, malformed };
}

/**
 * Whether traffic flowed without a single failure during [from, to] (epoch seconds): per target, no
 * failed call, and no stretch longer than `maxGapSeconds` without a successful one (a loader that
 * stopped calling proves nothing). A line cut by a loader's kill (malformed) is reported, not counted.
 */
export function trafficVerdict(args: {
    log: string;
    from: number;
    to: number;
    targets?: readonly string[];
    maxGapSeconds?: number;
}): Verdict {
    const targets = args.targets ?? Object.values(LOAD_TARGETS);
    const maxGap = args.maxGapSeconds ?? 30;
    const { calls, malformed } = parseLoadLog(args.log);
    const details: string[] = [];
    const problems: string[] = [];
    for (const target of targets) {
        const window = calls.filter((c) => c.target === target && c.at >= args.from && c.at <= args.to);
        const failed = window.filter((c) => !c.ok);
        const ok = window.filter((c) => c.ok).map((c) => c.at);
        details.push(`${target}: ${window.length} calls, ${failed.length} failed`);
        if (failed.length > 0) {
            const when = failed.slice(0, 5).map((c) => new Date(c.at * 1000).toISOString().slice(11, 19));
            problems.push(
                `${target}: ${failed.length} failed call(s), first at ${when.join(", ")}${failed.length > 5 ? " …" : ""}`,
            );
        }
        const edges = [args.from, ...ok.sort((a, b) => a - b), args.to];
        const gaps = edges.slice(1).map((t, i) => ({ seconds: t - edges[i], from: edges[i] }));
        const longest = gaps.reduce((a, b) => (b.seconds > a.seconds ? b : a), { seconds: 0, from: args.from });
        if (longest.seconds > maxGap) {
            problems.push(
                `${target}: no successful call for ${longest.seconds} s from ${new Date(longest.from * 1000).toISOString().slice(11, 19)}`,
            );
        }
    }
    if (malformed > 0) details.push(`${malformed} line(s) cut short (a loader killed mid-write): not counted`);
    return { ok: problems.length === 0, details, problems };
}

/**
 * The cross-cluster call is mTLS and the server saw the client's own identity (flat mode keeps it):
 * the server's proxy in `b` counts inbound connections with `tls="true"` and `client_id` = the caller's
 * identity in `a` (labels as linkerd2 edge-26.8.3 test/integration/deep/appprotocol/assertions.go
 * `hasInboundTCPTrafficWithTLS`). `b`'s proxies trust only the fleet's bundle, so a verified client
 * identity from `a` is one issued under the shared anchor.
 */
export function crossClusterVerdict(metricsText: string, clientIdentity: string): Verdict {
    const inbound = parsePrometheusText(metricsText).filter(
        (s) => s.name === "tcp_open_total" && s.labels.direction === "inbound" && s.value > 0,
    );
    const fromClient = inbound.filter((s) => s.labels.client_id === clientIdentity);
    const secured = fromClient.filter((s) => s.labels.tls === "true").reduce((n, s) => n + s.value, 0);
    const plaintext = fromClient.filter((s) => s.labels.tls !== "true").reduce((n, s) => n + s.value, 0);
    const details = [`${clientIdentity}: ${secured} inbound mTLS connection(s), ${plaintext} without`];
    const problems = [
        ...(secured === 0
            ? [
                  `no inbound mTLS connection from ${clientIdentity}: the call did not cross the link with the client's identity`,
              ]
            : []),
        ...(plaintext > 0 ? [`${plaintext} inbound connection(s) from ${clientIdentity} without TLS`] : []),
    ];
    return { ok: problems.length === 0, details, problems };
}
