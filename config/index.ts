/**
 * Reads the whole `akko-mtls:` config namespace once, merges it over the defaults
 * and the target's preset, validates it, and hands out one frozen, typed object.
 *
 * A bad config throws {@link ConfigError} before the program registers anything;
 * each problem names the key, the value found and what is allowed.
 */
import * as pulumi from "@pulumi/pulumi";
import deepmerge from "deepmerge";
import { z } from "zod";
import { DEFAULTS, TARGET_PRESETS } from "./presets";
import { configObject, configSchema, MeshConfig as ParsedConfig, Target } from "./schema";

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
        raw[key.slice(prefix.length)] = parseConfigText(text);
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

/**
 * How layers merge: objects key by key, but a list, or a map of labels or annotations, is replaced
 * whole by the layer above (a stack's pod selector must not keep the preset's labels).
 */
const REPLACED_MAPS = new Set(["podSelector", "authAnnotations", "ruleLabels"]);
const MERGE_OPTIONS: deepmerge.Options = {
    arrayMerge: (_previous, next) => next,
    customMerge: (key) => (REPLACED_MAPS.has(key) ? (_previous: unknown, next: unknown) => next : undefined),
};

/** Merges defaults <- target preset <- stack values and validates the result. Pure. */
export function resolveConfig(stackValues: Record<string, unknown>, secretKeys: readonly string[] = []): MeshConfig {
    const target = configObject.shape.target.safeParse(stackValues.target);
    if (!target.success) {
        // Without a valid target there is no preset, and every other report would be noise.
        throw new ConfigError(
            target.error.issues.flatMap((issue) => toProblems({ ...issue, path: ["target"] }, stackValues)),
            secretKeys,
        );
    }
    const layers: object[] = [DEFAULTS, ...TARGET_PRESETS[target.data as Target], stackValues];
    const merged = deepmerge.all(layers, MERGE_OPTIONS) as Record<string, unknown>;

    const parsed = configSchema.safeParse(merged);
    if (!parsed.success) {
        throw new ConfigError(
            parsed.error.issues.flatMap((issue) => toProblems(issue, merged)),
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
    const preset = deepmerge.all([DEFAULTS, ...(target.success ? TARGET_PRESETS[target.data as Target] : [])], MERGE_OPTIONS);
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

function toProblems(issue: z.core.$ZodIssue, merged: unknown): ConfigProblem[] {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
        const allowed = allowedKeysAt(path);
        return issue.keys.map((unknownKey) => ({
            key: configKey([...path, unknownKey]),
            value: valueAt(merged, [...path, unknownKey]),
            message: `unknown key; allowed here: ${allowed.join(", ")}`,
        }));
    }
    const value = valueAt(merged, path);
    let message: string;
    switch (issue.code) {
        case "invalid_value":
            message = `allowed: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
            break;
        case "invalid_type":
            message = value === undefined ? `is required (${issue.expected})` : `expected ${issue.expected}`;
            break;
        default:
            message = issue.message;
    }
    return [{ key: configKey(path), value, message }];
}

function configKey(path: string[]): string {
    return `${CONFIG_NAMESPACE}:${path.join(".")}`;
}

function valueAt(root: unknown, path: string[]): unknown {
    let node = root;
    for (const segment of path) {
        if (node === null || typeof node !== "object") return undefined;
        node = (node as Record<string, unknown>)[segment];
    }
    return node;
}

/** The keys the schema accepts at `path`, for "unknown key" messages. */
function allowedKeysAt(path: string[]): string[] {
    let schema: z.core.$ZodType = configObject;
    for (const segment of path) {
        schema = unwrap(schema);
        if (schema instanceof z.ZodObject) schema = schema.shape[segment];
        else if (schema instanceof z.ZodArray) schema = schema.element;
        else if (schema instanceof z.ZodRecord) schema = schema.valueType;
        else return [];
    }
    schema = unwrap(schema);
    return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
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
