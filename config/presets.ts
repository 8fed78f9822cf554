/**
 * Defaults, as data, in one place: what every stack gets, then what each target
 * changes. A stack file overrides any of it (`config/index.ts` merges
 * defaults <- preset <- stack file, then validates the result).
 */
import { LINKERD_ISSUANCE_LIFETIME } from "../lib/issuanceLifetime";
import { CERT_MANAGER_NAMESPACE, CHARTS, IMAGES, NAMESPACES } from "../lib/registry";
import type { ContainerResources, MeshConfigInput, Target } from "./schema";

export type DeepPartial<T> = T extends readonly (infer U)[]
    ? readonly U[]
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

const resources = (
    cpuRequest: string,
    memoryRequest: string,
    memoryLimit: string,
    cpuLimit?: string,
): ContainerResources => ({
    cpu: { request: cpuRequest, limit: cpuLimit },
    memory: { request: memoryRequest, limit: memoryLimit },
});

/** Applies to every target unless its preset or the stack file says otherwise. */
export const DEFAULTS: DeepPartial<MeshConfigInput> = {
    // One sprint with the switch off before flipping it on (ADR).
    // AKKO's namespaces run an ingress default-deny (egress open), hence the mesh's own policies;
    // a namespace that differs says so in namespaceOptions, and the preflight Job checks both.
    mtls: {
        enabled: false,
        namespaces: ["akko"],
        namespaceDefaults: { denyIngress: true, denyEgress: false },
        namespaceOptions: {},
        mode: "permissive",
        networkPolicies: true,
        drainOnDisable: true,
        authorizations: [],
        // Egress control is opt-in: audit first, read the panel, then enforce (docs/admin/egress.md).
        egress: { mode: "off", allowedHosts: [], allowedNetworks: [], platformNetworks: [] },
        // Off where the controller is not known in advance (eks, gke): name its namespace, then enable.
        ingress: {
            enabled: false,
            controller: "in-namespace",
            namespace: "ingress-nginx",
            mode: "enabled",
            k3sTraefikValues: {},
        },
    },
    linkerd: {
        chartVersion: CHARTS.linkerdControlPlane.version,
        repository: CHARTS.linkerdControlPlane.repository,
        // nft has been the chart default since linkerd2#14326 (EKS 1.33 dropped legacy iptables;
        // "nft mode is now broadly supported"). Set `legacy` only for nodes without nf_tables.
        proxyInit: { iptablesMode: "nft" },
        // The CNI plugin's chart defaults (charts/linkerd2-cni/values.yaml destCNINetDir, destCNIBinDir).
        cni: {
            enabled: false,
            netDir: "/etc/cni/net.d",
            binDir: "/opt/cni/bin",
            resources: resources("10m", "16Mi", "64Mi", "100m"),
        },
        networkPolicies: false,
    },
    identity: {
        trustDomain: "cluster.local",
        // Linkerd docs: anchor 87600 h; `linkerd check` warns under 60 days. A phase waits the floor
        // derived from the issuance lifetime (25 h 40 s for 24 h: lib/issuanceLifetime.ts): proxies
        // renew their leaf certificates and the daily rotation Job restarts workloads.
        trustAnchor: { validityHours: 87600, expiryWarningDays: 60, generation: 1, rotationPhase: 0 },
        // Between the anchor and the issuer, one per cluster: a year, re-signed by any `pulumi up` in its
        // last 90 days (the static issuer's rhythm), so a stack deployed once a month never sees it expire.
        intermediate: { validityHours: 8760, renewBeforeHours: 2160 },
        issuer: {
            // cert-manager rotates the issuer every 48 h with no operator involved.
            mode: "certManager",
            // Linkerd's default (charts/linkerd-control-plane values.yaml `identity.issuer.issuanceLifetime`).
            issuanceLifetime: LINKERD_ISSUANCE_LIFETIME,
            // Static: re-issued by any `pulumi up` in the last 90 days, so `linkerd check` (60 days)
            // never warns on a stack deployed at least once a month.
            static: { validityHours: 8760, renewBeforeHours: 2160 },
            // Linkerd docs (automatically rotating control plane TLS credentials).
            certManager: { durationHours: 48, renewBeforeHours: 25 },
        },
    },
    certManager: {
        install: true,
        chartVersion: CHARTS.certManager.version,
        repository: CHARTS.certManager.repository,
        namespace: CERT_MANAGER_NAMESPACE,
    },
    viz: {
        enabled: true,
        prometheus: {
            mode: "bundled",
            retention: "6h",
            retentionSize: "512MB",
            // kube-prometheus-stack's Prometheus pods (an external Prometheus).
            scraper: { namespace: "monitoring", podSelector: { "app.kubernetes.io/name": "prometheus" } },
            alertmanagers: [],
        },
        dashboard: { ingress: { enabled: false, authAnnotations: {} } },
    },
    observability: {
        grafanaDashboards: {
            enabled: true,
            namespace: NAMESPACES.viz,
            label: "grafana_dashboard",
            labelValue: "1",
            folder: "Linkerd mTLS",
        },
        prometheusOperator: false,
        ruleLabels: {},
    },
    // Off: a stack links only where the fleet says so. Gateway unless the target's pods are routable from the others'.
    multicluster: { enabled: false, mode: "gateway", remoteAccess: [], links: [] },
    rotationJob: {
        enabled: true,
        windowStartHour: 2,
        windowHours: 4,
        anchorMinDaysLeft: 60,
        maxConcurrentRestarts: 2,
        rolloutTimeoutSeconds: 600,
        deadlineMinutes: 50,
        image: IMAGES.node,
        kubectlImage: IMAGES.kubectl,
        resources: resources("10m", "32Mi", "128Mi", "200m"),
    },
};

