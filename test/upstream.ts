/**
 * The tests that need pinned upstream artefacts (chart archives, CRDs, a Helm binary) get them
 * here, through tools/upstream.ts and tools/helm.ts. When they cannot be had:
 * - in CI (`CI` set), the test fails with the reason: the tier never skips silently there;
 * - elsewhere (a fresh clone offline), the tests are skipped, each skip saying why once.
 * Nothing here needs `../shared`: a local mirror is named by `AKKO_HELM_MIRROR` / `AKKO_UPSTREAM_DIR`.
 */
import YAML from "yaml";
import type { RecordedResource } from "../tools/mockRuntime";
import {
    CHARTS,
    GATEWAY_API,
    GATEWAY_API_TLSROUTE,
    HELM_CHART_CONFIG_CRD,
    PinnedChart,
    PROMETHEUS_OPERATOR_CRDS,
} from "../lib/registry";
import { chartFiles, helm, render, RenderedObject, RenderOptions, renderCached } from "../tools/helm";
import { CrdSchemas, KubeObject, validateObject } from "../tools/kubeValidate";
import { chartArchive, pinnedFile, UpstreamUnavailable } from "../tools/upstream";

let reported = false;

/** Runs `get`; when an artefact is unavailable, fails in CI and skips the test elsewhere. */
export async function upstream<T>(context: Mocha.Context, get: () => Promise<T> | T): Promise<T> {
    try {
        return await get();
    } catch (error) {
        if (!(error instanceof UpstreamUnavailable) || process.env.CI) throw error;
        if (!reported) {
            reported = true;
            console.warn(
                `\n  [upstream tier skipped] ${error.message}\n  Set AKKO_HELM_MIRROR / AKKO_UPSTREAM_DIR to local mirrors, or run online; ` +
                    "CI=true makes this a failure.\n",
            );
        }
        context.skip();
    }
}

/** The archive of a chart as the program registered it (its chart, version and repository). */
export function archiveOf(chart: RecordedResource): Promise<string> {
    return chartArchive({
        chart: chart.inputs.chart,
        version: chart.inputs.version,
        repository: chart.inputs.repositoryOpts.repo,
    });
}

const renders = new Map<string, RenderedObject[]>();

/**
 * `helm template` of a chart the program registered, with the values it hands it (memoized per
 * inputs, unless patched). Not kept on disk: the values hold the run's certificates, new in every
 * run (real keys from the tls mocks), so no two runs of the suite render the same values.
 */
export async function renderRegistered(
    chart: RecordedResource,
    options: Partial<RenderOptions> = {},
): Promise<RenderedObject[]> {
    helm();
    const key = options.patchTemplates ? undefined : JSON.stringify(chart.inputs);
    const cached = key === undefined ? undefined : renders.get(key);
    if (cached) return structuredClone(cached);
    const objects = render(await archiveOf(chart), {
        release: chart.inputs.name,
        namespace: chart.inputs.namespace,
        values: chart.inputs.values ?? {},
        ...options,
    });
    if (key !== undefined) renders.set(key, objects);
    return structuredClone(objects);
}

/** The values.yaml of a pinned chart, parsed. */
export async function chartDefaults(chart: PinnedChart, file = "values.yaml"): Promise<any> {
    return YAML.parse(chartFiles(await chartArchive(chart)).get(file) ?? "{}");
}

let crds: Promise<KubeObject[]> | undefined;

