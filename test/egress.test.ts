/**
 * Egress control on every stack, under the mock runtime: each mode's objects, valid against the
 * pinned CRDs (linkerd-crds' EgressNetwork, Gateway API v1.2.1 HTTPRoute and experimental TLSRoute),
 * in an order that never denies what is allowed; `off` changes nothing; what a target cannot express
 * is refused before any resource; the dashboard and the alert parse and use the proxy's metric names.
 */
import { parser } from "@prometheus-io/lezer-promql";
import { strict as assert } from "node:assert";
import YAML from "yaml";
import { egressDashboard, egressPromql, egressRuleGroups } from "../components/observability/egress";
import { dependsOn, ofType, one, ProgramRun, RecordedResource } from "../tools/mockRuntime";
import { normalize } from "../tools/planSnapshot";
import { asObject, assertValid, schemasFor } from "./crdSchemas";
import { runScript } from "./fakeCluster";
import { upstream } from "./upstream";
import { pinnedFile } from "../tools/upstream";
import { GATEWAY_API, GATEWAY_API_TLSROUTE } from "../lib/registry";
import { runStack, runStackOk, STACKS } from "./helpers";

const NAMESPACE_PATCH = "kubernetes:core/v1:NamespacePatch";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const NAMESPACES = ["akko", "spark"];
const HTTP_HOST = "http://pypi.example.org";
const TLS_HOST = "*.s3.eu-central-1.amazonaws.com";
const S3_NETWORK = "52.95.128.0/21";

/** The egress objects of a run (EgressNetworks and routes). */
const egressObjects = (run: ProgramRun) =>
    run.resources.filter(
        (r) =>
            /^kubernetes:(policy\.linkerd\.io|gateway\.networking\.k8s\.io)\//.test(r.type) &&
            r.name.startsWith("akko-egress-"),
    );
const kindOf = (resource: RecordedResource) => resource.type.split(":")[2];
const byKind = (run: ProgramRun, kind: string) => egressObjects(run).filter((r) => kindOf(r) === kind);
const runEgress = (stack: string, egress: object, extra: Record<string, unknown> = {}) =>
    runStackOk(stack, { "mtls.enabled": true, "mtls.namespaces": NAMESPACES, "mtls.egress": egress, ...extra });
/** What the TLS-capable stack (the program installs Gateway API) may enforce; elsewhere HTTP hosts and networks. */
const enforceConfig = (stack: string) => ({
    mode: "enforce",
    allowedHosts: stack === "eks" ? [HTTP_HOST, TLS_HOST] : [HTTP_HOST],
    allowedNetworks: [S3_NETWORK],
    platformNetworks: ["10.0.0.1/32"],
});

/** Every URN with its inputs, what is random per run (keys, certificates) masked as the plan snapshot does. */
const planOf = (run: ProgramRun) => Object.fromEntries(run.resources.map((r) => [r.urn, normalize(r.inputs)]));

