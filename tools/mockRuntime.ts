/**
 * Runs the real program (index.ts) in-process under Pulumi's own mock runtime
 * (`pulumi.runtime.setMocks`): no CLI, no backend, no cluster. Used by the tests
 * and by `npm run plan`, so both see exactly what `pulumi up` would register.
 *
 * What it adds to the plain mocks, to behave more like the engine:
 * - every registration is recorded as the engine would receive it (parent,
 *   dependencies, protect, ignoreChanges, which inputs are secret), by wrapping
 *   the mock monitor's registerResource/readResource;
 * - resource transforms run, the stack's and the resource's own (the mock monitor hands them
 *   over without running them), and the record shows their result;
 * - `tls` resources return real keys and certificates (tools/mockTls.ts);
 * - provider outputs are kept in a {@link ProviderState}, so a second run with the
 *   same state sees the same outputs, as a second `pulumi up` would from its state;
 * - in preview, a resource new to that state, or whose inputs changed, gets unknown computed
 *   outputs, as the engine's preview gives it (so a test sees what `pulumi preview` would be
 *   unable to know);
 * - reads (`.get`) are answered from a {@link FakeCluster}, or fail as the provider does when the
 *   object does not exist;
 * - config keys can be marked secret, as `pulumi config set --secret` does;
 * - `pulumi.log.warn` messages are collected.
 */
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseConfigKey } from "../config/configPath";
import type { StackOutputValues } from "../lib/stackOutputs";
import { certRequestOutputs, locallySignedCertOutputs, privateKeyOutputs, selfSignedCertOutputs } from "./mockTls";
import { readStackFile, StackFile } from "./stackFile";

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
    /** Their function names (e.g. `retainAndReadopt`), where the mock monitor handed them over. */
    transformNames: string[];
    /** `customTimeouts` of the registration, as Go durations ("60m"); empty strings when unset. */
    customTimeouts: { create: string; update: string; delete: string };
    /** Outputs the mock returned. */
    state: any;
}

export interface ResolvedOutput {
    value: unknown;
    /** Whether the engine receives it as a secret (or with a secret inside), as the stack's registered outputs say. */
    secret: boolean;
    /**
     * URNs of the resources the output's value was computed from (the SDK's own record of an Output's
     * resources, `allResources`, with no expansion of components): what it cannot resolve before.
     */
    dependencies: string[];
}

export interface ProgramRun {
    stack: string;
    config: Record<string, string>;
    resources: RecordedResource[];
    outputs: Record<string, ResolvedOutput>;
    /**
     * What the program registered as the stack's outputs (RegisterResourceOutputs of the Stack), secrets
     * unwrapped; undefined when it never did. After a failed update the engine keeps every previous
     * output and overwrites only these (pulumi pkg/resource/deploy/step_executor.go, stack outputs).
     */
    registeredOutputs: Record<string, unknown> | undefined;
    /** What each component registered as its outputs (`registerOutputs`), by URN: values unwrapped, and which were secret. */
    componentOutputs: Record<string, { value: Record<string, unknown>; secretPaths: string[] }>;
    warnings: string[];
    /** `pulumi.log.info` messages. */
    notes: string[];
    /** What the program threw, if it failed. */
    error: Error | undefined;
}

/** Provider outputs by resource, standing in for Pulumi state between runs. */
export class ProviderState {
    readonly outputs = new Map<string, Record<string, unknown>>();
}

/** What reads (`.get`) find in the cluster: objects by `<type>::<id>`, each with its outputs. */
export interface FakeCluster {
    objects: Record<string, Record<string, unknown>>;
    /**
     * Namespaces answer reads unless listed here (an AKKO cluster has every namespace a stack meshes);
     * their labels, where set, from {@link namespaceLabels}.
     */
    missingNamespaces?: string[];
    namespaceLabels?: Record<string, Record<string, string>>;
}

/** The value the engine uses for "unknown during preview". */
export const UNKNOWN = pulumi.runtime.unknownValue;

