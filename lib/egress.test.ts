/** The egress plan: hosts as Linkerd matches them, the objects per mode, and the CIDR layer evaluated on real flows. */
import { strict as assert } from "node:assert";
import { allowed, Endpoint, NetworkPolicyObject, Pod } from "../cluster/networkPolicy.cjs";
import {
    EgressConfigView,
    egressAnnotations,
    egressOf,
    networksOverlap,
    parseEgressHost,
    planEgress,
    routeName,
} from "./egress";
import { meshedNamespacePolicies } from "./networkPolicies";

const view = (
    egress: Partial<EgressConfigView["egress"]>,
    namespaceOptions: EgressConfigView["namespaceOptions"] = {},
): EgressConfigView => ({
    egress: { mode: "off", allowedHosts: [], allowedNetworks: [], platformNetworks: [], ...egress },
    namespaceDefaults: { denyIngress: true, denyEgress: false },
    namespaceOptions,
});

describe("lib/egress", () => {
    it("parses hosts with Linkerd's defaults: TLS on 443 unless http:// (80), a trailing dot dropped", () => {
        assert.deepEqual(parseEgressHost("s3.example.com"), { protocol: "tls", host: "s3.example.com", port: 443 });
        assert.deepEqual(parseEgressHost("https://s3.example.com:8443"), {
            protocol: "tls",
            host: "s3.example.com",
            port: 8443,
        });
        assert.deepEqual(parseEgressHost("http://mirror.example.org"), {
            protocol: "http",
            host: "mirror.example.org",
            port: 80,
        });
        assert.deepEqual(parseEgressHost("*.example.org."), { protocol: "tls", host: "*.example.org", port: 443 });
        for (const bad of ["*", "a.*.org", "[::1]", "10.0.0.1:443", "UP.example.org", "x.org/path", "x.org:0"])
            assert.equal(typeof parseEgressHost(bad), "string", bad);
    });

    it("gives every host its own route name, a wildcard never the name of a literal host", () => {
        const names = ["a.com", "*.a.com", "x.a.com", "http://a.com", "a.com:8443"].map((entry) => {
            const host = parseEgressHost(entry);
            if (typeof host === "string") throw new Error(host);
            return routeName(host);
        });
        assert.deepEqual(names, [
            "egress-tls-443-a.com",
            "egress-tls-443--a.com",
            "egress-tls-443-x.a.com",
            "egress-http-80-a.com",
            "egress-tls-8443-a.com",
        ]);
        assert.equal(new Set(names).size, names.length);
    });

    it("knows when networks overlap, either way round, per address family", () => {
        assert.ok(networksOverlap("10.20.0.0/16", "10.0.0.0/8"));
        assert.ok(networksOverlap("0.0.0.0/0", "192.168.0.0/16"));
        assert.ok(!networksOverlap("52.95.128.0/21", "10.0.0.0/8"));
        assert.ok(networksOverlap("fd00:1::/32", "fd00::/8"));
        assert.ok(!networksOverlap("2600:1f00::/24", "fd00::/8"));
        assert.ok(!networksOverlap("10.0.0.0/8", "fd00::/8"));
    });

    it("a namespace's own keys replace the stack's, one by one", () => {
        const mtls = view({ mode: "audit", allowedHosts: ["a.com"] }, { spark: { egress: { mode: "enforce" } } });
        assert.deepEqual(egressOf(mtls, "spark"), {
            mode: "enforce",
            allowedHosts: ["a.com"],
            allowedNetworks: [],
            platformNetworks: [],
        });
        assert.equal(egressOf(mtls, "akko").mode, "audit");
    });

    it("plans nothing for off, an Allow network for audit, a Deny network behind its allowances for enforce", () => {
        const mtls = view(
            { mode: "enforce", allowedHosts: ["http://a.com", "*.b.com"], allowedNetworks: ["52.0.0.0/8"] },
            { spark: { egress: { mode: "audit" } }, trino: { egress: { mode: "off" } } },
        );
        const plan = planEgress({ mtls, namespaces: ["akko", "spark", "trino"], gatewayApi: "install" });
        assert.deepEqual(plan.enforced, ["akko"]);
        assert.deepEqual(plan.audited, ["spark"]);
        assert.ok(plan.installTlsRoutes);
        const [akko, spark] = plan.namespaces;
        assert.deepEqual(akko.network.spec, { trafficPolicy: "Deny" });
        assert.deepEqual(
            akko.allowances.map((o) => [o.kind, o.metadata.name]),
            [
                ["HTTPRoute", "egress-http-80-a.com"],
                ["TLSRoute", "egress-tls-443--b.com"],
                ["EgressNetwork", "akko-egress-allowed"],
            ],
        );
        assert.deepEqual(akko.allowances[1].spec.parentRefs, [
            { group: "policy.linkerd.io", kind: "EgressNetwork", name: "akko-egress", namespace: "akko", port: 443 },
        ]);
        assert.deepEqual(spark.network.spec, { trafficPolicy: "Allow" });
        assert.deepEqual(spark.allowances, []);
        assert.equal(spark.networkPolicy, undefined);
        assert.ok(
            !planEgress({ mtls, namespaces: ["akko"], gatewayApi: "present" }).installTlsRoutes,
            "never over another owner's CRDs",
        );
        assert.ok(
            !planEgress({ mtls: view({}), namespaces: ["akko"], gatewayApi: "install" }).installTlsRoutes,
            "nothing while off",
        );
    });

    it("annotates hostname labels where egress is watched and clears proxy-init's outbound bypass where it is enforced", () => {
        assert.deepEqual(egressAnnotations("off"), {});
        assert.deepEqual(egressAnnotations("audit"), { "config.linkerd.io/proxy-metrics-hostname-labels": "true" });
        assert.deepEqual(egressAnnotations("enforce"), {
            "config.linkerd.io/proxy-metrics-hostname-labels": "true",
            "config.linkerd.io/skip-outbound-ports": "",
        });
    });

    describe("the CIDR layer, evaluated with Kubernetes NetworkPolicy semantics (cluster/networkPolicy.cjs)", () => {
        const pod = (
            namespace: string,
            name: string,
            labels: Record<string, string>,
            ports: [number, string?][],
            ip: string,
        ): Pod => ({
            namespace,
            name,
            labels,
            ip,
            ports: ports.map(([containerPort, protocol]) => ({ containerPort, protocol: protocol ?? "TCP" })),
        });
        const APP = pod("akko", "spark-driver", { app: "spark" }, [[4040]], "10.42.0.1");
        const AUDITED = pod("spark", "job", { app: "job" }, [[8080]], "10.42.0.2");
        const TRINO = pod("trino", "coordinator", { app: "trino" }, [[8080]], "10.42.0.3");
        const DNS = pod("kube-system", "coredns", { "k8s-app": "kube-dns" }, [[53, "UDP"], [53]], "10.42.0.4");
        const DESTINATION = pod(
            "linkerd",
            "destination",
            { "linkerd.io/control-plane-component": "destination" },
            [[8086]],
            "10.42.0.5",
        );
        const external = (ip: string): Endpoint => ({ ip });
        const S3 = external("52.95.130.10");
        const API_SERVER = external("10.0.0.1");
        const ELSEWHERE = external("93.184.216.34");

        const mtls = view(
            {
                mode: "enforce",
                allowedHosts: ["s3.example.com"],
                allowedNetworks: ["52.95.128.0/21"],
                platformNetworks: ["10.0.0.1/32"],
            },
            {
                spark: { egress: { mode: "audit" } },
            },
        );
        const plan = planEgress({ mtls, namespaces: ["akko", "spark"], gatewayApi: "install" });
        const layer: NetworkPolicyObject[] = plan.namespaces
            .filter((n) => n.networkPolicy)
            .map((n) => ({
                metadata: { name: n.networkPolicy!.name, namespace: n.namespace },
                spec: n.networkPolicy!.spec,
            }));

        // [what, from, to, port, protocol, before, after]
        const flows: [string, Endpoint, Endpoint, number, "TCP" | "UDP", boolean, boolean][] = [
            ["DNS over UDP", APP, DNS, 53, "UDP", true, true],
            ["DNS over TCP", APP, DNS, 53, "TCP", true, true],
            ["the control plane", APP, DESTINATION, 8086, "TCP", true, true],
            ["a pod of another namespace", APP, TRINO, 8080, "TCP", true, true],
            ["an allowed network (S3)", APP, S3, 443, "TCP", true, true],
            ["the API server's endpoint (platformNetworks)", APP, API_SERVER, 443, "TCP", true, true],
            ["another address, whatever SNI it is sent", APP, ELSEWHERE, 443, "TCP", true, false],
            ["QUIC (UDP, never redirected to the proxy)", APP, ELSEWHERE, 443, "UDP", true, false],
            ["a bypassed proxy's plaintext", APP, ELSEWHERE, 25, "TCP", true, false],
            ["an external resolver", APP, external("8.8.8.8"), 53, "UDP", true, false],
            ["an audited namespace, anywhere", AUDITED, ELSEWHERE, 443, "TCP", true, true],
        ];

        it("allowed traffic keeps flowing; everything else leaving the cluster stops, UDP and spoofed SNI included", () => {
            for (const [what, from, to, port, protocol, before, after] of flows) {
                assert.equal(allowed({ policies: [] }, { from, to, port, protocol }), before, `${what} before`);
                assert.equal(allowed({ policies: layer }, { from, to, port, protocol }), after, `${what} after`);
            }
        });

        it("never reopens what a namespace that isolates egress itself closed: there its own policies are the layer", () => {
            const own: NetworkPolicyObject[] = [
                {
                    metadata: { name: "default-deny", namespace: "akko" },
                    spec: { podSelector: {}, policyTypes: ["Egress"] },
                },
                ...meshedNamespacePolicies({
                    namespace: "akko",
                    controlPlaneNamespace: "linkerd",
                    posture: { denyIngress: false, denyEgress: true, opaqueIngress: [], opaqueEgress: [] },
                }).map((p) => ({ metadata: { name: p.name, namespace: p.namespace }, spec: p.spec })),
            ];
            const isolating = planEgress({
                mtls: { ...mtls, namespaceDefaults: { denyIngress: true, denyEgress: true } },
                namespaces: ["akko"],
                gatewayApi: "install",
            });
            assert.equal(isolating.namespaces[0].networkPolicy, undefined);
            // Why: the layer on top of such a namespace's own policies would reopen pods they closed.
            const reopened = flows.filter(
                ([, from, to, port, protocol]) =>
                    from === APP &&
                    to.namespace !== undefined &&
                    !allowed({ policies: own }, { from, to, port, protocol }) &&
                    allowed({ policies: [...own, ...layer] }, { from, to, port, protocol }),
            );
            assert.deepEqual(
                reopened.map(([what]) => what),
                ["a pod of another namespace"],
            );
        });
    });
});
