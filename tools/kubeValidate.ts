/**
 * Validates Kubernetes objects as the API server would, offline:
 * - built-in kinds against the published OpenAPI schemas, with `kubernetes-models` (its JSON-schema
 *   validators, generated from Kubernetes' own OpenAPI documents);
 * - custom resources against their CRDs' openAPIV3Schema with ajv, with strict field validation:
 *   unknown fields are errors (objects without x-kubernetes-preserve-unknown-fields get
 *   additionalProperties: false). CEL rules (x-kubernetes-validations) are not evaluated.
 * The CRDs come from the real charts and pinned files (tools/upstream.ts), never from copies in
 * the repository.
 */
import Ajv, { ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { importEsm } from "./importEsm.cjs";

/** A Kubernetes object, as rendered or registered. */
export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata?: { name?: string; namespace?: string };
    [key: string]: unknown;
}

/**
 * CRD patterns are Go (RE2) regular expressions; the one RE2 construct JavaScript lacks that CRDs
 * use is a leading inline flag group, e.g. `^(?i)` (the Prometheus Operator's): made a RegExp flag.
 */
export function goRegExp(pattern: string, flags: string): RegExp {
    const inline = /^(\^?)\(\?([ims]+)\)/.exec(pattern);
    if (!inline) return new RegExp(pattern, flags);
    const extra = [...inline[2]].filter((f) => !flags.includes(f)).join("");
    return new RegExp(inline[1] + pattern.slice(inline[0].length), flags + extra);
}
goRegExp.code = "new RegExp"; // unused by Ajv's runtime compilation; required by its option type

const ajv = new Ajv({ allErrors: true, strict: false, code: { regExp: goRegExp } });
addFormats(ajv, ["date-time", "byte", "ipv4", "ipv6"]);
ajv.addFormat("float", { type: "number", validate: (n: number) => Number.isFinite(n) });
ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31 });
ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
// Kubernetes "duration" is a Go duration ("10s", "1h30m"), not ISO 8601.
ajv.addFormat("duration", /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);

function closeObjects(schema: any): any {
    if (Array.isArray(schema)) return schema.map(closeObjects);
    if (schema === null || typeof schema !== "object") return schema;
    const out: any = {};
    for (const [key, value] of Object.entries(schema)) out[key] = closeObjects(value);
    if (out.properties && out.additionalProperties === undefined && !out["x-kubernetes-preserve-unknown-fields"]) {
        out.additionalProperties = false;
    }
    return out;
}

/** The API server accepts apiVersion, kind and metadata on every object, whatever the CRD's root schema lists. */
function withObjectMeta(schema: any): any {
    return {
        ...schema,
        properties: {
            apiVersion: { type: "string" },
            kind: { type: "string" },
            metadata: { type: "object" },
            ...schema.properties,
        },
    };
}

/** Validators for the kinds a set of CRD objects defines, by `<group>/<version>:<Kind>`. */
export class CrdSchemas {
    private readonly validators = new Map<string, ValidateFunction>();

    constructor(crds: KubeObject[] = []) {
        this.add(crds);
    }

    add(crds: KubeObject[]): this {
        for (const crd of crds) {
            if (crd.kind !== "CustomResourceDefinition") continue;
            const spec = crd.spec as {
                group: string;
                names: { kind: string };
                versions: { name: string; schema?: { openAPIV3Schema?: object } }[];
            };
            for (const version of spec.versions) {
                const schema = version.schema?.openAPIV3Schema;
                if (schema)
                    this.validators.set(
                        `${spec.group}/${version.name}:${spec.names.kind}`,
                        ajv.compile(closeObjects(withObjectMeta(schema))),
                    );
            }
        }
        return this;
    }

    get(apiVersion: string, kind: string): ValidateFunction | undefined {
        return this.validators.get(`${apiVersion}:${kind}`);
    }

    get size(): number {
        return this.validators.size;
    }
}

const builtIn = new Map<string, (new (data: object) => { validate(): void }) | undefined>();

/** The kubernetes-models class of a built-in kind, or undefined when it is not one. */
async function builtInModel(apiVersion: string, kind: string) {
    const key = `${apiVersion}:${kind}`;
    if (!builtIn.has(key)) {
        try {
            builtIn.set(key, (await importEsm(`kubernetes-models/${apiVersion}/${kind}`))[kind]);
        } catch {
            builtIn.set(key, undefined);
        }
    }
    return builtIn.get(key);
}

/**
 * The problems of one object: empty when valid. A kind that is neither built in nor defined by
 * one of `crds` is a problem too (nothing goes unchecked).
 */
export async function validateObject(object: KubeObject, crds: CrdSchemas): Promise<string[]> {
    const what = `${object.kind} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ""}${object.metadata?.name}`;
    const custom = crds.get(object.apiVersion, object.kind);
    if (custom) {
        if (custom(object)) return [];
        return (custom.errors ?? []).map(
            (e) => `${what}: ${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`,
        );
    }
    const Model = await builtInModel(object.apiVersion, object.kind);
    if (!Model) return [`${what}: no schema for ${object.apiVersion} ${object.kind}`];
    try {
        new Model(object).validate();
        return [];
    } catch (error) {
        return [`${what}: ${(error as Error).message}`];
    }
}

/** Throws with every problem unless all objects are valid. */
export async function assertAllValid(objects: KubeObject[], crds: CrdSchemas): Promise<void> {
    const problems = (await Promise.all(objects.map((o) => validateObject(o, crds)))).flat();
    if (problems.length > 0) throw new Error(`${problems.length} invalid object(s):\n  ${problems.join("\n  ")}`);
}