/** A cluster with the Gateway API standard CRDs (as k3s, k3d and GKE have them). */
export function defaultCluster(): FakeCluster {
    const crd = (name: string) => ({
        metadata: {
            name,
            annotations: {
                "gateway.networking.k8s.io/bundle-version": "v1.2.1",
                "gateway.networking.k8s.io/channel": "standard",
            },
        },
    });
    return {
        objects: Object.fromEntries(
            ["httproutes.gateway.networking.k8s.io", "grpcroutes.gateway.networking.k8s.io"].map((name) => [
                `kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition::${name}`,
                crd(name),
            ]),
        ),
    };
}

export interface RunOptions {
    stack: string;
    /** Full config map, `akko-mtls:mtls` -> JSON text, as `pulumi config` stores it. */
    config: Record<string, string>;
    /** Reuse outputs from an earlier run (as state would). */
    state?: ProviderState;
    /** Outputs a StackReference to this stack returns (the last deployment's outputs). */
    previousOutputs?: StackOutputValues;
    /**
     * Other stacks a StackReference may read, by stack name (`trust`, `eks`): their outputs as a
     * run of theirs resolved them (secret ones stay secret). A reference to any other stack fails
     * as the engine's does (pulumi pkg/backend/backend.go: `unknown stack`).
     */
    stacks?: Record<string, Record<string, ResolvedOutput>>;
    preview?: boolean;
    program?: Program;
    /** What reads find; default {@link defaultCluster}. */
    cluster?: FakeCluster;
    /** Config keys marked secret, e.g. `akko-mtls:viz`. */
    secretKeys?: string[];
    /**
     * Stack traces formatted through source-map-support, as under `pulumi up` (the SDK registers
     * ts-node with source maps: @pulumi/pulumi 3.270.0 cmd/run/run.js): what `npm run bench`
     * measures. Otherwise V8 formats them (see runProgram), twice as fast.
     */
    sourceMappedStacks?: boolean;
    /** Resources (by name) whose create or update fails, as a failed Job await would. */
    failing?: string[];
    /**
     * A cluster the run applies to: called for each resource created or updated (not an unchanged
     * one, not in a preview), once its dependencies are; throwing fails that resource as a failed
     * await would (e.g. a Job whose pod exits non-zero).
     */
    onApply?: (resource: AppliedResource) => void;
}

/** What {@link RunOptions.onApply} is handed. */
export interface AppliedResource {
    type: string;
    name: string;
    /** Inputs with Pulumi's secret wrappers removed. */
    inputs: any;
}

/** Stack names from the `Pulumi.<stack>.yaml` files beside Pulumi.yaml. */
export function stackNames(root = PROJECT_ROOT): string[] {
    return fs
        .readdirSync(root)
        .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
        .filter((name): name is string => name !== undefined)
        .sort();
}

/** The stack files of cluster stacks: every one but a fleet's trust stack (`akko-mtls:target: trust`), which has no cluster. */
export function clusterStackNames(root = PROJECT_ROOT): string[] {
    return stackNames(root).filter((stack) => readStackConfig(stack, root)[`${PROJECT}:target`] !== "trust");
}

/**
 * A stack file's config as the CLI hands it to the program: objects as JSON text, encrypted values
 * replaced by stand-ins and their keys secret (tools/stackFile.ts).
 */
export function readStack(stack: string, root = PROJECT_ROOT): StackFile {
    return readStackFile(path.join(root, `Pulumi.${stack}.yaml`), PROJECT);
}

/** A stack file's config as the CLI hands it to the program: objects as JSON text. */
export function readStackConfig(stack: string, root = PROJECT_ROOT): Record<string, string> {
    return readStack(stack, root).config;
}

/**
 * Sets a typed value (as a stack file holds it) at a `--path` key, read as `pulumi config set
 * --path` reads it (config/configPath.ts): `mtls.enabled` sets `enabled` inside the
 * `akko-mtls:mtls` object. Undefined removes the key.
 */
