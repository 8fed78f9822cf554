/**
 * The shape of the stack configuration, as one zod schema.
 *
 * Every key of the `akko-mtls:` namespace is described here, one file per top-level key, each leaf
 * with its description at runtime (`.describe()`, read by `configReference()`); objects are strict,
 * so a typo such as `mtls.enable` is an error rather than a silently ignored key. Defaults do not
 * live here: they are the presets in `presets.ts`, merged under the stack file before the schema
 * validates the result. The cross-key rules (`config/rules/`) take this shape and are wired in one
 * floor up, by `config/contract.ts`: the shape never imports a rule.
 */
import { z } from "zod";
import { certManagerConfig } from "./certManager";
import { clusterConfig } from "./cluster";
import { identityConfig } from "./identity";
import { linkerdConfig } from "./linkerd";
import { mtlsConfig } from "./mtls";
import { multiclusterConfig } from "./multicluster";
import { observabilityConfig } from "./observability";
import { TARGETS } from "./primitives";
import { rotationJobConfig } from "./rotationJob";
import { vizConfig } from "./viz";

export {
    annotations,
    containerResources,
    hours,
    identityPattern,
    labelKey,
    labels,
    labelValue,
    labelValueProblem,
    MAX_VALIDITY_HOURS,
    namespaceName,
    objectName,
    qualifiedNameProblem,
    RESERVED_NAMESPACES,
    SINGLE_NODE_TARGETS,
    TARGETS,
} from "./primitives";
export type { Callers, ContainerResources, Target } from "./primitives";
export { namespaceOptions } from "./mtls";
export type { NamespaceOptions } from "./mtls";
export {
    certManagerConfig,
    clusterConfig,
    identityConfig,
    linkerdConfig,
    mtlsConfig,
    multiclusterConfig,
    observabilityConfig,
    rotationJobConfig,
    vizConfig,
};
export { memberName } from "./multicluster";

/** The shape of the namespace, without the cross-key rules. */
export const configObject = z.strictObject({
    target: z.enum(TARGETS).describe("Which infrastructure the stack runs on; selects the preset."),
    cluster: clusterConfig,
    mtls: mtlsConfig,
    linkerd: linkerdConfig,
    identity: identityConfig,
    certManager: certManagerConfig,
    viz: vizConfig,
    observability: observabilityConfig,
    rotationJob: rotationJobConfig,
    multicluster: multiclusterConfig,
});

/** The config as `configObject` parses it: every key typed, before the cross-key rules and the derived defaults. */
export type ConfigShape = z.output<typeof configObject>;

/** What a stack may write (the defaults and presets too): the cross-key rules do not change it. */
export type MeshConfigInput = z.input<typeof configObject>;
