/**
 * The real charts in the suite: every chart the program registers, for every stack and mode, is
 * rendered with a real Helm (`helm template`, what helm.v4.Chart does) from the pinned archive and
 * the exact values the program hands it. Upstream tier: the archives and Helm come from
 * tools/upstream.ts and tools/helm.ts; in CI a missing one fails the tier, elsewhere it is skipped
 * with the reason (test/upstream.ts).
 */
import { strict as assert } from "node:assert";
import { meshFootprint } from "../tools/footprint";
import { ofType, ProgramRun, RecordedResource } from "../tools/mockRuntime";
import { MIB, parseQuantity } from "../lib/quantity";
import { CHARTS } from "../lib/registry";
import { chartFiles, render, RenderedObject } from "../tools/helm";
import { assertAllValid } from "../tools/kubeValidate";
import { chartArchive } from "../tools/upstream";
import { webhooksCalled } from "./admission";
import { runStackOk } from "./helpers";
import {
    allCrdSchemas,
    archiveOf,
    crdSchemas,
    gatewayApiCrds,
    renderRegistered,
    schemaProblems,
    upstream,
} from "./upstream";

const CHART = "kubernetes:helm.sh/v4:Chart";
const NETCUP_MEMORY = 16 * 1024 * MIB;

/** A copy of the chart whose templates see another clock: `now` becomes a fixed instant. */
const atClock = (instant: string) => (text: string) =>
    text.replace(/\{\{[^}]*\}\}/g, (action) =>
        action.replace(/\bnow\b/g, `(toDate "2006-01-02T15:04:05Z07:00" "${instant}")`),
    );
const CLOCKS = ["2026-11-23T04:05:06Z", "2031-07-08T21:43:59Z"];

/** Each stack, plus the modes a stack file can switch to. */
const VARIANTS: [string, string, Record<string, unknown>][] = [
    ["k3d (static issuer)", "k3d", {}],
    ["netcup (cert-manager issuer)", "netcup", {}],
    ["eks (HA, Gateway API installed)", "eks", {}],
    ["gke (HA)", "gke", {}],
    ["netcup with the static issuer", "netcup", { "identity.issuer.mode": "static" }],
    ["netcup with the CNI plugin", "netcup", { "linkerd.cni.enabled": true }],
    [
        "eks with an external Prometheus and the operator",
        "eks",
        {
            "viz.prometheus.mode": "external",
            "viz.prometheus.alertmanagers": [],
            "viz.prometheus.url": "http://prometheus.monitoring.svc:9090",
            "observability.prometheusOperator": true,
        },
    ],
];

type Renders = Map<string, RenderedObject[]>;

/** Whether any template of the chart's archive calls `now`. */
async function usesClock(chart: RecordedResource): Promise<boolean> {
    const files = chartFiles(await archiveOf(chart));
    return [...files].some(([file, text]) => file.includes("templates/") && atClock(CLOCKS[0])(text) !== text);
}

const stable = (objects: RenderedObject[]) => JSON.stringify(objects);

function containersOf(object: RenderedObject): { pod: any; replicas: number } | undefined {
    if (!["Deployment", "StatefulSet", "DaemonSet"].includes(object.kind)) return undefined;
    return { pod: object.spec.template, replicas: object.kind === "DaemonSet" ? 1 : (object.spec.replicas ?? 1) };
}

