/**
 * Pinned upstream artefacts for the tests and tools, fetched and verified:
 * - chart archives by exact version from their Helm repository, checked against the digest
 *   the repository's index.yaml publishes for that version;
 * - files by commit, checked against the SHA-256 pinned in lib/registry.ts.
 *
 * Where from, in order:
 * - a local mirror, when one is named: `AKKO_HELM_MIRROR` holds Helm repositories laid out as
 *   `<host>/<path>/index.yaml` + archives; `AKKO_UPSTREAM_DIR` holds files as
 *   `<repository name>/<path>` (e.g. `gateway-api/config/crd/standard/...`);
 * - otherwise (or for a file the mirror does not hold) the real repository over HTTPS.
 * Everything is cached under `.cache/upstream` (or `$AKKO_CACHE_DIR`), keyed by version or digest.
 * Nothing here is committed, and the program itself never imports this file.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { PinnedChart, PinnedFile, rawUrl } from "../lib/registry";

export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** Why an artefact could not be had: the caller decides whether that skips or fails. */
export class UpstreamUnavailable extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UpstreamUnavailable";
    }
}

export function cacheDir(...parts: string[]): string {
    const dir = path.join(process.env.AKKO_CACHE_DIR ?? path.join(PROJECT_ROOT, ".cache"), ...parts);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
}

const sha256 = (bytes: Buffer) => crypto.createHash("sha256").update(bytes).digest("hex");

async function download(url: string): Promise<Buffer> {
    let response: Response;
    try {
        response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    } catch (error) {
        // fetch says only "fetch failed"; why (a refused connection, a DNS failure) is its cause.
        const cause: unknown = (error as Error).cause;
        throw new UpstreamUnavailable(
            `cannot fetch ${url}: ${cause instanceof Error ? String(cause) : (error as Error).message}`,
        );
    }
    if (!response.ok) throw new UpstreamUnavailable(`cannot fetch ${url}: HTTP ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
}

/** The mirror folder of a repository URL: `https://helm.linkerd.io/edge` -> `<mirror>/helm.linkerd.io/edge`. */
function mirrorOf(repository: string, mirror: string): string {
    const url = new URL(repository);
    return path.join(mirror, url.host, ...url.pathname.split("/").filter(Boolean));
}

interface IndexEntry {
    version: string;
    digest?: string;
    urls: string[];
}

/**
 * The chart archive, verified against its repository's published digest; returns its path.
 * Throws {@link UpstreamUnavailable} when neither the mirror nor the repository has it.
 */
export async function chartArchive(chart: PinnedChart): Promise<string> {
    const file = path.join(cacheDir("upstream", "charts"), `${chart.chart}-${chart.version}.tgz`);
    // Only ever written once verified, for an exact version: good as long as it is there.
    if (fs.existsSync(file)) return file;
    const mirror = process.env.AKKO_HELM_MIRROR;
    const source = mirror ? mirrorOf(chart.repository, mirror) : chart.repository;
    const readIndex = async (): Promise<string> => {
        if (!mirror) return (await download(`${chart.repository.replace(/\/$/, "")}/index.yaml`)).toString("utf8");
        const local = path.join(source, "index.yaml");
        if (!fs.existsSync(local)) throw new UpstreamUnavailable(`AKKO_HELM_MIRROR has no ${local}`);
        return fs.readFileSync(local, "utf8");
    };
    const index = YAML.parse(await readIndex()) as { entries?: Record<string, IndexEntry[]> };
    const entry = index.entries?.[chart.chart]?.find((e) => e.version === chart.version);
    if (!entry) throw new UpstreamUnavailable(`${source} has no ${chart.chart} ${chart.version}`);
    if (!entry.digest)
        throw new UpstreamUnavailable(`${source}: ${chart.chart} ${chart.version} has no digest to verify against`);

    const url = new URL(entry.urls[0], `${chart.repository.replace(/\/$/, "")}/`).toString();
    let bytes: Buffer;
    if (mirror) {
        const local = path.join(source, path.basename(new URL(url).pathname));
        if (!fs.existsSync(local)) throw new UpstreamUnavailable(`AKKO_HELM_MIRROR has no ${local}`);
        bytes = fs.readFileSync(local);
    } else {
        bytes = await download(url);
    }
    const actual = sha256(bytes);
    if (actual !== entry.digest) {
        throw new Error(
            `${chart.chart} ${chart.version} from ${source}: digest ${actual} is not the published ${entry.digest}`,
        );
    }
    // Written aside and renamed: test workers running in parallel never see half a file.
    fs.writeFileSync(`${file}.${process.pid}.tmp`, bytes);
    fs.renameSync(`${file}.${process.pid}.tmp`, file);
    return file;
}

/** A pinned file's content, verified against its SHA-256. */
export async function pinnedFile(file: PinnedFile): Promise<string> {
    const cached = path.join(cacheDir("upstream", "files"), `${file.sha256}-${path.basename(file.path)}`);
    if (fs.existsSync(cached)) return fs.readFileSync(cached, "utf8");
    const mirror = process.env.AKKO_UPSTREAM_DIR;
    const local = mirror ? path.join(mirror, file.repository.split("/")[1], file.path) : undefined;
    let bytes: Buffer;
    if (local && fs.existsSync(local)) {
        bytes = fs.readFileSync(local);
    } else {
        // Not mirrored (a mirror need not hold every pinned file): the repository itself.
        try {
            bytes = await download(rawUrl(file));
        } catch (error) {
            if (!(error instanceof UpstreamUnavailable) || !local) throw error;
            throw new UpstreamUnavailable(`AKKO_UPSTREAM_DIR has no ${local}, and ${error.message}`);
        }
    }
    const actual = sha256(bytes);
    if (actual !== file.sha256) {
        throw new Error(
            `${file.repository}@${file.commit.slice(0, 8)}:${file.path}: sha256 ${actual} is not the pinned ${file.sha256}`,
        );
    }
    fs.writeFileSync(`${cached}.${process.pid}.tmp`, bytes);
    fs.renameSync(`${cached}.${process.pid}.tmp`, cached);
    return bytes.toString("utf8");
}
