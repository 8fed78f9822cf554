/**
 * Reads the whole `akko-mtls:` config namespace once, merges it over the defaults
 * and the target's preset, validates it, and hands out one frozen, typed object.
 *
 * A bad config throws {@link ConfigError} before the program registers anything;
 * each problem names the key, the value found and what is allowed.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { mergeLayers, presetFor, valueAt } from "./merge";
import { typeName } from "./reference";
import { configSchema, MeshConfig as ParsedConfig } from "./contract";
import { configObject } from "./schema";
import { coerce, ConfigPath, formatConfigKey, formatPropertyPath, parsePropertyPath } from "./configPath";
import { ConfigSecrets, REDACTED } from "./secrets";

export type { Target, ContainerResources } from "./schema";

/** The Pulumi project name, which is also the config namespace. */
export const CONFIG_NAMESPACE = "akko-mtls";

type DeepReadonly<T> = T extends (infer U)[]
    ? readonly DeepReadonly<U>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

export type MeshConfig = DeepReadonly<ParsedConfig>;

export interface ConfigProblem {
    /** The full config key, e.g. `akko-mtls:mtls.enabled`. */
    key: string;
    /** What the stack (or its preset) holds there; undefined when the key is missing. */
    value: unknown;
    /** What is wrong and what is allowed. */
    message: string;
}

/**
 * A rejected config. A `pulumi.RunError`, which the Node SDK prints as its message alone: any
 * other Error is printed with its stack and `util.inspect` of every property, values included
 * (@pulumi/pulumi cmd/run/run.js). Keys are in the CLI's notation (`mtls.authorizations[0].port`).
 * Secret config is never echoed: the value of a key marked secret shows as `[secret]`, and so does
 * every secret text a message would quote (another key's value, a hint's command).
 */
