/**
 * The config reference, from the schema itself: every leaf key with its type, its default (from
 * the defaults and each target's preset) and its description (the schema's `.describe()`). The
 * README's config table is generated from it.
 */
import { z } from "zod";
import { presetFor, valueAt } from "./merge";
import { configObject, Target, TARGETS } from "./schema";

export interface ConfigReferenceRow {
    /** Dotted key inside the `akko-mtls:` namespace, e.g. `mtls.ingress.enabled`. */
    key: string;
    /** The type as a reader needs it, e.g. `boolean`, `integer 1–7`, `one of nft, legacy`, `list of string`. */
    type: string;
    /** The default: one value, per target ("`true` on k3d/k3s, `false` on eks/gke"), or "—" when there is none. */
    default: string;
    description: string;
}

interface Meta {
    description?: string;
    /** A default computed from other keys, in words. */
    derivedDefault?: string;
    /** The type a reader knows a refined string as (`URL`). */
    kind?: string;
}

const metaOf = (schema: z.core.$ZodType): Meta => (z.globalRegistry.get(schema) as Meta | undefined) ?? {};

/** Unwraps optional and default, keeping the first description and derived default met on the way. */
function unwrapped(schema: z.core.$ZodType): { inner: z.core.$ZodType; meta: Meta } {
    const meta: Meta = { ...metaOf(schema) };
    let inner = schema;
    while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) {
        inner = inner.unwrap();
        const more = metaOf(inner);
        meta.description ??= more.description;
        meta.derivedDefault ??= more.derivedDefault;
    }
    return { inner, meta };
}

/** The description of the schema node at a path of keys (an object's, or a leaf's), if any. */
export function descriptionAt(path: readonly string[]): string | undefined {
    let node: z.core.$ZodType = configObject;
    for (const key of path) {
        const { inner } = unwrapped(node);
        if (!(inner instanceof z.ZodObject) || !(key in inner.shape)) return undefined;
        node = inner.shape[key] as z.core.$ZodType;
    }
    return unwrapped(node).meta.description;
}

/** Every leaf key of the config (records, lists and unions are leaves), in schema order. */
export function configReference(): ConfigReferenceRow[] {
    const presets = TARGETS.map((target) => [target, presetFor(target)] as const);
    const rows: ConfigReferenceRow[] = [];
    const walk = (schema: z.core.$ZodType, path: string[], context: string | undefined) => {
        const { inner, meta } = unwrapped(schema);
        if (inner instanceof z.ZodObject) {
            const here = path.length > 0 && meta.description ? meta.description : undefined;
            for (const [key, child] of Object.entries(inner.shape))
                walk(child as z.core.$ZodType, [...path, key], here ?? context);
            return;
        }
        const description = [context, meta.description].filter(Boolean).join(" ");
        rows.push({
            key: path.join("."),
            type: typeName(inner),
            default: defaultText(
                presets.map(([target, preset]) => [target, valueAt(preset, path)]),
                meta.derivedDefault,
            ),
            description,
        });
    };
    walk(configObject, [], undefined);
    return rows;
}

/** A leaf's type in words (no `|` or `<>`: the text goes into a Markdown table). */
export function typeName(schema: z.core.$ZodType): string {
    const { inner, meta } = unwrapped(schema);
    if (meta.kind) return meta.kind;
    if (inner instanceof z.ZodBoolean) return "boolean";
    if (inner instanceof z.ZodNumber) {
        const kind = inner.isInt ? "integer" : "number";
        const min = inner.minValue !== null && inner.minValue > Number.MIN_SAFE_INTEGER ? inner.minValue : undefined;
        const max = inner.maxValue !== null && inner.maxValue < Number.MAX_SAFE_INTEGER ? inner.maxValue : undefined;
        if (min !== undefined && max !== undefined) return `${kind} ${min}–${max}`;
        if (min !== undefined) return `${kind} ≥ ${min}`;
        if (max !== undefined) return `${kind} ≤ ${max}`;
        return kind;
    }
    if (inner instanceof z.ZodURL) return "URL";
    if (inner instanceof z.ZodCIDRv4) return "IPv4 CIDR";
    if (inner instanceof z.ZodCIDRv6) return "IPv6 CIDR";
    if (inner instanceof z.ZodString) return "string";
    if (inner instanceof z.ZodEnum) return `one of ${inner.options.join(", ")}`;
    if (inner instanceof z.ZodLiteral) return [...inner.values].map(String).join(", ");
    if (inner instanceof z.ZodUnion) {
        const options = inner.options as z.core.$ZodType[];
        if (options.every((o) => o instanceof z.ZodLiteral))
            return `one of ${options.map((o) => typeName(o)).join(", ")}`;
        const names = options.map((o) => typeName(o));
        if (names.join() === "IPv4 CIDR,IPv6 CIDR") return "CIDR (IPv4 or IPv6)";
        return names.join(" or ");
    }
    if (inner instanceof z.ZodArray) return `list of ${typeName(inner.element)}`;
    if (inner instanceof z.ZodRecord) {
        const value = inner.valueType;
        return `map of ${unwrapped(value).inner instanceof z.ZodObject ? "objects" : typeName(value)}`;
    }
    if (inner instanceof z.ZodObject) return "object";
    if (inner instanceof z.ZodUnknown) return "any";
    return inner._zod.def.type;
}

/** A value as the README shows it. */
function shown(value: unknown): string {
    const text =
        typeof value === "string" && value !== "" && !/^(true|false|null|[-+]?[0-9]+(\.[0-9]+)?)$/.test(value)
            ? value
            : JSON.stringify(value);
    return `\`${text}\``;
}

/** The default over every target: one value, or each value with the targets that have it. */
function defaultText(byTarget: [Target, unknown][], derived: string | undefined): string {
    const groups = new Map<string, Target[]>();
    for (const [target, value] of byTarget) {
        const key = value === undefined ? "" : JSON.stringify(value);
        groups.set(key, [...(groups.get(key) ?? []), target]);
    }
    const none = derived ? `derived: ${derived}` : "—";
    const text = (key: string) => (key === "" ? none : shown(JSON.parse(key)));
    if (groups.size === 1) return text([...groups.keys()][0]);
    return [...groups.entries()].map(([key, targets]) => `${text(key)} on ${targets.join("/")}`).join(", ");
}
