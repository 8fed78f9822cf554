/**
 * Pulumi's `--path` grammar, in one place: how `pulumi config set --path <key> <value>` reads a key
 * and stores a value, and how a path is written back. The program's messages name keys and suggest
 * commands with it (config/index.ts); the tools accept and refuse `--set` with it as `pulumi up`
 * would (`npm run plan -- --set`).
 *
 * From pulumi/pulumi sdk/go/common/resource (v3.259.0):
 * - properties_path.go `parsePropertyPath` (strict, as config/map.go `parseKeyPath` calls it): a
 *   name is any text up to the next `.` or `[` (the documented `[a-zA-Z_$]…` production "is not
 *   enforced"); `[n]` an index (strconv.ParseInt: a sign is allowed), `[*]` the text `*`,
 *   `["key"]` a quoted name in which `\"` is a quote and any other character, `\` included, is
 *   itself; `.` may not start or end a path, nor come before `[`.
 * - properties_path.go `PropertyPath.String`: a name of letters, digits and `_` is written bare,
 *   any other is quoted, with `"` escaped as `\"` and nothing else escaped.
 * - config/map.go `Map.Set` and `parseKeyPath`: the first segment is the top-level key (a text, not
 *   empty); one segment stores the text as given; a longer path sets a value inside the key's
 *   object, created from the second segment's kind when the key is missing.
 * - config/value.go `coerceObject` and config/object.go `coerce`: inside an object, `true`/`false`
 *   become booleans and base-10 integers (strconv.ParseInt/ParseUint, 64 bits; a sign is allowed)
 *   without a leading zero become numbers; everything else, JSON included, stays text; `--type
 *   string` keeps the text.
 * - config/object.go `object.Set`: a missing container is created from the accessor's kind; an
 *   index may be at most the list's length (which appends), never negative; a key on a list, an
 *   index on a map, or anything below a value that is neither (past the top level) is refused; a
 *   map whose only key would be `secure` with a text value is reserved (it reads as a secret).
 * - pkg/cmd/pulumi/config/io.go `parseConfigKey` and config/key.go `ParseKey`: the namespace is what
 *   comes before a colon in the key's first segment (before any `.` or `[`); without a colon it is
 *   the project's.
 */

/** One step of a path: a key of an object, or an index of a list. */
export type PathSegment = string | number;

/** A path inside the config namespace, e.g. `["mtls", "authorizations", 0, "port"]`. */
export type ConfigPath = readonly PathSegment[];