export class ConfigError extends pulumi.RunError {
    constructor(
        readonly problems: ConfigProblem[],
        secrets: ConfigSecrets = ConfigSecrets.none,
        heading = "Invalid stack configuration (nothing was deployed)",
    ) {
        super(
            `${heading}:\n` +
                problems
                    .map((p) => {
                        const secret = secrets.keys.some((top) => isUnder(p.key, top));
                        const got =
                            p.value === OMIT ? "" : ` (got ${secret ? REDACTED : secrets.redact(describe(p.value))})`;
                        return `  - ${p.key}: ${secrets.redact(p.message)}${got}`;
                    })
                    .join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** Whether a full key (`akko-mtls:viz.dashboard.ingress.host`) is the top-level key `top` or under it. */
function isUnder(key: string, top: string): boolean {
    const prefix = `${CONFIG_NAMESPACE}:${top}`;
    return key === prefix || key.startsWith(`${prefix}.`) || key.startsWith(`${prefix}[`);
}

/** A problem without a value worth echoing (a transition, not a bad value). */
export const OMIT = Symbol("omit");

/** The top-level keys of the `akko-mtls:` namespace that are marked secret (`pulumi config set --secret`). */
export function secretConfigKeys(): string[] {
    // A function of the runtime's config module, not a method: it reads no `this`.
    const isSecret = (pulumi.runtime as unknown as { isConfigSecret: (key: string) => boolean }).isConfigSecret;
    const prefix = `${CONFIG_NAMESPACE}:`;
    return Object.keys(pulumi.runtime.allConfig())
        .filter((key) => key.startsWith(prefix) && isSecret(key))
        .map((key) => key.slice(prefix.length));
}

/** Reads the stack's `akko-mtls:*` values from the Pulumi runtime: objects arrive as JSON, scalars as text. */
export function readConfigNamespace(): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    const prefix = `${CONFIG_NAMESPACE}:`;
    for (const [key, text] of Object.entries(pulumi.runtime.allConfig())) {
        if (!key.startsWith(prefix)) continue;
        // Defined, not assigned: a key named `__proto__` must stay a key (and be refused), not set a prototype.
        Object.defineProperty(raw, key.slice(prefix.length), {
            value: parseConfigText(text),
            enumerable: true,
            writable: true,
            configurable: true,
        });
    }
    return raw;
}

function parseConfigText(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** Key names that JavaScript objects treat specially: merging skips them, or they reach a prototype. */
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * How deep a stack value may nest. The deepest key of the config is 6 levels down; free-form values
 * (`mtls.ingress.k3sTraefikValues`) have their own, lower bound. Deeper JSON would exhaust the
 * merge's, the schema's or Pulumi's serializer's recursion long after resources were registered.
 */
export const MAX_CONFIG_DEPTH = 32;
/** How long one top-level key's value may be, as JSON: the largest legitimate one (a preset spelled out) is a few KiB. */
export const MAX_CONFIG_TEXT = 256 * 1024;

/**
 * What must be refused before the values are merged or parsed: keys named `__proto__`,
 * `constructor` or `prototype` anywhere (no config key has such a name, and the merge would skip
 * them without a word, or, assigned, they would change an object's prototype), values nested deeper
 * than {@link MAX_CONFIG_DEPTH}, and top-level values longer than {@link MAX_CONFIG_TEXT}. Walked
 * without recursion, so that no nesting can exhaust the stack here.
 */
export function unsafeKeyProblems(stackValues: Record<string, unknown>): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const pending: [unknown, ConfigPath][] = [[stackValues, []]];
    while (pending.length > 0) {
        const [node, path] = pending.pop()!;
        if (node === null || typeof node !== "object") continue;
        if (path.length >= MAX_CONFIG_DEPTH) {
            problems.push({
                key: configKey(path),
                value: OMIT,
                message: `nests deeper than ${MAX_CONFIG_DEPTH} levels: no key of the config is that deep (write the value in the stack file as the reference shows it)`,
            });
            continue;
        }
        const children: [unknown, ConfigPath][] = Array.isArray(node)
            ? node.map((child, i) => [child, [...path, i]])
            : Object.keys(node).map((key) => [Object.getOwnPropertyDescriptor(node, key)?.value, [...path, key]]);
        for (const [child, childPath] of children.reverse()) {
            const key = childPath[childPath.length - 1];
            if (typeof key === "string" && UNSAFE_KEYS.has(key)) {
                const remove =
                    childPath.length === 1
                        ? `pulumi config rm ${CONFIG_NAMESPACE}:${key}`
                        : `pulumi config rm --path ${shellWord(formatPropertyPath(childPath))}`;
                problems.push({
                    key: configKey(childPath),
                    value: OMIT,
                    message: `"${key}" cannot be a config key (no key has this name, and it would be ignored without a word): remove it (${remove})`,
                });
            } else {
                pending.push([child, childPath]);
            }
        }
    }
    if (problems.length > 0) return problems;
    for (const [key, value] of Object.entries(stackValues)) {
        const length = JSON.stringify(value)?.length ?? 0;
        if (length > MAX_CONFIG_TEXT) {
            problems.push({
                key: configKey([key]),
                value: OMIT,
                message: `is ${Math.ceil(length / 1024)} KiB of JSON, more than the ${MAX_CONFIG_TEXT / 1024} KiB any key of the config needs`,
            });
        }
    }
    return problems;
}

/** The secrets of a stack's values: texts under its keys marked secret, except an enumeration's choices. */
export function configSecrets(stackValues: Record<string, unknown>, secretKeys: readonly string[]): ConfigSecrets {
    return ConfigSecrets.from(stackValues, secretKeys, (path) => isChoice(schemaAt(path.map(String))));
}

/** Merges defaults <- target preset <- stack values and validates the result. Pure. */
export function resolveConfig(stackValues: Record<string, unknown>, secretKeys: readonly string[] = []): MeshConfig {
    const unsafe = unsafeKeyProblems(stackValues);
    if (unsafe.length > 0) throw new ConfigError(unsafe, ConfigSecrets.from(stackValues, secretKeys));
    const secrets = configSecrets(stackValues, secretKeys);
    const target = configObject.shape.target.safeParse(stackValues.target);
    if (!target.success) {
        // Without a valid target there is no preset, and every other report would be noise.
        throw new ConfigError(
            target.error.issues.flatMap((issue) => toProblems({ ...issue, path: ["target"] }, stackValues, secrets)),
            secrets,
        );
    }
    const merged = mergeLayers(target.data, stackValues);

    const parsed = configSchema.safeParse(merged);
    if (!parsed.success) {
        throw new ConfigError(
            parsed.error.issues.flatMap((issue) => toProblems(issue, merged, secrets)),
            secrets,
        );
    }
    const named = secretNameProblems(parsed.data, stackValues, secrets);
    if (named.length > 0) throw new ConfigError(named, secrets);
    return deepFreeze(parsed.data);
}

/**
 * Keys whose values Pulumi or the cluster keep in the open whatever their secrecy, and why. Such a
 * value under a key marked secret cannot stay secret: it is refused rather than leaked.
 */
export interface OpenKey {
    /** The key; every text below it counts. */
    path: ConfigPath;
    /** Where its value is in the open, as the refusal says it. */
    shows: string;
}

const NAMES =
    "names Kubernetes objects and Pulumi resources, which Pulumi keeps in the open in its state, so it cannot be secret";
/**
 * The trust domain ends every mesh identity and is in the subject and the SANs of every
 * certificate of the mesh (the intermediate's `intermediate-g<n>.<stack>.linkerd.<trustDomain>`,
 * the issuer's `identity.linkerd.<trustDomain>`, each proxy's `<sa>.<ns>.serviceaccount.identity.linkerd.<trustDomain>`):
 * certificates are public by design (TLS 1.3 encrypts them on the wire, but every peer reads them,
 * Pulumi keeps the @pulumi/tls certificates in the open in its state, the ConfigMap
 * `linkerd-identity-trust-roots` and every proxy's log print them).
 */
const IN_CERTIFICATES =
    "is in the subject and SANs of every certificate of the mesh (every peer reads them; Pulumi keeps the certificates in the " +
    "open in its state), so it cannot be secret";
/**
 * A mirrored opaque rule names its NetworkPolicy `linkerd-mesh-opaque-<sha256 of the podSelector>`
 * (lib/networkPolicies.ts `mirrorName`) and is in the env of the network preflight Job, whose
 * name is a sha256 of that env (components/meshMaintenance.ts `oneShot`): ten hex digits of an
 * unsalted hash over otherwise public JSON let anyone confirm a guessed label value offline.
 */
const IN_HASHED_NAMES =
    "names Kubernetes objects through a short hash (the linkerd-mesh-opaque-* NetworkPolicies, the network preflight Job), " +
    "which confirms a guessed value offline, so it cannot be secret";

/**
 * The Pod Security check Job dry-runs a pod with the maintenance image and the proxy's resources
 * (lib/podSecurity.ts `injectedPodProbe`), given in its env, and its name is a sha256 of that env
 * (components/meshMaintenance.ts `oneShot`), as for the opaque rules.
 */
const IN_PROBE_NAME =
    "is in the env of the Pod Security check Job, whose name is a short hash of that env, which confirms a guessed value offline, " +
    "so it cannot be secret";

/**
 * The keys whose values are in the open whatever their secrecy: Pulumi resource names (and so
 * URNs), Kubernetes object names, and the namespaces objects are created in or read from (part
 * of the Kubernetes provider's resource IDs), which Pulumi keeps in the open in its state and
 * shows in every preview; names built from a hash of a value (the mirrored opaque rules' selectors,
 * peers and ports); the trust domain, in every
 * certificate. Only the keys in use are listed.
 */
export function openKeys(config: ParsedConfig): OpenKey[] {
    const mtls = config.mtls;
    const names: ConfigPath[] = [
        ...mtls.namespaces.map((_, i): ConfigPath => ["mtls", "namespaces", i]),
        ...mtls.authorizations.flatMap((_, i): ConfigPath[] => [
            ["mtls", "authorizations", i, "namespace"],
            ["mtls", "authorizations", i, "name"],
        ]),
        ...(mtls.ingress.enabled && mtls.ingress.controller === "in-namespace"
            ? [["mtls", "ingress", "namespace"]]
            : []),
        ...(config.identity.issuer.mode === "certManager" ? [["certManager", "namespace"]] : []),
        ...(config.viz.enabled && config.observability.grafanaDashboards.enabled
            ? [["observability", "grafanaDashboards", "namespace"]]
            : []),
        // The trust stack a member reads: a StackReference's name is its id, kept in the open.
        ...(config.identity.trustAnchor.fleetStack !== undefined ? [["identity", "trustAnchor", "fleetStack"]] : []),
        // An allowed host names its route (lib/egress.ts `routeName`: egress-<http|tls>-<port>-<host>).
        ...(mtls.egress.allowedHosts.length > 0 ? [["mtls", "egress", "allowedHosts"]] : []),
        ...Object.entries(mtls.namespaceOptions)
            .filter(([, options]) => (options.egress?.allowedHosts ?? []).length > 0)
            .map(([namespace]): ConfigPath => ["mtls", "namespaceOptions", namespace, "egress", "allowedHosts"]),
    ];
    return [
        ...names.map((path) => ({ path, shows: NAMES })),
        { path: ["identity", "trustDomain"], shows: IN_CERTIFICATES },
        ...Object.keys(mtls.namespaceOptions).flatMap((namespace) =>
            (["opaqueIngress", "opaqueEgress"] as const).map((rules) => ({
                path: ["mtls", "namespaceOptions", namespace, rules],
                shows: IN_HASHED_NAMES,
            })),
        ),
        { path: ["rotationJob", "image"], shows: IN_PROBE_NAME },
        { path: ["linkerd", "proxy", "resources"], shows: IN_PROBE_NAME },
    ];
}

/** Every string leaf of `value`, with its path below `at`. */
function textLeaves(value: unknown, at: ConfigPath): [ConfigPath, string][] {
    if (typeof value === "string") return [[at, value]];
    if (Array.isArray(value)) return value.flatMap((child, i) => textLeaves(child, [...at, i]));
    if (value !== null && typeof value === "object")
        return Object.entries(value).flatMap(([key, child]) => textLeaves(child, [...at, key]));
    return [];
}

/**
 * A value in the open taken from a key marked secret: refused, naming the key. Values from the
 * defaults and presets are public, so only the stack file's own values under a secret key count.
 */
export function secretNameProblems(
    config: ParsedConfig,
    stackValues: Record<string, unknown>,
    secrets: ConfigSecrets,
): ConfigProblem[] {
    return openKeys(config).flatMap(({ path, shows }) =>
        textLeaves(valueAt(stackValues, path.map(String)), path)
            .filter(([leafPath, text]) => secrets.isSecretText(leafPath, text))
            .map(([leafPath]) => ({
                key: configKey(leafPath),
                value: OMIT,
                message:
                    `${shows}; yet ${path[0]} is marked secret (Pulumi marks a whole top-level key secret when any value under ` +
                    `it was set with --secret). Keep ${path[0]} free of --secret values: set each of them again with ` +
                    `pulumi config set --path, without --secret`,
            })),
    );
}

export interface ConfigOverride {
    /** Full key, e.g. `akko-mtls:linkerd.proxy.resources.memory.request`. */
    key: string;
    value: unknown;
    /** What the defaults and the target's preset say; undefined where they say nothing. */
    preset: unknown;
}

/** The stack values that differ from the defaults and the target's preset, leaf by leaf. */
export function configOverrides(stackValues: Record<string, unknown>): ConfigOverride[] {
    const target = configObject.shape.target.safeParse(stackValues.target);
    const preset = presetFor(target.success ? target.data : undefined);
    const overrides: ConfigOverride[] = [];
    const walk = (value: unknown, path: string[]) => {
        const presetValue = valueAt(preset, path);
        if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
            for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
        } else if (JSON.stringify(value) !== JSON.stringify(presetValue)) {
            overrides.push({ key: configKey(path), value, preset: presetValue });
        }
    };
    for (const [key, value] of Object.entries(stackValues)) {
        if (key !== "target") walk(value, [key]);
    }
    return overrides;
}

/**
 * The key meant by a key whose namespace is one of the project's top-level keys (`mtls:enabled`
 * -> `mtls.enabled`): a colon typed for a dot. Pulumi stores it as key `enabled` of a namespace
 * `mtls` (pulumi sdk/go/common/resource/config key.go `ParseKey`), which nothing reads; undefined
 * for any other key.
 */
export function misplacedNamespace(key: string): string | undefined {
    const colon = key.indexOf(":");
    if (colon === -1 || !Object.prototype.hasOwnProperty.call(configObject.shape, key.slice(0, colon)))
        return undefined;
    return `${key.slice(0, colon)}.${key.slice(colon + 1)}`;
}

/**
 * Keys of the stack's config (as the runtime hands them over, `namespace:key` -> text) whose
 * namespace is one of the project's keys: refused with the commands that store them where meant.
 */
export function misplacedNamespaceProblems(
    config: Record<string, string>,
    isSecret: (key: string) => boolean,
): ConfigProblem[] {
    return Object.entries(config).flatMap(([key, text]): ConfigProblem[] => {
        const meant = misplacedNamespace(key);
        if (meant === undefined) return [];
        const rm = `pulumi config rm ${shellWord(key)}`;
        let set: string;
        if (isSecret(key)) {
            set = `pulumi config set --secret --path ${shellWord(meant)} <value>`;
        } else {
            let commands: string[] | undefined;
            try {
                commands = setCommands(parsePropertyPath(meant), parseConfigText(text));
            } catch {
                commands = undefined;
            }
            set =
                commands && commands.length > 0 && commands.length <= 4
                    ? commands.join(" && ")
                    : `pulumi config set --path ${shellWord(meant)} <value>`;
        }
        return [
            {
                key,
                value: OMIT,
                message:
                    `is key "${key.slice(key.indexOf(":") + 1)}" of a namespace "${key.slice(0, key.indexOf(":"))}", which nothing reads ` +
                    `(a colon typed for a dot: the mesh would deploy as if it were not set). Fix: ${rm} && ${set}`,
            },
        ];
    });
}

/** The program's single entry point to configuration. */
export function loadConfig(): MeshConfig {
    const isSecret = (pulumi.runtime as unknown as { isConfigSecret: (key: string) => boolean }).isConfigSecret;
    const misplaced = misplacedNamespaceProblems(pulumi.runtime.allConfig(), isSecret);
    if (misplaced.length > 0) throw new ConfigError(misplaced);
    return resolveConfig(readConfigNamespace(), secretConfigKeys());
}

/** What the stack marked secret (for the program's transform, outputs and messages). */
export function loadConfigSecrets(): ConfigSecrets {
    return configSecrets(readConfigNamespace(), secretConfigKeys());
}

function toProblems(issue: z.core.$ZodIssue, merged: unknown, secrets: ConfigSecrets): ConfigProblem[] {
    const path: ConfigPath = issue.path.map((segment) => (typeof segment === "number" ? segment : String(segment)));
    const textPath = path.map(String);
    if (issue.code === "unrecognized_keys") {
        const allowed = allowedKeysAt(textPath);
        return issue.keys.map((unknownKey) => {
            const value = valueAt(merged, [...textPath, unknownKey]);
            const unpathed =
                path.length === 0
                    ? setWithoutPath(unknownKey, value, allowed, secrets.isSecretPath([unknownKey]))
                    : undefined;
            return {
                key: configKey([...path, unknownKey]),
                value,
                message: unpathed ?? `unknown key; allowed here: ${allowed.join(", ")}`,
            };
        });
    }
    const value = valueAt(merged, textPath);
    // A hint never shows the value of a key marked secret (ConfigError hides the "got" part too).
    const secret = secrets.isSecretPath(path);
    const schema = schemaAt(textPath);
    let message: string;
    switch (issue.code) {
        case "invalid_value":
            message = `allowed: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
            break;
        case "invalid_type":
            if (value === undefined) message = `is required (${expectedOf(schema, issue.expected)})`;
            else if (typeof value === "number" && !Number.isFinite(value))
                message = `expected ${issue.expected}: ${value} is no number the config can hold`;
            else message = `expected ${issue.expected}${typeHint(issue.expected, value, path, secret)}`;
            break;
        case "invalid_key":
            message = `is not a valid key here: ${issue.issues.map((inner) => inner.message).join("; ")}`;
            break;
        case "invalid_union": {
            const branches = issue.errors.map((branch) => (branch.length === 1 ? branch[0] : undefined));
            if (value === undefined) message = `is required (${expectedOf(schema, "a value")})`;
            else if (branches.every((b) => b?.code === "invalid_value"))
                message = `allowed: ${branches
                    .flatMap((b) => (b?.code === "invalid_value" ? b.values : []))
                    .map((v) => JSON.stringify(v))
                    .join(", ")}`;
            else message = `expected ${expectedOf(schema, "another value")}`;
            break;
        }
        case "too_small":
        case "too_big":
            message = ZOD_GENERIC.test(issue.message) ? boundMessage(issue, schema) : issue.message;
            break;
        default:
            message = issue.message;
    }
    // A number given as text where a number would do (a union such as a port: number or name).
    if (issue.code !== "invalid_type" && typeof value === "string" && acceptsNumber(schema))
        message += typeHint("number", value, path, secret);
    return [{ key: configKey(path), value, message }];
}

/** zod's own wording, which names no key and no reason ("Too small: expected number to be >=1"). */
const ZOD_GENERIC = /^Too (small|big): expected /;

/** A bound a value crossed, in words, with what the key takes (`must be at least 1 (integer 1–24)`). */
function boundMessage(
    issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig,
    schema: z.core.$ZodType | undefined,
): string {
    const small = issue.code === "too_small";
    const bound = Number(issue.code === "too_small" ? issue.minimum : issue.maximum);
    const inclusive = issue.inclusive !== false;
    const relation = small ? (inclusive ? "at least" : "more than") : inclusive ? "at most" : "less than";
    const takes = schema ? ` (${typeName(schema)})` : "";
    // zod's integers stop at 2^53 - 1, past which a number is no exact integer: what the key takes says it better.
    if (Math.abs(bound) === Number.MAX_SAFE_INTEGER && schema)
        return `must be an ${typeName(schema)}: ${small ? "-" : ""}2^53 and beyond are not exact integers`;
    switch (issue.origin) {
        case "string":
            return `must be ${relation} ${bound} character${bound === 1 ? "" : "s"} long${takes}`;
        case "array":
        case "set":
            return `must hold ${relation} ${bound} item${bound === 1 ? "" : "s"}${takes}`;
        default:
            return `must be ${relation} ${bound}${takes}`;
    }
}

/** What a key takes, in the reference's words (`integer 1–65535 or string`). */
function expectedOf(schema: z.core.$ZodType | undefined, fallback: string): string {
    return schema ? typeName(schema) : fallback;
}

/**
 * A top-level key with a dot in its name, such as `mtls.enabled`, whose first part is a key of the
 * config: `pulumi config set` without `--path` stores the whole text as one key. The exact fix,
 * when the value is one the key takes; otherwise the removal and what the key takes.
 */
function setWithoutPath(unknownKey: string, value: unknown, allowed: string[], secret: boolean): string | undefined {
    const first = unknownKey.split(/[.[]/)[0];
    if (first === unknownKey || !allowed.includes(first)) return undefined;
    const rm = `pulumi config rm ${CONFIG_NAMESPACE}:${shellWord(unknownKey)}`;
    const head = `was set without --path: Pulumi stored one key named "${unknownKey}", which the config does not have. Fix: `;
    if (secret) return `${head}${rm} && pulumi config set --secret --path ${shellWord(unknownKey)} <value>`;
    let segments: ConfigPath;
    try {
        segments = parsePropertyPath(unknownKey);
    } catch {
        // No `--path` reads this key: there is no command to give, only the stack file.
        return `${head}${rm}, then write ${first}'s value in the stack file`;
    }
    // With --path a list or an object given as JSON stays text: set it leaf by leaf.
    const commands = setCommands(segments, value);
    if (commands === undefined) {
        const schema = schemaAt(segments.map(String));
        // What --path would store: a text becomes a boolean or an integer where it reads as one.
        const stored = typeof value === "string" ? coerce(value) : value;
        const problem = schema ? z.safeParse(schema, stored).error?.issues[0]?.message : undefined;
        return (
            `${head}${rm}, then set a value it takes with pulumi config set --path ${shellWord(formatPropertyPath(segments))} <value>` +
            (problem ? ` (this one is not: ${problem})` : schema ? ` (${typeName(schema)})` : "")
        );
    }
    if (commands.length === 0 || commands.length > 4)
        return `${head}${rm}, then write ${first}'s value in the stack file`;
    return `${head}${[rm, ...commands].join(" && ")}`;
}

/** How many items a list hint spells out as commands; a longer list is better written in the stack file. */
const MAX_ITEM_COMMANDS = 8;

/**
 * The `pulumi config set --path` commands that store `value` at `path` with the type the schema
 * wants: one per leaf (a list or an object given as JSON would stay text), and `--type string` for
 * text that --path would otherwise store as a boolean or a number. Undefined when a leaf, stored
 * so, is still not a value its key takes: a command that leaves the config invalid is no fix.
 */
function setCommands(path: ConfigPath, value: unknown): string[] | undefined {
    if (Array.isArray(value) || (value !== null && typeof value === "object")) {
        const entries: [string | number, unknown][] = Array.isArray(value)
            ? value.map((item, i) => [i, item])
            : Object.entries(value);
        const commands: string[] = [];
        for (const [key, child] of entries) {
            const more = setCommands([...path, key], child);
            if (more === undefined) return undefined;
            commands.push(...more);
        }
        return commands;
    }
    const schema = schemaAt(path.map(String));
    const wantsText =
        schema instanceof z.ZodString ||
        (schema instanceof z.ZodEnum && schema.options.every((o) => typeof o === "string"));
    const text = typeof value === "string" ? value : JSON.stringify(value);
    const typeFlag = (typeof value === "string" || wantsText) && coerce(text) !== text;
    const stored = typeFlag ? text : coerce(text);
    if (!passes(path, stored)) return undefined;
    return [
        `pulumi config set${typeFlag ? " --type string" : ""} --path ${shellWord(formatPropertyPath(path))} ${text.startsWith("-") ? "-- " : ""}${shellWord(text)}`,
    ];
}

/** Texts people write for a boolean: the hint names the boolean they meant. */
const BOOLEAN_WORDS: Record<string, boolean> = {
    true: true,
    false: false,
    yes: true,
    no: false,
    on: true,
    off: false,
    y: true,
    n: false,
    "1": true,
    "0": false,
};

/** Whether a value passes the schema of the key at `path`. */
function passes(path: ConfigPath, value: unknown): boolean {
    const schema = schemaAt(path.map(String));
    return schema !== undefined && z.safeParse(schema, value).success;
}

/**
 * Why a value of the wrong type is probably there, and the fix. `pulumi config set --path` stores
 * `true`, `false` and integers typed (without a leading zero) and anything else as text; a value
 * becomes text with quotes in the stack file, with `--type string`, or with a leading zero
 * (pulumi `pulumi config set --help`; sdk/go/common/resource/config adjustObjectValue). A command
 * is suggested only when the value it stores passes the key.
 */
function typeHint(expected: string, value: unknown, zodPath: ConfigPath, secret: boolean): string {
    const at = formatPropertyPath(zodPath);
    if (secret) {
        const typed =
            ["number", "int", "boolean"].includes(expected) && (typeof value === "string" || typeof value === "number");
        return typed
            ? `: a secret stored as text; set it typed with pulumi config set --secret --path ${shellWord(at)} <value>`
            : "";
    }
    const set = (shown: string) => `pulumi config set --path ${shellWord(at)} ${shown}`;
    if (typeof value === "string" && (expected === "number" || expected === "int")) {
        const text = value.trim();
        // Integers only: --path stores a decimal as text, and every number of the config is an integer.
        if (/^[-+]?[0-9]+$/.test(text)) {
            const number = Number(text);
            if (!passes(zodPath, number))
                return `, got the text "${value}": written as a number, ${number} is not allowed here either (${typeName(schemaAt(zodPath.map(String))!)})`;
            const typed = number < 0 ? `-- ${number}` : String(number);
            return (
                `, got the text "${value}": write it without quotes in the stack file, or run ${set(typed)} ` +
                "(with --path, integers and true/false are stored typed; quotes, a leading zero or --type string store text)"
            );
        }
    }
    if (expected === "boolean" && (typeof value === "string" || typeof value === "number")) {
        const meant = BOOLEAN_WORDS[String(value).trim().toLowerCase()];
        if (meant !== undefined) {
            return (
                `, got ${typeof value === "string" ? `the text "${value}"` : `the number ${value}`}: a boolean is true or false, unquoted: ` +
                `write ${meant} in the stack file, or run ${set(String(meant))} ` +
                "(with --path, true and false are stored typed; quotes or --type string store text)"
            );
        }
    }
    const scalar = value === null || typeof value !== "object";
    // A text at a nested key must go before anything is set below it (pulumi config object.go Set: "expected a map").
    const rmFirst = zodPath.length > 1 ? `pulumi config rm --path ${shellWord(at)} && ` : "";
    if ((expected === "object" || expected === "record") && scalar) {
        const textPath = zodPath.map(String);
        const keys = allowedKeysAt(textPath);
        const json = typeof value === "string" && /^\s*\{/.test(value);
        // The first leaf below, e.g. linkerd.proxy.resources -> linkerd.proxy.resources.cpu.request.
        const leaf = [...textPath];
        for (let next = keys; next.length > 0; next = allowedKeysAt(leaf)) leaf.push(next[0]);
        const example = keys.length > 0 ? formatPropertyPath(leaf) : `${at}.<key>`;
        return (
            `, got ${json ? "JSON as text" : `the ${typeof value === "string" ? "text" : "value"} ${describe(value)}`}: ` +
            `this key holds ${keys.length > 0 ? `the keys ${keys.join(", ")}` : "a map"}; set each one with ` +
            `${rmFirst}pulumi config set --path ${shellWord(example)} <value>, or write the object in the stack file`
        );
    }
    if (expected === "array" && scalar) {
        const items = typeof value === "string" ? listItems(value) : [value];
        const commands =
            items.length <= MAX_ITEM_COMMANDS && passes(zodPath, items) ? setCommands(zodPath, items) : undefined;
        const how = commands
            ? `set each item, ${rmFirst}${commands.join(" && ")}`
            : `set each item with ${rmFirst}pulumi config set --path ${shellWord(`${at}[0]`)} <item>, …`;
        return `, got ${describe(value)} (set with --path, a list is stored as text): ${how}, or write the list in the stack file`;
    }
    return "";
}

/**
 * The items a list given as one text meant: a JSON list (`["akko","spark"]`), a bracketed or a
 * comma-separated one (`[akko,spark]`, `akko,spark`), else the text as the only item.
 */
function listItems(text: string): unknown[] {
    try {
        const parsed = JSON.parse(text);
        if (Array.isArray(parsed)) return parsed;
    } catch {
        // not JSON
    }
    const items = text
        .trim()
        .replace(/^\[(.*)\]$/s, "$1")
        .split(",")
        .map((item) => item.trim().replace(/^(["'])(.*)\1$/, "$2"));
    if (items.some((item) => item === "")) return [text];
    // Each item as `pulumi config set --path` would store it typed on its own.
    return items.map(coerce);
}

/** A word as a POSIX shell reads it back. */
function shellWord(text: string): string {
    return /^[A-Za-z0-9_.:/@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * A full config key in the CLI's notation: `akko-mtls:mtls.authorizations[0].port`. The top-level
 * key is written as Pulumi names it, even when it holds a dot (`akko-mtls:mtls.enabled`, a key set
 * without --path).
 */
export function configKey(path: ConfigPath): string {
    return formatConfigKey(CONFIG_NAMESPACE, path);
}

/** The schema of the key at `path`, unwrapped; undefined where the schema has no such key. */
function schemaAt(path: readonly string[]): z.core.$ZodType | undefined {
    let schema: z.core.$ZodType | undefined = configObject;
    for (const segment of path) {
        schema = unwrap(schema);
        if (schema instanceof z.ZodObject)
            schema = Object.prototype.hasOwnProperty.call(schema.shape, segment) ? schema.shape[segment] : undefined;
        else if (schema instanceof z.ZodArray) schema = schema.element;
        else if (schema instanceof z.ZodRecord) schema = schema.valueType;
        else return undefined;
        if (schema === undefined) return undefined;
    }
    return unwrap(schema);
}

/** Whether a schema is an enumeration (or a union of literals): its values are choices, not free text. */
function isChoice(schema: z.core.$ZodType | undefined): boolean {
    if (schema instanceof z.ZodEnum || schema instanceof z.ZodLiteral) return true;
    return (
        schema instanceof z.ZodUnion &&
        (schema.options as z.core.$ZodType[]).every((option) => isChoice(unwrap(option)))
    );
}

/** The keys the schema accepts at `path`, for "unknown key" messages. */
function allowedKeysAt(path: string[]): string[] {
    const schema = schemaAt(path);
    return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** Whether a number is one of the values a schema (or one of its union's options) takes. */
function acceptsNumber(schema: z.core.$ZodType | undefined): boolean {
    if (schema instanceof z.ZodNumber) return true;
    if (schema instanceof z.ZodUnion)
        return (schema.options as z.core.$ZodType[]).some((option) => acceptsNumber(unwrap(option)));
    if (schema instanceof z.ZodLiteral) return [...schema.values].some((v) => typeof v === "number");
    return false;
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
    while (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault) {
        schema = schema.unwrap();
    }
    return schema;
}

/** A value as a message shows it: JSON, shortened; numbers JSON cannot hold (Infinity) by name, not as null. */
function describe(value: unknown): string {
    if (value === undefined) return "nothing";
    if (typeof value === "number" && !Number.isFinite(value)) return String(value);
    const text = JSON.stringify(value, (_key, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function deepFreeze<T>(value: T): DeepReadonly<T> {
    if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
        for (const child of Object.values(value)) deepFreeze(child);
        Object.freeze(value);
    }
    return value as DeepReadonly<T>;
}

export { configReference } from "./reference";
export type { ConfigReferenceRow } from "./reference";
