/**
 * Schema validation of what the program registers, against the real charts' CRDs and the
 * published Kubernetes schemas (tools/kubeValidate.ts), for the tests. The schemas are upstream
 * artefacts: a test asks for them with {@link schemasFor}, which skips outside CI when they
 * cannot be had (test/upstream.ts).
 */
import type { ProgramRun, RecordedResource } from "../tools/mockRuntime";
import { CrdSchemas, KubeObject, validateObject } from "../tools/kubeValidate";
import { crdSchemas, upstream } from "./upstream";

/** The CRD schemas, or a skip/failure as the upstream tier decides. */
export function schemasFor(context: Mocha.Context): Promise<CrdSchemas> {
    return upstream(context, crdSchemas);
}

/** The Kubernetes object a registered resource stands for (`kubernetes:<group>/<version>:<Kind>`). */
export function asObject(resource: RecordedResource): KubeObject {
    const [, module, kind] = resource.type.split(":");
    const [group, version] = module.split("/");
    return { apiVersion: group === "core" ? version : `${group}/${version}`, kind, ...resource.inputs };
}

/** Types the program registers that are not one object: charts, YAML groups, partial patches, providers. */
const NOT_AN_OBJECT = /^kubernetes:(helm\.sh|yaml)\/|Patch$/;

/** Every Kubernetes object the run registers (reads excluded). */
export function registeredObjects(run: ProgramRun): RecordedResource[] {
    return run.resources.filter(
        (r) => r.custom && !r.read && r.type.startsWith("kubernetes:") && !NOT_AN_OBJECT.test(r.type),
    );
}

/** Throws with every problem unless the object is valid. */
export async function assertValid(schemas: CrdSchemas, object: KubeObject, what: string): Promise<void> {
    const problems = await validateObject(object, schemas);
    if (problems.length > 0) throw new Error(`${what} is not valid against its schema: ${problems.join("; ")}`);
}