export function setConfigPath(config: Record<string, string>, pathKey: string, value: unknown): Record<string, string> {
    const { namespace, path: segments } = parseConfigKey(pathKey, PROJECT);
    const [top, ...rest] = segments.map(String);
    const key = `${namespace}:${top}`;
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
    const notes: string[] = [];
    const engine: MockEngine = {
        state,
        previousOutputs: options.previousOutputs,
        stacks: options.stacks ?? {},
        stackName: options.stack,
        preview: options.preview ?? false,
        cluster: options.cluster ?? defaultCluster(),
        stackTransforms: [],
        transformed: new Map(),
        failing: new Set(options.failing ?? []),
        onApply: options.onApply,
    };

    await pulumi.runtime.setMocks(
        {
            newResource: (args) => mockResource(args, engine),
            call: (args) => {
                throw new Error(`mock runtime: unexpected provider function call ${args.token}`);
            },
            registerTransform: (transform) => engine.stackTransforms.push(transform),
        },
        PROJECT,
        options.stack,
        options.preview ?? false,
        ORGANIZATION,
    );
    recordRegistrations(recorded, engine);
    let registeredOutputs: Record<string, unknown> | undefined;
    let secretOutputPaths: string[] = [];
    const componentOutputs: ProgramRun["componentOutputs"] = {};
    const monitor = pulumi.runtime.getMonitor() as any;
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req: any, callback: (err: any, resp: any) => void) => {
        const outputs = unwrapSecrets(req.getOutputs()?.toJavaScript() ?? {});
        if (req.getUrn().split("::")[2] === "pulumi:pulumi:Stack")
            ({ value: registeredOutputs, secretPaths: secretOutputPaths } = outputs);
        else componentOutputs[req.getUrn()] = outputs;
        return registerOutputs(req, callback);
    };
    pulumi.runtime.setAllConfig(options.config, options.secretKeys);

    // Without an engine, the SDK prints its log messages: `warning: [runtime] …`, `info: [runtime] …`.
    const capture =
        (original: (...args: unknown[]) => void, prefix: string, into: string[]) =>
        (...args: unknown[]) => {
            const match = new RegExp(`^${prefix}: \\[runtime\\] ([\\s\\S]*)$`).exec(args.map(String).join(" "));
            if (match) into.push(match[1]);
            else original(...args);
        };
    const consoleWarn = console.warn;
    const consoleLog = console.log;
    console.warn = capture(consoleWarn, "warning", warnings);
    console.log = capture(consoleLog, "info", notes);
    // The SDK formats a stack trace for every promise it makes and every resource it registers
    // (@pulumi/pulumi 3.270.0 runtime/debuggable.js `debuggablePromise`, resource.js
    // `Resource.stackTrace`); under ts-node each goes through source-map-support, half of a run's time.
    // While the program runs, V8 formats them itself: the same frames, with the transpiled code's positions.
    const errors = Error as { prepareStackTrace?: ErrorConstructor["prepareStackTrace"] };
    const prepareStackTrace = errors.prepareStackTrace;
    if (!options.sourceMappedStacks) errors.prepareStackTrace = undefined;
    let outputs: Record<string, ResolvedOutput> = {};
    let error: Error | undefined;
    try {
        // Loaded here, not imported: the program must only run once the mocks are set.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = options.program ?? (require("../index") as Program);
        // What the program returned, before the Stack flattens it into plain values (runtime/stack.ts):
        // where each output's dependencies can still be read.
        let returned: Record<string, unknown> = {};
        const stackOutputs = await pulumi.runtime.runInPulumiStack(async () => (returned = await program()));
        await pulumi.runtime.disconnect();
        outputs = await resolveOutputs(stackOutputs ?? {}, returned);
        // runInPulumiStack hands back plain values: which were secret is what the engine received.
        for (const [key, output] of Object.entries(outputs)) {
            output.secret ||= secretOutputPaths.some((p) => p === key || p.startsWith(`${key}.`));
        }
    } catch (e) {
        error = e instanceof Error ? e : new Error(String(e));
        // Let registrations already under way reach the monitor, so the record is complete.
        await pulumi.runtime.disconnect().catch(() => undefined);
    } finally {
        errors.prepareStackTrace = prepareStackTrace;
        console.warn = consoleWarn;
        console.log = consoleLog;
    }
    return {
        stack: options.stack,
        config: options.config,
        resources: recorded,
        outputs,
        registeredOutputs,
        componentOutputs,
        warnings,
        notes,
        error,
    };
}

