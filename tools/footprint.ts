/**
 * The mesh's declared footprint: requests and limits of every long-running
 * container the program's charts create, plus N meshed application pods' proxies,
 * computed from the chart values a (mock) run registered.
 *
 * Which value feeds which container comes from the pinned charts' templates
 * (rendered with Helm at edge-26.8.3, cert-manager v1.21.1): e.g. the destination pod runs the
 * `destination`, `sp-validator` and `policy` containers plus a proxy, each
 * control-plane deployment has `controllerReplicas` replicas. Jobs and CronJobs
 * (heartbeat, the rotation check) run for seconds a day and are left out.
 */
import { parseQuantity } from "../lib/quantity";
import type { ProgramRun } from "./mockRuntime";

export interface ContainerFootprint {
    chart: string;
    pod: string;
    container: string;
    replicas: number;
    /** CPU in cores, memory in bytes; a missing limit is `undefined` (unbounded). */
    cpuRequest: number;
    cpuLimit: number | undefined;
    memoryRequest: number;
    memoryLimit: number | undefined;
    /** The values path the figures come from. */
    source: string;
}

export interface Footprint {
    containers: ContainerFootprint[];
    cpuRequest: number;
    memoryRequest: number;
    /** Sums of the limits that are set. */
    cpuLimit: number;
    memoryLimit: number;
    /** Containers without a CPU or memory limit. */
    unbounded: string[];
}

interface PodLayout {
    pod: string;
    /** Value paths of the pod's own containers' resources. */
    containers: Record<string, string>;
    /** Whether the pod runs a linkerd-proxy (meshed control-plane pod). */
    proxy: boolean;
    /** Value path of the replica count, or a fixed number. */
    replicas: string | number;
}

/** Pod composition of each chart the program installs, by chart name. */
export const POD_LAYOUTS: Record<string, PodLayout[]> = {
    "linkerd-control-plane": [
        {
            pod: "linkerd-destination",
            containers: {
                destination: "destinationResources",
                "sp-validator": "spValidatorResources",
                policy: "policyController.resources",
            },
            proxy: true,
            replicas: "controllerReplicas",
        },
        {
            pod: "linkerd-identity",
            containers: { identity: "identityResources" },
            proxy: true,
            replicas: "controllerReplicas",
        },
        {
            pod: "linkerd-proxy-injector",
            containers: { "proxy-injector": "proxyInjectorResources" },
            proxy: true,
            replicas: "controllerReplicas",
        },
    ],
    // viz/charts/linkerd-viz templates: every viz pod is injected (linkerd.io/inject: enabled).
    "linkerd-viz": [
        { pod: "prometheus", containers: { prometheus: "prometheus.resources" }, proxy: true, replicas: 1 },
        { pod: "tap", containers: { tap: "tap.resources" }, proxy: true, replicas: "tap.replicas" },
        {
            pod: "tap-injector",
            containers: { "tap-injector": "tapInjector.resources" },
            proxy: true,
            replicas: "tapInjector.replicas",
        },
        { pod: "web", containers: { web: "dashboard.resources" }, proxy: true, replicas: "dashboard.replicas" },
        {
            pod: "metrics-api",
            containers: { "metrics-api": "metricsAPI.resources" },
            proxy: true,
            replicas: "metricsAPI.replicas",
        },
    ],
    // cert-manager v1.21.1 templates: one container per deployment.
    "cert-manager": [
        {
            pod: "cert-manager",
            containers: { "cert-manager-controller": "resources" },
            proxy: false,
            replicas: "replicaCount",
        },
        {
            pod: "cert-manager-webhook",
            containers: { "cert-manager-webhook": "webhook.resources" },
            proxy: false,
            replicas: "webhook.replicaCount",
        },
        {
            pod: "cert-manager-cainjector",
            containers: { "cert-manager-cainjector": "cainjector.resources" },
            proxy: false,
            replicas: "cainjector.replicaCount",
        },
    ],
};

/** The footprint of the charts in `run` plus `meshedPods` application proxies. */
export function meshFootprint(run: ProgramRun, meshedPods: number): Footprint {
    const containers: ContainerFootprint[] = [];
    const charts = run.resources.filter((r) => r.type === "kubernetes:helm.sh/v4:Chart");
    // Every injected proxy gets the control plane's proxy.resources (the injector's default).
    const controlPlane = charts.find((c) => c.inputs.chart === "linkerd-control-plane");
    const proxyResources = at(controlPlane?.inputs.values ?? {}, "proxy.resources");
    for (const chart of charts) {
        const values = chart.inputs.values ?? {};
        for (const layout of POD_LAYOUTS[chart.inputs.chart] ?? []) {
            const replicas =
                typeof layout.replicas === "number" ? layout.replicas : Number(at(values, layout.replicas) ?? 1);
            const add = (container: string, source: string, resources: unknown) =>
                containers.push({
                    chart: chart.inputs.chart,
                    pod: layout.pod,
                    container,
                    replicas,
                    source,
                    ...figures(resources),
                });
            for (const [container, source] of Object.entries(layout.containers))
                add(container, source, at(values, source));
            if (layout.proxy) add("linkerd-proxy", "linkerd-control-plane proxy.resources", proxyResources);
        }
    }
    if (meshedPods > 0) {
        containers.push({
            chart: "linkerd-control-plane",
            pod: "meshed application pods",
            container: "linkerd-proxy",
            replicas: meshedPods,
            source: "linkerd-control-plane proxy.resources",
            ...figures(proxyResources),
        });
    }
    const sum = (pick: (c: ContainerFootprint) => number | undefined) =>
        containers.reduce((total, c) => total + (pick(c) ?? 0) * c.replicas, 0);
    return {
        containers,
        cpuRequest: sum((c) => c.cpuRequest),
        memoryRequest: sum((c) => c.memoryRequest),
        cpuLimit: sum((c) => c.cpuLimit),
        memoryLimit: sum((c) => c.memoryLimit),
        unbounded: containers
            .filter((c) => c.cpuLimit === undefined || c.memoryLimit === undefined)
            .map((c) => `${c.pod}/${c.container}`),
    };
}

/** Reads Linkerd's `{cpu: {request, limit}}` shape or Kubernetes' `{requests, limits}`. */
function figures(
    resources: any,
): Pick<ContainerFootprint, "cpuRequest" | "cpuLimit" | "memoryRequest" | "memoryLimit"> {
    const quantity = (q: unknown) => (typeof q === "string" && q !== "" ? parseQuantity(q) : undefined);
    const kubernetesShape = resources?.requests !== undefined || resources?.limits !== undefined;
    const pick = (kind: "cpu" | "memory", bound: "request" | "limit") =>
        quantity(kubernetesShape ? resources?.[`${bound}s`]?.[kind] : resources?.[kind]?.[bound]);
    return {
        cpuRequest: pick("cpu", "request") ?? 0,
        cpuLimit: pick("cpu", "limit"),
        memoryRequest: pick("memory", "request") ?? 0,
        memoryLimit: pick("memory", "limit"),
    };
}

function at(values: any, dotted: string): unknown {
    return dotted.split(".").reduce((node, key) => (node == null ? undefined : node[key]), values);
}