describe("egress control", () => {
    for (const stack of STACKS) {
        describe(stack, () => {
            it("off: nothing is created and the plan is the one of a stack without the key", async () => {
                // The run most suites share: the stack as it is, switched on.
                const without = await runStackOk(stack, { "mtls.enabled": true });
                const off = await runStackOk(stack, {
                    "mtls.enabled": true,
                    "mtls.egress": { mode: "off", allowedHosts: [HTTP_HOST] },
                });
                assert.deepEqual(egressObjects(off), []);
                assert.deepEqual(planOf(off), planOf(without));
            });

            it("audit: an Allow EgressNetwork per meshed namespace, hostname labels on, no route, no NetworkPolicy", async () => {
                const run = await runEgress(stack, { mode: "audit" });
                const networks = byKind(run, "EgressNetwork");
                assert.deepEqual(
                    networks.map((n) => [n.inputs.metadata.namespace, n.inputs.metadata.name, n.inputs.spec]),
                    NAMESPACES.map((ns) => [ns, "akko-egress", { trafficPolicy: "Allow" }]),
                );
                assert.equal(egressObjects(run).length, networks.length);
                assert.deepEqual(
                    run.resources.filter((r) => r.name === "akko-egress-no-bypass"),
                    [],
                    "audit refuses no pod",
                );
                assert.deepEqual(
                    ofType(run, NETWORK_POLICY).filter((p) => p.inputs.metadata.name === "akko-egress-networks"),
                    [],
                );
                for (const ns of NAMESPACES) {
                    const annotations = one(run, NAMESPACE_PATCH, `akko-mesh-${ns}-annotations`).inputs.metadata
                        .annotations;
                    assert.equal(annotations["config.linkerd.io/proxy-metrics-hostname-labels"], "true");
                    assert.equal(
                        annotations["config.linkerd.io/skip-outbound-ports"],
                        undefined,
                        "audit keeps proxy-init's defaults",
                    );
                }
                const controlPlane = one(run, "kubernetes:helm.sh/v4:Chart", "akko-linkerd-control-plane");
                for (const network of networks)
                    assert.ok(dependsOn(run, network, controlPlane), "after the policy validator");
            });

            it("enforce: a Deny EgressNetwork after the routes and the allowed networks, and the CIDR layer", async () => {
                const run = await runEgress(stack, enforceConfig(stack));
                for (const ns of NAMESPACES) {
                    const inNamespace = egressObjects(run).filter((o) => o.inputs.metadata.namespace === ns);
                    const deny = inNamespace.find((o) => o.inputs.metadata.name === "akko-egress")!;
                    assert.deepEqual(deny.inputs.spec, { trafficPolicy: "Deny" });
                    const allowances = inNamespace.filter((o) => o !== deny);
                    assert.deepEqual(allowances.map((o) => `${kindOf(o)}/${o.inputs.metadata.name}`).sort(), [
                        "EgressNetwork/akko-egress-allowed",
                        "HTTPRoute/egress-http-80-pypi.example.org",
                        ...(stack === "eks" ? ["TLSRoute/egress-tls-443--s3.eu-central-1.amazonaws.com"] : []),
                    ]);
                    for (const allowance of allowances)
                        assert.ok(dependsOn(run, deny, allowance), `Deny waits for ${allowance.name}`);
                    const annotations = one(run, NAMESPACE_PATCH, `akko-mesh-${ns}-annotations`).inputs.metadata
                        .annotations;
                    assert.equal(
                        annotations["config.linkerd.io/skip-outbound-ports"],
                        "",
                        "no outbound port bypasses the proxy",
                    );
                    const policy = one(run, NETWORK_POLICY, `akko-egress-${ns}-akko-egress-networks`);
                    const noBypass = one(
                        run,
                        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
                        "akko-egress-no-bypass",
                    );
                    assert.deepEqual(
                        noBypass.inputs.spec.matchConstraints.namespaceSelector.matchExpressions[0].values,
                        NAMESPACES,
                    );
                    one(
                        run,
                        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding",
                        "akko-egress-no-bypass",
                    );
                    assert.deepEqual(policy.inputs.spec.egress[1].to, [
                        { ipBlock: { cidr: S3_NETWORK } },
                        { ipBlock: { cidr: "10.0.0.1/32" } },
                    ]);
                }
            });

            it("every egress object is valid against the pinned CRDs", async function () {
                const schemas = await schemasFor(this);
                const runs = await Promise.all([
                    runEgress(stack, { mode: "audit" }),
                    runEgress(stack, enforceConfig(stack)),
                ]);
                const objects: RecordedResource[] = runs.flatMap((run) => [
                    ...egressObjects(run),
                    ...ofType(run, NETWORK_POLICY),
                    ...run.resources.filter((r) => r.name.startsWith("akko-egress-no-bypass")),
                ]);
                assert.ok(objects.length > 0);
                for (const object of objects) await assertValid(schemas, asObject(object), object.name);
            });
        });
    }

    it("TLS hosts install the experimental TLSRoute CRD on EKS before the control plane, and restart it once", async () => {
        const off = await runStackOk("eks", { "mtls.enabled": true });
        const audit = await runEgress("eks", { mode: "audit" });
        const group = one(audit, "kubernetes:yaml/v2:ConfigGroup", "akko-gateway-api-tlsroutes");
        assert.deepEqual(group.inputs.files, [
            "https://raw.githubusercontent.com/kubernetes-sigs/gateway-api/a8fe5c8732a37ef471d86afaf570ff8ad0ef0221/config/crd/experimental/gateway.networking.k8s.io_tlsroutes.yaml",
        ]);
        assert.deepEqual(group.transformNames, ["retainCustomResourceDefinitions"]);
        assert.ok(dependsOn(audit, one(audit, "kubernetes:helm.sh/v4:Chart", "akko-linkerd-control-plane"), group));
        assert.equal(ofType(off, "kubernetes:yaml/v2:ConfigGroup").length, 1, "no TLSRoute CRD without egress control");
        // The destination controller decides its watches at start: the control-plane digest names the CRD.
        const digest = (run: ProgramRun) =>
            ofType(run, "kubernetes:batch/v1:Job")
                .flatMap((job) => job.inputs.spec.template.spec.containers.flatMap((c: any) => c.env ?? []))
                .find((e: any) => e.name === "CONTROL_PLANE_DIGEST")?.value;
        assert.ok(digest(off));
        assert.notEqual(digest(audit), digest(off));
    });

    it("the pinned TLSRoute CRD is Gateway API v1.2.1's experimental one, serving v1alpha2 (what Linkerd edge-26.8.3 watches)", async function () {
        const text = await upstream(this, () => pinnedFile(GATEWAY_API_TLSROUTE));
        const crd = YAML.parse(text);
        assert.equal(crd.metadata.name, "tlsroutes.gateway.networking.k8s.io");
        assert.equal(crd.metadata.annotations["gateway.networking.k8s.io/bundle-version"], GATEWAY_API.bundleVersion);
        assert.equal(crd.metadata.annotations["gateway.networking.k8s.io/channel"], "experimental");
        assert.deepEqual(
            crd.spec.versions.filter((v: any) => v.served).map((v: any) => v.name),
            ["v1alpha2"],
        );
        assert.equal(GATEWAY_API_TLSROUTE.commit, GATEWAY_API.files[0].commit, "the same commit as the standard CRDs");
    });

    it("what a target cannot express is refused before any resource, naming the key and the fix", async () => {
        for (const stack of ["k3d", "netcup", "gke"]) {
            const run = await runStack(stack, {
                "mtls.enabled": true,
                "mtls.egress": { mode: "enforce", allowedHosts: ["api.example.com"] },
            });
            assert.ok(run.error, stack);
            assert.match(run.error.message, /mtls\.egress\.allowedHosts\[0\]/);
            assert.match(run.error.message, /TLSRoute v1alpha2/);
            assert.deepEqual(
                run.resources.filter((r) => r.custom),
                [],
            );
        }
        const bypass = await runStack("eks", {
            "mtls.enabled": true,
            "mtls.egress": { mode: "enforce" },
            "mtls.namespaceOptions": { akko: { skipOutboundPorts: [25] } },
        });
        assert.match(bypass.error!.message, /mtls\.namespaceOptions\.akko\.skipOutboundPorts.*around the proxy/);
    });

    it("a namespace's own mode overrides the stack's", async () => {
        const run = await runEgress(
            "eks",
            { mode: "audit" },
            { "mtls.namespaceOptions": { spark: { egress: { mode: "off" } } } },
        );
        assert.deepEqual(
            byKind(run, "EgressNetwork").map((n) => n.inputs.metadata.namespace),
            ["akko"],
        );
        const spark = one(run, NAMESPACE_PATCH, "akko-mesh-spark-annotations").inputs.metadata.annotations;
        assert.equal(spark["config.linkerd.io/proxy-metrics-hostname-labels"], undefined);
    });

    it("the egress dashboard and the denied-egress alert are deployed where egress is watched", async () => {
        const run = await runEgress("eks", { mode: "enforce", allowedHosts: [HTTP_HOST] });
        const dashboard = one(run, "kubernetes:core/v1:ConfigMap", "akko-observability-akko-mtls-egress");
        assert.ok(JSON.parse(dashboard.inputs.data["akko-mtls-egress.json"]).panels.length >= 4);
        const rules = YAML.parse(
            one(run, "kubernetes:core/v1:ConfigMap", "akko-observability-rules").inputs.data["akko_mtls_rules.yml"],
        );
        const alert = rules.groups.find((g: any) => g.name === "akko-mtls.egress").rules[0];
        assert.equal(alert.alert, "LinkerdEgressDenied");
        assert.match(alert.expr, /namespace=~"akko\|spark"\}/);
        const audit = await runEgress("eks", { mode: "audit" });
        const auditRules = YAML.parse(
            one(audit, "kubernetes:core/v1:ConfigMap", "akko-observability-rules").inputs.data["akko_mtls_rules.yml"],
        );
        assert.equal(
            auditRules.groups.find((g: any) => g.name === "akko-mtls.egress"),
            undefined,
            "audit refuses nothing: no alert",
        );
    });
});

