/**
 * Runs the real program (index.ts) in-process under Pulumi's own mock runtime
 * (`pulumi.runtime.setMocks`): no CLI, no backend, no cluster. Used by the tests
 * and by `npm run plan`, so both see exactly what `pulumi up` would register.
 *
 * What it adds to the plain mocks:
 * - every registration is recorded as the engine would receive it (parent,
 *   dependencies, protect, ignoreChanges, which inputs are secret), by wrapping
 *   the mock monitor's registerResource/readResource;
 * - `tls` resources return real keys and certificates (lib/mockTls.ts);
 * - provider outputs are kept in a {@link ProviderState}, so a second run with the
 *   same state sees the same outputs, as a second `pulumi up` would from its state;
 * - `pulumi.log.warn` messages are collected.
 */
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";
import { certRequestOutputs, locallySignedCertOutputs, privateKeyOutputs, selfSignedCertOutputs } from "./mockTls";

export const PROJECT = "akko-mtls";
export const PROJECT_ROOT = path.resolve(__dirname, "..");
/** Organization name the DIY (local) backend uses. */
export const ORGANIZATION = "organization";

/** A program is what index.ts exports: a function returning the stack outputs. */
export type Program = () => Promise<Record<string, unknown>> | Record<string, unknown>;

export interface RecordedResource {
    urn: string;
    type: string;
    name: string;
    /** Custom (provider-managed) resource; false for components. */
    custom: boolean;
    /** A multi-language component such as `kubernetes:helm.sh/v4:Chart`. */
    remote: boolean;
    /** Read with `.get()`, not managed. */
    read: boolean;
    /** Inputs with Pulumi's secret wrappers removed. */
    inputs: any;
    /** Dotted paths of inputs that were secret (e.g. `values.identity.issuer.tls.keyPEM`). */
    secretPaths: string[];
    parent: string | undefined;
    /** Provider reference (`urn::id`) of a custom resource, or the providers map of a component. */
    provider: string | undefined;
    providers: Record<string, string>;
    /** URNs this resource waits for: explicit dependsOn and every input's resources. */
    dependencies: string[];
    protect: boolean;
    retainOnDelete: boolean;
    ignoreChanges: string[];
    additionalSecretOutputs: string[];
    /** How many resource transforms the registration carries (they run in the engine). */
    transforms: number;
    /** Outputs the mock returned. */
    state: any;
}

export interface ResolvedOutput {
    value: unknown;
    secret: boolean;
}

export interface ProgramRun {
    stack: string;
    config: Record<string, string>;
    resources: RecordedResource[];
    outputs: Record<string, ResolvedOutput>;
    warnings: string[];
    /** What the program threw, if it failed. */
    error: Error | undefined;
}

/** Provider outputs by resource, standing in for Pulumi state between runs. */
export class ProviderState {
    readonly outputs = new Map<string, Record<string, unknown>>();
}

export interface RunOptions {
    stack: string;
    /** Full config map, `akko-mtls:mtls` -> JSON text, as `pulumi config` stores it. */
    config: Record<string, string>;
    /** Reuse outputs from an earlier run (as state would). */
    state?: ProviderState;
    /** Outputs a StackReference to this stack returns (the last deployment's outputs). */
    previousOutputs?: Record<string, unknown>;
    preview?: boolean;
    program?: Program;
}

/** Stack names from the `Pulumi.<stack>.yaml` files beside Pulumi.yaml. */
export function stackNames(root = PROJECT_ROOT): string[] {
    return fs
        .readdirSync(root)
        .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
        .filter((name): name is string => name !== undefined)
        .sort();
}

/** A stack file's config as the CLI hands it to the program: objects as JSON text. */
export function readStackConfig(stack: string, root = PROJECT_ROOT): Record<string, string> {
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    const document = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries<unknown>(document.config ?? {})) {
        if (value !== null && typeof value === "object" && "secure" in value) {
            throw new Error(`${file}: ${key} is an encrypted secret; the mock runtime cannot decrypt it`);
        }
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return config;
}

/**
 * Applies `pulumi config set --path <key> <value>` semantics: `mtls.enabled` sets
 * `enabled` inside the `akko-mtls:mtls` object.
 */
