/** The mtls rules, called directly on a parsed config. */
import { strict as assert } from "node:assert";
import { TARGETS } from "../schema";
import {
    validateAuthorizations,
    validateIngress,
    validateNamespaceOptions,
    validateNamespaces,
    validateNetworkPosture,
    validateTraefikValues,
} from "./mtls";
import { issuesOf, validConfig } from "./testing";

const TRINO = {
    namespace: "akko",
    name: "trino",
    podSelector: { "app.kubernetes.io/name": "trino" },
    port: 8080,
    clients: ["spark.spark.serviceaccount.identity.linkerd.cluster.local"],
};
const strict = (authorizations: object[], namespaces = ["akko", "spark"]) =>
    validConfig("k3s", { mtls: { enabled: true, mode: "strict", namespaces, authorizations } });

describe("rules: mtls", () => {
    it("every rule accepts every target's preset", () => {
        for (const rule of [
            validateNamespaces,
            validateNamespaceOptions,
            validateIngress,
            validateTraefikValues,
            validateAuthorizations,
            validateNetworkPosture,
        ]) {
            for (const target of TARGETS)
                assert.deepEqual(issuesOf(rule, validConfig(target)), [], `${rule.name} on ${target}`);
        }
    });

    describe("validateTraefikValues", () => {
        const values = { ports: { web: { forwardedHeaders: { insecure: true } } } };
        it("accepts Traefik values for k3s' Traefik, and none for another controller", () => {
            assert.deepEqual(
                issuesOf(
                    validateTraefikValues,
                    validConfig("k3s", { mtls: { ingress: { k3sTraefikValues: values } } }),
                ),
                [],
            );
            assert.deepEqual(
                issuesOf(
                    validateTraefikValues,
                    validConfig("eks", { mtls: { ingress: { enabled: true, controller: "in-namespace" } } }),
                ),
                [],
            );
        });

        it("refuses them with a controller in its own namespace: they would be ignored", () => {
            const config = validConfig("eks", {
                mtls: { ingress: { enabled: true, controller: "in-namespace", k3sTraefikValues: values } },
            });
            assert.deepEqual(issuesOf(validateTraefikValues, config), [
                [
                    "mtls.ingress.k3sTraefikValues",
                    "applies only to k3s' Traefik (mtls.ingress.controller k3s-traefik); with in-namespace it would be ignored. " +
                        "Configure your controller through its own chart, and remove these values",
                ],
            ]);
        });
    });

    describe("validateNamespaces", () => {
        it("refuses a namespace listed twice, and a system or mesh namespace", () => {
            const issues = issuesOf(
                validateNamespaces,
                validConfig("k3s", { mtls: { namespaces: ["akko", "linkerd", "akko"] } }),
            );
            assert.deepEqual(
                issues.map(([path]) => path),
                ["mtls.namespaces.1", "mtls.namespaces.2"],
            );
            assert.match(issues[0][1], /^must not be a system or mesh namespace \(kube-system, /);
            assert.equal(issues[1][1], 'lists "akko" twice');
        });
    });

    describe("validateNamespaceOptions", () => {
        it("refuses options of a namespace that is not meshed, accepts a meshed one's", () => {
            assert.deepEqual(
                issuesOf(
                    validateNamespaceOptions,
                    validConfig("k3s", { mtls: { namespaceOptions: { spark: { denyEgress: true } } } }),
                ),
                [["mtls.namespaceOptions.spark", "is not a meshed namespace (mtls.namespaces: akko)"]],
            );
            assert.deepEqual(
                issuesOf(
                    validateNamespaceOptions,
                    validConfig("k3s", { mtls: { namespaceOptions: { akko: { denyEgress: true } } } }),
                ),
                [],
            );
        });
    });

    describe("validateNetworkPosture", () => {
        const PG = {
            podSelector: { matchLabels: { app: "pg" } },
            ports: [5432],
            from: [{ podSelector: { matchLabels: { app: "hive" } } }],
        };
        const withOptions = (options: object, mtls: object = {}) =>
            validConfig("k3s", { mtls: { namespaceOptions: { akko: options }, ...mtls } });

        it("accepts mirrors in a direction the namespace isolates (by default: ingress)", () => {
            assert.deepEqual(issuesOf(validateNetworkPosture, withOptions({ opaqueIngress: [PG] })), []);
            assert.deepEqual(
                issuesOf(
                    validateNetworkPosture,
                    withOptions({ denyEgress: true, opaqueEgress: [{ podSelector: {}, to: PG.from }] }),
                ),
                [],
            );
        });

        it("refuses a mirror in a direction that is not isolated: it would newly isolate the pods it selects", () => {
            assert.deepEqual(
                issuesOf(validateNetworkPosture, withOptions({ denyIngress: false, opaqueIngress: [PG] })),
                [
                    [
                        "mtls.namespaceOptions.akko.opaqueIngress",
                        "mirrors rules of policies that isolate the namespace, but denyIngress is false: a mirror policy would newly isolate the pods it selects. " +
                            "Set mtls.namespaceOptions.akko.denyIngress true if its policies isolate every pod, or remove opaqueIngress",
                    ],
                ],
            );
            const egress = issuesOf(validateNetworkPosture, withOptions({ opaqueEgress: [{ podSelector: {} }] }));
            assert.deepEqual(
                egress.map(([path]) => path),
                ["mtls.namespaceOptions.akko.opaqueEgress"],
                "egress is not isolated by default",
            );
            const viaDefaults = withOptions(
                { opaqueIngress: [PG] },
                { namespaceDefaults: { denyIngress: false, denyEgress: false } },
            );
            assert.equal(
                issuesOf(validateNetworkPosture, viaDefaults).length,
                1,
                "the defaults count where the namespace says nothing",
            );
        });

        it("refuses mirrors nothing reads (mtls.networkPolicies false), and an opaque Server named by port name", () => {
            assert.deepEqual(
                issuesOf(validateNetworkPosture, withOptions({ opaqueIngress: [PG] }, { networkPolicies: false })),
                [
                    [
                        "mtls.namespaceOptions.akko.opaqueIngress",
                        "is read only with mtls.networkPolicies true (the mesh's NetworkPolicies mirror it): remove it, or turn them on",
                    ],
                ],
            );
            const named = validConfig("k3s", {
                mtls: {
                    mode: "strict",
                    authorizations: [
                        {
                            namespace: "akko",
                            name: "pg",
                            podSelector: { app: "pg" },
                            port: "postgres",
                            proxyProtocol: "opaque",
                            clients: TRINO.clients,
                        },
                    ],
                },
            });
            assert.deepEqual(
                issuesOf(validateNetworkPosture, named).map(([path]) => path),
                ["mtls.authorizations.0.port"],
            );
        });
    });

    describe("validateIngress", () => {
        it("refuses k3s' Traefik on another target, and with a failing-closed injector", () => {
            const issues = issuesOf(
                validateIngress,
                validConfig("eks", { mtls: { ingress: { enabled: true, controller: "k3s-traefik" } } }),
            );
            assert.deepEqual(
                issues.map(([path]) => path),
                ["mtls.ingress.controller", "mtls.ingress.controller"],
            );
            assert.match(issues[0][1], /^k3s-traefik is the Traefik of k3s and k3d; on eks use in-namespace/);
            assert.match(
                issues[1][1],
                /kube-system in the proxy injector's scope, which needs linkerd\.webhookFailurePolicy Ignore/,
            );
        });

        it("refuses a controller in-namespace without its namespace, or in a meshed or system namespace", () => {
            const none = validConfig("eks", { mtls: { ingress: { enabled: true } } });
            delete none.mtls.ingress.namespace;
            assert.deepEqual(issuesOf(validateIngress, none), [
                ["mtls.ingress.namespace", "is required with controller in-namespace"],
            ]);
            for (const namespace of ["akko", "kube-system"]) {
                assert.deepEqual(
                    issuesOf(validateIngress, validConfig("eks", { mtls: { ingress: { enabled: true, namespace } } })),
                    [
                        [
                            "mtls.ingress.namespace",
                            "must be the controller's own namespace: not a meshed AKKO namespace, not a system or mesh namespace",
                        ],
                    ],
                );
            }
            assert.deepEqual(
                issuesOf(
                    validateIngress,
                    validConfig("eks", { mtls: { ingress: { enabled: true, namespace: "ingress-nginx" } } }),
                ),
                [],
            );
        });
    });

    describe("validateAuthorizations", () => {
        it("accepts a strict authorization of meshed clients, and the viz namespace's clients", () => {
            assert.deepEqual(issuesOf(validateAuthorizations, strict([TRINO])), []);
            const viz = { ...TRINO, clients: ["tap.linkerd-viz.serviceaccount.identity.linkerd.cluster.local"] };
            assert.deepEqual(issuesOf(validateAuthorizations, strict([viz])), []);
        });

        it("refuses authorizations in permissive mode", () => {
            const config = validConfig("k3s", { mtls: { namespaces: ["akko", "spark"], authorizations: [TRINO] } });
            assert.deepEqual(issuesOf(validateAuthorizations, config), [
                [
                    "mtls.authorizations",
                    "apply in strict mode only: set mtls.mode strict (permissive mode accepts any client)",
                ],
            ]);
        });

        it("refuses a client in a namespace that is not meshed: it has no identity", () => {
            assert.deepEqual(issuesOf(validateAuthorizations, strict([TRINO], ["akko"])), [
                [
                    "mtls.authorizations.0.clients.0",
                    "names a namespace (its second part) that is not meshed: its pods have no mTLS identity and would be refused. " +
                        "Keep that namespace in mtls.namespaces while a strict authorization names it, or remove this client first",
                ],
            ]);
        });

        it("refuses a server outside the mesh, the program's own Server name, a server twice", () => {
            const outside = { ...TRINO, namespace: "web" };
            const own = { ...TRINO, name: "linkerd-admin" };
            assert.deepEqual(
                issuesOf(validateAuthorizations, strict([outside, own, TRINO])).map(([path]) => path),
                ["mtls.authorizations.0.namespace", "mtls.authorizations.1.name"],
            );
            assert.deepEqual(issuesOf(validateAuthorizations, strict([TRINO, TRINO])), [
                ["mtls.authorizations.1.name", "akko/trino is defined twice"],
            ]);
        });

        it("refuses both kinds of caller, or none", () => {
            const message =
                "needs either clients (ServiceAccount identities) or networks (CIDRs of unauthenticated callers such as kubelet probes), not both: " +
                "Linkerd would require both at once";
            assert.deepEqual(issuesOf(validateAuthorizations, strict([{ ...TRINO, networks: ["10.0.0.0/8"] }])), [
                ["mtls.authorizations.0", message],
            ]);
            const none = strict([TRINO]);
            delete none.mtls.authorizations[0].clients;
            assert.deepEqual(issuesOf(validateAuthorizations, none), [["mtls.authorizations.0", message]]);
        });

        it("refuses a client that is not an identity of the trust domain", () => {
            const issues = issuesOf(
                validateAuthorizations,
                strict([
                    {
                        ...TRINO,
                        clients: [
                            "spark.akko.svc.cluster.local",
                            "spark.spark.serviceaccount.identity.linkerd.other.local",
                        ],
                    },
                ]),
            );
            assert.deepEqual(
                issues.map(([path]) => path),
                ["mtls.authorizations.0.clients.0", "mtls.authorizations.0.clients.1"],
            );
            for (const [, message] of issues)
                assert.match(message, /is not a ServiceAccount identity: .*identity\.linkerd\.cluster\.local$/);
        });

        it("does not throw on a trust domain that is not a domain (reported by the schema): it is text, not a pattern", () => {
            const config = strict([TRINO]);
            config.identity.trustDomain = "cluster.local(";
            assert.doesNotThrow(() => issuesOf(validateAuthorizations, config));
            assert.equal(issuesOf(validateAuthorizations, config)[0][0], "mtls.authorizations.0.clients.0");
        });
    });
});