/**
 * Single-node sizing (k3d, k3s on the 16 GiB Netcup box): explicit requests AND limits on
 * every container, requests kept small so the mesh with 50 meshed pods stays within 10 % of
 * 16 GiB (checked by test/footprint.test.ts). The proxy's CPU limit is one core, matching the
 * chart's `proxy.runtime.workers.minimum: 1`.
 */
const singleNode: DeepPartial<MeshConfigInput> = {
    // k3s and k3d run Traefik in kube-system: meshed through k3s' HelmChartConfig.
    mtls: { ingress: { enabled: true, controller: "k3s-traefik" } },
    linkerd: {
        // k3s >= 1.32.2 (and k3d, which runs k3s) installs the standard Gateway API CRDs through its
        // bundled Traefik's `traefik-crd` chart (k3s-charts traefik-crd templates/gateway-standard-install.yaml;
        // from k3s 1.37 a separate `gateway-api-crd` chart). They belong to k3s' helm-controller:
        // read them, never apply them. A cluster started with `--disable=traefik` sets `install`.
        gatewayApi: "present",
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
        },
    },
    viz: {
        highAvailability: false,
        // Sized for the Netcup budget: viz's Prometheus keeps 6 h, at most 512 MB.
        prometheus: { resources: resources("20m", "192Mi", "768Mi", "1") },
        resources: {
            tap: resources("10m", "24Mi", "128Mi", "250m"),
            tapInjector: resources("10m", "16Mi", "64Mi", "100m"),
            dashboard: resources("10m", "16Mi", "64Mi", "100m"),
            metricsAPI: resources("10m", "24Mi", "128Mi", "250m"),
        },
    },
    certManager: {
        highAvailability: false,
        resources: {
            controller: resources("10m", "48Mi", "256Mi", "500m"),
            webhook: resources("10m", "24Mi", "128Mi", "200m"),
            cainjector: resources("10m", "48Mi", "256Mi", "500m"),
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
        },
    },
    // viz/charts/linkerd-viz/values-ha.yaml.
    viz: {
        highAvailability: true,
        prometheus: { resources: resources("300m", "300Mi", "8192Mi") },
        resources: { tap: ha, tapInjector: ha, dashboard: ha, metricsAPI: ha },
    },
    certManager: {
        highAvailability: true,
        resources: {
            controller: resources("50m", "64Mi", "512Mi"),
            webhook: resources("25m", "32Mi", "256Mi"),
            cainjector: resources("50m", "64Mi", "512Mi"),
        },
    },
};