describe("the network preflight on a namespace whose egress is enforced", () => {
    it("does not count the egress layer of an earlier run as the namespace's own isolation", async () => {
        const run = await runEgress("eks", enforceConfig("eks"));
        const layer = one(run, NETWORK_POLICY, "akko-egress-akko-akko-egress-networks").inputs;
        const declared = {
            akko: { denyIngress: false, denyEgress: false, opaqueIngress: [], opaqueEgress: [], opaquePorts: [] },
        };
        const result = runScript({
            issuer: { certPem: "unused" },
            bundle: "unused",
            answer: [["get networkpolicies.networking.k8s.io -n akko", JSON.stringify({ items: [layer] })]],
            env: { TASKS: "network-posture", NETWORK_POSTURE: JSON.stringify(declared) },
        });
        assert.equal(result.status, 0, result.stderr);
        // The same policy written by the operator (without the mesh's label) is theirs, and counts.
        const theirs = { ...layer, metadata: { name: layer.metadata.name, namespace: "akko" } };
        const refused = runScript({
            issuer: { certPem: "unused" },
            bundle: "unused",
            answer: [["get networkpolicies.networking.k8s.io -n akko", JSON.stringify({ items: [theirs] })]],
            env: { TASKS: "network-posture", NETWORK_POSTURE: JSON.stringify(declared) },
        });
        assert.equal(refused.status, 1);
    });
});