describe("the real charts, rendered with the program's values", function () {
    this.timeout(300_000);

    for (const [label, stack, overrides] of VARIANTS) {
        describe(label, () => {
            let run: ProgramRun;
            const renders: Renders = new Map();
            before(async function () {
                run = await runStackOk(stack, { "mtls.enabled": true, ...overrides });
                for (const chart of ofType(run, CHART))
                    renders.set(chart.inputs.chart, await upstream(this, () => renderRegistered(chart)));
            });

            it("renders every chart the program installs", () => {
                const expected = [
                    "linkerd-crds",
                    "linkerd-control-plane",
                    "linkerd-viz",
                    ...(run.outputs.certManagerChartVersion ? ["cert-manager"] : []),
                    ...(ofType(run, CHART).some((c) => c.inputs.chart === "linkerd2-cni") ? ["linkerd2-cni"] : []),
                ];
                assert.deepEqual([...renders.keys()].sort(), expected.sort());
                for (const [chart, objects] of renders) assert.ok(objects.length > 0, chart);
            });

            it("two renders, and two renders under different clocks, give the same objects", async () => {
                for (const chart of ofType(run, CHART)) {
                    const first = stable(renders.get(chart.inputs.chart)!);
                    const again = render(await archiveOf(chart), {
                        release: chart.inputs.name,
                        namespace: chart.inputs.namespace,
                        values: chart.inputs.values,
                    });
                    assert.equal(stable(again), first, `${chart.inputs.chart}: a second render differs`);
                    // Only a template that calls `now` can depend on the clock; render those under two clocks.
                    if (!(await usesClock(chart))) continue;
                    for (const clock of CLOCKS) {
                        const shifted = await renderRegistered(chart, { patchTemplates: atClock(clock) });
                        assert.equal(
                            stable(shifted),
                            first,
                            `${chart.inputs.chart}: the render depends on the clock (${clock})`,
                        );
                    }
                }
            });

            it("every rendered object is valid against the published schemas (built-in kinds, the charts' CRDs)", async () => {
                const { schemas } = await allCrdSchemas();
                for (const [chart, objects] of renders) {
                    assert.deepEqual(await schemaProblems(objects, schemas), [], chart);
                }
            });

            it("no chart renders a Secret or webhook CA of its own: certificates come from the program or cert-manager", () => {
                for (const [chart, objects] of renders) {
                    const secrets = objects.filter((o) => o.kind === "Secret").map((o) => o.metadata.name);
                    assert.deepEqual(secrets, [], `${chart} renders Secrets ${secrets.join(", ")}`);
                }
                const trustRoots = renders
                    .get("linkerd-control-plane")!
                    .filter((o) => o.metadata.name === "linkerd-identity-trust-roots");
                assert.deepEqual(trustRoots, [], "identity.externalCA: the program owns the trust roots");
                assert.ok(!renders.get("linkerd-control-plane")!.some((o) => o.kind === "CronJob"), "no heartbeat");
            });
        });
    }

    describe("the mesh's settings, as the charts render them", () => {
        const renderedFor = async (context: Mocha.Context, stack: string, overrides: Record<string, unknown> = {}) => {
            const run = await runStackOk(stack, { "mtls.enabled": true, ...overrides });
            const byChart = new Map<string, RenderedObject[]>();
            for (const chart of ofType(run, CHART))
                byChart.set(chart.inputs.chart, await upstream(context, () => renderRegistered(chart)));
            return { run, byChart };
        };
        const podsOf = (objects: RenderedObject[]) =>
            objects.filter((o) => containersOf(o)).map((o) => ({ name: o.metadata.name, spec: o.spec.template.spec }));

        it("meshed traffic keeps its port (transparent), the injector acts only in the mesh's namespaces, proxies drop every capability", async function () {
            const { byChart } = await renderedFor(this, "netcup", { "mtls.namespaces": ["akko", "spark"] });
            const controlPlane = byChart.get("linkerd-control-plane")!;
            const destination = controlPlane.find(
                (o) => o.kind === "Deployment" && o.metadata.name === "linkerd-destination",
            )!;
            const args = destination.spec.template.spec.containers.flatMap((c: any) => c.args ?? []);
            assert.ok(args.includes("-outbound-transport-mode=transparent"), args.join(" "));

            const injector = controlPlane.find((o) => o.kind === "MutatingWebhookConfiguration")!;
            const selector = injector.webhooks[0].namespaceSelector;
            const names = selector.matchExpressions.find((e: any) => e.key === "kubernetes.io/metadata.name");
            assert.equal(names.operator, "In");
            assert.ok(names.values.includes("akko") && names.values.includes("spark"), JSON.stringify(selector));
            // netcup meshes k3s' Traefik (annotated through its HelmChartConfig), hence kube-system in scope;
            // nothing else in kube-system carries the inject annotation. Without the ingress hop it is out.
            assert.ok(names.values.includes("kube-system"), "k3s-traefik");
            const withoutIngress = await renderedFor(this, "netcup", { "mtls.ingress.enabled": false });
            const scope = withoutIngress.byChart
                .get("linkerd-control-plane")!
                .find((o) => o.kind === "MutatingWebhookConfiguration")!.webhooks[0].namespaceSelector;
            assert.ok(!JSON.stringify(scope).includes("kube-system"), JSON.stringify(scope));

            // The control plane's own proxies are rendered from the same values the injector uses.
            for (const pod of podsOf(controlPlane)) {
                const proxy =
                    pod.spec.containers.find((c: any) => c.name === "linkerd-proxy") ??
                    pod.spec.initContainers?.find((c: any) => c.name === "linkerd-proxy");
                if (!proxy) continue;
                assert.deepEqual(proxy.securityContext.capabilities, { drop: ["ALL"] }, pod.name);
                assert.equal(proxy.securityContext.allowPrivilegeEscalation, false, pod.name);
            }
        });

        it("with the CNI plugin: no privileged proxy-init anywhere, the network validator instead, the plugin installed into the node's k3s paths", async function () {
            const { byChart } = await renderedFor(this, "netcup", { "linkerd.cni.enabled": true });
            const controlPlane = byChart.get("linkerd-control-plane")!;
            for (const pod of podsOf(controlPlane)) {
                const inits = (pod.spec.initContainers ?? []).map((c: any) => c.name);
                assert.ok(!inits.includes("linkerd-init"), `${pod.name} still runs proxy-init`);
                assert.ok(inits.includes("linkerd-network-validator"), `${pod.name}: ${inits}`);
            }
            const namespace = controlPlane.find((o) => o.kind === "Namespace");
            if (namespace)
                assert.equal(namespace.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
            const plugin = byChart.get("linkerd2-cni")!.find((o) => o.kind === "DaemonSet")!;
            const hostPaths = plugin.spec.template.spec.volumes
                .filter((v: any) => v.hostPath)
                .map((v: any) => v.hostPath.path)
                .sort();
            assert.deepEqual(hostPaths, ["/var/lib/rancher/k3s/agent/etc/cni/net.d", "/var/lib/rancher/k3s/data/cni"]);
        });
    });

    it("the clock check catches a clock-dependent render (the heartbeat as the chart draws it)", async function () {
        const archive = await upstream(this, () => chartArchive(CHARTS.linkerdControlPlane));
        const run = await runStackOk("k3d", { "mtls.enabled": true });
        const values = {
            ...ofType(run, CHART).find((c) => c.inputs.chart === "linkerd-control-plane")!.inputs.values,
            disableHeartBeat: false,
        };
        const [a, b] = CLOCKS.map((clock) =>
            render(archive, {
                release: "linkerd-control-plane",
                namespace: "linkerd",
                values,
                patchTemplates: atClock(clock),
            }),
        );
        const schedule = (objects: RenderedObject[]) => objects.find((o) => o.kind === "CronJob")!.spec.schedule;
        assert.notEqual(schedule(a), schedule(b), "drawn from the render time (templates/heartbeat.yaml:25)");
    });

    describe("targets, from the rendered objects", () => {
        const rendered = async (context: Mocha.Context, stack: string) => {
            const run = await runStackOk(stack, { "mtls.enabled": true });
            const all: RenderedObject[] = [];
            for (const chart of ofType(run, CHART))
                all.push(...(await upstream(context, () => renderRegistered(chart))));
            return { run, all };
        };
        const controlPlaneDeployments = (all: RenderedObject[]) =>
            all.filter(
                (o) =>
                    o.kind === "Deployment" &&
                    ["linkerd-destination", "linkerd-identity", "linkerd-proxy-injector"].includes(o.metadata.name),
            );

        for (const stack of ["eks", "gke"]) {
            it(`${stack}: three replicas spread over nodes, a PodDisruptionBudget each, webhooks Fail`, async function () {
                const { all } = await rendered(this, stack);
                for (const deployment of controlPlaneDeployments(all)) {
                    assert.equal(deployment.spec.replicas, 3, deployment.metadata.name);
                    assert.ok(
                        deployment.spec.template.spec.affinity?.podAntiAffinity
                            ?.requiredDuringSchedulingIgnoredDuringExecution,
                        "anti-affinity",
                    );
                    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 1);
                }
                const pdbs = all.filter((o) => o.kind === "PodDisruptionBudget").map((o) => o.metadata.name);
                // charts/linkerd-control-plane/templates: destination.yaml names its PDB linkerd-dst.
                for (const name of ["linkerd-dst", "linkerd-identity", "linkerd-proxy-injector"])
                    assert.ok(pdbs.includes(name), `${name} PDB`);
                const webhooks = all.filter(
                    (o) => /WebhookConfiguration$/.test(o.kind) && o.metadata.name.startsWith("linkerd-"),
                );
                assert.ok(webhooks.length >= 3);
                for (const webhook of webhooks.filter((w) => !w.metadata.name.includes("tap")))
                    assert.equal(webhook.webhooks[0].failurePolicy, "Fail");
            });
        }

        for (const stack of ["eks", "gke"]) {
            it(`${stack}: with failure policy Fail, no webhook of the control plane is called outside the mesh's namespaces`, async function () {
                const { all } = await rendered(this, stack);
                const linkerd = all.filter(
                    (o) =>
                        /WebhookConfiguration$/.test(o.kind) &&
                        o.metadata.name.startsWith("linkerd-") &&
                        !o.metadata.name.includes("tap"),
                );
                const scopes = linkerd.map((o) => JSON.stringify(o.webhooks[0].namespaceSelector));
                assert.equal(new Set(scopes).size, 1, `the injector's scope for every webhook: ${scopes.join(" ")}`);
                const request = (namespace: string, group: string, version: string, resource: string) =>
                    webhooksCalled(linkerd, { operation: "CREATE", namespace, group, version, resource });
                // Another team's namespace: a destination outage must not block its routes, profiles or pods.
                for (const [group, version, resource] of [
                    ["gateway.networking.k8s.io", "v1", "httproutes"],
                    ["gateway.networking.k8s.io", "v1", "grpcroutes"],
                    ["policy.linkerd.io", "v1beta3", "servers"],
                    ["linkerd.io", "v1alpha2", "serviceprofiles"],
                    ["", "v1", "pods"],
                ]) {
                    assert.deepEqual(request("team-a", group, version, resource), [], `${resource} in team-a`);
                    assert.deepEqual(
                        request("kube-system", group, version, resource),
                        [],
                        `${resource} in kube-system`,
                    );
                }
                // The mesh's own namespaces keep every check.
                assert.deepEqual(request("akko", "gateway.networking.k8s.io", "v1", "httproutes"), [
                    {
                        name: "linkerd-policy-validator-webhook-config/linkerd-policy-validator.linkerd.io",
                        failurePolicy: "Fail",
                    },
                ]);
                assert.deepEqual(request("akko", "linkerd.io", "v1alpha2", "serviceprofiles"), [
                    {
                        name: "linkerd-sp-validator-webhook-config/linkerd-sp-validator.linkerd.io",
                        failurePolicy: "Fail",
                    },
                ]);
                assert.deepEqual(
                    request("akko", "", "v1", "pods").map((w) => w.name),
                    ["linkerd-proxy-injector-webhook-config/linkerd-proxy-injector.linkerd.io"],
                );
            });
        }

        for (const stack of ["k3d", "netcup"]) {
            it(`${stack}: one replica, no PDB or anti-affinity, explicit requests and limits on every container`, async function () {
                const { all } = await rendered(this, stack);
                for (const deployment of controlPlaneDeployments(all)) {
                    assert.equal(deployment.spec.replicas, 1);
                    assert.equal(deployment.spec.template.spec.affinity, undefined);
                }
                assert.deepEqual(
                    all.filter((o) => o.kind === "PodDisruptionBudget" && o.metadata.name.startsWith("linkerd-")),
                    [],
                );
                for (const object of all) {
                    const workload = containersOf(object);
                    if (!workload) continue;
                    for (const container of [
                        ...(workload.pod.spec.initContainers ?? []),
                        ...workload.pod.spec.containers,
                    ]) {
                        const what = `${object.metadata.name}/${container.name}`;
                        for (const kind of ["cpu", "memory"]) {
                            assert.ok(container.resources?.requests?.[kind], `${what}: ${kind} request`);
                            assert.ok(container.resources?.limits?.[kind], `${what}: ${kind} limit`);
                        }
                    }
                }
            });
        }

        /**
         * Where each target's container runtime reads CNI configuration and plugins, from the
         * runtimes' own sources (config/presets.ts K3S_CNI, GKE_CNI): k3s' containerd `bin_dir` and
         * `conf_dir`; GKE's kubelet `--cni-bin-dir=/home/kubernetes/bin` (no /opt/cni on COS); EKS'
         * VPC CNI in the defaults. The plugin's DaemonSet must write exactly there.
         */
        const RUNTIME_CNI_PATHS: Record<string, { conf: string; bin: string }> = {
            k3d: { conf: "/var/lib/rancher/k3s/agent/etc/cni/net.d", bin: "/var/lib/rancher/k3s/data/cni" },
            netcup: { conf: "/var/lib/rancher/k3s/agent/etc/cni/net.d", bin: "/var/lib/rancher/k3s/data/cni" },
            eks: { conf: "/etc/cni/net.d", bin: "/opt/cni/bin" },
            gke: { conf: "/etc/cni/net.d", bin: "/home/kubernetes/bin" },
        };
        for (const [stack, paths] of Object.entries(RUNTIME_CNI_PATHS)) {
            it(`${stack}: the CNI plugin's DaemonSet writes its binary and config where the node's runtime reads them`, async function () {
                const run = await runStackOk(stack, { "mtls.enabled": true, "linkerd.cni.enabled": true });
                const chart = ofType(run, CHART).find((c) => c.inputs.chart === "linkerd2-cni")!;
                const objects = await upstream(this, () => renderRegistered(chart));
                const daemonSet = objects.find((o) => o.kind === "DaemonSet")!;
                const volumes = daemonSet.spec.template.spec.volumes.filter((v: any) => v.hostPath);
                const mounts = daemonSet.spec.template.spec.containers.find(
                    (c: any) => c.name === "install-cni",
                ).volumeMounts;
                // install-cni writes into /host<dir> (the chart's cni-plugin.yaml), i.e. the host's <dir>.
                const hostDirOf = (inContainer: string) => {
                    const mount = mounts.find((m: any) => m.mountPath === `/host${inContainer}`);
                    return mount && volumes.find((v: any) => v.name === mount.name)?.hostPath.path;
                };
                const config = objects.find((o) => o.kind === "ConfigMap" && o.data?.dest_cni_bin_dir)!;
                assert.equal(hostDirOf(config.data.dest_cni_bin_dir), paths.bin, `${stack}: the plugin binary`);
                assert.equal(
                    hostDirOf(config.data.dest_cni_net_dir),
                    paths.conf,
                    `${stack}: the chained configuration`,
                );
            });
        }

        it("netcup: the mesh with 50 meshed pods requests at most 10 % of 16 GiB, counted from the rendered containers", async function () {
            const { run, all } = await rendered(this, "netcup");
            const proxy = run.resources.find((r) => r.type === CHART && r.inputs.chart === "linkerd-control-plane")!
                .inputs.values.proxy.resources;
            const proxyMemory = parseQuantity(proxy.memory.request);
            let memory = 0;
            for (const object of all) {
                const workload = containersOf(object);
                if (!workload) continue;
                const containers = [
                    ...workload.pod.spec.containers,
                    ...(workload.pod.spec.initContainers ?? []).filter((c: any) => c.restartPolicy === "Always"),
                ];
                const hasProxy = containers.some((c) => c.name === "linkerd-proxy");
                // viz's pods are injected at admission (annotated linkerd.io/inject: enabled): their proxy is not rendered.
                const injected = !hasProxy && workload.pod.metadata?.annotations?.["linkerd.io/inject"] === "enabled";
                const perPod =
                    containers.reduce((sum, c) => sum + parseQuantity(c.resources.requests.memory), 0) +
                    (injected ? proxyMemory : 0);
                memory += perPod * workload.replicas;
            }
            memory += 50 * proxyMemory;
            assert.ok(
                memory <= 0.1 * NETCUP_MEMORY,
                `${(memory / MIB).toFixed(0)} MiB of requests > ${(0.1 * NETCUP_MEMORY) / MIB} MiB`,
            );
            assert.equal(
                memory,
                meshFootprint(run, 50).memoryRequest,
                "tools/footprint.ts counts what the charts really render",
            );
        });
    });

    it("the Gateway API CRDs the program installs are the upstream standard channel, v1.2.1, and valid", async function () {
        const crds = await upstream(this, gatewayApiCrds);
        assert.deepEqual(
            crds.map((c: any) => c.metadata.name).sort(),
            ["gatewayclasses", "gateways", "grpcroutes", "httproutes", "referencegrants"].map(
                (n) => `${n}.gateway.networking.k8s.io`,
            ),
        );
        for (const crd of crds as any[]) {
            assert.equal(crd.metadata.annotations["gateway.networking.k8s.io/bundle-version"], "v1.2.1");
            assert.equal(crd.metadata.annotations["gateway.networking.k8s.io/channel"], "standard");
        }
        await assertAllValid(crds, await crdSchemas());
    });

    it("archives are what the registry pins", async function () {
        for (const chart of Object.values(CHARTS)) {
            const archive = await upstream(this, () => chartArchive(chart));
            assert.match(archive, new RegExp(`${chart.chart}-${chart.version.replace(/\./g, "\\.")}\\.tgz$`));
        }
        const run = await runStackOk("netcup", { "mtls.enabled": true });
        for (const chart of ofType(run, CHART)) assert.ok(await archiveOf(chart));
    });
});
