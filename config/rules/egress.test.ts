/** The egress rules, called directly on a parsed config. */
import { strict as assert } from "node:assert";
import { TARGETS } from "../schema";
import {
    validateEgressBypass,
    validateEgressHosts,
    validateEgressNetworks,
    validateEgressPorts,
    validateEgressTlsRoutes,
} from "./egress";
import { issuesOf, validConfig } from "./testing";

const withEgress = (target: (typeof TARGETS)[number], egress: object, namespaceOptions: object = {}) =>
    validConfig(target, { mtls: { enabled: true, namespaces: ["akko", "spark"], egress, namespaceOptions } });

describe("rules: egress", () => {
    it("every rule accepts every target's preset, and audit or enforce with HTTP hosts and external networks", () => {
        const rules = [
            validateEgressHosts,
            validateEgressNetworks,
            validateEgressTlsRoutes,
            validateEgressPorts,
            validateEgressBypass,
        ];
        for (const rule of rules) {
            for (const target of TARGETS) {
                assert.deepEqual(issuesOf(rule, validConfig(target)), [], `${rule.name} on ${target}`);
                for (const mode of ["audit", "enforce"]) {
                    const config = withEgress(target, {
                        mode,
                        allowedHosts: ["http://pypi.example.org"],
                        allowedNetworks: ["52.95.128.0/21"],
                    });
                    assert.deepEqual(issuesOf(rule, config), [], `${rule.name} on ${target} in ${mode}`);
                }
            }
        }
    });

    describe("validateEgressHosts", () => {
        it("accepts host, host:port, https:// and http:// forms and a leading wildcard label", () => {
            const hosts = [
                "s3.eu-central-1.amazonaws.com",
                "api.example.com:8443",
                "https://login.example.com",
                "http://mirror.example.org:8080",
                "*.example.net",
            ];
            assert.deepEqual(
                issuesOf(validateEgressHosts, withEgress("eks", { mode: "enforce", allowedHosts: hosts })),
                [],
            );
        });

        it("refuses what Linkerd cannot match, naming the entry's key", () => {
            const hosts = [
                "*",
                "foo.*.com",
                "Example.com",
                "10.1.2.3",
                "ftp://x.example.com",
                "x.example.com/path",
                "x.example.com:70000",
                "a..b",
                "*example.com",
            ];
            const issues = issuesOf(validateEgressHosts, withEgress("eks", { mode: "audit", allowedHosts: hosts }));
            assert.deepEqual(
                issues.map(([path]) => path),
                hosts.map((_, i) => `mtls.egress.allowedHosts.${i}`),
            );
            assert.match(issues[0][1], /wildcard is only a leading `\*\.` label/);
            assert.match(issues[1][1], /wildcard is only a leading/);
            assert.match(issues[2][1], /lower case/);
            assert.match(issues[3][1], /IP address: .* allowedNetworks/);
            assert.match(issues[4][1], /scheme ftp/);
            assert.match(issues[6][1], /port 70000/);
            assert.match(issues[7][1], /not a DNS name/);
        });

        it("refuses a host listed twice, also in a namespace's own list", () => {
            const issues = issuesOf(
                validateEgressHosts,
                withEgress(
                    "eks",
                    { mode: "audit" },
                    { spark: { egress: { allowedHosts: ["a.example.com", "https://a.example.com:443"] } } },
                ),
            );
            assert.deepEqual(issues, [
                ["mtls.namespaceOptions.spark.egress.allowedHosts.1", '"https://a.example.com:443" repeats entry 0'],
            ]);
        });
    });

    describe("validateEgressNetworks", () => {
        it("refuses a network that overlaps Linkerd's clusterNetworks (a Deny would then block every host)", () => {
            const issues = issuesOf(
                validateEgressNetworks,
                withEgress("eks", { mode: "enforce", allowedNetworks: ["52.0.0.0/8", "10.20.0.0/16", "0.0.0.0/0"] }),
            );
            assert.deepEqual(
                issues.map(([path]) => path),
                ["mtls.egress.allowedNetworks.1", "mtls.egress.allowedNetworks.2"],
            );
            assert.match(issues[0][1], /^10\.20\.0\.0\/16 overlaps Linkerd's clusterNetworks \(10\.0\.0\.0\/8\)/);
            assert.match(issues[1][1], /\(10\.0\.0\.0\/8, 100\.64\.0\.0\/10, 172\.16\.0\.0\/12, 192\.168\.0\.0\/16\)/);
        });

        it("refuses an IPv6 network inside fd00::/8, and accepts a global one", () => {
            const issues = issuesOf(
                validateEgressNetworks,
                withEgress("eks", { mode: "enforce", allowedNetworks: ["fd12::/16", "2600:1f00::/24"] }),
            );
            assert.deepEqual(
                issues.map(([path]) => path),
                ["mtls.egress.allowedNetworks.0"],
            );
        });

        it("refuses platformNetworks where no namespace has allowedNetworks (they would do nothing)", () => {
            const issues = issuesOf(
                validateEgressNetworks,
                withEgress(
                    "eks",
                    { mode: "enforce", platformNetworks: ["10.0.0.10/32"] },
                    { spark: { egress: { allowedNetworks: ["52.0.0.0/8"] } } },
                ),
            );
            assert.deepEqual(issues, []);
            const none = issuesOf(
                validateEgressNetworks,
                withEgress("eks", { mode: "enforce", platformNetworks: ["10.0.0.10/32"] }),
            );
            assert.deepEqual(none, [
                [
                    "mtls.egress.platformNetworks",
                    "widens the NetworkPolicy layer, which only allowedNetworks creates, and akko, spark have none: set allowedNetworks, or remove it",
                ],
            ]);
        });

        it("accepts platformNetworks prepared in audit, and inherited by an audited namespace", () => {
            const config = withEgress(
                "eks",
                { mode: "audit", allowedNetworks: ["52.0.0.0/8"], platformNetworks: ["10.0.0.10/32"] },
                { spark: { egress: { mode: "enforce" } } },
            );
            assert.deepEqual(issuesOf(validateEgressNetworks, config), []);
        });
    });

    describe("validateEgressTlsRoutes", () => {
        it("refuses TLS hosts in enforce mode where the cluster's Gateway API CRDs are the standard channel (k3s, k3d, GKE), with the fix", () => {
            for (const target of ["k3s", "k3d", "gke"] as const) {
                const issues = issuesOf(
                    validateEgressTlsRoutes,
                    withEgress(target, { mode: "enforce", allowedHosts: ["http://a.example.com", "s3.example.com"] }),
                );
                assert.equal(issues.length, 1, target);
                assert.equal(issues[0][0], "mtls.egress.allowedHosts.1");
                assert.match(issues[0][1], /TLSRoute v1alpha2/);
                assert.match(issues[0][1], /mtls\.egress\.allowedNetworks instead/);
                assert.match(issues[0][1], /linkerd\.gatewayApi: install/);
            }
        });

        it("accepts them where the program installs the CRDs (EKS), and in audit anywhere", () => {
            assert.deepEqual(
                issuesOf(
                    validateEgressTlsRoutes,
                    withEgress("eks", { mode: "enforce", allowedHosts: ["s3.example.com"] }),
                ),
                [],
            );
            assert.deepEqual(
                issuesOf(
                    validateEgressTlsRoutes,
                    withEgress("gke", { mode: "audit", allowedHosts: ["s3.example.com"] }),
                ),
                [],
            );
        });

        it("names a namespace's own key when its override enforces", () => {
            const config = withEgress(
                "k3s",
                { mode: "audit" },
                { spark: { egress: { mode: "enforce", allowedHosts: ["api.example.com"] } } },
            );
            assert.deepEqual(
                issuesOf(validateEgressTlsRoutes, config).map(([path]) => path),
                ["mtls.namespaceOptions.spark.egress.allowedHosts.0"],
            );
        });
    });

    describe("validateEgressPorts", () => {
        it("refuses HTTP and TLS hosts on the same port", () => {
            const issues = issuesOf(
                validateEgressPorts,
                withEgress("eks", {
                    mode: "enforce",
                    allowedHosts: ["http://a.example.com:8080", "b.example.com:8080"],
                }),
            );
            assert.deepEqual(issues, [
                [
                    "mtls.egress.allowedHosts.1",
                    '"b.example.com:8080": port 8080 already carries http hosts; Linkerd treats a port of an EgressNetwork as one protocol, and would ignore these routes',
                ],
            ]);
        });
    });

    describe("validateEgressBypass", () => {
        it("refuses skipOutboundPorts in a namespace whose egress is enforced, and only there", () => {
            const options = {
                akko: { skipOutboundPorts: [25] },
                spark: { skipOutboundPorts: [5432], egress: { mode: "audit" } },
            };
            const issues = issuesOf(validateEgressBypass, withEgress("eks", { mode: "enforce" }, options));
            assert.deepEqual(
                issues.map(([path]) => path),
                ["mtls.namespaceOptions.akko.skipOutboundPorts"],
            );
            assert.match(issues[0][1], /^25 would leave the namespace around the proxy/);
            assert.deepEqual(issuesOf(validateEgressBypass, withEgress("eks", { mode: "audit" }, options)), []);
        });
    });
});