export function setConfigPath(config: Record<string, string>, pathKey: string, value: unknown): Record<string, string> {
    const [top, ...rest] = pathKey.split(".");
    const key = top.includes(":") ? top : `${PROJECT}:${top}`;
    const next = { ...config };
    if (rest.length === 0) {
        next[key] = typeof value === "string" ? value : JSON.stringify(value);
        return next;
    }
    const object = next[key] === undefined ? {} : JSON.parse(next[key]);
    let node = object;
    for (const segment of rest.slice(0, -1)) {
        node[segment] ??= {};
        node = node[segment];
    }
    if (value === undefined) delete node[rest[rest.length - 1]];
    else node[rest[rest.length - 1]] = value;
    next[key] = JSON.stringify(object);
    return next;
}

/** Runs the program once under mocks and reports what it registered. */
export async function runProgram(options: RunOptions): Promise<ProgramRun> {
    const state = options.state ?? new ProviderState();
    const recorded: RecordedResource[] = [];
    const warnings: string[] = [];

    await pulumi.runtime.setMocks(
        {
            newResource: (args) => mockResource(args, state, options.previousOutputs),
            call: (args) => {
                throw new Error(`mock runtime: unexpected provider function call ${args.token}`);
            },
        },
        PROJECT,
        options.stack,
        options.preview ?? false,
        ORGANIZATION,
    );
    recordRegistrations(recorded);
    pulumi.runtime.setAllConfig(options.config);

    const consoleWarn = console.warn;
    console.warn = (...args: unknown[]) => {
        const line = args.map(String).join(" ");
        const match = /^warning: \[runtime\] ([\s\S]*)$/.exec(line);
        if (match) warnings.push(match[1]);
        else consoleWarn(...args);
    };
    let outputs: Record<string, ResolvedOutput> = {};
    let error: Error | undefined;
    try {
        const program = options.program ?? (require("../index") as Program);
        const stackOutputs = await pulumi.runtime.runInPulumiStack(async () => program());
        await pulumi.runtime.disconnect();
        outputs = await resolveOutputs(stackOutputs ?? {});
    } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
        // Let registrations already under way reach the monitor, so the record is complete.
        await pulumi.runtime.disconnect().catch(() => undefined);
    } finally {
        console.warn = consoleWarn;
    }
    return { stack: options.stack, config: options.config, resources: recorded, outputs, warnings, error };
}

async function mockResource(
    args: pulumi.runtime.MockResourceArgs,
    state: ProviderState,
    previousOutputs: Record<string, unknown> | undefined,
): Promise<pulumi.runtime.MockResourceResult> {
    const key = `${args.type}::${args.name}`;
    const id = args.id ?? `${args.name}-id`;
    if (args.type === "pulumi:pulumi:StackReference") {
        // A read of the last deployment's outputs: never from the provider state.
        return { id, state: { ...args.inputs, outputs: previousOutputs ?? {}, secretOutputNames: [] } };
    }
    const remembered = state.outputs.get(key);
    // State keeps what the provider computed (keys, certificates, random numbers); a changed
    // input that forces a new one is what `pulumi up` would replace, so recompute then.
    if (remembered && sameInputs(remembered.__inputs, args.inputs)) {
        return { id, state: remembered.outputs as Record<string, unknown> };
    }
    const inputs = unwrapSecrets(args.inputs).value;
    let outputs: Record<string, unknown>;
    switch (args.type) {
        case "tls:index/privateKey:PrivateKey":
            outputs = privateKeyOutputs(inputs);
            break;
        case "tls:index/selfSignedCert:SelfSignedCert":
            outputs = await selfSignedCertOutputs(inputs);
            break;
        case "tls:index/certRequest:CertRequest":
            outputs = await certRequestOutputs(inputs);
            break;
        case "tls:index/locallySignedCert:LocallySignedCert":
            outputs = await locallySignedCertOutputs(inputs);
            break;
        case "random:index/randomInteger:RandomInteger": {
            // Deterministic per stack and name so plans are reproducible (state keeps it anyway),
            // yet different between stacks, as real draws would be.
            const span = inputs.max - inputs.min + 1;
            const draw = crypto.createHash("sha256").update(`${pulumi.getStack()}/${args.name}`).digest().readUInt32BE(0);
            outputs = { ...inputs, result: inputs.min + (draw % span) };
            break;
        }
        default:
            outputs = { ...inputs };
    }
    state.outputs.set(key, { __inputs: args.inputs, outputs });
    return { id, state: outputs };
}

