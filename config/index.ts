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
import { configObject, configSchema, MeshConfig as ParsedConfig, Target } from "./schema";

export type { Target, ContainerResources } from "./schema";

/** The Pulumi project name, which is also the config namespace. */
export const CONFIG_NAMESPACE = "akko-mtls";

type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

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
 * (@pulumi/pulumi cmd/run/run.js). Values of keys marked secret are never echoed.
 */
export class ConfigError extends pulumi.RunError {
    constructor(
        readonly problems: ConfigProblem[],
        secretKeys: readonly string[] = [],
        heading = "Invalid stack configuration (nothing was deployed)",
    ) {
        super(
            `${heading}:\n` +
                problems
                    .map((p) => {
                        const secret = secretKeys.some((k) => p.key === `${CONFIG_NAMESPACE}:${k}` || p.key.startsWith(`${CONFIG_NAMESPACE}:${k}.`));
                        return `  - ${p.key}: ${p.message}${p.value === OMIT ? "" : ` (got ${secret ? "[secret]" : describe(p.value)})`}`;
                    })
                    .join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** A problem without a value worth echoing (a transition, not a bad value). */
export const OMIT = Symbol("omit");

/** The top-level keys of the `akko-mtls:` namespace that are marked secret (`pulumi config set --secret`). */
export function secretConfigKeys(): string[] {
    const isSecret = (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;
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
        Object.defineProperty(raw, key.slice(prefix.length), { value: parseConfigText(text), enumerable: true, writable: true, configurable: true });
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
 * Keys named `__proto__`, `constructor` or `prototype` anywhere in the stack's values. No config key
 * has such a name, and the merge would skip them without a word (or, assigned, they would change an
 * object's prototype): they are refused, each by its path, before anything is merged.
 */
export function unsafeKeyProblems(stackValues: Record<string, unknown>): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    const walk = (node: unknown, path: (string | number)[]) => {
        if (node === null || typeof node !== "object") return;
        if (Array.isArray(node)) {
            node.forEach((child, i) => walk(child, [...path, i]));
            return;
        }
        for (const key of Object.keys(node)) {
            const child = Object.getOwnPropertyDescriptor(node, key)?.value;
            if (UNSAFE_KEYS.has(key)) {
                const keyPath = [...path, key];
                const remove = keyPath.length === 1 ? `pulumi config rm ${CONFIG_NAMESPACE}:${key}` : `pulumi config rm --path '${pulumiPath(keyPath)}'`;
                problems.push({
                    key: configKey(keyPath.map(String)),
                    value: OMIT,
                    message: `"${key}" cannot be a config key (no key has this name, and it would be ignored without a word): remove it (${remove})`,
                });
            } else {
                walk(child, [...path, key]);
            }
        }
    };
    walk(stackValues, []);
    return problems;
}

/** Merges defaults <- target preset <- stack values and validates the result. Pure. */
export function resolveConfig(stackValues: Record<string, unknown>, secretKeys: readonly string[] = []): MeshConfig {
    const unsafe = unsafeKeyProblems(stackValues);
    if (unsafe.length > 0) throw new ConfigError(unsafe, secretKeys);
    const target = configObject.shape.target.safeParse(stackValues.target);
    if (!target.success) {
        // Without a valid target there is no preset, and every other report would be noise.
        throw new ConfigError(
            target.error.issues.flatMap((issue) => toProblems({ ...issue, path: ["target"] }, stackValues, secretKeys)),
            secretKeys,
        );
    }
    const merged = mergeLayers(target.data as Target, stackValues);

    const parsed = configSchema.safeParse(merged);
    if (!parsed.success) {
        throw new ConfigError(
            parsed.error.issues.flatMap((issue) => toProblems(issue, merged, secretKeys)),
            secretKeys,
        );
    }
    return deepFreeze(parsed.data);
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
    const preset = presetFor(target.success ? (target.data as Target) : undefined);
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

/** The program's single entry point to configuration. */
export function loadConfig(): MeshConfig {
    return resolveConfig(readConfigNamespace(), secretConfigKeys());
}

function toProblems(issue: z.core.$ZodIssue, merged: unknown, secretKeys: readonly string[]): ConfigProblem[] {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
        const allowed = allowedKeysAt(path);
        return issue.keys.map((unknownKey) => {
            const value = valueAt(merged, [...path, unknownKey]);
            const unpathed = path.length === 0 ? setWithoutPath(unknownKey, value, allowed, isSecret(unknownKey, secretKeys)) : undefined;
            return {
                key: configKey([...path, unknownKey]),
                value,
                message: unpathed ?? `unknown key; allowed here: ${allowed.join(", ")}`,
            };
        });
    }
    const value = valueAt(merged, path);
    // A hint never shows the value of a key marked secret (ConfigError hides the "got" part too).
    const secret = isSecret(path.join("."), secretKeys);
    let message: string;
    switch (issue.code) {
        case "invalid_value":
            message = `allowed: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
            break;
        case "invalid_type":
            message =
                value === undefined ? `is required (${issue.expected})` : `expected ${issue.expected}${typeHint(issue.expected, value, issue.path, secret)}`;
            break;
        case "invalid_key":
            message = `is not a valid key here: ${issue.issues.map((inner) => inner.message).join("; ")}`;
            break;
        case "invalid_union": {
            const branches = issue.errors.map((branch) => (branch.length === 1 ? branch[0] : undefined));
            message = branches.every((b) => b?.code === "invalid_value")
                ? `allowed: ${branches
                      .flatMap((b) => (b?.code === "invalid_value" ? b.values : []))
                      .map((v) => JSON.stringify(v))
                      .join(", ")}`
                : issue.message;
            break;
        }
        default:
            message = issue.message;
    }
    // A number given as text where a number would do (a union such as a port: number or name).
    if (issue.code !== "invalid_type" && typeof value === "string" && acceptsNumber(schemaAt(path))) message += typeHint("number", value, issue.path, secret);
    return [{ key: configKey(path), value, message }];
}

function isSecret(topLevelKey: string, secretKeys: readonly string[]): boolean {
    return secretKeys.some((k) => topLevelKey === k || topLevelKey.startsWith(`${k}.`));
}

/**
 * A top-level key with a dot in its name, such as `mtls.enabled`, whose first part is a key of the
 * config: `pulumi config set` without `--path` stores the whole text as one key. The exact fix.
 */
function setWithoutPath(unknownKey: string, value: unknown, allowed: string[], secret: boolean): string | undefined {
    const first = unknownKey.split(/[.[]/)[0];
    if (first === unknownKey || !allowed.includes(first)) return undefined;
    const rm = `pulumi config rm ${CONFIG_NAMESPACE}:${unknownKey}`;
    const head = `was set without --path: Pulumi stored one key named "${unknownKey}", which the config does not have. Fix: `;
    if (secret) return `${head}${rm} && pulumi config set --secret --path ${shellWord(unknownKey)} <value>`;
    // With --path a list or an object given as JSON stays text: set it leaf by leaf.
    const segments = [...unknownKey.matchAll(/([^.[\]]+)|\[([0-9]+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]));
    const commands = setCommands(segments, value);
    if (commands.length === 0 || commands.length > 4) return `${head}${rm}, then write ${first}'s value in the stack file`;
    return `${head}${[rm, ...commands].join(" && ")}`;
}

/**
 * The `pulumi config set --path` commands that store `value` at `path` with the type the schema
 * wants: one per leaf (a list or an object given as JSON would stay text), and `--type string` for
 * text that --path would otherwise store as a boolean or a number.
 */
function setCommands(path: (string | number)[], value: unknown): string[] {
    if (Array.isArray(value)) return value.flatMap((item, i) => setCommands([...path, i], item));
    if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => setCommands([...path, k], v));
    const schema = schemaAt(path.map(String));
    const wantsText = schema instanceof z.ZodString || (schema instanceof z.ZodEnum && schema.options.every((o) => typeof o === "string"));
    const text = typeof value === "string" ? value : JSON.stringify(value);
    const typeFlag = (typeof value === "string" || wantsText) && storedTyped(text) ? " --type string" : "";
    return [`pulumi config set${typeFlag} --path ${shellWord(pulumiPath(path))} ${text.startsWith("-") ? "-- " : ""}${shellWord(text)}`];
}

/** Whether `pulumi config set --path` stores this text as a boolean or an integer (pulumi config adjustObjectValue). */
function storedTyped(text: string): boolean {
    return text === "true" || text === "false" || (/^-?[0-9]+$/.test(text) && !(text.length > 1 && text.startsWith("0")));
}

/**
 * Why a value of the wrong type is probably there, and the fix. `pulumi config set --path` stores
 * `true`, `false` and integers typed (without a leading zero) and anything else as text; a value
 * becomes text with quotes in the stack file, with `--type string`, or with a leading zero
 * (pulumi `pulumi config set --help`; sdk/go/common/resource/config adjustObjectValue).
 */
function typeHint(expected: string, value: unknown, zodPath: readonly PropertyKey[], secret: boolean): string {
    const at = pulumiPath(zodPath.map((segment) => (typeof segment === "number" ? segment : String(segment))));
    if (secret) {
        const typed = ["number", "int", "boolean"].includes(expected) && typeof value === "string";
        return typed ? ": a secret stored as text; set it typed with pulumi config set --secret --path " + `${shellWord(at)} <value>` : "";
    }
    const set = (shown: string) => `pulumi config set --path ${shellWord(at)} ${shown}`;
    if (typeof value === "string") {
        const text = value.trim();
        // Integers only: --path stores a decimal as text, and every number of the config is an integer.
        if ((expected === "number" || expected === "int") && /^[-+]?[0-9]+$/.test(text)) {
            const number = String(Number(text));
            const typed = number.startsWith("-") ? `-- ${number}` : number;
            return (
                `, got the text "${value}": write it without quotes in the stack file, or run ${set(typed)} ` +
                "(with --path, integers and true/false are stored typed; quotes, a leading zero or --type string store text)"
            );
        }
        if (expected === "boolean" && /^(true|false)$/i.test(text)) {
            return (
                `, got the text "${value}": write it without quotes in the stack file, or run ${set(text.toLowerCase())} ` +
                "(with --path, true and false are stored typed; quotes or --type string store text)"
            );
        }
    }
    const scalar = value === null || typeof value !== "object";
    if ((expected === "object" || expected === "record") && scalar) {
        const keys = allowedKeysAt(zodPath.map(String));
        const json = typeof value === "string" && /^\s*\{/.test(value);
        // The first leaf below, e.g. linkerd.proxy.resources -> linkerd.proxy.resources.cpu.request.
        const leaf = zodPath.map(String);
        for (let next = keys; next.length > 0; next = allowedKeysAt(leaf)) leaf.push(next[0]);
        const example = keys.length > 0 ? pulumiPath(leaf) : `${at}.<key>`;
        return (
            `, got ${json ? "JSON as text" : `the ${typeof value === "string" ? "text" : "value"} ${describe(value)}`}: ` +
            `this key holds ${keys.length > 0 ? `the keys ${keys.join(", ")}` : "a map"}; set each one with ` +
            `pulumi config set --path ${shellWord(example)} <value>, or write the object in the stack file`
        );
    }
    if (expected === "array" && scalar) {
        const items = typeof value === "string" ? listItems(value) : [value];
        const segments = zodPath.map((segment) => (typeof segment === "number" ? segment : String(segment)));
        const commands = setCommands(segments, items.slice(0, 3));
        return `, got ${describe(value)} (set with --path, a list is stored as text): set each item, ${commands.join(" && ")}, or write the list in the stack file`;
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
    return items.map((item) => (item === "true" ? true : item === "false" ? false : /^(0|-?[1-9][0-9]*)$/.test(item) ? Number(item) : item));
}

/** A config path as `pulumi config set --path` spells it: `mtls.authorizations[0].port`, `a["b.c"]`. */
function pulumiPath(path: readonly (string | number)[]): string {
    return path
        .map((segment, i) => {
            if (typeof segment === "number" || /^[0-9]+$/.test(segment)) return `[${segment}]`;
            if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) return i === 0 ? segment : `.${segment}`;
            return `[${JSON.stringify(segment)}]`;
        })
        .join("");
}

/** A word as a POSIX shell reads it back. */
function shellWord(text: string): string {
    return /^[A-Za-z0-9_.:/@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

function configKey(path: string[]): string {
    return `${CONFIG_NAMESPACE}:${path.join(".")}`;
}

/** The schema of the key at `path`, unwrapped; undefined where the schema has no such key. */
function schemaAt(path: string[]): z.core.$ZodType | undefined {
    let schema: z.core.$ZodType | undefined = configObject;
    for (const segment of path) {
        schema = unwrap(schema);
        if (schema instanceof z.ZodObject) schema = Object.prototype.hasOwnProperty.call(schema.shape, segment) ? schema.shape[segment] : undefined;
        else if (schema instanceof z.ZodArray) schema = schema.element as z.core.$ZodType;
        else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.core.$ZodType;
        else return undefined;
        if (schema === undefined) return undefined;
    }
    return unwrap(schema);
}

/** The keys the schema accepts at `path`, for "unknown key" messages. */
function allowedKeysAt(path: string[]): string[] {
    const schema = schemaAt(path);
    return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** Whether a number is one of the values a schema (or one of its union's options) takes. */
function acceptsNumber(schema: z.core.$ZodType | undefined): boolean {
    if (schema instanceof z.ZodNumber) return true;
    if (schema instanceof z.ZodUnion) return (schema.options as z.core.$ZodType[]).some((option) => acceptsNumber(unwrap(option)));
    if (schema instanceof z.ZodLiteral) return [...schema.values].some((v) => typeof v === "number");
    return false;
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
    while (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault) {
        schema = schema.unwrap() as z.core.$ZodType;
    }
    return schema;
}

function describe(value: unknown): string {
    if (value === undefined) return "nothing";
    const text = JSON.stringify(value);
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
