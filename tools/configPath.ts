/**
 * `pulumi config set --path <key> <value>`, as the Pulumi CLI does it, for the tools that must
 * accept and refuse what `pulumi up` would (`npm run plan -- --set`). From pulumi/pulumi
 * sdk/go/common/resource (v3.259): the path grammar of properties_path.go `parsePropertyPath`
 * (strict: `a.b`, `a[0]`, `a["key.with.dots"]`); config/map.go `Map.Set` (a one-segment path
 * stores the text as given; a longer one sets a value inside the key's object); value.go
 * `coerceObject` and object.go `coerce` (inside an object, `true`/`false` become booleans and
 * base-10 integers without a leading zero become numbers; everything else, JSON included, stays
 * text); object.go `object.Set` (a missing container is created from the accessor's kind; an
 * array index may be at most the length, which appends); pkg/cmd/pulumi/config/io.go `parseConfigKey`
 * and config/key.go `ParseKey` (the namespace is what comes before a colon in the key's first
 * segment, before any `.` or `[`; without a colon it is the project's).
 */

export type PathSegment = string | number;

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
                if (!/^[0-9]+$/.test(index)) throw new Error(`invalid array index: ${JSON.stringify(index)}`);
                segments.push(Number(index));
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

/** What a text becomes inside a config object: a boolean, an integer, or itself. */
export function coerce(text: string): unknown {
    if (text === "true") return true;
    if (text === "false") return false;
    if (/^(0|-?[1-9][0-9]*)$/.test(text) && !(text.length > 1 && text.startsWith("0"))) {
        const n = Number(text);
        if (Number.isSafeInteger(n)) return n;
    }
    return text;
}

/** An index past the end of a list, which `pulumi config set --path` refuses. */
export class IndexOutOfRange extends Error {
    constructor(
        /** The list's path inside the config key, e.g. `["mtls", "namespaces"]`. */
        readonly list: PathSegment[],
        readonly index: number,
        /** How many items the list has in the stack file (0 when the stack file has none). */
        readonly length: number,
    ) {
        super(`${formatPath([...list, index])}: array index out of range`);
    }
}

function setIn(container: unknown, prefix: PathSegment[], path: PathSegment[], value: unknown): unknown {
    if (path.length === 0) return value;
    const [head, ...tail] = path;
    let node = container;
    const isContainer = Array.isArray(node) || (node !== null && typeof node === "object");
    if (!isContainer) {
        if (node === undefined || node === null || prefix.length === 1) node = typeof head === "number" ? [] : {};
        else throw new Error(`${formatPath(prefix)}: expected ${typeof head === "number" ? "an array" : "a map"}`);
    }
    const at = [...prefix, head];
    if (Array.isArray(node)) {
        if (typeof head !== "number") throw new Error(`${formatPath(at)}: key for an array must be an int`);
        if (head > node.length) throw new IndexOutOfRange(prefix, head, node.length);
        const copy = [...node];
        copy[head] = setIn(copy[head], at, tail, value);
        return copy;
    }
    if (typeof head !== "string") throw new Error(`${formatPath(at)}: key for a map must be a string`);
    const object = node as Record<string, unknown>;
    return { ...object, [head]: setIn(object[head], at, tail, value) };
}

const formatPath = (path: PathSegment[]) =>
    path.map((s, i) => (typeof s === "number" ? `[${s}]` : /^[A-Za-z_$][\w$-]*$/.test(s) ? `${i === 0 ? "" : "."}${s}` : `["${s}"]`)).join("");

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
            throw new Error(`could not parse ${key} as a configuration key (configuration keys should be of the form \`<namespace>:<name>\`)`);
        }
        namespace = ns;
        name = member;
    }
    return { namespace, path: parsePropertyPath(name + rest) };
}

/**
 * `pulumi config set --path <key> <text>` on a stack's config (values as the CLI stores them:
 * objects as JSON text). `key` may carry the namespace (`akko-mtls:mtls.enabled`) or not.
 */
export function configSetPath(config: Record<string, string>, key: string, text: string, defaultNamespace: string): Record<string, string> {
    const { namespace, path } = parseConfigKey(key, defaultNamespace);
    const root = path[0];
    if (typeof root !== "string") throw new Error(`${key}: a config key starts with a name`);
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
    const updated = setIn(current, [root], path.slice(1), coerce(text));
    return { ...config, [configKey]: JSON.stringify(updated) };
}
