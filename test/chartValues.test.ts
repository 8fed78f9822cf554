/**
 * What the program hands each chart: only value paths the pinned chart knows, and
 * exactly the same values on a second run (no preview that always shows changes).
 */
import { strict as assert } from "node:assert";
import YAML from "yaml";
import { ofType, ProgramRun, ProviderState } from "../tools/mockRuntime";
import { CHARTS } from "../lib/registry";
import { chartFiles } from "../tools/helm";
import { chartArchive } from "../tools/upstream";
import { leafPaths, runStackOk, STACKS } from "./helpers";
import { upstream } from "./upstream";

/** The Linkerd charts whose value paths are checked (cert-manager's chart takes free-form maps). */
const LINKERD_CHARTS = [CHARTS.linkerdCrds, CHARTS.linkerdControlPlane, CHARTS.linkerdViz];

interface ChartKnowledge {
    /** Every key path of values.yaml (and values-ha.yaml), including the maps on the way. */
    defaults: Map<string, unknown>;
    /** Every `.Values.<path>` the templates (and the partials library chart) read. */
    read: Set<string>;
}

/**
 * What a pinned chart knows, from its archive: the keys of values.yaml and, where it has one,
 * values-ha.yaml (whose `highAvailability` flag `linkerd check` reads from linkerd-config), and the
 * value paths its templates read.
 */
async function knowledge(chart: (typeof LINKERD_CHARTS)[number]): Promise<ChartKnowledge> {
    const files = chartFiles(await chartArchive(chart));
    const defaults = keyPaths(YAML.parse(files.get("values.yaml") ?? "{}") ?? {});
    for (const [path, value] of keyPaths(YAML.parse(files.get("values-ha.yaml") ?? "{}") ?? {})) {
        if (!defaults.has(path)) defaults.set(path, value);
    }
    const read = new Set<string>();
    for (const [file, text] of files) {
        if (!/(^|\/)templates\/.*\.(yaml|tpl|json)$/.test(file)) continue;
        for (const match of text.matchAll(/\.Values((?:\.[A-Za-z0-9_-]+)+)/g)) read.add(match[1].slice(1));
    }
    return { defaults, read };
}

/** Every key path of values.yaml, including the maps on the way. */
function keyPaths(value: unknown, prefix: string[] = [], into = new Map<string, unknown>()): Map<string, unknown> {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) {
            const path = [...prefix, k];
            into.set(path.join("."), v);
            keyPaths(v, path, into);
        }
    }
    return into;
}

/**
 * Whether a chart reads `path`: it is a key of values.yaml or a path its templates
 * read (values-read.json), or it sits inside a map the chart takes whole: an empty
 * map in values.yaml (podAnnotations: {}), or a path the templates read without
 * reading anything below it (destinationResources, passed to partials.resources).
 */
function chartReads(path: string, defaults: Map<string, unknown>, read: Set<string>): boolean {
    if (defaults.has(path) || read.has(path)) return true;
    const segments = path.split(".");
    for (let i = segments.length - 1; i > 0; i--) {
        const ancestor = segments.slice(0, i).join(".");
        if (!defaults.has(ancestor) && !read.has(ancestor)) continue;
        const emptyMap = (v: unknown) => v !== null && typeof v === "object" && Object.keys(v).length === 0;
        const readWhole = read.has(ancestor) && ![...read].some((p) => p.startsWith(`${ancestor}.`));
        const unsetDefault =
            defaults.has(ancestor) && (defaults.get(ancestor) == null || emptyMap(defaults.get(ancestor)));
        return readWhole || emptyMap(defaults.get(ancestor)) || (unsetDefault && read.has(ancestor));
    }
    return false;
}

describe("chart values", () => {
    const runs: ProgramRun[] = [];
    before(async () => {
        for (const stack of STACKS) runs.push(await runStackOk(stack, { "mtls.enabled": true }));
    });

    it("every value path the program passes to a Linkerd chart exists in that pinned chart", async function () {
        const known = new Map<string, ChartKnowledge>();
        for (const chart of LINKERD_CHARTS) known.set(chart.chart, await upstream(this, () => knowledge(chart)));
        let checked = 0;
        for (const run of runs) {
            for (const chart of ofType(run, "kubernetes:helm.sh/v4:Chart")) {
                const chartKnowledge = known.get(chart.inputs.chart);
                if (!chartKnowledge) continue;
                assert.ok(chartKnowledge.read.size > 0, `${chart.inputs.chart}: templates read values`);
                for (const path of leafPaths(chart.inputs.values)) {
                    assert.ok(
                        chartReads(path, chartKnowledge.defaults, chartKnowledge.read),
                        `${run.stack}: ${chart.inputs.chart} does not read ${path}`,
                    );
                    checked++;
                }
            }
        }
        assert.ok(checked > 100, `checked ${checked} paths`);
    });

    it("the checker itself rejects a path no chart reads", async function () {
        const { defaults, read } = await upstream(this, () => knowledge(CHARTS.linkerdControlPlane));
        assert.ok(!chartReads("proxy.resource.cpu.request", defaults, read), "typo under a read map");
        assert.ok(!chartReads("identity.issuer.tls.certPEM", defaults, read));
        assert.ok(!chartReads("highAvailabilty", defaults, read));
        assert.ok(chartReads("destinationResources.cpu.request", defaults, read));
        assert.ok(chartReads("podAnnotations.example.com/x", defaults, read));
        assert.ok(chartReads("identity.externalCA", defaults, read));
        assert.ok(chartReads("disableHeartBeat", defaults, read));
    });

    for (const stack of STACKS) {
        it(`${stack}: a second run with the same config and state hands every chart the same values`, async () => {
            const state = new ProviderState();
            const first = await runStackOk(stack, { "mtls.enabled": true }, { state });
            const second = await runStackOk(stack, { "mtls.enabled": true }, { state });
            const charts = (run: ProgramRun) =>
                Object.fromEntries(ofType(run, "kubernetes:helm.sh/v4:Chart").map((c) => [c.name, c.inputs]));
            assert.ok(Object.keys(charts(first)).length >= 2);
            assert.deepEqual(charts(second), charts(first));
            // Same for every other resource's inputs: nothing is generated per run.
            const inputs = (run: ProgramRun) => Object.fromEntries(run.resources.map((r) => [r.urn, r.inputs]));
            assert.deepEqual(inputs(second), inputs(first));
        });
    }

    it("the webhook certificates are supplied, so no chart generates its own (control plane and viz)", () => {
        const webhooks: Record<string, string[]> = {
            "linkerd-control-plane": ["proxyInjector", "profileValidator", "policyValidator"],
            "linkerd-viz": ["tap", "tapInjector"],
        };
        let checked = 0;
        for (const run of runs) {
            for (const [chartName, keys] of Object.entries(webhooks)) {
                const values = ofType(run, "kubernetes:helm.sh/v4:Chart").find((c) => c.inputs.chart === chartName)!
                    .inputs.values;
                for (const webhook of keys) {
                    const block = values[webhook];
                    // An external Secret and a CA (given, or injected by cert-manager): the chart generates nothing
                    // (charts/partials/templates/_validate.tpl requires one of caBundle/injectCaFrom with externalSecret).
                    const supplied =
                        block.externalSecret === true &&
                        Boolean(block.injectCaFrom || block.caBundle) &&
                        !block.crtPEM &&
                        !block.keyPEM;
                    assert.ok(
                        supplied,
                        `${run.stack}: ${chartName} ${webhook} would make the chart call genSelfSignedCert`,
                    );
                    checked++;
                }
            }
        }
        assert.equal(checked, runs.length * 5);
    });
});