function sameInputs(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

function recordRegistrations(recorded: RecordedResource[]): void {
    const monitor = pulumi.runtime.getMonitor() as any;
    const record = (req: any, urn: string, read: boolean, result: any) => {
        // The wire form keeps secrets where they are; deserializing would mark a whole object
        // secret as soon as one value inside it is.
        const { value, secretPaths } = unwrapSecrets((req.getProperties?.() ?? req.getObject()).toJavaScript());
        recorded.push({
            urn,
            type: req.getType(),
            name: req.getName(),
            custom: read ? true : req.getCustom(),
            remote: read ? false : req.getRemote(),
            read,
            inputs: value,
            secretPaths,
            parent: req.getParent() || undefined,
            provider: req.getProvider() || undefined,
            providers: read ? {} : Object.fromEntries(req.getProvidersMap().entries()),
            dependencies: req.getDependenciesList(),
            protect: read ? false : Boolean(req.getProtect()),
            retainOnDelete: read ? false : Boolean(req.getRetainondelete?.()),
            ignoreChanges: read ? [] : req.getIgnorechangesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            transforms: read ? 0 : req.getTransformsList().length,
            state: unwrapSecrets(pulumi.runtime.deserializeProperties(result)).value,
        });
    };
    for (const [method, read] of [
        ["registerResource", false],
        ["readResource", true],
    ] as const) {
        const original = monitor[method].bind(monitor);
        monitor[method] = (req: any, callback: (err: any, resp: any) => void) =>
            original(req, (err: any, resp: any) => {
                if (!err) {
                    try {
                        record(req, resp.getUrn(), read, resp.getProperties?.() ?? resp.getObject());
                    } catch (recordError) {
                        return callback(recordError, undefined);
                    }
                }
                callback(err, resp);
            });
    }
}

/** Removes Pulumi's secret wrappers, remembering where they were. */
export function unwrapSecrets(input: unknown, at: string[] = []): { value: any; secretPaths: string[] } {
    const secretPaths: string[] = [];
    const walk = (node: any, where: string[]): any => {
        if (Array.isArray(node)) return node.map((item, i) => walk(item, [...where, String(i)]));
        if (node === null || typeof node !== "object") return node;
        const signature = node[pulumi.runtime.specialSigKey];
        if (signature === pulumi.runtime.specialSecretSig) {
            secretPaths.push(where.join("."));
            return walk(node.value, where);
        }
        if (signature !== undefined && node.urn !== undefined) return node.urn; // resource reference
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(node)) out[k] = walk(v, [...where, k]);
        return out;
    };
    const value = walk(input, at);
    return { value, secretPaths };
}

async function resolveOutputs(outputs: Record<string, unknown>): Promise<Record<string, ResolvedOutput>> {
    const resolved: Record<string, ResolvedOutput> = {};
    for (const [key, value] of Object.entries(outputs)) {
        if (pulumi.Output.isInstance(value)) {
            const output = value as any;
            resolved[key] = { value: await output.promise(), secret: await output.isSecret };
        } else {
            resolved[key] = { value, secret: false };
        }
    }
    return resolved;
}

/** Resources of a type (e.g. `kubernetes:helm.sh/v4:Chart`). */
export function ofType(run: ProgramRun, type: string): RecordedResource[] {
    return run.resources.filter((r) => r.type === type);
}

/** The one resource of a type whose name matches; throws if there is not exactly one. */
export function one(run: ProgramRun, type: string, name: string | RegExp): RecordedResource {
    const found = ofType(run, type).filter((r) => (typeof name === "string" ? r.name === name : name.test(r.name)));
    if (found.length !== 1) {
        throw new Error(`expected one ${type} named ${name}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
    }
    return found[0];
}

/** Kubernetes objects and charts the run registered (the things `enabled: false` must not create). */
export function kubernetesObjects(run: ProgramRun): RecordedResource[] {
    return run.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.read);
}

/**
 * Whether `from` waits for `to`, directly or through other resources: explicit
 * dependencies, input dependencies, and what the engine adds for components
 * (waiting on a component means waiting on its children).
 */
export function dependsOn(run: ProgramRun, from: RecordedResource, to: RecordedResource): boolean {
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const children = new Map<string, string[]>();
    for (const r of run.resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
    const seen = new Set<string>();
    const queue = [...from.dependencies];
    while (queue.length > 0) {
        const urn = queue.pop()!;
        if (urn === to.urn) return true;
        if (seen.has(urn)) continue;
        seen.add(urn);
        queue.push(...(byUrn.get(urn)?.dependencies ?? []), ...(children.get(urn) ?? []));
    }
    return false;
}