/** Every CRD the mesh's objects may be instances of: Linkerd's (multicluster's Link too), cert-manager's, the Gateway API's. */
export function crdObjects(): Promise<KubeObject[]> {
    crds ??= (async () => {
        helm();
        const linkerd = renderCached(await chartArchive(CHARTS.linkerdCrds), {
            release: "linkerd-crds",
            namespace: "linkerd",
            values: {},
        });
        const certManager = renderCached(await chartArchive(CHARTS.certManager), {
            release: "cert-manager",
            namespace: "cert-manager",
            values: { crds: { enabled: true } },
        }).filter((o) => o.kind === "CustomResourceDefinition");
        // The Link CRD (templates/link-crd.yaml), what the program's Links are instances of.
        const multicluster = renderCached(await chartArchive(CHARTS.linkerdMulticluster), {
            release: "linkerd-multicluster",
            namespace: "linkerd-multicluster",
            values: {},
        }).filter((o) => o.kind === "CustomResourceDefinition");
        // The experimental TLSRoute the program installs for egress control (lib/registry.ts GATEWAY_API_TLSROUTE).
        const tlsRoute = YAML.parseAllDocuments(await pinnedFile(GATEWAY_API_TLSROUTE)).map(
            (d) => d.toJS() as KubeObject,
        );
        return [...linkerd, ...certManager, ...multicluster, ...(await gatewayApiCrds()), ...tlsRoute];
    })();
    crds.catch(() => (crds = undefined));
    return crds;
}

let schemas: CrdSchemas | undefined;

/** Validators for {@link crdObjects}. */
export async function crdSchemas(): Promise<CrdSchemas> {
    schemas ??= new CrdSchemas(await crdObjects());
    return schemas;
}

/** The pinned Gateway API standard CRDs, verified. */
export async function gatewayApiCrds(): Promise<KubeObject[]> {
    return (await Promise.all(GATEWAY_API.files.map(pinnedFile))).flatMap((text) =>
        YAML.parseAllDocuments(text).map((d) => d.toJS() as KubeObject),
    );
}

/** Kinds whose CRDs are optional artefacts: not in the mirrors CI is given, fetched when reachable. */
export const OPTIONAL_KINDS = [
    "helm.cattle.io/v1:HelmChartConfig",
    "monitoring.coreos.com/v1:PrometheusRule",
    "monitoring.coreos.com/v1:PodMonitor",
    "monitoring.coreos.com/v1:ServiceMonitor",
];

let optional: Promise<{ crds: KubeObject[]; missing: string[] }> | undefined;

/**
 * k3s' HelmChartConfig and the Prometheus Operator's CRDs (lib/registry.ts), verified: those that
 * can be had, and why the others cannot. Their absence never fails the suite, even in CI; a test
 * reports each object it could not check.
 */
export function optionalCrds(): Promise<{ crds: KubeObject[]; missing: string[] }> {
    optional ??= (async () => {
        const crds: KubeObject[] = [];
        const missing: string[] = [];
        for (const file of [HELM_CHART_CONFIG_CRD, ...PROMETHEUS_OPERATOR_CRDS]) {
            try {
                crds.push(...YAML.parseAllDocuments(await pinnedFile(file)).map((d) => d.toJS() as KubeObject));
            } catch (error) {
                if (!(error instanceof UpstreamUnavailable)) throw error;
                missing.push(error.message);
            }
        }
        return { crds, missing };
    })();
    return optional;
}

let allSchemas: Promise<{ schemas: CrdSchemas; missing: string[] }> | undefined;

/** The required CRDs' schemas plus the optional ones that could be had. */
export function allCrdSchemas(): Promise<{ schemas: CrdSchemas; missing: string[] }> {
    allSchemas ??= (async () => {
        const optional = await optionalCrds();
        return { schemas: new CrdSchemas([...(await crdObjects()), ...optional.crds]), missing: optional.missing };
    })();
    allSchemas.catch(() => (allSchemas = undefined));
    return allSchemas;
}

const unchecked = new Set<string>();
process.on("exit", () => {
    if (unchecked.size > 0)
        console.warn(`  [not schema-checked: optional CRD unavailable] ${[...unchecked].sort().join(", ")}`);
});

/**
 * Every problem of `objects` against the schemas: an object of an optional kind whose CRD could not
 * be had is reported once at exit, not failed; any other kind without a schema is a problem.
 */
export async function schemaProblems(objects: KubeObject[], schemas: CrdSchemas): Promise<string[]> {
    const problems = await Promise.all(
        objects.map(async (object) => {
            const kind = `${object.apiVersion}:${object.kind}`;
            if (OPTIONAL_KINDS.includes(kind) && !schemas.get(object.apiVersion, object.kind)) {
                unchecked.add(kind);
                return [];
            }
            return validateObject(object, schemas);
        }),
    );
    return problems.flat();
}
