/**
 * tools/helm.ts's render cache: what it keeps is what Helm renders, it is read back from disk, and
 * anything a render depends on (a value, the release, the namespace, the chart's bytes) renders
 * again. A small chart made here, rendered by the real Helm.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tar from "tar";
import { helm, render, renderCached, RenderedObject, RenderOptions } from "../tools/helm";
import { upstream } from "./upstream";

/** A one-template chart, packaged as Helm packages it; `data` is the template's data block. */
function packageChart(dir: string, data: string): string {
    const root = path.join(dir, "demo");
    fs.mkdirSync(path.join(root, "templates"), { recursive: true });
    fs.writeFileSync(path.join(root, "Chart.yaml"), "apiVersion: v2\nname: demo\nversion: 0.1.0\n");
    fs.writeFileSync(
        path.join(root, "templates", "configmap.yaml"),
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-demo\n  namespace: {{ .Release.Namespace }}\ndata:\n${data}\n`,
    );
    const archive = path.join(dir, "demo-0.1.0.tgz");
    tar.c({ gzip: true, file: archive, cwd: dir, sync: true }, ["demo"]);
    return archive;
}

describe("Helm renders kept on disk (tools/helm.ts renderCached)", function () {
    this.timeout(60_000);
    let dir: string;
    let cache: string;
    let archive: string;
    before(async function () {
        await upstream(this, () => helm());
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "render-cache-"));
        cache = path.join(dir, "renders");
        archive = packageChart(dir, "  value: {{ .Values.value | quote }}");
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const options: RenderOptions = { release: "r", namespace: "ns", values: { value: "one" } };
    const valueOf = (objects: RenderedObject[]): unknown => objects[0].data?.value;

    it("keeps what Helm renders, and reads it back from disk", () => {
        const kept = renderCached(archive, options, cache);
        assert.deepEqual(kept, render(archive, options));
        const entries = fs.readdirSync(cache);
        assert.equal(entries.length, 1);
        // An entry altered on disk is what comes back: the second call did not render.
        fs.writeFileSync(path.join(cache, entries[0]), JSON.stringify([{ ...kept[0], data: { value: "from disk" } }]));
        assert.equal(valueOf(renderCached(archive, options, cache)), "from disk");
    });

    it("renders again when a value, the release, the namespace or the chart changes", () => {
        assert.equal(valueOf(renderCached(archive, { ...options, values: { value: "two" } }, cache)), "two");
        assert.equal(renderCached(archive, { ...options, release: "s" }, cache)[0].metadata.name, "s-demo");
        assert.equal(renderCached(archive, { ...options, namespace: "other" }, cache)[0].metadata.namespace, "other");
        const before = fs.readdirSync(cache).length;
        // Another chart at the same path (as a re-download would write it).
        fs.rmSync(path.join(dir, "demo"), { recursive: true });
        fs.utimesSync(
            packageChart(dir, "  value: {{ .Values.value | upper | quote }}"),
            new Date(),
            new Date(Date.now() + 5000),
        );
        assert.equal(valueOf(renderCached(archive, options, cache)), "ONE");
        assert.equal(fs.readdirSync(cache).length, before + 1);
    });

    it("never keeps a render whose templates were patched", () => {
        const before = fs.readdirSync(cache).length;
        const patched = renderCached(
            archive,
            { ...options, patchTemplates: (text) => text.replace("| upper ", "") },
            cache,
        );
        assert.equal(valueOf(patched), "one");
        assert.equal(fs.readdirSync(cache).length, before);
    });
});