/** What the mocks share during one run. */
interface MockEngine {
    state: ProviderState;
    previousOutputs: StackOutputValues | undefined;
    stacks: Record<string, Record<string, ResolvedOutput>>;
    stackName: string;
    preview: boolean;
    cluster: FakeCluster;
    stackTransforms: pulumi.ResourceTransform[];
    failing: Set<string>;
    onApply?: (resource: AppliedResource) => void;
    /** Inputs and options after transforms, by `<type>::<name>`, for the record. */
    transformed: Map<string, { props: Record<string, unknown>; opts: pulumi.ResourceOptions; names: string[] }>;
}

/** Runs the resource's own transforms, then the stack's, as the engine does (source_eval.go). */
async function applyTransforms(
    args: pulumi.runtime.MockResourceArgs,
    engine: MockEngine,
): Promise<Record<string, unknown>> {
    const transforms = [...(args.transforms ?? []), ...engine.stackTransforms];
    if (transforms.length === 0) return args.inputs;
    let props: Record<string, unknown> = args.inputs;
    let opts: pulumi.ResourceOptions = {};
    for (const transform of transforms) {
        const result = await transform({ type: args.type, name: args.name, custom: args.custom ?? true, props, opts });
        if (result) ({ props, opts } = { props: result.props, opts: result.opts });
    }
    // Outputs a transform put in (secrets) are serialized as the engine would receive them.
    const serialized = await pulumi.runtime.serializeProperties(`transform of ${args.name}`, props);
    engine.transformed.set(`${args.type}::${args.name}`, {
        props: serialized,
        opts,
        names: (args.transforms ?? []).map((t) => t.name),
    });
    return pulumi.runtime.deserializeProperty(serialized);
}

/**
 * What the engine answers a StackReference read with (pulumi v3.259.0 pkg/resource/deploy/builtins.go
 * readStackReference): the stack's outputs and the sorted names of those holding a secret, which the
 * SDK marks secret again (@pulumi/pulumi 3.270.0 stackReference.js isSecretOutputName). Names parse as
 * on the DIY backend (pkg/backend/diy/store.go): `<stack>`, `organization/<stack>` or
 * `organization/<project>/<stack>`. A reference to this stack reads its last deployment's outputs.
 */
function readStackReference(
    name: string,
    engine: MockEngine,
): { name: string; outputs: Record<string, unknown>; secretOutputNames: string[] } {
    const parts = name.split("/");
    const stack = parts[parts.length - 1];
    const wellFormed =
        parts.length === 1 ||
        (parts[0] === ORGANIZATION && (parts.length === 2 || (parts.length === 3 && parts[1] === PROJECT)));
    if (!wellFormed)
        throw new Error(
            `mock runtime: stack reference "${name}" is not <stack>, ${ORGANIZATION}/<stack> or ${ORGANIZATION}/${PROJECT}/<stack>`,
        );
    if (stack === engine.stackName && !(stack in engine.stacks))
        return { name, outputs: engine.previousOutputs ?? {}, secretOutputNames: [] };
    const outputs = engine.stacks[stack];
    if (!outputs) throw new Error(`unknown stack "${name}"`);
    const entries = Object.entries(outputs);
    return {
        name,
        outputs: Object.fromEntries(
            entries.map(([key, output]) => [key, output.secret ? pulumi.secret(output.value) : output.value]),
        ),
        secretOutputNames: entries
            .filter(([, output]) => output.secret)
            .map(([key]) => key)
            .sort(),
    };
}

/** The API server CA the mock token controller writes into a ServiceAccount token Secret's `ca.crt`. */
export const MOCK_API_SERVER_CA = "-----BEGIN CERTIFICATE-----\nMOCK-API-SERVER-CA\n-----END CERTIFICATE-----\n";