/** The Pulumi property path in a key's name, e.g. `mtls.authorizations[0]["app.kubernetes.io/name"]`. */
export function parsePropertyPath(path: string): PathSegment[] {
    const segments: PathSegment[] = [];
    if (path.startsWith(".")) throw new Error("expected property path to start with a name or index");
    let rest = path;
    while (rest.length > 0) {
        if (rest[0] === ".") {
            rest = rest.slice(1);
            if (rest.length === 0) throw new Error("expected property path to end with a name or index");
            if (rest[0] === "[") throw new Error("expected property name after '.'");
        } else if (rest[0] === "[") {
            if (rest[1] === '"') {
                let key = "";
                let i = 2;
                for (;;) {
                    if (i >= rest.length) throw new Error("missing closing quote in property name");
                    if (rest[i] === '"') {
                        i++;
                        break;
                    }
                    if (rest[i] === "\\" && rest[i + 1] === '"') {
                        key += '"';
                        i += 2;
                    } else {
                        key += rest[i++];
                    }
                }
                if (rest[i] !== "]") throw new Error("missing closing bracket in property access");
                segments.push(key);
                rest = rest.slice(i + 1);
            } else {
                const close = rest.indexOf("]");
                if (close === -1) throw new Error("missing closing bracket in array index");
                const index = rest.slice(1, close);
                if (index === "*") segments.push(index);
                else if (goInteger(index, INT64) !== undefined) segments.push(normalZero(Number(index)));
                else throw new Error(`invalid array index: ${JSON.stringify(index)}`);
                rest = rest.slice(close + 1);
            }
        } else {
            const end = rest.search(/[.[]/);
            const name = end === -1 ? rest : rest.slice(0, end);
            segments.push(name);
            rest = end === -1 ? "" : rest.slice(end);
        }
    }
    if (segments.length === 0) throw new Error("empty config key path");
    return segments;
}

/** A name written bare: Pulumi's own printer keeps letters, digits and `_` bare; `-` reads back the same and reads better. */
const BARE_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** One step as `--path` spells it, after the first: `.name`, `[0]`, `["app.kubernetes.io/name"]`. */
function accessor(segment: PathSegment): string {
    if (typeof segment === "number") return `[${segment}]`;
    return BARE_NAME.test(segment) ? `.${segment}` : `["${segment.replace(/"/g, '\\"')}"]`;
}

/**
 * A path as `pulumi config set --path` spells it: `mtls.authorizations[0].port`, `a["b.c"]`. It
 * reads back as the same path, except a quoted name that ends with a backslash, which no Pulumi
 * path can name (the parser takes `\"` for a quote).
 */
export function formatPropertyPath(path: ConfigPath): string {
    const [first, ...rest] = path;
    if (first === undefined) return "";
    const head = typeof first === "string" && BARE_NAME.test(first) ? first : accessor(first);
    return head + rest.map(accessor).join("");
}

/**
 * A full config key in the CLI's notation: `akko-mtls:mtls.authorizations[0].port`. The top-level
 * key is written as Pulumi names it, even when it holds a dot (`akko-mtls:mtls.enabled`, a key set
 * without --path).
 */
export function formatConfigKey(namespace: string, path: ConfigPath): string {
    const [top, ...rest] = path;
    return `${namespace}:${String(top ?? "")}${rest.map(accessor).join("")}`;
}

const INT64: [bigint, bigint] = [-(2n ** 63n), 2n ** 63n - 1n];
const UINT64: [bigint, bigint] = [0n, 2n ** 64n - 1n];

/** The integer Go's strconv.ParseInt/ParseUint (base 10) reads in a text within `range`, or undefined. */
function goInteger(text: string, [min, max]: [bigint, bigint]): bigint | undefined {
    if (!/^[+-]?[0-9]+$/.test(text)) return undefined;
    const value = BigInt(text);
    return value >= min && value <= max ? value : undefined;
}

const normalZero = (n: number) => (n === 0 ? 0 : n);

/**
 * What `pulumi config set --path` stores for a text inside an object: a boolean, an integer (a
 * sign allowed, no leading zero, 64 bits; read by the program as a JavaScript number), or the text.
 */
export function coerce(text: string): unknown {
    if (text === "true") return true;
    if (text === "false") return false;
    if (text.length > 1 && text.startsWith("0")) return text;
    if (goInteger(text, INT64) !== undefined || goInteger(text, UINT64) !== undefined) return normalZero(Number(text));
    return text;
}

/**
 * An index past the end of a list. Pulumi refuses it on a list the key already holds; a list it
 * creates it fills with nulls up to the index (config/object.go `newContainer`), which the config
 * then refuses (no list takes null): the tools refuse both at once, saying how long the list is.
 */
export class IndexOutOfRange extends Error {
    constructor(
        /** The list's path inside the config key, e.g. `["mtls", "namespaces"]`. */
        readonly list: PathSegment[],
        readonly index: number,
        /** How many items the list has in the stack file (0 when the stack file has none). */
        readonly length: number,
    ) {
        super(`${formatPropertyPath([...list, index])}: array index out of range`);
    }
}

function setIn(container: unknown, prefix: PathSegment[], path: PathSegment[], value: unknown): unknown {
    if (path.length === 0) return value;
    const [head, ...tail] = path;
    let node = container;
    const isContainer = Array.isArray(node) || (node !== null && typeof node === "object");
    if (!isContainer) {
        if (node === undefined || node === null || prefix.length === 1) node = typeof head === "number" ? [] : {};
        else
            throw new Error(
                `${formatPropertyPath(prefix)}: expected ${typeof head === "number" ? "an array" : "a map"}`,
            );
    }
    const at = [...prefix, head];
    if (Array.isArray(node)) {
        if (typeof head !== "number") throw new Error(`${formatPropertyPath(at)}: key for an array must be an int`);
        if (head < 0 || head > node.length) throw new IndexOutOfRange(prefix, head, node.length);
        const copy = [...node];
        copy[head] = setIn(copy[head], at, tail, value);
        return copy;
    }
    if (typeof head !== "string") throw new Error(`${formatPropertyPath(at)}: key for a map must be a string`);
    const object = node as Record<string, unknown>;
    if (tail.length === 0 && Object.keys(object).length === 0 && head === "secure" && typeof value === "string") {
        throw new Error('maps with the single key "secure" are reserved');
    }
    // A computed key is an own property even when named `__proto__` (which the config then refuses).
    return { ...object, [head]: setIn(object[head], at, tail, value) };
}

/** A config key as `pulumi config set --path` reads it: its namespace, and the path inside the namespace. */
export interface ConfigKey {
    namespace: string;
    path: PathSegment[];
}

/**
 * The namespace and path of a `pulumi config set --path` key: `mtls.enabled` is the project's
 * `mtls` key, `other:key.x` namespace `other`, and `mtls:enabled` namespace `mtls`, key `enabled`
 * (pulumi io.go parseConfigKey: the namespace comes from the first segment; key.go ParseKey: one
 * colon splits it, two are `<namespace>:config:<name>`, more are refused).
 */
export function parseConfigKey(key: string, project: string): ConfigKey {
    const firstEnd = key.search(/[.[]/);
    const first = firstEnd > 0 ? key.slice(0, firstEnd) : key;
    const rest = firstEnd > 0 ? key.slice(firstEnd) : "";
    const colons = first.split(":").length - 1;
    let namespace: string;
    let name: string;
    if (colons === 0) {
        namespace = project;
        name = first;
    } else if (colons === 1) {
        [namespace, name] = first.split(":");
    } else {
        const [ns, module, member, ...more] = first.split(":");
        if (colons !== 2 || module !== "config" || more.length > 0) {
            throw new Error(
                `could not parse ${key} as a configuration key (configuration keys should be of the form \`<namespace>:<name>\`)`,
            );
        }
        namespace = ns;
        name = member;
    }
    return { namespace, path: parsePropertyPath(name + rest) };
}

/** How `pulumi config set` types the value: as `--path` coerces it, or `--type string` (the text as given). */
export interface SetOptions {
    type?: "string";
}

/**
 * `pulumi config set --path <key> <text>` on a stack's config (values as the CLI stores them:
 * objects as JSON text). `key` may carry the namespace (`akko-mtls:mtls.enabled`) or not.
 */
export function configSetPath(
    config: Record<string, string>,
    key: string,
    text: string,
    defaultNamespace: string,
    options: SetOptions = {},
): Record<string, string> {
    const { namespace, path } = parseConfigKey(key, defaultNamespace);
    const root = path[0];
    if (typeof root !== "string") throw new Error(`${key}: a config key starts with a name`);
    if (root === "") throw new Error(`${key}: config key is empty`);
    const configKey = `${namespace}:${root}`;
    if (path.length === 1) return { ...config, [configKey]: text };
    let current: unknown;
    if (config[configKey] !== undefined) {
        try {
            current = JSON.parse(config[configKey]);
        } catch {
            current = config[configKey];
        }
    }
    const updated = setIn(current, [root], path.slice(1), options.type === "string" ? text : coerce(text));
    return { ...config, [configKey]: JSON.stringify(updated) };
}
