/** Linked clusters as data (lib/multicluster.ts): what a target exports, what a source builds from it. */
import { strict as assert } from "node:assert";
import YAML from "yaml";
import {
    chartValues,
    exportFor,
    fleetLinkProblems,
    kubeconfig,
    linkProblems,
    linkSpec,
    parseMulticlusterExport,
    REMOTE_ACCESS_RULES,
    TRUST_ROOTS_READ_RULES,
} from "./multicluster";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const gatewayTarget = exportFor({
    apiServerAddress: "https://eks.example:443",
    apiServerCaPem: CA,
    trustDomain: "cluster.local",
    mode: "gateway",
    gatewayAddresses: ["203.0.113.7", "gw.example"],
    remoteAccess: ["netcup"],
});
const flatTarget = exportFor({ ...gatewayTarget, gatewayAddresses: [], mode: "flat" });

describe("linked clusters (plan)", () => {
    it("a gateway target's Link is what link-gen prints: gateway address, port, identity, probe and the exported selector", () => {
        assert.deepEqual(linkSpec("eks", gatewayTarget), {
            targetClusterName: "eks",
            targetClusterDomain: "cluster.local",
            targetClusterLinkerdNamespace: "linkerd",
            clusterCredentialsSecret: "cluster-credentials-eks",
            remoteDiscoverySelector: { matchLabels: { "mirror.linkerd.io/exported": "remote-discovery" } },
            federatedServiceSelector: { matchLabels: { "mirror.linkerd.io/federated": "member" } },
            gatewayAddress: "203.0.113.7,gw.example",
            gatewayPort: "4143",
            gatewayIdentity: "linkerd-gateway.linkerd-multicluster.serviceaccount.identity.linkerd.cluster.local",
            probeSpec: { path: "/ready", port: "4191", period: "3s" },
            selector: { matchLabels: { "mirror.linkerd.io/exported": "true" } },
        });
    });

    it("a flat target's Link has no gateway field and no `selector` (link-gen --gateway=false)", () => {
        const spec = linkSpec("k3d-b", flatTarget);
        for (const field of ["gatewayAddress", "gatewayPort", "gatewayIdentity", "probeSpec", "selector"])
            assert.ok(!(field in spec), field);
        assert.equal(spec.clusterCredentialsSecret, "cluster-credentials-k3d-b");
    });

    it("the chart runs one controller per link, probing a gateway only in gateway mode, and no remote-access objects of its own", () => {
        const values = chartValues({
            trustDomain: "cluster.local",
            gateway: false,
            links: [
                { target: "eks", mode: "gateway" },
                { target: "k3d-b", mode: "flat" },
            ],
        });
        assert.deepEqual(values.controllers, [
            { link: { ref: { name: "eks" } }, gateway: { enabled: true } },
            { link: { ref: { name: "k3d-b" } }, gateway: { enabled: false } },
        ]);
        assert.equal(values.remoteMirrorServiceAccount, false);
        assert.deepEqual(values.gateway, { enabled: false });
    });

    it("the kubeconfig points at the address pods reach, with the target's CA and the source's own ServiceAccount token", () => {
        const text = kubeconfig({
            target: "eks",
            source: "netcup",
            server: "https://eks.example:443",
            caPem: CA,
            token: "tok",
        });
        const parsed = YAML.parse(text);
        assert.equal(parsed["current-context"], "eks");
        assert.equal(parsed.clusters[0].cluster.server, "https://eks.example:443");
        assert.equal(Buffer.from(parsed.clusters[0].cluster["certificate-authority-data"], "base64").toString(), CA);
        assert.deepEqual(parsed.users, [
            { name: "linkerd-service-mirror-remote-access-netcup", user: { token: "tok" } },
        ]);
        assert.deepEqual(parsed.contexts[0].context, {
            cluster: "eks",
            user: "linkerd-service-mirror-remote-access-netcup",
        });
    });

    it("refuses a link to itself, to a member without an endpoint, and to one that does not grant this stack", () => {
        const problems = linkProblems({
            self: "netcup",
            links: ["netcup", "gke", "eks", "k3d-b"],
            remotes: { eks: gatewayTarget, "k3d-b": { ...flatTarget, remoteAccess: ["gke"] } },
        });
        assert.deepEqual(
            problems.map((p) => p.index),
            [0, 1, 3],
        );
        assert.match(problems[0].message, /is this stack itself/);
        assert.match(problems[1].message, /stack gke exports no multicluster endpoint/);
        assert.match(
            problems[2].message,
            /stack k3d-b does not grant netcup remote access: add netcup to its multicluster.remoteAccess/,
        );
    });

    it("links only within one fleet: none from a stack that is no member, none to a stack its trust stack does not list", () => {
        const fleet = { stack: "trust", members: ["netcup", "eks", "gke"] };
        assert.deepEqual(fleetLinkProblems({ links: ["eks", "gke"], fleet }), []);
        const outside = fleetLinkProblems({ links: ["eks", "k3d", "eks-other"], fleet });
        assert.deepEqual(
            outside.map((p) => p.index),
            [1, 2],
        );
        assert.match(
            outside[0].message,
            /^stack k3d is not a member of the fleet trust \(its fleet.clusters: netcup, eks, gke\)/,
        );
        const standalone = fleetLinkProblems({ links: ["eks", "gke"], fleet: undefined });
        assert.deepEqual(
            standalone.map((p) => p.index),
            [0, 1],
        );
        assert.match(
            standalone[0].message,
            /not a fleet member \(identity.trustAnchor.fleetStack is unset\): linked clusters must share one trust anchor/,
        );
        assert.deepEqual(fleetLinkProblems({ links: [], fleet: undefined }), [], "no link, nothing to refuse");
    });

    it("reads back a member's export, and refuses a malformed one rather than guessing", () => {
        assert.equal(parseMulticlusterExport("eks", undefined), undefined);
        assert.deepEqual(parseMulticlusterExport("eks", JSON.parse(JSON.stringify(gatewayTarget))), gatewayTarget);
        for (const bad of [
            "x",
            { ...gatewayTarget, mode: "gateway", gateway: undefined },
            { ...flatTarget, apiServerCaPem: "" },
        ]) {
            assert.throws(() => parseMulticlusterExport("eks", bad), /stack eks: its multicluster output is malformed/);
        }
    });

    it("the remote-access grant is Linkerd's, read-only but for events; the evidence read is one ConfigMap by name", () => {
        const writes = REMOTE_ACCESS_RULES.filter((r) => r.verbs.some((v) => !["get", "list", "watch"].includes(v)));
        assert.deepEqual(writes, [{ apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] }]);
        assert.ok(!REMOTE_ACCESS_RULES.some((r) => r.resources.includes("secrets")), "never a Secret of the target");
        assert.deepEqual(TRUST_ROOTS_READ_RULES, [
            {
                apiGroups: [""],
                resources: ["configmaps"],
                verbs: ["get"],
                resourceNames: ["linkerd-identity-trust-roots"],
            },
        ]);
    });
});
