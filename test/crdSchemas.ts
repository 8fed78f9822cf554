/**
 * Validates Kubernetes objects against the pinned CRDs' openAPIV3Schema with a real
 * JSON-schema validator (ajv), as the API server would with strict field validation:
 * unknown fields are errors (objects without x-kubernetes-preserve-unknown-fields get
 * additionalProperties: false). CEL rules (x-kubernetes-validations) are not evaluated.
 */
import Ajv, { ValidateFunction } from "ajv";
import addFormats from "ajv-formats";
import { readUpstreamJson, readUpstreamYaml } from "./helpers";

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv, ["date-time", "byte"]);
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

const cache = new Map<string, ValidateFunction>();

/** The API server accepts apiVersion, kind and metadata on every object, whatever the CRD's root schema lists. */
function withObjectMeta(schema: any): any {
    return {
        ...schema,
        properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, ...schema.properties },
    };
}

function compile(key: string, openApiSchema: any): ValidateFunction {
    let validate = cache.get(key);
    if (!validate) {
        validate = ajv.compile(closeObjects(withObjectMeta(openApiSchema)));
        cache.set(key, validate);
    }
    return validate;
}

/** A validator for a cert-manager kind (`Certificate`, `Issuer`, `ClusterIssuer`), version v1. */
export function certManagerValidator(plural: "certificates" | "issuers" | "clusterissuers"): ValidateFunction {
    const crd = readUpstreamYaml("cert-manager", "deploy", "crds", `cert-manager.io_${plural}.yaml`);
    const version = crd.spec.versions.find((v: any) => v.name === "v1");
    return compile(`cert-manager/${plural}`, version.schema.openAPIV3Schema);
}

/** A validator for a Linkerd policy kind from ../shared/upstream/linkerd/crd-schemas. */
export function linkerdValidator(file: string, version: string): ValidateFunction {
    const crd = readUpstreamJson("linkerd", "crd-schemas", file);
    const schema = crd.versions[version]?.openAPIV3Schema;
    if (!schema) throw new Error(`${file} has no version ${version}`);
    return compile(`linkerd/${file}/${version}`, schema);
}

/** Throws with ajv's messages unless `object` is valid. */
export function assertValid(validate: ValidateFunction, object: unknown, what: string): void {
    if (!validate(object)) {
        const errors = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
        throw new Error(`${what} is not valid against its CRD schema: ${errors.join("; ")}`);
    }
}
