/**
 * The policy pack: each policy called directly (no CLI) with a passing and a violating
 * case, then every policy against what each stack really registers.
 */
import type { PolicyResource, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { strict as assert } from "node:assert";
import type { ProgramRun } from "../tools/mockRuntime";
import { checkRun } from "../tools/policyCheck";
import {
    chartsPinned,
    durationHours,
    identityIssuerP256,
    meshedNamespacesInjected,
    networkPoliciesAllowProxy,
    noClusterCaIssuer,
    noAnchorKeyInFleetMember,
    noInjectionOptOut,
    policies,
    ResourcePolicy,
    StackPolicy,
} from "../policy/policies";
import { ConfigError, resolveConfig } from "../config";
import { runStack, runStackOk, STACKS } from "./helpers";
import { checkPolicies } from "../tools/policyCheck";

const P256 = { algorithm: "ECDSA", size: 256 };

interface Fake {
    type: string;
    name?: string;
    props: Record<string, any>;
}

const asResource = (r: Fake): PolicyResource =>
    ({
        type: r.type,
        name: r.name ?? "x",
        urn: `urn:pulumi:test::akko-mtls::${r.type}::${r.name ?? "x"}`,
        props: r.props,
        opts: {},
        dependencies: [],
        propertyDependencies: {},
    }) as unknown as PolicyResource;

/** A policy called as the pack calls it, its arguments holding the fields the policies read (they read no other). */
function checkResource(policy: ResourcePolicy, resource: Fake, config: object = {}): string[] {
    const violations: string[] = [];
    const args = {
        ...asResource(resource),
        getConfig: () => config,
        stackTags: new Map(),
    } as unknown as ResourceValidationArgs;
    policy.validateResource(args, (message) => violations.push(message));
    return violations;
}

function checkStack(policy: StackPolicy, resources: Fake[], config: object = {}): string[] {
    const violations: string[] = [];
    const args = {
        resources: resources.map(asResource),
        getConfig: () => config,
        stackTags: new Map(),
    } as unknown as StackValidationArgs;
    policy.validateStack(args, (message) => violations.push(message));
    return violations;
}

const mesh = (...namespaces: string[]): Fake => ({
    type: "akko:mtls:MtlsMesh",
    props: { meshedNamespaces: namespaces },
});
const patch = (namespace: string, inject: string): Fake => ({
    type: "kubernetes:core/v1:NamespacePatch",
    props: { metadata: { name: namespace, annotations: { "linkerd.io/inject": inject } } },
});
const deployment = (namespace: string, name: string, annotations: Record<string, string> = {}): Fake => ({
    type: "kubernetes:apps/v1:Deployment",
    props: { metadata: { name, namespace }, spec: { template: { metadata: { annotations } } } },
});
const networkPolicy = (namespace: string, ingress: object[]): Fake => ({
    type: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    props: { metadata: { name: "p", namespace }, spec: { podSelector: {}, policyTypes: ["Ingress"], ingress } },
});

describe("policy pack", () => {
    it("meshed-namespaces-injected", () => {
        assert.deepEqual(
            checkStack(meshedNamespacesInjected, [
                mesh("akko", "spark"),
                patch("akko", "enabled"),
                patch("spark", "enabled"),
            ]),
            [],
        );
        const violations = checkStack(meshedNamespacesInjected, [
            mesh("akko", "spark"),
            patch("akko", "enabled"),
            patch("spark", "disabled"),
        ]);
        assert.deepEqual(violations, [
            "Meshed namespace spark is not annotated linkerd.io/inject: enabled: its pods would start without proxies.",
        ]);
        assert.equal(
            checkStack(meshedNamespacesInjected, [], { meshedNamespaces: ["akko"] }).length,
            1,
            "from the policy config too",
        );
    });

    it("no-injection-opt-out", () => {
        assert.deepEqual(
            checkStack(noInjectionOptOut, [
                mesh("akko"),
                deployment("akko", "trino"),
                deployment("tools", "debug", { "linkerd.io/inject": "disabled" }),
            ]),
            [],
        );
        const optOut = [mesh("akko"), deployment("akko", "legacy", { "linkerd.io/inject": "disabled" })];
        assert.match(checkStack(noInjectionOptOut, optOut)[0], /Deployment akko\/legacy opts out of the mesh/);
        assert.deepEqual(
            checkStack(noInjectionOptOut, optOut, { allowedOptOuts: ["akko/legacy"] }),
            [],
            "allow-listed",
        );
    });

    it("charts-pinned", () => {
        const chart = (chartName: string, version: unknown): Fake => ({
            type: "kubernetes:helm.sh/v4:Chart",
            props: { chart: chartName, version },
        });
        for (const pinned of [
            chart("linkerd-control-plane", "2026.8.3"),
            chart("cert-manager", "v1.21.1"),
            chart("something-else", "^1"),
        ]) {
            assert.deepEqual(checkResource(chartsPinned, pinned), []);
        }
        for (const loose of [
            chart("linkerd-viz", "^2026.8.0"),
            chart("linkerd-crds", undefined),
            chart("cert-manager", "v1.21"),
        ]) {
            assert.match(checkResource(chartsPinned, loose)[0], /must be pinned to an exact version/);
        }
    });

    it("identity-issuer-p256", () => {
        const certificate = (spec: object): Fake => ({
            type: "kubernetes:cert-manager.io/v1:Certificate",
            props: { metadata: { name: "linkerd-identity-issuer" }, spec },
        });
        const good = { isCA: true, duration: "48h0m0s", privateKey: { algorithm: "ECDSA", size: 256 } };
        assert.deepEqual(checkResource(identityIssuerP256, certificate(good)), []);
        assert.match(
            checkResource(identityIssuerP256, certificate({ ...good, duration: "72h" }))[0],
            /duration 72h must be 3–48 h/,
        );
        assert.match(
            checkResource(
                identityIssuerP256,
                certificate({ ...good, privateKey: { algorithm: "RSA", size: 2048 } }),
            )[0],
            /ECDSA P-256/,
        );
        assert.match(
            checkResource(identityIssuerP256, certificate({ isCA: true, privateKey: good.privateKey }))[0],
            /cert-manager.s default 2160h/,
        );
        const key = (props: object): Fake => ({
            type: "tls:index/privateKey:PrivateKey",
            name: "akko-identity-issuer-key",
            props,
        });
        assert.deepEqual(checkResource(identityIssuerP256, key({ algorithm: "ECDSA", ecdsaCurve: "P256" })), []);
        assert.match(
            checkResource(identityIssuerP256, key({ algorithm: "ECDSA", ecdsaCurve: "P384" }))[0],
            /must be ECDSA P256/,
        );
        assert.equal(durationHours("1h30m"), 1.5);
        assert.ok(Number.isNaN(durationHours("two days")));
    });

    it("the config and the pack agree on the issuer's lifetime, for every value the config could hold (issue 19)", () => {
        // Each back end's issuer as the program renders it (components/identityIssuer.ts).
        const rendered = {
            certManager: (hours: number): Fake => ({
                type: "kubernetes:cert-manager.io/v1:Certificate",
                props: {
                    metadata: { name: "linkerd-identity-issuer" },
                    spec: { isCA: true, duration: `${hours}h0m0s`, privateKey: P256 },
                },
            }),
            static: (hours: number): Fake => ({
                type: "tls:index/locallySignedCert:LocallySignedCert",
                name: "akko-identity-issuer-cert",
                props: { isCaCertificate: true, validityPeriodHours: hours },
            }),
        };
        // Every hour up to three days, then a sweep to the schema's maximum and beyond.
        const hours = [
            ...Array.from({ length: 72 }, (_, i) => i + 1),
            ...Array.from({ length: 100 }, (_, i) => 73 + i * 1751),
            175199,
            175200,
            175201,
        ];
        const disagreements: string[] = [];
        for (const mode of ["certManager", "static"] as const) {
            for (const h of hours) {
                const lifetime =
                    mode === "static"
                        ? { validityHours: h, renewBeforeHours: 2 }
                        : { durationHours: h, renewBeforeHours: 2 };
                const stack = {
                    target: "k3s",
                    cluster: { context: "x" },
                    // The lifetimes around the issuer's at their longest, so that only its own bounds decide.
                    identity: {
                        trustAnchor: { validityHours: 175200 },
                        intermediate: { validityHours: 175199, renewBeforeHours: 100 },
                        issuer: { mode, [mode]: lifetime },
                    },
                    rotationJob: { issuerMinHoursLeft: 1 },
                };
                let configAccepts = true;
                try {
                    resolveConfig(stack);
                } catch (error) {
                    assert.ok(error instanceof ConfigError, String(error));
                    const key = `akko-mtls:identity.issuer.${mode}.${mode === "static" ? "validityHours" : "durationHours"}`;
                    configAccepts = !error.problems.some((p) => p.key === key);
                }
                const packAccepts = checkResource(identityIssuerP256, rendered[mode](h)).length === 0;
                if (configAccepts !== packAccepts)
                    disagreements.push(`${mode} ${h} h: config ${configAccepts}, pack ${packAccepts}`);
            }
        }
        assert.deepEqual(disagreements, []);
        assert.equal(
            checkResource(identityIssuerP256, rendered.static(72)).length,
            0,
            "a 72 h static issuer passes both",
        );
        assert.equal(
            checkResource(identityIssuerP256, rendered.certManager(72)).length,
            1,
            "a 72 h cert-manager issuer is refused by both",
        );
    });

    it("no-cluster-ca-issuer", () => {
        const clusterIssuer = (spec: object): Fake => ({
            type: "kubernetes:cert-manager.io/v1:ClusterIssuer",
            props: { metadata: { name: "x" }, spec },
        });
        assert.match(
            checkResource(noClusterCaIssuer, clusterIssuer({ ca: { secretName: "linkerd-trust-anchor-g1" } }))[0],
            /ClusterIssuer x is a CA/,
        );
        assert.deepEqual(checkResource(noClusterCaIssuer, clusterIssuer({ acme: {} })), []);
        const certificate = (kind?: string): Fake => ({
            type: "kubernetes:cert-manager.io/v1:Certificate",
            props: {
                metadata: { name: "linkerd-identity-issuer" },
                spec: { issuerRef: { name: "x", ...(kind ? { kind } : {}) } },
            },
        });
        assert.deepEqual(checkResource(noClusterCaIssuer, certificate("Issuer")), []);
        assert.deepEqual(checkResource(noClusterCaIssuer, certificate()), [], "kind defaults to Issuer");
        assert.match(
            checkResource(noClusterCaIssuer, certificate("ClusterIssuer"))[0],
            /namespaced Issuer, not a ClusterIssuer/,
        );
    });

    it("networkpolicies-allow-proxy: a namespace that admits an opaque port admits the proxy port too", () => {
        const open = networkPolicy("akko", [{ ports: [{ protocol: "TCP", port: 4143 }] }]);
        const postgres = networkPolicy("akko", [{ ports: [{ port: 5432 }] }]);
        assert.deepEqual(checkStack(networkPoliciesAllowProxy, [mesh("akko"), open, postgres]), []);
        assert.deepEqual(
            checkStack(networkPoliciesAllowProxy, [mesh("akko"), networkPolicy("akko", [{ ports: [{ port: 8080 }] }])]),
            [],
            "no opaque port: 4143 carries nothing",
        );
        assert.deepEqual(
            checkStack(networkPoliciesAllowProxy, [
                mesh("akko"),
                networkPolicy("akko", [{ from: [{ podSelector: {} }] }]),
            ]),
            [],
            "no ports: all ports, 4143 included",
        );
        assert.deepEqual(
            checkStack(networkPoliciesAllowProxy, [
                mesh("akko"),
                postgres,
                networkPolicy("akko", [{ ports: [{ port: 4000, endPort: 4200 }] }]),
            ]),
            [],
            "a range",
        );
        const closed = checkStack(networkPoliciesAllowProxy, [mesh("akko"), postgres]);
        assert.match(closed[0], /meshed namespace akko admit opaque port\(s\) 5432 but nothing on port 4143/);
        assert.deepEqual(
            checkStack(networkPoliciesAllowProxy, [
                mesh("akko"),
                networkPolicy("other", [{ ports: [{ port: 5432 }] }]),
            ]),
            [],
            "other namespaces are not ours to judge",
        );
    });

    it("the pack as `npm run plan` applies it (tools/policyCheck.ts) sees a violation in what a run registers", async () => {
        const run = await runStackOk("netcup", { "mtls.enabled": true });
        // A copy: runs are shared between tests.
        const doctored = {
            ...run,
            resources: run.resources.map((r) =>
                r.name === "akko-linkerd-control-plane" ? { ...r, inputs: { ...r.inputs, version: "^2026.8.0" } } : r,
            ),
        };
        const violations = checkRun(doctored);
        assert.deepEqual(
            violations.map((v) => [v.policy, v.resource]),
            [["charts-pinned", "akko-linkerd-control-plane"]],
        );
        assert.equal(policies.length, new Set(policies.map((p) => p.name)).size);
    });

    describe("every stack, as the program registers it, passes every policy", () => {
        for (const stack of STACKS) {
            it(stack, async () => {
                const runs: ProgramRun[] = [
                    await runStackOk(stack, { "mtls.enabled": true }),
                    await runStackOk(stack, {
                        "mtls.enabled": true,
                        "mtls.namespaces": ["akko", "spark"],
                        "mtls.mode": "strict",
                        "mtls.authorizations": [
                            {
                                namespace: "akko",
                                name: "trino",
                                podSelector: { app: "trino" },
                                port: 8080,
                                clients: ["spark.spark.serviceaccount.identity.linkerd.cluster.local"],
                            },
                        ],
                    }),
                ];
                for (const run of runs) {
                    const mesh = run.resources.find((r) => r.type === "akko:mtls:MtlsMesh")!;
                    assert.ok(mesh.inputs.meshedNamespaces.length > 0, "the mesh component records its namespaces");
                    assert.deepEqual(checkRun(run), [], stack);
                }
            });
        }
    });

    describe("no-anchor-key-in-fleet-member: a fleet's anchor key lives only in its trust stack", () => {
        const urn = (...types: string[]) => `urn:pulumi:netcup::akko-mtls::${types.join("$")}::x`;
        const member = (joining: boolean) => ({
            type: "akko:mtls:FleetMember",
            name: "fleet",
            props: { fleetStack: "trust", member: "netcup", joining },
        });
        const anchor = [
            {
                type: "akko:mtls:TrustAnchor",
                name: "akko-trust-anchor-g1",
                urn: urn("akko:mtls:MtlsMesh", "akko:mtls:TrustAnchor"),
                props: {},
            },
            {
                type: "tls:index/privateKey:PrivateKey",
                name: "akko-trust-anchor-g1-key",
                urn: urn("akko:mtls:MtlsMesh", "akko:mtls:TrustAnchor", "tls:index/privateKey:PrivateKey"),
                props: { algorithm: "ECDSA" },
            },
        ];
        /** A self-signed CA made without the TrustAnchor component: its key is found through the certificate's dependencies. */
        const handMade = [
            {
                type: "tls:index/privateKey:PrivateKey",
                name: "my-key",
                urn: urn("tls:index/privateKey:PrivateKey"),
                props: {},
            },
            {
                type: "tls:index/selfSignedCert:SelfSignedCert",
                name: "my-root",
                urn: urn("tls:index/selfSignedCert:SelfSignedCert"),
                props: { isCaCertificate: true },
                dependencies: [urn("tls:index/privateKey:PrivateKey")],
            },
        ];
        const webhookCa = {
            type: "tls:index/selfSignedCert:SelfSignedCert",
            name: "akko-linkerd-webhooks-ca",
            urn: urn("akko:mtls:MtlsMesh", "akko:mtls:WebhookCertificates", "tls:index/selfSignedCert:SelfSignedCert"),
            props: { isCaCertificate: true },
        };
        const refused = (resources: Parameters<typeof checkPolicies>[0]) =>
            checkPolicies(resources)
                .filter((v) => v.policy === noAnchorKeyInFleetMember.name)
                .map((v) => v.message.split(":")[0]);

        it("refuses a trust anchor, a self-signed CA and the keys that sign them in a member; allows them while it joins, and in a standalone stack", () => {
            assert.deepEqual(refused([member(false), ...anchor, ...handMade, webhookCa]), [
                "trust anchor akko-trust-anchor-g1",
                "self-signed CA my-root",
                "private key akko-trust-anchor-g1-key signs a trust anchor",
                "private key my-key signs a trust anchor",
            ]);
            assert.deepEqual(
                refused([member(true), ...anchor, webhookCa]),
                [],
                "a joining stack keeps its own anchor until the join's end",
            );
            assert.deepEqual(refused([...anchor, ...handMade]), [], "a standalone stack holds its own anchor");
            assert.deepEqual(refused([member(false), webhookCa]), [], "the webhook CAs are no trust anchors");
        });

        it("as the program registers them: a member passes, and its join's runs pass until the own anchor is gone", async () => {
            const trust = await runStackOk("trust", {}, { stacks: { netcup: {}, eks: {}, gke: {} } });
            const run = await runStack(
                "netcup",
                { "identity.trustAnchor.fleetStack": "trust", "mtls.enabled": true },
                { stacks: { trust: trust.outputs } },
            );
            assert.equal(run.error, undefined);
            assert.deepEqual(checkRun(run), []);
            const standalone = await runStackOk("netcup", { "mtls.enabled": true });
            const joining = await runStack(
                "netcup",
                {
                    "identity.trustAnchor.fleetStack": "trust",
                    "identity.trustAnchor.rotationPhase": 1,
                    "mtls.enabled": true,
                },
                {
                    stacks: { trust: trust.outputs },
                    previousOutputs: Object.fromEntries(
                        Object.entries(standalone.outputs).map(([k, v]) => [k, v.value]),
                    ),
                },
            );
            assert.equal(joining.error, undefined);
            assert.deepEqual(checkRun(joining), []);
            // The same stack, had it registered its own anchor as a member: refused, naming the key.
            const doctored = {
                ...joining,
                resources: joining.resources.map((r) =>
                    r.type === "akko:mtls:FleetMember" ? { ...r, inputs: { ...r.inputs, joining: false } } : r,
                ),
            };
            assert.ok(
                checkRun(doctored).some(
                    (v) =>
                        v.policy === "no-anchor-key-in-fleet-member" &&
                        /private key akko-trust-anchor-g1-key/.test(v.message),
                ),
                JSON.stringify(checkRun(doctored)),
            );
        });
    });
});
