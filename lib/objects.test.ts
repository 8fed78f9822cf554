/** The shared object builders (lib/objects.ts): one label set, names and namespaces passed through, annotations as given. */
import { strict as assert } from "node:assert";
import {
    linkerdPolicyObject,
    namespaceObject,
    networkPolicyObject,
    objectLabels,
    objectMetadata,
    PART_OF,
    PART_OF_LABEL,
} from "./objects";
import { platformPolicies } from "./networkPolicies";

describe("shared object builders", () => {
    it("labels: part-of always, the application's name when given, then the object's own", () => {
        assert.deepEqual(objectLabels(), { [PART_OF_LABEL]: PART_OF });
        assert.deepEqual(objectLabels({ appName: "webhook-handover" }), {
            "app.kubernetes.io/name": "webhook-handover",
            [PART_OF_LABEL]: PART_OF,
        });
        assert.deepEqual(objectLabels({ labels: { "linkerd.io/control-plane-component": "identity" } }), {
            [PART_OF_LABEL]: PART_OF,
            "linkerd.io/control-plane-component": "identity",
        });
        assert.deepEqual(objectMetadata({ name: "x", namespace: "linkerd" }), {
            name: "x",
            namespace: "linkerd",
            labels: { [PART_OF_LABEL]: PART_OF },
        });
    });

    it("a NetworkPolicy carries the policy's name and spec, in the namespace given, with part-of alone", () => {
        const [policy] = platformPolicies({ controlPlaneNamespace: "linkerd", meshNamespaces: ["akko"] });
        const object = networkPolicyObject(policy, "linkerd");
        assert.deepEqual(object.metadata, {
            name: "linkerd-control-plane",
            namespace: "linkerd",
            labels: { [PART_OF_LABEL]: PART_OF },
        });
        assert.equal(object.spec, policy.spec);
    });

    it("a Namespace: part-of and its functional labels; annotations written only when given", () => {
        const bare = namespaceObject({
            name: "cert-manager",
            labels: { "pod-security.kubernetes.io/enforce": "restricted" },
        });
        assert.deepEqual(bare, {
            metadata: {
                name: "cert-manager",
                labels: { [PART_OF_LABEL]: PART_OF, "pod-security.kubernetes.io/enforce": "restricted" },
            },
        });
        assert.deepEqual(namespaceObject({ name: "linkerd-viz", annotations: {} }).metadata.annotations, {});
        assert.deepEqual(
            namespaceObject({ name: "linkerd", annotations: { "linkerd.io/inject": "disabled" } }).metadata.annotations,
            {
                "linkerd.io/inject": "disabled",
            },
        );
    });

    it("a Linkerd policy object: the kind's storage version in the pinned linkerd-crds, the program's labels", () => {
        const server = linkerdPolicyObject({ kind: "Server", name: "trino", namespace: "akko", spec: { port: 8080 } });
        assert.deepEqual(server, {
            apiVersion: "policy.linkerd.io/v1beta3",
            kind: "Server",
            metadata: { name: "trino", namespace: "akko", labels: { [PART_OF_LABEL]: PART_OF } },
            spec: { port: 8080 },
        });
        for (const kind of ["AuthorizationPolicy", "MeshTLSAuthentication", "NetworkAuthentication"] as const) {
            assert.equal(
                linkerdPolicyObject({ kind, name: "x", namespace: "akko", spec: {} }).apiVersion,
                "policy.linkerd.io/v1alpha1",
            );
        }
    });
});
