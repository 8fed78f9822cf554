/** The cert-manager rules, called directly on a parsed config. */
import { strict as assert } from "node:assert";
import { TARGETS } from "../schema";
import { validateCertManagerNamespace } from "./certManager";
import { issuesOf, validConfig } from "./testing";

describe("rules: certManager", () => {
    describe("validateCertManagerNamespace", () => {
        it("accepts cert-manager's own namespace, by default or another name", () => {
            for (const target of TARGETS)
                assert.deepEqual(issuesOf(validateCertManagerNamespace, validConfig(target)), [], target);
            assert.deepEqual(
                issuesOf(
                    validateCertManagerNamespace,
                    validConfig("eks", { certManager: { namespace: "platform-certs", install: false } }),
                ),
                [],
            );
        });

        it("refuses a system or mesh namespace", () => {
            for (const namespace of ["kube-system", "linkerd", "linkerd-viz", "kube-public"]) {
                const issues = issuesOf(
                    validateCertManagerNamespace,
                    validConfig("k3s", { certManager: { namespace } }),
                );
                assert.equal(issues.length, 1, namespace);
                assert.equal(issues[0][0], "certManager.namespace");
                assert.match(
                    issues[0][1],
                    /must be cert-manager's own namespace, not a system or mesh namespace \(kube-system, .*linkerd/,
                );
            }
        });

        it("refuses a meshed namespace, and the meshed ingress controller's", () => {
            assert.deepEqual(
                issuesOf(validateCertManagerNamespace, validConfig("k3s", { certManager: { namespace: "akko" } })),
                [
                    [
                        "certManager.namespace",
                        "is a meshed namespace (mtls.namespaces): cert-manager's webhook would get a proxy, and the mesh's issuer would depend on the mesh",
                    ],
                ],
            );
            const ingress = validConfig("eks", {
                mtls: { ingress: { enabled: true, namespace: "ingress-nginx" } },
                certManager: { namespace: "ingress-nginx" },
            });
            assert.deepEqual(issuesOf(validateCertManagerNamespace, ingress), [
                [
                    "certManager.namespace",
                    "is the meshed ingress controller's namespace (mtls.ingress.namespace): cert-manager's webhook would get a proxy",
                ],
            ]);
            // Not meshed (ingress off): allowed.
            assert.deepEqual(
                issuesOf(
                    validateCertManagerNamespace,
                    validConfig("eks", { certManager: { namespace: "ingress-nginx" } }),
                ),
                [],
            );
        });
    });
});