/** Outputs the provider computes (beyond echoing inputs), by type: unknown at preview for a new or changed resource. */
const COMPUTED: Record<string, string[]> = {
    "tls:index/privateKey:PrivateKey": [
        "privateKeyPem",
        "privateKeyPemPkcs8",
        "publicKeyPem",
        "publicKeyFingerprintSha256",
    ],
    "tls:index/selfSignedCert:SelfSignedCert": ["certPem", "validityStartTime", "validityEndTime", "readyForRenewal"],
    "tls:index/certRequest:CertRequest": ["certRequestPem", "keyAlgorithm"],
    "tls:index/locallySignedCert:LocallySignedCert": [
        "certPem",
        "validityStartTime",
        "validityEndTime",
        "readyForRenewal",
    ],
    "random:index/randomInteger:RandomInteger": ["result"],
};

async function mockResource(
    args: pulumi.runtime.MockResourceArgs,
    engine: MockEngine,
): Promise<pulumi.runtime.MockResourceResult> {
    const { state } = engine;
    const key = `${args.type}::${args.name}`;
    const isRead = Boolean(args.id);
    const id = args.id || `${args.name}-id`;
    if (args.type === "pulumi:pulumi:StackReference")
        return { id, state: readStackReference(String(args.inputs.name ?? id), engine) };
    if (isRead) {
        const cluster = engine.cluster;
        if (
            args.type === "kubernetes:core/v1:Namespace" &&
            !cluster.objects[`${args.type}::${args.id}`] &&
            !cluster.missingNamespaces?.includes(args.id!)
        ) {
            return {
                id,
                state: {
                    metadata: {
                        name: args.id,
                        labels: {
                            "kubernetes.io/metadata.name": args.id!,
                            ...(cluster.namespaceLabels?.[args.id!] ?? {}),
                        },
                    },
                },
            };
        }
        const found = cluster.objects[`${args.type}::${args.id}`];
        // What the provider answers for a missing object (pulumi engine step.go ReadStep).
        if (!found) throw new Error(`resource '${args.id}' does not exist`);
        return { id, state: found };
    }
    if (engine.failing.has(args.name))
        throw new Error(`${args.name}: failed (simulated, e.g. the Job's await ended in DeadlineExceeded)`);
    const transformedInputs = await applyTransforms(args, engine);
    const remembered = state.outputs.get(key);
    // State keeps what the provider computed (keys, certificates, random numbers); a changed
    // input that forces a new one is what `pulumi up` would replace, so recompute then.
    if (remembered && sameInputs(remembered.__inputs, args.inputs)) {
        return { id, state: remembered.outputs as Record<string, unknown> };
    }
    const inputs = unwrapSecrets(transformedInputs).value;
    if (engine.preview) {
        // The engine cannot know what the provider will compute for a new or changed resource.
        const unknown = Object.fromEntries((COMPUTED[args.type] ?? []).map((output) => [output, UNKNOWN]));
        const kubernetes = args.type.startsWith("kubernetes:")
            ? { metadata: { ...(inputs.metadata ?? {}), uid: UNKNOWN } }
            : {};
        return { id: "", state: { ...inputs, ...unknown, ...kubernetes } };
    }
    engine.onApply?.({ type: args.type, name: args.name, inputs });
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
            const draw = crypto
                .createHash("sha256")
                .update(`${pulumi.getStack()}/${args.name}`)
                .digest()
                .readUInt32BE(0);
            outputs = { ...inputs, result: inputs.min + (draw % span) };
            break;
        }
        default:
            outputs = { ...inputs };
            if (args.type === "kubernetes:core/v1:Secret" && inputs.type === "kubernetes.io/service-account-token") {
                // Kubernetes' token controller fills the Secret of a ServiceAccount (token, ca.crt, namespace);
                // pulumi-kubernetes waits for it. A stand-in token, deterministic per stack and name.
                const token = `mock-token.${crypto.createHash("sha256").update(`${pulumi.getStack()}/${args.name}`).digest("hex").slice(0, 32)}`;
                const b64 = (text: string) => Buffer.from(text).toString("base64");
                outputs.data = {
                    token: b64(token),
                    "ca.crt": b64(MOCK_API_SERVER_CA),
                    namespace: b64(inputs.metadata?.namespace ?? ""),
                };
            }
            if (args.type.startsWith("kubernetes:") && inputs.metadata) {
                // The API server's uid: what a record waiting on an object's completion depends on.
                outputs.metadata = {
                    ...inputs.metadata,
                    uid: crypto.createHash("sha256").update(key).digest("hex").slice(0, 32),
                };
            }
    }
    state.outputs.set(key, { __inputs: args.inputs, outputs });
    return { id, state: outputs };
}

