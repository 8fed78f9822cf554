/**
 * `pulumi config set --path <key> <value>`, as the Pulumi CLI does it, for the tools that must
 * accept and refuse what `pulumi up` would (`npm run plan -- --set`). From pulumi/pulumi
 * sdk/go/common/resource (v3.259): the path grammar of properties_path.go `parsePropertyPath`
 * (strict: `a.b`, `a[0]`, `a["key.with.dots"]`); config/map.go `Map.Set` (a one-segment path
 * stores the text as given; a longer one sets a value inside the key's object); value.go
 * `coerceObject` and object.go `coerce` (inside an object, `true`/`false` become booleans and
 * base-10 integers without a leading zero become numbers; everything else, JSON included, stays
 * text); object.go `object.Set` (a missing container is created from the accessor's kind; an
 * array index may be at most the length, which appends).
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
        if (head > node.length) throw new Error(`${formatPath(at)}: array index out of range`);
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

/**
 * `pulumi config set --path <key> <text>` on a stack's config (values as the CLI stores them:
 * objects as JSON text). `key` may carry the namespace (`akko-mtls:mtls.enabled`) or not.
 */
export function configSetPath(config: Record<string, string>, key: string, text: string, defaultNamespace: string): Record<string, string> {
    const colon = key.indexOf(":");
    const namespace = colon === -1 ? defaultNamespace : key.slice(0, colon);
    const path = parsePropertyPath(colon === -1 ? key : key.slice(colon + 1));
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
