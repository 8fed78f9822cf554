/** The shared validators: Kubernetes names, labels, quantities, lists. */
import { strict as assert } from "node:assert";
import {
    annotations,
    containerResources,
    identityPattern,
    labels,
    labelValueProblem,
    objectName,
    podSelector,
    portList,
    qualifiedNameProblem,
} from "./primitives";

const issues = (result: { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } }) =>
    (result.error?.issues ?? []).map((i) => [i.path.join("."), i.message]);

describe("schema primitives", () => {
    it("label keys: an optional DNS-subdomain prefix and a name of at most 63", () => {
        for (const good of [
            "app",
            "app.kubernetes.io/name",
            "grafana_dashboard",
            "a",
            "A-b.c_D",
            `${"a".repeat(253)}/${"b".repeat(63)}`,
        ]) {
            assert.equal(qualifiedNameProblem(good), undefined, good);
        }
        for (const bad of [
            "",
            "-app",
            "app-",
            "a b",
            "app/",
            "/app",
            "a/b/c",
            "App.Io/name",
            `${"b".repeat(64)}`,
            `${"a".repeat(254)}/b`,
            "é",
        ]) {
            assert.ok(qualifiedNameProblem(bad), bad);
        }
    });

    it("label values: empty, or at most 63 alphanumerics with - _ . inside", () => {
        for (const good of ["", "1", "kube-prometheus-stack", "a.b_c", "x".repeat(63)])
            assert.equal(labelValueProblem(good), undefined, good);
        for (const bad of ["-a", "a-", "a b", "x".repeat(64), "a/b"]) assert.ok(labelValueProblem(bad), bad);
    });

    it("a label map reports each bad key and value at the label's own key, without aborting", () => {
        assert.deepEqual(issues(labels.safeParse({ release: "kps", "bad key": "x", tier: "-front" })), [
            [
                "bad key",
                "is not a valid label key: the name must be letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            ],
            [
                "tier",
                "has an invalid label value: a label value is letters, digits, '-', '_' or '.', starting and ending with a letter or digit (or empty)",
            ],
        ]);
        assert.deepEqual(issues(podSelector.safeParse({})), [["", "must select pods by at least one label"]]);
    });

    it("annotation keys are qualified names; their values any text (the dashboard's auth annotations are checked apart)", () => {
        assert.ok(annotations.safeParse({ "nginx.ingress.kubernetes.io/auth-url": "https://auth/?a=b c" }).success);
        assert.deepEqual(
            issues(annotations.safeParse({ "nginx.ingress.kubernetes.io/auth url": "x" })).map(([path]) => path),
            ["nginx.ingress.kubernetes.io/auth url"],
        );
    });

    it("object names are RFC 1123 subdomains", () => {
        assert.ok(objectName.safeParse("linkerd-tls.v2").success);
        for (const bad of ["", "Linkerd-TLS", "tls_secret", "-tls", "a".repeat(254)])
            assert.ok(!objectName.safeParse(bad).success, bad);
    });

    it("a zero request or limit is refused, as text in any unit", () => {
        for (const zero of ["0", "0m", "0Mi", "0.0Gi"]) {
            const result = containerResources.safeParse({
                cpu: { request: zero, limit: zero },
                memory: { request: "32Mi", limit: "32Mi" },
            });
            assert.deepEqual(
                issues(result).map(([path]) => path),
                ["cpu.request", "cpu.limit"],
                zero,
            );
        }
        assert.ok(
            containerResources.safeParse({ cpu: { request: "1m" }, memory: { request: "4Mi", limit: "32Mi" } }).success,
        );
    });

    it("ports are listed once", () => {
        assert.deepEqual(issues(portList.safeParse([5432, 3306, 5432])), [
            ["2", "repeats item 0: list each entry once"],
        ]);
    });

    it("identityPattern takes the trust domain as text", () => {
        assert.ok(identityPattern("cluster.local").test("a.b.serviceaccount.identity.linkerd.cluster.local"));
        assert.ok(!identityPattern("cluster.local").test("a.b.serviceaccount.identity.linkerd.clusterXlocal"));
        assert.doesNotThrow(() => identityPattern("a(b[c"));
        assert.doesNotThrow(
            () => identityPattern("x".repeat(100_000)).test("a.b"),
            "100 kB: too large to compile, compared as text",
        );
        assert.ok(
            !identityPattern("local").test("a.b.c.serviceaccount.identity.linkerd.local"),
            "three names before the suffix",
        );
    });
});