function sameInputs(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

function recordRegistrations(recorded: RecordedResource[], engine: MockEngine): void {
    const monitor = pulumi.runtime.getMonitor() as any;
    const record = (req: any, urn: string, read: boolean, result: any) => {
        // The wire form keeps secrets where they are; deserializing would mark a whole object
        // secret as soon as one value inside it is. Transforms' results replace what was sent.
        const transformed = read ? undefined : engine.transformed.get(`${req.getType()}::${req.getName()}`);
        const { value, secretPaths } = unwrapSecrets(
            transformed?.props ?? (req.getProperties?.() ?? req.getObject()).toJavaScript(),
        );
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
            retainOnDelete: read ? false : Boolean(transformed?.opts.retainOnDelete ?? req.getRetainondelete?.()),
            ignoreChanges: read ? [] : req.getIgnorechangesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            transforms: read ? 0 : req.getTransformsList().length,
            transformNames: transformed?.names ?? [],
            customTimeouts: {
                create: read ? "" : (req.getCustomtimeouts?.()?.getCreate() ?? ""),
                update: read ? "" : (req.getCustomtimeouts?.()?.getUpdate() ?? ""),
                delete: read ? "" : (req.getCustomtimeouts?.()?.getDelete() ?? ""),
            },
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

/** URNs of the resources an Output was computed from: `allResources`, the SDK's internal record of them (output.ts). */
async function dependenciesOf(value: unknown): Promise<string[]> {
    if (!pulumi.Output.isInstance(value)) return [];
    const resources: pulumi.Resource[] = [
        ...(((await (value as any).allResources?.()) as Set<pulumi.Resource> | undefined) ?? []),
    ];
    const urns = await Promise.all(resources.map((r) => new Promise<string>((resolve) => r.urn.apply(resolve))));
    return [...new Set(urns)].sort();
}

async function resolveOutputs(
    outputs: Record<string, unknown>,
    returned: Record<string, unknown>,
): Promise<Record<string, ResolvedOutput>> {
    const resolved: Record<string, ResolvedOutput> = {};
    for (const [key, value] of Object.entries(outputs)) {
        const dependencies = await dependenciesOf(returned[key]);
        if (pulumi.Output.isInstance(value)) {
            const output = value as any;
            resolved[key] = { value: await output.promise(), secret: await output.isSecret, dependencies };
        } else {
            resolved[key] = { value, secret: false, dependencies };
        }
    }
    return resolved;
}

/** Resources of a type the run registers (e.g. `kubernetes:helm.sh/v4:Chart`); reads (`.get`) are not among them. */
export function ofType(run: ProgramRun, type: string): RecordedResource[] {
    return run.resources.filter((r) => r.type === type && !r.read);
}

/** What the run reads (`.get`) of a type, e.g. the namespaces it meshes. */
export function reads(run: ProgramRun, type: string): RecordedResource[] {
    return run.resources.filter((r) => r.type === type && r.read);
}

/** The one resource of a type whose name matches; throws if there is not exactly one. */
export function one(run: ProgramRun, type: string, name: string | RegExp): RecordedResource {
    const found = ofType(run, type).filter((r) => (typeof name === "string" ? r.name === name : name.test(r.name)));
    if (found.length !== 1) {
        throw new Error(
            `expected one ${type} named ${name}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`,
        );
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
