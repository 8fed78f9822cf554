/**
 * Defaults, as data, in one place: what every stack gets, then what each target
 * changes. A stack file overrides any of it (`config/index.ts` merges
 * defaults <- preset <- stack file, then validates the result).
 */
import type { ContainerResources, MeshConfigInput, Target } from "./schema";

export type DeepPartial<T> = T extends readonly (infer U)[]
    ? readonly U[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

/** Pinned upstream versions (see ../shared/FACTS.md "Versions and sources"). */
export const LINKERD_CHART_VERSION = "2026.8.3"; // edge-26.8.3
export const LINKERD_EDGE_REPOSITORY = "https://helm.linkerd.io/edge";

const resources = (cpuRequest: string, memoryRequest: string, memoryLimit: string, cpuLimit?: string): ContainerResources => ({
    cpu: { request: cpuRequest, limit: cpuLimit },
    memory: { request: memoryRequest, limit: memoryLimit },
});

/** Applies to every target unless its preset or the stack file says otherwise. */
export const DEFAULTS: DeepPartial<MeshConfigInput> = {
    // One sprint with the switch off before flipping it on (ADR).
    mtls: { enabled: false },
    linkerd: {
        chartVersion: LINKERD_CHART_VERSION,
        repository: LINKERD_EDGE_REPOSITORY,
        // nft has been the chart default since linkerd2#14326 (EKS 1.33 dropped legacy iptables;
        // "nft mode is now broadly supported"). Set `legacy` only for nodes without nf_tables.
        proxyInit: { iptablesMode: "nft" },
    },
    identity: {
        trustDomain: "cluster.local",
        // Linkerd docs: anchor 87600 h, issuer 8760 h; `linkerd check` warns under 60 days.
        trustAnchor: { validityHours: 87600, expiryWarningDays: 60 },
        // Re-issued by any `pulumi up` in the last 90 days, so `linkerd check` (60 days) never warns
        // on a stack that is deployed at least once a month.
        issuer: { mode: "static", validityHours: 8760, renewBeforeHours: 2160 },
    },
};

/**
 * Single-node sizing (k3d, k3s on the 16 GiB Netcup box): explicit requests AND limits on
 * every container, requests kept small so the mesh with 50 meshed pods stays within 10 % of
 * 16 GiB (checked by test/footprint.test.ts). The proxy's CPU limit is one core, matching the
 * chart's `proxy.runtime.workers.minimum: 1`.
 */
const singleNode: DeepPartial<MeshConfigInput> = {
    linkerd: {
        gatewayApi: "install",
        highAvailability: false,
        controllerReplicas: 1,
        webhookFailurePolicy: "Ignore",
        proxy: { resources: resources("10m", "16Mi", "128Mi", "1") },
        controlPlaneResources: {
            destination: resources("20m", "48Mi", "256Mi", "500m"),
            spValidator: resources("10m", "16Mi", "64Mi", "200m"),
            policyController: resources("10m", "32Mi", "128Mi", "500m"),
            identity: resources("10m", "16Mi", "64Mi", "200m"),
            proxyInjector: resources("10m", "32Mi", "128Mi", "500m"),
            heartbeat: resources("10m", "16Mi", "64Mi", "100m"),
        },
    },
};

/** Linkerd's values-ha.yaml (charts/linkerd-control-plane/values-ha.yaml), as config. */
const ha = resources("100m", "50Mi", "250Mi");
const highlyAvailable: DeepPartial<MeshConfigInput> = {
    linkerd: {
        highAvailability: true,
        controllerReplicas: 3,
        webhookFailurePolicy: "Fail",
        proxy: { resources: resources("100m", "20Mi", "250Mi") },
        controlPlaneResources: {
            destination: ha,
            spValidator: ha,
            policyController: ha,
            identity: resources("100m", "10Mi", "250Mi"),
            proxyInjector: ha,
            heartbeat: ha,
        },
    },
};

export const TARGET_PRESETS: Record<Target, DeepPartial<MeshConfigInput>[]> = {
    k3d: [singleNode],
    // k3s >= 1.37 bundles the Gateway API CRDs (k3s-io/k3s#14564): such a stack sets
    // `linkerd.gatewayApi: present`.
    k3s: [singleNode],
    // EKS ships no Gateway API CRDs.
    eks: [highlyAvailable, { linkerd: { gatewayApi: "install" } }],
    // GKE >= 1.34 installs the GA Gateway API CRDs itself (older clusters: enable the
    // Gateway API on the cluster); Linkerd must not fight GKE over them.
    gke: [highlyAvailable, { linkerd: { gatewayApi: "present" } }],
};