/**
 * The proxy's families (linkerd2-proxy v2.366.0, components/observability/egress.ts cites each).
 * `error` label values of close_total: metrics/transport.rs; route names: policy-controller grpc/src/outbound/*.rs.
 */
const PROXY_EGRESS_FAMILIES = [
    "outbound_http_route_request_statuses_total",
    "outbound_grpc_route_request_statuses_total",
    "outbound_tls_route_open_total",
    "outbound_tls_route_close_total",
    "outbound_tcp_route_open_total",
    "outbound_tcp_route_close_total",
];

/** Parses PromQL with Prometheus' own grammar; returns the families it selects by name or by `__name__=~`. */
function familiesOf(expr: string): string[] {
    const tree = parser.parse(expr.replace(/\$__rate_interval/g, "5m").replace(/\$namespace/g, "akko"));
    const names: string[] = [];
    tree.iterate({
        enter(node) {
            if (node.type.isError) throw new Error(`invalid PromQL at ${node.from}: ${expr}`);
            if (node.name === "VectorSelector") {
                const text = expr.slice(node.from, node.to);
                const identifier = node.node.getChild("Identifier");
                if (identifier) names.push(text.slice(identifier.from - node.from, identifier.to - node.from));
                const byName = /__name__=~"([^"]+)"/.exec(text);
                if (byName)
                    names.push(...PROXY_EGRESS_FAMILIES.filter((f) => new RegExp(`^(?:${byName[1]})$`).test(f)));
            }
        },
    });
    return names;
}

describe("egress PromQL", () => {
    it("every dashboard and alert expression parses and selects only the proxy's egress families, on EgressNetwork parents", () => {
        const exprs = [
            ...(egressDashboard() as any).panels.flatMap((p: any) => p.targets.map((t: any) => t.expr)),
            ...egressRuleGroups(["akko"], {}).flatMap((g) => g.rules.map((r) => r.expr)),
        ];
        for (const expr of exprs) {
            const families = familiesOf(expr);
            assert.ok(families.length > 0, expr);
            for (const family of families) assert.ok(PROXY_EGRESS_FAMILIES.includes(family), `${family} in ${expr}`);
            assert.match(expr, /parent_kind="EgressNetwork"/);
        }
    });

    it("denied traffic is the four deny routes of a Deny EgressNetwork, and nothing allowed", () => {
        const denied = egressPromql.denied("akko", "5m");
        assert.deepEqual(familiesOf(denied).sort(), [
            "outbound_grpc_route_request_statuses_total",
            "outbound_http_route_request_statuses_total",
            "outbound_tcp_route_close_total",
            "outbound_tls_route_close_total",
        ]);
        const routeNames = new RegExp(`^(?:${/route_name=~"([^"]+)"/.exec(denied)![1]})$`);
        for (const name of ["http-egress-deny", "grpc-egress-deny", "tls-egress-deny", "tcp-egress-deny"])
            assert.ok(routeNames.test(name));
        for (const name of ["http-egress-allow", "tcp-egress-allow", "egress-http-80-pypi.example.org"])
            assert.ok(!routeNames.test(name));
        assert.throws(() => familiesOf("sum(rate(outbound_tcp_route_open_total[5m])"), /invalid PromQL/);
    });
});