/**
 * Where k3s keeps its CNI configuration and its CNI plugins (containerd's `bin_dir`), the
 * directories linkerd2-cni writes into; a plugin written elsewhere is never called, and every new
 * pod of the node then fails to start.
 * - conf: `<data-dir>/agent/etc/cni/net.d` (k3s pkg/executor/embed/embed.go `CNIConfDir`).
 * - bin: containerd's `bin_dir` is the directory of the first `host-local` on k3s' PATH
 *   (embed.go `CNIBinDir = filepath.Dir(exec.LookPath("host-local"))`, written by
 *   pkg/agent/templates `[...cni] bin_dir`). Current k3s links the plugins into the stable
 *   `data/cni` and puts it first on the PATH (cmd/k3s/main.go `extract`; k3s-io/k3s #10868 and
 *   its backports to 1.28-1.31).
 * The rancher/k3s image k3d runs: since v1.29.15, v1.30.11, v1.31.7 and v1.32.3 the same
 * `data/cni` comes first on the image's PATH too (k3s-io/k3s #11790, issues #11497 and backports
 * #11798-#11800, #11964 validated `bin_dir = "/var/lib/rancher/k3s/data/cni"` in the image;
 * k3d-io/k3d #1572 saw it under k3d). Older images kept the plugins in `/bin` (package/Dockerfile
 * unpacks bin/ of the data tarball at /, scripts/package-cli links host-local -> cni there): for
 * such an image set `linkerd.cni.binDir: /bin`. Check
 * `grep bin_dir /var/lib/rancher/k3s/agent/etc/containerd/config.toml` on a node before enabling
 * the plugin (k3d: `docker exec k3d-<cluster>-server-0 grep ...`).
 */
const K3S_CNI = { netDir: "/var/lib/rancher/k3s/agent/etc/cni/net.d", binDir: "/var/lib/rancher/k3s/data/cni" };

/**
 * GKE's nodes run their CNI plugins from `/home/kubernetes/bin` (the kubelet's
 * `--cni-bin-dir`); `/opt/cni` does not exist and is not writable on COS (linkerd2 #2174,
 * with GKE's kubelet flags; linkerd2 #4968 added `--dest-cni-bin-dir`
 * "to make CNI work in GKE clusters"; linkerd2-proxy-init #242 tested on GKE: "Wrote linkerd CNI
 * binaries to /host/home/kubernetes/bin"). Cilium's GKE install sets `cni.binPath` and Istio's
 * `cniBinDir` to the same directory. The configuration stays in the default `/etc/cni/net.d`
 * (GKE writes its `10-gke-ptp.conflist` there: linkerd2 #10849; Cilium and Istio keep the
 * default conf dir on GKE).
 */
const GKE_CNI = { netDir: "/etc/cni/net.d", binDir: "/home/kubernetes/bin" };

export const TARGET_PRESETS: Record<Target, DeepPartial<MeshConfigInput>[]> = {
    // A laptop cluster is thrown away often: a static issuer (no cert-manager) keeps it light.
    // k3d's nodes run the rancher/k3s image: the k3s paths (see K3S_CNI for images older than v1.31.7).
    // Flat links on k3d: the e2e's clusters share one docker network and route each other's pod CIDRs (research-21 §1).
    k3d: [
        singleNode,
        { identity: { issuer: { mode: "static" } }, linkerd: { cni: K3S_CNI }, multicluster: { mode: "flat" } },
    ],
    k3s: [singleNode, { linkerd: { cni: K3S_CNI } }],
    // EKS ships no Gateway API CRDs.
    eks: [highlyAvailable, { linkerd: { gatewayApi: "install" } }],
    // GKE >= 1.34 installs the GA Gateway API CRDs itself (older clusters: enable the
    // Gateway API on the cluster); Linkerd must not fight GKE over them.
    // iptables legacy: Container-Optimized OS nodes lack the nf_tables modules out of the box
    // (linkerd.io 2-edge features/nft.md; linkerd2 #9053: nft failed on COS, legacy worked).
    // Linkerd's nft default (linkerd2 #14326) came from EKS 1.33 dropping legacy; nothing says
    // it now works on COS.
    gke: [highlyAvailable, { linkerd: { gatewayApi: "present", proxyInit: { iptablesMode: "legacy" }, cni: GKE_CNI } }],
};
